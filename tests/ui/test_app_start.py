"""The real start path of the window (`run_gui` without the sandbox): what happens before and after it shows.

The log file opens once the window has painted, so that start-up does not wait for the logging machinery;
what was logged before that moment still reaches the file, first and redacted.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QTimer

from bwdesk.core import logs
from bwdesk.core.logs import log_file
from bwdesk.sandbox import Sandbox
from bwdesk.ui import app as app_module
from bwdesk.ui.main_window import MainWindow


@pytest.fixture
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if h.get_name() in ("bwdesk-file", "bwdesk-early")]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def test_the_log_file_opens_after_the_first_paint_with_what_came_before(
    qtbot: Any, profile: Any, monkeypatch: pytest.MonkeyPatch, clean_logging: None
) -> None:
    seen: dict[str, object] = {}

    class Watched(MainWindow):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            logging.getLogger("bwdesk.test").info("logged while the window is built")
            super().__init__(*args, **kwargs)
            seen["file before paint"] = log_file(self.context.profile).exists()
            self.started.connect(self._after_start)

        def _after_start(self) -> None:
            seen["visible"] = self.isVisible()
            QTimer.singleShot(0, self.close)

        def closeEvent(self, event: Any) -> None:
            self.tasks.wait_for_threads(10_000)
            super().closeEvent(event)

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
        monkeypatch.setattr(app_module, "MainWindow", Watched)
        monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_gui installs its crash dialog
        assert app_module.run_gui() == 0

    assert seen == {"file before paint": False, "visible": True}
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file(profile).read_text(encoding="utf-8")
    assert text.index("logged while the window is built") < text.index("logging to")
    assert sandbox.password not in text
    assert not [h for h in logging.getLogger().handlers if isinstance(h, logs.EarlyRecords)]
