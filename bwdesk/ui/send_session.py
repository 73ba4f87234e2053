"""The window's send flow, from Send to the next message: validate, plan, look for duplicates, ask, POST one
at a time, show each outcome, follow up unknown ones, clear the draft and schedule a status refresh."""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from bwdesk.core.account import Account
from bwdesk.core.credentials import AuthKind
from bwdesk.core.drafts import SavedDraft
from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.history.store import HistoryStore
from bwdesk.core.message import Draft, InvalidDraft, Mode
from bwdesk.core.outcome import ApiError, SendResult, SendState, Trouble
from bwdesk.core.phone import display_number
from bwdesk.core.send_size import CONFIRM_SEGMENTS_ABOVE
from bwdesk.core.sending import (
    DuplicateCheck,
    MessageSender,
    NotRecorded,
    PlannedPost,
    SentPost,
    find_possible_duplicates,
    plan,
    send_one,
)
from bwdesk.core.status_words import answer_in_words, describe_trouble
from bwdesk.ui.composer import ComposerWidget
from bwdesk.ui.draft_keeper import DraftKeeper
from bwdesk.ui.feedback import Ask, Duration, Feedback, error_message
from bwdesk.ui.results import ResultEntry, summarise
from bwdesk.ui.send_questions import (
    Question,
    caution_questions,
    draft_of,
    duplicate_question,
    one_question,
    opening,
    send_again_question,
    who_is,
)
from bwdesk.ui.services import Services
from bwdesk.ui.tasks import BackgroundTasks, after_paint

if TYPE_CHECKING:
    from bwdesk.core.directory.optout import OptOut, OptOutRecorder
    from bwdesk.core.directory.store import OptOutList

log = logging.getLogger(__name__)

#: After a send, delivery statuses are looked up on their own this many seconds later (paced by the refresher).
AUTO_REFRESH_AFTER_S = (5, 30, 120)
FOUND_NOTE = "Bandwidth has this message: it was sent. Do not send it again."
#: The composer's send bar while a message from the history (or an earlier result) is sent, not its own.
ELSEWHERE_NOTE = "Sending the message from the history; the message you are writing waits."
WAITING_NOTE = "Opening the account; the message is sent as soon as it is open."


@dataclass(frozen=True)
class _Listed:
    """The send-time check found recipients on the do-not-text list: nothing is sent."""

    entries: list[OptOut]


@dataclass(frozen=True)
class _ListUnreadable:
    """The do-not-text list could not be read: nothing is sent either (docs/design.md §17.2)."""

    reason: str


def _refusal(entries: list[OptOut]) -> str:
    """Why a send to listed numbers was refused, in the marks' words (`ui/directory`, loaded after the first paint)."""
    from bwdesk.ui.directory.marks import refusal

    return refusal(entries)


def _listed_among_posts(
    directory: OptOutList, posts: Sequence[PlannedPost]
) -> _Listed | _ListUnreadable | None:
    """On a worker: the do-not-text list's rule for a resend or a send again (None: none of them is listed)."""
    from bwdesk.core.directory.optout import listed_among

    try:
        entries = listed_among(directory, [n for post in posts for n in post.recipients])
    except Exception as exc:  # whatever it is, the list was not read: nothing may be sent
        return _ListUnreadable(error_message(exc))
    return _Listed(entries) if entries else None


def _before_sending(
    directory: OptOutList, history: HistoryStore, posts: Sequence[PlannedPost]
) -> _Listed | _ListUnreadable | DuplicateCheck:
    """On a worker, before anything leaves: the do-not-text list (core's one rule; the list may have changed
    since the chips were marked), then earlier copies of the message."""
    listed = _listed_among_posts(directory, posts)
    return listed if listed is not None else find_possible_duplicates(history, posts)


class Phase(Enum):
    IDLE = "idle"
    WAITING = "waiting"  # Send pressed while the account and history still open: it goes once they are
    CHECKING = "checking"  # the history is searched for an earlier copy, or the agent asked: nothing sent yet
    SENDING = "sending"  # the POSTs go out, one at a time


