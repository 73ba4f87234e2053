"""`SqliteDirectoryStore`: the directory in the history's SQLite file, sharing the history's plumbing and concurrency
rules (docs/design.md §17.1, §9.4)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from bwdesk.core.directory import sqlite_schema
from bwdesk.core.directory.contacts import Contact
from bwdesk.core.directory.optout import Action, OptOut, OptOutEvent, Reason
from bwdesk.core.directory.store import (
    DEFAULT_PAGE,
    MAX_PAGE,
    DirectoryError,
    NewOptOut,
    NotListed,
    ReasonRequired,
    ScopeNotKept,
    TemplateExists,
)
from bwdesk.core.directory.template_book import Scope, Template, name_key
from bwdesk.core.history import schema as history_schema
from bwdesk.core.history.rows import format_time

# The history's own SQLite plumbing: both live in one file, so they open, lock and fail alike.
from bwdesk.core.history.sqlite_store import BUSY_TIMEOUT_MS, SqliteHistoryStore
from bwdesk.core.history.sqlite_store import _user_errors as user_errors
from bwdesk.core.paths import ensure_private_dir
from bwdesk.core.per_thread import PerThread
from bwdesk.core.sqlite_write import write_transaction

log = logging.getLogger(__name__)

# SQLite's limit on bound values in one statement is 32766 since 3.32; lookups stay well under it.
_IN_CHUNK = 500
_BULK_CHUNK = 5000
_LOCAL_SCOPES = frozenset({Scope.PERSONAL})


def _page(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


class SqliteDirectoryStore:
    """The directory in the history file at `path`. Build with `open`; safe to share between threads."""

    def __init__(self, path: Path, agent: str, clock: Callable[[], datetime]) -> None:
        self.path = path
        self._agent = agent
        self._clock = clock
        self._write_lock = threading.Lock()
        self._connections: PerThread[sqlite3.Connection] = PerThread(
            self._connect, sqlite3.Connection.close, what="the directory"
        )
        self.schema_version = (sqlite_schema.SCHEMA_MAJOR, sqlite_schema.SCHEMA_MINOR)

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], agent: str, *, clock: Callable[[], datetime] | None = None
    ) -> SqliteDirectoryStore:
        """Open the directory in the history at `path` (a new file becomes a bwdesk history first, with the
        history's own schema). Raises HistoryError or DirectoryError with what to do."""
        store = cls(Path(path), agent, clock or (lambda: datetime.now(UTC)))
        try:
            with user_errors("open the contacts, templates and do-not-text list", store.path):
                ensure_private_dir(store.path.parent)
                with history_schema.private_umask():
                    history_schema.make_private(store.path)
                    conn = store._connections.get()[0]
                    (version,) = conn.execute("PRAGMA user_version").fetchone()
                    if version == 0:  # not a history yet: the history makes it one (it refuses foreign files)
                        SqliteHistoryStore.open(store.path).close()
                    store.schema_version = sqlite_schema.prepare(conn, store.path, store._write_lock)
        except OSError as exc:
            store.close()
            raise DirectoryError(
                f"Could not open {store.path}: {exc.strerror or exc}. "
                "Check that the folder exists and that you may write to it."
            ) from exc
        except BaseException:
            store.close()
            raise
        return store

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = FULL")  # a number put on the list must stay there
        return conn

    @property
    def agent(self) -> str:
        return self._agent

    def _now(self) -> str:
        return format_time(self._clock())

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        with (
            user_errors(action, self.path),
            write_transaction(self._connections.get()[0], self._write_lock) as conn,
        ):
            yield conn

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        with user_errors(action, self.path):
            yield self._connections.get()[0]

    # -- the do-not-text list -----------------------------------------------------------------------------

    def opted_out(self, numbers: Iterable[str]) -> dict[str, OptOut]:
        wanted = list(dict.fromkeys(numbers))
        found: dict[str, OptOut] = {}
        with self._read("check the do-not-text list") as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = conn.execute(
                    "SELECT number, reason, code, since, by, note FROM optouts "
                    f"WHERE number IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((row[0], _opt_out(row)) for row in rows)
        return found

    def add_opt_out(
        self, number: str, reason: Reason, *, code: int | None = None, note: str = ""
    ) -> tuple[OptOut, bool]:
        with self._write("put the number on the do-not-text list") as conn:
            row = conn.execute(
                "SELECT number, reason, code, since, by, note FROM optouts WHERE number = ?", (number,)
            ).fetchone()
            if row is not None:
                return _opt_out(row), False
            entry = OptOut(number, Reason(reason), code, self._now(), self._agent, note.strip())
            self._insert_opt_outs(conn, [entry])
        return entry, True

    def add_opt_outs(self, entries: Iterable[NewOptOut]) -> int:
        added = 0
        batch: list[NewOptOut] = []
        for entry in entries:
            batch.append(entry)
            if len(batch) >= _BULK_CHUNK:
                added += self._add_batch(batch)
                batch = []
        return added + (self._add_batch(batch) if batch else 0)

    def _add_batch(self, batch: list[NewOptOut]) -> int:
        now = self._now()
        with self._write("put the numbers on the do-not-text list") as conn:
            listed = set(self._listed(conn, [e.number for e in batch]))
            fresh: dict[str, OptOut] = {}
            for e in batch:
                if e.number not in listed and e.number not in fresh:
                    fresh[e.number] = OptOut(
                        e.number, Reason(e.reason), e.code, now, self._agent, e.note.strip()
                    )
            self._insert_opt_outs(conn, list(fresh.values()))
        return len(fresh)

    @staticmethod
    def _listed(conn: sqlite3.Connection, numbers: list[str]) -> Iterator[str]:
        for start in range(0, len(numbers), _IN_CHUNK):
            chunk = numbers[start : start + _IN_CHUNK]
            for (number,) in conn.execute(
                f"SELECT number FROM optouts WHERE number IN ({', '.join('?' * len(chunk))})", chunk
            ):
                yield number

    @staticmethod
    def _insert_opt_outs(conn: sqlite3.Connection, entries: list[OptOut]) -> None:
        values = [(e.number, e.reason.value, e.code, e.note, e.since, e.by) for e in entries]
        conn.executemany(
            "INSERT INTO optouts (number, reason, code, note, since, by) VALUES (?, ?, ?, ?, ?, ?)", values
        )
        conn.executemany(
            "INSERT INTO optout_events (number, action, reason, code, note, at, by) "
            "VALUES (?, 'added', ?, ?, ?, ?, ?)",
            [(n, r, c, note, at, by) for n, r, c, note, at, by in values],
        )

    def remove_opt_out(self, number: str, reason: str) -> OptOut:
        reason = " ".join(reason.split())
        if not reason:
            raise ReasonRequired(
                "A number comes off the do-not-text list only with a reason, kept in the list's history "
                "(for example: the customer texted START on 3 March)."
            )
        with self._write("take the number off the do-not-text list") as conn:
            row = conn.execute(
                "SELECT number, reason, code, since, by, note FROM optouts WHERE number = ?", (number,)
            ).fetchone()
            if row is None:
                raise NotListed(f"{number} is not on the do-not-text list.")
            conn.execute("DELETE FROM optouts WHERE number = ?", (number,))
            conn.execute(
                "INSERT INTO optout_events (number, action, reason, code, note, at, by) "
                "VALUES (?, 'removed', NULL, NULL, ?, ?, ?)",
                (number, reason, self._now(), self._agent),
            )
        return _opt_out(row)

    def opt_outs(
        self, *, after: str | None = None, limit: int = DEFAULT_PAGE, digits: str = ""
    ) -> list[OptOut]:
        sql = "SELECT number, reason, code, since, by, note FROM optouts WHERE number > ?"
        arguments: list[object] = [after or ""]
        if digits:
            sql += " AND instr(number, ?) > 0"
            arguments.append(digits)
        with self._read("read the do-not-text list") as conn:
            rows = conn.execute(f"{sql} ORDER BY number LIMIT ?", (*arguments, _page(limit)))
            return [_opt_out(row) for row in rows]

    def opt_out_history(self, number: str | None = None, limit: int = DEFAULT_PAGE) -> list[OptOutEvent]:
        sql = "SELECT number, action, reason, code, note, at, by FROM optout_events"
        arguments: tuple[object, ...] = ()
        if number is not None:
            sql += " WHERE number = ?"
            arguments = (number,)
        with self._read("read the do-not-text list's history") as conn:
            rows = conn.execute(f"{sql} ORDER BY id DESC LIMIT ?", (*arguments, _page(limit)))
            return [
                OptOutEvent(n, Action(a), Reason(r) if r else None, c, note, at, by)
                for n, a, r, c, note, at, by in rows
            ]

    # -- contacts -----------------------------------------------------------------------------------------

    def contacts_for(self, numbers: Iterable[str]) -> dict[str, Contact]:
        wanted = list(dict.fromkeys(numbers))
        found: dict[str, Contact] = {}
        with self._read("read the contacts") as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = conn.execute(
                    "SELECT number, name, fields, updated, by FROM contacts "
                    f"WHERE number IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((row[0], _contact(row)) for row in rows)
        return found

    def contacts(self, *, after: str | None = None, limit: int = DEFAULT_PAGE) -> list[Contact]:
        with self._read("read the contacts") as conn:
            rows = conn.execute(
                "SELECT number, name, fields, updated, by FROM contacts WHERE number > ? ORDER BY number LIMIT ?",
                (after or "", _page(limit)),
            )
            return [_contact(row) for row in rows]

    def save_contact(self, number: str, name: str, fields: Mapping[str, str]) -> Contact:
        contact = Contact(number, name, dict(fields), self._now(), self._agent)
        with self._write("save the contact") as conn:
            self._upsert_contacts(conn, [contact])
        return contact

    def save_contacts(self, contacts: Iterable[Contact]) -> int:
        saved = 0
        now = self._now()
        batch: list[Contact] = []
        for contact in contacts:
            batch.append(Contact(contact.number, contact.name, dict(contact.fields), now, self._agent))
            if len(batch) >= _BULK_CHUNK:
                saved += self._save_batch(batch)
                batch = []
        return saved + (self._save_batch(batch) if batch else 0)

    def _save_batch(self, batch: list[Contact]) -> int:
        with self._write("save the contacts") as conn:
            self._upsert_contacts(conn, batch)
        return len(batch)

    @staticmethod
    def _upsert_contacts(conn: sqlite3.Connection, contacts: list[Contact]) -> None:
        conn.executemany(
            "INSERT INTO contacts (number, name, fields, updated, by) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (number) DO UPDATE SET name = excluded.name, fields = excluded.fields, "
            "updated = excluded.updated, by = excluded.by",
            [
                (c.number, c.name, json.dumps(dict(c.fields), ensure_ascii=False), c.updated, c.by)
                for c in contacts
            ],
        )

    def remove_contact(self, number: str) -> bool:
        with self._write("remove the contact") as conn:
            removed = conn.execute("DELETE FROM contacts WHERE number = ?", (number,)).rowcount > 0
        if removed:
            log.info("contact %s removed by %s", number, self._agent)
        return removed

    # -- templates ----------------------------------------------------------------------------------------

    @property
    def template_scopes(self) -> frozenset[Scope]:
        return _LOCAL_SCOPES

    def templates(self) -> list[Template]:
        with self._read("read the templates") as conn:
            rows = conn.execute("SELECT name, text, tag, media, updated, by FROM templates ORDER BY key")
            return [
                Template(name, text, tag, tuple(json.loads(media)), Scope.PERSONAL, updated, by)
                for name, text, tag, media, updated, by in rows
            ]

    def save_template(self, template: Template, *, replace: bool = False) -> Template:
        self._check_scope(template.scope)
        saved = Template(
            template.name,
            template.text,
            template.tag,
            template.media,
            Scope.PERSONAL,
            self._now(),
            self._agent,
        )
        with self._write("save the template") as conn:
            exists = conn.execute("SELECT 1 FROM templates WHERE key = ?", (saved.key,)).fetchone()
            if exists and not replace:
                raise TemplateExists(f"There is already a personal template called {saved.name!r}.")
            conn.execute(
                "INSERT OR REPLACE INTO templates (key, name, text, tag, media, updated, by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    saved.key,
                    saved.name,
                    saved.text,
                    saved.tag,
                    json.dumps(list(saved.media)),
                    saved.updated,
                    saved.by,
                ),
            )
        return saved

    def remove_template(self, name: str, scope: Scope) -> bool:
        self._check_scope(scope)
        with self._write("remove the template") as conn:
            removed = conn.execute("DELETE FROM templates WHERE key = ?", (name_key(name),)).rowcount > 0
        if removed:
            log.info("template %r removed by %s", name, self._agent)
        return removed

    def _check_scope(self, scope: Scope) -> None:
        if scope is Scope.LOCKED:
            raise ScopeNotKept(
                "Templates locked by your administrator come from the system settings file and cannot be "
                "changed in bwdesk."
            )
        if scope not in _LOCAL_SCOPES:
            raise ScopeNotKept(
                "Team templates are kept in the team history, and this desk has none: set one up in "
                "Settings → Team history (or BWDESK_HISTORY_URL). Personal templates work without it."
            )

    def close(self) -> None:
        self._connections.close_all()

    def __enter__(self) -> SqliteDirectoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _opt_out(row: tuple[str, str, int | None, str, str, str]) -> OptOut:
    number, reason, code, since, by, note = row
    return OptOut(number, Reason(reason), code, since, by, note)


def _contact(row: tuple[str, str, str, str, str]) -> Contact:
    number, name, fields, updated, by = row
    value = json.loads(fields)
    return Contact(number, name, value if isinstance(value, dict) else {}, updated, by)
