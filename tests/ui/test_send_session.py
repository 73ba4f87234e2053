"""The send session on its own (a composer, a real history file, the sandbox; questions answered by the test)
and in the window: one Check status path for the results and the history, Send again from the history, and
closing that stops the scheduled status refresh and the background work before the history closes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from bwdesk.core import paths
from bwdesk.core.api import Timeouts
from bwdesk.core.directory.optout import OptOutRecorder
from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.outcome import SendState
from bwdesk.sandbox import Fault, FaultKind, Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.composer import ComposerWidget
from bwdesk.ui.draft_keeper import DraftKeeper
from bwdesk.ui.feedback import Feedback, Kind
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.results import ResultEntry
from bwdesk.ui.send_session import Phase, SendSession
from bwdesk.ui.services import Services
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 10_000


class Answers:
    """The injected confirmation: records each question and answers from a list (Cancel when it runs out)."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []
        self.texts: list[str] = []
        self.buttons: list[str] = []

    def __call__(self, title: str, text: str, accept: str) -> bool:
        self.asked.append(title)
        self.texts.append(text)
        self.buttons.append(accept)
        return self.answers.pop(0) if self.answers else False


@pytest.fixture
def parts(qtbot: Any, sandbox: Sandbox, profile: Path) -> Iterator[tuple[ComposerWidget, Services, Any]]:
    """A composer, the sandbox account's services and what the session is built from (a fresh history file)."""
    host = QWidget()
    qtbot.addWidget(host)
    composer = ComposerWidget(host, region="US")
    composer.set_from_numbers([(sandbox.numbers[0], "Support")], sandbox.numbers[0])
    context = sandbox_context(sandbox, profile)
    account = context.account()
    directory = SqliteDirectoryStore.open(profile / "history.sqlite3", "Ann Agent")
    services = Services(
        history=SqliteHistoryStore.open(profile / "history.sqlite3"),
        account=account,
        client=account.client(),
        directory=directory,
        recorder=OptOutRecorder(directory),
    )
    tasks = BackgroundTasks()
    feedback = Feedback(host)
    drafts = DraftKeeper(composer, profile / "draft.json", feedback)
    yield composer, services, (tasks, drafts, feedback)
    tasks.wait_for_threads(WAIT)
    services.close()


def make_session(parts: tuple[ComposerWidget, Services, Any], confirm: Answers) -> SendSession:
    composer, services, (tasks, drafts, feedback) = parts
    session = SendSession(composer, tasks, drafts, feedback, confirm)
    session.use_services(services)
    session.auto_refresh_after = ()
    return session


def write(composer: ComposerWidget, recipients: str, text: str) -> None:
    composer.recipients.model().add_text(recipients)
    composer.text_edit.set_text(text)
    composer.revalidate()


