"""The history pane: a search box, filters and action buttons around the lazily paged table of past sends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets
from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, QObject, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent, QKeySequence, QPainter, QPaintEvent, QPalette
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

from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.history.search import MIN_RUN_DIGITS, HistoryQuery
from bwdesk.core.history.store import DEFAULT_PAGE, HistoryStore
from bwdesk.core.outcome import SendState
from bwdesk.core.phone import default_region
from bwdesk.core.status_words import StatusFilter
from bwdesk.core.team.state import TeamState, TeamStateSource
from bwdesk.ui.feedback import Feedback
from bwdesk.ui.history.actions import HistoryActions
from bwdesk.ui.history.model import Column, HistoryModel
from bwdesk.ui.style import make_action
from bwdesk.ui.tasks import BackgroundTasks

if TYPE_CHECKING:  # core.delivery loads after the window's first paint (docs/design.md §3.1)
    from bwdesk.core.delivery import StatusRefresher

SEARCH_PLACEHOLDER = "Search text, tag or number"
EVERYONE, MINE = "Everyone", "Mine"
SEARCH_DELAY_MS = 150
TEXT_MIN_CHARS = 16  # the Text column is never narrower than about this many characters


def _left_to_their_desk(rows: list[HistoryRow], what: str) -> str:
    """Why an action is off for rows sent from other desks, naming who sent them."""
    names = sorted({r.agent or "another agent" for r in rows}, key=str.casefold)
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Sent by {who} from another desk: only the desk that sent a message can {what}."


def _explain(action: QAction, why_not: str) -> None:
    """An action's tooltip says why it is off for the selection (`why_not`), else what it does."""
    default = action.property("default_tip")
    if default is None:
        default = action.toolTip()
        action.setProperty("default_tip", default)
    action.setToolTip(why_not or str(default))


def word_being_typed_as_prefix(text: str) -> str:
    """Search as you type: the last word, unless finished (a space after it), quoted or too short to be
    worth a prefix search, also matches longer words that start with it ("tech" finds "technician")."""
    head, _, last = text.rpartition(" ")
    if '"' in last or last.endswith("*") or sum(c.isalnum() for c in last) < 3:
        return text
    return f"{head} {last}*" if head else f"{last}*"


