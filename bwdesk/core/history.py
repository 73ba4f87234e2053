"""The local history: one row per POST, written before the request and settled after it.

Bandwidth never stores message text, so this file is the only record of what was said. Hence:

- The row is committed (``synchronous=FULL``) *before* the POST, so a crash, a kill or a power cut
  during the request leaves a ``sending`` row. Each ``sending`` row names its owner (process id plus
  that process's start time, so a recycled pid is not mistaken for it); the next start turns rows whose
  owner no longer runs into ``unknown`` and leaves a running ``bwdesk send`` alone.
- SQLite in WAL mode, created owner-only (0600) before SQLite opens it. The schema version lives in
  ``PRAGMA user_version`` as ``major << 16 | minor``: a newer minor opens fine, a newer major is
  refused, an older one is migrated after copying the file aside with SQLite's backup API.
- Search is built for a million rows: FTS5 over text and tag (external content, kept in step by
  triggers), a side table of recipient numbers, and every query walks an index newest-first and stops
  at ``limit`` (keyset paging by id, never OFFSET). Date filters become id ranges while creation times
  are known to grow with the id (tracked in ``meta.created_monotonic``).
- Thread-safe: each thread reads on its own connection (readers never wait for a writer in WAL);
  writes are serialised by a lock, and other processes by SQLite's busy timeout.
- Errors the user can act on (disk full, read-only, locked, damaged) become ``HistoryError`` with
  what to do; anything else is a bug and propagates.

Schema 2.0 (``history`` columns): id, created, updated (UTC, RFC 3339 with ``Z``), sender, recipients
(JSON list), mode, text, media (JSON list), tag, state, message_id, segments, http_status, error_type,
error_description, field_errors (JSON list of {field, description}), delivery_status, error_code,
delivery_checked, owner_pid, owner_start. Plus ``history_numbers(number, row_id)``, ``history_fts``
(FTS5 over text, tag) and ``meta(key, value)``. Schema 1.0 was the first store: the same row without
the side tables, the error as one JSON column and the owner as a bare pid.

``HistoryBackend`` is the interface the rest of bwdesk relies on; ``HistoryStore`` is the SQLite
implementation (a shared PostgreSQL store is planned behind the same interface).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from bwdesk.core.api import FINAL_DELIVERY_STATUSES
from bwdesk.core.errors import BwdeskError
from bwdesk.core.outcome import ApiError, FieldError, SendResult, SendState
from bwdesk.core.paths import ensure_private_dir
from bwdesk.core.phone import parse_number

log = logging.getLogger(__name__)

SCHEMA_MAJOR = 2
SCHEMA_MINOR = 0
BUSY_TIMEOUT_MS = 5000
DEFAULT_PAGE = 100
MAX_PAGE = 10_000


#: What a row left `sending` by a dead process says once it becomes `unknown`.
INTERRUPTED_DESCRIPTION = (
    "bwdesk stopped before the outcome was known (closed or crashed during the send); "
    "the message may or may not have been sent"
)

#: A CSV cell starting with one of these is a formula to Excel/LibreOffice/Sheets (OWASP "CSV injection").
CSV_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")

CSV_COLUMNS = (
    "id",
    "created",
    "updated",
    "from",
    "to",
    "mode",
    "text",
    "media",
    "tag",
    "state",
    "message_id",
    "segments",
    "http_status",
    "error_type",
    "error_description",
    "field_errors",
    "delivery_status",
    "error_code",
)

_MODES = ("separate", "group")


class HistoryError(BwdeskError):
    """The history file cannot be used right now, for a reason the user can act on."""


# --- rows and queries --------------------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the second: the form stored and printed (DESIGN §3)."""
    if moment.tzinfo is None:
        raise ValueError("history times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class HistoryRow:
    """One POST as recorded; `to_json()` is the object `bwdesk history --json` prints."""

    id: int
    created: str
    updated: str
    sender: str
    to: tuple[str, ...]
    mode: str
    text: str
    media: tuple[str, ...]
    tag: str
    state: SendState
    message_id: str | None = None
    segments: int | None = None
    http_status: int | None = None
    error: ApiError | None = None
    delivery_status: str | None = None
    error_code: int | None = None
    delivery_checked: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Exactly the DESIGN §3 object; a field with no value is null (an empty text or tag too)."""
        return {
            "id": self.id,
            "created": self.created,
            "updated": self.updated,
            "from": self.sender,
            "to": list(self.to),
            "mode": self.mode,
            "text": self.text or None,
            "media": list(self.media),
            "tag": self.tag or None,
            "state": self.state.value,
            "message_id": self.message_id,
            "segments": self.segments,
            "http_status": self.http_status,
            "error": self.error.to_json() if self.error is not None else None,
            "delivery_status": self.delivery_status,
            "error_code": self.error_code,
        }

    def created_local(self) -> str:
        """The creation time in the computer's time zone, as people read it (`2026-11-27 11:15`)."""
        return parse_time(self.created).astimezone().strftime("%Y-%m-%d %H:%M")

    @property
    def delivery_final(self) -> bool:
        return self.delivery_status in FINAL_DELIVERY_STATUSES


def status_label(row: HistoryRow) -> str:
    """A short status for tables: the send state, and for accepted rows the delivery status."""
    if row.state is SendState.ACCEPTED and row.delivery_status:
        code = f" {row.error_code}" if row.error_code else ""
        return f"accepted · {row.delivery_status}{code}"
    if row.state is SendState.REJECTED and row.http_status:
        return f"rejected · HTTP {row.http_status}"
    return row.state.value


@dataclass(frozen=True)
class HistoryQuery:
    """What to look for. All given filters must hold; an empty query matches every row.

    `text`: words typed by a person, matched as whole words (case- and accent-insensitive) in the text
    or the tag; `"quoted words"` are a phrase, a trailing `*` makes a prefix (`techn*`); FTS syntax is
    never interpreted. `number`: a recipient, in any format (normalised with `region`).
    `since`/`until`: creation time, `since <= created < until`.
    """

    text: str = ""
    number: str | None = None
    state: SendState | None = None
    since: datetime | None = None
    until: datetime | None = None
    region: str | None = None

    @classmethod
    def from_text(cls, text: str, region: str | None = None) -> HistoryQuery:
        """What a search box typed means: a full phone number searches that recipient, anything else words."""
        number = _number_in_query(text, region)
        if number is not None:
            return cls(number=number, region=region)
        return cls(text=text, region=region)


def _number_in_query(text: str, region: str | None) -> str | None:
    """E.164 if `text` is one complete phone number (not a 4-digit ticket, not the last 7 digits)."""
    stripped = text.strip()
    if not re.fullmatch(r"\+?[\d\s().\-/]+", stripped) or sum(c.isdigit() for c in stripped) < 8:
        return None
    return _normalise_number(stripped, region)


def _normalise_number(text: str, region: str | None) -> str | None:
    parsed = parse_number(text, region)
    return parsed.e164 if parsed.ok else None


_TERM = re.compile(r'"([^"]*)"|(\S+)')


def fts_query(text: str) -> str | None:
    """Turn typed words into an FTS5 query that cannot be a syntax error; None when nothing is searchable.

    Every term becomes a quoted FTS5 string (so `AND`, `NEAR`, `-`, `:`, `(`, `^` are plain words), terms are
    AND-ed, and terms with no letter or digit are dropped (the tokenizer would drop them anyway).
    """
    terms: list[str] = []
    text = text.replace("\x00", " ")  # FTS5 reads its query as a C string: a NUL would cut a quoted term
    for match in _TERM.finditer(text):
        phrase, word = match.group(1), match.group(2)
        prefix = False
        if word is not None:
            phrase = word
            if word.endswith("*"):
                phrase = word.rstrip("*")
                prefix = sum(c.isalnum() for c in phrase) >= 2
        if not any(c.isalnum() for c in phrase):
            continue
        quoted = '"' + phrase.replace('"', '""') + '"'
        terms.append(quoted + ("*" if prefix else ""))
    return " ".join(terms) if terms else None


# --- the interface ------------------------------------------------------------------------------------------


class HistoryBackend(Protocol):
    """What bwdesk needs from a history store (SQLite today; a shared PostgreSQL store is planned)."""

    def record_sending(
        self,
        sender: str,
        to: Sequence[str],
        mode: str,
        text: str = "",
        media: Sequence[str] = (),
        tag: str = "",
        segments: int | None = None,
    ) -> int: ...

    def settle(self, row_id: int, result: SendResult) -> None: ...

    def recover_interrupted(self) -> int: ...

    def search(
        self, query: HistoryQuery = ..., limit: int = DEFAULT_PAGE, before_id: int | None = None
    ) -> list[HistoryRow]: ...

    def count(self, query: HistoryQuery = ...) -> int: ...

    def get(self, row_id: int) -> HistoryRow | None: ...

    def known_message_ids(self, message_ids: Iterable[str]) -> set[str]: ...

    def update_delivery(self, row_id: int, status: str | None, error_code: int | None) -> None: ...

    def confirm_sent(
        self, row_id: int, message_id: str, segments: int | None, status: str | None, error_code: int | None
    ) -> None: ...

    def rows_to_refresh(
        self, max_age: timedelta = ..., limit: int = ..., min_interval: timedelta = ...
    ) -> list[HistoryRow]: ...

    def export_csv(self, target: str | os.PathLike[str] | IO[str], query: HistoryQuery = ...) -> int: ...

    def apply_retention(self, days: int | None) -> int: ...

    def close(self) -> None: ...


# --- SQLite errors the user can act on ---------------------------------------------------------------------

_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


def _advice(code: int, path: Path) -> str | None:
    primary = code & 0xFF
    if primary == _SQLITE_FULL:
        return f"the disk holding {path} is full. Free some disk space, then try again"
    if primary in (_SQLITE_READONLY, _SQLITE_PERM):
        return (
            f"{path} cannot be written (read-only file, folder or disk). Check that you own the file and "
            "the folder and that the disk is not mounted read-only"
        )
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return (
            "the history is locked by another bwdesk window or command that has been busy for more than "
            f"{BUSY_TIMEOUT_MS // 1000} seconds. Wait for it to finish (or close it), then try again"
        )
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return (
            f"{path} is damaged or is not a bwdesk history. Quit bwdesk and move the file aside (keep it: "
            "it may be recoverable); bwdesk then starts a new, empty history"
        )
    if primary == _SQLITE_CANTOPEN:
        return f"{path} cannot be opened. Check that its folder exists and that you may write to it"
    if primary == _SQLITE_IOERR:
        return (
            f"the disk reported an error while using {path}. Check the disk (and free space), then try again"
        )
    return None


@contextlib.contextmanager
def _user_errors(action: str, path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        advice = _advice(code, path) if isinstance(code, int) else None
        if advice is None:
            raise
        raise HistoryError(f"Could not {action}: {advice}.") from exc


# --- who owns a `sending` row ---------------------------------------------------------------------------------


def _linux_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie has finished running; its parent just has not reaped it
        return None
    return f"linux:{boot}:{fields[19]}"


def _ps_start(pid: int) -> str | None:
    import subprocess  # only on systems without /proc; not worth loading at start-up

    try:
        done = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    started = done.stdout.strip()
    return f"ps:{started}" if done.returncode == 0 and started else None


if sys.platform == "win32":  # pragma: no cover - exercised on the Windows CI runner
    import ctypes
    from ctypes import wintypes

    def _windows_start(pid: int) -> str | None:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.OpenProcess.restype = wintypes.HANDLE
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return None
        try:
            code = wintypes.DWORD()
            if (
                not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value != 259
            ):  # STILL_ACTIVE
                return None
            times = [wintypes.FILETIME() for _ in range(4)]
            if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
                return None
            return f"win:{(times[0].dwHighDateTime << 32) | times[0].dwLowDateTime}"
        finally:
            kernel32.CloseHandle(handle)


def process_start(pid: int) -> str | None:
    """An identity for the process `pid` that a recycled pid does not share; None if it is not running."""
    if sys.platform == "win32":  # pragma: no cover
        return _windows_start(pid)
    if sys.platform.startswith("linux"):
        return _linux_start(pid)
    return _ps_start(pid)


_own_identity: tuple[int, str | None] | None = None


def _own_owner() -> tuple[int, str | None]:
    global _own_identity
    pid = os.getpid()
    if _own_identity is None or _own_identity[0] != pid:  # recomputed after a fork
        _own_identity = (pid, process_start(pid))
    return _own_identity


def _pid_exists(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would terminate it on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_alive(pid: int, start: str | None) -> bool:
    """Whether the process that recorded a `sending` row (pid + start identity) still runs."""
    if (pid, start) == _own_owner():
        return True
    current = process_start(pid)
    if start is None:  # recorded where the start time was unknown: the pid is all there is
        return current is not None or _pid_exists(pid)
    return current == start


# --- schema ----------------------------------------------------------------------------------------------------

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

_SELECT = (
    "h.id, h.created, h.updated, h.sender, h.recipients, h.mode, h.text, h.media, h.tag, h.state, "
    "h.message_id, h.segments, h.http_status, h.error_type, h.error_description, h.field_errors, "
    "h.delivery_status, h.error_code, h.delivery_checked"
)


def _pack(major: int, minor: int) -> int:
    return (major << 16) | minor


def _unpack(version: int) -> tuple[int, int]:
    return version >> 16, version & 0xFFFF


def _create_v2(conn: sqlite3.Connection) -> None:
    conn.execute(_HISTORY_TABLE_V2.format(name="history"))
    for statement in _AUX_V2:
        conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('created_monotonic', '1')")


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
            [(number, row_id) for row_id, recipients in batch for number in _json_list(recipients)],
        )
    conn.execute("INSERT INTO history_fts (history_fts) VALUES ('rebuild')")
    (backwards,) = conn.execute(
        "SELECT count(*) FROM (SELECT created < lag(created) OVER (ORDER BY id) AS back FROM history) WHERE back"
    ).fetchone()
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('created_monotonic', ?)", ("0" if backwards else "1",)
    )


#: major version → the step that brings a file of that major to the next one.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}


def _json_list(text: str | None) -> list[str]:
    if not text:
        return []
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else []


def _check_fts5() -> None:
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
    except sqlite3.OperationalError:
        raise HistoryError(
            f"This Python's SQLite library ({sqlite3.sqlite_version}) was built without FTS5 full-text "
            "search, which the history needs. Use a Python from python.org, your Linux distribution or "
            "pyenv (they all include it), or the bwdesk installer."
        ) from None
    finally:
        probe.close()


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    """Files SQLite creates meanwhile (-wal, -shm) are owner-only too."""
    if os.name != "posix":  # pragma: no cover - the profile folder is private on Windows
        yield
        return
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _make_private(path: Path) -> None:
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


# --- the store ---------------------------------------------------------------------------------------------


class _Connections:
    """One SQLite connection per thread, all closed together (connections of finished threads on the way)."""

    def __init__(self, factory: Callable[[], sqlite3.Connection]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self.closed = False

    def get(self) -> sqlite3.Connection:
        if self.closed:
            raise RuntimeError("the history store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = self._factory()
        with self._lock:
            finished = [(t, c) for t, c in self._open if not t.is_alive()]
            self._open = [(t, c) for t, c in self._open if t.is_alive()]
            self._open.append((threading.current_thread(), conn))
        for _, old in finished:
            old.close()
        self._local.conn = conn
        return conn

    def close_all(self) -> None:
        with self._lock:
            self.closed = True
            connections, self._open = self._open, []
        for _, conn in connections:
            conn.close()


class HistoryStore:
    """The SQLite history. Build with `HistoryStore.open(path)`; safe to share between threads."""

    def __init__(self, path: Path, clock: Callable[[], datetime]) -> None:
        self.path = path
        self._clock = clock
        self._write_lock = threading.Lock()
        self._connections = _Connections(self._connect)
        self.schema_version: tuple[int, int] = (SCHEMA_MAJOR, SCHEMA_MINOR)

    # -- opening ------------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None
    ) -> HistoryStore:
        """Open (creating or migrating) the history at `path`. Raises HistoryError with what to do."""
        _check_fts5()
        store = cls(Path(path), clock or (lambda: datetime.now(UTC)))
        try:
            with _user_errors("open the history", store.path):
                ensure_private_dir(store.path.parent)
                with _private_umask():
                    _make_private(store.path)
                    store._prepare()
        except OSError as exc:
            store.close()
            raise HistoryError(
                f"Could not open the history {store.path}: {exc.strerror or exc}. "
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
        # FULL: the `sending` row must survive a power cut that happens while the request is in flight.
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _prepare(self) -> None:
        conn = self._connections.get()
        (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() != "wal":
            log.info("history: SQLite kept journal mode %s (WAL unavailable on this file system)", mode)
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        major, minor = _unpack(version)
        if major > SCHEMA_MAJOR:
            raise HistoryError(
                f"The history {self.path} was written by a newer bwdesk (schema {major}.{minor}); this "
                f"version reads schema {SCHEMA_MAJOR}.x. Update bwdesk, or move the file aside to start a "
                "new history with this version."
            )
        if (major, minor) < (SCHEMA_MAJOR, SCHEMA_MINOR):
            self._upgrade()
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        self.schema_version = _unpack(version)

    def _upgrade(self) -> None:
        conn = self._connections.get()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")  # re-read under the lock: another process may have done it
            try:
                (version,) = conn.execute("PRAGMA user_version").fetchone()
                major, minor = _unpack(version)
                if major == 0:
                    (tables,) = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    if tables:
                        raise HistoryError(
                            f"{self.path} is not a bwdesk history (it has tables but no bwdesk schema "
                            "version). Move it aside; bwdesk then starts a new history."
                        )
                    _create_v2(conn)
                    conn.execute(f"PRAGMA user_version = {_pack(SCHEMA_MAJOR, SCHEMA_MINOR)}")
                elif (major, minor) < (SCHEMA_MAJOR, SCHEMA_MINOR):
                    self._backup(f"v{major}" if major < SCHEMA_MAJOR else f"v{major}.{minor}")
                    while major < SCHEMA_MAJOR:
                        log.info("history: migrating schema %d.%d to %d.0", major, minor, major + 1)
                        _MIGRATIONS[major](conn)
                        major, minor = major + 1, 0
                    conn.execute(f"PRAGMA user_version = {_pack(SCHEMA_MAJOR, SCHEMA_MINOR)}")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _backup(self, label: str) -> Path:
        """Copy the whole database aside (consistent, via the backup API) before changing its schema."""
        target = _backup_path(self.path, label)
        _make_private(target)
        source = self._connect()  # a separate connection: the main one holds the write transaction
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        log.info("history: copied %s to %s before migrating", self.path.name, target.name)
        return target

    # -- plumbing -----------------------------------------------------------------------------------------

    def _now(self) -> str:
        return format_time(self._clock())

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        with _user_errors(action, self.path):
            conn = self._connections.get()
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        with _user_errors(action, self.path):
            yield self._connections.get()

    @staticmethod
    def _row(values: Sequence[Any]) -> HistoryRow:
        field_errors = tuple(
            FieldError(str(f.get("field", "")), str(f.get("description", "")))
            for f in (json.loads(values[15]) if values[15] else ())
            if isinstance(f, dict)
        )
        error = None
        if values[13] is not None or values[14] is not None or field_errors:
            error = ApiError(
                description=values[14] or "",
                type=values[13],
                http_status=values[12],
                field_errors=field_errors,
            )
        return HistoryRow(
            id=values[0],
            created=values[1],
            updated=values[2],
            sender=values[3],
            to=tuple(_json_list(values[4])),
            mode=values[5],
            text=values[6],
            media=tuple(_json_list(values[7])),
            tag=values[8],
            state=SendState(values[9]),
            message_id=values[10],
            segments=values[11],
            http_status=values[12],
            error=error,
            delivery_status=values[16],
            error_code=values[17],
            delivery_checked=values[18],
        )

    # -- writing ------------------------------------------------------------------------------------------

    def record_sending(
        self,
        sender: str,
        to: Sequence[str],
        mode: str,
        text: str = "",
        media: Sequence[str] = (),
        tag: str = "",
        segments: int | None = None,
    ) -> int:
        """Write the `sending` row for one POST, before the request; returns its id. Raises HistoryError."""
        mode = str(mode)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, not {mode!r}")
        if isinstance(to, str) or isinstance(media, str):
            raise TypeError("`to` and `media` are lists of strings")
        recipients = list(dict.fromkeys(to))
        now = self._now()
        pid, start = _own_owner()
        with self._write("save the message to the history before sending it") as conn:
            last = conn.execute("SELECT created FROM history ORDER BY id DESC LIMIT 1").fetchone()
            if last is not None and now < last[0]:  # the clock went back: dates no longer follow ids
                conn.execute("UPDATE meta SET value = '0' WHERE key = 'created_monotonic'")
            cursor = conn.execute(
                "INSERT INTO history (created, updated, sender, recipients, mode, text, media, tag, state, "
                "segments, owner_pid, owner_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?, ?)",
                (
                    now,
                    now,
                    sender,
                    json.dumps(recipients),
                    mode,
                    text or "",
                    json.dumps(list(media)),
                    tag or "",
                    segments,
                    pid,
                    start,
                ),
            )
            row_id = cursor.lastrowid
            assert row_id is not None
            conn.executemany(
                "INSERT OR IGNORE INTO history_numbers (number, row_id) VALUES (?, ?)",
                [(number, row_id) for number in recipients],
            )
        return row_id

    def settle(self, row_id: int, result: SendResult) -> None:
        """Record the outcome of the POST (even over `unknown`: a late real answer is better information)."""
        error = result.error
        if error is None and result.detail and result.state is not SendState.ACCEPTED:
            error = ApiError(description=result.detail, http_status=result.http_status)
        field_errors = (
            json.dumps([{"field": f.field, "description": f.description} for f in error.field_errors])
            if error is not None and error.field_errors
            else None
        )
        with self._write("record the outcome of the send in the history") as conn:
            cursor = conn.execute(
                "UPDATE history SET state = ?, updated = ?, http_status = ?, message_id = ?, "
                "segments = coalesce(?, segments), error_type = ?, error_description = ?, field_errors = ?, "
                "owner_pid = NULL, owner_start = NULL WHERE id = ?",
                (
                    result.state.value,
                    self._now(),
                    result.http_status,
                    result.message_id,
                    result.segments,
                    error.type if error else None,
                    error.description if error else None,
                    field_errors,
                    row_id,
                ),
            )
            if cursor.rowcount != 1:
                raise KeyError(f"no history row {row_id}")

    def recover_interrupted(self) -> int:
        """Rows left `sending` by a process that no longer runs become `unknown`; returns how many."""
        with self._read("read the history") as conn:
            owners = conn.execute(
                "SELECT DISTINCT owner_pid, owner_start FROM history WHERE state = 'sending'"
            ).fetchall()
        dead = [(pid, start) for pid, start in owners if pid is None or not owner_alive(pid, start)]
        if not dead:
            return 0
        changed = 0
        now = self._now()
        with self._write("update interrupted sends in the history") as conn:
            for pid, start in dead:
                cursor = conn.execute(
                    "UPDATE history SET state = 'unknown', updated = ?, error_description = ?, "
                    "owner_pid = NULL, owner_start = NULL WHERE state = 'sending' "
                    "AND owner_pid IS ? AND owner_start IS ?",
                    (now, INTERRUPTED_DESCRIPTION, pid, start),
                )
                changed += cursor.rowcount
        if changed:
            log.info("history: %d interrupted send(s) marked unknown", changed)
        return changed

    def update_delivery(self, row_id: int, status: str | None, error_code: int | None) -> None:
        """Store a delivery status looked up from the API (an error code of 0 means none)."""
        now = self._now()
        with self._write("save the delivery status in the history") as conn:
            cursor = conn.execute(
                "UPDATE history SET delivery_status = ?, error_code = ?, delivery_checked = ?, updated = ? "
                "WHERE id = ?",
                (status, error_code or None, now, now, row_id),
            )
            if cursor.rowcount != 1:
                raise KeyError(f"no history row {row_id}")

    def confirm_sent(
        self, row_id: int, message_id: str, segments: int | None, status: str | None, error_code: int | None
    ) -> None:
        """An `unknown` (or `failed`) send was found at Bandwidth ("Check status"): it is `accepted` after all.

        Raises KeyError for a missing row and ValueError for a row in another state (it was settled
        meanwhile, or is still being sent).
        """
        now = self._now()
        with self._write("record the checked send in the history") as conn:
            cursor = conn.execute(
                "UPDATE history SET state = 'accepted', message_id = ?, segments = coalesce(?, segments), "
                "http_status = NULL, error_type = NULL, error_description = NULL, field_errors = NULL, "
                "delivery_status = ?, error_code = ?, delivery_checked = ?, updated = ? "
                "WHERE id = ? AND state IN ('unknown', 'failed')",
                (message_id, segments, status, error_code or None, now, now, row_id),
            )
            if cursor.rowcount == 1:
                return
            found = conn.execute("SELECT state FROM history WHERE id = ?", (row_id,)).fetchone()
        if found is None:
            raise KeyError(f"no history row {row_id}")
        raise ValueError(f"history row {row_id} is {found[0]}; only unknown or failed sends can be confirmed")

    def apply_retention(self, days: int | None) -> int:
        """Delete rows created more than `days` days ago (None or 0: keep everything); returns how many."""
        if not days:
            return 0
        if days < 0:
            raise ValueError("retention days must be positive")
        cutoff = format_time(self._clock() - timedelta(days=days))
        deleted = 0
        while True:  # small batches: other threads and processes may write in between
            with self._write("delete old rows from the history") as conn:
                cursor = conn.execute(
                    "DELETE FROM history WHERE id IN (SELECT id FROM history INDEXED BY history_created "
                    "WHERE created < ? AND state != 'sending' ORDER BY created LIMIT 2000)",
                    (cutoff,),
                )
            deleted += cursor.rowcount
            if cursor.rowcount < 2000:
                break
        if deleted:
            log.info("history: retention of %d days deleted %d row(s)", days, deleted)
        return deleted

    # -- reading ------------------------------------------------------------------------------------------

    def known_message_ids(self, message_ids: Iterable[str]) -> set[str]:
        """Which of these Bandwidth message ids some row already holds (so a lookup never claims them twice)."""
        wanted = list(dict.fromkeys(message_ids))
        known: set[str] = set()
        with self._read("read the history") as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT message_id FROM history WHERE message_id IN ({marks})", chunk
                ).fetchall()
                known.update(str(message_id) for (message_id,) in rows)
        return known

    def get(self, row_id: int) -> HistoryRow | None:
        with self._read("read the history") as conn:
            values = conn.execute(f"SELECT {_SELECT} FROM history AS h WHERE h.id = ?", (row_id,)).fetchone()
        return None if values is None else self._row(values)

    def search(
        self, query: HistoryQuery = HistoryQuery(), limit: int = DEFAULT_PAGE, before_id: int | None = None
    ) -> list[HistoryRow]:
        """Rows matching `query`, newest first; the next page is `before_id=<last row's id>`."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        with self._read("search the history") as conn:
            plan = self._plan(conn, query, before_id)
            if plan is None:
                return []
            sql, params = plan
            rows = conn.execute(f"{sql} LIMIT ?", (*params, limit)).fetchall()
        return [self._row(values) for values in rows]

    def count(self, query: HistoryQuery = HistoryQuery()) -> int:
        """The exact number of matching rows: exact, not estimated, so it can take a few hundred
        milliseconds for a broad query on a million rows (the table view pages without it)."""
        with self._read("count the history") as conn:
            plan = self._plan(conn, query, None, count=True)
            if plan is None:
                return 0
            sql, params = plan
            (total,) = conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
        return int(total)

    def rows_to_refresh(
        self,
        max_age: timedelta = timedelta(days=3),
        limit: int = 100,
        min_interval: timedelta = timedelta(0),
    ) -> list[HistoryRow]:
        """Accepted rows younger than `max_age` whose delivery status may still change.

        Never-checked rows come first, then those checked longest ago; rows checked less than
        `min_interval` ago are skipped (so a periodic refresh does not ask about the same message again).
        """
        now = self._clock()
        finals = sorted(FINAL_DELIVERY_STATUSES)
        with self._read("read the history") as conn:
            # The creation-time index bounds the work to recent rows (the state index would walk them all).
            rows = conn.execute(
                f"SELECT {_SELECT} FROM history AS h INDEXED BY history_created WHERE h.created >= ? "
                "AND h.state = 'accepted' AND h.message_id IS NOT NULL AND (h.delivery_status IS NULL OR "
                f"h.delivery_status NOT IN ({', '.join('?' * len(finals))})) "
                "AND (h.delivery_checked IS NULL OR h.delivery_checked <= ?) "
                "ORDER BY h.delivery_checked IS NOT NULL, h.delivery_checked, h.id DESC LIMIT ?",
                (format_time(now - max_age), *finals, format_time(now - min_interval), limit),
            ).fetchall()
        return [self._row(values) for values in rows]

    def _plan(
        self, conn: sqlite3.Connection, query: HistoryQuery, before_id: int | None, count: bool = False
    ) -> tuple[str, tuple[Any, ...]] | None:
        """The SQL (without LIMIT) for `query`, driven by the most selective index; None if nothing can match.

        Every plan walks one index newest-first (FTS5 doclists, the number side table, the state index or
        the primary key) and checks the other filters row by row, so the first page costs about
        `limit / selectivity` index steps and never a sort. For `count`, the history table is joined only
        when a filter needs it.
        """
        match = fts_query(query.text)
        if match is None and query.text.strip():
            # Something was typed but none of it is searchable (only symbols or emoji): a search that finds
            # nothing is honest; quietly listing the whole history would look like a match.
            return None
        number = None
        if query.number is not None and query.number.strip():
            number = _normalise_number(query.number, query.region)
            if number is None:
                return None
        lo, hi = self._id_bounds(conn, query)
        if lo is not None and hi is not None and lo > hi:
            return None
        uppers = [x for x in (before_id, None if hi is None else hi + 1) if x is not None]
        upper = min(uppers) if uppers else None

        state = SendState(query.state).value if query.state is not None else None
        filters: list[str] = []
        params: list[Any] = []
        if query.since is not None:
            filters.append("h.created >= ?")
            params.append(format_time(query.since))
        if query.until is not None:
            filters.append("h.created < ?")
            params.append(_ceil_time(query.until))
        fts_filter = (
            "EXISTS (SELECT 1 FROM history_fts WHERE history_fts MATCH ? AND history_fts.rowid = h.id)"
        )

        head_params: list[Any]
        if number is not None:  # a recipient: the most selective thing a person types
            key, source, head_params = "n.row_id", "history_numbers AS n", [number]
            head = "n.number = ?"
            if match is not None:
                filters.append(fts_filter)
                params.append(match)
            if state is not None:
                filters.append("h.state = ?")
                params.append(state)
        elif match is not None and not self._state_is_rare(conn, state):
            key, source, head_params = "history_fts.rowid", "history_fts", [match]
            head = "history_fts MATCH ?"
            if state is not None:
                filters.append("h.state = ?")
                params.append(state)
        elif state is not None:
            key, source, head_params = "h.id", "history AS h INDEXED BY history_state", [state]
            head = "h.state = ?"
            if match is not None:
                filters.append(fts_filter)
                params.append(match)
        else:
            key, source, head, head_params = "h.id", "history AS h", "1", []

        if key != "h.id" and (filters or not count):
            source += f" CROSS JOIN history AS h ON h.id = {key}"
        columns = "1" if count else _SELECT
        where = head
        if upper is not None:
            where += f" AND {key} < ?"
            head_params.append(upper)
        if lo is not None:
            where += f" AND {key} >= ?"
            head_params.append(lo)
        where += "".join(f" AND {f}" for f in filters)
        order = "" if count else f" ORDER BY {key} DESC"
        return f"SELECT {columns} FROM {source} WHERE {where}{order}", (*head_params, *params)

    def _state_is_rare(self, conn: sqlite3.Connection, state: str | None, cap: int = 20_000) -> bool:
        """Whether walking the state index beats walking the text matches (a cheap capped count)."""
        if state is None:
            return False
        (n,) = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM history WHERE state = ? LIMIT ?)", (state, cap)
        ).fetchone()
        return bool(n < cap)

    def _id_bounds(self, conn: sqlite3.Connection, query: HistoryQuery) -> tuple[int | None, int | None]:
        """The id range a date filter covers, while creation times grow with ids; (None, None) otherwise."""
        if query.since is None and query.until is None:
            return None, None
        monotonic = conn.execute("SELECT value FROM meta WHERE key = 'created_monotonic'").fetchone()
        if monotonic is None or monotonic[0] != "1":
            return None, None
        lo = hi = None
        if query.since is not None:
            first = conn.execute(
                "SELECT id FROM history WHERE created >= ? ORDER BY created, id LIMIT 1",
                (format_time(query.since),),
            ).fetchone()
            lo = first[0] if first else 1 << 62
        if query.until is not None:
            last = conn.execute(
                "SELECT id FROM history WHERE created < ? ORDER BY created DESC, id DESC LIMIT 1",
                (_ceil_time(query.until),),
            ).fetchone()
            hi = last[0] if last else 0
        return lo, hi

    # -- export -------------------------------------------------------------------------------------------

    def export_csv(
        self, target: str | os.PathLike[str] | IO[str], query: HistoryQuery = HistoryQuery()
    ) -> int:
        """Write the matching rows (newest first) as CSV; returns how many.

        UTF-8 with a byte-order mark (so Excel reads accents and emoji correctly; LibreOffice and
        Python's `utf-8-sig` accept it), CRLF line ends, one header row. Every cell that a spreadsheet
        would run as a formula (starting with `= + - @`, tab or a line break, also after spaces) gets a
        leading `'`: E.164 numbers therefore read `'+19195550123`, which also keeps them text, never a
        number in scientific notation. A path is created owner-only; a text stream is written as given
        (open it with `encoding="utf-8", newline=""`).
        """
        if isinstance(target, (str, os.PathLike)):
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8", newline="") as handle:
                return self._write_csv(handle, query)
        return self._write_csv(target, query)

    def _write_csv(self, handle: IO[str], query: HistoryQuery) -> int:
        handle.write("\ufeff")
        import csv  # only when exporting

        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        written = 0
        before: int | None = None
        while page := self.search(query, limit=1000, before_id=before):
            writer.writerows([csv_cell(v) for v in _csv_values(row)] for row in page)
            written += len(page)
            before = page[-1].id
        return written

    def close(self) -> None:
        """Close every thread's connection (call once, when nothing else uses the store)."""
        self._connections.close_all()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ceil_time(moment: datetime) -> str:
    """`until` as stored text, rounded up to the second so `created < until` keeps its meaning."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return format_time(moment)


def _csv_values(row: HistoryRow) -> list[object]:
    error = row.error
    return [
        row.id,
        row.created,
        row.updated,
        row.sender,
        "; ".join(row.to),
        row.mode,
        row.text,
        " ".join(row.media),
        row.tag,
        row.state.value,
        row.message_id,
        row.segments,
        row.http_status,
        error.type if error else None,
        error.description if error else None,
        "; ".join(f"{f.field}: {f.description}" for f in error.field_errors) if error else None,
        row.delivery_status,
        row.error_code,
    ]


def csv_cell(value: object) -> str:
    """One cell as text that no spreadsheet will evaluate."""
    text = "" if value is None else str(value)
    if text[:1] in CSV_FORMULA_TRIGGERS or text.lstrip(" ")[:1] in CSV_FORMULA_TRIGGERS:
        return "'" + text
    return text


if TYPE_CHECKING:  # the SQLite store is one implementation of the interface; mypy checks it stays so
    _conforms: type[HistoryBackend] = HistoryStore

__all__ = [
    "CSV_COLUMNS",
    "FINAL_DELIVERY_STATUSES",
    "SCHEMA_MAJOR",
    "SCHEMA_MINOR",
    "HistoryBackend",
    "HistoryError",
    "HistoryQuery",
    "HistoryRow",
    "HistoryStore",
    "csv_cell",
    "format_time",
    "fts_query",
    "owner_alive",
    "process_start",
    "status_label",
]
