"""The longest GUI-thread stall while a send waits on a slow server (target ≤ 16 ms, one frame at 60 Hz).

The real window (offscreen) sends to an in-process sandbox that holds every answer for 3 s. A 1 ms timer on the
GUI thread records the gap between its ticks from pressing Send (Ctrl+Return's action, from inside the running
event loop) until both results are shown, the history has reloaded and the window has been quiet for a moment;
the longest gap is the worst freeze an agent could feel. The event loop runs as in the app (it sleeps when there
is nothing to do); a loop that spun on `processEvents()` would itself compete for the CPU with what it measures.

Several runs, then as many again with a CPU hog (a busy loop in another process) on the machine: the median and
the worst of each; then as many on a desk whose history already holds `PAST_RECIPIENTS` messages, each to its own
number (what To offers as completions, and what the history table shows, grow with it). The GUI thread's own CPU time in the longest gap says whether it was working or waiting, and
the longest stretch of GUI-thread work between two ticks (CPU time) is bwdesk's own share of a stall, whatever
else the machine is doing.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RUNS = 5
DELAY = 3.0
#: After the last result, the window keeps being watched this long (the history's reload, deferred saves).
SETTLE_S = 0.3
#: A desk in use: earlier messages in its history, each to a different number.
PAST_RECIPIENTS = 400
SENT_TO = ("+19195550123", "+19195550124")


def _fill_history(profile: Path, count: int) -> None:
    from bwdesk.core import paths
    from bwdesk.core.history.sqlite_store import SqliteHistoryStore
    from bwdesk.core.outcome import SendResult, SendState

    file = paths.history_file(profile)
    file.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteHistoryStore.open(file)
    try:
        for i in range(count):
            row = store.record_sending("+19195550100", [f"+1415555{i:04d}"], "separate", "Earlier", (), "", 1)
            store.settle(row, SendResult(SendState.ACCEPTED, 202, f"earlier-{i}", 1))
    finally:
        store.close()


def _wait(app: Any, done: Any, timeout_s: float = 30.0) -> None:
    """Run the event loop (sleeping when idle, as the app's does) until `done()`."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    check = QTimer()
    check.setInterval(5)
    check.timeout.connect(lambda: loop.quit() if done() else None)
    check.start()
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(timeout_s * 1000))
    if not done():
        loop.exec()
    check.stop()
    deadline.stop()
    assert done(), "timed out"


def _one_run(app: Any, delay: float, past_recipients: int = 0) -> dict[str, float]:
    from PySide6.QtCore import Qt, QTimer

    from bwdesk.core.outcome import SendState
    from bwdesk.sandbox import Fault, FaultKind, Sandbox
    from bwdesk.sandbox_profile import sandbox_context
    from bwdesk.ui.app import freeze_start_up
    from bwdesk.ui.main_window import MainWindow

    with tempfile.TemporaryDirectory() as home, Sandbox(status_step=0) as sandbox:
        context = sandbox_context(sandbox, Path(home))
        _fill_history(context.profile, past_recipients)
        window = MainWindow(context)
        window.services_ready.connect(freeze_start_up)  # as `bwdesk` itself does (ui/app.py)
        window.show()
        _wait(app, lambda: window._ready and not window.history_view.model.loading)
        window.composer.recipients.model().add_text(", ".join(SENT_TO))
        window.composer.text_edit.set_text("Your technician is on the way")
        _wait(app, lambda: window.composer.can_send())
        sandbox.inject(Fault(FaultKind.DELAY, delay=delay, times=None))

        gaps: list[tuple[float, float, float]] = []  # (gap s, GUI thread CPU s in it, when it started)
        last = [0.0, 0.0]

        def tick() -> None:
            now, cpu = time.perf_counter(), time.thread_time()
            gaps.append((now - last[0], cpu - last[1], last[0]))
            last[0], last[1] = now, cpu

        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(1)
        timer.timeout.connect(tick)
        finished_at: list[float] = []
        window.session.finished.connect(lambda _sent: finished_at.append(time.perf_counter()))
        model = window.history_view.model

        def settled() -> bool:
            newest = model.loaded_rows()[:2] if not model.loading else []
            return (
                bool(finished_at)
                and sorted(r.to[0] for r in newest if r.state is SendState.ACCEPTED) == list(SENT_TO)
                and time.perf_counter() - finished_at[0] > SETTLE_S
            )

        last[0], last[1] = time.perf_counter(), time.thread_time()
        started = last[0]
        timer.start()
        QTimer.singleShot(0, window.send_action.trigger)  # Ctrl+Return, pressed inside the running loop
        _wait(app, settled, timeout_s=4 * delay + 30)
        timer.stop()
        states = [e.result.state.value for e in window.composer.result_panel.entries()]
        assert states == ["accepted", "accepted"], states
        window.close()
        window.deleteLater()
        app.processEvents()
    longest = max(gaps)
    return {
        "max_gap_ms": longest[0] * 1000,
        "max_gap_gui_cpu_ms": longest[1] * 1000,
        "max_gui_cpu_ms": max(g[1] for g in gaps) * 1000,
        "max_gap_at_s": longest[2] - started,
        "median_gap_ms": statistics.median(g[0] for g in gaps) * 1000,
        "send_s": finished_at[0] - started,
    }


def _summary(runs: list[dict[str, float]]) -> dict[str, float]:
    worst = [r["max_gap_ms"] for r in runs]
    return {
        "longest stall ms, median of runs (target <= 16)": round(statistics.median(worst), 1),
        "longest stall ms, worst run": round(max(worst), 1),
        "GUI thread busy in the longest stall ms, median": round(
            statistics.median(r["max_gap_gui_cpu_ms"] for r in runs), 1
        ),
        "longest GUI-thread work between two ticks, CPU ms, median": round(
            statistics.median(r["max_gui_cpu_ms"] for r in runs), 1
        ),
        "longest stall ms, first run": round(worst[0], 1),
        "typical tick gap ms": round(statistics.median(r["median_gap_ms"] for r in runs), 2),
        "two sends took s (median)": round(statistics.median(r["send_s"] for r in runs), 2),
    }


def main() -> dict[str, Any]:
    from bwdesk.ui.app import make_application

    app = make_application()
    # The first run is the process's first send, with every first use of a code path in it.
    quiet = [_one_run(app, DELAY) for _ in range(RUNS)]
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        loaded = [_one_run(app, DELAY) for _ in range(RUNS)]
    finally:
        hog.kill()
        hog.wait()
    used = [_one_run(app, DELAY, PAST_RECIPIENTS) for _ in range(RUNS)]
    result: dict[str, Any] = {
        "machine": f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}",
        "server delay s": DELAY,
        "runs": RUNS,
        "as it is": _summary(quiet),
        "with a CPU hog": _summary(loaded),
        f"a desk with {PAST_RECIPIENTS} past recipients": _summary(used),
    }
    for key, value in result.items():
        print(f"{key}: {value}")
    for name, runs in (("as it is", quiet), ("with a CPU hog", loaded), ("a used desk", used)):
        print(
            f"{name}: longest gaps", [f"{r['max_gap_ms']:.1f} ms at {r['max_gap_at_s']:.2f} s" for r in runs]
        )
    return result


if __name__ == "__main__":
    main()
