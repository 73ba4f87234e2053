"""Templates in the window, against the sandbox and a real history file: `/` + a name and Ctrl+T by keyboard
alone, variables filled from contacts (per recipient; a group only with what all share, else the fallback), a
missing variable marked and blocking Send, the counter of the filled text, and what reached the sandbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat
from PySide6.QtTest import QTest

from bwdesk.core import paths
from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
from bwdesk.core.directory.template_book import Scope, Template
from bwdesk.sandbox import Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 10_000
ANN = "+19195550101"
BOB = "+19195550102"
NOBODY = "+19195550103"
REFUND = Template(
    "Refund done",
    "Hi {first_name|there}, your refund is on its way.",
    "refunds",
    ("https://example.com/r.png",),
)
RESCHEDULE = Template("Reschedule", "Your visit moved to {when|tomorrow}.")
TICKET = Template("Ticket", "Your ticket {ticket_url} is open.")
LOCKED = Template("On the way", "Hi {first_name|there}, your technician is on the way.", scope=Scope.LOCKED)


@pytest.fixture
def make_window(qtbot: Any, sandbox: Sandbox, profile: Path) -> Iterator[Callable[..., MainWindow]]:
    """A sandbox window over a history file holding three personal templates, IT's locked one and two contacts."""
    windows: list[MainWindow] = []

    def make(*, it_templates: tuple[Template, ...] = (LOCKED,)) -> MainWindow:
        context = sandbox_context(sandbox, paths.sandbox_profile_dir(profile))
        context.loaded = dataclasses.replace(context.loaded, templates=it_templates)
        store = SqliteDirectoryStore.open(paths.history_file(context.profile), "Ann Agent")
        try:
            for template in (REFUND, RESCHEDULE, TICKET):
                store.save_template(template, replace=True)
            store.save_contact(ANN, "Ann Lee", {"first_name": "Ann", "ticket_url": "https://t.example/1"})
            store.save_contact(BOB, "Bartholomew Roe", {"first_name": "Bartholomew"})
        finally:
            store.close()
        window = MainWindow(context, BackgroundTasks())
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window._ready, timeout=WAIT)
        qtbot.waitUntil(lambda: len(window.templates.book()) == 4, timeout=WAIT)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.tasks.wait_for_threads(WAIT)


def posted_texts(sandbox: Sandbox) -> list[tuple[list[str], str]]:
    return [
        (r.json["to"], r.json.get("text", ""))
        for r in sandbox.requests.all()
        if r.method == "POST" and r.path.endswith("/messages")
    ]


def to(window: MainWindow, *numbers: str) -> None:
    window.composer.recipients.model().add_text(", ".join(numbers))


def slash_list_after(qtbot: Any, window: MainWindow, typed: str) -> tuple[Any, Any]:
    """The text box and its slash list, open after `typed` at the start of the text."""
    editor = window.composer.text_edit
    editor.setFocus()
    qtbot.keyClicks(editor, typed)
    popup = window.templates.slash_list
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    return editor, popup


def test_slash_and_a_name_inserts_a_template_by_keyboard_alone(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    composer = window.composer
    to(window, ANN)
    editor, popup = slash_list_after(qtbot, window, "/ref")
    assert popup.shown() == ["Refund done"]
    assert editor.hasFocus()  # the agent keeps typing in the text box
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert editor.toPlainText() == REFUND.text
    assert not popup.isVisible()
    assert composer.tag_edit.tag() == "refunds"  # the tag field was empty: the template's tag fills it
    assert composer.media_list.urls() == ["https://example.com/r.png"]
    # One undo takes the insertion back to what was typed.
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "/ref"
    # The text stays the agent's: typing goes on after the inserted body.
    editor.set_text(REFUND.text)
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor, " Thanks!")
    assert editor.toPlainText() == REFUND.text + " Thanks!"


