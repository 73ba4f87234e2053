"""Start-up: from starting the process to a composer the agent can type into, bwdesk vs a bare PySide6 window.

Targets: a typeable bwdesk ≤ 1.4× a typeable bare PySide6 window holding the same kinds of widgets, in a real X
server (Xvfb, the xcb platform) and offscreen; opening on a 1,000,000-row history ≤ 1.5× opening on an empty
one, with ≤ 60 MB more memory.

"Typeable" is the window painted, the focus in To and a typed key arrived there: the time from spawning the
process until the key's character is in the To field (`bare_window.py` puts its focus in its first line edit,
its To field, the same way). Under Xvfb the key comes from outside: a driver process (`--type-when-mapped`)
watches the X server for the window to be mapped, gives it the input focus as a window manager would, and types
the key with the XTEST extension at once; the app reads it from the X server like any key. Offscreen there is no
X server, so the probe puts the key press in the window's event queue right after `show()`, where the X server's
key would wait for the event loop. "Shown" is the first paint (the earlier measure, kept). The bare window and
bwdesk are typed into by the same code, so the ratio compares like with like.

"bare+code" is a floor: the bare window, shown after importing the modules bwdesk's window is made of and
reading its settings (one From number, as an agent's profile has), so its ratio to "bare" is what loading
that code costs before a single bwdesk widget exists. "Ready" also waits for the history's first page to be
in the table (the background work).

Each measurement is a fresh process (`python bench/bench_startup.py --probe VARIANT`), timed by this script
from spawning it to reading the line it prints (so interpreter start-up and imports count, as a user feels
them). Variants run interleaved, several rounds; medians and the worst are kept.
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
#: The key typed into To: a digit, as an agent's first key there is.
KEY = "9"
#: A probe that never sees its key (a broken driver) gives up after this long instead of hanging the bench.
PROBE_TIMEOUT_MS = 30_000


# --- what runs inside each measured process ------------------------------------------------------------


def _probe(variant: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer

    if variant in ("bare", "bare+code"):
        if variant == "bare+code":
            from bwdesk import cli  # first, as the `bwdesk` command loads it

            assert cli
        sys.path.insert(0, str(HERE))
        from bare_window import build_window
        from PySide6.QtWidgets import QApplication, QLineEdit

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
        to_field = window.findChild(QLineEdit, "recipients")
        assert to_field is not None
        _watch(window, to_field, app.quit)
        QTimer.singleShot(PROBE_TIMEOUT_MS, _give_up)
        app.exec()
        return

    # The real start path (the `bwdesk` command: cli.main → run_gui: settings, logging, crash handler,
    # window), observed from outside: the window class is wrapped only to notice the first paint and the
    # typed key, and to quit once the table is ready. The modules are imported in the command's order.
    from bwdesk import cli
    from bwdesk.ui import app as app_module
    from bwdesk.ui import main_window

    original = main_window.MainWindow

    class Observed(original):  # type: ignore[misc, valid-type]
        def show(self) -> None:
            super().show()
            to_field = self.composer.recipients.line_edit()
            watch = _watch(self, to_field, lambda: None)
            model = self.history_view.model

            def check() -> None:
                loaded = model.rowCount() > 0 or model.exhausted
                if watch.typed_seen and self._ready and loaded and not model.loading:
                    print("ready", flush=True)
                    print(f"rows {model.rowCount()}", flush=True)
                    print(f"rss {_rss_mb():.1f}", flush=True)
                    to_field.clear()  # what was typed must not come back as a draft in the next round
                    self.close()
                else:
                    QTimer.singleShot(1, check)

            QTimer.singleShot(0, check)
            QTimer.singleShot(PROBE_TIMEOUT_MS, _give_up)

    app_module.MainWindow = Observed  # type: ignore[misc]
    sys.exit(cli.main([]))


def _watch(window: Any, to_field: Any, then: Any) -> Any:
    """Print "shown" at the window's first paint and "typed" once KEY is in `to_field` and the window has
    painted (what the agent sees and can type into); then call `then`. Offscreen, also type KEY."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
    from PySide6.QtGui import QKeyEvent

    class Watch(QObject):
        painting = False
        painted = False
        typed = False
        typed_seen = False

        def eventFilter(self, watched: Any, event: Any) -> bool:
            if event.type() == QEvent.Type.Paint and not self.painting:
                self.painting = True
                QTimer.singleShot(0, self.first_paint_done)  # once this paint is over
            return False

        def first_paint_done(self) -> None:
            self.painted = True
            print("shown", flush=True)
            self.check()

        def text_changed(self, text: str) -> None:
            if KEY in text and not self.typed:
                self.typed = True
                self.check()

        def check(self) -> None:
            if self.painted and self.typed and not self.typed_seen:
                self.typed_seen = True
                print("typed", flush=True)
                print(f"cpu {time.process_time() * 1000:.1f}", flush=True)  # this process's CPU time so far
                then()

    watch = Watch(window)
    window.installEventFilter(watch)
    to_field.textChanged.connect(watch.text_changed)
    if os.environ["QT_QPA_PLATFORM"] == "offscreen":
        # No X server to type: the key waits in the window's queue, as an X server's key would, and reaches
        # whatever has the focus when the event loop gets to it.
        handle = window.windowHandle()
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, Qt.Key.Key_9, Qt.KeyboardModifier.NoModifier, KEY)
            QCoreApplication.postEvent(handle, event)
    return watch


