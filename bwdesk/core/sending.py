"""Sending a validated draft: the history row is written before each POST and settled after it.

This is the one place where the send semantics of DESIGN §4 meet the history: the CLI calls
`send_draft`, the window calls `send_one` from a worker thread for each payload. Writing the row
first means that a crash, a kill or a power cut during the POST leaves a `sending` row owned by a dead
process, which the next start turns into `unknown` — never a silent gap in the record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bwdesk.core.message import Draft, Mode, segments_per_message, to_requests
from bwdesk.core.outcome import ApiError, SendResult, SendState

log = logging.getLogger(__name__)


class MessageSender(Protocol):
    """What sending needs from the Bandwidth client (the real one, or anything with the same contract)."""

    def send(self, payload: dict[str, Any]) -> SendResult: ...


class SendLog(Protocol):
    """What sending needs from the history store."""

    def record_sending(
        self,
        *,
        sender: str,
        to: Sequence[str],
        mode: str,
        text: str,
        media: Sequence[str],
        tag: str,
        segments: int | None,
    ) -> int: ...

    def settle(self, row_id: int, result: SendResult) -> None: ...


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
    """A POST that has been made (or attempted): its history row and its outcome."""

    row_id: int
    post: PlannedPost
    result: SendResult


def plan(draft: Draft, application_id: str) -> list[PlannedPost]:
    """Turn a draft into its POSTs (raises `message.InvalidDraft` when the draft is not sendable)."""
    segments = segments_per_message(draft)
    return [PlannedPost(payload, draft.mode, segments) for payload in to_requests(draft, application_id)]


def send_one(post: PlannedPost, client: MessageSender, history: SendLog) -> SentPost:
    """Record, POST, settle. Safe to call from a worker thread (the store and the client are thread-safe)."""
    payload = post.payload
    row_id = history.record_sending(
        sender=payload["from"],
        to=list(payload["to"]),
        mode=post.mode.value,
        text=payload.get("text", ""),
        media=list(payload.get("media", [])),
        tag=payload.get("tag", ""),
        segments=post.segments,
    )
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
        history.settle(row_id, result)
        raise
    history.settle(row_id, result)
    log.info("history row %d settled as %s (attempts=%d)", row_id, result.state, result.attempts)
    return SentPost(row_id, post, result)


def send_draft(
    draft: Draft,
    application_id: str,
    client: MessageSender,
    history: SendLog,
    on_sent: Callable[[SentPost], None] | None = None,
) -> list[SentPost]:
    """Send every POST of `draft` one after the other (the CLI's path). Validation errors raise before any POST."""
    posts = plan(draft, application_id)
    sent: list[SentPost] = []
    for post in posts:
        outcome = send_one(post, client, history)
        sent.append(outcome)
        if on_sent is not None:
            on_sent(outcome)
    return sent


# Exit statuses of `bwdesk send` (DESIGN §3).
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INVALID = 2
EXIT_REJECTED = 3
EXIT_NOT_CONFIRMED = 4


def exit_status(results: Iterable[SendResult]) -> int:
    """0 all accepted; 4 if any failed or unknown; otherwise 3 if any rejected."""
    states = {r.state for r in results}
    if states & {SendState.FAILED, SendState.UNKNOWN, SendState.SENDING}:
        return EXIT_NOT_CONFIRMED
    if SendState.REJECTED in states:
        return EXIT_REJECTED
    return EXIT_OK
