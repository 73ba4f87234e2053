"""The manage dialog over a real history file: IT's locked templates shown but neither editable nor deletable;
add, edit (with the live counter), rename, duplicate, delete (asked first), import and export JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from bwdesk.core.account import Context
from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
from bwdesk.core.directory.template_book import Scope, Template
from bwdesk.core.settings import LoadedSettings, Settings
from bwdesk.ui.feedback import Kind
from bwdesk.ui.tasks import BackgroundTasks
from bwdesk.ui.templates.manage_dialog import LOCKED_TIP, ManageTemplatesDialog

WAIT = 10_000
LOCKED = Template("On the way", "Hi {first_name|there}, your technician is on the way.", scope=Scope.LOCKED)


@pytest.fixture
def store(profile: Path) -> Iterator[SqliteDirectoryStore]:
    opened = SqliteDirectoryStore.open(profile / "history.sqlite3", "Ann Agent")
    opened.save_template(
        Template("Refund done", "Hi {first_name|there}, your refund is on its way.", "refunds")
    )
    yield opened
    opened.close()


@pytest.fixture
def dialog(qtbot: Any, profile: Path, store: SqliteDirectoryStore) -> Iterator[ManageTemplatesDialog]:
    host = QWidget()
    qtbot.addWidget(host)
    tasks = BackgroundTasks()
    context = Context(profile, LoadedSettings(Settings(), templates=(LOCKED,)), {}, None)
    made = ManageTemplatesDialog(host, tasks, context, store)
    qtbot.waitUntil(lambda: made.list.count() == 2, timeout=WAIT)
    yield made
    tasks.wait_for_threads(WAIT)


def saved(qtbot: Any, dialog: ManageTemplatesDialog, action: Any) -> None:
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT):
        action()


def test_it_templates_are_shown_but_cannot_be_edited_or_deleted(dialog: ManageTemplatesDialog) -> None:
    assert dialog.names() == ["On the way (IT's, locked 🔒)", "Refund done (yours)"]
    dialog.select("On the way")
    assert dialog.text_edit.toPlainText() == LOCKED.text
    assert dialog.text_edit.isReadOnly() and dialog.name_edit.isReadOnly()
    assert not dialog.save_button.isEnabled() and not dialog.delete_button.isEnabled()
    assert dialog.save_button.toolTip() == LOCKED_TIP == dialog.delete_button.toolTip()
    assert "system settings file" in LOCKED_TIP
    assert dialog.duplicate_button.isEnabled()  # the way to a version of one's own
    dialog.select("Refund done")
    assert dialog.save_button.isEnabled() and dialog.delete_button.isEnabled()
    assert not dialog.text_edit.isReadOnly()


def test_a_name_taken_by_it_or_a_mistyped_variable_is_refused_with_the_reason(
    qtbot: Any, dialog: ManageTemplatesDialog, store: SqliteDirectoryStore
) -> None:
    dialog.new_template()
    dialog.name_edit.setText("on the  way")
    dialog.text_edit.set_text("Hello {first name}")
    dialog.save()
    shown = dialog.problem.text()
    assert "IT's template" in shown and "{first name}" in shown and "Nothing was saved" in shown
    assert [t.name for t in store.templates()] == ["Refund done"]
    assert dialog.name_edit.text() == "on the  way"  # what was typed stays


def test_add_edit_with_the_live_counter_duplicate_rename_and_delete(
    qtbot: Any, dialog: ManageTemplatesDialog, store: SqliteDirectoryStore, record_told: Any
) -> None:
    told = record_told(dialog.feedback)
    dialog.new_template()
    dialog.name_edit.setText("Thanks")
    qtbot.keyClicks(dialog.text_edit, "Thanks, {first_name|all}!")
    assert dialog.counter.summary().startswith("25 / ")  # the composer's counter, live as typed
    saved(qtbot, dialog, dialog.save)
    assert [(t.name, t.text) for t in store.templates()] == [
        ("Refund done", "Hi {first_name|there}, your refund is on its way."),
        ("Thanks", "Thanks, {first_name|all}!"),
    ]
    assert any(t.text == "Saved the template “Thanks”." for t in told)
    dialog.select("Thanks")
    dialog.duplicate()
    assert dialog.name_edit.text() == "Thanks (copy)"
    saved(qtbot, dialog, dialog.save)
    assert {t.name for t in store.templates()} == {"Refund done", "Thanks", "Thanks (copy)"}
    dialog.select("Thanks (copy)")
    dialog.name_edit.setText("Thank you")
    saved(qtbot, dialog, dialog.save)  # a rename: the old name goes
    assert {t.name for t in store.templates()} == {"Refund done", "Thanks", "Thank you"}
    dialog.select("Thank you")
    dialog.feedback.ask = lambda *_: False
    dialog.delete()
    assert {t.name for t in store.templates()} == {"Refund done", "Thanks", "Thank you"}  # Cancel: kept
    dialog.feedback.ask = lambda *_: True
    saved(qtbot, dialog, dialog.delete)
    assert {t.name for t in store.templates()} == {"Refund done", "Thanks"}
    assert any(t.kind is Kind.QUESTION and "Thank you" in t.text for t in told)


def test_export_then_import_round_trips_and_names_what_is_refused(
    qtbot: Any,
    dialog: ManageTemplatesDialog,
    store: SqliteDirectoryStore,
    tmp_path: Path,
    record_told: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    told = record_told(dialog.feedback)
    exported = tmp_path / "templates.json"
    saved(qtbot, dialog, lambda: dialog.export_to(str(exported)))
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert [d["name"] for d in data] == ["Refund done"]  # the store's, not IT's
    assert exported.stat().st_mode & 0o077 == 0
    incoming = tmp_path / "in.json"
    incoming.write_text(
        json.dumps(
            [
                {"name": "Late", "text": "Sorry, {first_name|we} are late."},
                {"name": "Refund done", "text": "another"},
                {"name": "On the way", "text": "mine"},
                {"name": "Bad", "text": "Hi {first name}"},
            ]
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr("bwdesk.ui.feedback.warning_box", lambda *_: None)  # the box itself: not in a test
    saved(qtbot, dialog, lambda: dialog.import_from(str(incoming)))
    assert {t.name for t in store.templates()} == {"Refund done", "Late"}
    kept = {t.name: t.text for t in store.templates()}
    assert kept["Refund done"].startswith("Hi {first_name|there}")  # kept, not replaced
    [error] = [t for t in told if t.kind is Kind.ERROR]
    assert "Imported 1 template" in error.text
    for named in ("'Refund done'", "'On the way'", "'Bad'"):
        assert named in error.text