def _give_up() -> None:
    print("timeout", flush=True)
    os._exit(3)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- the typist under Xvfb ---------------------------------------------------------------------------------


def _type_when_mapped() -> None:
    """Outside the app: wait for a top-level window to be mapped on $DISPLAY, focus it, type KEY (XTEST).

    Xlib through ctypes, so that nothing polls: the X server tells this process the moment the window maps.
    """
    import ctypes
    import ctypes.util

    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    xtst = ctypes.CDLL(ctypes.util.find_library("Xtst") or "libXtst.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    x11.XSetInputFocus.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_ulong]
    x11.XStringToKeysym.restype = ctypes.c_ulong
    x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
    x11.XKeysymToKeycode.restype = ctypes.c_ubyte
    x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]

    class MapEvent(ctypes.Structure):
        _fields_ = [
            ("type", ctypes.c_int),
            ("serial", ctypes.c_ulong),
            ("send_event", ctypes.c_int),
            ("display", ctypes.c_void_p),
            ("event", ctypes.c_ulong),
            ("window", ctypes.c_ulong),
            ("override_redirect", ctypes.c_int),
        ]

    class Event(ctypes.Union):
        _fields_ = [("type", ctypes.c_int), ("xmap", MapEvent), ("pad", ctypes.c_long * 24)]

    map_notify, substructure_notify_mask, revert_to_parent = 19, 1 << 19, 2
    display = x11.XOpenDisplay(None)
    if not display:
        sys.exit("cannot open the X display")
    x11.XSelectInput(display, x11.XDefaultRootWindow(display), substructure_notify_mask)
    x11.XSync(display, 0)
    print("listening", flush=True)
    event = Event()
    while True:
        x11.XNextEvent(display, ctypes.byref(event))
        if event.type == map_notify and not event.xmap.override_redirect:  # not a menu or a tooltip
            break
    x11.XSetInputFocus(display, event.xmap.window, revert_to_parent, 0)
    keycode = x11.XKeysymToKeycode(display, x11.XStringToKeysym(KEY.encode()))
    xtst.XTestFakeKeyEvent(display, keycode, 1, 0)
    xtst.XTestFakeKeyEvent(display, keycode, 0, 0)
    x11.XSync(display, 0)
    print("typed", flush=True)


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


