"""The do-not-text list and contact names in the window, against the sandbox and the profile's real history file:
the list filled by a send answer (4482) and by a status refresh (4775), the agent told; the next draft's chip
marked in words and an icon, Send refused with the numbers named, one click leaving them out; Send refusing at
send time a number put on the list behind the chips' back; the history's menu adding and removing (the removal's
reason required and kept, seen in the list dialog); names on chips, in the history and in autocomplete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bwdesk.core import paths
from bwdesk.core.directory.optout import Reason
from bwdesk.core.directory.store import DirectoryStore
from bwdesk.sandbox import BLOCKLISTED_NUMBER, OPTED_OUT_NUMBER, Fault, FaultKind, Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.directory.contacts_dialog import ContactsDialog
from bwdesk.ui.directory.optout_dialog import OptOutDialog
from bwdesk.ui.feedback import Kind, Told
from bwdesk.ui.history.model import Column
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.recipients import OPTED_OUT_TEXT, RecipientChip
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 10_000
CUSTOMER = "+19195550123"


class TextAnswers:
    """The injected text prompt: answers from a list (cancelled when it runs out), remembering the labels."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.labels: list[str] = []

    def __call__(self, title: str, label: str, text: str) -> str | None:
        self.labels.append(label)
        return self.answers.pop(0) if self.answers else None


@pytest.fixture
def window(qtbot: Any, sandbox: Sandbox, profile: Path) -> Iterator[MainWindow]:
    main = MainWindow(sandbox_context(sandbox, paths.sandbox_profile_dir(profile)), BackgroundTasks())
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main._ready, timeout=WAIT)
    main.session.auto_refresh_after = (0.05,)  # the sandbox's statuses are final at once
    yield main
    main.tasks.wait_for_threads(WAIT)


def store_of(window: MainWindow) -> DirectoryStore:
    store = window.services.directory
    assert store is not None
    return store


def write(window: MainWindow, recipients: str, text: str) -> None:
    window.composer.recipients.model().add_text(recipients)
    window.composer.text_edit.set_text(text)
    window.composer.revalidate()


def chip_for(window: MainWindow, number: str) -> RecipientChip:
    model = window.composer.recipients.model()
    row = [n.e164 for n in model.numbers()].index(number)
    return window.composer.recipients.chips()[row]


def listed_notice(told: list[Told]) -> str:
    return next((t.text for t in told if "is now on the do-not-text list" in t.text), "")


