"""Starting the window: the QApplication, logging, the crash dialog, `--sandbox` (an in-process sandbox on its
own profile, no keyring) and the first run without an account (the settings dialog, offering the sandbox)."""

from __future__ import annotations

import functools
import gc
import logging
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from PySide6 import QtWidgets
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from bwdesk import __version__
from bwdesk.core import paths
from bwdesk.core.account import Context, load_context
from bwdesk.core.logs import hold_early_records, is_holding_early_records, redact, setup_logging
from bwdesk.ui.feedback import Duration, crash_box, warning_box
from bwdesk.ui.main_window import MainWindow, app_icon
from bwdesk.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)


def make_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName("bwdesk")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("bwdesk")
    app.setDesktopFileName("bwdesk")
    return app


def _install_crash_handler(app: QApplication, profile: Path) -> None:
    """An unexpected error in a slot is logged (secrets redacted) and shown, instead of killing the app."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            app.quit()
            return
        if is_holding_early_records():  # before the first paint: open the log now, so the error is in it
            _open_log_file(profile)
        log.error("unexpected error", exc_info=(kind, exc, tb))
        details = redact("".join(traceback.format_exception(kind, exc, tb)))
        crash_box(
            "Something went wrong inside bwdesk. Your message and the history are safe; what you typed is "
            "kept as a draft. Help → Copy diagnostics gathers what a support person needs.",
            details,
        )

    sys.excepthook = hook


def display_problem(env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> str | None:
    """Why no window can open here, in words — Qt itself would abort the process (exit 134) instead."""
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set). Start bwdesk from a "
        "desktop session; `bwdesk send` and `bwdesk history` work without one."
    )


def run_gui(*, sandbox: bool = False) -> int:
    """`bwdesk` and `bwdesk --sandbox`: open the window and run until it is closed."""
    problem = display_problem()
    if problem is not None:
        print(f"bwdesk: {problem}", file=sys.stderr)
        return 2
    app = make_application()
    tasks = BackgroundTasks(app)
    if sandbox:
        return _run_sandbox(app, tasks)
    hold_early_records()  # for the log file, which opens once the window has painted (`_run_window`)
    profile = paths.profile_dir()
    try:
        context = load_context(profile=profile)
        _install_crash_handler(app, profile)
        notes = [
            *context.loaded.warnings,
            *(
                f"{name} is ignored: your administrator has locked that setting."
                for name in context.ignored_variables()
            ),
        ]
        if notes:
            QTimer.singleShot(0, functools.partial(warning_box, None, "bwdesk settings", "\n\n".join(notes)))
        if not context.is_configured():
            _open_log_file(context.profile)
            app.setWindowIcon(app_icon())
            choice = first_run(context, tasks)
            if choice == "sandbox":
                return _run_sandbox(app, tasks)
            context.reload_settings()
        return _run_window(app, context, tasks)
    finally:
        if is_holding_early_records():  # the window never painted: keep what start-up logged
            _open_log_file(profile)


def _open_log_file(profile: Path) -> None:
    """Open the log file; one that cannot be written is said on stderr and does not stop bwdesk."""
    try:
        setup_logging(profile)
    except OSError as exc:
        print(f"bwdesk: cannot write the log file under {profile}: {exc.strerror or exc}", file=sys.stderr)


def first_run(context: Context, tasks: BackgroundTasks) -> str:
    """The settings dialog with "Try the sandbox"; returns "sandbox", "saved" or "cancelled"."""
    from bwdesk.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(context, tasks, first_run=True)
    result = dialog.exec()
    if dialog.sandbox_requested:
        return "sandbox"
    return "saved" if result == QtWidgets.QDialog.DialogCode.Accepted else "cancelled"


def _run_window(app: QApplication, context: Context, tasks: BackgroundTasks) -> int:
    window = MainWindow(context, tasks)
    window.settings_requested.connect(lambda setting: open_settings(window, setting))
    window.started.connect(functools.partial(_after_first_paint, app, context.profile))
    window.services_ready.connect(freeze_start_up)
    window.show()
    return app.exec()


def freeze_start_up() -> None:
    """What start-up made (modules, classes, Qt's wrappers, the phone-number tables) lives as long as the process:
    once the window and its services are up it leaves the garbage collector's sight, so that a full collection,
    which would walk all of it on the GUI thread (≈ 50 ms on a busy machine), stays short (docs/design.md §3.5)."""
    gc.freeze()


def _after_first_paint(app: QApplication, profile: Path) -> None:
    """What typing into the window does not need waits for its first paint (docs/design.md §3.1): the log file,
    and the icon the window manager shows (on X11 every size is decoded and sent to it, ≈ 15 ms)."""
    _open_log_file(profile)
    app.setWindowIcon(app_icon())


def open_settings(window: MainWindow, setting: str = "") -> None:
    """The settings dialog over the window, opened at `setting` (the field a problem names) when given."""
    from bwdesk.ui.settings_dialog import SettingsDialog

    if window.session.is_busy():
        window.feedback.notify(
            "Settings can be changed once the messages being sent have finished.", Duration.MOMENT
        )
        return
    dialog = SettingsDialog(window.context, window.tasks, parent=window)
    if setting:
        dialog.open_at(setting)
    if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
        window.context.reload_settings()
        window.start_services()


def _run_sandbox(app: QApplication, tasks: BackgroundTasks) -> int:
    from bwdesk.sandbox import Sandbox
    from bwdesk.sandbox_profile import sandbox_context, seed_demo_directory

    profile = paths.sandbox_profile_dir()
    _open_log_file(profile)
    _install_crash_handler(app, profile)
    with Sandbox() as server:
        log.info("sandbox listening on %s", server.api_base)
        context = sandbox_context(server, profile)
        tasks.run(
            functools.partial(seed_demo_directory, profile), _demo_seeded, description="seed the sandbox"
        )
        return _run_window(app, context, tasks)


def _demo_seeded(seeded: bool) -> None:
    if seeded:
        log.info("sandbox: demo templates and a contact added to the new sandbox profile")
