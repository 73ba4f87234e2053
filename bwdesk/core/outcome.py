"""What happened to one POST: the states of DESIGN §4, and the API's error in a form every layer shares."""

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

    def __post_init__(self) -> None:
        if self.state is SendState.SENDING:
            raise ValueError("a SendResult is a final outcome; SENDING is not one")
