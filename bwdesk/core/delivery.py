"""Delivery status from the API, and "did my unknown send go out?" — shared by the window and the CLI.

Status comes from polling the list API, paced well below its per-IP limit; a 429's Retry-After stops every refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bwdesk.core.errors import (
    ApiRequestError,
    BwdeskError,
    Forbidden,
    NetworkError,
    RateLimited,
    Unauthorized,
    format_wait,
    trouble_of,
)
from bwdesk.core.history.rows import HistoryRow, parse_time
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.store import DeliveryLog
from bwdesk.core.outcome import SendState, Trouble
from bwdesk.core.phone import display_number
from bwdesk.core.status_words import describe_error_code, is_undelivered

if TYPE_CHECKING:
    from bwdesk.core.bandwidth import MessageStatus

log = logging.getLogger(__name__)

# Requests per second this process allows itself on the list API (the API's limit is ~11.7/s per IP).
LIST_REQUESTS_PER_SECOND = 4.0
# When an unknown send is looked up, Bandwidth's receive time may differ from our clock by this much.
UNKNOWN_WINDOW_BEFORE = timedelta(minutes=2)
UNKNOWN_WINDOW_AFTER = timedelta(minutes=15)
# A refresh also looks for sends of unknown outcome this recent (Bandwidth lists 14 days at most).
UNKNOWN_LOOKBACK = timedelta(days=2)


#: Told about each delivery status a refresh or "Check status" recorded on a row (the do-not-text list listens:
#: 4775 and 4482 put the number on it). Whatever it raises is logged, never the refresh's.
StatusListener = Callable[[HistoryRow, "MessageStatus"], None]


class StatusLookup(Protocol):
    def message_status(self, message_id: str) -> MessageStatus | None: ...

    def find_messages(
        self, source: str, destination: str, since: datetime, until: datetime | None = None
    ) -> list[MessageStatus]: ...


@dataclass(frozen=True)
class Undelivered:
    """A message a refresh found FAILED or UNDELIVERED just now: accepted, but it did not reach the phone."""

    row_id: int
    recipients: tuple[str, ...]
    status: str
    error_code: int | None

    def describe(self) -> str:
        """ "(919) 555-0198 — 4775: the recipient has opted out (replied STOP)"."""
        who = ", ".join(display_number(n) for n in self.recipients)
        why = describe_error_code(self.error_code) if self.error_code else self.status.lower()
        return f"{who} — {why}"


@dataclass
class RefreshReport:
    """What one refresh did, with a one-line summary for a status bar or standard error."""

    checked: int = 0
    changed: int = 0
    not_listed: int = 0
    wait: float | None = None  # seconds the API asked us to wait (429), when the refresh stopped early
    problem: str | None = None  # why the refresh stopped early (credentials, network, ...)
    refused: bool = False  # the problem was the credentials (not the network)
    trouble: Trouble | None = None  # what stopped it, when that was the account or the connection
    trouble_detail: str = ""  # ...and the API's (or the network's) own words for it
    undelivered: list[Undelivered] = field(default_factory=list)  # found FAILED or UNDELIVERED just now
    updated_rows: list[int] = field(default_factory=list)
    unknown_checked: int = 0  # sends of unknown outcome looked for at Bandwidth
    unknown_found: int = 0  # ...and found there: they were sent after all
    unknown_ambiguous: int = 0  # ...and not told apart from other messages to the same people
    failed: int = 0  # rows whose lookup Bandwidth answered with an error (the others went on)
    failure: str | None = None  # the last such error, in words
    other_desks: int = 0  # rows asked about that another desk sent: left to that desk

    @property
    def complete(self) -> bool:
        return self.problem is None and self.wait is None and self.failed == 0

    def summary(self) -> str:
        others = ""
        if self.other_desks:
            others = (
                f" {self.other_desks} sent from other desks {'were' if self.other_desks != 1 else 'was'} left "
                "to those desks, which look up their own messages."
            )
        if self.checked == 0 and self.unknown_checked == 0 and self.complete:
            if self.other_desks:
                return others.strip()
            return "No recent messages need a status update."
        parts = []
        if self.checked or not self.unknown_checked:
            parts.append(f"Checked {self.checked} message{'s' if self.checked != 1 else ''}")
            parts.append(f"{self.changed} changed" if self.changed else "no change")
        if self.not_listed:
            parts.append(f"{self.not_listed} not listed by Bandwidth yet")
        if self.unknown_checked:
            missing = self.unknown_checked - self.unknown_found - self.unknown_ambiguous
            unknown = (
                f"Looked for {self.unknown_checked} of unknown outcome: {self.unknown_found} found (sent)"
            )
            if self.unknown_ambiguous:
                unknown += (
                    f", {self.unknown_ambiguous} not told apart from other messages (check the conversation)"
                )
            parts.append(unknown + f", {missing} not found (probably not sent)")
        if self.failed:
            parts.append(f"{self.failed} could not be looked up ({self.failure}); their status is unchanged")
        text = ", ".join(parts[:1] + [p[:1].lower() + p[1:] for p in parts[1:]]) + "."
        if self.undelivered:
            text += " Not delivered: " + "; ".join(u.describe() for u in self.undelivered) + "."
        if self.wait is not None:
            later = f"in {format_wait(self.wait)}" if self.wait >= 1 else "in a moment"
            text += f" Bandwidth asked to slow down: try again {later}."
        if self.problem:
            text += f" Stopped: {self.problem}"
        return text + others


def _lookup_failure(exc: ApiRequestError) -> str:
    """One lookup's error as a short clause: Bandwidth's own description, else the HTTP status."""
    description = exc.error.description.strip().rstrip(".")
    status = f"HTTP {exc.http_status}" if exc.http_status else "no usable answer"
    if description and len(description) <= 120:
        return description if description.startswith(status) else f"{status}: {description}"
    return f"Bandwidth answered {status}"


@dataclass(frozen=True)
class UnknownCheck:
    """The result of looking for an unknown send at Bandwidth."""

    found: MessageStatus | None
    candidates: int  # how many matching messages Bandwidth listed in the time window

    @property
    def message(self) -> str:
        if self.found is not None:
            return (
                f"Bandwidth has this message (id {self.found.message_id}, {self.found.description}). "
                "It was sent: do not send it again."
            )
        if self.candidates > 1:
            return (
                f"Bandwidth lists {self.candidates} messages from this number to this recipient around that "
                "time, so this one cannot be told apart. Check the recipient's thread before sending again."
            )
        return (
            "Bandwidth does not list a message from this number to this recipient around that time, so it "
            "was probably not sent. Bandwidth's list can lag by a minute or two; if you send again, the "
            "recipient might still get it twice."
        )


class StatusRefresher:
    """Paces list-API calls for one account and remembers a Retry-After across refreshes. Thread-safe."""

    def __init__(
        self,
        client: StatusLookup,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        per_second: float = LIST_REQUESTS_PER_SECOND,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_status: StatusListener | None = None,
    ) -> None:
        self._now = now
        self._on_status = on_status
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._interval = 1.0 / per_second
        self._lock = threading.Lock()
        self._next_call = 0.0
        self._blocked_until = 0.0

    def blocked_for(self) -> float:
        """Seconds until the API allows list calls again (0 when it does)."""
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())

    def _pace(self) -> None:
        """Wait for this call's turn; raises RateLimited while a Retry-After is in force."""
        with self._lock:
            now = self._clock()
            if now < self._blocked_until:
                raise RateLimited(self._blocked_until - now)
            start = max(now, self._next_call)
            self._next_call = start + self._interval
        if start > now:
            self._sleep(start - now)

    def _note_rate_limit(self, exc: RateLimited) -> None:
        wait = exc.retry_after if exc.retry_after is not None else 60.0
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + wait)

    def status_of(self, message_id: str) -> MessageStatus | None:
        self._pace()
        try:
            return self._client.message_status(message_id)
        except RateLimited as exc:
            self._note_rate_limit(exc)
            raise

    def find(self, row: HistoryRow, recipient: str) -> list[MessageStatus]:
        self._pace()
        created = parse_time(row.created)
        try:
            return self._client.find_messages(
                row.sender, recipient, created - UNKNOWN_WINDOW_BEFORE, created + UNKNOWN_WINDOW_AFTER
            )
        except RateLimited as exc:
            self._note_rate_limit(exc)
            raise

    def refresh(
        self, store: DeliveryLog, rows: Sequence[HistoryRow] | None = None, limit: int = 100
    ) -> RefreshReport:
        """Update `rows` from the API: the delivery status of accepted ones, and for those of unknown outcome
        whether Bandwidth has them (as "Check status" does). Default: recent accepted rows whose status may
        still change, and recent unknown sends."""
        report = RefreshReport()
        if rows is None:
            rows = [
                *store.rows_to_refresh(limit=limit, min_interval=timedelta(seconds=20)),
                *store.search(
                    HistoryQuery(
                        state=SendState.UNKNOWN, since=self._now() - UNKNOWN_LOOKBACK, this_desk=True
                    ),
                    limit=20,
                ),
            ]
        for row in rows:
            if not row.own:  # another desk's message: that desk looks it up, and its results reach us
                report.other_desks += 1
                continue
            try:
                if row.state is SendState.UNKNOWN:
                    self._refresh_unknown(store, row, report)
                elif row.state is SendState.ACCEPTED and row.message_id:
                    self._refresh_accepted(store, row, row.message_id, report)
            except RateLimited as exc:
                report.wait = exc.retry_after if exc.retry_after is not None else self.blocked_for()
                break
            except (Unauthorized, Forbidden) as exc:
                report.problem, report.refused = f"the account's credentials were refused ({exc}).", True
                report.trouble, report.trouble_detail = trouble_of(exc), str(exc)
                break
            except NetworkError as exc:
                report.problem = f"no connection to Bandwidth ({exc})."
                report.trouble, report.trouble_detail = Trouble.CONNECTION, str(exc)
                break
            except ApiRequestError as exc:  # this one row could not be looked up; the others still can
                log.info("history row %d not looked up: %s", row.id, exc.error.type or exc.http_status)
                report.failed += 1
                report.failure = _lookup_failure(exc)
        log.info(
            "status refresh: %d checked, %d changed, %d not listed",
            report.checked,
            report.changed,
            report.not_listed,
        )
        return report

    def _refresh_unknown(self, store: DeliveryLog, row: HistoryRow, report: RefreshReport) -> None:
        found = self.check_unknown(store, row)
        report.unknown_checked += 1
        if found.found is not None:
            report.unknown_found += 1
            report.updated_rows.append(row.id)
        elif found.candidates > 1:
            report.unknown_ambiguous += 1

    def _refresh_accepted(
        self, store: DeliveryLog, row: HistoryRow, message_id: str, report: RefreshReport
    ) -> None:
        status = self.status_of(message_id)
        report.checked += 1
        if status is None:
            report.not_listed += 1
            return
        if (status.status, status.error_code or None) != (row.delivery_status, row.error_code):
            report.changed += 1
            report.updated_rows.append(row.id)
            if is_undelivered(status.status):
                report.undelivered.append(
                    Undelivered(row.id, tuple(row.to), status.status, status.error_code or None)
                )
        store.update_delivery(row.id, status.status, status.error_code)
        self._tell(row, status)

    def check_unknown(self, store: DeliveryLog, row: HistoryRow) -> UnknownCheck:
        """Look for an unknown (or failed) send at Bandwidth by from/to/time; if found, record it as accepted.

        Only a certain match is recorded: one message Bandwidth lists that no other row holds, while no
        other send to the same people is still in flight (its id is not known yet and could be the one).
        """
        if not row.own:
            raise BwdeskError(
                f"This message was sent from another desk{f' (by {row.agent})' if row.agent else ''}: only that "
                "desk can check it with Bandwidth. Its result appears here once that desk has checked it."
            )
        current = store.get(row.id)
        if current is not None and current.state is SendState.ACCEPTED and current.message_id:
            return UnknownCheck(_as_status(current), 1)  # found meanwhile (another check, a refresh)
        if row.state not in (SendState.UNKNOWN, SendState.FAILED):
            raise BwdeskError("Only a message whose outcome is unknown needs checking.")
        matches: dict[str, MessageStatus] = {}
        for recipient in row.to:
            for item in self.find(row, recipient):
                matches.setdefault(item.message_id, item)
        # A message the history already holds is another send (an earlier one to the same customer, say):
        # it can never be the one whose answer was lost.
        for known in store.known_message_ids(matches):
            del matches[known]
        if matches and self._send_in_flight(store, row):
            return UnknownCheck(None, len(matches) + 1)  # the in-flight one may be what Bandwidth lists
        # A group message is one message id for every recipient; separate ones have one recipient.
        if len(matches) == 1:
            found = next(iter(matches.values()))
            try:
                store.confirm_sent(row.id, found.message_id, found.segments, found.status, found.error_code)
            except (KeyError, ValueError):
                settled = store.get(row.id)  # settled meanwhile by another check
                if settled is not None and settled.state is SendState.ACCEPTED and settled.message_id:
                    return UnknownCheck(_as_status(settled), 1)
                return UnknownCheck(None, 1)
            self._tell(row, found)
            return UnknownCheck(found, 1)
        return UnknownCheck(None, len(matches))

    def _tell(self, row: HistoryRow, status: MessageStatus) -> None:
        if self._on_status is not None:
            try:
                self._on_status(row, status)
            except Exception:  # the status is recorded; a listener's failure must not stop the refresh
                log.exception("a listener failed after history row %d's status was recorded", row.id)

    def _send_in_flight(self, store: DeliveryLog, row: HistoryRow) -> bool:
        since = parse_time(row.created) - UNKNOWN_WINDOW_BEFORE
        return any(
            other.id != row.id and other.sender == row.sender
            for number in row.to
            for other in store.search(
                HistoryQuery(number=number, state=SendState.SENDING, since=since), limit=20
            )
        )


def _as_status(row: HistoryRow) -> MessageStatus:
    from bwdesk.core.bandwidth import MessageStatus

    return MessageStatus(
        message_id=row.message_id or "",
        status=row.delivery_status or "ACCEPTED",
        error_code=row.error_code,
        segments=row.segments,
        receive_time=None,
        source=row.sender,
        destination=row.to[0] if row.to else None,
    )


def refresh_statuses(
    store: DeliveryLog, client: StatusLookup, on_status: StatusListener | None = None
) -> RefreshReport:
    """`bwdesk history --refresh`: one paced refresh of recent messages."""
    return StatusRefresher(client, on_status=on_status).refresh(store)
