"""The copier: this desk's outbox into the team database, in order, on a thread of its own, with the desk's heartbeat;
nothing lost, nothing doubled (docs/design.md §16.10, §16.13)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bwdesk import __version__
from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.journal import Queued
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.team.config import TeamConfig, TeamPassword
from bwdesk.core.team.connection import TeamDatabaseError, classify_exception, connect
from bwdesk.core.team.identity import host_name
from bwdesk.core.team.query import parse_stored
from bwdesk.core.team.schema import check_schema
from bwdesk.core.team.state import TeamLink
from bwdesk.core.team.terms import search_terms, search_terms_many

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction
HEARTBEAT = 30.0  # seconds between heartbeats while the copier runs
POLL = 2.0  # seconds between looks at the outbox when idle (another process on this profile may queue)
STATEMENT_TIMEOUT = 30.0

_UPDATED = (
    "revision, agent, updated, text, media, tag, state, message_id, segments, http_status, error_type, "
    "error_description, field_errors, delivery_status, error_code, delivery_checked, search_terms"
)
UPSERT = (
    "INSERT INTO bwdesk.messages (row_uid, desk_id, local_id, created, sender, recipients, mode, "
    f"{_UPDATED}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s, %s, %s) ON CONFLICT (row_uid) DO UPDATE SET "
    + ", ".join(f"{column} = EXCLUDED.{column}" for column in (c.strip() for c in _UPDATED.split(",")))
    + " WHERE bwdesk.messages.revision < EXCLUDED.revision"
)
DESK = (
    "INSERT INTO bwdesk.desks (desk_id, agent, host_name, bwdesk_version) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (desk_id) DO UPDATE SET agent = EXCLUDED.agent, host_name = EXCLUDED.host_name, "
    "bwdesk_version = EXCLUDED.bwdesk_version, last_heartbeat = statement_timestamp()"
)


def _clean(text: str) -> str:
    """PostgreSQL's text cannot hold NUL (the local history can, from a file written by hand)."""
    return text.replace("\x00", "\ufffd")


def upsert_values(entry: Queued, desk_id: str, agent: str, terms: str | None = None) -> tuple[Any, ...]:
    """The parameters of `UPSERT` for one waiting row (`terms`: its `search_terms`, when already made)."""
    row, error = entry.row, entry.row.error
    fields = [{"field": f.field, "description": f.description} for f in error.field_errors] if error else []
    return (
        row.row_uid,
        desk_id,
        row.id,
        parse_stored(row.created),
        _clean(row.sender),
        [_clean(n) for n in row.to],
        row.mode,
        entry.revision,
        _clean(row.agent or agent),
        parse_stored(row.updated),
        _clean(row.text),
        [_clean(m) for m in row.media],
        _clean(row.tag),
        row.state.value,
        row.message_id,
        row.segments,
        row.http_status,
        error.type if error else None,
        _clean(error.description) if error and error.description else None,
        Jsonb(fields) if fields else None,
        row.delivery_status,
        row.error_code,
        parse_stored(row.delivery_checked),
        search_terms(_clean(row.text), _clean(row.tag)) if terms is None else terms,
    )


def batch_values(waiting: Sequence[Queued], desk_id: str, agent: str) -> list[tuple[Any, ...]]:
    """`upsert_values` of a batch, its words made in one pass."""
    terms = search_terms_many([(_clean(e.row.text), _clean(e.row.tag)) for e in waiting])
    return [upsert_values(entry, desk_id, agent, words) for entry, words in zip(waiting, terms, strict=True)]


