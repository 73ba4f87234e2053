"""The history pane: the lazily paged model (under Qt's model tester), search, filters and row actions,
against a real SQLite history in the test's profile and the sandbox for delivery statuses."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QTableView

from bwdesk.core import paths
from bwdesk.core.bandwidth import BandwidthClient
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.delivery import StatusRefresher
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.history.store import HistoryError
from bwdesk.core.message import Draft, to_requests
from bwdesk.core.outcome import ApiError, SendResult, SendState
from bwdesk.core.status_words import StatusFilter, describe_error_code
from bwdesk.sandbox import LANDLINE_NUMBER, Fault, FaultKind, Sandbox
from bwdesk.ui.history.model import Column, HistoryModel
from bwdesk.ui.history.view import SEARCH_PLACEHOLDER, HistoryView
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 5000


@pytest.fixture
def tasks(qapp: QApplication) -> Iterator[BackgroundTasks]:
    runner = BackgroundTasks(max_threads=2)
    yield runner
    runner.wait_for_threads(WAIT)


@pytest.fixture
def store(profile: Path) -> Iterator[SqliteHistoryStore]:
    history = SqliteHistoryStore.open(paths.history_file(profile))
    yield history
    history.close()


def add_rows(store: SqliteHistoryStore, count: int, start: int = 0) -> list[int]:
    """`count` accepted rows; every 10th tagged TICKET-<n>, every 7th to +1 919 555 0177, every 5th a
    'technician' text, row 3 starting with a formula."""
    ids = []
    for i in range(start, start + count):
        to = "+19195550177" if i % 7 == 0 else f"+1919555{1000 + i:04d}"
        text = f"Your technician arrives soon ({i})" if i % 5 == 0 else f"Order {i} shipped"
        if i == 3:
            text = "=HYPERLINK(1)"
        tag = f"TICKET-{i}" if i % 10 == 0 else ""
        row_id = store.record_sending("+19195550100", [to], "separate", text, (), tag, 1)
        store.settle(row_id, SendResult(SendState.ACCEPTED, 202, f"msg-{i}", 1))
        ids.append(row_id)
    return ids


def wait_idle(qtbot: Any, model: HistoryModel) -> None:
    qtbot.waitUntil(lambda: not model.loading, timeout=WAIT)


def make_view(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore | None, **kwargs: Any
) -> HistoryView:
    view = HistoryView(tasks, store, region="US", **kwargs)
    qtbot.addWidget(view)
    if store is not None:
        wait_idle(qtbot, view.model)
    return view


def ids_in(model: HistoryModel) -> list[int]:
    return [r.id for r in model.loaded_rows()]


# --- the model ---------------------------------------------------------------------------------------------


def test_model_passes_the_model_tester_while_pages_arrive_and_rows_change(
    qtbot: Any, qtmodeltester: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    add_rows(store, 300)
    model = HistoryModel(tasks, store, page_size=40, region="US")
    # The tester stays connected, so every insert, reset and change below is checked too; it also calls
    # fetchMore() after every change, so pages keep arriving until every row is in.
    qtmodeltester.check(model)
    qtbot.waitUntil(lambda: model.exhausted and not model.loading, timeout=WAIT)
    assert model.rowCount() == 300 and len(set(ids_in(model))) == 300
    model.set_query(HistoryQuery(text="technician"))
    qtbot.waitUntil(lambda: model.exhausted and not model.loading, timeout=WAIT)
    assert model.rowCount() == 60 and all("technician" in r.text for r in model.loaded_rows())
    new = add_rows(store, 3, start=1000)  # 1000 and 1005: technician texts; 1001 not
    with qtbot.waitSignal(model.reloaded, timeout=WAIT) as blocker:
        model.reload()
    assert blocker.args == [1] and model.row_at(0).id == new[0]
    store.update_delivery(new[0], "DELIVERED", None)
    changed = store.get(new[0])
    assert changed is not None and model.update_row(changed)
    assert model.index(0, Column.STATUS).data() == "accepted · DELIVERED"
    # rows that stop matching are removed by a reload (two sends in flight; one settles)
    first = store.record_sending("+19195550100", ["+19195550123"], "separate", "a", (), "", 1)
    second = store.record_sending("+19195550100", ["+19195550124"], "separate", "b", (), "", 1)
    model.set_query(HistoryQuery(state=SendState.SENDING))
    qtbot.waitUntil(lambda: model.exhausted and not model.loading, timeout=WAIT)
    assert ids_in(model) == [second, first]
    store.settle(first, SendResult(SendState.ACCEPTED, 202, "msg-a", 1))
    with qtbot.waitSignal(model.reloaded, timeout=WAIT):
        model.reload()
    assert ids_in(model) == [second]
    model.set_query(HistoryQuery(state=SendState.UNKNOWN))
    wait_idle(qtbot, model)
    assert model.rowCount() == 0


def test_only_one_page_is_read_until_more_is_asked_for(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    ids = add_rows(store, 250)
    model = HistoryModel(tasks, store, page_size=100, region="US")
    with qtbot.waitSignal(model.page_loaded, timeout=WAIT):
        pass
    assert model.rowCount() == 100 and not model.loading  # nothing else is on its way
    assert ids_in(model) == ids[::-1][:100]  # newest first
    assert model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.page_loaded, timeout=WAIT):
        model.fetchMore(QModelIndex())
        model.fetchMore(QModelIndex())  # a second ask while the page is on its way is not doubled
    assert model.rowCount() == 200
    with qtbot.waitSignal(model.page_loaded, timeout=WAIT) as last:
        model.fetchMore(QModelIndex())
    assert last.args == [50] and model.rowCount() == 250 and not model.canFetchMore(QModelIndex())
    assert ids_in(model) == ids[::-1]


def test_scrolling_the_table_to_the_bottom_loads_the_next_page(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    add_rows(store, 250)
    view = make_view(qtbot, tasks, store)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    assert view.model.rowCount() == 100
    view.table.scrollToBottom()
    qtbot.waitUntil(lambda: view.model.rowCount() == 200, timeout=WAIT)


class GatedStore:
    """A real store whose searches for one text wait until the test opens the gate."""

    def __init__(self, store: SqliteHistoryStore, gated_text: str) -> None:
        self.store = store
        self.gated_text = gated_text
        self.gate = threading.Event()
        self.error: Exception | None = None

    def search(self, query: HistoryQuery, limit: int = 100, before_id: int | None = None) -> Any:
        if query.text == self.gated_text:
            self.gate.wait(WAIT / 1000)
        if self.error is not None:
            raise self.error
        return self.store.search(query, limit=limit, before_id=before_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_page_for_an_old_query_is_dropped(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    add_rows(store, 30)
    gated = GatedStore(store, "technician")
    model = HistoryModel(tasks, None, page_size=100, region="US")
    model.set_store(gated)  # type: ignore[arg-type]
    wait_idle(qtbot, model)
    model.set_query(HistoryQuery(text="technician"))  # held at the gate
    with qtbot.waitSignal(model.page_loaded, timeout=WAIT):
        model.set_query(HistoryQuery(text="shipped"))
    shipped = model.rowCount()
    assert shipped == 23 and all("shipped" in r.text for r in model.loaded_rows())
    gated.gate.set()
    tasks.wait_for_threads(WAIT)
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=WAIT)
    assert model.rowCount() == shipped and all("shipped" in r.text for r in model.loaded_rows())


def test_a_history_error_is_shown_in_words(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    gated = GatedStore(store, "")
    gated.gate.set()
    gated.error = HistoryError("Could not search the history: the disk is full. Free some disk space.")
    view = HistoryView(tasks, None, region="US")
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.feedback.told, timeout=WAIT) as shown:
        view.set_store(gated)  # type: ignore[arg-type]
    told = [t.text for t in shown.args]
    assert told == ["Could not search the history: the disk is full. Free some disk space."]
    assert view.empty_text() == told[0] and view.table.placeholder() == told[0]
    assert not view.model.canFetchMore(QModelIndex())


def test_reload_puts_new_rows_on_top_and_updates_changed_ones(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    ids = add_rows(store, 150)
    model = HistoryModel(tasks, store, page_size=100, region="US")
    wait_idle(qtbot, model)
    with qtbot.waitSignal(model.page_loaded, timeout=WAIT):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 150
    sending = store.record_sending("+19195550100", ["+19195550123"], "separate", "new one", (), "", 1)
    store.update_delivery(ids[-1], "DELIVERED", None)
    with qtbot.waitSignal(model.reloaded, timeout=WAIT) as added:
        model.reload()
    assert added.args == [1] and model.rowCount() == 151
    assert model.row_at(0).id == sending and model.index(0, Column.STATUS).data() == "sending"
    assert model.index(1, Column.STATUS).data() == "accepted · DELIVERED"
    assert ids_in(model) == [sending, *ids[::-1]]

    # more new rows than a page: the table starts again from the first page
    many = add_rows(store, 120, start=500)
    with qtbot.waitSignal(model.reloaded, timeout=WAIT):
        model.reload()
    assert model.rowCount() == 100 and ids_in(model) == many[::-1][:100] and model.canFetchMore(QModelIndex())


def test_cells_and_tooltips(qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore) -> None:
    row_id = store.record_sending(
        "+19195550100",
        ["+19195550123", "+442079460000"],
        "group",
        "Line one\nline <b>two</b>",
        ("https://example.com/a.jpg", "https://example.com/b.jpg"),
        "TICKET-9",
        2,
    )
    store.settle(row_id, SendResult(SendState.ACCEPTED, 202, "msg-x", 2))
    store.update_delivery(row_id, "FAILED", 4720)
    rejected = store.record_sending("+19195550100", ["+19195550124"], "separate", "hi", (), "", 1)
    store.settle(
        rejected,
        SendResult(
            SendState.REJECTED, 400, error=ApiError("The 'to' number is invalid", "request-validation", 400)
        ),
    )
    model = HistoryModel(tasks, store, region="US")
    wait_idle(qtbot, model)

    def cell(row: int, column: Column, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return model.index(row, column).data(role)

    assert cell(1, Column.FROM) == "(919) 555-0100"
    assert cell(1, Column.TO) == "(919) 555-0123, +44 20 7946 0000"
    assert cell(1, Column.TEXT) == "Line one line <b>two</b>"  # one line in the table
    tip = cell(1, Column.TEXT, Qt.ItemDataRole.ToolTipRole)
    assert "Line one\nline &lt;b&gt;two&lt;/b&gt;" in tip  # all of it, never read as HTML
    assert (
        cell(1, Column.MEDIA) == "2" and cell(1, Column.TAG) == "TICKET-9" and cell(1, Column.SEGMENTS) == "2"
    )
    assert cell(1, Column.STATUS) == "accepted · FAILED 4720 · cannot receive texts (landline?)"
    status_tip = cell(1, Column.STATUS, Qt.ItemDataRole.ToolTipRole)
    assert (
        "cannot receive texts" in status_tip and describe_error_code(4720).split(":")[1].strip() in status_tip
    )
    assert cell(1, Column.MESSAGE_ID) == "msg-x"
    assert cell(0, Column.STATUS) == "rejected · HTTP 400"
    assert "The &#x27;to&#x27; number is invalid" in cell(0, Column.STATUS, Qt.ItemDataRole.ToolTipRole)
    assert "Newest first" in model.headerData(
        Column.TIME, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )


# --- the view: search and filters ---------------------------------------------------------------------------


def test_search_box_narrows_by_text_tag_and_number_in_any_format(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    add_rows(store, 60)
    view = make_view(qtbot, tasks, store)
    assert view.search_edit.placeholderText() == SEARCH_PLACEHOLDER
    assert view.model.rowCount() == 60

    def search(text: str) -> list[Any]:
        with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
            view.search_edit.setText(text)  # the query runs once the typing pauses
        return view.model.loaded_rows()

    rows = search("technician")
    assert len(rows) == 12 and all("technician" in r.text for r in rows)
    assert [r.tag for r in search("TICKET-30")] == ["TICKET-30"]
    rows = search("(919) 555-0177")
    assert len(rows) == 9 and all(r.to == ("+19195550177",) for r in rows)
    assert search("xylophone") == []
    assert view.empty_text() == "No match for “xylophone”."
    assert search("019") == []  # too few digits to be a part of a number (outside review: said nothing)
    assert view.empty_text() == (
        "No match for “019”. Type at least 4 digits of a number to find the numbers containing them."
    )
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        view.state_filter.setCurrentIndex(view.state_filter.findText("Failed"))
    assert view.empty_text().startswith("No match for “019” with these filters.")
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        view.state_filter.setCurrentIndex(0)
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        qtbot.keyClick(view.search_edit, Qt.Key.Key_Escape)  # Esc clears the search
    assert view.search_edit.text() == "" and view.model.rowCount() == 60


def test_the_word_being_typed_finds_longer_words_a_finished_one_does_not(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    add_rows(store, 20)
    view = make_view(qtbot, tasks, store)

    def search(text: str) -> list[Any]:
        with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
            view.search_edit.setText(text)
        return view.model.loaded_rows()

    assert len(search("tech")) == 4  # "technician", while it is being typed
    assert search("tech ") == []  # a finished word matches whole words only
    assert len(search("your tech")) == 4
    assert len(search('"your technician"')) == 4  # a quoted phrase stays a phrase
    assert search("te") == []  # two letters are too few for a prefix: whole words only
    assert [r.tag for r in search("TICKET-1")] == ["TICKET-10"]


def test_typing_is_debounced_into_one_query(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    add_rows(store, 20)
    view = make_view(qtbot, tasks, store)
    queries: list[HistoryQuery] = []
    view.model.modelReset.connect(lambda: queries.append(view.model.query))
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        qtbot.keyClicks(view.search_edit, "shipped")
    assert [q.text for q in queries] == ["shipped*"]  # the word being typed matches words it starts


def test_the_table_paints_its_empty_state_on_a_viewport_like_qts_own(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    """The table owns its viewport (a start-up saving); it must look and behave like the one Qt makes."""
    view = make_view(qtbot, tasks, store)
    view.resize(700, 400)
    view.show()
    qtbot.waitExposed(view)
    stock = QTableView()
    qtbot.addWidget(stock)
    stock.show()
    qtbot.waitExposed(stock)
    ours, theirs = view.table.viewport(), stock.viewport()
    assert ours is view.table.canvas
    for prop in (
        "objectName",
        "backgroundRole",
        "autoFillBackground",
        "hasMouseTracking",
        "contextMenuPolicy",
    ):
        assert getattr(ours, prop)() == getattr(theirs, prop)(), prop
    assert ours.focusProxy() is view.table
    assert [a for a in Qt.WidgetAttribute if ours.testAttribute(a)] == [
        a for a in Qt.WidgetAttribute if theirs.testAttribute(a)
    ]
    image = ours.grab().toImage()
    base = ours.palette().color(QPalette.ColorRole.Base)
    assert image.pixelColor(image.width() - 5, image.height() - 5) == base  # filled like a table
    text = ours.palette().placeholderText().color()
    assert any(  # the empty-state sentence is drawn on it
        image.pixelColor(x, y) != base for x in range(0, image.width(), 2) for y in range(12, 40)
    ), text.name()


def test_state_filter_and_empty_states(qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore) -> None:
    view = make_view(qtbot, tasks, store)
    assert view.empty_text() == "No messages yet. What you send appears here."
    add_rows(store, 5)
    unknown = store.record_sending("+19195550100", ["+19195550123"], "separate", "lost", (), "", 1)
    store.settle(unknown, SendResult(SendState.UNKNOWN, detail="connection reset"))
    undelivered = store.record_sending("+19195550100", ["+19195550198"], "separate", "stop", (), "", 1)
    store.settle(undelivered, SendResult(SendState.ACCEPTED, message_id="m-stop", segments=1))
    store.update_delivery(undelivered, "FAILED", 4775)
    assert [view.state_filter.itemText(i) for i in range(view.state_filter.count())] == [
        "All statuses",
        *(choice.label for choice in StatusFilter),
    ]
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        view.state_filter.setCurrentIndex(view.state_filter.findData(StatusFilter.UNKNOWN))
    assert ids_in(view.model) == [unknown]
    # "Failed" finds what the Status column shows as failed: accepted, then not delivered.
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        view.state_filter.setCurrentIndex(view.state_filter.findData(StatusFilter.FAILED))
    assert ids_in(view.model) == [undelivered]
    assert "FAILED" in view.model.index(0, Column.STATUS).data()
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        view.state_filter.setCurrentIndex(view.state_filter.findData(StatusFilter.REJECTED))
    assert view.model.rowCount() == 0 and view.empty_text() == "No messages match these filters."
    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        view.state_filter.setCurrentIndex(0)
    assert view.model.rowCount() == 7


def test_date_filter(qtbot: Any, tasks: BackgroundTasks, profile: Path) -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    moments = iter([now - timedelta(days=40), now - timedelta(days=3), now - timedelta(hours=1)])
    history = SqliteHistoryStore.open(paths.history_file(profile), clock=lambda: next(moments, now))
    try:
        for _ in range(3):
            history.record_sending("+19195550100", ["+19195550123"], "separate", "x", (), "", 1)
        view = make_view(qtbot, tasks, history, clock=lambda: now)
        assert view.model.rowCount() == 3
        with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
            view.date_filter.setCurrentIndex(view.date_filter.findText("Last 7 days"))
        assert view.model.rowCount() == 2
        with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
            view.date_filter.setCurrentIndex(view.date_filter.findText("Last 30 days"))
        assert view.model.rowCount() == 2
        with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
            view.date_filter.setCurrentIndex(view.date_filter.findText("Any time"))
        assert view.model.rowCount() == 3
    finally:
        tasks.wait_for_threads(WAIT)
        history.close()


def test_every_control_has_an_accessible_name_and_a_tooltip(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    view = make_view(qtbot, tasks, store)
    controls = [view.search_edit, view.state_filter, view.date_filter, view.busy, *view.buttons.values()]
    for control in controls:
        assert control.accessibleName(), control
        assert control.toolTip(), control
    assert view.table.accessibleName() == "Sent messages"


# --- the view: row actions -------------------------------------------------------------------------------------


def select(view: HistoryView, *positions: int) -> None:
    selection = view.table.selectionModel()
    flag = QItemSelectionModel.SelectionFlag
    selection.clearSelection()
    for position in positions:
        selection.select(view.model.index(position, 0), flag.Select | flag.Rows)
    if positions:
        selection.setCurrentIndex(view.model.index(positions[0], 0), flag.NoUpdate)


def test_use_as_draft_send_again_and_copy_carry_the_row(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore
) -> None:
    ids = add_rows(store, 3)
    view = make_view(qtbot, tasks, store)
    assert not view.draft_action.isEnabled() and not view.copy_action.isEnabled()
    select(view, 1)
    assert view.draft_action.isEnabled() and view.resend_action.isEnabled()
    view.table.setFocus()
    with qtbot.waitSignal(view.use_as_draft, timeout=WAIT) as drafted:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)  # Enter on a row = use as new draft
    assert drafted.args[0].id == ids[1] and drafted.args[0].text == "Order 1 shipped"
    with qtbot.waitSignal(view.send_again_requested, timeout=WAIT) as again:
        view.resend_action.trigger()
    assert again.args[0].id == ids[1]
    with qtbot.waitSignal(view.feedback.told, timeout=WAIT):
        qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "msg-1"
    select(view, 0, 2)
    assert not view.draft_action.isEnabled()  # one message at a time
    view.copy_action.trigger()
    assert QApplication.clipboard().text() == "msg-2\nmsg-0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sandbox_client(sandbox: Sandbox) -> BandwidthClient:
    return BandwidthClient(
        sandbox.api_base, sandbox.account_id, BasicCredentials(sandbox.username, sandbox.password)
    )


def send_and_record(sandbox: Sandbox, client: BandwidthClient, store: SqliteHistoryStore, to: str) -> int:
    draft = Draft(sender=sandbox.numbers[0], recipients=(to,), text=f"Hello {to}", region="US")
    (payload,) = to_requests(draft, sandbox.application_id)
    row_id = store.record_sending(draft.sender, [to], "separate", draft.text, (), "", 1)
    result = client.send(payload)
    assert result.state is SendState.ACCEPTED
    store.settle(row_id, result)
    return row_id


def test_refresh_turns_rows_delivered_and_failed_with_the_code_in_words(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore, sandbox: Sandbox
) -> None:
    client = sandbox_client(sandbox)
    delivered = send_and_record(sandbox, client, store, "+19195550123")
    landline = send_and_record(sandbox, client, store, LANDLINE_NUMBER)
    refresher = StatusRefresher(client, sleep=lambda _s: None)
    view = make_view(qtbot, tasks, store, refresher=refresher)
    assert view.model.index(0, Column.STATUS).data() == "accepted"
    messages: list[str] = []
    view.feedback.told.connect(lambda told: messages.append(told.text))
    with qtbot.waitSignal(view.history_actions.refresh_finished, timeout=WAIT) as finished:
        view.refresh_status()  # nothing selected: every recent row whose status may change
    report = finished.args[0]
    assert report.checked == 2 and report.changed == 2
    assert (
        messages[-1]
        == report.summary()
        == (
            "Checked 2 messages, 2 changed. "
            "Not delivered: (919) 555-0199 — 4720: the number cannot receive texts — often a landline."
        )
    )
    rows = {r.id: r for r in view.model.loaded_rows()}
    assert rows[delivered].delivery_status == "DELIVERED"
    assert rows[landline].delivery_status == "FAILED" and rows[landline].error_code == 4720
    position = view.model.position_of(landline)
    assert view.model.index(position, Column.STATUS).data() == (
        "accepted · FAILED 4720 · cannot receive texts (landline?)"
    )
    tip = view.model.index(position, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "the number cannot receive texts — often a landline" in tip
    client.close()


def test_refresh_of_the_selected_rows_only(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore, sandbox: Sandbox
) -> None:
    client = sandbox_client(sandbox)
    send_and_record(sandbox, client, store, "+19195550123")
    landline = send_and_record(sandbox, client, store, LANDLINE_NUMBER)
    view = make_view(qtbot, tasks, store, refresher=StatusRefresher(client, sleep=lambda _s: None))
    select(view, view.model.position_of(landline) or 0)
    before = sandbox.requests.count("GET", "/messages")
    with qtbot.waitSignal(view.history_actions.refresh_finished, timeout=WAIT) as finished:
        view.refresh_action.trigger()
    assert finished.args[0].checked == 1 and sandbox.requests.count("GET", "/messages") == before + 1
    assert [r.delivery_status for r in view.model.loaded_rows()] == ["FAILED", None]
    client.close()


def test_retry_after_from_the_list_api_holds_every_refresh_until_it_passes(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore, sandbox: Sandbox
) -> None:
    client = sandbox_client(sandbox)
    row_id = send_and_record(sandbox, client, store, "+19195550123")
    clock = FakeClock()
    refresher = StatusRefresher(client, clock=clock, sleep=lambda _s: None)
    view = make_view(qtbot, tasks, store, refresher=refresher)
    sandbox.inject(Fault(FaultKind.RATE_LIMIT, method="GET", path_suffix="/messages", retry_after=30))
    messages: list[str] = []
    view.feedback.told.connect(lambda told: messages.append(told.text))
    with qtbot.waitSignal(view.history_actions.refresh_finished, timeout=WAIT) as first:
        view.refresh_status()
    assert first.args[0].wait == 30 and "try again in 30 s" in messages[-1]
    asked = sandbox.requests.count("GET", "/messages")

    clock.now += 20
    with qtbot.waitSignal(view.history_actions.refresh_finished, timeout=WAIT) as refused:
        view.refresh_status()
    assert refused.args[0].wait == pytest.approx(10) and "again in 10 s" in messages[-1]
    assert sandbox.requests.count("GET", "/messages") == asked  # nothing was sent while it was in force

    clock.now += 11
    with qtbot.waitSignal(view.history_actions.refresh_finished, timeout=WAIT) as later:
        view.refresh_status()
    assert later.args[0].checked == 1 and sandbox.requests.count("GET", "/messages") == asked + 1
    assert view.model.row_at(0).id == row_id and view.model.row_at(0).delivery_status == "DELIVERED"
    client.close()


def test_check_status_of_an_unknown_send(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore, sandbox: Sandbox
) -> None:
    client = sandbox_client(sandbox)
    row_id = store.record_sending(sandbox.numbers[0], ["+19195550123"], "separate", "lost?", (), "", 1)
    store.settle(row_id, SendResult(SendState.UNKNOWN, detail="connection reset after the request was sent"))
    view = make_view(qtbot, tasks, store, refresher=StatusRefresher(client, sleep=lambda _s: None))
    select(view, 0)
    assert view.check_action.isEnabled()
    with qtbot.waitSignal(view.history_actions.check_finished, timeout=WAIT) as finished:
        view.check_action.trigger()
    check = finished.args[0]
    assert check.found is None and "probably not sent" in check.message
    assert sandbox.requests.count("GET", "/messages") == 1
    client.close()


def test_export_writes_the_matching_rows_with_formulas_neutralised(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore, tmp_path: Path
) -> None:
    add_rows(store, 12)
    view = make_view(qtbot, tasks, store)
    target = tmp_path / "all.csv"
    with qtbot.waitSignal(view.history_actions.export_finished, timeout=WAIT) as done:
        view.export_csv(target)
    assert done.args == [True, f"Exported 12 messages to {target}."]
    with open(target, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    formula = next(r for r in rows if r["message_id"] == "msg-3")
    assert formula["text"] == "'=HYPERLINK(1)" and formula["from"] == "'+19195550100"

    with qtbot.waitSignal(view.model.page_loaded, timeout=WAIT):
        view.search_edit.setText("technician")
    narrowed = tmp_path / "narrowed.csv"
    with qtbot.waitSignal(view.history_actions.export_finished, timeout=WAIT) as done:
        view.export_csv(narrowed)
    assert done.args[0] is True and done.args[1].startswith("Exported 3 messages")


def test_export_to_a_folder_that_does_not_exist_says_so(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore, tmp_path: Path
) -> None:
    view = make_view(qtbot, tasks, store)
    with qtbot.waitSignal(view.history_actions.export_finished, timeout=WAIT) as done:
        view.export_csv(tmp_path / "missing" / "out.csv")
    assert done.args[0] is False and "Could not write" in done.args[1] and "No such file" in done.args[1]


def test_check_status_finds_an_unknown_send_that_bandwidth_has(
    qtbot: Any, tasks: BackgroundTasks, store: SqliteHistoryStore, sandbox: Sandbox
) -> None:
    client = sandbox_client(sandbox)
    draft = Draft(sender=sandbox.numbers[0], recipients=("+19195550123",), text="did it go?", region="US")
    (payload,) = to_requests(draft, sandbox.application_id)
    row_id = store.record_sending(draft.sender, ["+19195550123"], "separate", draft.text, (), "", 1)
    sent = client.send(payload)  # it reached Bandwidth, but (as far as the row knows) the answer was lost
    store.settle(row_id, SendResult(SendState.UNKNOWN, detail="connection reset after the request was sent"))
    view = make_view(qtbot, tasks, store, refresher=StatusRefresher(client, sleep=lambda _s: None))
    select(view, 0)
    with qtbot.waitSignal(view.history_actions.check_finished, timeout=WAIT) as finished:
        view.check_action.trigger()
    assert (
        finished.args[0].found.message_id == sent.message_id
        and "do not send it again" in finished.args[0].message
    )
    row = view.model.row_at(0)
    assert row.state is SendState.ACCEPTED and row.message_id == sent.message_id
    assert not view.check_action.isEnabled()  # no longer unknown
    client.close()


def test_the_empty_table_says_the_history_is_opening_until_the_window_gives_it_one(qtbot: Any) -> None:
    """At start-up the table is empty for a moment: "Opening the history…", not a failure (outside check);
    a history that could not be opened (none given) says so."""
    from bwdesk.ui.history.view import HistoryView
    from bwdesk.ui.tasks import BackgroundTasks

    view = HistoryView(BackgroundTasks())
    qtbot.addWidget(view)
    assert view.empty_text() == "Opening the history…"
    view.set_store(None)
    assert view.empty_text() == "The history is not open."
