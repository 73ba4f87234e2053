"""Helpers for tests of the team store: desks (profiles) pointed at one team database on the test server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pgserver import ADMIN_USER

from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.paths import history_file
from bwdesk.core.team.config import TeamConfig, TeamPassword
from bwdesk.core.team.identity import desk_id
from bwdesk.core.team.state import TeamLink
from bwdesk.core.team.store import TeamHistoryStore, open_team_store
from bwdesk.core.team.url import parse_history_url

FROM = "+19195550100"


def team_url(pg_server: Any, db: str) -> str:
    return str(pg_server.url(db, sslmode="verify-full", sslrootcert=str(pg_server.ca_file)))


def open_desk(
    pg_server: Any, db: str, profile: Path, agent: str, *, start: bool = True, **options: Any
) -> TeamHistoryStore:
    """The team store of a desk whose profile is `profile`, signed in as the app's role."""
    profile.mkdir(parents=True, exist_ok=True)
    journal = SqliteHistoryStore.open(history_file(profile))
    config = TeamConfig(parse_history_url(team_url(pg_server, db)), "test", agent, desk_id(profile))
    password = TeamPassword(pg_server.agent_password, "test")
    # Short waits, so a test sees the copier come back quickly after the server does (0.1 s to 3 s).
    settings: dict[str, Any] = {"link": TeamLink(wait_scale=0.1), "copier": {"poll": 0.1, "heartbeat": 1.0}}
    settings.update(options)
    if not start:
        journal.enable_outbox(config.url.where)
        return TeamHistoryStore(journal, config, password, **settings)
    return open_team_store(journal, config, password, **settings)


@contextlib.contextmanager
def desk(pg_server: Any, db: str, profile: Path, agent: str, **options: Any) -> Iterator[TeamHistoryStore]:
    store = open_desk(pg_server, db, profile, agent, **options)
    try:
        yield store
    finally:
        store.close()


def add(store: Any, *to: str, text: str = "hello", tag: str = "") -> int:
    return int(store.record_sending(FROM, list(to), "group" if len(to) > 1 else "separate", text, [], tag, 1))


def team_rows(
    pg_server: Any, db: str, columns: str = "local_id, agent, state, revision"
) -> list[tuple[Any, ...]]:
    """What the team database holds, as the administrator sees it, oldest first."""
    return pg_server.execute(  # type: ignore[no-any-return]
        f"SELECT {columns} FROM bwdesk.messages ORDER BY created, row_uid", dbname=db
    )


def admin(pg_server: Any, db: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return pg_server.execute(sql, params, dbname=db)  # type: ignore[no-any-return]


__all__ = ["ADMIN_USER", "FROM", "add", "admin", "desk", "open_desk", "team_rows", "team_url"]
