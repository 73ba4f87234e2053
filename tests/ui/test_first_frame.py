"""The real start path, twice: the second start paints its first frame without loading the phone-number library,
whose answers about the From number the first start remembered (docs/design.md §3.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

START_TWICE = """
import sys
from bwdesk import cli
from bwdesk.ui import app as app_module
from bwdesk.ui import main_window
from PySide6.QtCore import QEvent, QObject

class FirstPaint(QObject):
    library_loaded = None

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and self.library_loaded is None:
            self.library_loaded = "phonenumbers" in sys.modules
            self.features = [m for m in sys.modules if m.startswith(("bwdesk.core.directory.", "bwdesk.ui.templates.controller", "bwdesk.ui.directory."))]
        return False

first_paint = FirstPaint()

class Observed(main_window.MainWindow):
    def show(self):
        self.installEventFilter(first_paint)
        self.services_ready.connect(self.ready)  # the start-up memo is written once the services are open
        super().show()

    def ready(self):
        print("features made with the services:", self._templates is not None and self._directory_parts is not None)
        self.close()

app_module.MainWindow = Observed
status = cli.main([])
print("phonenumbers at the first paint:", first_paint.library_loaded)
print("features at the first paint:", first_paint.features)
sys.exit(status)
"""


def test_a_second_start_paints_its_first_frame_without_the_phone_number_library(tmp_path: Path) -> None:
    """The From number is validated and shown formatted in the first frame from what the first start's library said
    (`core.phone`, docs/design.md §3.1); loading phonenumbers (≈ 100M instructions) waits for the services."""
    settings = {
        "version": 1,
        "account_id": "9900000",
        "application_id": "app",
        "from_numbers": [{"number": "+19195550100"}],
    }
    (tmp_path / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "BWDESK_HOME": str(tmp_path),
        "BW_USERNAME": "agent",
        "BW_PASSWORD": "secret",
        "BWDESK_API_BASE": "http://127.0.0.1:9/api/v2",
    }
    runs = [
        subprocess.run(
            [sys.executable, "-c", START_TWICE], capture_output=True, text=True, timeout=120, env=env
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert "phonenumbers at the first paint: True" in runs[0].stdout  # nothing remembered yet
    assert "phonenumbers at the first paint: False" in runs[1].stdout
    # The templates and the directory's parts (their modules, the template engine) are made after the first paint.
    assert "features at the first paint: []" in runs[1].stdout
    assert "features made with the services: True" in runs[1].stdout
    assert "(919) 555-0100" in (tmp_path / "startup-numbers.json").read_text(encoding="utf-8")


def test_a_number_typed_before_the_phone_number_library_loads_is_judged_once_it_has(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first key echoes at once: a number being typed while the services still load the library is judged
    when they have (the window judges the draft again then), not by loading the library on the GUI thread."""
    from bwdesk.core import phone
    from bwdesk.ui.composer import ComposerWidget

    composer = ComposerWidget(None, region="US")
    qtbot.addWidget(composer)
    composer.set_from_numbers([("+19195550100", "Support")], None)
    monkeypatch.setattr(phone, "library_loaded", lambda: False)
    before = composer.problems()
    composer.recipients.line_edit().setText("919555012")  # one digit short, still being typed
    composer.revalidate()
    assert composer.problems() == before
    monkeypatch.setattr(phone, "library_loaded", lambda: True)
    composer.revalidate()
    assert [p.message for p in composer.problems() if p.field == "to"] != [
        p.message for p in before if p.field == "to"
    ]
    assert not composer.can_send()
