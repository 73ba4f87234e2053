"""The real start path of the window (`run_gui` without the sandbox): what happens before and after it shows.

The log file opens once the window has painted, so that start-up does not wait for the logging machinery;
what was logged before that moment still reaches the file, first and redacted — also when start-up
fails before the first paint.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from bwdesk.core import logs
from bwdesk.core.logs import log_file
from bwdesk.sandbox import Sandbox
from bwdesk.ui import app as app_module
from bwdesk.ui.main_window import MainWindow

early_log = logging.getLogger("bwdesk.test.start")


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A configured account (from the environment, as `bwdesk` reads it) on a sandbox; no crash dialog left behind."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_gui installs its crash dialog
    with Sandbox() as sandbox:
        for name, value in {
            "BW_ACCOUNT_ID": sandbox.account_id,
            "BW_MESSAGING_APPLICATION_ID": sandbox.application_id,
            "BW_USERNAME": sandbox.username,
            "BW_PASSWORD": sandbox.password,
            "BWDESK_API_BASE": sandbox.api_base,
            "BW_NUMBER": sandbox.numbers[0],
        }.items():
            monkeypatch.setenv(name, value)
        yield sandbox
    for handler in [h for h in root.handlers if h.get_name() in ("bwdesk-file", "bwdesk-early")]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def log_text(profile: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return log_file(profile).read_text(encoding="utf-8")


def run_gui_with_a_safety_net(seconds: float = 30) -> int:
    """run_gui, whose event loop is ended after `seconds` if the test's own ending never comes."""
    safety = QTimer()
    safety.setSingleShot(True)
    safety.timeout.connect(QApplication.quit)
    safety.start(int(seconds * 1000))
    try:
        return app_module.run_gui()
    finally:
        safety.stop()


def test_the_log_file_opens_after_the_first_paint_with_what_came_before(
    qtbot: Any, profile: Path, monkeypatch: pytest.MonkeyPatch, account: Sandbox
) -> None:
    seen: dict[str, object] = {}

    class Watched(MainWindow):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            early_log.info("logged while the window is built, password=%s", account.password)
            super().__init__(*args, **kwargs)
            qtbot.addWidget(self)
            self.started.connect(self._after_start)

        def event(self, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "file at first paint" not in seen:
                seen["file at first paint"] = log_file(self.context.profile).exists()
            return super().event(event)

        def _after_start(self) -> None:
            QTimer.singleShot(0, self.close)

        def closeEvent(self, event: Any) -> None:
            self.tasks.wait_for_threads(10_000)
            super().closeEvent(event)

    monkeypatch.setattr(app_module, "MainWindow", Watched)
    assert run_gui_with_a_safety_net() == 0

    assert seen == {"file at first paint": False}
    text = log_text(profile)
    assert text.index("logged while the window is built") < text.index("logging to")
    assert account.password not in text and logs.REDACTED in text
    assert not logs.is_holding_early_records()


def test_a_damaged_settings_file_is_told_and_reaches_the_log(
    qtbot: Any, profile: Path, monkeypatch: pytest.MonkeyPatch, account: Sandbox, expect_log: Any
) -> None:
    expect_log("settings: ")
    (profile / "settings.json").write_text("{ not json", encoding="utf-8")
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: told.append(text))

    class ClosesWhenStarted(MainWindow):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            qtbot.addWidget(self)
            self.started.connect(lambda: QTimer.singleShot(0, self.close))

        def closeEvent(self, event: Any) -> None:
            self.tasks.wait_for_threads(10_000)
            super().closeEvent(event)

    monkeypatch.setattr(app_module, "MainWindow", ClosesWhenStarted)
    assert run_gui_with_a_safety_net() == 0
    assert told and "settings" in told[0].lower()
    assert "WARNING" in log_text(profile) and "settings: " in log_text(profile)


def test_a_failure_before_the_first_paint_still_leaves_the_log(
    qtbot: Any, profile: Path, monkeypatch: pytest.MonkeyPatch, account: Sandbox
) -> None:
    class Broken(MainWindow):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            early_log.info("about to build the window")
            raise RuntimeError("the window could not be built")

    monkeypatch.setattr(app_module, "MainWindow", Broken)
    with pytest.raises(RuntimeError, match="could not be built"):
        run_gui_with_a_safety_net()
    assert "about to build the window" in log_text(profile)
    assert not logs.is_holding_early_records()


def test_the_crash_dialog_logs_an_error_raised_before_the_first_paint(
    qtbot: Any, profile: Path, account: Sandbox, expect_log: Any
) -> None:
    expect_log("unexpected error")
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    logs.hold_early_records()
    app_module._install_crash_handler(app, profile)
    shown: list[str] = []

    def close_the_dialog() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        shown.append(box.text())
        box.done(0)

    QTimer.singleShot(0, close_the_dialog)
    try:
        raise ValueError("a slot failed early")
    except ValueError:
        sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    assert shown and "Something went wrong" in shown[0]
    text = log_text(profile)
    assert "unexpected error" in text and "a slot failed early" in text
