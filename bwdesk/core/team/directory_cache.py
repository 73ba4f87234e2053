"""This desk's copy of the team's do-not-text list (for checks while the team is away) and its outbox of numbers
added meanwhile, in a file of its own; events applied by id, so twice changes nothing (docs/design.md §17.9)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bwdesk.core.directory.optout import OptOut, Reason
from bwdesk.core.directory.store import DirectoryError
from bwdesk.core.history import schema as history_schema
from bwdesk.core.history.rows import format_time, parse_time
from bwdesk.core.paths import ensure_private_dir
from bwdesk.core.sqlite_write import write_transaction

FILE_NAME = "team-directory.sqlite3"
_IN_CHUNK = 500
_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS listed ("
    " number TEXT PRIMARY KEY, event_id INTEGER NOT NULL, listed INTEGER NOT NULL,"
    " reason TEXT, code INTEGER, note TEXT NOT NULL DEFAULT '', since TEXT, agent TEXT"
    ") WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS pending ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, event_uid TEXT NOT NULL UNIQUE, number TEXT NOT NULL,"
    " reason TEXT NOT NULL, code INTEGER, note TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, agent TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS pending_number ON pending (number)",
)


@dataclass(frozen=True)
class Pending:
    """A number put on the list here, waiting to be stored in the team database."""

    seq: int
    event_uid: str
    entry: OptOut


@dataclass(frozen=True)
class Event:
    """One event of the team's list as a refresh reads it (`added` with its entry, or a removal)."""

    event_id: int
    number: str
    added: OptOut | None


class CopyUnusable(DirectoryError):
    """This desk has no copy of the team's list recent enough to stand in for it."""