class Copier:
    """Copies this desk's outbox to the team database on a background thread (`start`, `wake`, `stop`)."""

    def __init__(
        self,
        journal: SqliteHistoryStore,
        config: TeamConfig,
        password: TeamPassword,
        link: TeamLink,
        *,
        batch: int = BATCH,
        heartbeat: float = HEARTBEAT,
        poll: float = POLL,
        on_copied: Callable[[int], None] | None = None,
    ) -> None:
        self._journal = journal
        self._config = config
        self._password = password
        self._link = link
        self._batch = batch
        self._heartbeat = heartbeat
        self._poll = poll
        self._on_copied = on_copied
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._conn: psycopg.Connection[Any] | None = None
        self._beat_at = 0.0
        self._idle = False
        self._thread = threading.Thread(target=self._run, name="bwdesk team copier", daemon=True)
        self.copied = 0  # rows copied since start (for tests and the bench)

    # -- control ------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: copy it now (unless the team database is being left alone for a while)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (a copy in progress finishes or fails first) and close its connection."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def flush(self, timeout: float, *, through_offline: bool = False) -> bool:
        """Wait (at most `timeout` s) until nothing waits; False if rows still wait (too slow, or offline:
        unless `through_offline`, a team database that cannot be reached ends the wait at once)."""
        deadline = time.monotonic() + timeout
        self.wake()
        with self._progress:
            while True:
                if self._journal.outbox_counts().waiting == 0:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                if not through_offline and not self._link.may_try():
                    return False
                self._progress.wait(min(left, 0.2))

    # -- the thread ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                wait = self._step()
                if wait > 0:
                    self._wake.wait(wait)
                self._wake.clear()
        finally:
            self._disconnect()

    def _step(self) -> float:
        """One round: connect, heartbeat, copy a batch. Returns how long to wait before the next round."""
        if not self._link.may_try():
            return min(self._link.wait_left(), self._poll)
        try:
            conn = self._connection()
            if time.monotonic() >= self._beat_at:
                self._beat(conn)
            waiting = self._journal.outbox_batch(self._batch)
            self._link.succeeded()
            if not waiting:
                self._announce_idle()
                return min(self._poll, max(0.0, self._beat_at - time.monotonic()))
            self._copy(conn, waiting)
            self._idle = False
            return 0.0
        except (TeamDatabaseError, psycopg.Error) as exc:
            self._failed(exc)
            return min(self._link.wait_left(), self._poll)
        except BwdeskError as exc:  # the local history (a full disk, a lock held too long): try again soon
            log.warning("team history: the outbox could not be read: %s", exc)
            return self._poll
        except (
            Exception
        ):  # a bug: said in the log, and the copier goes on trying (sending never depends on it)
            log.exception("team history: the copier failed")
            self._disconnect()
            return max(self._poll, 5.0)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = connect(
            self._config.url, self._password.value, statement_timeout=STATEMENT_TIMEOUT, autocommit=True
        )
        try:
            check_schema(conn)
            self._beat(conn)  # the desk's row before any of its messages
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._note_problem(None)
        return conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _beat(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(DESK, (self._config.desk_id, self._config.agent, host_name(), __version__))
        self._beat_at = time.monotonic() + self._heartbeat

    def _copy(self, conn: psycopg.Connection[Any], waiting: Sequence[Queued]) -> None:
        desk, agent = self._config.desk_id, self._config.agent
        try:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(UPSERT, batch_values(waiting, desk, agent))
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError):
            self._copy_one_by_one(conn, waiting)
            return
        self._done(waiting)

    def _copy_one_by_one(self, conn: psycopg.Connection[Any], waiting: Sequence[Queued]) -> None:
        """A batch the team database refused for its data: copy the rows alone; one it refuses alone can never
        be copied (its local row stays as it is) and leaves the line, said in the log."""
        desk, agent = self._config.desk_id, self._config.agent
        for entry in waiting:
            try:
                with conn.transaction():
                    conn.execute(UPSERT, upsert_values(entry, desk, agent))
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                log.warning(
                    "team history: history row %d cannot be copied (%s); it stays in this desk's history only",
                    entry.row.id,
                    type(exc).__name__,
                )
            self._done([entry])

    def _done(self, copied: Sequence[Queued]) -> None:
        self._journal.outbox_done([(entry.row.id, entry.revision) for entry in copied])
        self.copied += len(copied)
        with self._progress:
            self._progress.notify_all()
        if self._on_copied is not None:
            self._on_copied(len(copied))
        self._link.notify()

    def _announce_idle(self) -> None:
        if not self._idle:
            self._idle = True
            with self._progress:
                self._progress.notify_all()

    def _failed(self, exc: BaseException) -> None:
        self._disconnect()
        error = classify_exception(exc, self._config.url)
        log.info("team history: copy stopped: %s", error.problem.value)
        self._link.failed(error.problem.offline, error.problem.value, str(error))
        self._note_problem(str(error))
        with self._progress:
            self._progress.notify_all()

    def _note_problem(self, problem: str | None) -> None:
        with contextlib.suppress(BwdeskError):
            self._journal.outbox_problem(problem)


__all__ = ["BATCH", "DESK", "HEARTBEAT", "UPSERT", "Copier", "upsert_values"]
