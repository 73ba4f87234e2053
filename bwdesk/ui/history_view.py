"""The history pane of the main window: past sends in a lazily paged table, a search box and row actions.

A history can hold a million rows, so the table never loads them all: `HistoryModel` asks the store for
one page at a time (keyset paging, newest first) on a worker thread and inserts the rows when they come
back. The order is the store's and only that one — sorting by another column would mean reading every
row, so the header says "newest first" instead of offering it. A generation counter drops pages that
belong to a query the person has already changed.

`HistoryView` puts the search box, the filters and the actions (copy id, refresh status, use as new
draft, send again, check status, export CSV) around the table. Every query, export and status lookup goes
through `BackgroundTasks`; the GUI thread only formats what arrives.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

import shiboken6
from PySide6 import QtWidgets
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QProgressBar,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core.delivery import RefreshReport, StatusRefresher, UnknownCheck
from bwdesk.core.errors import BwdeskError, format_wait
from bwdesk.core.history.rows import HistoryRow, parse_time
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.store import DEFAULT_PAGE
from bwdesk.core.history.store import HistoryStore as HistoryBackend
from bwdesk.core.outcome import SendState
from bwdesk.core.phone import default_region, display_number
from bwdesk.core.status_words import describe_delivery_status, describe_error_code, status_label
from bwdesk.ui.tasks import BackgroundTasks, error_message

log = logging.getLogger(__name__)

T = TypeVar("T")

SEARCH_PLACEHOLDER = "Search text, tag or number"
SEARCH_DELAY_MS = 150
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
}

_RED = QColor("#c0392b")
_AMBER = QColor("#b45309")


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
    )
    return _Entry(row, cells)


def word_being_typed_as_prefix(text: str) -> str:
    """Search as you type: the last word, unless finished (a space after it), quoted or too short to be
    worth a prefix search, also matches longer words that start with it ("tech" finds "technician")."""
    head, _, last = text.rpartition(" ")
    if '"' in last or last.endswith("*") or sum(c.isalnum() for c in last) < 3:
        return text
    return f"{head} {last}*" if head else f"{last}*"


def _rich(text: str) -> str:
    """Plain text as a tooltip Qt will not read as HTML (a message can contain `<b>`), line breaks kept."""
    from html import escape  # with its entity table, only once a tooltip is shown

    return f"<p style='white-space:pre-wrap'>{escape(text)}</p>"


def status_details(row: HistoryRow) -> str:
    """The Status column's tooltip: the state and the delivery status in words, error codes explained."""
    error = row.error
    if row.state is SendState.ACCEPTED:
        lines = ["Accepted by Bandwidth."]
        if row.delivery_status:
            lines.append(
                f"Delivery: {row.delivery_status} — {describe_delivery_status(row.delivery_status)}."
            )
        else:
            lines.append("Delivery status not looked up yet: Refresh status asks Bandwidth.")
        if row.error_code:
            lines.append(f"Error {describe_error_code(row.error_code)}.")
        if row.delivery_checked:
            checked = parse_time(row.delivery_checked).astimezone().strftime("%Y-%m-%d %H:%M")
            lines.append(f"Last checked {checked}.")
        return "\n".join(lines)
    if row.state is SendState.REJECTED:
        lines = [f"Rejected by Bandwidth{f' (HTTP {row.http_status})' if row.http_status else ''}: not sent."]
    elif row.state is SendState.FAILED:
        lines = ["Not sent: the request never reached Bandwidth."]
    elif row.state is SendState.UNKNOWN:
        lines = [
            "Unknown: the request may have reached Bandwidth, but no answer came. Use Check status to ask "
            "Bandwidth whether it was sent before sending it again."
        ]
    else:
        lines = ["Being sent now."]
    if error is not None:
        if error.description:
            lines.append(error.description)
        if error.type:
            lines.append(f"Error type: {error.type}")
        lines.extend(f"{f.field}: {f.description}" for f in error.field_errors)
    return "\n".join(lines)