class _HistoryTable(QTableView):
    """The table, with the empty-state text drawn where the rows would be."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = ""
        #: The Status column's width range: it gives up room for the reason of a delivery failure (elided) before
        #: it is pushed out of view in a narrow window, and takes it back when there is room.
        self.status_widths = (0, 0)
        # The table's own viewport, kept here: the first `viewport()` call on a viewport Qt created makes
        # PySide6 work out the widget's Python type, which costs about 9 ms of start-up.
        self.canvas = QWidget(self)
        self.canvas.setObjectName("qt_scrollarea_viewport")  # what Qt gives its own viewports
        self.canvas.setBackgroundRole(QPalette.ColorRole.Base)
        self.canvas.setAutoFillBackground(True)
        self.setViewport(self.canvas)

    def fit_text_column(self) -> None:
        """Text takes the width the other columns leave in view: the rest of the row when every column fits,
        otherwise what the columns before it leave, so that Status (left of Text) never goes off screen and
        the columns after Text are the ones a narrow window scrolls to. Qt's own stretching does neither:
        once the columns are wider than the view, it leaves the stretched one as wide as it was."""
        header = self.horizontalHeader()
        if header.count() <= Column.TEXT:
            return
        text_at = header.visualIndex(Column.TEXT)
        before = after = 0
        for column in range(header.count()):
            if column == Column.TEXT or header.isSectionHidden(column):
                continue
            if header.visualIndex(column) < text_at:
                before += header.sectionSize(column)
            else:
                after += header.sectionSize(column)
        room = self.canvas.width()
        least = self.fontMetrics().horizontalAdvance("x") * TEXT_MIN_CHARS
        narrowest, widest = self.status_widths
        if widest and header.visualIndex(Column.STATUS) < text_at:
            status = header.sectionSize(Column.STATUS)
            fitting = max(narrowest, min(widest, room - (before - status) - least))
            if fitting != status:
                before += fitting - status
                # The Text column is fitted below; no second round. `resizeSection` repaints the header itself
                # (asking for its viewport would make PySide6 build every QWidget subclass, ≈ 45M instructions).
                header.blockSignals(True)
                header.resizeSection(Column.STATUS, fitting)
                header.blockSignals(False)
        width = room - before - after
        if width < least:
            width = max(least, room - before)
        if width != header.sectionSize(Column.TEXT):
            header.resizeSection(Column.TEXT, width)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:  # the window, the splitter or a scroll bar changed the room
            self.fit_text_column()
        return super().viewportEvent(event)

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
    """The history pane. The window injects the store, the (one, shared) status refresher and its feedback.

    Signals: `use_as_draft(HistoryRow)`, `send_again_requested(HistoryRow)` (the send session asks first).
    Refresh, Check status and export are `actions` (a `HistoryActions`), which the window's results share.
    """

    use_as_draft = Signal(object)
    send_again_requested = Signal(object)

    def __init__(
        self,
        tasks: BackgroundTasks,
        store: HistoryStore | None = None,
        refresher: StatusRefresher | None = None,
        *,
        region: str | None = None,
        page_size: int = DEFAULT_PAGE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        feedback: Feedback | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("History")
        self._clock = clock
        self._region = (region or default_region()).upper()
        self._me: str | None = None  # this desk's agent, with a team history (None: a history of its own)
        self._reads_local = False  # the team history's rows come from this desk alone for now
        self._store_given = store is not None  # False until the window's services have opened (start-up)
        self.feedback = feedback if feedback is not None else Feedback(self)
        self._model = HistoryModel(tasks, None, page_size=page_size, region=self._region, parent=self)
        self.history_actions = HistoryActions(tasks, self._model, self.feedback, refresher, parent=self)
        # Adds the window's own actions for the selected rows (the do-not-text list, contact names).
        self.menu_extender: Callable[[QMenu, list[HistoryRow]], None] | None = None
        self._build_search_bar()
        self._build_table()
        self._build_actions()
        self._build_layout()

        self._model.loading_changed.connect(self._update_busy)
        self._model.loading_changed.connect(self._update_placeholder)
        self._model.modelReset.connect(self._update_actions)
        self._model.rowsInserted.connect(self._update_placeholder)
        self._model.rowsRemoved.connect(self._update_placeholder)
        self._model.dataChanged.connect(self._update_actions)
        self._model.load_failed.connect(self._load_failed)
        self.history_actions.running_changed.connect(self._update_actions)
        self.history_actions.running_changed.connect(self._update_busy)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        selection.currentChanged.connect(self._update_actions)

        if store is not None:
            self._model.set_store(store)
        self._update_actions()
        self._update_placeholder()

    def _build_search_bar(self) -> None:
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
        self.search_edit.textChanged.connect(self._search_soon)
        self.search_edit.returnPressed.connect(self._apply_filters)

        self.state_filter = QComboBox(self)
        self.state_filter.setAccessibleName("Filter by status")
        self.state_filter.setToolTip("Show only messages whose Status reads one way")
        # The choices are what the Status column says (core.status_words), so a filter never contradicts it.
        self.state_filter.addItem("All statuses", None)
        self.state_filter.setItemData(0, "Show messages of every status", Qt.ItemDataRole.ToolTipRole)
        for choice in StatusFilter:
            self.state_filter.addItem(choice.label, choice)
            self.state_filter.setItemData(
                self.state_filter.count() - 1, choice.description, Qt.ItemDataRole.ToolTipRole
            )
        self.state_filter.currentIndexChanged.connect(self._apply_filters)

        self.agent_filter = QComboBox(self)
        self.agent_filter.setAccessibleName("Filter by agent")
        self.agent_filter.setToolTip("Show the whole team's messages, yours, or one agent's")
        self.agent_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.agent_filter.currentIndexChanged.connect(self._apply_filters)
        self.agent_filter.hide()  # only with a team history

        self.date_filter = QComboBox(self)
        self.date_filter.setAccessibleName("Filter by date")
        self.date_filter.setToolTip("Show only messages sent in this period")
        for label, key in _DATES:
            self.date_filter.addItem(label, key)
        self.date_filter.currentIndexChanged.connect(self._apply_filters)

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

    def _build_table(self) -> None:
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
        self.table.doubleClicked.connect(self.use_selected_as_draft)
        self.table.installEventFilter(self)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self._size_columns()

    def _build_actions(self) -> None:
        def action(
            text: str, tip: str, slot: Callable[[], object], key: QKeySequence | None = None
        ) -> QAction:
            context = Qt.ShortcutContext.WidgetWithChildrenShortcut
            return make_action(self, text, slot, key, tip=tip, context=context)

        self.copy_action = action(
            "Copy message ID",
            "Copy the Bandwidth message id of the selected messages (Ctrl+C)",
            self.copy_message_ids,
            QKeySequence(QKeySequence.StandardKey.Copy),
        )
        self.refresh_action = action(
            "Refresh status",
            "Ask Bandwidth for the delivery status of the selected messages — or, with nothing selected, of "
            "every recent message whose status may still change (F5)",
            self.refresh_status,
            QKeySequence(Qt.Key.Key_F5),
        )
        self.draft_action = action(
            "Use as new draft",
            "Put this message's From, recipients, text, media and tag into the composer (Enter)",
            self.use_selected_as_draft,
        )
        self.resend_action = action(
            "Send again…",
            "Send this message again (you are asked to confirm when it may already have been sent)",
            self.send_selected_again,
        )
        self.check_action = action(
            "Check status",
            "Ask Bandwidth whether a message whose outcome is unknown was sent",
            self.check_selected_status,
        )
        self.export_action = action(
            "Export CSV…",
            "Save the messages that match the search and filters as a CSV file (spreadsheet-safe)",
            self.choose_file_and_export,
        )

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.agent_filter)
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

    # -- what the window uses -------------------------------------------------------------------------

    @property
    def model(self) -> HistoryModel:
        return self._model

    def set_store(self, store: HistoryStore | None) -> None:
        """Show this history (the window's store, or none); the search and filters are kept. A team history
        adds the Agent column and the agent filter (mine, everyone, one agent)."""
        me = store.agent if isinstance(store, TeamStateSource) else None
        if me != self._me:
            self._me = me
            self._reads_local = False
            self.table.setColumnHidden(Column.AGENT, me is None)
            self.agent_filter.setVisible(me is not None)
            self.set_agents([] if me is None else [me])
        self._store_given = True
        self._model.set_store(store)
        self._update_actions()
        self._update_placeholder()

    @property
    def agent(self) -> str | None:
        """This desk's agent in a team history ("mine"); None for a history of its own."""
        return self._me

    def set_agents(self, agents: list[str]) -> None:
        """The agent filter's choices: everyone, mine, then each agent of the team (what was chosen stays)."""
        if self._me is None:
            self.agent_filter.clear()
            return
        chosen = self.agent_filter.currentData()
        self.agent_filter.blockSignals(True)
        self.agent_filter.clear()
        self.agent_filter.addItem(EVERYONE, None)
        self.agent_filter.setItemData(0, "Every agent's messages", Qt.ItemDataRole.ToolTipRole)
        self.agent_filter.addItem(MINE, self._me)
        self.agent_filter.setItemData(1, f"The messages you sent ({self._me})", Qt.ItemDataRole.ToolTipRole)
        others = [a for a in agents if a != self._me]
        if chosen is not None and chosen not in others and chosen != self._me:
            others.append(chosen)  # still chosen, though the team's list no longer names it
        if others:
            self.agent_filter.insertSeparator(2)
        for name in others:
            self.agent_filter.addItem(name, name)
            self.agent_filter.setItemData(
                self.agent_filter.count() - 1, f"The messages {name} sent", Qt.ItemDataRole.ToolTipRole
            )
        index = self.agent_filter.findData(chosen) if chosen is not None else 0
        self.agent_filter.setCurrentIndex(max(index, 0))
        self.agent_filter.blockSignals(False)

    def set_team_state(self, state: TeamState | None) -> None:
        """The team history went away or came back: the whole view is read again, so rows read from this desk
        alone (while away) make way for the team's, and the other way round."""
        reads_local = state is not None and state.reads_local
        if reads_local != self._reads_local:
            self._reads_local = reads_local
            if self._model.store is not None and self._me is not None:
                self._model.set_query(self._model.query)

    def set_refresher(self, refresher: StatusRefresher | None) -> None:
        """The window's one `StatusRefresher`, so pacing and Retry-After are shared by every refresh."""
        self.history_actions.set_refresher(refresher)

    def set_region(self, region: str) -> None:
        self._region = region.upper()
        self._model.set_region(self._region)
        self._apply_filters()

    def shut_down(self) -> None:
        """The window is closing: the store goes (late pages are dropped) and no action starts any more."""
        self._search_timer.stop()
        self.history_actions.shut_down()
        self.set_store(None)

    def tab_stops(self) -> list[QWidget]:
        """The controls Tab visits, in order: search, filters, the action buttons, the table."""
        return [
            self.search_edit,
            self.agent_filter,
            self.state_filter,
            self.date_filter,
            *self.buttons.values(),
            self.table,
        ]

    @Slot()
    def focus_search(self) -> None:
        """For the window's Ctrl+F."""
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    @Slot()
    def reload(self) -> None:
        """After a send: new rows appear at the top (one page is read, in the background)."""
        self._model.reload()

    def current_query(self) -> HistoryQuery:
        """The query the search box and filters describe now (what the table shows and export writes)."""
        typed = self.search_edit.text()
        text = typed.strip()
        query = HistoryQuery.from_text(text, self._region) if text else HistoryQuery(region=self._region)
        if query.text and typed == typed.rstrip():
            query = replace(query, text=word_being_typed_as_prefix(query.text))
        status = self.state_filter.currentData()
        since = _since(str(self.date_filter.currentData()), self._clock())
        agent = self.agent_filter.currentData() if self._me is not None else None
        return replace(query, status=status, since=since, agent=agent)

    def selected_rows(self) -> list[HistoryRow]:
        """The selected rows, newest first."""
        selection = self.table.selectionModel()
        positions = sorted({index.row() for index in selection.selectedRows()})
        return [self._model.row_at(p) for p in positions]

    def current_row(self) -> HistoryRow | None:
        """The one row an action for a single message applies to (the only selected row)."""
        rows = self.selected_rows()
        return rows[0] if len(rows) == 1 else None

    # -- the actions on the selection -------------------------------------------------------------------

    @Slot()
    def copy_message_ids(self) -> None:
        rows = self.selected_rows()
        ids = [r.message_id for r in rows if r.message_id]
        if not ids:
            self.feedback.notify(
                "No message id to copy: Bandwidth did not accept the selected message."
                if rows
                else "Select a message to copy its id."
            )
            return
        QGuiApplication.clipboard().setText("\n".join(ids))
        self.feedback.notify(
            f"Copied message id {ids[0]}." if len(ids) == 1 else f"Copied {len(ids)} message ids."
        )

    @Slot()
    def use_selected_as_draft(self) -> None:
        row = self.current_row()
        if row is not None:
            self.use_as_draft.emit(row)

    @Slot()
    def send_selected_again(self) -> None:
        row = self.current_row()
        if row is not None and row.state is not SendState.SENDING:
            self.send_again_requested.emit(row)

    @Slot()
    def refresh_status(self) -> None:
        """F5: the selected rows' statuses, or with none selected every recent row whose status may change."""
        self.history_actions.refresh_status(self.selected_rows())

    @Slot()
    def check_selected_status(self) -> None:
        """For an `unknown` row: ask Bandwidth whether it was sent (by From, To and time)."""
        row = self.current_row()
        if row is not None and row.state is SendState.UNKNOWN and row.own:
            self.history_actions.check_status(row.id)

    @Slot()
    def choose_file_and_export(self) -> None:
        """Export CSV…: ask where, then write what the search and filters show."""
        suggested = str(Path.home() / f"bwdesk-history-{self._clock().astimezone():%Y-%m-%d}.csv")
        chosen, _filter = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export history as CSV", suggested, "CSV files (*.csv);;All files (*)"
        )
        if chosen:
            self.export_csv(chosen)

    def export_csv(self, path: str | Path) -> None:
        """Write the rows matching the current search and filters to `path` as CSV."""
        self.history_actions.export_csv(Path(path), self.current_query())

    # -- plumbing -------------------------------------------------------------------------------------

    @Slot()
    def _apply_filters(self) -> None:
        self._search_timer.stop()
        query = self.current_query()
        if query != self._model.query or self._model.store is None:
            self._model.set_query(query)
        self._update_placeholder()

    @Slot(str)
    def _search_soon(self, _text: str) -> None:
        self._search_timer.start()  # a burst of typing makes one query, once it pauses

    @Slot(str)
    def _load_failed(self, message: str) -> None:
        self.feedback.warn(message)
        self._update_placeholder()

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_actions()

    @Slot()
    def _update_actions(self) -> None:
        rows = self.selected_rows()
        one = rows[0] if len(rows) == 1 else None
        self.copy_action.setEnabled(any(r.message_id for r in rows))
        # Another desk's rows are that desk's to look up (it holds the credentials that sent them); sending one
        # again is a new send from this desk, asked about like any likely duplicate.
        others = [r for r in rows if not r.own]
        only_others = bool(rows) and len(others) == len(rows)
        self.refresh_action.setEnabled(self.history_actions.can_refresh() and not only_others)
        _explain(
            self.refresh_action, _left_to_their_desk(others, "refresh their status") if only_others else ""
        )
        self.draft_action.setEnabled(one is not None)
        self.resend_action.setEnabled(one is not None and one.state is not SendState.SENDING)
        foreign = one is not None and not one.own
        self.check_action.setEnabled(
            one is not None
            and one.state is SendState.UNKNOWN
            and not foreign
            and self.history_actions.can_check()
        )
        _explain(self.check_action, _left_to_their_desk(others, "check it") if foreign else "")
        self.export_action.setEnabled(self.history_actions.can_export())

    @Slot()
    def _update_busy(self) -> None:
        self.busy.setVisible(self._model.loading or bool(self.history_actions.running))

    @Slot()
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
            # Opening it is the services' first step at start-up; not opened after that is a problem the
            # banner explains.
            return "The history is not open." if self._store_given else "Opening the history…"
        if model.loading:
            return "Loading…"
        text = self.search_edit.text().strip()
        filtered = (
            self.state_filter.currentData() is not None
            or self.date_filter.currentData() != "any"
            or (self._me is not None and self.agent_filter.currentData() is not None)
        )
        if text:
            said = f"No match for “{text}”" + (" with these filters." if filtered else ".")
            digits = sum(c.isdigit() for c in text)
            if text.strip("+()-./ 0123456789") == "" and 0 < digits < MIN_RUN_DIGITS:
                said += (
                    f" Type at least {MIN_RUN_DIGITS} digits of a number to find the numbers containing them."
                )
            return said
        if filtered:
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
        menu = self.context_menu()
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(self.table.canvas.mapToGlobal(position))

    def context_menu(self) -> QMenu:
        """The table's context menu for the selected rows (built here so tests can read it)."""
        menu = QMenu(self)
        menu.setAccessibleName("History actions")
        for action in (self.copy_action, self.draft_action, self.resend_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.refresh_action, self.check_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.export_action)
        rows = self.selected_rows()
        if self.menu_extender is not None and rows:
            menu.addSeparator()
            self.menu_extender(menu, rows)
        return menu

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        header.setSectionsClickable(False)
        header.setSortIndicatorShown(False)
        header.setStretchLastSection(False)
        metrics = self.fontMetrics()
        pad = 24
        self.table.status_widths = (
            metrics.horizontalAdvance("accepted · DELIVERED") + pad,
            metrics.horizontalAdvance("accepted · FAILED 4720 · cannot receive texts (landline?)") + pad,
        )
        widths = {
            Column.TIME: metrics.horizontalAdvance("2026-11-27 11:15") + pad,
            Column.FROM: metrics.horizontalAdvance("(919) 555-0100") + pad,
            Column.TO: metrics.horizontalAdvance("(919) 555-0123") + pad,
            Column.MEDIA: metrics.horizontalAdvance("Media") + pad,
            Column.TAG: metrics.horizontalAdvance("TICKET-42424") + pad,
            # Room for a delivery failure's reason, the commonest of the longer ones (longer ones are elided).
            Column.STATUS: self.table.status_widths[1],
            Column.SEGMENTS: metrics.horizontalAdvance("Segments") + pad,
            Column.MESSAGE_ID: metrics.horizontalAdvance("1589228074636lm4k2je7j7jklbn2") + pad,
            Column.AGENT: metrics.horizontalAdvance("Kateryna Ode") + pad,
        }
        for column, width in widths.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        # Status is shown before Text, and Text takes what is left (eliding): whatever the window's width,
        # what happened to a message stays in view without scrolling sideways; the columns after Text (media,
        # tag, segments, id) are the ones a narrow window scrolls to.
        header.moveSection(header.visualIndex(Column.STATUS), header.visualIndex(Column.TEXT))
        # Who sent it comes right after when (a team history only).
        header.moveSection(header.visualIndex(Column.AGENT), header.visualIndex(Column.TIME) + 1)
        header.setSectionHidden(Column.AGENT, True)
        header.setSectionResizeMode(Column.TEXT, QHeaderView.ResizeMode.Fixed)  # it follows the others
        header.setMinimumSectionSize(metrics.horizontalAdvance("Media") + 8)
        header.sectionResized.connect(
            lambda column, _old, _new: self.table.fit_text_column() if column != Column.TEXT else None
        )
        self.table.fit_text_column()
