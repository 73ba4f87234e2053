"""The result panel's room: made before the results come, grown only when a line needs it, capped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget

from bwdesk.core.outcome import SendResult, SendState
from bwdesk.ui.results import ROWS_MAX_HEIGHT, ResultEntry, ResultPanel


def accepted(row_id: int) -> ResultEntry:
    return ResultEntry(row_id, ("+19195550123",), SendResult(SendState.ACCEPTED, 202, f"m-{row_id}", 1))


@pytest.fixture
def panel(qtbot) -> Iterator[ResultPanel]:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    panel = ResultPanel()
    layout.addWidget(panel)
    host.resize(600, 400)
    host.show()
    qtbot.waitExposed(host)
    yield panel


def test_room_is_made_before_the_results_and_they_fill_it(qtbot, panel: ResultPanel) -> None:
    panel.show_status("Sending 2 messages…")
    panel.make_room(2)
    rows = panel._scroll
    room = rows.height() if rows.minimumHeight() == rows.maximumHeight() else -1
    assert rows.isVisibleTo(panel) and room > 0
    panel.add_result(accepted(1))
    panel.add_result(accepted(2))
    assert rows.minimumHeight() == rows.maximumHeight() == room  # filled, not grown
    last = panel.row_widget(2)
    assert last is not None
    qtbot.waitUntil(lambda: last.isVisible() and last.geometry().top() > 0)
    assert last.geometry().bottom() < room  # both lines within the room made for them


def test_a_long_outcome_grows_the_room_up_to_the_cap_and_clear_gives_it_back(panel: ResultPanel) -> None:
    panel.make_room(1)
    room = panel._scroll.maximumHeight()
    lost = SendResult(SendState.UNKNOWN, detail="the connection was reset after the request was sent " * 6)
    panel.add_result(ResultEntry(7, ("+19195550123",), lost))
    assert room < panel._scroll.maximumHeight() <= ROWS_MAX_HEIGHT  # the wrapped line has the room it needs
    panel.make_room(40)
    assert panel._scroll.maximumHeight() == ROWS_MAX_HEIGHT  # beyond it, the lines scroll
    panel.clear()
    assert not panel.isVisible() and panel.entries() == []