def _colour(row: HistoryRow) -> QColor | None:
    if row.state in (SendState.REJECTED, SendState.FAILED) or row.delivery_status in (
        "FAILED",
        "UNDELIVERED",
    ):
        return _RED
    if row.state is SendState.UNKNOWN or row.delivery_status == "DLR_EXPIRED":
        return _AMBER
    return None


def _load_page(
    store: HistoryBackend, query: HistoryQuery, limit: int, before_id: int | None, region: str
) -> list[_Entry]:
    """Runs on a worker thread: one page of rows, already formatted for the table."""
    return [_entry(row, region) for row in store.search(query, limit=limit, before_id=before_id)]


# --- the model ---------------------------------------------------------------------------------------------


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
        store: HistoryBackend | None = None,
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
        if store is not None:
            self._start_fetch()

    # -- what the window and the view use --------------------------------------------------------------

    @property
    def query(self) -> HistoryQuery:
        return self._query

    @property
    def store(self) -> HistoryBackend | None:
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

    def set_store(self, store: HistoryBackend | None) -> None:
        """Show another history (or none); the current query is kept and run against it."""
        self._store = store
        self.set_query(self._query)

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
            lambda: _load_page(store, query, limit, None, region),
            lambda entries: self._reload_arrived(generation, entries),
            lambda exc: self._reload_failed(generation, exc),
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

    def _tooltip(self, entry: _Entry, column: Column) -> str | None:
        row = entry.row
        if column is Column.TIME:
            return f"Sent {row.created} (UTC); last updated {row.updated}"
        if column is Column.FROM:
            return row.sender
        if column is Column.TO:
            return "\n".join(row.to)
        if column is Column.TEXT:
            return _rich(row.text) if row.text else "No text"
        if column is Column.MEDIA:
            return "\n".join(row.media) if row.media else "No media"
        if column is Column.TAG:
            return row.tag or "No tag"
        if column is Column.STATUS:
            return _rich(status_details(row))
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
            lambda: _load_page(store, query, limit, before, region),
            lambda entries: self._page_arrived(generation, request, before, entries),
            lambda exc: self._page_failed(generation, request, exc),
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
        if isinstance(exc, BwdeskError):
            message = str(exc)
        else:
            log.error("reading the history failed", exc_info=(type(exc), exc, exc.__traceback__))
            message = f"Could not read the history ({type(exc).__name__}); the log has the details."
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


# --- the view ----------------------------------------------------------------------------------------------


