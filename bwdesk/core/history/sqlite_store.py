"""`SqliteHistoryStore`: the local history, each row committed before its POST; WAL, a connection per thread, one write
lock, and SQLite's errors in words (docs/design.md §6.6, §9.3, §9.4, §9.10)."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bwdesk.core.api import FINAL_DELIVERY_STATUSES
from bwdesk.core.history import export, journal, schema
from bwdesk.core.history.owner import INTERRUPTED_DESCRIPTION, own_owner, owner_alive
from bwdesk.core.history.rows import HistoryRow, format_time
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_query import SELECT_COLUMNS, plan, row_from_values
from bwdesk.core.history.store import DEFAULT_PAGE, MAX_PAGE, HistoryError
from bwdesk.core.history.uids import new_row_uid
from bwdesk.core.outcome import ApiError, SendResult, SendState
from bwdesk.core.paths import ensure_private_dir
from bwdesk.core.per_thread import PerThread
from bwdesk.core.sqlite_write import write_transaction

if TYPE_CHECKING:
    from bwdesk.core.history.store import HistoryStore

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

_MODES = ("separate", "group")


# --- SQLite errors the user can act on ---------------------------------------------------------------------

_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


def _advice(code: int, path: Path) -> str | None:
    """What a person can do about SQLite error `code` on `path`; None when it is not theirs to fix (a bug)."""
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
    """SQLite errors a person can act on become a HistoryError: "Could not <action>: <advice>."."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        advice = _advice(code, path) if isinstance(code, int) else None
        if advice is None:
            raise
        raise HistoryError(f"Could not {action}: {advice}.") from exc


# --- the store ---------------------------------------------------------------------------------------------


