"""What happened to one POST: the states of docs/design.md §6, and the API's error in a form every layer shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SendState(StrEnum):
    SENDING = "sending"  # only while the process that owns the row lives
    ACCEPTED = "accepted"  # 202: queued by Bandwidth
    REJECTED = "rejected"  # Bandwidth answered with an error in its own shape: certainly not sent
    FAILED = "failed"  # certainly never reached Bandwidth
    UNKNOWN = "unknown"  # may have reached Bandwidth, no answer came

    @property
    def is_final(self) -> bool:
        return self is not SendState.SENDING


class Trouble(StrEnum):
    """What a failed send (or API call) is about, which decides where it is shown and what to do next.

    Only MESSAGE is about the message itself (its fields); the account and the connection are shown as
    such, with the setting to check, and never on a message field (docs/design.md §6.11).
    """

    MESSAGE = "message"  # Bandwidth refused something in the message (field errors, request validation)
    SETUP = "setup"  # something bwdesk needs is not set up (no account id, no credentials)
    SIGN_IN = "sign-in"  # the credentials were refused: 401, or the OAuth2 token endpoint refused them
    ACCESS = "access"  # signed in, but not allowed to send for this account: 403
    CONNECTION = (
        "connection"  # Bandwidth could not be reached (network, DNS, TLS, proxy) or is not at that URL
    )
    SERVICE = "service"  # Bandwidth could not take it now: its queue is full, it failed; try again later
    LOCAL = "local"  # this computer: the history could not record the message first

    @property
    def stops_batch(self) -> bool:
        """The other messages of the batch would fail the same way: the rest is not attempted."""
        return self in (Trouble.SETUP, Trouble.SIGN_IN, Trouble.ACCESS, Trouble.CONNECTION, Trouble.LOCAL)


def trouble_of_answer(http_status: int | None, error: ApiError | None) -> Trouble:
    """What a refusal is about, from the HTTP status and the error's shape (no status: nothing reached the
    server). Bandwidth's own 4xx (a type or field errors) is about the message; a 4xx in another shape came
    from something between (a proxy), so it is about the connection, as is a 404 (no API at that URL)."""
    if http_status is None:
        return Trouble.CONNECTION
    if http_status == 401:
        return Trouble.SIGN_IN
    if http_status == 403:
        return Trouble.ACCESS
    if http_status == 429 or http_status >= 500:
        return Trouble.SERVICE
    if http_status in (404, 407) or not 400 <= http_status < 500:
        return Trouble.CONNECTION
    bandwidths = error is not None and (error.type is not None or bool(error.field_errors))
    return Trouble.MESSAGE if bandwidths else Trouble.CONNECTION


@dataclass(frozen=True)
class FieldError:
    field: str
    description: str


@dataclass(frozen=True)
class ApiError:
    """An error as the API (or the network) reported it; `type` is Bandwidth's error type when there is one."""

    description: str
    type: str | None = None
    http_status: int | None = None
    field_errors: tuple[FieldError, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "description": self.description,
            "field_errors": [{"field": f.field, "description": f.description} for f in self.field_errors],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], http_status: int | None = None) -> ApiError:
        return cls(
            description=str(data.get("description") or ""),
            type=data.get("type"),
            http_status=http_status,
            field_errors=tuple(
                FieldError(str(f.get("field", "")), str(f.get("description", "")))
                for f in data.get("field_errors") or ()
            ),
        )


@dataclass(frozen=True)
class SendResult:
    """The outcome of one POST /messages (after any automatic retries)."""

    state: SendState
    http_status: int | None = None
    message_id: str | None = None
    segments: int | None = None
    accepted_time: str | None = None  # the API's `time` for an accepted message
    error: ApiError | None = None
    attempts: int = 1  # how many POSTs were actually made
    retry_after: float | None = None  # seconds, when a 429 asked for more than the retry budget
    detail: str | None = None  # why failed/unknown, in words ("connection reset after the request was sent")
    response: dict[str, Any] = field(default_factory=dict, repr=False)  # the 202 body
    # Set when the failure's cause is known where the result is made (the OAuth2 token endpoint, the
    # history); otherwise `trouble` reads it from the answer.
    cause: Trouble | None = None

    def __post_init__(self) -> None:
        if self.state is SendState.SENDING:
            raise ValueError("a SendResult is a final outcome; SENDING is not one")

    @property
    def trouble(self) -> Trouble | None:
        """What a rejected or failed send is about (None when accepted or of unknown outcome)."""
        if self.state not in (SendState.REJECTED, SendState.FAILED):
            return None
        if self.cause is not None:
            return self.cause
        return trouble_of_answer(self.http_status, self.error)
