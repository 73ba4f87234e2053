"""Recipient chips: the model (checked by Qt's model tester) and the widget driven by real key events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QFocusEvent, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStyleFactory,
    QVBoxLayout,
    QWidget,
)

from bwdesk.ui.flow_layout import FlowLayout
from bwdesk.ui.recipients import RecipientChip, RecipientEdit, RecipientModel
from bwdesk.ui.style import Tone, tone_colour

# Twelve different numbers in the formats and separators people paste, inside free text, two of them invalid,
# one repeated in another format.
PASTE_BLOCK = """Hi team, please text these customers today:
(919) 555-0123
919.555.0124, +1 919 555 0125; 1-919-555-0126
9195550127\t919 555 0128
Mobile: +1 (415) 555-0132 / 415-555-0133
Office 212 555 0199 | 202-555-0143
again: +19195550123
919-555-01; 555-012399999999
"""
PASTE_VALID = [
    "+19195550123",
    "+19195550124",
    "+19195550125",
    "+19195550126",
    "+19195550127",
    "+19195550128",
    "+14155550132",
    "+14155550133",
    "+12125550199",
    "+12025550143",
]


@pytest.fixture
def window(qtbot) -> Iterator[tuple[QWidget, RecipientEdit, QPlainTextEdit]]:
    """A recipients field followed by a message box in the tab chain, shown and focused."""
    host = QWidget()
    layout = QVBoxLayout(host)
    edit = RecipientEdit(region="US")
    message = QPlainTextEdit()
    message.setTabChangesFocus(True)
    layout.addWidget(edit)
    layout.addWidget(message)
    QWidget.setTabOrder(edit.line_edit(), message)
    qtbot.addWidget(host)
    host.resize(600, 300)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    edit.line_edit().setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is edit.line_edit())
    yield host, edit, message


@pytest.fixture
def edit(window) -> RecipientEdit:
    return window[1]


def type_into(qtbot, edit: RecipientEdit, text: str) -> None:
    qtbot.keyClicks(edit.line_edit(), text)


def e164s(edit: RecipientEdit) -> list[str | None]:
    return [n.e164 for n in edit.model().numbers()]


# --- the model -------------------------------------------------------------------------------------


def test_model_passes_the_qt_model_tester_through_every_operation(qtmodeltester) -> None:
    model = RecipientModel(region="US")
    model.add_text("919 555 0123, 9195550124")
    qtmodeltester.check(model)  # stays connected: every signal below is checked too
    assert model.add_text("(919) 555-0125; 919-555-01") == 2
    assert model.replace(3, "919 555 0126") == 1
    assert model.setData(model.index(0), "+1 415 555 0132")
    model.remove(1)
    model.set_region("GB")
    model.set_inputs(["+19195550123", "555-01"])
    model.clear()
    assert model.rowCount() == 0


def test_model_roles_describe_each_number() -> None:
    model = RecipientModel(region="US")
    assert model.add_text("919 555 0123; 919-555-01") == 2
    good, bad = model.index(0), model.index(1)
    assert good.data(RecipientModel.E164Role) == "+19195550123"
    assert good.data(RecipientModel.ValidRole) is True
    assert good.data(Qt.ItemDataRole.DisplayRole) == "(919) 555-0123"
    assert good.data(Qt.ItemDataRole.EditRole) == "919 555 0123"
    assert "+19195550123" in good.data(Qt.ItemDataRole.ToolTipRole)
    assert bad.data(RecipientModel.ValidRole) is False
    assert bad.data(RecipientModel.E164Role) is None
    assert bad.data(RecipientModel.ErrorRole)
    assert bad.data(RecipientModel.ErrorRole) in bad.data(Qt.ItemDataRole.ToolTipRole)
    assert (model.valid_count(), model.invalid_count()) == (1, 1)


def test_model_collapses_duplicates_and_keeps_order() -> None:
    model = RecipientModel(region="US")
    assert model.add_text("9195550124") == 1
    assert model.add_text("919 555 0123, (919) 555-0124, +19195550123, 919.555.0125") == 2
    assert [n.e164 for n in model.numbers()] == ["+19195550124", "+19195550123", "+19195550125"]


def test_model_replace_that_duplicates_another_row_removes_it() -> None:
    model = RecipientModel(region="US")
    model.add_text("9195550123, 919-555-01")
    assert model.replace(1, "(919) 555-0123") == 0
    assert model.raw_inputs() == ["+19195550123"]


def test_raw_inputs_and_set_inputs_round_trip(qtbot, edit) -> None:
    edit.model().add_text("919 555 0123, 919-555-01, +44 20 7946 0958")
    saved = edit.model().raw_inputs()
    assert saved == ["+19195550123", "919-555-01", "+442079460958"]
    other = RecipientEdit(region="US")
    qtbot.addWidget(other)
    other.model().set_inputs(saved)
    assert other.model().raw_inputs() == saved
    assert [chip.is_valid() for chip in other.chips()] == [True, False, True]


def test_region_gb_makes_a_uk_national_number_plus_44(qtbot, edit) -> None:
    edit.set_region("GB")
    type_into(qtbot, edit, "020 7946 0958")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Return)
    assert edit.model().raw_inputs() == ["+442079460958"]
    assert edit.chips()[0].is_valid()


def test_changing_region_reparses_what_was_typed() -> None:
    model = RecipientModel(region="US")
    model.add_text("020 7946 0958")
    assert model.invalid_count() == 1
    model.set_region("GB")
    assert model.raw_inputs() == ["+442079460958"]


# --- typing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Comma, Qt.Key.Key_Semicolon])
def test_typed_number_becomes_a_chip_on_commit_keys(qtbot, edit, key) -> None:
    type_into(qtbot, edit, "919 555 0123")
    text = {Qt.Key.Key_Comma: ",", Qt.Key.Key_Semicolon: ";"}.get(key, "")
    with qtbot.waitSignal(edit.changed, timeout=1000):
        qtbot.keyClick(edit.line_edit(), key) if not text else qtbot.keyClicks(edit.line_edit(), text)
    assert e164s(edit) == ["+19195550123"]
    assert edit.chips()[0].label.text() == "(919) 555-0123"
    assert edit.line_edit().text() == ""


def test_space_does_not_commit(qtbot, edit) -> None:
    type_into(qtbot, edit, "919 555 0123 ")
    assert edit.model().rowCount() == 0
    assert edit.line_edit().text() == "919 555 0123 "


def test_the_done_when_input_makes_two_chips(qtbot, edit) -> None:
    type_into(qtbot, edit, "919 555 0123, 9195550124,")
    assert e164s(edit) == ["+19195550123", "+19195550124"]


def test_tab_commits_and_moves_focus_to_the_message(qtbot, window) -> None:
    _, edit, message = window
    type_into(qtbot, edit, "9195550123")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Tab)
    assert e164s(edit) == ["+19195550123"]
    qtbot.waitUntil(lambda: message.hasFocus())
    assert message.toPlainText() == ""  # no tab character went anywhere


def test_tab_on_empty_input_only_moves_focus(qtbot, window) -> None:
    _, edit, message = window
    with qtbot.assertNotEmitted(edit.changed):
        qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: message.hasFocus())
    assert edit.model().rowCount() == 0


def test_leftover_text_becomes_a_chip_on_focus_out(qtbot, window) -> None:
    _, edit, message = window
    type_into(qtbot, edit, "(919) 555-0124")
    message.setFocus()
    qtbot.waitUntil(lambda: edit.model().rowCount() == 1)
    assert e164s(edit) == ["+19195550124"]


def test_switching_to_another_window_keeps_the_text_being_typed(qtbot, edit) -> None:
    type_into(qtbot, edit, "919 555")
    QApplication.sendEvent(
        edit.line_edit(), QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.ActiveWindowFocusReason)
    )
    assert edit.model().rowCount() == 0
    assert edit.pending_text() == "919 555"


def test_commit_pending_text_is_what_send_calls(qtbot, edit) -> None:
    type_into(qtbot, edit, "919 555 0123 / 919 555 0124")
    assert edit.pending_text() == "919 555 0123 / 919 555 0124"
    assert edit.commit_pending_text() == 2
    assert e164s(edit) == ["+19195550123", "+19195550124"]
    assert edit.pending_text() == ""


def test_typed_invalid_text_stays_as_a_marked_chip(qtbot, edit) -> None:
    type_into(qtbot, edit, "919-555-01")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Return)
    (chip,) = edit.chips()
    assert not chip.is_valid()
    assert chip.property("invalid") is True
    assert not chip.mark.isHidden()  # an icon, not colour alone
    assert "919-555-01" in chip.toolTip()
    assert edit.model().raw_inputs() == ["919-555-01"]


# --- paste -----------------------------------------------------------------------------------------


def test_paste_of_mixed_numbers_makes_chips_of_numbers_and_leaves_the_rest_to_fix(qtbot, edit) -> None:
    edit.model().add_text("202-555-0143")  # already present: the paste must not repeat it
    QGuiApplication.clipboard().setText(PASTE_BLOCK)
    changes: list[None] = []
    edit.changed.connect(lambda: changes.append(None))
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(changes) == 1  # one insertion of nine rows, not nine rebuilds
    numbers = edit.model().numbers()
    assert sorted(n.e164 for n in numbers) == sorted(PASTE_VALID)  # only numbers became chips
    assert all(chip.is_valid() and chip.toolTip().startswith("Sends to +1") for chip in edit.chips())
    # The two pieces written like numbers but not ones are kept for the agent to fix, and said so once.
    assert edit.line_edit().text() == "919-555-01, 555-012399999999"
    assert edit.notice() == (
        "2 numbers were already in the list. "
        "Left in the field to fix, not phone numbers as written: 919-555-01, 555-012399999999."
    )
    # Left as they are, they become marked chips like anything typed (and block Send).
    assert edit.commit_pending_text() == 2
    invalid = [chip for chip in edit.chips() if not chip.is_valid()]
    assert [chip.label.text() for chip in invalid] == ["919-555-01", "555-012399999999"]
    for chip in invalid:
        assert not chip.mark.isHidden() and "Cannot send to" in chip.toolTip()


SIGNATURE = (
    "Thanks,\nJane Doe | Field Service\nAcme Plumbing, 4211 Main St, Suite 300\nRaleigh, NC 27601\n"
    "Office: (919) 555-0100\nFax: 919.555.0102\nExt. 2040\n"
)


def test_a_pasted_signature_gives_its_numbers_and_no_zip_code_or_label(qtbot, edit) -> None:
    QGuiApplication.clipboard().setText(SIGNATURE)
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [chip.label.text() for chip in edit.chips()] == ["(919) 555-0100", "(919) 555-0102"]
    assert all(chip.is_valid() for chip in edit.chips())
    assert edit.line_edit().text() == "" and edit.notice() == ""


def test_a_paste_with_no_number_stays_as_text_with_a_note(qtbot, edit) -> None:
    QGuiApplication.clipboard().setText("Thanks,\nJane from Acme")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert edit.model().rowCount() == 0
    assert edit.line_edit().text() == "Thanks, Jane from Acme"  # nothing pasted is lost
    assert edit.notice().startswith("No phone number in the pasted text; it is in the field as text.")
    qtbot.keyClicks(edit.line_edit(), "!")  # the note goes with the next edit
    assert edit.notice() == ""


def test_a_merged_duplicate_is_told_once_and_briefly(qtbot, edit) -> None:
    notices: list[str] = []
    edit.notice_changed.connect(notices.append)
    edit.MERGE_NOTICE_MS = 50
    type_into(qtbot, edit, "9195550123,")
    type_into(qtbot, edit, "(919) 555-0123")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Return)
    assert e164s(edit) == ["+19195550123"]
    assert notices == ["(919) 555-0123 is already in the list."]
    qtbot.waitUntil(lambda: edit.notice() == "")
    assert notices == ["(919) 555-0123 is already in the list.", ""]


def test_a_repeat_within_one_paste_is_merged_and_told(qtbot, edit) -> None:
    QGuiApplication.clipboard().setText("919 555 0123\n9195550124\n+1 919 555 0123")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert e164s(edit) == ["+19195550123", "+19195550124"]
    assert edit.notice() == "(919) 555-0123 is already in the list."


def test_the_summary_counts_recipients_that_can_be_sent_to(edit) -> None:
    edit.model().add_text("9195550123, 9195550124, 919-555-01")
    assert "2 recipients; 1 entry to fix." in edit.line_edit().accessibleDescription()


def test_paste_of_a_single_partial_number_is_typed_not_chipped(qtbot, edit) -> None:
    type_into(qtbot, edit, "919 ")
    QGuiApplication.clipboard().setText("555")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert edit.model().rowCount() == 0
    assert edit.line_edit().text() == "919 555"


def test_paste_of_one_whole_number_becomes_a_chip(qtbot, edit) -> None:
    QGuiApplication.clipboard().setText("  +1 919 555 0123 ")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert e164s(edit) == ["+19195550123"]


def test_dropped_text_makes_chips(qtbot, edit) -> None:
    mime = QMimeData()
    mime.setText("call 919 555 0123 or 919 555 0124, NC 27601")
    area = edit.line_edit().parentWidget()
    pos = QPointF(5, 5)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0)
    try:  # Qt 6.12 takes a QPointF (and deprecates QPoint); earlier versions only a QPoint
        enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    except TypeError:
        enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(area, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(area, drop)
    assert e164s(edit) == ["+19195550123", "+19195550124"]


# --- removing and selecting ------------------------------------------------------------------------


def test_backspace_twice_selects_then_deletes_the_last_chip(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 9195550124")
    line = edit.line_edit()
    qtbot.keyClick(line, Qt.Key.Key_Backspace)
    assert edit.selected_row() == 1
    assert edit.chips()[1].is_selected()
    assert edit.model().rowCount() == 2
    assert "Selected: Recipient 2 of 2" in line.accessibleDescription()
    qtbot.keyClick(line, Qt.Key.Key_Backspace)
    assert e164s(edit) == ["+19195550123"]
    assert edit.selected_row() is None
    assert line.hasFocus()


def test_backspace_in_text_edits_text_not_chips(qtbot, edit) -> None:
    edit.model().add_text("9195550123")
    type_into(qtbot, edit, "91")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Backspace)
    assert edit.line_edit().text() == "9"
    assert edit.selected_row() is None
    assert edit.model().rowCount() == 1


def test_arrow_keys_move_the_selection_and_escape_clears_it(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 9195550124, 9195550125")
    line = edit.line_edit()
    qtbot.keyClick(line, Qt.Key.Key_Left)
    assert edit.selected_row() == 2
    qtbot.keyClick(line, Qt.Key.Key_Left)
    qtbot.keyClick(line, Qt.Key.Key_Left)
    qtbot.keyClick(line, Qt.Key.Key_Left)
    assert edit.selected_row() == 0
    qtbot.keyClick(line, Qt.Key.Key_Right)
    assert edit.selected_row() == 1
    qtbot.keyClick(line, Qt.Key.Key_Escape)
    assert edit.selected_row() is None
    qtbot.keyClick(line, Qt.Key.Key_Left)
    qtbot.keyClick(line, Qt.Key.Key_Home)
    qtbot.keyClick(line, Qt.Key.Key_Delete)
    assert e164s(edit) == ["+19195550124", "+19195550125"]


def test_typing_while_a_chip_is_selected_goes_to_the_input(qtbot, edit) -> None:
    edit.model().add_text("9195550123")
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Backspace)
    type_into(qtbot, edit, "4")
    assert edit.selected_row() is None
    assert edit.line_edit().text() == "4"
    assert edit.model().rowCount() == 1


def test_ctrl_c_copies_the_selected_chip_and_ctrl_x_cuts_it(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 9195550124")
    line = edit.line_edit()
    qtbot.keyClick(line, Qt.Key.Key_Backspace)
    qtbot.keyClick(line, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "+19195550124"
    qtbot.keyClick(line, Qt.Key.Key_Left)
    qtbot.keyClick(line, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "+19195550123"
    assert e164s(edit) == ["+19195550124"]


def test_the_x_button_removes_its_chip(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 9195550124, 9195550125")
    qtbot.mouseClick(edit.chips()[1].remove_button, Qt.MouseButton.LeftButton)
    assert e164s(edit) == ["+19195550123", "+19195550125"]
    assert [c.accessibleName() for c in edit.chips()] == [
        "Recipient 1 of 2: (919) 555-0123",
        "Recipient 2 of 2: (919) 555-0125",
    ]


def test_clicking_a_chip_selects_it_and_keeps_focus_in_the_input(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 9195550124")
    qtbot.mouseClick(edit.chips()[0], Qt.MouseButton.LeftButton)
    assert edit.selected_row() == 0
    assert edit.line_edit().hasFocus()


def test_chips_are_not_rebuilt_on_every_change(qtbot, edit) -> None:
    edit.model().add_text("9195550123")
    first = edit.chips()[0]
    edit.model().add_text("9195550124")
    edit.model().remove(1)
    assert edit.chips() == [first]


# --- editing ---------------------------------------------------------------------------------------


def test_double_click_edits_an_invalid_chip_and_enter_fixes_it(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 919-555-01, 9195550125")
    qtbot.mouseDClick(edit.chips()[1], Qt.MouseButton.LeftButton)
    line = edit.line_edit()
    assert line.text() == "919-555-01"
    assert edit.model().rowCount() == 2
    type_into(qtbot, edit, "24")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert e164s(edit) == ["+19195550123", "+19195550124", "+19195550125"]  # back in its place
    assert all(chip.is_valid() for chip in edit.chips())


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_F2])
def test_enter_or_f2_on_a_selected_chip_edits_it_and_escape_restores_it(qtbot, edit, key) -> None:
    edit.model().add_text("9195550123, 919-555-01")
    line = edit.line_edit()
    qtbot.keyClick(line, Qt.Key.Key_Backspace)
    qtbot.keyClick(line, key)
    assert line.text() == "919-555-01"
    assert edit.model().rowCount() == 1
    qtbot.keyClick(line, Qt.Key.Key_Escape)
    assert line.text() == ""
    assert edit.model().raw_inputs() == ["+19195550123", "919-555-01"]


def test_emptying_a_chip_being_edited_removes_it(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 919-555-01")
    edit.edit_row(1)
    edit.line_edit().clear()
    qtbot.keyClick(edit.line_edit(), Qt.Key.Key_Return)
    assert edit.model().raw_inputs() == ["+19195550123"]


# --- completion ------------------------------------------------------------------------------------

# The offscreen platform says so about every popup; harmless there, and real platforms do both.
popup_on_offscreen = pytest.mark.qt_log_ignore(
    "does not support raise", "does not support grabbing the keyboard"
)


@popup_on_offscreen
@pytest.mark.parametrize("typed", ["555012", "(919) 555", "919-555-01"])
def test_completion_offers_a_past_number_in_any_format(qtbot, edit, typed) -> None:
    edit.set_completion_numbers(["+14155550132", "+19195550123"])
    type_into(qtbot, edit, typed)
    popup = edit.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    shown = [popup.model().index(r, 0).data() for r in range(popup.model().rowCount())]
    assert shown == ["(919) 555-0123"]
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert e164s(edit) == ["+19195550123"]
    assert edit.line_edit().text() == ""
    assert not popup.isVisible()


@popup_on_offscreen
def test_numbers_just_sent_to_are_offered_first_and_the_rest_keep_their_order(qtbot, edit) -> None:
    edit.set_completion_numbers(["+19195550101", "+19195550102", "+19195550103"])
    edit.offer_first(["+19195550109", "+19195550102"])  # one new, one already offered
    offered = edit.completer().model()
    assert [offered.index(r, 0).data() for r in range(offered.rowCount())] == [
        "(919) 555-0109",
        "(919) 555-0102",
        "(919) 555-0101",
        "(919) 555-0103",
    ]
    type_into(qtbot, edit, "555010")
    popup = edit.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    assert [popup.model().index(r, 0).data() for r in range(popup.model().rowCount())][:2] == [
        "(919) 555-0109",
        "(919) 555-0102",
    ]
    edit.set_region("CA")  # formatted again for the region, in the order they are offered now
    assert offered.index(0, 0).data() == "(919) 555-0109" and offered.rowCount() == 4


@popup_on_offscreen
def test_enter_without_choosing_a_completion_commits_what_was_typed(qtbot, edit) -> None:
    edit.set_completion_numbers(["+19195550123"])
    type_into(qtbot, edit, "919 555 012")
    popup = edit.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert edit.model().raw_inputs() == ["919 555 012"]


@popup_on_offscreen
def test_tab_on_a_highlighted_completion_takes_it_and_moves_on(qtbot, window) -> None:
    _, edit, message = window
    edit.set_completion_numbers(["+19195550123"])
    type_into(qtbot, edit, "5550123")
    popup = edit.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Tab)
    assert e164s(edit) == ["+19195550123"]
    qtbot.waitUntil(lambda: message.hasFocus())


# --- read-only, accessibility, looks ---------------------------------------------------------------


def test_read_only_blocks_every_edit(qtbot, edit) -> None:
    edit.model().add_text("9195550123, 919-555-01")
    edit.set_read_only(True)
    line = edit.line_edit()
    with qtbot.assertNotEmitted(edit.changed):
        type_into(qtbot, edit, "9195550124,")
        qtbot.keyClick(line, Qt.Key.Key_Backspace)
        qtbot.keyClick(line, Qt.Key.Key_Backspace)
        qtbot.keyClick(line, Qt.Key.Key_Delete)
        qtbot.keyClick(line, Qt.Key.Key_Return)
        QGuiApplication.clipboard().setText("9195550126, 9195550127")
        qtbot.keyClick(line, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        qtbot.mouseDClick(edit.chips()[1], Qt.MouseButton.LeftButton)
    assert edit.model().raw_inputs() == ["+19195550123", "919-555-01"]
    assert line.text() == ""
    assert all(chip.remove_button.isHidden() and not chip.remove_button.isEnabled() for chip in edit.chips())
    edit.set_read_only(False)
    assert all(not chip.remove_button.isHidden() for chip in edit.chips())


def test_accessible_names_and_tooltips(qtbot, edit) -> None:
    line = edit.line_edit()
    assert line.accessibleName() == "Recipients"
    assert line.placeholderText() == "Type or paste numbers…"
    assert line.toolTip()
    edit.model().add_text("9195550123, 9195550124, 919-555-01")
    names = [chip.accessibleName() for chip in edit.chips()]
    assert names[1] == "Recipient 2 of 3: (919) 555-0124"
    assert names[2].startswith("Recipient 3 of 3: 919-555-01") and "invalid" in names[2]
    for chip in edit.chips():
        assert chip.toolTip()
        assert chip.remove_button.accessibleName() == f"Remove {chip.label.text()}"
        assert chip.remove_button.toolTip()
    assert "2 recipients; 1 entry to fix." in line.accessibleDescription()
    assert line.placeholderText() == ""  # the cut-off hint is not shown beside chips


def test_invalid_chip_colour_follows_the_palette() -> None:
    light, dark = QPalette(), QPalette()
    light.setColor(QPalette.ColorRole.Base, QColor("white"))
    light.setColor(QPalette.ColorRole.Text, QColor("black"))
    dark.setColor(QPalette.ColorRole.Base, QColor(30, 30, 30))
    dark.setColor(QPalette.ColorRole.Text, QColor(230, 230, 230))

    def error_colour(palette: QPalette) -> QColor:  # what an invalid chip is drawn in, on the base colour
        return tone_colour(Tone.PROBLEM, palette, QPalette.ColorRole.Base)

    assert error_colour(dark).lightness() > error_colour(light).lightness()


def test_chip_renders_in_every_state(qtbot) -> None:
    chip = RecipientChip()
    qtbot.addWidget(chip)
    for valid, warning, selected in [(True, None, False), (False, None, False), (True, "unassigned", True)]:
        chip.set_data("(919) 555-0123", "tip", valid, warning)
        chip.set_selected(selected)
        image = chip.grab().toImage()
        assert not image.isNull()
        assert chip.mark.isHidden() == (valid and not warning)


# --- layout ----------------------------------------------------------------------------------------


def test_flow_layout_wraps_and_reports_height_for_width(qtbot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    flow = FlowLayout(host, horizontal_spacing=4, vertical_spacing=4, stretch_last=True, last_min_width=100)
    flow.setContentsMargins(0, 0, 0, 0)
    buttons = [QPushButton(f"number {i}") for i in range(6)]
    for button in buttons:
        flow.addWidget(button)
    tail = QPushButton("tail")
    flow.addWidget(tail)
    flow.insertWidget(0, QPushButton("first"))
    assert flow.itemAt(0).widget().text() == "first"
    assert flow.count() == 8
    narrow, wide = flow.heightForWidth(200), flow.heightForWidth(2000)
    assert narrow > wide
    host.resize(300, flow.heightForWidth(300))
    host.show()
    qtbot.waitExposed(host)
    flow.activate()
    rects = [flow.itemAt(i).geometry() for i in range(flow.count())]
    for i, a in enumerate(rects):
        assert a.right() < 300
        for b in rects[i + 1 :]:
            assert not a.intersects(b)
    assert tail.geometry().right() == 299  # the last item stretches to the end of its row
    flow.removeWidget(buttons[0])
    assert flow.count() == 7


def test_field_grows_with_chips_up_to_the_row_limit(qtbot, edit) -> None:
    one_row = edit.heightForWidth(400)
    edit.model().add_text(", ".join(f"919555{n:04d}" for n in range(100, 140)))
    assert len(edit.chips()) == 40
    grown = edit.heightForWidth(400)
    assert grown > one_row
    edit.set_maximum_visible_rows(2)
    assert edit.heightForWidth(400) < grown


def test_the_field_is_drawn_as_a_line_edit_with_its_focus_frame(qtbot, window) -> None:
    """The panel comes from a hidden line edit whose focus follows the input's: the frame around the chips
    changes with focus, and the chips sit inside it."""
    _host, edit, message = window
    middle = edit.height() // 2

    def left_edge() -> QColor:
        return edit.grab().toImage().pixelColor(0, middle)  # the frame, never the input or a chip

    edit.line_edit().setFocus()
    qtbot.waitUntil(edit.line_edit().hasFocus)
    focused = left_edge()
    message.setFocus()
    qtbot.waitUntil(message.hasFocus)
    unfocused = left_edge()
    background = edit.palette().color(QPalette.ColorRole.Window)
    assert unfocused != background  # a frame is drawn
    assert focused != unfocused  # and shows the focus
    frame = edit._frame
    scroll = edit.findChild(QScrollArea)
    assert frame >= 1
    assert scroll is not None and scroll.geometry() == edit.rect().adjusted(frame, frame, -frame, -frame)


def test_the_fields_frame_is_drawn_anew_when_the_style_changes(qtbot, window) -> None:
    """The panel kept between paints is dropped when the style changes (no `style()` call is made to notice:
    that would cost the first frame PySide6's QStyle type)."""
    host, edit, message = window
    message.setFocus()
    qtbot.waitUntil(message.hasFocus)

    def frame() -> QImage:
        return edit.grab().toImage().copy(QRect(0, 0, edit.width(), 3))

    before = frame()
    other = QStyleFactory.create("Windows")
    assert other is not None
    host.setStyle(other)
    for widget in (host, *host.findChildren(QWidget)):
        widget.setStyle(other)  # as a change of the application's style reaches every widget
    assert frame() != before


def test_the_fields_frame_follows_focus_and_state_though_it_is_drawn_once(qtbot, window) -> None:
    """The line-edit panel behind the chips is kept between paints; focus and the enabled state still show on
    its frame (its top edge, where no chip or cursor is drawn)."""
    _, edit, message = window

    def frame() -> QImage:
        return edit.grab().toImage().copy(QRect(0, 0, edit.width(), 2))

    message.setFocus()
    qtbot.waitUntil(lambda: message.hasFocus())
    unfocused = frame()
    assert frame() == unfocused  # drawn again from what was kept: the same
    edit.line_edit().setFocus()
    qtbot.waitUntil(lambda: edit.line_edit().hasFocus())
    assert frame() != unfocused
    message.setFocus()
    qtbot.waitUntil(lambda: message.hasFocus())
    assert frame() == unfocused
    edit.setEnabled(False)
    assert frame() != unfocused
    edit.setEnabled(True)
    assert frame() == unfocused
