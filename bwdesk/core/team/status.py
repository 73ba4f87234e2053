"""What `bwdesk team status` reports: each step (reach, TLS, sign in, database, schema, rights) only if the one before
worked, then the rows, the desks and this desk's outbox (docs/design.md §16.8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bwdesk.core.team.config import TeamConfig, TeamPassword
from bwdesk.core.team.connection import (
    Problem,
    TeamDatabaseError,
    classify_exception,
    connect,
    tls_in_use,
)
from bwdesk.core.team.schema import check_schema, known_version, missing_rights, read_state, rights


@dataclass(frozen=True)
class DeskInfo:
    desk_id: str
    agent: str
    host_name: str
    bwdesk_version: str
    first_seen: datetime
    last_heartbeat: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "desk": self.desk_id,
            "agent": self.agent,
            "host": self.host_name,
            "bwdesk_version": self.bwdesk_version,
            "first_seen": _time(self.first_seen),
            "last_seen": _time(self.last_heartbeat),
        }


@dataclass(frozen=True)
class OutboxState:
    """This desk's rows not yet in the team database."""

    waiting: int
    oldest: datetime | None = None
    last_error: str | None = None
    last_copied: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "oldest": _time(self.oldest) if self.oldest else None,
            "last_error": self.last_error,
            "last_copied": _time(self.last_copied) if self.last_copied else None,
        }


@dataclass
class TeamStatus:
    """The report; `problem` is the first thing that stopped it (None: the team database is usable)."""

    config: TeamConfig
    password_source: str
    problem: TeamDatabaseError | None = None
    reachable: bool = False
    server_version: str | None = None
    tls: str | None = None
    schema_version: int | None = None
    schema_known: int = field(default_factory=known_version)
    rights: dict[str, dict[str, bool]] | None = None
    missing_rights: list[str] = field(default_factory=list)
    rows: int | None = None
    desks: list[DeskInfo] = field(default_factory=list)
    outbox: OutboxState | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None and not self.missing_rights

    def to_json(self) -> dict[str, Any]:
        problem = None
        if self.problem is not None:
            problem = {"kind": self.problem.problem.value, "message": str(self.problem)}
        return {
            "url": self.config.url.url,
            "source": self.config.source,
            "agent": self.config.agent,
            "desk": self.config.desk_id,
            "password_source": self.password_source,
            "usable": self.usable,
            "reachable": self.reachable,
            "problem": problem,
            "server_version": self.server_version,
            "tls": self.tls,
            "schema_version": self.schema_version,
            "schema_known": self.schema_known,
            "rights": self.rights,
            "missing_rights": self.missing_rights,
            "rows": self.rows,
            "desks": [desk.to_json() for desk in self.desks],
            "outbox": self.outbox.to_json() if self.outbox else None,
        }


def _time(moment: datetime) -> str:
    return moment.astimezone().isoformat(timespec="seconds")


def local_outbox(profile: Path) -> OutboxState | None:
    """This desk's outbox, read from its history file without changing it; None when there is no history
    (or one too old to have an outbox: nothing of it has ever waited)."""
    import sqlite3

    from bwdesk.core.history import journal
    from bwdesk.core.history.rows import parse_time
    from bwdesk.core.paths import history_file

    path = history_file(profile)
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        counts = journal.counts(conn)
    except sqlite3.Error:  # no outbox table yet (the file is from before the team history)
        return None
    finally:
        conn.close()
    return OutboxState(
        counts.waiting,
        parse_time(counts.oldest) if counts.oldest else None,
        counts.problem,
        parse_time(counts.last_copied) if counts.last_copied else None,
    )


def team_status(
    config: TeamConfig, password: TeamPassword, *, outbox: OutboxState | None = None, timeout: float = 5.0
) -> TeamStatus:
    """Reach the team database as this desk would and report what was found (never raises for the
    database: every failure is the report's `problem`)."""
    status = TeamStatus(config, password.source, outbox=outbox)
    try:
        conn = connect(config.url, password.value, connect_timeout=timeout, autocommit=True)
    except TeamDatabaseError as exc:
        status.problem = exc
        status.reachable = exc.problem.server_answered
        return status
    status.reachable = True
    try:
        version = conn.execute("SHOW server_version").fetchone()
        status.server_version = str(version[0]).split(" ")[0] if version else None
        status.tls = tls_in_use(conn)
        try:
            state = read_state(conn)
            status.schema_version = state.version if state else None
            check_schema(conn)
        except TeamDatabaseError as exc:
            status.problem = exc
            if exc.problem is not Problem.SCHEMA_NEWER:
                return status
        status.rights = rights(conn)
        status.missing_rights = missing_rights(status.rights)
        if status.missing_rights and status.problem is None:
            user = conn.info.user
            status.problem = TeamDatabaseError(
                Problem.PERMISSION,
                f"Team history: {user} lacks rights bwdesk needs ({', '.join(status.missing_rights)}). Ask IT "
                f"to run `bwdesk team init --grant {user}`.",
            )
        if status.rights.get("messages", {}).get("select"):
            count = conn.execute("SELECT count(*) FROM bwdesk.messages").fetchone()
            status.rows = int(count[0]) if count else 0
        if status.rights.get("desks", {}).get("select"):
            status.desks = [
                DeskInfo(str(row[0]), row[1], row[2], row[3], row[4], row[5])
                for row in conn.execute(
                    "SELECT desk_id, agent, host_name, bwdesk_version, first_seen, last_heartbeat "
                    "FROM bwdesk.desks ORDER BY last_heartbeat DESC"
                )
            ]
    except Exception as exc:
        import psycopg

        if not isinstance(exc, psycopg.Error):
            raise
        status.problem = classify_exception(exc, config.url)
    finally:
        conn.close()
    return status


__all__ = ["DeskInfo", "OutboxState", "TeamStatus", "local_outbox", "team_status"]
