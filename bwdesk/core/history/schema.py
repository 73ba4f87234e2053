"""The SQLite history's schema: its version, creating it, and migrating older files after a backup copy."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from bwdesk.core.history.rows import parse_time
from bwdesk.core.history.store import HistoryError
from bwdesk.core.history.uids import new_row_uid

log = logging.getLogger(__name__)

#: The version is kept in `PRAGMA user_version` as `major << 16 | minor`: a newer minor opens fine, a newer
#: major is refused, an older one is migrated.
SCHEMA_MAJOR = 2
SCHEMA_MINOR = 2

_HISTORY_TABLE_V2 = """
CREATE TABLE {name} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('separate', 'group')),
    text TEXT NOT NULL DEFAULT '',
    media TEXT NOT NULL DEFAULT '[]',
    tag TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('sending', 'accepted', 'rejected', 'failed', 'unknown')),
    message_id TEXT,
    segments INTEGER,
    http_status INTEGER,
    error_type TEXT,
    error_description TEXT,
    field_errors TEXT,
    delivery_status TEXT,
    error_code INTEGER,
    delivery_checked TEXT,
    owner_pid INTEGER,
    owner_start TEXT
)
"""

_AUX_V2 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE history_numbers (number TEXT NOT NULL, row_id INTEGER NOT NULL, "
    "PRIMARY KEY (number, row_id)) WITHOUT ROWID",
    "CREATE INDEX history_numbers_row ON history_numbers (row_id)",
    "CREATE INDEX history_created ON history (created)",
    "CREATE INDEX history_state ON history (state)",
    "CREATE INDEX history_message_id ON history (message_id) WHERE message_id IS NOT NULL",
    "CREATE VIRTUAL TABLE history_fts USING fts5(text, tag, content='history', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER history_ai AFTER INSERT ON history BEGIN "
    "INSERT INTO history_fts (rowid, text, tag) VALUES (new.id, new.text, new.tag); END",
    "CREATE TRIGGER history_ad AFTER DELETE ON history BEGIN "
    "INSERT INTO history_fts (history_fts, rowid, text, tag) VALUES ('delete', old.id, old.text, old.tag); "
    "DELETE FROM history_numbers WHERE row_id = old.id; END",
    "CREATE TRIGGER history_au AFTER UPDATE OF text, tag ON history BEGIN "
    "INSERT INTO history_fts (history_fts, rowid, text, tag) VALUES ('delete', old.id, old.text, old.tag); "
    "INSERT INTO history_fts (rowid, text, tag) VALUES (new.id, new.text, new.tag); END",
)


# Schema 2.1: what the Status column says, as an indexed column, and recipients searchable by any digits.
# Both are kept by SQLite itself (a generated column, triggers), so a bwdesk that knows only 2.0 can still
# write to a 2.1 file and leave it consistent: that is what makes this a minor version.
#
# `status` states the rule of `status_words.status_filter_of` in SQL; a test holds the two together.
_STATUS_COLUMN = """
ALTER TABLE history ADD COLUMN status TEXT GENERATED ALWAYS AS (
    CASE state
        WHEN 'accepted' THEN CASE delivery_status
            WHEN 'DELIVERED' THEN 'delivered'
            WHEN 'FAILED' THEN 'failed'
            WHEN 'UNDELIVERED' THEN 'failed'
            WHEN 'DLR_EXPIRED' THEN 'unknown'
            ELSE 'waiting' END
        WHEN 'sending' THEN 'waiting'
        WHEN 'failed' THEN 'not-sent'
        ELSE state END
) VIRTUAL
"""

# `history_digits`: FTS5 trigrams of the recipients column as stored (a JSON list of E.164 numbers), detail
# none (no positions: small). A query ANDs some trigrams of the digits sought and checks the candidates with
# instr() on the recipients, so every match is exact (a digit string cannot span two numbers in that JSON).
_AUX_2_1 = (
    "CREATE INDEX history_status ON history (status)",
    "CREATE VIRTUAL TABLE history_digits USING fts5(recipients, content='history', content_rowid='id', "
    "tokenize='trigram', detail='none')",
    "CREATE TRIGGER history_digits_ai AFTER INSERT ON history BEGIN "
    "INSERT INTO history_digits (rowid, recipients) VALUES (new.id, new.recipients); END",
    "CREATE TRIGGER history_digits_ad AFTER DELETE ON history BEGIN "
    "INSERT INTO history_digits (history_digits, rowid, recipients) "
    "VALUES ('delete', old.id, old.recipients); END",
    "CREATE TRIGGER history_digits_au AFTER UPDATE OF recipients ON history BEGIN "
    "INSERT INTO history_digits (history_digits, rowid, recipients) "
    "VALUES ('delete', old.id, old.recipients); "
    "INSERT INTO history_digits (rowid, recipients) VALUES (new.id, new.recipients); END",
)


# Schema 2.2: the local file is this desk's journal for a team history (docs/design.md §16.10). Every row has a
# globally unique `row_uid` and a `revision` that grows with every change, and while a team database is set up
# (`meta.team_target`) every change queues the row in `outbox` for the copier. All of it is kept by triggers,
# so a change made by any code (an older bwdesk too, which knows none of it) is counted and queued: a minor
# version again. The `agent` column keeps who sent the row when a team is set up (null otherwise).
#
# A row an older bwdesk inserts has no uid: the trigger makes a version 7 one from its creation second.
_UID_FROM_CREATED = (
    "(SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-' "
    "|| substr('89ab', 1 + (random() & 3), 1) || substr(r, 4, 3) || '-' || substr(r, 7, 12) "
    "FROM (SELECT printf('%012x', CAST(strftime('%s', new.created) AS INTEGER) * 1000 "
    "+ (random() & 1023) % 1000) AS h, lower(hex(randomblob(9))) AS r))"
)
_QUEUE_WHEN = "EXISTS (SELECT 1 FROM meta WHERE key = 'team_target')"
_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
_AUX_2_2 = (
    "CREATE UNIQUE INDEX history_row_uid ON history (row_uid)",
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, row_id INTEGER NOT NULL UNIQUE, "
    "revision INTEGER NOT NULL, queued TEXT NOT NULL)",
    f"CREATE TRIGGER history_uid AFTER INSERT ON history WHEN new.row_uid IS NULL BEGIN "
    f"UPDATE history SET row_uid = {_UID_FROM_CREATED} WHERE id = new.id; END",
    # Every change counts (the uid given to an older bwdesk's new row is not a change).
    "CREATE TRIGGER history_revision AFTER UPDATE ON history "
    "WHEN new.revision = old.revision AND old.row_uid IS NOT NULL BEGIN "
    "UPDATE history SET revision = old.revision + 1 WHERE id = new.id; END",
    f"CREATE TRIGGER history_outbox_ai AFTER INSERT ON history WHEN {_QUEUE_WHEN} BEGIN "
    f"INSERT OR IGNORE INTO outbox (row_id, revision, queued) VALUES (new.id, new.revision, {_NOW}); END",
    f"CREATE TRIGGER history_outbox_au AFTER UPDATE OF revision ON history "
    f"WHEN new.revision > old.revision AND {_QUEUE_WHEN} BEGIN "
    f"INSERT OR IGNORE INTO outbox (row_id, revision, queued) VALUES (new.id, new.revision, {_NOW}); "
    "UPDATE outbox SET revision = new.revision WHERE row_id = new.id AND revision < new.revision; END",
    "CREATE TRIGGER history_outbox_ad AFTER DELETE ON history BEGIN "
    "DELETE FROM outbox WHERE row_id = old.id; END",
)


def pack(major: int, minor: int) -> int:
    return (major << 16) | minor


def unpack(version: int) -> tuple[int, int]:
    return version >> 16, version & 0xFFFF


def create(conn: sqlite3.Connection) -> None:
    """A new history: schema 2.0, then the same steps an older file takes (one definition of each)."""
    conn.execute(_HISTORY_TABLE_V2.format(name="history"))
    for statement in _AUX_V2:
        conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('created_monotonic', '1')")
    _migrate_2_0_to_2_1(conn)
    _migrate_2_1_to_2_2(conn)


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """1.0 → 2.0: split the error JSON, record owners with a start time, add numbers, FTS and meta."""
    conn.execute(_HISTORY_TABLE_V2.format(name="history_v2"))
    rows = conn.execute(
        "SELECT id, created, updated, sender, recipients, mode, coalesce(text, ''), coalesce(media, '[]'), "
        "coalesce(tag, ''), state, message_id, segments, http_status, error, delivery_status, error_code, "
        "owner_pid FROM history ORDER BY id"
    )
    insert = (
        "INSERT INTO history_v2 (id, created, updated, sender, recipients, mode, text, media, tag, state, "
        "message_id, segments, http_status, error_type, error_description, field_errors, delivery_status, "
        "error_code, owner_pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    while batch := rows.fetchmany(2000):
        converted = []
        for row in batch:
            error = json.loads(row[13]) if row[13] else None
            if not isinstance(error, dict):
                error = None
            field_errors = (error or {}).get("field_errors") or []
            converted.append(
                (
                    *row[:13],
                    error.get("type") if error else None,
                    error.get("description") if error else None,
                    json.dumps(field_errors) if field_errors else None,
                    *row[14:16],
                    row[16],
                )
            )
        conn.executemany(insert, converted)
    conn.execute("DROP TABLE history")
    conn.execute("ALTER TABLE history_v2 RENAME TO history")
    for statement in _AUX_V2:
        conn.execute(statement)
    numbers = conn.execute("SELECT id, recipients FROM history ORDER BY id")
    while batch := numbers.fetchmany(2000):
        conn.executemany(
            "INSERT OR IGNORE INTO history_numbers (number, row_id) VALUES (?, ?)",
            [(number, row_id) for row_id, recipients in batch for number in json_list(recipients)],
        )
    conn.execute("INSERT INTO history_fts (history_fts) VALUES ('rebuild')")
    (backwards,) = conn.execute(
        "SELECT count(*) FROM (SELECT created < lag(created) OVER (ORDER BY id) AS back FROM history) WHERE back"
    ).fetchone()
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('created_monotonic', ?)", ("0" if backwards else "1",)
    )


def _migrate_2_0_to_2_1(conn: sqlite3.Connection) -> None:
    """2.0 → 2.1: the `status` column and its index; the digits index, filled from the rows already there."""
    conn.execute(_STATUS_COLUMN)
    for statement in _AUX_2_1:
        conn.execute(statement)
    conn.execute("INSERT INTO history_digits (history_digits) VALUES ('rebuild')")


def _migrate_2_1_to_2_2(conn: sqlite3.Connection) -> None:
    """2.1 → 2.2: uids (time-ordered, from each row's creation time), revisions, the agent, the outbox.

    Rows already there are not queued: that happens when a team database is first set up
    (`outbox.enable`), for every row then in the file.
    """
    conn.execute("ALTER TABLE history ADD COLUMN row_uid TEXT")
    conn.execute("ALTER TABLE history ADD COLUMN revision INTEGER NOT NULL DEFAULT 1")
    conn.execute("ALTER TABLE history ADD COLUMN agent TEXT")
    rows = conn.execute("SELECT id, created FROM history ORDER BY id")
    previous: str | None = None
    while batch := rows.fetchmany(5000):
        uids = []
        for row_id, created in batch:
            try:
                moment = parse_time(created)
            except ValueError:  # a hand-edited time: the uid keeps the order of ids, not of times
                moment = datetime.now(UTC)
            previous = new_row_uid(moment, previous)
            uids.append((previous, row_id))
        conn.executemany("UPDATE history SET row_uid = ? WHERE id = ?", uids)
    for statement in _AUX_2_2:
        conn.execute(statement)


#: A released version → the version its step brings a file to, and the step.
_MIGRATIONS: dict[tuple[int, int], tuple[tuple[int, int], Callable[[sqlite3.Connection], None]]] = {
    (1, 0): ((2, 0), _migrate_1_to_2),
    (2, 0): ((2, 1), _migrate_2_0_to_2_1),
    (2, 1): ((2, 2), _migrate_2_1_to_2_2),
}


def json_list(text: str | None) -> list[str]:
    if not text:
        return []
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else []


def check_fts5() -> None:
    """The history needs FTS5 and its trigram tokenizer (SQLite 3.34, late 2020): say so before opening."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
    except sqlite3.OperationalError:
        raise HistoryError(
            f"This Python's SQLite library ({sqlite3.sqlite_version}) was built without FTS5 full-text "
            "search, which the history needs. Use a Python from python.org, your Linux distribution or "
            "pyenv (they all include it), or the bwdesk installer."
        ) from None
    try:
        probe.execute("CREATE VIRTUAL TABLE probe_digits USING fts5(x, tokenize='trigram')")
    except sqlite3.OperationalError:
        raise HistoryError(
            f"This Python's SQLite library ({sqlite3.sqlite_version}) is too old for the history's number "
            "search: it needs SQLite 3.34 or newer. Use Python 3.11 or newer from python.org, a Linux "
            "distribution from 2021 or later (Debian 12, Ubuntu 22.04), or the bwdesk installer."
        ) from None
    finally:
        probe.close()


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files SQLite creates meanwhile (-wal, -shm) are owner-only too."""
    if os.name != "posix":  # pragma: no cover - the profile folder is private on Windows
        yield
        return
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def make_private(path: Path) -> None:
    """Create `path` owner-only before SQLite opens it; tighten an existing file that others could read."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    if os.name != "posix":  # pragma: no cover
        return
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if candidate.stat().st_mode & 0o077:
                os.chmod(candidate, 0o600)
                log.info("made %s readable by its owner only", candidate.name)


def _backup_path(path: Path, label: str) -> Path:
    candidate = path.with_name(f"{path.name}.{label}.bak")
    if not candidate.exists():
        return candidate
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.{label}.{stamp}.bak")


def prepare(
    conn: sqlite3.Connection,
    path: Path,
    *,
    write_lock: threading.Lock,
    connect: Callable[[], sqlite3.Connection],
) -> tuple[int, int]:
    """WAL mode, then the current schema (created, or migrated after a backup); returns the file's version."""
    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if str(mode).lower() != "wal":
        log.info("history: SQLite kept journal mode %s (WAL unavailable on this file system)", mode)
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    major, minor = unpack(version)
    if major > SCHEMA_MAJOR:
        raise HistoryError(
            f"The history {path} was written by a newer bwdesk (schema {major}.{minor}); this "
            f"version reads schema {SCHEMA_MAJOR}.x. Update bwdesk, or move the file aside to start a "
            "new history with this version."
        )
    if (major, minor) < (SCHEMA_MAJOR, SCHEMA_MINOR):
        _upgrade(conn, path, write_lock, connect)
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    return unpack(version)


def _upgrade(
    conn: sqlite3.Connection,
    path: Path,
    write_lock: threading.Lock,
    connect: Callable[[], sqlite3.Connection],
) -> None:
    with write_lock:
        conn.execute("BEGIN IMMEDIATE")  # re-read under the lock: another process may have done it
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            major, minor = unpack(version)
            if major == 0:
                (tables,) = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                if tables:
                    raise HistoryError(
                        f"{path} is not a bwdesk history (it has tables but no bwdesk schema "
                        "version). Move it aside; bwdesk then starts a new history."
                    )
                create(conn)
                conn.execute(f"PRAGMA user_version = {pack(SCHEMA_MAJOR, SCHEMA_MINOR)}")
            elif (major, minor) < (SCHEMA_MAJOR, SCHEMA_MINOR):
                _backup(path, connect, f"v{major}" if major < SCHEMA_MAJOR else f"v{major}.{minor}")
                while (major, minor) < (SCHEMA_MAJOR, SCHEMA_MINOR):
                    (next_major, next_minor), step = _MIGRATIONS[(major, minor)]
                    log.info("history: migrating schema %d.%d to %d.%d", major, minor, next_major, next_minor)
                    step(conn)
                    major, minor = next_major, next_minor
                conn.execute(f"PRAGMA user_version = {pack(SCHEMA_MAJOR, SCHEMA_MINOR)}")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _backup(path: Path, connect: Callable[[], sqlite3.Connection], label: str) -> Path:
    """Copy the whole database aside (consistent, via the backup API) before changing its schema.

    `connect` gives a separate connection: the caller's holds the write transaction.
    """
    target = _backup_path(path, label)
    make_private(target)
    source = connect()
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    log.info("history: copied %s to %s before migrating", path.name, target.name)
    return target
