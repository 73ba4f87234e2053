"""What the agent types in the composer's fields reaches the message as typed, or blocks it with the reason.

Against the real window and a real in-process sandbox: a link typed without Enter, pasted recipients and
how they are counted, and characters that cannot be sent. What reached the sandbox is checked there.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from bwdesk.core import paths
from bwdesk.core.drafts import load_draft
from bwdesk.core.message import Mode
from bwdesk.core.outcome import SendState
from bwdesk.sandbox import Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.tasks import BackgroundTasks


@pytest.fixture
def make_window(qtbot, sandbox, profile):
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        context = sandbox_context(sandbox, paths.sandbox_profile_dir(profile))
        window = MainWindow(context, BackgroundTasks())
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: window._ready, timeout=10_000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.tasks.wait_for_threads(10_000)


def posted_messages(sandbox: Sandbox) -> list[dict]:
    return [r.json for r in sandbox.requests.all() if r.method == "POST" and r.path.endswith("/messages")]


def type_message(qtbot, window: MainWindow, recipients: str, text: str) -> None:
    qtbot.keyClicks(window.composer.recipients.line_edit(), recipients)
    window.composer.text_edit.setFocus()
    qtbot.keyClicks(window.composer.text_edit, text)


def ctrl_return(widget) -> None:
    QTest.keyClick(widget, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def wait_sent(qtbot, window: MainWindow, count: int) -> None:
    composer = window.composer
    qtbot.waitUntil(
        lambda: len(composer.result_panel.entries()) == count and not composer.is_sending(), timeout=10_000
    )


# --- 1. a link typed in Media but not confirmed ---------------------------------------------------------------


def test_a_link_typed_without_enter_goes_out_and_the_counter_said_mms(qtbot, make_window, sandbox) -> None:
    window = make_window()
    composer = window.composer
    type_message(qtbot, window, "9195550123", "Here is the part")
    media_input = composer.media_list.input()
    media_input.setFocus()
    qtbot.keyClicks(media_input, "https://example.com/part.jpg")
    # Before Send: the counter and the status describe the message as it will go, link included.
    qtbot.waitUntil(lambda: "MMS" in composer.counter.summary())
    assert "The link typed under Media goes with it" in composer.reason_label.text()
    ctrl_return(media_input)  # sent straight from the media field, which never lost focus
    wait_sent(qtbot, window, 1)
    (post,) = posted_messages(sandbox)
    assert post["media"] == ["https://example.com/part.jpg"]
    assert composer.result_panel.entries()[0].result.state is SendState.ACCEPTED
    assert composer.media_list.pending_text() == "" and composer.media_list.urls() == []


def test_an_invalid_typed_link_blocks_send_with_the_reason_and_stays_marked(
    qtbot, make_window, sandbox
) -> None:
    window = make_window()
    composer = window.composer
    type_message(qtbot, window, "9195550123", "Here is the part")
    media_input = composer.media_list.input()
    media_input.setFocus()
    qtbot.keyClicks(media_input, "example.com/part.jpg")
    ctrl_return(media_input)
    assert posted_messages(sandbox) == []
    assert composer.media_list.urls() == ["example.com/part.jpg"]  # not lost: in the list, marked
    assert "only http:// and https://" in composer.media_list.errors()[0]
    assert composer.reason_label.text().startswith("Media: link 1")
    assert window.statusBar().currentMessage().startswith("Media: link 1")
    assert composer._messages["media"].isVisibleTo(window)
    assert not composer.send_button.isEnabled()


def test_leaving_the_media_field_adds_the_link_and_tab_moves_on(qtbot, make_window) -> None:
    window = make_window()
    composer = window.composer
    type_message(qtbot, window, "9195550123", "Here is the part")
    media_input = composer.media_list.input()
    media_input.setFocus()
    qtbot.keyClicks(media_input, "https://example.com/part.jpg")
    composer.tag_edit.line_edit().setFocus()
    qtbot.waitUntil(lambda: composer.media_list.urls() == ["https://example.com/part.jpg"])
    assert media_input.text() == ""
    # A second link being typed is not called a mistake under the field before the agent is done with it.
    media_input.setFocus()
    qtbot.keyClicks(media_input, "ht")
    qtbot.waitUntil(lambda: 'Media: link 2 "ht" cannot be used' in composer.reason_label.text())
    assert not composer._messages["media"].isVisibleTo(window)
    assert not composer.send_button.isEnabled()


def test_a_typed_link_survives_a_restart_and_ctrl_n_clears_it(qtbot, make_window, monkeypatch) -> None:
    window = make_window()
    media_input = window.composer.media_list.input()
    media_input.setFocus()
    qtbot.keyClicks(media_input, "https://example.com/pa")
    saved_path = paths.draft_file(window.context.profile)
    qtbot.waitUntil(lambda: saved_path.exists(), timeout=5000)
    saved = load_draft(saved_path)
    assert saved is not None and saved.pending_media_text == "https://example.com/pa"
    window.hide()

    again = make_window()
    assert again.composer.media_list.pending_text() == "https://example.com/pa"
    monkeypatch.setattr(again.feedback, "ask", lambda title, text, accept: True)
    QTest.keyClick(again, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert again.composer.media_list.pending_text() == ""
    qtbot.waitUntil(lambda: load_draft(saved_path) is None, timeout=5000)  # removed by a worker


def test_a_draft_holding_only_a_typed_link_asks_before_ctrl_n_discards_it(
    qtbot, make_window, monkeypatch
) -> None:
    window = make_window()
    window.composer.media_list.input().setText("https://example.com/part.jpg")
    asked: list[str] = []
    monkeypatch.setattr(window.feedback, "ask", lambda title, text, accept: asked.append(title) or False)
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["Discard this message?"]
    assert window.composer.media_list.pending_text() == "https://example.com/part.jpg"


def test_a_number_typed_last_can_be_sent_with_the_mouse(qtbot, make_window, sandbox) -> None:
    """Found nearby: with the only number still typed in To, Send said "add a recipient" and was disabled,
    though Send (Ctrl+Return) would have added it; the status now describes what Send does."""
    window = make_window()
    composer = window.composer
    composer.text_edit.setFocus()
    qtbot.keyClicks(composer.text_edit, "Your technician is on the way")
    line = composer.recipients.line_edit()
    line.setFocus()
    qtbot.keyClicks(line, "919 555 01")
    qtbot.waitUntil(lambda: composer.reason_label.text().startswith('To: "919 555 01" cannot be used'))
    assert not composer.send_button.isEnabled()
    assert "c0392b" not in composer.reason_label.styleSheet()  # being typed: not shown as a mistake yet
    assert not composer._messages["to"].isVisibleTo(window)
    qtbot.keyClicks(line, "23")
    qtbot.waitUntil(composer.send_button.isEnabled)
    assert composer.reason_label.text() == "Ready to send 1 message. The number typed under To goes with it."
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    wait_sent(qtbot, window, 1)
    assert [p["to"] for p in posted_messages(sandbox)] == [["+19195550123"]]


# --- 6. pasted recipients, and what is counted ------------------------------------------------------------------


def test_counts_are_of_recipients_that_can_be_sent_to(qtbot, make_window) -> None:
    window = make_window()
    composer = window.composer
    type_message(qtbot, window, "9195550123, 12345, 9195550124, 919-555-01,", "hi")
    assert composer.recipients.model().rowCount() == 4
    qtbot.waitUntil(lambda: composer.separate_radio.text() == "Se&parate messages (2)")
    for row in reversed(range(4)):
        if not composer.recipients.model().numbers()[row].ok:
            composer.recipients.model().remove(row)
    qtbot.waitUntil(lambda: composer.reason_label.text() == "Ready to send 2 separate messages.")
    assert composer.counter.summary().endswith("1 segment each")
    # One sendable number and one to fix is not a choice between separate and group.
    composer.recipients.model().remove(1)
    qtbot.keyClicks(composer.recipients.line_edit(), "919-555-01,")
    composer.group_radio.setChecked(True)
    qtbot.waitUntil(lambda: not composer.mode_row.isVisibleTo(window))
    assert composer.mode() is Mode.SEPARATE


def test_a_pasted_signature_makes_chips_of_its_numbers_only_and_says_what_merged(
    qtbot, make_window, sandbox
) -> None:
    window = make_window()
    composer = window.composer
    line = composer.recipients.line_edit()
    qtbot.keyClicks(line, "919 555 0100,")
    QGuiApplication.clipboard().setText(
        "Jane Doe\nAcme Plumbing, 4211 Main St, Suite 300\nRaleigh, NC 27601\n"
        "Office: (919) 555-0100\nFax: 919.555.0102\nExt. 2040\n"
    )
    QTest.keyClick(line, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [c.label.text() for c in composer.recipients.chips()] == ["(919) 555-0100", "(919) 555-0102"]
    assert composer.to_notice.isVisibleTo(window)
    assert composer.to_notice.text() == "(919) 555-0100 is already in the list."
    qtbot.waitUntil(lambda: composer.separate_radio.text() == "Se&parate messages (2)")
    composer.text_edit.setFocus()
    qtbot.keyClicks(composer.text_edit, "Your technician is on the way")
    ctrl_return(composer.text_edit)
    wait_sent(qtbot, window, 2)
    assert [p["to"] for p in posted_messages(sandbox)] == [["+19195550100"], ["+19195550102"]]
    assert not composer.to_notice.isVisibleTo(window)  # the message is done: the note went with it


# --- 12. characters that cannot be sent -------------------------------------------------------------------------


def test_a_pasted_nul_is_refused_naming_the_text_field_and_the_position(qtbot, make_window, sandbox) -> None:
    window = make_window()
    composer = window.composer
    qtbot.keyClicks(composer.recipients.line_edit(), "9195550123")
    composer.text_edit.setFocus()
    QGuiApplication.clipboard().setText("Your part\nhas ar\x00rived")
    composer.text_edit.paste()
    expected = "the message has a null character (U+0000) at position 17, line 2, column 7"
    qtbot.waitUntil(lambda: expected in composer._messages["text"].text())
    assert composer.reason_label.text().startswith(f"Text: {expected}")
    assert not composer.send_button.isEnabled()
    assert composer.text_edit.unsendable_positions() == [16]  # marked where it is
    ctrl_return(composer.text_edit)
    assert posted_messages(sandbox) == []
    assert composer.text_edit.text() == "Your part\nhas ar\x00rived"  # nothing the agent pasted is lost

    assert composer.text_edit.remove_unsendable()
    qtbot.waitUntil(composer.send_button.isEnabled)
    ctrl_return(composer.text_edit)
    wait_sent(qtbot, window, 1)
    assert posted_messages(sandbox)[0]["text"] == "Your part\nhas arrived"


def test_a_tag_with_a_tab_is_refused_naming_the_tag(qtbot, make_window, sandbox) -> None:
    window = make_window()
    composer = window.composer
    type_message(qtbot, window, "9195550123", "hi")
    composer.tag_edit.set_tag("T-1\t2")
    qtbot.waitUntil(lambda: "the tag has a tab (U+0009) at position 4" in composer.reason_label.text())
    ctrl_return(composer.text_edit)
    assert posted_messages(sandbox) == []
    assert composer._messages["tag"].isVisibleTo(window)


def test_a_direction_override_pasted_into_the_text_is_pointed_out_under_it(qtbot, make_window) -> None:
    """Invisible in the box (the text just looks reversed): the warning under the text names it and where,
    and Send stays possible (right-to-left text may use it on purpose)."""
    window = make_window()
    composer = window.composer
    qtbot.keyClicks(composer.recipients.line_edit(), "9195550123,")
    composer.text_edit.set_text("Refund ref \u202e1234-ABCD\u202c ok")
    composer.revalidate()
    shown = composer._messages["text"]
    qtbot.waitUntil(lambda: "U+202E" in shown.text(), timeout=5_000)
    assert "changes the direction" in shown.text() and shown.isVisible()
    assert composer.prepare_to_send()
