"""The history table's model: rows newest first, read a page at a time on a worker thread, and the words
and colours of its cells."""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication

from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.store import DEFAULT_PAGE, HistoryStore
from bwdesk.core.phone import default_region, display_number
from bwdesk.core.status_words import status_details, status_label, status_tone
from bwdesk.ui.feedback import error_message
from bwdesk.ui.style import tone_colour
from bwdesk.ui.tasks import BackgroundTasks

#: How much of a message the Text column holds (the view elides it further; the tooltip has all of it).
TEXT_CELL_CHARS = 200

#: The model's role that returns the whole `HistoryRow` of a row.
ROW_ROLE = Qt.ItemDataRole.UserRole + 1


class Column(IntEnum):
    TIME = 0
    FROM = 1
    TO = 2
    TEXT = 3
    MEDIA = 4
    TAG = 5
    STATUS = 6
    SEGMENTS = 7
    MESSAGE_ID = 8
    AGENT = 9  # shown only for a team history (the view hides it otherwise), beside Time


#: Header text and header tooltip per column.
HEADERS: dict[Column, tuple[str, str]] = {
    Column.TIME: (
        "Time",
        "When the message was sent, in this computer's time zone. Newest first — the table always keeps "
        "this order (sorting by another column would mean loading the whole history).",
    ),
    Column.FROM: ("From", "The number (or sender ID) the message was sent from"),
    Column.TO: ("To", "The recipient, or every recipient of a group message"),
    Column.TEXT: ("Text", "The message text (hover over a cell to read all of it)"),
    Column.MEDIA: ("Media", "How many media files (pictures, PDFs, …) were attached"),
    Column.TAG: ("Tag", "The tag sent with the message, e.g. a ticket number"),
    Column.STATUS: (
        "Status",
        "What happened to the send; for accepted messages, the delivery status last looked up "
        "(Refresh status asks Bandwidth again). Hover for the details in words.",
    ),
    Column.SEGMENTS: ("Segments", "How many SMS segments Bandwidth counted (each is billed)"),
    Column.MESSAGE_ID: ("Message ID", "Bandwidth's id for the message (Ctrl+C copies it)"),
    Column.AGENT: ("Agent", "Who sent the message, and from which desk (hover over a cell)"),
}


# --- cells -------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _number(number: str, region: str) -> str:
    """A number as people read it; sender IDs and odd values as stored. Cached: numbers repeat a lot."""
    return display_number(number, region) if number.startswith("+") else number


def _one_line(text: str) -> str:
    """The text for a table cell: on one line, and not much more than the cell can show."""
    flat = " ".join(text[: TEXT_CELL_CHARS * 2].split())
    return flat if len(flat) <= TEXT_CELL_CHARS else flat[: TEXT_CELL_CHARS - 1] + "…"


@dataclass(frozen=True)
class _Entry:
    """A row and its display texts, formatted once (on the worker thread for pages)."""

    row: HistoryRow
    cells: tuple[str, ...]


def _entry(row: HistoryRow, region: str) -> _Entry:
    cells = (
        row.created_local(),
        _number(row.sender, region),
        ", ".join(_number(n, region) for n in row.to),
        _one_line(row.text),
        str(len(row.media)) if row.media else "",
        row.tag,
        status_label(row),
        "" if row.segments is None else str(row.segments),
        row.message_id or "",
        row.agent or "",
    )
    return _Entry(row, cells)


def _sender_words(row: HistoryRow) -> str | None:
    """The Agent cell's tooltip: who sent it, and whether from this desk."""
    if not row.agent:
        return None
    if row.own:
        return f"Sent by {row.agent} from this desk"
    return f"Sent by {row.agent} from another desk; only that desk can refresh or check its status"


def _rich(text: str) -> str:
    """Plain text as a tooltip Qt will not read as HTML (a message can contain `<b>`), line breaks kept."""
    from html import escape  # with its entity table, only once a tooltip is shown

    return f"<p style='white-space:pre-wrap'>{escape(text)}</p>"