def test_a_refresh_puts_the_opted_out_number_on_the_list_and_the_next_draft_is_refused_until_left_out(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    write(window, f"{OPTED_OUT_NUMBER}, {BLOCKLISTED_NUMBER}", "Your technician is on the way")
    with qtbot.waitSignal(window.history_view.history_actions.refresh_finished, timeout=WAIT):
        window.session.send_draft()  # accepted; their delivery statuses then say 4775 and 4482
    qtbot.waitUntil(lambda: bool(listed_notice(told)), timeout=WAIT)
    notice = listed_notice(told)
    assert (
        "(919) 555-0198 is now on the do-not-text list: opted out (replied STOP, error 4775) since" in notice
    )
    assert (
        "(919) 555-0197 is now on the do-not-text list: blocklisted (Bandwidth blocks texts to it, error 4482)"
        in notice
    )
    listed = store_of(window).opted_out([OPTED_OUT_NUMBER, BLOCKLISTED_NUMBER])
    assert (listed[OPTED_OUT_NUMBER].reason, listed[OPTED_OUT_NUMBER].code) == (Reason.OPTED_OUT, 4775)
    assert (listed[BLOCKLISTED_NUMBER].reason, listed[BLOCKLISTED_NUMBER].code) == (Reason.BLOCKLISTED, 4482)

    write(window, f"{OPTED_OUT_NUMBER}, 919 555 0123, 919 555 01", "Following up on your visit")
    qtbot.waitUntil(lambda: bool(chip_for(window, OPTED_OUT_NUMBER).opted_out()), timeout=WAIT)
    chip, fine = chip_for(window, OPTED_OUT_NUMBER), chip_for(window, CUSTOMER)
    invalid = window.composer.recipients.chips()[2]
    # Marked in words and with an icon, not by colour alone; and not as an invalid number is.
    assert chip.opted_out_label.isVisible() and chip.opted_out_label.text() == OPTED_OUT_TEXT
    assert chip.mark.isVisible() and chip.is_valid() and chip.property("optedOut")
    assert not invalid.is_valid() and not invalid.opted_out_label.isVisible()
    assert not fine.opted_out_label.isVisible() and not fine.mark.isVisible()
    assert "opted out (replied STOP, error 4775) since" in chip.toolTip()
    assert "on the do-not-text list" in chip.accessibleName()
    window.composer.recipients.model().remove(2)  # the mistyped one is dealt with; the listed one remains

    composer, panel = window.composer, window.directory_parts.marks.panel
    qtbot.waitUntil(lambda: "(919) 555-0198 is on the do-not-text list" in composer.reason(), timeout=WAIT)
    assert not composer.send_button.isEnabled()
    assert panel.isVisible() and "(919) 555-0198" in panel.label.text()
    assert panel.leave_out_button.text().replace("&", "") == "Leave out the 1 opted-out number"
    # Counts count what can be sent (outside review: "Separate messages (2)" with one of them listed).
    assert not composer.mode_row.isVisible()
    before = len(sandbox.accepted_messages())
    window.session.send_draft()
    assert len(sandbox.accepted_messages()) == before and not window.session.is_busy()
    assert told[-1].kind is Kind.NOTE and "(919) 555-0198 is on the do-not-text list" in told[-1].text

    qtbot.mouseClick(panel.leave_out_button, Qt.MouseButton.LeftButton)
    assert composer.recipients.model().raw_inputs() == [CUSTOMER]  # only the listed one left
    assert composer.text_edit.text() == "Following up on your visit"  # the draft otherwise kept
    qtbot.waitUntil(composer.send_button.isEnabled, timeout=WAIT)
    assert not panel.isVisible()
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()
    assert sandbox.accepted_messages()[-1]["to"] == [CUSTOMER]


def test_a_send_answer_with_4482_puts_the_number_on_the_list_and_marks_the_chip_still_in_the_draft(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    sandbox.inject(Fault(FaultKind.BLOCKLISTED))
    write(window, "919 555 0123", "Your technician is on the way")
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()
    qtbot.waitUntil(lambda: bool(listed_notice(told)), timeout=WAIT)
    assert listed_notice(told).startswith(
        "(919) 555-0123 is now on the do-not-text list: blocklisted (Bandwidth blocks texts to it, error 4482)"
    )
    assert store_of(window).opted_out([CUSTOMER])[CUSTOMER].reason is Reason.BLOCKLISTED
    # The rejected message's recipient is still in the draft: its chip is checked again and marked.
    qtbot.waitUntil(lambda: bool(chip_for(window, CUSTOMER).opted_out()), timeout=WAIT)
    assert not window.composer.send_button.isEnabled()


def test_send_refuses_at_send_time_a_number_listed_since_its_chip_was_checked(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    write(window, "919 555 0123, 919 555 0124", "Your technician is on the way")
    directory = window.directory_parts.directory
    qtbot.waitUntil(lambda: directory.known(CUSTOMER) and directory.known("+19195550124"), timeout=WAIT)
    assert window.composer.send_button.isEnabled()
    store_of(window).add_opt_out("+19195550124", Reason.BY_HAND, note="another desk")  # the chips don't know
    with qtbot.waitSignal(window.session.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        window.session.send_draft()
    assert sandbox.requests.all() == []  # nothing at all left, not even to the number not listed
    assert "Nothing was sent. To: (919) 555-0124 is on the do-not-text list" in told[-1].text
    qtbot.waitUntil(lambda: bool(chip_for(window, "+19195550124").opted_out()), timeout=WAIT)
    assert "added by hand: another desk since" in chip_for(window, "+19195550124").toolTip()


def test_send_again_from_the_history_is_refused_for_a_listed_number(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    window.feedback.ask = lambda *_: True
    write(window, "919 555 0123", "Your technician is on the way")
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()
    qtbot.waitUntil(lambda: window.history_view.model.rowCount() == 1, timeout=WAIT)
    store_of(window).add_opt_out(CUSTOMER, Reason.BY_HAND)
    errors: list[str] = []
    window.feedback.error = lambda title, text: errors.append(text)  # type: ignore[method-assign]
    asked: list[str] = []
    window.feedback.ask = lambda title, *_: asked.append(title) or True
    with qtbot.waitSignal(window.session.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        window.session.send_again(window.history_view.model.row_at(0))
    assert len(sandbox.accepted_messages()) == 1
    assert errors and "(919) 555-0123 is on the do-not-text list" in errors[0]
    assert asked == []  # refused at once, not after "Send it again?" was answered (outside review)
    assert not any(t.kind is Kind.QUESTION and "Nothing" in t.text for t in told)


def select_first_row(qtbot: Any, window: MainWindow) -> None:
    view = window.history_view
    qtbot.waitUntil(lambda: view.model.rowCount() >= 1, timeout=WAIT)
    view.table.selectRow(0)


def menu_action(menu: Any, text: str) -> Any:
    found = [a for a in menu.actions() if a.text() == text]
    for sub in (a.menu() for a in menu.actions() if a.menu() is not None):
        found += [a for a in sub.actions() if a.text() == text]
    assert found, [a.text() for a in menu.actions()]
    return found[0]


def test_the_history_menu_adds_and_removes_with_a_required_reason_kept_in_the_dialogs_history(
    qtbot: Any, window: MainWindow
) -> None:
    write(window, "919 555 0123", "Your technician is on the way")
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()
    select_first_row(qtbot, window)
    actions = window.directory_parts.actions
    answers = TextAnswers("asked by phone", "", "customer texted START on 3 March")
    window.feedback.ask_for_text = answers

    with qtbot.waitSignal(actions.done, timeout=WAIT):
        menu_action(window.history_view.context_menu(), "Add to do-not-text list…").trigger()
    entry = store_of(window).opted_out([CUSTOMER])[CUSTOMER]
    assert (entry.reason, entry.note) == (Reason.BY_HAND, "asked by phone")
    # Once the list's answer is known, only what applies is offered (outside review: both, whatever the state).
    checker = window.directory_parts.directory
    window.history_view.context_menu()
    qtbot.waitUntil(lambda: checker.known(CUSTOMER), timeout=WAIT)
    offered = [a.text() for a in window.history_view.context_menu().actions()]
    assert "Remove from do-not-text list…" in offered and "Add to do-not-text list…" not in offered

    told: list[Told] = []
    window.feedback.told.connect(told.append)
    menu_action(window.history_view.context_menu(), "Remove from do-not-text list…").trigger()
    assert told[-1].kind is Kind.WARNING and "only with a reason" in told[-1].text  # refused empty
    assert CUSTOMER in store_of(window).opted_out([CUSTOMER])
    with qtbot.waitSignal(actions.done, timeout=WAIT):
        menu_action(window.history_view.context_menu(), "Remove from do-not-text list…").trigger()
    assert store_of(window).opted_out([CUSTOMER]) == {}

    window.directory_parts.open_list()
    dialog = window.directory_parts.dialog
    assert isinstance(dialog, OptOutDialog)
    qtbot.waitUntil(lambda: dialog.history_table.rowCount() == 2, timeout=WAIT)
    newest = [dialog.history_table.item(0, c).text() for c in range(5)]
    assert newest[1:4] == ["(919) 555-0123", "removed", "customer texted START on 3 March"]
    assert dialog.table.rowCount() == 0
    dialog.close()


def test_the_list_dialog_adds_searches_removes_imports_and_exports(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    window.directory_parts.open_list()
    dialog = window.directory_parts.dialog
    assert isinstance(dialog, OptOutDialog)
    actions = window.directory_parts.actions
    window.feedback.ask_for_text = TextAnswers("919-555-0150", '=HYPERLINK("x")', "not a number", "")
    qtbot.waitSignal(dialog.loaded, timeout=WAIT).wait()  # opened: the list as it is (empty)
    with qtbot.waitSignal(actions.done, timeout=WAIT):
        dialog.ask_to_add()
    qtbot.waitUntil(lambda: dialog.numbers() == ["+19195550150"], timeout=WAIT)
    assert dialog.table.item(0, 1).text() == "added by hand"

    messy = tmp_path / "stop.csv"
    messy.write_text(
        "Phone;Note\n(919) 555-0151;replied STOP\n919.555.0151;again\nnot a number;x\n\n919 555 0152;\n"
    )
    with qtbot.waitSignal(dialog.reported, timeout=WAIT) as report:
        dialog.import_file(str(messy))
    assert report.args[0].startswith("Imported 2 numbers: 2 new on the list.")
    assert "line 3: " in report.args[0] and "line 4: " in report.args[0]
    assert dialog.report.toPlainText() == report.args[0]
    qtbot.waitUntil(
        lambda: dialog.numbers() == ["+19195550150", "+19195550151", "+19195550152"], timeout=WAIT
    )

    with qtbot.waitSignal(dialog.loaded, timeout=WAIT):
        dialog.search_edit.setText("0151")
    assert dialog.numbers() == ["+19195550151"]

    exported = tmp_path / "out.csv"
    with qtbot.waitSignal(dialog.reported, timeout=WAIT) as report:
        dialog.export_file(str(exported))
    assert report.args[0] == f"Wrote 3 numbers to {exported}."
    text = exported.read_bytes().decode("utf-8-sig")
    assert text.startswith("number,reason,code,since,by,note\r\n")
    assert "'=HYPERLINK" in text  # formula-safe, as the history export

    dialog.select_numbers(["+19195550151"])
    window.feedback.ask_for_text = TextAnswers("")  # no reason: refused, nothing changes
    dialog.remove_selected()
    assert "+19195550151" in store_of(window).opted_out(["+19195550151"])
    dialog.close()


def test_contact_names_on_chips_in_the_history_and_in_autocomplete(qtbot: Any, window: MainWindow) -> None:
    write(window, "919 555 0123", "Your technician is on the way")
    recipients = window.composer.recipients
    menu = recipients.chip_menu(0)
    window.feedback.ask_for_text = TextAnswers("Ann  Lee")
    directory = window.directory_parts.directory
    with qtbot.waitSignal(directory.contacts_changed, timeout=WAIT):
        menu_action(menu, "Add contact name…").trigger()
    qtbot.waitUntil(lambda: recipients.chips()[0].label.text() == "Ann Lee", timeout=WAIT)
    assert "(919) 555-0123" in recipients.chips()[0].toolTip() and CUSTOMER in recipients.chips()[0].toolTip()
    assert menu_action(recipients.chip_menu(0), "Edit contact…")

    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()
    view = window.history_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT)
    cell = view.model.index(0, Column.TO)
    assert cell.data() == "Ann Lee (919) 555-0123"

    recipients.line_edit().setFocus()
    QTest.keyClicks(recipients.line_edit(), "ann")
    popup = recipients.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    assert popup.model().rowCount() == 1
    assert popup.model().index(0, 0).data() == "Ann Lee — (919) 555-0123"
    QTest.keyClick(popup, Qt.Key.Key_Down)
    QTest.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: recipients.model().raw_inputs() == [CUSTOMER], timeout=WAIT)
    assert recipients.line_edit().text() == ""
    QApplication.processEvents()


def test_the_contacts_dialog_imports_searches_renames_removes_and_exports(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    parts = window.directory_parts
    parts.open_contacts()
    dialog = parts.contacts_dialog
    assert isinstance(dialog, ContactsDialog)
    people = tmp_path / "people.csv"
    people.write_text(
        "Mobile,First name,Last name,Company\n(919) 555-0123,Ann,Lee,Acme\n919.555.0123,Ann,Again,\n"
        "12,Bo,Short,\n919 555 0124,Bob,Ray,=SUM(A1)\n"
    )
    with qtbot.waitSignal(dialog.reported, timeout=WAIT) as report:
        dialog.import_file(str(people))
    assert report.args[0].startswith("Imported 2 numbers: 2 saved.")
    assert "line 3: " in report.args[0] and "line 4: " in report.args[0]
    qtbot.waitUntil(lambda: len(dialog.numbers()) == 2, timeout=WAIT)
    assert dialog.table.item(0, 0).text() == "Ann Lee" and "company=Acme" in dialog.table.item(0, 2).text()

    dialog.search_edit.setText("ann")
    qtbot.waitUntil(lambda: dialog.numbers() == [CUSTOMER], timeout=WAIT)

    window.feedback.ask_for_text = TextAnswers("Ann Lee-Smith")
    dialog.table.selectRow(0)
    with qtbot.waitSignal(window.directory_parts.directory.contacts_changed, timeout=WAIT):
        dialog.rename_selected()
    contact = store_of(window).contacts_for([CUSTOMER])[CUSTOMER]
    assert contact.name == "Ann Lee-Smith" and contact.fields["company"] == "Acme"  # other fields kept

    exported = tmp_path / "contacts.csv"
    with qtbot.waitSignal(dialog.reported, timeout=WAIT) as report:
        dialog.export_file(str(exported))
    assert report.args[0] == f"Wrote 2 contacts to {exported}."
    lines = exported.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0] == "number,name,company,first_name,last_name"
    assert lines[2] == "'+19195550124,Bob Ray,'=SUM(A1),Bob,Ray"  # formula-safe, as the history export

    window.feedback.ask = lambda *_: True
    dialog.search_edit.setText("")
    qtbot.waitUntil(lambda: len(dialog.numbers()) == 2, timeout=WAIT)
    dialog.table.selectRow(dialog.numbers().index(CUSTOMER))
    with qtbot.waitSignal(window.directory_parts.directory.contacts_changed, timeout=WAIT):
        dialog.remove_selected()
    assert store_of(window).contacts_for([CUSTOMER]) == {}
    qtbot.waitUntil(lambda: dialog.numbers() == ["+19195550124"], timeout=WAIT)
    dialog.close()


def test_nothing_is_sent_when_the_list_cannot_be_read(
    qtbot: Any, window: MainWindow, sandbox: Sandbox
) -> None:
    errors: list[str] = []
    window.feedback.error = lambda title, text: errors.append(text)  # type: ignore[method-assign]
    opened, window.services.directory = window.services.directory, None
    window.services.directory_problem = "the history file is damaged"
    write(window, "919 555 0123", "Your technician is on the way")
    window.session.send_draft()
    assert not window.session.is_busy() and sandbox.requests.all() == []
    assert errors == [
        "The do-not-text list cannot be read, so nothing was sent (the history file is damaged). "
        "Your message is kept."
    ]
    assert window.composer.recipients.model().raw_inputs() == [CUSTOMER]
    window.services.directory = opened  # closed with the window
