"""`HistoryStore`, the interface every history store implements (SQLite, the team store), and the narrower roles code
asks for (docs/design.md §9.11)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Protocol

from bwdesk.core.errors import BwdeskError

if TYPE_CHECKING:
    from bwdesk.core.history.rows import HistoryRow
    from bwdesk.core.history.search import HistoryQuery
    from bwdesk.core.outcome import SendResult

#: Rows per page when a caller does not say; the most one page may hold.
DEFAULT_PAGE = 100
MAX_PAGE = 10_000


class HistoryError(BwdeskError):
    """The history cannot be used right now, for a reason the user can act on."""


class HistoryReader(Protocol):
    """Reading the history: the table, `bwdesk history`, the duplicate check before a send, CSV export."""

    def search(
        self, query: HistoryQuery = ..., limit: int = DEFAULT_PAGE, before_id: int | None = None
    ) -> list[HistoryRow]:
        """Rows matching `query`, newest first; the next page is `before_id=<last row's id>`."""
        ...

    def count(self, query: HistoryQuery = ...) -> int:
        """The exact number of matching rows."""
        ...

    def get(self, row_id: int) -> HistoryRow | None: ...

    def export_csv(self, target: str | os.PathLike[str] | IO[str], query: HistoryQuery = ...) -> int:
        """Write the matching rows as spreadsheet-safe CSV (see `history.export`); returns how many."""
        ...


class SendLog(Protocol):
    """What sending writes: the row before the POST, its outcome after."""

    def record_sending(
        self,
        sender: str,
        to: Sequence[str],
        mode: str,
        text: str = "",
        media: Sequence[str] = (),
        tag: str = "",
        segments: int | None = None,
    ) -> int:
        """Write the `sending` row for one POST, before the request; returns its id. Raises HistoryError."""
        ...

    def settle(self, row_id: int, result: SendResult) -> None:
        """Record the outcome of the POST (KeyError for a missing row)."""
        ...


class DeliveryLog(HistoryReader, Protocol):
    """What a status refresh and "Check status" read and write."""

    def rows_to_refresh(
        self, max_age: timedelta = ..., limit: int = ..., min_interval: timedelta = ...
    ) -> list[HistoryRow]:
        """Recent accepted rows whose delivery status may still change, least recently checked first."""
        ...

    def known_message_ids(self, message_ids: Iterable[str]) -> set[str]:
        """Which of these Bandwidth message ids some row already holds."""
        ...

    def update_delivery(self, row_id: int, status: str | None, error_code: int | None) -> None: ...

    def confirm_sent(
        self, row_id: int, message_id: str, segments: int | None, status: str | None, error_code: int | None
    ) -> None:
        """An `unknown` or `failed` send was found at Bandwidth: it is `accepted` (ValueError in another state)."""
        ...


class HistoryStore(SendLog, DeliveryLog, Protocol):
    """A profile's whole history: every role above, and what opening and closing it involves."""

    def recover_interrupted(self) -> int:
        """Rows left `sending` by a process that no longer runs become `unknown`; returns how many."""
        ...

    def apply_retention(self, days: int | None) -> int:
        """Delete rows created more than `days` days ago (None or 0: keep everything); returns how many."""
        ...

    def close(self) -> None: ...