def test_a_session_asks_its_injected_confirmation_before_a_likely_duplicate(
    qtbot: Any, parts: Any, sandbox: Sandbox
) -> None:
    composer = parts[0]
    confirm = Answers(False, True)
    session = make_session(parts, confirm)
    results: list[ResultEntry] = []
    session.result_added.connect(results.append)

    write(composer, "9195550123", "On my way")
    with qtbot.waitSignal(session.finished, timeout=WAIT):
        session.send_draft()
    assert [r.result.state for r in results] == [SendState.ACCEPTED] and confirm.asked == []
    assert composer.recipients.model().rowCount() == 0  # sent: the composer is ready for the next one

    write(composer, "9195550123", "On my way")  # the same message again, minutes later
    with qtbot.waitSignal(session.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        session.send_draft()
    assert confirm.asked == ["Send again? It may be a duplicate"]  # answered Cancel
    assert len(sandbox.accepted_messages()) == 1 and not composer.is_sending()
    with qtbot.waitSignal(session.finished, timeout=WAIT):
        session.send_draft()  # asked again, answered "Send again anyway"
    assert len(confirm.asked) == 2 and len(sandbox.accepted_messages()) == 2
    assert session.phase is Phase.IDLE


def test_a_refused_draft_says_why_through_the_feedback(parts: Any, record_told: Any) -> None:
    composer, _services, (_tasks, _drafts, feedback) = parts
    session = make_session(parts, Answers())
    told = record_told(feedback)
    write(composer, "919 555 01", "hello")
    session.send_draft()
    assert [t.kind for t in told] == [Kind.NOTE] and "cannot be used" in told[0].text
    assert not session.is_busy()


def several(count: int) -> str:
    return ", ".join(f"919555{n:04d}" for n in range(300, 300 + count))


def send_when_asked(qtbot: Any, session: SendSession) -> None:
    """Send; whatever the answers, wait until the session is idle again."""
    with qtbot.waitSignal(session.busy_changed, timeout=WAIT, check_params_cb=lambda busy: not busy):
        session.send_draft()


def test_a_send_over_the_segment_limit_asks_once_naming_the_cost(
    qtbot: Any, parts: Any, sandbox: Sandbox
) -> None:
    composer = parts[0]
    confirm = Answers(False, True)
    session = make_session(parts, confirm)
    write(composer, several(6), "x" * 400)  # 6 messages of 3 segments
    send_when_asked(qtbot, session)
    assert confirm.asked == ["Send 18 segments?"] and sandbox.requests.all() == []
    assert "This sends 6 messages of 3 segments each: 18 segments in total" in confirm.texts[0]
    assert "limit of 10 segments" in confirm.texts[0] and confirm.buttons == ["Send them"]
    assert composer.recipients.model().rowCount() == 6  # Cancel: the draft is as it was
    send_when_asked(qtbot, session)
    assert len(confirm.asked) == 2 and len(sandbox.accepted_messages()) == 6


def test_the_segment_limit_is_the_settings_one(qtbot: Any, parts: Any, sandbox: Sandbox) -> None:
    composer, services = parts[0], parts[1]
    services.segment_limit = 18
    confirm = Answers()
    session = make_session(parts, confirm)
    write(composer, several(6), "x" * 400)
    send_when_asked(qtbot, session)
    assert confirm.asked == [] and len(sandbox.accepted_messages()) == 6


def test_a_group_message_asks_naming_everyone_in_it(qtbot: Any, parts: Any, sandbox: Sandbox) -> None:
    composer = parts[0]
    confirm = Answers(False)
    session = make_session(parts, confirm)
    write(composer, several(3), "Meeting moved to 3pm")
    composer.group_radio.setChecked(True)
    send_when_asked(qtbot, session)
    assert confirm.asked == ["Send one group message?"] and confirm.buttons == ["Send to the group"]
    assert "everyone in it sees every number" in confirm.texts[0]
    assert "(919)\u00a0555-0300, (919)\u00a0555-0301, (919)\u00a0555-0302" in confirm.texts[0]
    assert sandbox.requests.all() == []


def test_many_costly_and_a_likely_duplicate_are_one_question(
    qtbot: Any, parts: Any, sandbox: Sandbox
) -> None:
    composer = parts[0]
    confirm = Answers(True, False)
    session = make_session(parts, confirm)
    write(composer, several(21), "Service restored")
    send_when_asked(qtbot, session)
    assert confirm.asked == ["Send many messages?"] and len(sandbox.accepted_messages()) == 21
    assert "21 segments in total" in confirm.texts[0] and "more than 20 separate messages" in confirm.texts[0]
    write(composer, several(21), "Service restored")  # the same again, minutes later
    send_when_asked(qtbot, session)
    assert confirm.asked[1:] == ["Send again? It may be a duplicate"]  # one question, every reason
    assert "already sent" in confirm.texts[1] and "more than 20 separate messages" in confirm.texts[1]
    assert confirm.buttons[1] == "Send again anyway" and len(sandbox.accepted_messages()) == 21


@pytest.fixture
def make_window(qtbot: Any, sandbox: Sandbox, profile: Path) -> Iterator[Any]:
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow(sandbox_context(sandbox, paths.sandbox_profile_dir(profile)), BackgroundTasks())
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window._ready, timeout=WAIT)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.tasks.wait_for_threads(WAIT)


def send_and_wait(qtbot: Any, window: MainWindow, recipients: str, text: str) -> None:
    write(window.composer, recipients, text)
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()


