"""A desk holds a small, fixed number of connections to the team database however long the window runs
(outside review: the window's pool threads opened one per job — the team view's poll every 1.5 s — and the
database ran out of connection slots for every desk within a minute)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pgserver import AGENT_USER
from teamdesk import open_desk

from bwdesk.ui.tasks import BackgroundTasks


def agent_connections(pg_server: Any, db: str) -> int:
    [(count,)] = pg_server.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND datname = %s", (AGENT_USER, db)
    )
    return int(count)


def test_many_jobs_on_the_window_s_pool_reuse_its_threads_connections(
    qtbot: Any, pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    store = open_desk(pg_server, team_database, tmp_path / "ana", "Ana Lima")
    runner = BackgroundTasks(max_threads=2)
    try:
        answers: list[object] = []
        for _ in range(40):  # a minute of the team view's polling, and some searches
            runner.run(store.latest_change, answers.append)
        qtbot.waitUntil(lambda: len(answers) == 40, timeout=30_000)
        # two pool threads' readers, the copier's and the duplicate guard's at most
        assert agent_connections(pg_server, team_database) <= 4
    finally:
        runner.wait_for_threads(10_000)
        store.close()
