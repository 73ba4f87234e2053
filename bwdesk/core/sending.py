"""Sending a validated draft: the history row is written before each POST and settled after it.

The one place where the send semantics (docs/design.md §6) meet the history; the CLI and the window send through it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.rows import HistoryRow, parse_time
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.store import HistoryReader, SendLog
from bwdesk.core.message import Draft, Mode, recipients_e164, segments_per_message, to_requests
from bwdesk.core.outcome import ApiError, SendResult, SendState

log = logging.getLogger(__name__)


class MessageSender(Protocol):
    """What sending needs from the Bandwidth client (the real one, or anything with the same contract)."""

    def send(self, payload: dict[str, Any]) -> SendResult: ...


@dataclass(frozen=True)
class PlannedPost:
    """One POST of a draft: its JSON body and what the history row needs to know about it."""

    payload: dict[str, Any]
    mode: Mode
    segments: int | None

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(self.payload["to"])


@dataclass(frozen=True)
class SentPost:
    """A POST that has been made (or attempted): its history row and its outcome.

    `history_problem` says why the outcome could not be saved in the history; the outcome itself (and the
    message id of an accepted send) is still here, so it is shown and never silently lost.
    """

    row_id: int
    post: PlannedPost
    result: SendResult
    history_problem: str | None = None


class NotRecorded(BwdeskError):
    """The history could not record the message before the POST, so it was not sent (a rule of docs/design.md §6)."""


# Waits between attempts to save an outcome when the history is busy or briefly failing (seconds).
SETTLE_RETRY_DELAYS = (0.2, 0.5, 1.0)


def plan(draft: Draft, application_id: str) -> list[PlannedPost]:
    """Turn a draft into its POSTs (raises `message.InvalidDraft` when the draft is not sendable)."""
    if draft.mode is Mode.GROUP and len(recipients_e164(draft)) < 2:
        # A "group" of one is an ordinary message to one person (SMS when it has no media), recorded so.
        draft = replace(draft, mode=Mode.SEPARATE)
    segments = segments_per_message(draft)
    return [PlannedPost(payload, draft.mode, segments) for payload in to_requests(draft, application_id)]


#: Told about each POST once its outcome is recorded (the do-not-text list listens: a send answer may say
#: the recipient is blocklisted). It runs on the sending thread; whatever it raises is logged, never the send's.
SettledListener = Callable[[SentPost], None]


def send_one(
    post: PlannedPost,
    client: MessageSender,
    history: SendLog,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_settled: SettledListener | None = None,
) -> SentPost:
    """Record, POST, settle, then tell `on_settled`. Safe to call from a worker thread (the store and the
    client are thread-safe).

    Raises NotRecorded (nothing sent) when the row cannot be written first.
    """
    payload = post.payload
    try:
        row_id = history.record_sending(
            sender=payload["from"],
            to=list(payload["to"]),
            mode=post.mode.value,
            text=payload.get("text", ""),
            media=list(payload.get("media", [])),
            tag=payload.get("tag", ""),
            segments=post.segments,
        )
    except Exception as exc:
        raise NotRecorded(
            f"Not sent: the history could not record the message first ({_reason(exc)})."
        ) from exc
    try:
        result = client.send(payload)
    except BaseException as exc:
        # The client reports every API and network outcome as a result; getting here is a bug (or an
        # interrupt) that may have happened after the request left. Record it as unknown, never as sent.
        result = SendResult(
            SendState.UNKNOWN,
            error=ApiError(description=f"bwdesk stopped while sending ({type(exc).__name__})"),
            detail="bwdesk stopped while sending; the message may or may not have been sent",
        )
        _settle(history, row_id, result, sleep)
        exc.add_note(f"bwdesk history row {row_id}")
        exc.history_row_id = row_id  # type: ignore[attr-defined]  # so the window can offer Check status
        raise
    problem = _settle(history, row_id, result, sleep)
    log.info("history row %d settled as %s (attempts=%d)", row_id, result.state, result.attempts)
    sent = SentPost(row_id, post, result, problem)
    if on_settled is not None:
        try:
            on_settled(sent)
        except Exception:  # the POST has happened: the caller gets its outcome whatever a listener does
            log.exception("a listener failed after history row %d was settled", row_id)
    return sent


def _settle(history: SendLog, row_id: int, result: SendResult, sleep: Callable[[float], None]) -> str | None:
    """Save the outcome, retrying a busy or failing history briefly; None when saved, else why not.

    The POST has happened: whatever the history does, the outcome is returned to the caller, and the
    message id of an accepted send goes to the log so it can be found again.
    """
    for delay in (*SETTLE_RETRY_DELAYS, None):
        try:
            history.settle(row_id, result)
            return None
        except Exception as exc:
            if delay is None:
                log.warning(
                    "history row %d could not be saved as %s (message id %s): %s",
                    row_id,
                    result.state,
                    result.message_id,
                    _reason(exc),
                )
                return (
                    f"the outcome could not be saved in the history ({_reason(exc)}); the message was "
                    f"{result.state.value}" + (f" with id {result.message_id}" if result.message_id else "")
                )
            sleep(delay)
    raise AssertionError("unreachable")


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, BwdeskError) else type(exc).__name__


def send_draft(
    draft: Draft,
    application_id: str,
    client: MessageSender,
    history: SendLog,
    on_sent: Callable[[SentPost], None] | None = None,
    on_settled: SettledListener | None = None,
) -> list[SentPost]:
    """Send every POST of `draft` one after the other (the CLI's path). Validation errors raise before any POST.

    Trouble with the account or the connection (refused credentials, no access, no connection) stops the
    batch: the rest would fail the same way, so they are not attempted (fewer results than POSTs planned).
    """
    posts = plan(draft, application_id)
    sent: list[SentPost] = []
    for post in posts:
        outcome = send_one(post, client, history, on_settled=on_settled)
        sent.append(outcome)
        if on_sent is not None:
            on_sent(outcome)
        trouble = outcome.result.trouble
        if trouble is not None and trouble.stops_batch:
            break
    return sent


# --- before sending: has this very message gone to these people recently? ---------------------------------

# An identical accepted message this recent is probably a double press or a restored draft.
RECENT_ACCEPTED = timedelta(minutes=10)
# A send whose outcome is unknown (or still open) this recent may have reached the customer.
RECENT_UNCERTAIN = timedelta(hours=48)


@dataclass(frozen=True)
class PossibleDuplicate:
    """An earlier send of the same text from the same number to a recipient of this one (in a team, by anyone:
    `row.agent` names who, `row.own` says whether it was this desk)."""

    recipient: str
    row: HistoryRow

    @property
    def uncertain(self) -> bool:
        """True when the earlier one may or may not have been sent (unknown, or never settled)."""
        return self.row.state in (SendState.UNKNOWN, SendState.SENDING)


class DuplicateCheck(list[PossibleDuplicate]):
    """What `find_possible_duplicates` found (a list of `PossibleDuplicate`), and whether the team was asked.

    `team_problem`: in a team, why the team database could not be asked in time, so that only this desk's own
    history was checked (None when it answered, and without a team); the question and the refusal say so.
    """

    team_problem: str | None = None

    @property
    def team_not_asked(self) -> str:
        """The sentence a question or a refusal adds when the team could not be asked ('' otherwise)."""
        if self.team_problem is None:
            return ""
        return "The team history could not be asked in time, so only this desk's messages were checked."


def sent_at(earlier: Sequence[PossibleDuplicate]) -> str:
    """When the earlier sends were made, as local HH:MM times, naming the agent of sends from other desks
    ("14:02, 14:05" from this desk; "14:02; 14:05 by Ben Ode" with another's) for a question or a refusal."""
    times: dict[str, set[str]] = {}
    for duplicate in earlier:
        who = "" if duplicate.row.own or not duplicate.row.agent else f" by {duplicate.row.agent}"
        times.setdefault(who, set()).add(duplicate.row.created_local()[-5:])
    groups = sorted((sorted(when), who) for who, when in times.items())
    return "; ".join(", ".join(when) + who for when, who in groups)


class TeamDuplicateSource(Protocol):
    """A store that can ask the whole team (the team store): every row to these numbers since then, or
    `BwdeskError` when the team cannot answer in time."""

    def recent_sends_to(self, numbers: Sequence[str], since: datetime) -> dict[str, list[HistoryRow]]: ...


def find_possible_duplicates(
    history: HistoryReader, posts: Sequence[PlannedPost], now: datetime | None = None
) -> DuplicateCheck:
    """Earlier sends of the same message to the same people that make a new one a likely duplicate.

    Only the newest earlier send of that message to each recipient counts: unknown or still open (it may
    have gone out), or sent in the last few minutes (a double press, a restored draft), or found at
    Bandwidth by a status check in the last two days (its answer had been lost, so the agent may not know
    it went out). In a team the team database is asked, with a short timeout; if it cannot answer, this
    desk's own history is checked and the result says so (`team_problem`). Runs a few indexed queries: call
    it off the GUI thread.
    """
    now = now or datetime.now(UTC)
    since = now - RECENT_UNCERTAIN
    found = DuplicateCheck()
    team_rows: dict[str, list[HistoryRow]] | None = None
    ask_team = getattr(history, "recent_sends_to", None)
    if ask_team is not None:
        numbers = [n for post in posts for n in post.recipients]
        try:
            team_rows = ask_team(numbers, since)
        except BwdeskError as exc:
            found.team_problem = str(exc)
            log.info("duplicate guard: the team could not be asked (%s); checking this desk only", exc)
    for post in posts:
        payload = post.payload
        for recipient in post.recipients:
            if team_rows is not None:
                rows = team_rows.get(recipient, [])
            else:
                rows = history.search(HistoryQuery(number=recipient, since=since, this_desk=True), limit=200)
            newest = next((row for row in rows if _same_message(row, payload)), None)  # newest first
            if newest is None:
                continue
            recent = parse_time(newest.created) >= now - RECENT_ACCEPTED
            found_by_lookup = newest.state is SendState.ACCEPTED and newest.http_status is None
            if newest.state in (SendState.UNKNOWN, SendState.SENDING) or (
                newest.state is SendState.ACCEPTED and (recent or found_by_lookup)
            ):
                found.append(PossibleDuplicate(recipient, newest))
    return found


def _same_message(row: HistoryRow, payload: dict[str, Any]) -> bool:
    return (
        row.sender == payload["from"]
        and row.text == payload.get("text", "")
        and list(row.media) == list(payload.get("media", []))
    )