def _colour(row: HistoryRow) -> QColor | None:
    """The Status cell's colour: red for what did not go out, amber for what is in doubt."""
    tone = status_tone(row)
    return None if tone is None else tone_colour(tone, QGuiApplication.palette())


def _load_page(
    store: HistoryStore, query: HistoryQuery, limit: int, before_id: int | None, region: str
) -> list[_Entry]:
    """Runs on a worker thread: one page of rows, already formatted for the table."""
    return [_entry(row, region) for row in store.search(query, limit=limit, before_id=before_id)]


class HistoryModel(QAbstractTableModel):
    """History rows, newest first, one page at a time, loaded in the background.

    Signals: `loading_changed(bool)` (a page or a reload is on its way: for a busy indicator),
    `page_loaded(int)` (a page arrived and its rows — possibly none — are in the model),
    `reloaded(int)` (a `reload()` arrived; how many new rows went in at the top),
    `load_failed(str)` (the history could not be read; the message says what to do).
    """

    loading_changed = Signal(bool)
    page_loaded = Signal(int)
    reloaded = Signal(int)
    load_failed = Signal(str)

    def __init__(
        self,
        tasks: BackgroundTasks,
        store: HistoryStore | None = None,
        *,
        page_size: int = DEFAULT_PAGE,
        region: str | None = None,
        query: HistoryQuery | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._store = store
        self._page_size = page_size
        self._region = (region or default_region()).upper()
        self._query = HistoryQuery(region=self._region) if query is None else query
        if self._query.region is None:
            self._query = replace(self._query, region=self._region)
        self._entries: list[_Entry] = []
        self._generation = 0
        self._request_ids = itertools.count(1)
        self._fetching: int | None = None  # the request id of the page on its way
        self._reloads = 0  # reloads on their way (this generation)
        self._exhausted = store is None
        self._error: str | None = None
        self._loading = False
        # A number's contact name (the window's directory), shown before it in To; None: numbers only.
        self._name_of: Callable[[str], str] | None = None
        if store is not None:
            self._start_fetch()

    # -- what the window and the view use --------------------------------------------------------------

    @property
    def query(self) -> HistoryQuery:
        return self._query

    @property
    def store(self) -> HistoryStore | None:
        return self._store

    @property
    def loading(self) -> bool:
        """True while a page or a reload is being read."""
        return self._loading

    @property
    def exhausted(self) -> bool:
        """True when every matching row is in the model (the last page came back short)."""
        return self._exhausted

    @property
    def error(self) -> str | None:
        """Why the last page could not be read (cleared by the next query or reload)."""
        return self._error

    def set_store(self, store: HistoryStore | None) -> None:
        """Show another history (or none); the current query is kept and run against it."""
        self._store = store
        self.set_query(self._query)

    def set_names(self, name_of: Callable[[str], str] | None) -> None:
        """Show contact names beside the numbers in To ("Ann Lee (919) 555-0198"); the loaded rows redraw."""
        self._name_of = name_of
        if self._entries:
            self.dataChanged.emit(self.index(0, Column.TO), self.index(len(self._entries) - 1, Column.TO))

    def set_region(self, region: str) -> None:
        """The region numbers are shown (and typed numbers read) for; reloads the first page."""
        self._region = region.upper()
        self.set_query(replace(self._query, region=self._region))

    def set_query(self, query: HistoryQuery) -> None:
        """Show the rows matching `query`: the model empties and the first page loads in the background."""
        if query.region is None:
            query = replace(query, region=self._region)
        self._query = query
        self._generation += 1
        self._fetching = None
        self._reloads = 0
        self.beginResetModel()
        self._entries = []
        self._exhausted = self._store is None
        self._error = None
        self.endResetModel()
        if self._store is not None:
            self._start_fetch()
        self._update_loading()

    def reload(self) -> None:
        """Bring the top of the table up to date (after a send): one page is read, new rows go in at
        the top and changed ones are updated in place; rows further down stay as they are."""
        if self._store is None:
            return
        if not self._entries:
            self.set_query(self._query)
            return
        generation, store, query, limit, region = (
            self._generation,
            self._store,
            self._query,
            self._page_size,
            self._region,
        )
        self._reloads += 1
        self._update_loading()
        self._tasks.run(
            functools.partial(_load_page, store, query, limit, None, region),
            functools.partial(self._reload_arrived, generation),
            functools.partial(self._reload_failed, generation),
            description="reload the history",
        )

    def update_row(self, row: HistoryRow) -> bool:
        """Show the new state of a row that is in the model (e.g. a delivery status); False if it is not."""
        position = self.position_of(row.id)
        if position is None:
            return False
        self._entries[position] = _entry(row, self._region)
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(Column) - 1))
        return True

    def position_of(self, row_id: int) -> int | None:
        """The model row showing history row `row_id`, if it is loaded."""
        i = bisect.bisect_left(self._entries, -row_id, key=lambda e: -e.row.id)
        return i if i < len(self._entries) and self._entries[i].row.id == row_id else None

    def row_at(self, index: QModelIndex | QPersistentModelIndex | int) -> HistoryRow:
        """The history row shown at `index` (a model index or a row number)."""
        position = index if isinstance(index, int) else index.row()
        return self._entries[position].row

    def loaded_rows(self) -> list[HistoryRow]:
        return [e.row for e in self._entries]

    # -- QAbstractItemModel ---------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        entry = self._entries[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column is Column.TO and self._name_of is not None:
                return self._named(entry.row.to)
            return entry.cells[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (
                Qt.AlignmentFlag.AlignRight
                if column in (Column.MEDIA, Column.SEGMENTS)
                else Qt.AlignmentFlag.AlignLeft
            )
            return (horizontal | Qt.AlignmentFlag.AlignVCenter).value
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATUS:
            return _colour(entry.row)
        if role == ROW_ROLE:
            return entry.row
        return None

    def _named(self, numbers: Sequence[str]) -> str:
        assert self._name_of is not None
        shown = []
        for number in numbers:
            name = self._name_of(number)
            readable = _number(number, self._region)
            shown.append(f"{name} {readable}" if name else readable)
        return ", ".join(shown)

    def _tooltip(self, entry: _Entry, column: Column) -> str | None:
        row = entry.row
        if column is Column.TIME:
            return f"Sent {row.created} (UTC); last updated {row.updated}"
        if column is Column.FROM:
            return row.sender
        if column is Column.TO:
            if self._name_of is not None:
                return "\n".join(f"{self._name_of(n)} {n}".strip() for n in row.to)
            return "\n".join(row.to)
        if column is Column.TEXT:
            return _rich(row.text) if row.text else "No text"
        if column is Column.MEDIA:
            return "\n".join(row.media) if row.media else "No media"
        if column is Column.TAG:
            return row.tag or "No tag"
        if column is Column.STATUS:
            return _rich(status_details(row))
        if column is Column.AGENT:
            return _sender_words(row)
        if column is Column.SEGMENTS:
            return (
                None if row.segments is None else f"{row.segments} segment{'s' if row.segments != 1 else ''}"
            )
        return row.message_id or "No message id: Bandwidth did not accept this message"

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        title, tip = HEADERS[Column(section)]
        if role == Qt.ItemDataRole.DisplayRole:
            return title
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip
        return None

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:
        return not parent.isValid() and self._store is not None and not self._exhausted

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:
        """Ask for the next page (in the background); a request already on its way is not doubled."""
        if parent.isValid() or self._store is None or self._exhausted or self._fetching is not None:
            return
        self._start_fetch()

    # -- pages ----------------------------------------------------------------------------------------

    def _start_fetch(self) -> None:
        store = self._store
        assert store is not None
        request = next(self._request_ids)
        generation, query, limit, region = self._generation, self._query, self._page_size, self._region
        before = self._entries[-1].row.id if self._entries else None
        self._fetching = request
        self._update_loading()
        self._tasks.run(
            functools.partial(_load_page, store, query, limit, before, region),
            functools.partial(self._page_arrived, generation, request, before),
            functools.partial(self._page_failed, generation, request),
            description="read a page of the history",
        )

    def _current(self, generation: int, request: int | None = None) -> bool:
        if not shiboken6.isValid(self) or generation != self._generation:
            return False
        return request is None or request == self._fetching

    def _page_arrived(self, generation: int, request: int, before: int | None, entries: list[_Entry]) -> None:
        if not self._current(generation, request):
            return  # a page of a query (or a store) that is no longer shown
        self._fetching = None
        if before != (self._entries[-1].row.id if self._entries else None):
            # A reload changed the bottom of the table while this page was on its way: ask again from there.
            if not self._exhausted:
                self._start_fetch()
            else:
                self._update_loading()
            return
        if entries:
            first = len(self._entries)
            self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
            self._entries.extend(entries)
            self.endInsertRows()
        if len(entries) < self._page_size:
            self._exhausted = True
        self._update_loading()
        self.page_loaded.emit(len(entries))

    def _page_failed(self, generation: int, request: int, exc: BaseException) -> None:
        if not self._current(generation, request):
            return
        self._fetching = None
        self._exhausted = True  # stop the view from asking again and again; the next query retries
        self._fail(exc)

    def _reload_arrived(self, generation: int, fresh: list[_Entry]) -> None:
        if not self._current(generation):
            return
        self._reloads -= 1
        added = self._merge_top(fresh)
        self._update_loading()
        self.reloaded.emit(added)

    def _reload_failed(self, generation: int, exc: BaseException) -> None:
        if not self._current(generation):
            return
        self._reloads -= 1
        self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        message = error_message(exc)
        self._error = message
        self._update_loading()
        self.load_failed.emit(message)

    def _merge_top(self, fresh: list[_Entry]) -> int:
        """Make the top of the model equal to `fresh` (the first page as it is now); returns rows added."""
        full = len(fresh) == self._page_size
        old = self._entries
        # The fresh page covers every matching row down to its last id (all of them if it is short).
        covered = bisect.bisect_right(old, -fresh[-1].row.id, key=lambda e: -e.row.id) if full else len(old)
        covered_all = covered == len(old)
        if full and covered == 0 and old:
            # More new rows than a page: rows between the page and the old top are unknown. Start over.
            self._fetching = None
            self.beginResetModel()
            self._entries = list(fresh)
            self._exhausted = False
            self.endResetModel()
            return len(fresh)
        fresh_ids = {e.row.id for e in fresh}
        # 1. rows of the covered part that no longer match (bottom up, in runs, so indexes stay valid)
        i = covered - 1
        while i >= 0:
            if self._entries[i].row.id in fresh_ids:
                i -= 1
                continue
            j = i
            while j > 0 and self._entries[j - 1].row.id not in fresh_ids:
                j -= 1
            self.beginRemoveRows(QModelIndex(), j, i)
            del self._entries[j : i + 1]
            self.endRemoveRows()
            covered -= i - j + 1
            i = j - 1
        # 2. new rows (in runs) and changed rows, walking both lists newest first
        kept_ids = {e.row.id for e in self._entries[:covered]}
        added = 0
        position = 0
        k = 0
        while k < len(fresh):
            entry = fresh[k]
            if entry.row.id in kept_ids:
                if self._entries[position].row != entry.row:
                    self._entries[position] = entry
                    self.dataChanged.emit(self.index(position, 0), self.index(position, len(Column) - 1))
                position += 1
                k += 1
                continue
            run_end = k
            while run_end < len(fresh) and fresh[run_end].row.id not in kept_ids:
                run_end += 1
            run = fresh[k:run_end]
            self.beginInsertRows(QModelIndex(), position, position + len(run) - 1)
            self._entries[position:position] = run
            self.endInsertRows()
            added += len(run)
            position += len(run)
            k = run_end
        if covered_all:  # the model is now exactly the fresh page
            self._exhausted = not full
        return added

    def _update_loading(self) -> None:
        loading = self._fetching is not None or self._reloads > 0
        if loading != self._loading:
            self._loading = loading
            self.loading_changed.emit(loading)
