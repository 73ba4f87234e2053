"""The window's history pane on a team store (its widgets for the team view come later): the table model pages
the team view by team keys, merges a reload at the top, and the actions refresh only this desk's rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from teamdesk import add, desk

from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.uids import is_team_key
from bwdesk.ui.history.model import HistoryModel
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 20_000


@pytest.fixture
def tasks(qapp: QApplication) -> Iterator[BackgroundTasks]:
    runner = BackgroundTasks(max_threads=2)
    yield runner
    runner.wait_for_threads(WAIT)


def test_the_table_pages_the_team_view_and_merges_new_rows_at_the_top(
    qtbot: Any, qtmodeltester: Any, tasks: BackgroundTasks, pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
    ):
        for i in range(30):
            add(ana if i % 3 else ben, f"+1919555{1000 + i:04d}", text=f"message {i}")
        assert ana.flush(20) and ben.flush(20)
        model = HistoryModel(tasks, ana, page_size=7, region="US")
        qtmodeltester.check(model)
        qtbot.waitUntil(lambda: model.exhausted and not model.loading, timeout=WAIT)
        rows = model.loaded_rows()
        assert [r.text for r in rows] == [f"message {i}" for i in reversed(range(30))]
        assert all(is_team_key(r.id) for r in rows) and len({r.id for r in rows}) == 30
        assert {r.agent for r in rows if not r.own} == {"Ben Ode"}
        # Ben sends; Ana's view reloads its top page (as after a send, or when `latest_change()` moved).
        add(ben, "+19195559999", text="new from ben")
        assert ben.flush(20)
        with qtbot.waitSignal(model.reloaded, timeout=WAIT):
            model.reload()
        assert model.loaded_rows()[0].text == "new from ben" and model.rowCount() == 31
        model.set_query(HistoryQuery(agent="Ben Ode"))
        qtbot.waitUntil(lambda: model.exhausted and not model.loading, timeout=WAIT)
        assert model.rowCount() == 11 and {r.agent for r in model.loaded_rows()} == {"Ben Ode"}