class SqliteHistoryStore:
    """The SQLite history. Build with `SqliteHistoryStore.open(path)`; safe to share between threads."""

    def __init__(self, path: Path, clock: Callable[[], datetime]) -> None:
        self.path = path
        self._clock = clock
        self._write_lock = threading.Lock()
        self._connections: PerThread[sqlite3.Connection] = PerThread(
            self._connect, sqlite3.Connection.close, what="the history store"
        )
        self.schema_version: tuple[int, int] = (schema.SCHEMA_MAJOR, schema.SCHEMA_MINOR)

    # -- opening ------------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None
    ) -> SqliteHistoryStore:
        """Open (creating or migrating) the history at `path`. Raises HistoryError with what to do."""
        schema.check_fts5()
        store = cls(Path(path), clock or (lambda: datetime.now(UTC)))
        try:
            with _user_errors("open the history", store.path):
                ensure_private_dir(store.path.parent)
                with schema.private_umask():
                    schema.make_private(store.path)
                    store.schema_version = schema.prepare(
                        store._connections.get()[0],
                        store.path,
                        write_lock=store._write_lock,
                        connect=store._connect,
                    )
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

    # -- plumbing -----------------------------------------------------------------------------------------

    def _now(self) -> str:
        return format_time(self._clock())

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        with (
            _user_errors(action, self.path),
            write_transaction(self._connections.get()[0], self._write_lock) as conn,
        ):
            yield conn

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        with _user_errors(action, self.path):
            yield self._connections.get()[0]

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
        *,
        agent: str | None = None,
    ) -> int:
        """Write the `sending` row for one POST, before the request; returns its id. Raises HistoryError.

        `agent`: who sends it, kept for the team history (the team store passes it)."""
        mode = str(mode)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, not {mode!r}")
        if isinstance(to, str) or isinstance(media, str):
            raise TypeError("`to` and `media` are lists of strings")
        recipients = list(dict.fromkeys(to))
        moment = self._clock()
        now = format_time(moment)
        pid, start = own_owner()
        with self._write("save the message to the history before sending it") as conn:
            last = conn.execute("SELECT created, row_uid FROM history ORDER BY id DESC LIMIT 1").fetchone()
            if last is not None and now < last[0]:  # the clock went back: dates no longer follow ids
                conn.execute("UPDATE meta SET value = '0' WHERE key = 'created_monotonic'")
            row_uid = new_row_uid(moment, last[1] if last is not None else None)
            cursor = conn.execute(
                "INSERT INTO history (created, updated, sender, recipients, mode, text, media, tag, state, "
                "segments, owner_pid, owner_start, row_uid, agent) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?, ?, ?, ?)",
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
                    row_uid,
                    agent,
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
            values = conn.execute(
                f"SELECT {SELECT_COLUMNS} FROM history AS h WHERE h.id = ?", (row_id,)
            ).fetchone()
        return None if values is None else row_from_values(values)

    def search(
        self, query: HistoryQuery = HistoryQuery(), limit: int = DEFAULT_PAGE, before_id: int | None = None
    ) -> list[HistoryRow]:
        """Rows matching `query`, newest first; the next page is `before_id=<last row's id>`."""
        return self._search(query, limit, before_id)

    def _search(
        self, query: HistoryQuery, limit: int, before_id: int | None, *, only_queued: bool = False
    ) -> list[HistoryRow]:
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        with self._read("search the history") as conn:
            planned = plan(conn, query, before_id, only_queued=only_queued)
            if planned is None:
                return []
            pages = [conn.execute(f"{sql} LIMIT ?", (*params, limit)).fetchall() for sql, params in planned]
        if len(pages) == 1:
            rows = pages[0]
        else:  # the newest `limit` rows of the union: merge the pages by id, each row once
            merged = heapq.merge(*pages, key=lambda values: -values[0])
            unique = (next(same) for _, same in itertools.groupby(merged, key=lambda values: values[0]))
            rows = list(itertools.islice(unique, limit))
        return [row_from_values(values) for values in rows]

    def count(self, query: HistoryQuery = HistoryQuery()) -> int:
        """The exact number of matching rows: exact, not estimated, so it can take a few hundred
        milliseconds for a broad query on a million rows (the table view pages without it)."""
        with self._read("count the history") as conn:
            planned = plan(conn, query, None, count=True)
            if planned is None:
                return 0
            union = " UNION ".join(sql for sql, _ in planned)
            params = tuple(p for _, values in planned for p in values)
            (total,) = conn.execute(f"SELECT count(*) FROM ({union})", params).fetchone()
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
                f"SELECT {SELECT_COLUMNS} FROM history AS h INDEXED BY history_created WHERE h.created >= ? "
                "AND h.state = 'accepted' AND h.message_id IS NOT NULL AND (h.delivery_status IS NULL OR "
                f"h.delivery_status NOT IN ({', '.join('?' * len(finals))})) "
                "AND (h.delivery_checked IS NULL OR h.delivery_checked <= ?) "
                "ORDER BY h.delivery_checked IS NOT NULL, h.delivery_checked, h.id DESC LIMIT ?",
                (format_time(now - max_age), *finals, format_time(now - min_interval), limit),
            ).fetchall()
        return [row_from_values(values) for values in rows]

    # -- the journal of a team history (docs/design.md §16.10) -------------------------------------------

    def enable_outbox(self, target: str) -> int:
        """Queue every change for the team database `target` (all rows, the first time); how many now."""
        with self._write("prepare the history for the team history") as conn:
            queued = journal.enable(conn, target)
        if queued:
            log.info("history: %d row(s) queued for the first copy to the team history", queued)
        return queued

    def outbox_batch(self, limit: int) -> list[journal.Queued]:
        with self._read("read the history") as conn:
            return journal.batch(conn, limit)

    def outbox_done(self, copied: Sequence[tuple[int, int]]) -> None:
        with self._write("record the copy to the team history") as conn:
            journal.done(conn, copied, self._now())

    def outbox_problem(self, problem: str | None) -> None:
        with self._write("record the team history's state") as conn:
            journal.note_problem(conn, problem)

    def outbox_counts(self) -> journal.OutboxCounts:
        with self._read("read the history") as conn:
            return journal.counts(conn)

    def queued_uids(self, limit: int = 5000) -> set[str] | None:
        """Uids of rows waiting to be copied (None when more than `limit` wait)."""
        with self._read("read the history") as conn:
            return journal.queued_uids(conn, limit) if journal.has_queued(conn) else set()

    def id_of_uid(self, row_uid: str) -> int | None:
        with self._read("read the history") as conn:
            return journal.id_of_uid(conn, row_uid)

    def id_below(self, created: str, row_uid: str) -> int:
        with self._read("read the history") as conn:
            return journal.id_below(conn, created, row_uid)

    def search_queued(
        self, query: HistoryQuery, limit: int, before_id: int | None = None
    ) -> list[HistoryRow]:
        """`search`, kept to rows waiting in the outbox (few: what the team database has an older copy of)."""
        with self._read("search the history") as conn:
            if not journal.has_queued(conn):
                return []
        return self._search(query, limit, before_id, only_queued=True)

    def queued_view(
        self, query: HistoryQuery | None, limit: int, before_id: int | None = None, uid_limit: int = 5000
    ) -> tuple[set[str] | None, list[HistoryRow]]:
        """What waits in the outbox at one moment: the uids of every waiting row (None when more than
        `uid_limit` wait) and those of them matching `query` (`search_queued`; none for a None query).

        Both are read in one read transaction: the copier takes rows out of the line as the team database
        commits them, and between two separate reads a row could be in the first answer and not the second."""
        with self._read("search the history") as conn:
            conn.execute("BEGIN")
            try:
                if not journal.has_queued(conn):
                    return set(), []
                uids = journal.queued_uids(conn, uid_limit)
                if not uids or query is None:
                    return uids, []
                return uids, self._search(query, limit, before_id, only_queued=True)
            finally:
                conn.execute("COMMIT")

    # -- export -------------------------------------------------------------------------------------------

    def export_csv(
        self, target: str | os.PathLike[str] | IO[str], query: HistoryQuery = HistoryQuery()
    ) -> int:
        """Write the matching rows (newest first) as spreadsheet-safe CSV; returns how many."""
        return export.export_csv(self, target, query)

    def close(self) -> None:
        """Close every thread's connection (call once, when nothing else uses the store)."""
        self._connections.close_all()

    def __enter__(self) -> SqliteHistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if TYPE_CHECKING:  # the SQLite store is one implementation of the interface; mypy checks it stays so
    _conforms: type[HistoryStore] = SqliteHistoryStore
