"""The do-not-text list: entries, reasons and codes (4775, 4482) in words, and `OptOutRecorder`, which fills the list
from Bandwidth's answers once the send path or a refresh recorded them (docs/design.md §17.2)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.rows import parse_time
from bwdesk.core.outcome import SendState

if TYPE_CHECKING:
    from bwdesk.core.directory.store import OptOutList
    from bwdesk.core.history.rows import HistoryRow
    from bwdesk.core.sending import SentPost

log = logging.getLogger(__name__)


class Reason(StrEnum):
    """Why a number is on the list (the `reason` of `optout list --json`)."""

    OPTED_OUT = "opted-out"  # Bandwidth's 4775: the recipient replied STOP
    BLOCKLISTED = "blocklisted"  # Bandwidth's 4482: the number is on Bandwidth's blocklist
    BY_HAND = "by-hand"
    IMPORTED = "imported"


#: Bandwidth's error codes that put a number on the list by themselves.
CODES = {4775: Reason.OPTED_OUT, 4482: Reason.BLOCKLISTED}
#: The same errors as the `type` of an error answer to a send (their names in Bandwidth's table of codes).
ERROR_TYPES = {"rejected-to-number-in-blacklist": 4482}

_WORDS = {
    Reason.OPTED_OUT: "opted out (replied STOP",
    Reason.BLOCKLISTED: "blocklisted (Bandwidth blocks texts to it",
    Reason.BY_HAND: "added by hand",
    Reason.IMPORTED: "imported",
}


@dataclass(frozen=True)
class OptOut:
    """A number on the list: why, since when, added by whom."""

    number: str
    reason: Reason
    code: int | None
    since: str  # RFC 3339 UTC
    by: str
    note: str = ""  # the agent's words, or where an automatic entry came from

    def describe(self) -> str:
        """Why and since when, for a chip's tooltip or a refusal: "opted out (replied STOP, error 4775) since
        2026-11-27 14:02, added by Ann Lee"."""
        words = _WORDS[self.reason]
        if self.reason in (Reason.OPTED_OUT, Reason.BLOCKLISTED):
            words += f", error {self.code})" if self.code else ")"
        elif self.code:
            words += f" (error {self.code})"
        if self.note and self.reason in (Reason.BY_HAND, Reason.IMPORTED):
            words += f": {self.note}"
        return f"{words} since {local_time(self.since)}, added by {self.by}"

    def to_json(self) -> dict[str, Any]:
        """The object `optout list --json` prints."""
        return {
            "number": self.number,
            "reason": self.reason.value,
            "code": self.code,
            "since": self.since,
            "by": self.by,
            "note": self.note or None,
        }


class Action(StrEnum):
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class OptOutEvent:
    """One change to the list, kept for good: a number added (with its reason) or removed (with why)."""

    number: str
    action: Action
    reason: Reason | None  # for an addition
    code: int | None
    note: str  # for a removal, its reason (required)
    at: str
    by: str

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "action": self.action.value,
            "reason": self.reason.value if self.reason else None,
            "code": self.code,
            "note": self.note or None,
            "at": self.at,
            "by": self.by,
        }


def local_time(moment: str) -> str:
    """An RFC 3339 UTC time as local `YYYY-MM-DD HH:MM`, for people."""
    try:
        return parse_time(moment).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return moment


def listed_among(store: OptOutList, recipients: Sequence[str]) -> list[OptOut]:
    """The entries of those of `recipients` (E.164) on the list, in their order: the one rule every send path
    asks before anything leaves. Any entry means nothing is sent (there is no "send anyway"); the command line
    and the window word the refusal each their own way."""
    listed = store.opted_out(recipients)
    return [listed[n] for n in dict.fromkeys(recipients) if n in listed]


# --- filled by itself ---------------------------------------------------------------------------------------


class _Status(Protocol):
    """What a delivery status lookup tells (`bandwidth.MessageStatus`)."""

    @property
    def message_id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def error_code(self) -> int | None: ...

    @property
    def destination(self) -> str | None: ...


def code_in_answer(state: SendState, error_type: str | None) -> int | None:
    """The list's error code a send answer carries: an error whose type is the name of 4482."""
    if state is not SendState.REJECTED or not error_type:
        return None
    return ERROR_TYPES.get(error_type)


@dataclass(frozen=True)
class Added:
    """A number the recorder put on the list, to tell the agent."""

    entry: OptOut

    def notice(self) -> str:
        return (
            f"{self.entry.number} is now on the do-not-text list: {self.entry.describe()}. Messages to it are "
            "refused from now on."
        )


class OptOutRecorder:
    """Puts numbers on the list when a send answer or a delivery status says 4775 or 4482. Thread-safe.

    Pass `after_send` to `sending.send_one` (`on_settled`) and `after_status` to `delivery.StatusRefresher`
    (`on_status`); `take_news` then says what was added (and what could not be), for the agent.
    A group message's answer does not say which recipient it was about, so it adds no one; its delivery
    statuses, one per recipient, do.
    """

    def __init__(self, store: OptOutList) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._news: list[Added] = []
        self._problems: list[str] = []

    def after_send(self, sent: SentPost) -> None:
        result = sent.result
        code = code_in_answer(result.state, result.error.type if result.error else None)
        recipients = sent.post.recipients
        if code is None:
            return
        if len(recipients) != 1:
            log.info("send answer %d for a group of %d: not put on the list", code, len(recipients))
            return
        self._add(recipients[0], code, f"the send answer said {result.error.type if result.error else code}")

    def after_status(self, row: HistoryRow, status: _Status) -> None:
        code = status.error_code
        if code not in CODES:
            return
        if status.destination in row.to:
            number = status.destination
        elif len(row.to) == 1:
            number = row.to[0]
        else:
            log.info("delivery status %d for history row %d does not say which recipient", code, row.id)
            return
        self._add(number, code, f"delivery status {status.status} {code} of message {status.message_id}")

    def _add(self, number: str, code: int, note: str) -> None:
        try:
            entry, added = self._store.add_opt_out(number, CODES[code], code=code, note=note)
        except BwdeskError as exc:
            log.warning("%s could not be put on the do-not-text list (%s): %s", number, code, exc)
            with self._lock:
                self._problems.append(
                    f"{number} should go on the do-not-text list (error {code}) but could not: {exc}"
                )
            return
        if added:
            log.info("%s put on the do-not-text list (%s)", number, code)
            with self._lock:
                self._news.append(Added(entry))

    def take_news(self) -> tuple[list[Added], list[str]]:
        """What was added since the last call, and what could not be; both then start empty."""
        with self._lock:
            news, problems = self._news, self._problems
            self._news, self._problems = [], []
        return news, problems