class XServer:
    """One Xvfb for the whole run (None without Xvfb: the xcb figures are then left out, saying why)."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            self.display = f":{pipe.readline().strip()}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _measure(variant: str, home: Path | None, display: str | None = None) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if display is not None:
        env |= {"QT_QPA_PLATFORM": "xcb", "DISPLAY": display}
    # Installed bwdesk always has bytecode (pip compiles on install, PyInstaller bundles it); a checkout
    # writes it on first run unless told not to, as some machines are. Measure as users run it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if home is not None:
        env |= {"BWDESK_HOME": str(home), "BW_USERNAME": "bench", "BW_PASSWORD": "bench-password"}
        env["BWDESK_API_BASE"] = "http://127.0.0.1:9/api/v2"  # never contacted at start-up
    typist = None
    if display is not None:
        typist = subprocess.Popen(
            [sys.executable, __file__, "--type-when-mapped"], env=env, stdout=subprocess.PIPE, text=True
        )
        assert typist.stdout is not None
        assert typist.stdout.readline().strip() == "listening", "the typist could not watch the X server"
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--probe", variant], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    result: dict[str, float] = {}
    for line in process.stdout:
        word, _, value = line.strip().partition(" ")
        if word in ("shown", "typed", "ready"):
            result[word] = (time.perf_counter() - start) * 1000
        elif word in ("rows", "rss", "cpu"):
            result[word] = float(value)
        elif word == "timeout":
            raise RuntimeError(f"{variant}: the typed key never reached the To field")
    process.wait(timeout=60)
    if typist is not None:
        typist.wait(timeout=10)
    if home is not None:
        (home / "draft.json").unlink(missing_ok=True)
    return result


def main() -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import bench_history

    big = bench_history.CACHE
    if not big.exists():
        print("building the 1,000,000-row history (once; cached under bench/out/)…", flush=True)
        big.parent.mkdir(exist_ok=True)
        bench_history.build(big)
    homes = {"empty": _profile(None), "1M": _profile(big)}
    x_server = XServer() if shutil.which("Xvfb") else None
    if x_server is None:
        print("Xvfb is not installed: only the offscreen figures (Debian: apt install xvfb)", flush=True)
    display = x_server.display if x_server is not None else None
    runs: dict[str, tuple[str, Path | None, str | None]] = {
        "bare": ("bare", None, None),
        "bare+code": ("bare+code", homes["empty"], None),
        "bwdesk-empty": ("bwdesk", homes["empty"], None),
        "bwdesk-1M": ("bwdesk", homes["1M"], None),
    }
    if display is not None:
        runs |= {
            "xcb bare": ("bare", None, display),
            "xcb bwdesk-empty": ("bwdesk", homes["empty"], display),
        }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    try:
        for variant, home, where in runs.values():
            _measure(variant, home, where)  # warm the page cache (and bytecode) for everyone
        for _ in range(ROUNDS):
            for name, (variant, home, where) in runs.items():
                samples[name].append(_measure(variant, home, where))
    finally:
        if x_server is not None:
            x_server.close()
        for home in homes.values():
            shutil.rmtree(home, ignore_errors=True)

    def median(name: str, key: str) -> float:
        return round(statistics.median(s[key] for s in samples[name]), 1)

    def worst(name: str, key: str) -> float:
        return round(max(s[key] for s in samples[name]), 1)

    result: dict[str, Any] = {
        "machine": f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}",
        "rounds": ROUNDS,
    }
    for name in samples:
        for key in ("shown", "typed", "ready"):
            if key in samples[name][0]:
                result[f"{name} {key} ms"] = median(name, key)
        result[f"{name} typed ms, worst"] = worst(name, "typed")
    for name in ("bwdesk-empty", "bwdesk-1M"):
        result[f"{name} rss MB"] = median(name, "rss")
        result[f"{name} rows loaded"] = median(name, "rows")

    def ratio(top: str, bottom: str) -> float:
        return round(result[top] / result[bottom], 2)

    if display is not None:
        result["typeable ratio bwdesk/bare, xcb (target <= 1.4)"] = ratio(
            "xcb bwdesk-empty typed ms", "xcb bare typed ms"
        )
        result["first paint ratio bwdesk/bare, xcb"] = ratio("xcb bwdesk-empty shown ms", "xcb bare shown ms")
    result["typeable ratio bwdesk/bare, offscreen (target <= 1.4)"] = ratio(
        "bwdesk-empty typed ms", "bare typed ms"
    )
    result["first paint ratio bwdesk/bare, offscreen"] = ratio("bwdesk-empty shown ms", "bare shown ms")
    result["first paint ratio bare+code/bare (the floor)"] = ratio("bare+code shown ms", "bare shown ms")
    result["ready ratio 1M/empty (target <= 1.5)"] = ratio("bwdesk-1M ready ms", "bwdesk-empty ready ms")
    result["rss growth 1M vs empty MB (target <= 60)"] = round(
        result["bwdesk-1M rss MB"] - result["bwdesk-empty rss MB"], 1
    )
    for key, value in result.items():
        print(f"{key}: {value}")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        _probe(sys.argv[2])
    elif sys.argv[1:] == ["--type-when-mapped"]:
        _type_when_mapped()
    else:
        main()