class _HistoryTable(QTableView):
    """The table, with the empty-state text drawn where the rows would be."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = ""
        # The table's own viewport, kept here: the first `viewport()` call on a viewport Qt created makes
        # PySide6 work out the widget's Python type, which costs about 9 ms of start-up.
        self.canvas = QWidget(self)
        self.canvas.setObjectName("qt_scrollarea_viewport")  # what Qt gives its own viewports
        self.canvas.setBackgroundRole(QPalette.ColorRole.Base)
        self.canvas.setAutoFillBackground(True)
        self.setViewport(self.canvas)

    def set_placeholder(self, text: str) -> None:
        if text != self._placeholder:
            self._placeholder = text
            self.setAccessibleDescription(text)
            self.canvas.update()

    def placeholder(self) -> str:
        return self._placeholder

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if self._placeholder and (model is None or model.rowCount() == 0):
            painter = QPainter(self.canvas)
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(
                self.canvas.rect().adjusted(12, 12, -12, -12),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                self._placeholder,
            )
            painter.end()


class _SearchEdit(QLineEdit):
    """Esc clears the search (and only when there is something to clear, so a dialog's Esc still works)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            event.accept()
            return
        super().keyPressEvent(event)


_STATES: tuple[tuple[str, SendState | None, str], ...] = (
    ("All states", None, "Show messages in every state"),
    ("accepted", SendState.ACCEPTED, "Only messages Bandwidth accepted"),
    ("rejected", SendState.REJECTED, "Only messages Bandwidth rejected (not sent)"),
    ("failed", SendState.FAILED, "Only messages that never reached Bandwidth"),
    (
        "unknown",
        SendState.UNKNOWN,
        "Only messages whose outcome is unknown (check them before sending again)",
    ),
    ("sending", SendState.SENDING, "Only messages being sent right now"),
)

_DATES: tuple[tuple[str, str], ...] = (
    ("Any time", "any"),
    ("Today", "today"),
    ("Last 7 days", "7"),
    ("Last 30 days", "30"),
)


def _since(choice: str, now: datetime) -> datetime | None:
    if choice == "today":
        return now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    if choice in ("7", "30"):
        return now - timedelta(days=int(choice))
    return None


class HistoryView(QWidget):
    """The history pane. The window injects the store and the (one, shared) status refresher.

    Signals: `use_as_draft(HistoryRow)`, `send_again_requested(HistoryRow)` (the window confirms first
    when the row is `unknown`), `status_message(str)` (for the status bar), `refresh_finished(object)`
    (a `RefreshReport`, or None when the refresh failed), `check_finished(object)` (an `UnknownCheck`,
    or None), `export_finished(bool ok, str message)`.
    """

    use_as_draft = Signal(object)
    send_again_requested = Signal(object)
    status_message = Signal(str)
    refresh_finished = Signal(object)
    check_finished = Signal(object)
    export_finished = Signal(bool, str)

    def __init__(
        self,
        tasks: BackgroundTasks,
        store: HistoryBackend | None = None,
        refresher: StatusRefresher | None = None,
        *,
        region: str | None = None,
        page_size: int = DEFAULT_PAGE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("History")
        self._tasks = tasks
        self._refresher = refresher
        self._clock = clock
        self._region = (region or default_region()).upper()
        self._refreshing = False
        self._automatic = False  # the refresh in progress was started by the window, not the agent
        self._checking = False
        self._exporting = False
        self._model = HistoryModel(tasks, None, page_size=page_size, region=self._region, parent=self)

        self.search_edit = _SearchEdit(self)
        self.search_edit.setPlaceholderText(SEARCH_PLACEHOLDER)
        self.search_edit.setClearButtonEnabled(True)
        # Room for the placeholder; the toolbar's buttons give way first when the window is narrow.
        self.search_edit.setMinimumWidth(self.fontMetrics().horizontalAdvance(SEARCH_PLACEHOLDER) + 40)
        self.search_edit.setAccessibleName("Search history")
        self.search_edit.setToolTip(
            "Search (Ctrl+F) words in the text or the tag — the word you are typing matches the start of words (tech finds "
            "technician), finished words match whole; quote a phrase — or a phone number in any format. "
            "Esc clears."
        )
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_filters)
        self.search_edit.textChanged.connect(lambda _text: self._search_timer.start())
        self.search_edit.returnPressed.connect(self._apply_filters)

        self.state_filter = QComboBox(self)
        self.state_filter.setAccessibleName("Filter by state")
        self.state_filter.setToolTip("Show only messages in one state")
        for label, state, tip in _STATES:
            self.state_filter.addItem(label, state)
            self.state_filter.setItemData(self.state_filter.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.state_filter.currentIndexChanged.connect(lambda _i: self._apply_filters())

        self.date_filter = QComboBox(self)
        self.date_filter.setAccessibleName("Filter by date")
        self.date_filter.setToolTip("Show only messages sent in this period")
        for label, key in _DATES:
            self.date_filter.addItem(label, key)
        self.date_filter.currentIndexChanged.connect(lambda _i: self._apply_filters())

        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setFixedWidth(48)
        # Its room is kept while hidden: the row (and so the window) must not widen each time it shows.
        policy = self.busy.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.busy.setSizePolicy(policy)
        self.busy.setAccessibleName("History busy")
        self.busy.setToolTip("Reading the history or asking Bandwidth…")
        self.busy.hide()

        self.table = _HistoryTable(self)
        self.table.setModel(self._model)
        self.table.setAccessibleName("Sent messages")
        self.table.setToolTip("")  # the cells have their own tooltips
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; the arrow keys move within it
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setAlternatingRowColors(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _index: self.use_selected_as_draft())
        self.table.installEventFilter(self)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self._size_columns()

        self.copy_action = self._action(
            "Copy message ID",
            "Copy the Bandwidth message id of the selected messages (Ctrl+C)",
            self.copy_message_ids,
            QKeySequence(QKeySequence.StandardKey.Copy),
        )
        self.refresh_action = self._action(
            "Refresh status",
            "Ask Bandwidth for the delivery status of the selected messages — or, with nothing selected, of "
            "every recent message whose status may still change (F5)",
            self.refresh_status,
            QKeySequence(Qt.Key.Key_F5),
        )
        self.draft_action = self._action(
            "Use as new draft",
            "Put this message's From, recipients, text, media and tag into the composer (Enter)",
            self.use_selected_as_draft,
        )
        self.resend_action = self._action(
            "Send again…",
            "Send this message again (you are asked to confirm when it may already have been sent)",
            self.send_selected_again,
        )
        self.check_action = self._action(
            "Check status",
            "Ask Bandwidth whether a message whose outcome is unknown was sent",
            self.check_selected_status,
        )
        self.export_action = self._action(
            "Export CSV…",
            "Save the messages that match the search and filters as a CSV file (spreadsheet-safe)",
            lambda: self.export_csv(),
        )

        bar = QHBoxLayout()
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.state_filter)
        bar.addWidget(self.date_filter)
        bar.addWidget(self.busy)
        # A toolbar, so that a narrow window (half a screen) moves the buttons that do not fit into its »
        # menu instead of growing; every action is also in the History menu and the table's context menu.
        self.toolbar = QToolBar("History actions", self)
        self.toolbar.setMovable(False)
        self.toolbar.setFloatable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.buttons: dict[str, QToolButton] = {}
        # The buttons show short labels (the actions' icon text); menus and tooltips keep the full words.
        for action, short in (
            (self.copy_action, "Copy ID"),
            (self.refresh_action, "Refresh"),
            (self.draft_action, "Use as draft"),
            (self.resend_action, "Send again…"),
            (self.check_action, "Check status"),
            (self.export_action, "Export…"),
        ):
            action.setIconText(short)
            self.toolbar.addAction(action)
            button = self.toolbar.widgetForAction(action)
            assert isinstance(button, QToolButton)
            button.setAccessibleName(action.text().rstrip("…"))
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a toolbar's buttons take no focus by default
            self.buttons[action.text()] = button
        bar.addWidget(self.toolbar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self._model.loading_changed.connect(lambda _loading: self._update_busy())
        self._model.loading_changed.connect(lambda _loading: self._update_placeholder())
        self._model.modelReset.connect(self._update_actions)
        self._model.rowsInserted.connect(lambda *_: self._update_placeholder())
        self._model.rowsRemoved.connect(lambda *_: self._update_placeholder())
        self._model.dataChanged.connect(lambda *_: self._update_actions())
        self._model.load_failed.connect(self.status_message)
        self._model.load_failed.connect(lambda _message: self._update_placeholder())
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        selection.currentChanged.connect(lambda *_: self._update_actions())

        if store is not None:
            self._model.set_store(store)
        self._update_actions()
        self._update_placeholder()

    # -- what the window uses -------------------------------------------------------------------------

    @property
    def model(self) -> HistoryModel:
        return self._model

    def set_store(self, store: HistoryBackend | None) -> None:
        """Show this history (the window's store, or the sandbox's); the search and filters are kept."""
        self._model.set_store(store)
        self._update_actions()
        self._update_placeholder()

    def set_refresher(self, refresher: StatusRefresher | None) -> None:
        """The window's one `StatusRefresher`, so pacing and Retry-After are shared by every refresh."""
        self._refresher = refresher
        self._update_actions()

    def set_region(self, region: str) -> None:
        self._region = region.upper()
        self._model.set_region(self._region)
        self._apply_filters()

    def tab_stops(self) -> list[QWidget]:
        """The controls Tab visits, in order: search, filters, the action buttons, the table."""
        return [self.search_edit, self.state_filter, self.date_filter, *self.buttons.values(), self.table]

    def focus_search(self) -> None:
        """For the window's Ctrl+F."""
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def reload(self) -> None:
        """After a send: new rows appear at the top (one page is read, in the background)."""
        self._model.reload()

    def update_row(self, row: HistoryRow) -> None:
        """A row whose state or delivery status changed (the window's send results)."""
        self._model.update_row(row)
        self._update_actions()

    def current_query(self) -> HistoryQuery:
        """The query the search box and filters describe now (what the table shows and export writes)."""
        typed = self.search_edit.text()
        text = typed.strip()
        query = HistoryQuery.from_text(text, self._region) if text else HistoryQuery(region=self._region)
        if query.text and typed == typed.rstrip():
            query = replace(query, text=word_being_typed_as_prefix(query.text))
        state = self.state_filter.currentData()
        since = _since(str(self.date_filter.currentData()), self._clock())
        return replace(query, state=state, since=since)

    def selected_rows(self) -> list[HistoryRow]:
        """The selected rows, newest first."""
        selection = self.table.selectionModel()
        positions = sorted({index.row() for index in selection.selectedRows()})
        return [self._model.row_at(p) for p in positions]

    def current_row(self) -> HistoryRow | None:
        """The one row an action for a single message applies to (the only selected row)."""
        rows = self.selected_rows()
        return rows[0] if len(rows) == 1 else None

    # -- actions --------------------------------------------------------------------------------------

    def copy_message_ids(self) -> None:
        rows = self.selected_rows()
        ids = [r.message_id for r in rows if r.message_id]
        if not ids:
            self.status_message.emit(
                "No message id to copy: Bandwidth did not accept the selected message."
                if rows
                else "Select a message to copy its id."
            )
            return
        clipboard = QGuiApplication.clipboard()
        clipboard.setText("\n".join(ids))
        self.status_message.emit(
            f"Copied message id {ids[0]}." if len(ids) == 1 else f"Copied {len(ids)} message ids."
        )

    def use_selected_as_draft(self) -> None:
        row = self.current_row()
        if row is not None:
            self.use_as_draft.emit(row)

    def send_selected_again(self) -> None:
        row = self.current_row()
        if row is not None and row.state is not SendState.SENDING:
            self.send_again_requested.emit(row)

    def refresh_status(self, *, automatic: bool = False) -> None:
        """Look up delivery statuses in the background: the selected rows, or every recent open one.

        `automatic` (the window does it a little after each send): recent open rows whatever is selected,
        and nothing is said unless something changed or went wrong.
        """
        store, refresher = self._model.store, self._refresher
        if store is None or refresher is None or self._refreshing:
            return
        self._automatic = automatic
        wait = refresher.blocked_for()
        if wait > 0:
            if automatic:
                return
            self._report(
                f"Bandwidth asked bwdesk to slow down: status refresh is possible again in {format_wait(wait)}."
            )
            self.refresh_finished.emit(RefreshReport(wait=wait))
            return
        selected = [] if automatic else self.selected_rows()
        rows: list[HistoryRow] | None = None
        if selected:
            rows = [
                r
                for r in selected
                if (r.state is SendState.ACCEPTED and r.message_id) or r.state is SendState.UNKNOWN
            ]
            if not rows:
                self._report(
                    "Only messages Bandwidth accepted (or whose outcome is unknown) have a status to look up; "
                    "none is selected."
                )
                self.refresh_finished.emit(RefreshReport())
                return

        def work() -> tuple[RefreshReport, list[HistoryRow]]:
            report = refresher.refresh(store, rows)
            ids = set(report.updated_rows) | {r.id for r in rows or ()}
            return report, [row for i in sorted(ids) if (row := store.get(i)) is not None]

        self._refreshing = True
        self._update_actions()
        self._update_busy()
        if not automatic:
            self._report("Asking Bandwidth for delivery statuses…")
        self._tasks.run(
            work,
            self._refresh_done,
            self._refresh_failed,
            description="refresh delivery statuses",
            owner=self,
        )

    def _refresh_done(self, result: tuple[RefreshReport, list[HistoryRow]]) -> None:
        report, rows = result
        self._refreshing = False
        for row in rows:
            self._model.update_row(row)
        self._after_task()
        if not self._automatic or report.changed or report.unknown_found or not report.complete:
            self._report(report.summary())
        self.refresh_finished.emit(report)

    def _refresh_failed(self, exc: BaseException) -> None:
        self._refreshing = False
        self._after_task()
        self._report(error_message(exc, "Status refresh"))
        self.refresh_finished.emit(None)

    def check_selected_status(self) -> None:
        """For an `unknown` row: ask Bandwidth whether it was sent (by From, To and time)."""
        row = self.current_row()
        store, refresher = self._model.store, self._refresher
        if row is None or row.state is not SendState.UNKNOWN or store is None or refresher is None:
            return
        if self._checking:
            return

        def work() -> tuple[UnknownCheck, HistoryRow | None]:
            check = refresher.check_unknown(store, row)
            return check, store.get(row.id)

        self._checking = True
        self._update_actions()
        self._update_busy()
        self._report("Asking Bandwidth whether the message was sent…")
        self._tasks.run(
            work, self._check_done, self._check_failed, description="check an unknown send", owner=self
        )

    def _check_done(self, result: tuple[UnknownCheck, HistoryRow | None]) -> None:
        check, row = result
        self._checking = False
        if row is not None:
            self._model.update_row(row)
        self._after_task()
        self._report(check.message)
        self.check_finished.emit(check)

    def _check_failed(self, exc: BaseException) -> None:
        self._checking = False
        self._after_task()
        self._report(error_message(exc, "Check status"))
        self.check_finished.emit(None)

    def export_csv(self, path: str | Path | None = None) -> None:
        """Write the rows matching the current search and filters to a CSV file (asks where, if no `path`)."""
        store = self._model.store
        if store is None or self._exporting:
            return
        if path is None:
            suggested = str(Path.home() / f"bwdesk-history-{self._clock().astimezone():%Y-%m-%d}.csv")
            chosen, _filter = QtWidgets.QFileDialog.getSaveFileName(
                self, "Export history as CSV", suggested, "CSV files (*.csv);;All files (*)"
            )
            if not chosen:
                return
            path = chosen
        target = Path(path)
        query = self.current_query()
        self._exporting = True
        self._update_actions()
        self._update_busy()
        self._report(f"Exporting to {target}…")
        self._tasks.run(
            lambda: store.export_csv(target, query),
            lambda count: self._export_done(target, count),
            lambda exc: self._export_failed(target, exc),
            description="export the history as CSV",
            owner=self,
        )

    def _export_done(self, target: Path, count: int) -> None:
        self._exporting = False
        self._after_task()
        message = f"Exported {count} message{'s' if count != 1 else ''} to {target}."
        self._report(message)
        self.export_finished.emit(True, message)

    def _export_failed(self, target: Path, exc: BaseException) -> None:
        self._exporting = False
        self._after_task()
        if isinstance(exc, OSError):
            message = f"Could not write {target}: {exc.strerror or exc}. Choose another folder or file name."
        else:
            message = error_message(exc, "Export")
        self._report(message)
        self.export_finished.emit(False, message)

    # -- plumbing -------------------------------------------------------------------------------------

    def _action(
        self, text: str, tip: str, slot: Callable[[], None], shortcut: QKeySequence | None = None
    ) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            action.setShortcut(shortcut)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _report(self, message: str) -> None:
        self.status_message.emit(message)

    def _after_task(self) -> None:
        self._update_actions()
        self._update_busy()

    def _apply_filters(self) -> None:
        self._search_timer.stop()
        query = self.current_query()
        if query != self._model.query or self._model.store is None:
            self._model.set_query(query)
        self._update_placeholder()

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        rows = self.selected_rows()
        one = rows[0] if len(rows) == 1 else None
        store, refresher = self._model.store, self._refresher
        self.copy_action.setEnabled(any(r.message_id for r in rows))
        self.refresh_action.setEnabled(store is not None and refresher is not None and not self._refreshing)
        self.draft_action.setEnabled(one is not None)
        self.resend_action.setEnabled(one is not None and one.state is not SendState.SENDING)
        self.check_action.setEnabled(
            one is not None
            and one.state is SendState.UNKNOWN
            and store is not None
            and refresher is not None
            and not self._checking
        )
        self.export_action.setEnabled(store is not None and not self._exporting)

    def _update_busy(self) -> None:
        self.busy.setVisible(self._model.loading or self._refreshing or self._checking or self._exporting)

    def _update_placeholder(self) -> None:
        self.table.set_placeholder(self.empty_text())

    def empty_text(self) -> str:
        """What the table says when it has no rows (empty when it has some)."""
        model = self._model
        if model.rowCount() > 0:
            return ""
        if model.error:
            return model.error
        if model.store is None:
            return "The history is not open."
        if model.loading:
            return "Loading…"
        text = self.search_edit.text().strip()
        if text:
            return f"No match for “{text}”."
        if self.state_filter.currentData() is not None or self.date_filter.currentData() != "any":
            return "No messages match these filters."
        return "No messages yet. What you send appears here."

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter on a row uses it as a new draft; Ctrl+C copies message ids (not the cell's text)."""
        if watched is self.table and isinstance(event, QKeyEvent):
            if event.type() == QEvent.Type.ShortcutOverride and event.matches(QKeySequence.StandardKey.Copy):
                event.accept()  # deliver Ctrl+C to the table as a key press, handled below
                return True
            if event.type() == QEvent.Type.KeyPress:
                if event.matches(QKeySequence.StandardKey.Copy):
                    self.copy_message_ids()
                    return True
                if (
                    event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                    and event.modifiers()
                    in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
                    and self.current_row() is not None
                ):
                    self.use_selected_as_draft()
                    return True
        return super().eventFilter(watched, event)

    def _context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if index.isValid() and not self.table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.table.selectRow(index.row())
        menu = QMenu(self)
        menu.setAccessibleName("History actions")
        for action in (self.copy_action, self.draft_action, self.resend_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.refresh_action, self.check_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.export_action)
        menu.popup(self.table.canvas.mapToGlobal(position))

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        header.setSectionsClickable(False)
        header.setSortIndicatorShown(False)
        header.setStretchLastSection(False)
        metrics = self.fontMetrics()
        pad = 24
        widths = {
            Column.TIME: metrics.horizontalAdvance("2026-11-27 11:15") + pad,
            Column.FROM: metrics.horizontalAdvance("(919) 555-0100") + pad,
            Column.TO: metrics.horizontalAdvance("(919) 555-0123") + pad,
            Column.MEDIA: metrics.horizontalAdvance("Media") + pad,
            Column.TAG: metrics.horizontalAdvance("TICKET-42424") + pad,
            Column.STATUS: metrics.horizontalAdvance("accepted · DELIVERED") + pad,
            Column.SEGMENTS: metrics.horizontalAdvance("Segments") + pad,
            Column.MESSAGE_ID: metrics.horizontalAdvance("1589228074636lm4k2je7j7jklbn2") + pad,
        }
        for column, width in widths.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setSectionResizeMode(Column.TEXT, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(metrics.horizontalAdvance("Media") + 8)


__all__ = [
    "HEADERS",
    "ROW_ROLE",
    "SEARCH_PLACEHOLDER",
    "Column",
    "HistoryModel",
    "HistoryView",
    "status_details",
]