@dataclass
class _Batch:
    """The POSTs of one Send (or one resend), planned and frozen before the first goes out."""

    posts: list[PlannedPost]
    client: MessageSender
    history: HistoryStore
    recorder: OptOutRecorder | None  # told each POST's outcome: a 4482 answer puts the number on the list
    from_composer: bool  # the composer's message: its recipients leave the draft as they are accepted
    done: list[SentPost] = field(default_factory=list)
    cautions: list[Question] = field(default_factory=list)  # many, costly, group: asked with the rest
    title: str = ""  # where the message comes from, when not the composer ("From the history: …")
    composer_text: str | None = None  # the composer's text as typed (a template's before filling)
    resends_row: int | None = (
        None  # a result's "Send again…": that row is no longer the one that may not have gone
    )


class SendSession(QObject):
    """Owns sending from the window; the window only connects its signals to widgets.

    Signals: `result_added(ResultEntry)`, `result_updated(ResultEntry, str note)`, `results_cleared()`,
    `results_titled(str)` (where the results below come from, when not from the composer: the history),
    `results_expected(int)` (how many results this send will show: room is made for them before they come),
    `status_changed(str)` (the line above the results), `finished(list[SentPost])`, `busy_changed(bool)`,
    `history_changed()` (rows were written), `refresh_due()` (the statuses are worth looking up now),
    `opted_out_refused(list[OptOut])` (Send found recipients on the do-not-text list: nothing was sent) and
    `answers_recorded()` (a POST's outcome was given to the do-not-text list's recorder).
    """

    result_added = Signal(object)
    result_updated = Signal(object, str)
    results_cleared = Signal()
    results_expected = Signal(int)
    results_titled = Signal(str)
    status_changed = Signal(str)
    finished = Signal(list)
    busy_changed = Signal(bool)
    history_changed = Signal()
    refresh_due = Signal()
    opted_out_refused = Signal(list)
    answers_recorded = Signal()

    def __init__(
        self,
        composer: ComposerWidget,
        tasks: BackgroundTasks,
        drafts: DraftKeeper,
        feedback: Feedback,
        confirm: Ask,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._composer = composer
        self._tasks = tasks
        self._drafts = drafts
        self._feedback = feedback
        self._confirm = confirm
        self.auto_refresh_after: tuple[float, ...] = AUTO_REFRESH_AFTER_S
        self._phase = Phase.IDLE
        self._batch: _Batch | None = None
        self._services: Services | None = None  # None while they are (re)opened
        # Every POST's outcome shown in this window, by history row id; and those not known to have gone out.
        self._outcomes: dict[int, SentPost] = {}
        self._unsettled: set[int] = set()
        # Rows of the composer's own sends (the others leave it alone), with the composer's text they came from
        # (a template's, before its variables were filled for each recipient).
        self._composer_rows: dict[int, str] = {}
        self._placeholder_ids = itertools.count(-1, -1)  # for outcomes that have no history row
        self._refresh_at: list[float] = []  # monotonic times the statuses are to be looked up
        self._finish_timer = QTimer(self)
        self._finish_timer.setSingleShot(True)
        self._finish_timer.setInterval(0)
        self._finish_timer.timeout.connect(self._finish)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._refresh_timer_fired)

    # -- state ------------------------------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    def is_busy(self) -> bool:
        """True from pressing Send until every POST has settled (the duplicate check and question included)."""
        return self._phase is not Phase.IDLE

    def uses_services(self) -> bool:
        """True while a send uses the client and the history; a Send waiting for them to open uses neither."""
        return self._phase not in (Phase.IDLE, Phase.WAITING)

    def unsettled_rows(self) -> frozenset[int]:
        """History rows of this window's sends that may not have gone out (unknown or not sent)."""
        return frozenset(self._unsettled)

    def use_services(self, services: Services | None) -> None:
        """What to send with; None while they are being (re)opened. A Send pressed meanwhile goes now."""
        self._services = services
        if services is not None:
            self._composer.set_completion_numbers(services.past_recipients)
            if self._phase is Phase.WAITING:
                QTimer.singleShot(
                    0, self, self._send_when_ready
                )  # once the window has taken the services too

    @Slot()
    def _send_when_ready(self) -> None:
        if self._phase is Phase.WAITING and self._services is not None:
            self._become_idle()
            self.send_draft()

    def shut_down(self) -> None:
        """The window is closing (after every send settled): no status refresh is due any more."""
        self._refresh_timer.stop()
        self._refresh_at.clear()
        self._services = None

    # -- Send: Ctrl+Return → send_draft → _checked → _send_next → sending.send_one ---------------

    @Slot()
    def send_draft(self) -> None:
        """Send the composer's message: judge and plan it here, then look for an earlier copy on a worker."""
        if self.is_busy():
            return
        if not self._composer.prepare_to_send():
            notice = self._composer.reason()
            self._feedback.notify(notice, Duration.MOMENT, withdrawn_by=self._composer.draft_changed)
            return
        if self._services is None:  # still opening (start-up, new settings): the draft waits, frozen
            self._set_phase(Phase.WAITING)
            return
        services = self._sending_services()
        if services is None:
            return
        account, client, history = services
        directory = self._directory()
        if directory is None:
            return
        drafts = self._composer.drafts_to_send()  # a template's variables filled, per recipient when separate
        try:
            posts = [post for draft in drafts for post in plan(draft, account.application_id)]
        except (InvalidDraft, BwdeskError) as exc:
            self._feedback.error("Cannot send", str(exc))
            return
        self._batch = _Batch(
            posts,
            client,
            history,
            self._recorder(),
            from_composer=True,
            cautions=self._cautions(drafts),
            composer_text=self._composer.draft().text,
        )
        self._set_phase(Phase.CHECKING)
        self._tasks.run(
            functools.partial(_before_sending, directory, history, posts),
            self._checked,
            self._duplicate_check_failed,
            description="check the do-not-text list and look for duplicates",
        )

    def _checked(self, found: _Listed | _ListUnreadable | DuplicateCheck) -> None:
        """A listed recipient refuses the send; else earlier copies found, or a send that is many, costly or a
        group: the agent decides, in one question. Then the POSTs start (the draft stayed frozen meanwhile)."""
        if isinstance(found, _Listed):
            self._become_idle()
            self.opted_out_refused.emit(found.entries)
            self._feedback.notify(f"Nothing was sent. {_refusal(found.entries)}", Duration.MOMENT)
            return
        if isinstance(found, _ListUnreadable):
            self._become_idle()
            self._feedback.error(
                "Cannot send",
                f"The do-not-text list cannot be read, so nothing was sent ({found.reason}). Your message is kept.",
            )
            return
        batch = self._batch
        assert batch is not None
        duplicates = [duplicate_question([d.recipient for d in found], found)] if found else []
        if not found and (not_asked := found.team_not_asked):
            # Nothing here, and the team could not say: no question (one before every send while the team is
            # away would teach agents to click through it), but the agent knows what was checked.
            self._feedback.notify(not_asked)
        if self._agreed([*duplicates, *batch.cautions]):
            self._begin(batch)
            self._send_next()

    def _duplicate_check_failed(self, exc: BaseException) -> None:
        batch = self._batch
        assert batch is not None
        unchecked = Question(
            "Send without checking for duplicates?",
            f"bwdesk could not check the history for an earlier copy of this message: {error_message(exc)}",
            "Send anyway",
        )
        if self._agreed([unchecked, *batch.cautions]):
            self._begin(batch)
            self._send_next()

    def _agreed(self, questions: Sequence[Question]) -> bool:
        """Ask the questions (if any) once; a No ends the send here, nothing sent, the draft unfrozen."""
        if questions:
            with self._asking():
                go = self._ask(questions)
            if not go:
                self._become_idle()
                return False
        return True

    def _send_next(self) -> None:
        """The next POST of the batch, on a worker: `send_one` writes its history row first, settles it after."""
        batch = self._batch
        assert batch is not None
        post = batch.posts[len(batch.done)]
        on_settled = batch.recorder.after_send if batch.recorder is not None else None
        self._tasks.run(
            functools.partial(send_one, post, batch.client, batch.history, on_settled=on_settled),
            self._post_sent,
            self._post_crashed,
            description="send a message",
        )

    def _post_sent(self, sent: SentPost) -> None:
        batch = self._batch
        assert batch is not None
        batch.done.append(sent)
        self._record(sent)
        if batch.recorder is not None:
            self.answers_recorded.emit()
        trouble = sent.result.trouble
        if len(batch.done) < len(batch.posts) and not (trouble and trouble.stops_batch):
            self._send_next()
        else:
            # All sent, or the rest would fail the same way (refused credentials, no network). This result is
            # laid out and painted (and input handled) before the composer is unfrozen: two short stretches of
            # GUI-thread work instead of one long one (docs/design.md §3.5).
            after_paint(self._finish_timer)

    def _post_crashed(self, exc: BaseException) -> None:
        """The batch stops; the POSTs left are not sent (their recipients stay in the composer).

        NotRecorded: the history could not write the row first, so nothing was sent. Anything else is a bug
        after the row was written: `send_one` recorded it as unknown before re-raising.
        """
        batch = self._batch
        assert batch is not None
        if isinstance(exc, NotRecorded):
            log.warning("not sent: %s", exc)
            result = SendResult(
                SendState.FAILED,
                error=ApiError(description=str(exc)),
                attempts=0,
                detail=str(exc),
                cause=Trouble.LOCAL,
            )
        else:
            log.error("sending failed unexpectedly: %s", type(exc).__name__, exc_info=(type(exc), exc, None))
            result = SendResult(
                SendState.UNKNOWN,
                error=ApiError(
                    description=f"bwdesk hit an internal error while sending ({type(exc).__name__})"
                ),
                detail="bwdesk hit an internal error while sending; the message may or may not have been sent",
            )
        row_id = getattr(exc, "history_row_id", None)  # a real row (recorded unknown) when there is one
        post = batch.posts[len(batch.done)]
        crashed = SentPost(row_id if isinstance(row_id, int) else next(self._placeholder_ids), post, result)
        batch.done.append(crashed)
        self._record(crashed)
        self._finish()

    def _record(self, sent: SentPost) -> None:
        """One POST's outcome: shown, remembered for the follow-up, and out of the draft once accepted."""
        self._outcomes[sent.row_id] = sent
        if self._batch is not None and self._batch.from_composer:
            composer_text = self._batch.composer_text
            if composer_text is None:
                composer_text = str(sent.post.payload.get("text", ""))
            self._composer_rows[sent.row_id] = composer_text
        if sent.result.state in (SendState.UNKNOWN, SendState.FAILED):
            self._unsettled.add(sent.row_id)
        self.result_added.emit(ResultEntry(sent.row_id, sent.post.recipients, sent.result))
        if sent.result.state is SendState.ACCEPTED:
            self._went_out(sent)
            self._feedback.clear_trouble()  # whatever kept messages from going out is over
        if sent.history_problem:
            self._feedback.warn(f"Warning: {sent.history_problem}")
        self.history_changed.emit()

    def _finish(self) -> None:
        """The batch is over (all sent, or stopped): tidy the draft, then schedule a look at the statuses."""
        batch = self._batch
        assert batch is not None
        sent = batch.done
        went_to = list(
            dict.fromkeys(n for s in sent if s.result.state is SendState.ACCEPTED for n in s.post.recipients)
        )
        accepted = set(went_to)
        for row_id in list(self._unsettled):
            # A later accepted send to the same recipients supersedes an earlier unknown one.
            if set(self._outcomes[row_id].post.recipients) <= accepted:
                self._unsettled.discard(row_id)
        not_attempted = len(batch.posts) - len(sent)
        if not_attempted:
            self.results_expected.emit(len(sent))  # no room kept for what was not sent
        all_accepted = (
            bool(sent) and not not_attempted and all(s.result.state is SendState.ACCEPTED for s in sent)
        )
        cleared = all_accepted and batch.from_composer and not self._composer.has_recipients_left()
        if cleared:
            # Cleared while still frozen, then unfrozen: the empty draft is judged and laid out once, instead
            # of the emptied To being marked and laid out just before it is cleared (docs/design.md §3.5).
            self._composer.clear_message()
            self._drafts.discard()
        self._composer.set_sending(False)
        if cleared:
            self._composer.focus_recipients()
        elif batch.from_composer:
            self._show_what_is_left(sent, not_attempted)
        self._tell_account_trouble([s.result for s in sent], not_attempted, batch.from_composer)
        self._composer.offer_first(went_to)  # to type them again is the likeliest next message
        if accepted or any(s.result.state is SendState.UNKNOWN for s in sent):
            self._schedule_status_refresh()  # statuses move on within seconds; a lost answer may turn up
        self.finished.emit(list(sent))
        self._become_idle()

    def _show_what_is_left(self, sent: Sequence[SentPost], not_attempted: int) -> None:
        """Not everything went out. Only what Bandwidth found wrong with the message is marked on its fields;
        trouble with the account or the connection is said as such, with the setting to check; the results
        say what is left. The draft is kept either way."""
        results = [s.result for s in sent]
        about_message = [r.error for r in results if r.trouble is Trouble.MESSAGE and r.error is not None]
        if about_message:
            self._composer.show_api_errors(
                about_message[0].field_errors, fallback=about_message[0].description
            )
        if not_attempted > 0:
            last = results[-1].trouble if results else None
            why = f"({describe_trouble(last)})" if last is not None else "after an error"
            # Said of that send, so it stays true whatever the agent does with To next.
            self.status_changed.emit(
                f"{summarise([ResultEntry(s.row_id, s.post.recipients, s.result) for s in sent])} · "
                f"sending stopped {why}: {_count(not_attempted, 'message')} not sent; their recipients "
                "were left in To"
            )
        self._drafts.save_now()

    def _tell_account_trouble(
        self, results: Sequence[SendResult], not_attempted: int, from_composer: bool
    ) -> None:
        """Trouble with the account or the connection is said as such, with the setting to check — whichever
        message met it (the composer's or one sent again from the history)."""
        account = next(
            (r for r in results if r.trouble and r.trouble.stops_batch and r.trouble is not Trouble.LOCAL),
            None,
        )
        if account is None or account.trouble is None:
            return
        left = len([r for r in results if r.state is not SendState.ACCEPTED]) + not_attempted
        kept = "; your message is kept." if from_composer else "."
        self._feedback.trouble(
            account.trouble,
            answer_in_words(account),
            outcome=f"{_count(left, 'message')} not sent{kept}",
            auth_kind=self._auth_kind(),
            secret_from=self._services.account.credentials_from
            if self._services is not None and self._services.account is not None
            else "",
        )

    # -- follow-up: resend, send again, what Bandwidth told later ---------------------------------------------

    @Slot(int)
    def resend_result(self, row_id: int) -> None:
        """A result's "Send again…": asks first, naming the risk of a duplicate (or that it never went out)."""
        sent = self._outcomes.get(row_id)
        if sent is None or self.is_busy() or self._sending_services() is None:
            return
        if sent.result.state is SendState.FAILED:
            question = Question(
                "Send it now?", "This message was not sent (it never reached Bandwidth).", "Send it"
            )
        else:
            question = duplicate_question(sent.post.recipients)
        text = self._composer_rows.get(row_id, str(sent.post.payload.get("text", "")))
        from_composer = self._composer.holds_text(text)
        title = "" if from_composer else f"Sent again: the earlier message to {who_is(sent.post.recipients)}"
        self._send_planned(
            [sent.post],
            from_composer=from_composer,
            title=title,
            composer_text=text,
            questions=[question, *self._cautions(draft_of(sent.post))],
            resends_row=row_id,
        )

    @Slot(object)
    def send_again(self, row: HistoryRow) -> None:
        """The history's "Send again…": a recorded message, planned afresh, after a question naming the risk."""
        if self.is_busy():
            return
        services = self._sending_services()
        if services is None:
            return
        account = services[0]
        draft = Draft(
            sender=row.sender,
            recipients=row.to,
            text=row.text,
            media=row.media,
            tag=row.tag,
            mode=Mode(row.mode),
            region=account.region,
        )
        try:
            posts = plan(draft, account.application_id)
        except (InvalidDraft, BwdeskError) as exc:
            self._feedback.error("Cannot send again", str(exc))
            return
        who = ", ".join(display_number(n) for n in row.to)
        what = f"“{opening(row.text)}”" if row.text.strip() else f"{len(row.media)} media"
        title = f"From the history: {what} sent again to {who} (the message you are writing is left as it is)"
        questions = [send_again_question(row), *self._cautions(draft)]
        self._send_planned(posts, from_composer=False, title=title, questions=questions)

    @Slot(list, str)
    def rows_learned(self, rows: list[HistoryRow], note: str) -> None:
        """Bandwidth told the state of history rows (Check status, a refresh): this window's results follow —
        an unknown send found there turns accepted, and an accepted one shows whether it was delivered.
        `note` is a check's answer, about the row it checked."""
        for row in rows:
            sent = self._outcomes.get(row.id)
            if sent is None:
                continue
            result, row_note = sent.result, ""
            if row.id in self._unsettled:
                row_note = note  # what Check status found (or did not) for this very row
                if row.state is SendState.ACCEPTED:
                    self._unsettled.discard(row.id)
                    result = SendResult(SendState.ACCEPTED, message_id=row.message_id, segments=row.segments)
                    self._outcomes[row.id] = replace(sent, result=result)
                    self._went_out(sent)
                    row_note = note or FOUND_NOTE
            if row_note or (result.state is SendState.ACCEPTED and row.delivery_status):
                entry = ResultEntry(row.id, sent.post.recipients, result, row.delivery_status, row.error_code)
                self.result_updated.emit(entry, row_note)

    # -- the composer's message -------------------------------------------------------------------------------

    @Slot()
    def new_message(self) -> None:
        """Ctrl+N: an empty composer (after asking, when something would be lost)."""
        if self.is_busy():
            return
        if self._composer.holds_work() and not self._confirm(
            "Discard this message?", "The message you are writing will be discarded.", "Discard it"
        ):
            return
        self._composer.clear_message()
        self.results_cleared.emit()
        self._drafts.discard()
        self._composer.focus_recipients()

    @Slot(object)
    def use_as_draft(self, row: HistoryRow) -> None:
        """A history row becomes the message being written (after asking, when it would replace one)."""
        if self.is_busy():
            return
        if self._composer.holds_work() and not self._confirm(
            "Replace your message?",
            "The message you are writing will be replaced by the one from the history.",
            "Replace it",
        ):
            return
        self._composer.clear_message()
        saved = SavedDraft(
            sender=row.sender, recipients=row.to, text=row.text, media=row.media, tag=row.tag, mode=row.mode
        )
        self._composer.restore(saved)
        self.results_cleared.emit()
        self._composer.focus_text()

    # -- helpers ------------------------------------------------------------------------------------------------

    def _sending_services(self) -> tuple[Account, MessageSender, HistoryStore] | None:
        """The account, client and history to send with; None after telling the agent what is missing."""
        services = self._services
        if services is None:
            self._feedback.notify("Still opening the account; try again in a moment.", Duration.MOMENT)
            return None
        account, client, history = services.account, services.client, services.history
        if account is None or client is None:
            self._feedback.trouble(
                Trouble.SETUP,
                services.account_problem or "the account is not set up",
                outcome="Nothing was sent; your message is kept.",
                setting=services.account_setting,
            )
            return None
        if history is None:
            self._feedback.error(
                "Cannot send", services.history_problem or "The history could not be opened."
            )
            return None
        return account, client, history

    def _directory(self) -> OptOutList | None:
        """The do-not-text list to check before sending; None after saying why nothing can be sent."""
        services = self._services
        if services is not None and services.directory is not None:
            return services.directory
        why = services.directory_problem if services is not None else ""
        self._feedback.error(
            "Cannot send",
            f"The do-not-text list cannot be read, so nothing was sent ({why or 'it is not open'}). "
            "Your message is kept.",
        )
        return None

    def _recorder(self) -> OptOutRecorder | None:
        return self._services.recorder if self._services is not None else None

    def _auth_kind(self) -> AuthKind | None:
        account = self._services.account if self._services is not None else None
        return account.credentials.kind if account is not None else None

    def _cautions(self, draft: Draft | Sequence[Draft]) -> list[Question]:
        """Many separate messages, more segments than the limit, or a group MMS: core's rule, asked here."""
        limit = self._services.segment_limit if self._services is not None else CONFIRM_SEGMENTS_ABOVE
        return caution_questions(draft, limit)

    def _ask(self, questions: Sequence[Question]) -> bool:
        """Ask once, naming every reason; True to go ahead (Cancel is the default)."""
        if not questions:
            return True
        question = one_question(questions)
        return self._confirm(question.title, question.text, question.accept)

    @contextmanager
    def _asking(self) -> Iterator[None]:
        """A question about this send is open: the draft stays frozen, but nothing claims to be sending."""
        self._composer.set_confirming(True)
        try:
            yield
        finally:
            self._composer.set_confirming(False)

    def _send_planned(
        self,
        posts: list[PlannedPost],
        *,
        from_composer: bool,
        title: str = "",
        composer_text: str | None = None,
        questions: Sequence[Question] = (),
        resends_row: int | None = None,
    ) -> None:
        """A resend or a send again, planned already: the do-not-text list first (a listed number is refused
        before anything is asked), then the questions, then the POSTs."""
        services = self._sending_services()
        if services is None:
            return
        _account, client, history = services
        directory = self._directory()
        if directory is None:
            return
        self._batch = _Batch(
            posts,
            client,
            history,
            self._recorder(),
            from_composer=from_composer,
            title=title,
            composer_text=composer_text,
            cautions=list(questions),
            resends_row=resends_row,
        )
        self._set_phase(Phase.CHECKING)
        self._tasks.run(
            functools.partial(_listed_among_posts, directory, posts),
            self._checked_again,
            self._duplicate_check_failed_again,
            description="check the do-not-text list",
        )

    def _checked_again(self, found: _Listed | _ListUnreadable | None) -> None:
        """A resend or a send again meets the same rule as Send: nothing to a listed number."""
        batch = self._batch
        assert batch is not None
        if found is None:
            if self._agreed(batch.cautions):
                if batch.resends_row is not None:
                    self._unsettled.discard(batch.resends_row)
                self._begin(batch)
                self._send_next()
            return
        self._become_idle()
        if isinstance(found, _Listed):
            self.opted_out_refused.emit(found.entries)
            self._feedback.error("Cannot send", f"Nothing was sent. {_refusal(found.entries)}")
        else:
            self._feedback.error(
                "Cannot send", f"The do-not-text list cannot be read, so nothing was sent ({found.reason})."
            )

    def _duplicate_check_failed_again(self, exc: BaseException) -> None:
        self._become_idle()
        self._feedback.error("Cannot send", f"Nothing was sent: {error_message(exc)}")

    def _begin(self, batch: _Batch) -> None:
        """The POSTs are about to go out: the results make room for them (saying where they come from, when
        not from the composer) and the draft stays frozen. A message from elsewhere leaves the composer's
        own marks alone: they are about the message being written."""
        self._batch = batch
        self._set_phase(Phase.SENDING)
        self.results_cleared.emit()
        if batch.title:
            self.results_titled.emit(batch.title)
        if batch.from_composer:
            self._composer.clear_api_errors()
        count = len(batch.posts)
        self.status_changed.emit(f"Sending {count} message{'s' if count != 1 else ''}…")
        self.results_expected.emit(count)

    def _went_out(self, sent: SentPost) -> None:
        """A message of the composer's went out (its 202 now, or a later check found it): if the composer still
        holds it, its recipients leave it at once and the draft is saved, so a crash cannot bring them back for
        a second send. A message sent from the history never touches the composer."""
        post = sent.post
        composer_text = self._composer_rows.get(sent.row_id)
        if composer_text is not None and self._composer.holds_text(composer_text):
            self._composer.drop_recipients(post.recipients)
            self._drafts.save_now()

    def _set_phase(self, phase: Phase) -> None:
        was_busy = self.is_busy()
        self._phase = phase
        if phase is not Phase.IDLE:
            batch = self._batch
            elsewhere = batch is not None and not batch.from_composer
            note = WAITING_NOTE if phase is Phase.WAITING else ELSEWHERE_NOTE if elsewhere else ""
            self._composer.set_sending(True, note)
        if self.is_busy() != was_busy:
            self.busy_changed.emit(self.is_busy())

    def _become_idle(self) -> None:
        """Every way out of sending ends here: the composer is unlocked and whoever waited is told."""
        self._batch = None
        self._composer.set_sending(False)
        self._set_phase(Phase.IDLE)

    def _schedule_status_refresh(self) -> None:
        now = time.monotonic()
        self._refresh_at = sorted([*self._refresh_at, *(now + s for s in self.auto_refresh_after)])
        self._arm_refresh_timer()

    def _arm_refresh_timer(self) -> None:
        if self._refresh_at:
            wait = max(0.0, self._refresh_at[0] - time.monotonic())
            self._refresh_timer.start(int(wait * 1000))

    @Slot()
    def _refresh_timer_fired(self) -> None:
        now = time.monotonic()
        self._refresh_at = [t for t in self._refresh_at if t > now]
        if not self.is_busy() and self._services is not None:
            self.refresh_due.emit()
        self._arm_refresh_timer()


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''} {'were' if n != 1 else 'was'}"
