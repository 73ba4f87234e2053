"""Start-up: from starting the process to the first shown window, bwdesk vs a bare PySide6 window.

Targets: bwdesk ≤ 1.3× a bare PySide6 window holding the same kinds of widgets (issue 3), and opening on a
1,000,000-row history ≤ 1.5× opening on an empty one, with ≤ 60 MB more memory (issue 4).

"Shown" is the window's first paint. The bare window (`bare_window.py`) holds one of each kind of widget
bwdesk shows, configured the ordinary way, and no bwdesk code. "bare+code" is the floor: the same bare
window, shown after importing the modules bwdesk's window is made of and reading its settings (one From
number, as an agent's profile has), so its ratio to "bare" is what loading that code costs before a
single bwdesk widget exists.

Each measurement is a fresh process (`python bench/bench_startup.py --probe VARIANT`), timed by this
script from spawning it to reading the line it prints once the window is shown (so interpreter start-up and
imports count, as a user feels them). Variants run interleaved, several rounds, and the medians are kept.
The "ready" time also waits for the history's first page to be in the table (the background work).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROUNDS = 9


# --- what runs inside each measured process ------------------------------------------------------------


def _probe(variant: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer

    if variant in ("bare", "bare+code"):
        sys.path.insert(0, str(HERE))
        from bare_window import build_window
        from PySide6.QtWidgets import QApplication

        if variant == "bare+code":
            # The floor: the bare window, after loading the code bwdesk's window is made of and reading
            # the settings (which validates the From numbers), but building none of bwdesk's widgets.
            from bwdesk.core.account import load_context
            from bwdesk.ui import app as app_module
            from bwdesk.ui.history import view as history_view

            assert app_module and history_view and load_context().is_configured()

        app = QApplication([sys.argv[0]])
        window = build_window()
        window.show()
        _on_first_paint(window, lambda: (print("shown", flush=True), print("ready", flush=True), app.quit()))
        app.exec()
        return

    # The real start path (`bwdesk` → run_gui: settings, logging, crash handler, window), observed from
    # outside: the window class is wrapped only to notice its first paint and quit once the table is ready.
    from bwdesk.ui import app as app_module
    from bwdesk.ui import main_window

    original = main_window.MainWindow

    class Observed(original):  # type: ignore[misc, valid-type]
        def show(self) -> None:
            super().show()
            _on_first_paint(self, lambda: print("shown", flush=True))
            model = self.history_view.model

            def check() -> None:
                if self._ready and (model.rowCount() > 0 or model.exhausted) and not model.loading:
                    print("ready", flush=True)
                    print(f"rows {model.rowCount()}", flush=True)
                    print(f"rss {_rss_mb():.1f}", flush=True)
                    self.close()
                else:
                    QTimer.singleShot(1, check)

            QTimer.singleShot(0, check)

    app_module.MainWindow = Observed  # type: ignore[misc]
    app_module.run_gui()


def _on_first_paint(window: Any, then: Any) -> None:
    """Call `then` once the window has painted for the first time (what the person actually sees)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class Watch(QObject):
        def eventFilter(self, watched: Any, event: Any) -> bool:
            if event.type() == QEvent.Type.Paint and not getattr(self, "seen", False):
                self.seen = True
                QTimer.singleShot(0, then)
            return False

    watch = Watch(window)
    window.installEventFilter(watch)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- the measuring side ----------------------------------------------------------------------------------


def _profile(history: Path | None) -> Path:
    home = Path(tempfile.mkdtemp(prefix="bwdesk-bench-"))
    settings = {
        "version": 1,
        "account_id": "9900000",
        "application_id": "bench-app",
        "from_numbers": [{"number": "+19195550100", "label": "Support"}],  # as an agent's profile has
    }
    (home / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    if history is not None:
        os.symlink(history, home / "history.sqlite3")
    return home


def _measure(variant: str, home: Path | None) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    # Installed bwdesk always has bytecode (pip compiles on install, PyInstaller bundles it); a checkout
    # writes it on first run unless told not to, as some machines are. Measure as users run it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if home is not None:
        env |= {"BWDESK_HOME": str(home), "BW_USERNAME": "bench", "BW_PASSWORD": "bench-password"}
        env["BWDESK_API_BASE"] = "http://127.0.0.1:9/api/v2"  # never contacted at start-up
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--probe", variant], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    result: dict[str, float] = {}
    for line in process.stdout:
        word, _, value = line.strip().partition(" ")
        if word in ("shown", "ready"):
            result[word] = (time.perf_counter() - start) * 1000
        elif word in ("rows", "rss"):
            result[word] = float(value)
    process.wait(timeout=60)
    return result


def main() -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import bench_history

    big = bench_history.CACHE
    if not big.exists():
        print("building the 1,000,000-row history (once; cached under bench/out/)…", flush=True)
        big.parent.mkdir(exist_ok=True)
        bench_history.build(big)
    homes = {"bwdesk-empty": _profile(None), "bwdesk-1M": _profile(big)}
    samples: dict[str, list[dict[str, float]]] = {
        "bare": [],
        "bare+code": [],
        "bwdesk-empty": [],
        "bwdesk-1M": [],
    }
    try:
        _measure("bare", None)  # warm the page cache for everyone
        _measure("bwdesk", homes["bwdesk-empty"])
        for _ in range(ROUNDS):
            samples["bare"].append(_measure("bare", None))
            samples["bare+code"].append(_measure("bare+code", homes["bwdesk-empty"]))
            for name, home in homes.items():
                samples[name].append(_measure("bwdesk", home))
    finally:
        for home in homes.values():
            shutil.rmtree(home, ignore_errors=True)

    def median(name: str, key: str) -> float:
        return round(statistics.median(s[key] for s in samples[name]), 1)

    result: dict[str, Any] = {
        "machine": f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}",
        "rounds": ROUNDS,
    }
    for name in samples:
        result[f"{name} shown ms"] = median(name, "shown")
        result[f"{name} ready ms"] = median(name, "ready")
    for name in ("bwdesk-empty", "bwdesk-1M"):
        result[f"{name} rss MB"] = median(name, "rss")
        result[f"{name} rows loaded"] = median(name, "rows")
    result["shown ratio bwdesk/bare (target <= 1.3)"] = round(
        result["bwdesk-empty shown ms"] / result["bare shown ms"], 2
    )
    result["shown ratio bare+code/bare (the floor)"] = round(
        result["bare+code shown ms"] / result["bare shown ms"], 2
    )
    result["ready ratio 1M/empty (target <= 1.5)"] = round(
        result["bwdesk-1M ready ms"] / result["bwdesk-empty ready ms"], 2
    )
    result["rss growth 1M vs empty MB (target <= 60)"] = round(
        result["bwdesk-1M rss MB"] - result["bwdesk-empty rss MB"], 1
    )
    for key, value in result.items():
        print(f"{key}: {value}")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        _probe(sys.argv[2])
    else:
        main()
