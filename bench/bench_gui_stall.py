"""The longest GUI-thread stall while a send waits on a slow server (target ≤ 30 ms).

The real window (offscreen) sends to an in-process sandbox that holds every answer for 3 s. A 1 ms timer
on the GUI thread records the gap between its ticks from pressing Send until the result is shown; the
longest gap is the worst freeze an agent could feel. Several runs; the median and the worst are reported.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RUNS = 5
DELAY = 3.0


def _one_run(app: Any, delay: float) -> dict[str, float]:
    from PySide6.QtCore import QTimer

    from bwdesk.sandbox import Fault, FaultKind, Sandbox
    from bwdesk.sandbox_profile import sandbox_context
    from bwdesk.ui.main_window import MainWindow

    with tempfile.TemporaryDirectory() as home, Sandbox(status_step=0) as sandbox:
        window = MainWindow(sandbox_context(sandbox, Path(home)))
        window.show()
        while not window._ready:
            app.processEvents()
        window.composer.recipients.model().add_text("9195550123, 9195550124")
        window.composer.text_edit.set_text("Your technician is on the way")
        window.composer.revalidate()
        sandbox.inject(Fault(FaultKind.DELAY, delay=delay, times=None))

        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(1)
        timer.timeout.connect(tick)
        timer.start()
        started = time.perf_counter()
        last[0] = started
        window.session.send_draft()
        while window.session.is_busy():
            app.processEvents()
        elapsed = time.perf_counter() - started
        timer.stop()
        states = [e.result.state.value for e in window.composer.result_panel.entries()]
        assert states == ["accepted", "accepted"], states
        window.close()
        window.deleteLater()
        app.processEvents()
    return {
        "max_gap_ms": max(gaps) * 1000,
        "median_gap_ms": statistics.median(gaps) * 1000,
        "send_s": elapsed,
    }


def main() -> dict[str, Any]:
    from bwdesk.ui.app import make_application

    app = make_application()
    runs = [_one_run(app, DELAY) for _ in range(RUNS)]
    worst = [r["max_gap_ms"] for r in runs]
    result = {
        "machine": f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}",
        "server delay s": DELAY,
        "runs": RUNS,
        "longest stall ms, median of runs (target <= 30)": round(statistics.median(worst), 1),
        "longest stall ms, worst run": round(max(worst), 1),
        "typical tick gap ms": round(statistics.median(r["median_gap_ms"] for r in runs), 2),
        "two sends took s (median)": round(statistics.median(r["send_s"] for r in runs), 2),
    }
    for key, value in result.items():
        print(f"{key}: {value}")
    return result


if __name__ == "__main__":
    main()