def test_closing_stops_the_status_refresh_scheduled_after_a_send_before_the_history_closes(
    qtbot: Any, make_window: Any
) -> None:
    """The look at the statuses a few seconds after a send must not run against a closed history."""
    window = make_window()
    window.session.auto_refresh_after = (0.3,)
    send_and_wait(qtbot, window, "9195550123", "closing right after")
    history = window.services.history
    assert history is not None
    window.close()
    assert not window.isVisible() and window.services.history is None
    qtbot.waitUntil(lambda: window.tasks.pending() == 0, timeout=WAIT)  # late answers touch no store
    with qtbot.assertNotEmitted(window.session.refresh_due, wait=600):
        pass  # past the moment the refresh was due: it was called off with the window
    with pytest.raises(RuntimeError, match="closed"):
        history.search(HistoryQuery(), limit=1)  # closed only after all of that


def test_check_status_from_the_results_and_from_the_history_is_one_path(
    qtbot: Any, make_window: Any, sandbox: Sandbox
) -> None:
    """Both answers were lost but Bandwidth has the messages: whichever Check status the agent uses, the
    history's actions ask, and the window's result follows."""
    window = make_window()
    window.session.auto_refresh_after = ()
    assert window.services.client is not None
    window.services.client.timeouts = Timeouts(connect=2, read=0.3)  # the answers will be "lost"
    sandbox.inject(Fault(FaultKind.DELAY, delay=1.0, times=2))
    send_and_wait(qtbot, window, "9195550123, 9195550124", "did it go?")
    panel = window.composer.result_panel
    assert [e.result.state for e in panel.entries()] == [SendState.UNKNOWN, SendState.UNKNOWN]
    qtbot.waitUntil(lambda: len(sandbox.accepted_messages()) == 2, timeout=WAIT)
    actions = window.history_view.history_actions

    def state_of(row_id: int) -> SendState:
        return next(e.result.state for e in panel.entries() if e.row_id == row_id)

    # From the result: its button asks the history's actions.
    first, second = (e.row_id for e in panel.entries())
    row = panel.row_widget(first)
    assert row is not None
    with qtbot.waitSignal(actions.check_finished, timeout=WAIT) as checked:
        row.check_button.click()
    assert checked.args[0] is not None and checked.args[0].found is not None
    assert (state_of(first), state_of(second)) == (SendState.ACCEPTED, SendState.UNKNOWN)

    # From the history: the same actions, and the window's result follows.
    view = window.history_view
    qtbot.waitUntil(lambda: view.model.position_of(second) is not None, timeout=WAIT)
    flag = QItemSelectionModel.SelectionFlag
    position = view.model.position_of(second)
    view.table.selectionModel().select(view.model.index(position, 0), flag.ClearAndSelect | flag.Rows)
    qtbot.waitUntil(view.check_action.isEnabled, timeout=WAIT)
    with qtbot.waitSignal(actions.check_finished, timeout=WAIT) as checked:
        view.check_action.trigger()
    assert checked.args[0] is not None and checked.args[0].found is not None
    assert state_of(second) is SendState.ACCEPTED
    assert window.session.unsettled_rows() == frozenset()
    assert window.composer.recipients.model().rowCount() == 0  # they went out: nobody waits to be sent


def test_send_again_from_the_history_goes_through_the_session(
    qtbot: Any, make_window: Any, sandbox: Sandbox, record_told: Any
) -> None:
    window = make_window()
    window.session.auto_refresh_after = ()
    send_and_wait(qtbot, window, "9195550123", "once more")
    view = window.history_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT)
    told = record_told(window.feedback)
    window.feedback.ask = lambda title, text, accept: True
    flag = QItemSelectionModel.SelectionFlag
    view.table.selectionModel().select(view.model.index(0, 0), flag.ClearAndSelect | flag.Rows)
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        view.resend_action.trigger()
    assert [t.title for t in told if t.kind is Kind.QUESTION] == ["Send it again?"]
    assert len(sandbox.accepted_messages()) == 2
    assert [e.result.state for e in window.composer.result_panel.entries()] == [SendState.ACCEPTED]