def test_up_down_choose_among_matches_and_esc_leaves_the_typed_text(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    editor = window.composer.text_edit
    editor.setFocus()
    qtbot.keyClicks(editor, "/")
    popup = window.templates.slash_list
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    assert popup.shown() == ["On the way", "Refund done", "Reschedule", "Ticket"]
    QTest.keyClick(editor, Qt.Key.Key_Down)
    QTest.keyClick(editor, Qt.Key.Key_Down)
    assert popup.current() is not None and popup.current().name == "Reschedule"
    QTest.keyClick(editor, Qt.Key.Key_Up)
    assert popup.current().name == "Refund done"
    qtbot.keyClicks(editor, "re")  # "/re": the list follows what is typed
    assert popup.shown() == ["Refund done", "Reschedule"]
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert not popup.isVisible()
    assert editor.toPlainText() == "/re"  # untouched
    qtbot.keyClicks(editor, "s")
    assert not popup.isVisible() and editor.toPlainText() == "/res"  # Esc holds while the "/" stays
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert editor.toPlainText() == "/res\n"  # Enter is a line break again


def test_ctrl_t_opens_the_picker_whose_filter_has_the_focus_and_enter_inserts_at_the_cursor(
    qtbot: Any, make_window: Any
) -> None:
    window = make_window()
    editor = window.composer.text_edit
    editor.setFocus()
    qtbot.keyClicks(editor, "Hello. ")
    QTest.keyClick(editor, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    picker = window.templates.picker
    qtbot.waitUntil(picker.isVisible, timeout=WAIT)
    qtbot.waitUntil(picker.filter_edit.hasFocus, timeout=WAIT)
    qtbot.keyClicks(picker.filter_edit, "visit")  # a word of the name? no: of the text is not searched
    assert picker.shown() == []
    picker.filter_edit.clear()
    qtbot.keyClicks(picker.filter_edit, "resch")
    assert picker.shown() == ["Reschedule"]
    QTest.keyClick(picker.filter_edit, Qt.Key.Key_Return)
    assert not picker.isVisible()
    assert editor.toPlainText() == "Hello. " + RESCHEDULE.text
    assert editor.hasFocus()
    # Esc closes the picker and leaves the text alone.
    QTest.keyClick(editor, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(picker.isVisible, timeout=WAIT)
    QTest.keyClick(picker.filter_edit, Qt.Key.Key_Escape)
    assert not picker.isVisible()
    assert editor.toPlainText() == "Hello. " + RESCHEDULE.text


def test_a_tag_the_agent_typed_is_kept_and_they_are_told(
    qtbot: Any, make_window: Any, record_told: Any
) -> None:
    window = make_window()
    told = record_told(window.feedback)
    window.composer.tag_edit.set_tag("mine")
    editor = window.composer.text_edit
    editor.setFocus()
    qtbot.keyClicks(editor, "/refund")
    qtbot.waitUntil(window.templates.slash_list.isVisible, timeout=WAIT)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.composer.tag_edit.tag() == "mine"
    assert any("Your tag “mine” is kept" in t.text and "refunds" in t.text for t in told)


def test_separate_messages_are_filled_per_recipient_with_the_fallback_for_who_has_no_contact(
    qtbot: Any, make_window: Any, sandbox: Sandbox
) -> None:
    window = make_window()
    composer = window.composer
    to(window, ANN, NOBODY)
    composer.text_edit.set_text(REFUND.text)
    qtbot.waitUntil(composer.can_send, timeout=WAIT)
    assert "filled, the largest of 2" in composer.counter.summary()
    window.session.send_draft()
    qtbot.waitUntil(lambda: len(posted_texts(sandbox)) == 2, timeout=WAIT)
    assert sorted(posted_texts(sandbox)) == [
        ([ANN], "Hi Ann, your refund is on its way."),
        ([NOBODY], "Hi there, your refund is on its way."),
    ]
    qtbot.waitUntil(lambda: not window.session.is_busy(), timeout=WAIT)
    # Both accepted: their recipients left the composer although the text sent was not the text typed.
    assert composer.recipients.model().rowCount() == 0


def test_a_group_message_is_filled_only_with_what_everyone_shares(
    qtbot: Any, make_window: Any, sandbox: Sandbox
) -> None:
    window = make_window()
    composer = window.composer
    window.feedback.ask = lambda *_: True  # the group question
    to(window, ANN, BOB)
    composer.group_radio.setChecked(True)
    composer.text_edit.set_text(REFUND.text)
    qtbot.waitUntil(composer.can_send, timeout=WAIT)
    window.session.send_draft()
    qtbot.waitUntil(lambda: len(posted_texts(sandbox)) == 1, timeout=WAIT)
    assert posted_texts(sandbox) == [([ANN, BOB], "Hi there, your refund is on its way.")]
    qtbot.waitUntil(lambda: not window.session.is_busy(), timeout=WAIT)


def test_a_variable_without_a_value_is_marked_and_blocks_send_until_typed(
    qtbot: Any, make_window: Any, sandbox: Sandbox, record_told: Any
) -> None:
    window = make_window()
    composer = window.composer
    told = record_told(window.feedback)
    to(window, NOBODY)
    editor = composer.text_edit
    editor.setFocus()
    qtbot.keyClicks(editor, "/tick")
    qtbot.waitUntil(window.templates.slash_list.isVisible, timeout=WAIT)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: composer.missing_marks.marked() == ["{ticket_url}"], timeout=WAIT)
    assert not composer.can_send()
    assert "{ticket_url} has no value for (919) 555-0103 and no fallback" in composer.reason()
    assert not composer.send_button.isEnabled()
    [mark] = composer.missing_marks.formats()
    assert mark.underlineStyle() == QTextCharFormat.UnderlineStyle.DashUnderline  # not colour alone
    assert mark.fontWeight() > 400
    QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Return: refused
    assert any("{ticket_url}" in t.text for t in told)
    assert posted_texts(sandbox) == []
    # Typed in its place: nothing is missing any more, and Send goes.
    text = editor.toPlainText()
    editor.set_text(text.replace("{ticket_url}", "T-42"))
    qtbot.waitUntil(composer.can_send, timeout=WAIT)
    assert composer.missing_marks.marked() == []
    window.session.send_draft()
    qtbot.waitUntil(lambda: len(posted_texts(sandbox)) == 1, timeout=WAIT)
    assert posted_texts(sandbox) == [([NOBODY], "Your ticket T-42 is open.")]
    qtbot.waitUntil(lambda: not window.session.is_busy(), timeout=WAIT)


def test_a_contact_with_the_value_fills_what_another_recipient_lacks(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    composer = window.composer
    composer.text_edit.set_text(TICKET.text)
    to(window, ANN)
    qtbot.waitUntil(composer.can_send, timeout=WAIT)  # Ann's contact has a ticket_url
    to(window, BOB)
    qtbot.waitUntil(lambda: "{ticket_url}" in composer.reason(), timeout=WAIT)
    assert "for Bartholomew Roe (919) 555-0102" in composer.reason()
    assert composer.missing_marks.marked() == ["{ticket_url}"]


def test_the_counter_counts_the_filled_text(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    composer = window.composer
    to(window, BOB)
    composer.text_edit.set_text("Hi {first_name}")
    expected = len("Hi Bartholomew")
    qtbot.waitUntil(lambda: composer.counter.summary().startswith(f"{expected} / "), timeout=WAIT)
    assert composer.counter.summary().endswith("filled")
    # 160 GSM-7 characters fit one segment as typed, but need two once the contact's name fills {name}.
    typed = "Hi {name} " + "x" * (160 - len("Hi {name} "))
    composer.text_edit.set_text(typed)
    qtbot.waitUntil(lambda: "2 segments" in composer.counter.summary(), timeout=WAIT)
    assert composer.counter.summary().startswith(f"{len(typed) - len('{name}') + len('Bartholomew Roe')} / ")


def test_the_picker_opens_the_manage_dialog_whose_changes_reach_the_popup(
    qtbot: Any, make_window: Any
) -> None:
    from bwdesk.ui.templates.manage_dialog import ManageTemplatesDialog

    window = make_window()
    window.composer.text_edit.setFocus()
    QTest.keyClick(window.composer.text_edit, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    picker = window.templates.picker
    qtbot.waitUntil(picker.isVisible, timeout=WAIT)
    picker.manage_button.click()
    dialog = window.findChild(ManageTemplatesDialog)
    assert dialog is not None and dialog.isVisible() and not picker.isVisible()
    qtbot.waitUntil(lambda: dialog.list.count() == 4, timeout=WAIT)
    dialog.new_template()
    dialog.name_edit.setText("Closing")
    dialog.text_edit.set_text("Anything else, {first_name|}?")
    dialog.save()
    qtbot.waitUntil(lambda: window.templates.book().find("closing") is not None, timeout=WAIT)
    dialog.close()


def test_ctrl_t_pressed_before_the_services_open_makes_the_templates_at_once(
    qtbot: Any, sandbox: Sandbox, profile: Path
) -> None:
    """The templates are made when the services open (docs/design.md §3.1); Ctrl+T pressed before that makes
    them on the spot and opens the picker with IT's template, and the personal ones join when the book loads."""
    context = sandbox_context(sandbox, paths.sandbox_profile_dir(profile))
    context.loaded = dataclasses.replace(context.loaded, templates=(LOCKED,))
    window = MainWindow(context, BackgroundTasks())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    if not window._ready:
        assert window._templates is None  # made with the services, or when first asked for
    window.template_action.trigger()
    qtbot.waitUntil(window.templates.picker.isVisible, timeout=WAIT)
    assert LOCKED.name in window.templates.picker.shown()
    qtbot.waitUntil(lambda: window._ready, timeout=WAIT)


def test_ctrl_return_while_the_slash_list_shows_chooses_the_template_and_sends_nothing(
    qtbot: Any, make_window: Any, sandbox: Sandbox
) -> None:
    """Ctrl+Return out of habit must not send the "/ref" typed to find a template (outside check)."""
    window = make_window()
    to(window, NOBODY)
    editor, popup = slash_list_after(qtbot, window, "/ref")
    QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == REFUND.text
    assert not popup.isVisible()
    assert not window.session.is_busy()
    assert posted_texts(sandbox) == []
    # With the list closed, Ctrl+Return is Send again: the text box no longer keeps it.
    with qtbot.waitSignal(window.send_action.triggered, timeout=WAIT):
        QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.session.is_busy(), timeout=WAIT)