class DirectoryCache:
    """The file (see the module). Thread-safe: one connection, one lock (every statement is short)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            ensure_private_dir(path.parent)
            with history_schema.private_umask():
                history_schema.make_private(path)
                self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = FULL")  # a number put on the list must stay there
                for statement in _TABLES:
                    self._conn.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise DirectoryError(
                f"Could not open this desk's copy of the team's do-not-text list ({path}): {exc}. Check that the "
                "profile folder exists and that you may write to it."
            ) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._errors(), write_transaction(self._conn, self._lock) as conn:
            yield conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise DirectoryError(
                f"This desk's copy of the team's do-not-text list ({self.path}) cannot be used: {exc}."
            ) from exc

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock, self._errors():
            return list(self._conn.execute(sql, args))

    # -- which database, and how fresh -----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def belongs_to(self, where: str) -> None:
        """The copy is of the team database `where`; a copy of another one is emptied (pending numbers stay)."""
        if self.meta("where") == where:
            return
        with self._write() as conn:
            conn.execute("DELETE FROM listed")
            conn.execute("DELETE FROM meta WHERE key IN ('horizon', 'refreshed')")
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('where', ?)", (where,))

    def horizon(self) -> str | None:
        """Where the next refresh reads from (None: never refreshed; read the whole list)."""
        return self.meta("horizon")

    def refreshed(self) -> datetime | None:
        value = self.meta("refreshed")
        return parse_time(value) if value else None

    def replace_all(self, entries: Iterable[tuple[int, OptOut]], horizon: str, now: datetime) -> int:
        """The first refresh: the whole list as of one snapshot."""
        count = 0
        with self._write() as conn:
            conn.execute("DELETE FROM listed")
            for event_id, entry in entries:
                conn.execute(
                    "INSERT INTO listed (number, event_id, listed, reason, code, note, since, agent) "
                    "VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
                    (
                        entry.number,
                        event_id,
                        entry.reason.value,
                        entry.code,
                        entry.note,
                        entry.since,
                        entry.by,
                    ),
                )
                count += 1
            self._mark(conn, horizon, now)
        return count

    def apply(self, events: Iterable[Event], horizon: str, now: datetime) -> None:
        """A later refresh: events applied when newer than what the copy knows of their number."""
        with self._write() as conn:
            for event in events:
                added = event.added
                conn.execute(
                    "INSERT INTO listed (number, event_id, listed, reason, code, note, since, agent) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET "
                    "event_id = excluded.event_id, listed = excluded.listed, reason = excluded.reason, "
                    "code = excluded.code, note = excluded.note, since = excluded.since, agent = excluded.agent "
                    "WHERE excluded.event_id > listed.event_id",
                    (
                        event.number,
                        event.event_id,
                        1 if added else 0,
                        added.reason.value if added else None,
                        added.code if added else None,
                        added.note if added else "",
                        added.since if added else None,
                        added.by if added else None,
                    ),
                )
            self._mark(conn, horizon, now)

    @staticmethod
    def _mark(conn: sqlite3.Connection, horizon: str, now: datetime) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("horizon", horizon), ("refreshed", format_time(now))],
        )

    # -- what the copy says ----------------------------------------------------------------------------------

    def listed(self, numbers: Sequence[str], now: datetime, max_age: timedelta) -> dict[str, OptOut]:
        """Those of `numbers` on the copy; `CopyUnusable` when there is none or it is older than `max_age`."""
        refreshed = self.refreshed()
        if refreshed is None:
            raise CopyUnusable("this desk has no copy of the team's list yet")
        if now - refreshed > max_age:
            raise CopyUnusable(
                f"this desk's copy of the team's list is from {format_time(refreshed)}, older than "
                f"{_hours(max_age)}"
            )
        return self._select(
            "SELECT number, reason, code, note, since, agent FROM listed WHERE listed = 1 AND number IN ",
            numbers,
        )

    def _select(self, prefix: str, numbers: Sequence[str]) -> dict[str, OptOut]:
        found: dict[str, OptOut] = {}
        wanted = list(dict.fromkeys(numbers))
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            for number, reason, code, note, since, agent in self._read(
                f"{prefix}({', '.join('?' * len(chunk))})", chunk
            ):
                found.setdefault(
                    str(number),
                    OptOut(str(number), Reason(str(reason)), _int(code), str(since), str(agent), str(note)),
                )
        return found

    # -- the outbox ------------------------------------------------------------------------------------------

    def queue(self, entries: Iterable[OptOut]) -> list[OptOut]:
        """Keep these additions until the team stores them; those already waiting are not queued twice.
        Returns the entries queued now."""
        queued: list[OptOut] = []
        with self._write() as conn:
            for entry in entries:
                if conn.execute("SELECT 1 FROM pending WHERE number = ?", (entry.number,)).fetchone():
                    continue
                conn.execute(
                    "INSERT INTO pending (event_uid, number, reason, code, note, at, agent) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(uuid.uuid4()),
                        entry.number,
                        entry.reason.value,
                        entry.code,
                        entry.note,
                        entry.since,
                        entry.by,
                    ),
                )
                queued.append(entry)
        return queued

    def pending_for(self, numbers: Sequence[str]) -> dict[str, OptOut]:
        return self._select(
            "SELECT number, reason, code, note, at, agent FROM pending WHERE number IN ", numbers
        )

    def pending(self, limit: int = 500) -> list[Pending]:
        rows = self._read(
            "SELECT seq, event_uid, number, reason, code, note, at, agent FROM pending ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [
            Pending(
                int(str(seq)),
                str(uid),
                OptOut(str(number), Reason(str(reason)), _int(code), str(at), str(agent), str(note)),
            )
            for seq, uid, number, reason, code, note, at, agent in rows
        ]

    def waiting(self) -> int:
        return int(str(self._read("SELECT count(*) FROM pending")[0][0]))

    def stored(self, seqs: Sequence[int]) -> None:
        """These waiting numbers are in the team database now."""
        with self._write() as conn:
            conn.executemany("DELETE FROM pending WHERE seq = ?", [(s,) for s in seqs])

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:g} hours" if hours != 1 else "an hour"


def cache_path(profile: Path) -> Path:
    return profile / FILE_NAME


def utc_now() -> datetime:
    return datetime.now(UTC)


__all__ = ["FILE_NAME", "CopyUnusable", "DirectoryCache", "Event", "Pending", "cache_path", "utc_now"]