def test_enter_in_the_question_cancels_a_costly_send(
    qtbot: Any, make_window: Any, sandbox: Sandbox, record_told: Any
) -> None:
    """The real question box: Cancel is the default, the button that sends is not, so Enter sends nothing."""
    window = make_window()
    told = record_told(window.feedback)
    seen: dict[str, Any] = {}

    def press_enter() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            return  # the question comes once the history was searched for an earlier copy
        poll.stop()
        send = next(b for b in box.buttons() if b.text().replace("&", "") == "Send them")
        seen["send is default"] = send.isDefault()
        QTest.keyClick(box, Qt.Key.Key_Return)

    write(window.composer, several(6), "x" * 400)
    poll = QTimer(window)
    poll.timeout.connect(press_enter)
    poll.start(10)
    with qtbot.waitSignal(window.session.busy_changed, timeout=WAIT, check_params_cb=lambda b: not b):
        window.session.send_draft()
    assert seen == {"send is default": False}
    assert [t.title for t in told if t.kind is Kind.QUESTION] == ["Send 18 segments?"]
    assert sandbox.requests.all() == [] and window.composer.recipients.model().rowCount() == 6


def test_a_refresh_that_finds_one_unknown_send_says_so_of_that_one_only(
    qtbot: Any, make_window: Any, sandbox: Sandbox
) -> None:
    """The found note ("it was sent: do not send it again") once spilled onto the next unknown row of the same
    refresh, which Bandwidth did not have."""
    window = make_window()
    window.session.auto_refresh_after = ()
    assert window.services.client is not None
    window.services.client.timeouts = Timeouts(connect=2, read=0.3)
    sandbox.inject(Fault(FaultKind.DELAY, delay=1.0, times=1))  # queued, but the answer is lost
    sandbox.inject(Fault(FaultKind.DROP, times=1))  # read, then the connection closed: never queued
    send_and_wait(qtbot, window, "9195550123, 9195550124", "did it go?")
    panel = window.composer.result_panel
    assert [e.result.state for e in panel.entries()] == [SendState.UNKNOWN, SendState.UNKNOWN]
    qtbot.waitUntil(lambda: len(sandbox.accepted_messages()) == 1, timeout=WAIT)
    view = window.history_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=WAIT)
    with qtbot.waitSignal(view.history_actions.refresh_finished, timeout=WAIT):
        view.history_actions.refresh_status(view.model.loaded_rows())  # both asked about, by hand
    found, missing = panel.entries()
    assert found.result.state is SendState.ACCEPTED and missing.result.state is SendState.UNKNOWN
    assert "do not send it again" in panel.row_widget(found.row_id).label.text().lower()
    assert "Bandwidth has this message" not in panel.row_widget(missing.row_id).label.text()


def test_send_again_from_the_history_is_labelled_and_leaves_the_draft_alone(
    qtbot: Any, make_window: Any, sandbox: Sandbox
) -> None:
    """An unrelated draft sits in the composer — here even one with the same text to the same number: the
    message sent again from the history is said to be that, and the draft stays exactly as it was."""
    window = make_window()
    window.session.auto_refresh_after = ()
    send_and_wait(qtbot, window, "9195550123", "Your technician is on the way")
    view = window.history_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT)
    composer, panel = window.composer, window.composer.result_panel
    write(composer, "9195550123, 9195550177", "Your technician is on the way")
    composer.show_api_errors([], fallback="an earlier problem of this draft")  # a mark of the draft's own
    before = composer.saved_draft()
    reasons: list[str] = []
    window.session.busy_changed.connect(lambda busy: reasons.append(composer.reason()) if busy else None)
    window.feedback.ask = lambda title, text, accept: True
    [row] = view.model.loaded_rows()
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_again(row)
    assert len(sandbox.accepted_messages()) == 2
    assert panel.title.isVisible() and panel.title.text() == (
        "From the history: “Your technician is on the way” sent again to (919) 555-0123 (the message you are "
        "writing is left as it is)"
    )
    assert reasons == ["Sending the message from the history; the message you are writing waits."]
    assert composer.saved_draft() == before  # neither cleared nor its recipient taken out
    assert "an earlier problem of this draft" in composer._messages["text"].text()

    # The composer's own send replaces it, without the label; Ctrl+N leaves no result behind.
    composer.recipients.model().remove(0)
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()
    assert not panel.title.isVisible() and panel.title.text() == ""
    assert [e.recipients for e in panel.entries()] == [("+19195550177",)]
    window.session.new_message()
    assert not panel.isVisible() and panel.entries() == []
