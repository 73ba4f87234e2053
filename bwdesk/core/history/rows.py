"""One recorded POST (`HistoryRow`) and the time format every history stores and prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bwdesk.core.api import FINAL_DELIVERY_STATUSES
from bwdesk.core.outcome import ApiError, SendState


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the second: the form stored and printed (docs/design.md §4.7)."""
    if moment.tzinfo is None:
        raise ValueError("history times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class HistoryRow:
    """One POST as recorded; `to_json()` is the object `bwdesk history --json` prints.

    `id` is the key the store that listed the row knows it by: the row id of the local history, or in a team
    view a team key (`history.uids`). The rest of the team's facts are empty for a purely local row:
    `row_uid` (unique across desks), `agent` (who sent it), `desk` (from which desk), `local_id` (its id in
    that desk's own history), `own` (False for another desk's row: only the desk that sent a message looks up
    its status or records its outcome), and `desk_silent_since` (another desk's `sending` row whose desk has
    not been heard from for too long: when it was last heard from, RFC 3339; shown as unknown).
    """

    id: int
    created: str
    updated: str
    sender: str
    to: tuple[str, ...]
    mode: str
    text: str
    media: tuple[str, ...]
    tag: str
    state: SendState
    message_id: str | None = None
    segments: int | None = None
    http_status: int | None = None
    error: ApiError | None = None
    delivery_status: str | None = None
    error_code: int | None = None
    delivery_checked: str | None = None
    row_uid: str | None = None
    agent: str | None = None
    desk: str | None = None
    local_id: int | None = None
    own: bool = True
    desk_silent_since: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object (docs/design.md §4.7), and the team's `agent` and `desk` (null for a purely local row); a field with
        no value is null (an empty text or tag too). `id` is the row's id in the history of the desk that
        sent it (with `desk`, unique in a team)."""
        return {
            "id": self.local_id if self.local_id is not None else self.id,
            "created": self.created,
            "updated": self.updated,
            "from": self.sender,
            "to": list(self.to),
            "mode": self.mode,
            "text": self.text or None,
            "media": list(self.media),
            "tag": self.tag or None,
            "state": self.state.value,
            "message_id": self.message_id,
            "segments": self.segments,
            "http_status": self.http_status,
            "error": self.error.to_json() if self.error is not None else None,
            "delivery_status": self.delivery_status,
            "error_code": self.error_code,
            "agent": self.agent,
            "desk": self.desk,
        }

    def created_local(self) -> str:
        """The creation time in the computer's time zone, as people read it (`2026-11-27 11:15`)."""
        return parse_time(self.created).astimezone().strftime("%Y-%m-%d %H:%M")

    @property
    def delivery_final(self) -> bool:
        return self.delivery_status in FINAL_DELIVERY_STATUSES
