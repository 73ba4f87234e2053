"""The directory's tables in the history's SQLite file, with a version of their own (`directory_schema`), so that the
two schemas change independently (docs/design.md §17.1)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from bwdesk.core.directory.store import DirectoryError

log = logging.getLogger(__name__)

SCHEMA_MAJOR = 1
SCHEMA_MINOR = 0

_TABLES_1_0 = (
    "CREATE TABLE directory_schema (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    # The list as it is now: one row per number on it.
    "CREATE TABLE optouts ("
    " number TEXT PRIMARY KEY,"
    " reason TEXT NOT NULL CHECK (reason IN ('opted-out', 'blocklisted', 'by-hand', 'imported')),"
    " code INTEGER,"
    " note TEXT NOT NULL DEFAULT '',"
    " since TEXT NOT NULL,"
    " by TEXT NOT NULL"
    ") WITHOUT ROWID",
    # Every change to the list, kept for good (never updated or deleted).
    "CREATE TABLE optout_events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " number TEXT NOT NULL,"
    " action TEXT NOT NULL CHECK (action IN ('added', 'removed')),"
    " reason TEXT CHECK (reason IN ('opted-out', 'blocklisted', 'by-hand', 'imported')),"
    " code INTEGER,"
    " note TEXT NOT NULL DEFAULT '',"
    " at TEXT NOT NULL,"
    " by TEXT NOT NULL,"
    " CHECK (action = 'added' AND reason IS NOT NULL OR action = 'removed' AND note <> '')"
    ")",
    "CREATE INDEX optout_events_number ON optout_events (number, id)",
    "CREATE TABLE contacts ("
    " number TEXT PRIMARY KEY,"
    " name TEXT NOT NULL CHECK (name <> ''),"
    " fields TEXT NOT NULL DEFAULT '{}',"
    " updated TEXT NOT NULL,"
    " by TEXT NOT NULL"
    ") WITHOUT ROWID",
    # Personal templates (the local file keeps no other scope). `key` is the name without case or spacing.
    "CREATE TABLE templates ("
    " key TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " text TEXT NOT NULL DEFAULT '',"
    " tag TEXT NOT NULL DEFAULT '',"
    " media TEXT NOT NULL DEFAULT '[]',"
    " updated TEXT NOT NULL,"
    " by TEXT NOT NULL"
    ") WITHOUT ROWID",
)

#: A released version → the version its step brings the tables to, and the step (none yet).
_MIGRATIONS: dict[tuple[int, int], tuple[tuple[int, int], Callable[[sqlite3.Connection], None]]] = {}


def _version(conn: sqlite3.Connection) -> tuple[int, int] | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'directory_schema'"
    ).fetchone()
    if exists is None:
        return None
    row = conn.execute("SELECT value FROM directory_schema WHERE key = 'version'").fetchone()
    major, _, minor = (row[0] if row else "0.0").partition(".")
    return int(major), int(minor or 0)


def prepare(conn: sqlite3.Connection, path: Path, write_lock: threading.Lock) -> tuple[int, int]:
    """The directory's tables at the current version (created, or migrated); returns the file's version."""
    version = _version(conn)
    if version is not None and version[0] > SCHEMA_MAJOR:
        raise DirectoryError(
            f"The contacts, templates and do-not-text list in {path} were written by a newer bwdesk (directory "
            f"schema {version[0]}.{version[1]}); this version reads {SCHEMA_MAJOR}.x. Update bwdesk."
        )
    if version is None or version < (SCHEMA_MAJOR, SCHEMA_MINOR):
        with write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                _upgrade(conn)
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        version = _version(conn)
    assert version is not None
    return version


def _upgrade(conn: sqlite3.Connection) -> None:
    version = _version(conn)  # again, under the lock
    if version is None:
        for statement in _TABLES_1_0:
            conn.execute(statement)
        version = (1, 0)
        log.info("directory: created its tables (schema %d.%d)", *version)
    while version < (SCHEMA_MAJOR, SCHEMA_MINOR):
        target, step = _MIGRATIONS[version]
        log.info("directory: migrating schema %d.%d to %d.%d", *version, *target)
        step(conn)
        version = target
    conn.execute(
        "INSERT OR REPLACE INTO directory_schema (key, value) VALUES ('version', ?)",
        (f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}",),
    )
