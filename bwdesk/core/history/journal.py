"""The local history as this desk's journal for a team history: the outbox the copier empties, and rows by uid
(docs/design.md §16.10). Functions over the store's connections: SQL, never the network."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.history.sqlite_query import SELECT_COLUMNS, row_from_values

TARGET_KEY = "team_target"
PROBLEM_KEY = "outbox_problem"
COPIED_KEY = "outbox_copied"

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


@dataclass(frozen=True)
class Queued:
    """A row waiting in the outbox, as it is now, with the revision the team database must reach."""

    row: HistoryRow
    revision: int


@dataclass(frozen=True)
class OutboxCounts:
    """How much waits, since when (RFC 3339), and what the last copy said (from `meta`)."""

    waiting: int
    oldest: str | None
    problem: str | None
    last_copied: str | None


def enable(conn: sqlite3.Connection, target: str) -> int:
    """Queue changes for the team database `target` from now on; returns how many rows were queued now.

    The first time (or when the team database is another one) every row in the file is queued for the first
    copy, in order; copying one the database already has changes nothing. Call inside a write transaction.
    """
    current = conn.execute("SELECT value FROM meta WHERE key = ?", (TARGET_KEY,)).fetchone()
    if current is not None and current[0] == target:
        return 0
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (TARGET_KEY, target))
    cursor = conn.execute(
        f"INSERT OR IGNORE INTO outbox (row_id, revision, queued) SELECT id, revision, {_NOW} FROM history "
        "ORDER BY id"
    )
    return max(cursor.rowcount, 0)


def target(conn: sqlite3.Connection) -> str | None:
    found = conn.execute("SELECT value FROM meta WHERE key = ?", (TARGET_KEY,)).fetchone()
    return None if found is None else str(found[0])


def batch(conn: sqlite3.Connection, limit: int) -> list[Queued]:
    """The first `limit` rows in line, as they are now."""
    rows = conn.execute(
        f"SELECT {SELECT_COLUMNS}, h.revision FROM outbox AS o CROSS JOIN history AS h ON h.id = o.row_id "
        "ORDER BY o.seq LIMIT ?",
        (limit,),
    ).fetchall()
    return [Queued(row_from_values(values), int(values[-1])) for values in rows]


def done(conn: sqlite3.Connection, copied: Sequence[tuple[int, int]], when: str) -> None:
    """The team database committed these (row id, revision): out of the line, unless changed meanwhile.

    Call inside a write transaction."""
    conn.executemany("DELETE FROM outbox WHERE row_id = ? AND revision <= ?", copied)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (COPIED_KEY, when))
    conn.execute("DELETE FROM meta WHERE key = ?", (PROBLEM_KEY,))


def note_problem(conn: sqlite3.Connection, problem: str | None) -> None:
    """Remember (or forget) why the last copy failed, for `bwdesk team status`. Inside a write transaction."""
    if problem is None:
        conn.execute("DELETE FROM meta WHERE key = ?", (PROBLEM_KEY,))
    else:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (PROBLEM_KEY, problem))


def counts(conn: sqlite3.Connection) -> OutboxCounts:
    waiting, oldest = conn.execute("SELECT count(*), min(queued) FROM outbox").fetchone()
    meta = dict(
        conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", (PROBLEM_KEY, COPIED_KEY)).fetchall()
    )
    return OutboxCounts(int(waiting), oldest, meta.get(PROBLEM_KEY), meta.get(COPIED_KEY))


def queued_uids(conn: sqlite3.Connection, limit: int) -> set[str] | None:
    """The uids of rows waiting (their team copy is older than they are); None when more than `limit` wait."""
    rows = conn.execute(
        "SELECT h.row_uid FROM outbox AS o CROSS JOIN history AS h ON h.id = o.row_id LIMIT ?", (limit + 1,)
    ).fetchall()
    if len(rows) > limit:
        return None
    return {str(uid) for (uid,) in rows}


def has_queued(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM outbox LIMIT 1").fetchone() is not None


def id_of_uid(conn: sqlite3.Connection, row_uid: str) -> int | None:
    found = conn.execute("SELECT id FROM history WHERE row_uid = ?", (row_uid,)).fetchone()
    return None if found is None else int(found[0])


def id_below(conn: sqlite3.Connection, created: str, row_uid: str) -> int:
    """The local row id to page below so as to continue after the team-view row (`created`, `row_uid`).

    The row itself when it is this desk's; otherwise the first row created at or after that second (while
    creation times grow with ids, every row below it comes after the team-view row)."""
    found = id_of_uid(conn, row_uid)
    if found is not None:
        return found
    first = conn.execute(
        "SELECT id FROM history INDEXED BY history_created WHERE created >= ? ORDER BY created, id LIMIT 1",
        (created,),
    ).fetchone()
    if first is not None:
        return int(first[0])
    last = conn.execute("SELECT max(id) FROM history").fetchone()
    return int(last[0] or 0) + 1


__all__ = [
    "OutboxCounts",
    "Queued",
    "batch",
    "counts",
    "done",
    "enable",
    "has_queued",
    "id_below",
    "id_of_uid",
    "note_problem",
    "queued_uids",
    "target",
]
