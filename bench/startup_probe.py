"""What runs inside each process the start-up benchmark measures (`bench_startup.py` starts them), and the typist.

    python bench/startup_probe.py --probe bare|bare+code|bwdesk    a window, reporting "shown", "typed", …
    python bench/startup_probe.py --type-when-mapped               types KEY into the next window mapped on $DISPLAY

A file of its own that imports only `os`, `sys` and `time`, so that a measured process loads nothing but what the
program it measures loads (the measuring side's statistics, subprocess and friends would add ~6 % to both).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
#: The key typed into To: a digit, as an agent's first key there is.
KEY = "9"
#: A probe that never sees its key (a broken typist) gives up after this long instead of hanging the bench.
PROBE_TIMEOUT_MS = 30_000


# --- what runs inside each measured process ------------------------------------------------------------


def _probe(variant: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Nothing of Qt is imported before what is measured: the `bwdesk` command loads bwdesk's modules first, and
    # the order counts (PySide6's import hook reads the source of every module imported after PySide6).

    if variant in ("bare", "bare+code"):
        if variant == "bare+code":
            # The floor: the bare window, after loading the code bwdesk's window is made of (in the command's
            # order) and reading the settings (which validates the From numbers), but building none of bwdesk's
            # widgets.
            from bwdesk import cli
            from bwdesk.core.account import load_context
            from bwdesk.ui import app as app_module

            assert cli and app_module and load_context().is_configured()
        sys.path.insert(0, HERE)
        from bare_window import build_window
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QLineEdit

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
    from PySide6.QtCore import QTimer  # after bwdesk's modules, as the command loads them

    class Observed(original):  # type: ignore[misc, valid-type]
        def show(self) -> None:
            super().show()
            to_field = self.composer.recipients.line_edit()
            watch = _watch(self, to_field, lambda: None)

            def check() -> None:
                if not (watch.typed_seen and self._ready):
                    QTimer.singleShot(1, check)
                    return
                model = self.history_view.model  # made after the first paint: not asked for before it
                loaded = model.rowCount() > 0 or model.exhausted
                if loaded and not model.loading:
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
                if os.environ.get("BWDESK_PROBE_EXIT_AT_TYPED"):  # counting instructions to this point only
                    os._exit(0)
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


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        _probe(sys.argv[2])
    elif sys.argv[1:] == ["--type-when-mapped"]:
        _type_when_mapped()
    else:
        sys.exit(__doc__)
