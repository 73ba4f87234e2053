"""Row ids that hold across desks: each row's `row_uid` (a time-ordered UUID, version 7) and the team key a row of a
team view is known by (docs/design.md §9.11, §16.10)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

_TEAM_KEY_BASE = 1 << 128
_UID_MASK = _TEAM_KEY_BASE - 1
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("row uids are made from timezone-aware times")
    seconds = int(moment.timestamp() // 1)
    return seconds * 1000 + moment.microsecond // 1000


def new_row_uid(moment: datetime, after: str | None = None) -> str:
    """A version 7 UUID for a row created at `moment`; greater than `after` when that names the same second.

    `after` is the previous row's uid (the caller reads it in the transaction that writes the new row), so a
    desk's uids grow with its row ids even when two rows are made within one millisecond.
    """
    ms = _epoch_ms(moment)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | _VERSION_7 | ((rand >> 62) & 0xFFF) << 64 | _VARIANT | (rand & _RAND_B)
    if after is not None:
        previous = uuid.UUID(after).int
        same_second = (previous >> 80) // 1000 == ms // 1000
        if same_second and previous >= value and previous & _RAND_B != _RAND_B:
            value = previous + 1
    return str(uuid.UUID(int=value))


def uid_second(row_uid: str) -> int:
    """The Unix second a version 7 uid was made in."""
    return (uuid.UUID(row_uid).int >> 80) // 1000


def team_key(created: datetime, row_uid: str) -> int:
    """The key of a row in a team view: its creation second above its uid (see the module's text)."""
    return (int(created.timestamp()) << 128) | uuid.UUID(row_uid).int


def is_team_key(value: int) -> bool:
    return value >= _TEAM_KEY_BASE


def split_team_key(key: int) -> tuple[datetime, str]:
    """The creation time (to the second) and uid a team key was made from."""
    if not is_team_key(key):
        raise ValueError("not a team key")
    return datetime.fromtimestamp(key >> 128, UTC), str(uuid.UUID(int=key & _UID_MASK))


__all__ = ["is_team_key", "new_row_uid", "split_team_key", "team_key", "uid_second"]
