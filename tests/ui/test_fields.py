"""The tag field (its counter and cap) and the From picker (listed numbers and typed sender IDs)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent, QGuiApplication, QInputMethodEvent
from PySide6.QtWidgets import QLabel

from bwdesk.core.message import MAX_TAG_LENGTH
from bwdesk.ui.fields import FromPicker, TagEdit

# --- tag --------------------------------------------------------------------------------------------------


@pytest.fixture
def tag(qtbot) -> TagEdit:
    widget = TagEdit()
    qtbot.addWidget(widget)
    return widget


def test_tag_counter_follows_typing(qtbot, tag) -> None:
    assert tag.counter_text() == "0 / 1024"
    with qtbot.waitSignal(tag.tag_changed):
        qtbot.keyClicks(tag.line_edit(), "TICKET-4242")
    assert tag.tag() == "TICKET-4242"
    assert tag.counter_text() == "11 / 1024"
    assert tag.level() == "ok"


def test_typing_at_the_tag_cap_inserts_nothing(qtbot, tag) -> None:
    tag.set_tag("t" * MAX_TAG_LENGTH)
    tag.line_edit().end(False)
    qtbot.keyClicks(tag.line_edit(), "xyz")
    assert tag.tag() == "t" * MAX_TAG_LENGTH
    assert tag.counter_text() == "1024 / 1024"
    assert tag.level() == "full"
    assert "color" in tag.findChild(QLabel, "tagCounter").styleSheet()


def test_paste_over_the_tag_cap_is_cut_and_says_so(qtbot, tag) -> None:
    tag.set_tag("a" * 1000)
    tag.line_edit().end(False)
    QGuiApplication.clipboard().setText("b" * 40)
    with qtbot.waitSignal(tag.truncated) as signal:
        qtbot.keyClick(tag.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert signal.args == [16]
    assert tag.tag() == "a" * 1000 + "b" * 24
    assert tag.counter_text() == "1024 / 1024 · 16 cut"
    assert "16 characters didn't fit" in tag.findChild(QLabel, "tagCounter").toolTip()
    tag.line_edit().undo()  # one undo step, and the note goes with the next change
    assert tag.tag() == "a" * 1000
    assert tag.counter_text() == "1000 / 1024"


def test_paste_into_a_selection_replaces_it_and_keeps_emoji_whole(qtbot, tag) -> None:
    tag.set_tag("x" * 1020 + "SEL")
    edit = tag.line_edit()
    edit.setSelection(1020, 3)
    QGuiApplication.clipboard().setText("ab😀😀")
    with qtbot.waitSignal(tag.truncated) as signal:
        qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert tag.tag() == "x" * 1020 + "ab😀"  # 2 units were left for the emoji pair: one fits, whole
    assert signal.args == [2]


def test_dropped_and_input_method_text_is_cut_too(qtbot, tag) -> None:
    tag.set_tag("a" * 1022)
    edit = tag.line_edit()
    edit.end(False)
    event = QInputMethodEvent("", [])
    event.setCommitString("日本語")
    with qtbot.waitSignal(tag.truncated):
        edit.inputMethodEvent(event)
    assert tag.tag() == "a" * 1022 + "日本"
    tag.set_tag("a" * 1023)
    mime = QMimeData()
    mime.setText("zz")
    drop = QDropEvent(
        QPointF(edit.rect().right() - 2, edit.rect().center().y()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(tag.truncated) as signal:
        edit.dropEvent(drop)
    assert signal.args == [1]
    assert len(tag.tag()) == 1024


def test_a_pasted_line_break_becomes_a_space(qtbot, tag) -> None:
    QGuiApplication.clipboard().setText("TICKET\r\n4242\n")
    qtbot.keyClick(tag.line_edit(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert tag.tag() == "TICKET 4242"


def test_tag_accessible_names(tag) -> None:
    assert tag.line_edit().accessibleName() == "Tag"
    assert tag.findChild(QLabel, "tagCounter").accessibleName() == "Tag length"
    assert tag.line_edit().toolTip()


# --- From ------------------------------------------------------------------------------------------------


@pytest.fixture
def picker(qtbot) -> FromPicker:
    widget = FromPicker(region="US")
    qtbot.addWidget(widget)
    widget.set_numbers([("+19195550100", "Support line"), ("+19195550101", "")], default="+19195550100")
    return widget


def test_listed_number_is_shown_readably_and_gives_its_e164(picker) -> None:
    assert picker.currentText() == "(919) 555-0100 · Support line"
    assert picker.sender() == "+19195550100"
    picker.setCurrentIndex(1)
    assert picker.currentText() == "(919) 555-0101"
    assert picker.sender() == "+19195550101"
    assert picker.numbers() == ["+19195550100", "+19195550101"]
    assert picker.problem() == ""


def test_typed_alphanumeric_sender_id_is_returned_stripped(qtbot, picker) -> None:
    picker.lineEdit().clear()
    seen: list[str] = []
    picker.sender_changed.connect(seen.append)
    qtbot.keyClicks(picker.lineEdit(), "  ACME Co ")
    assert seen[-1] == "ACME Co"
    assert picker.sender() == "ACME Co"
    assert picker.problem() == ""
    assert picker.count() == 2  # typing never adds to the list


def test_invalid_typed_sender_is_marked_with_cores_reason(qtbot, picker) -> None:
    picker.lineEdit().clear()
    qtbot.keyClicks(picker.lineEdit(), "ACME CORP LTD1")
    assert picker.problem_severity() == "error"
    assert "at most 11 characters" in picker.problem()
    assert picker.lineEdit().property("invalid") is True
    assert "at most 11 characters" in picker.toolTip()
    assert picker.lineEdit().styleSheet()
    picker.setCurrentIndex(0)
    assert picker.problem() == ""
    assert picker.lineEdit().property("invalid") is False
    assert picker.lineEdit().styleSheet() == ""


def test_default_that_is_not_listed_is_typed_in(qtbot) -> None:
    picker = FromPicker()
    qtbot.addWidget(picker)
    picker.set_numbers([("+19195550100", "Support")], default="ACME")
    assert picker.sender() == "ACME"
    picker.set_sender("+19195550100")
    assert picker.sender() == "+19195550100"


def test_empty_from_is_not_marked_but_read_only_disables(picker) -> None:
    picker.setEditText("")
    assert picker.sender() == ""
    assert picker.problem() == ""
    picker.set_read_only(True)
    assert not picker.isEnabled()
    assert picker.accessibleName() == "From"


def test_paste_after_emoji_lands_where_the_selection_is(qtbot, tag) -> None:
    tag.set_tag("😀" * 10 + "abc")
    edit = tag.line_edit()
    edit.setSelection(20, 3)  # Qt counts UTF-16 units: each emoji is 2
    QGuiApplication.clipboard().setText("Z")
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert tag.tag() == "😀" * 10 + "Z"
    assert tag.counter_text() == "21 / 1024"
