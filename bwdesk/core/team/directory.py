"""The directory in the team database: one do-not-text list (checked there, else this desk's copy), team templates
and contacts for every desk; personal templates stay in this desk's file (docs/design.md §17.9)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from bwdesk.core.directory.contacts import Contact
from bwdesk.core.directory.optout import Action, OptOut, OptOutEvent, Reason, local_time
from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
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
from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.rows import format_time, parse_time
from bwdesk.core.team.config import TeamConfig, TeamPassword
from bwdesk.core.team.connection import TeamDatabaseError, classify_exception, connect
from bwdesk.core.team.directory_cache import CopyUnusable, DirectoryCache, Event, utc_now
from bwdesk.core.team.schema import check_schema
from bwdesk.core.team.state import TeamLink
from bwdesk.core.team.threads import Guard, Readers

if TYPE_CHECKING:
    from bwdesk.core.directory.store import DirectoryStore

log = logging.getLogger(__name__)

T = TypeVar("T")

CHECK_TIMEOUT = 2.0  # seconds a do-not-text check waits for the team before this desk's copy answers
READ_TIMEOUT = 5.0  # seconds any other team query may take
REFRESH_EVERY = 60.0  # seconds between refreshes of this desk's copy of the team's list
MAX_COPY_AGE = timedelta(hours=24)  # an older copy does not stand in for the team's list
FLUSH_ON_CLOSE = 3.0  # seconds `close` waits for numbers added here to reach the team (while it answers)
POLL = 2.0  # seconds between tries while numbers wait to be stored
LOAD_TIMEOUT = 120.0  # seconds the first refresh (the whole list) may take
_BULK = 5000
_TEAM_SCOPES = frozenset({Scope.PERSONAL, Scope.TEAM})

_ENTRY = "number, reason, code, note, since, agent"
_EVENT = (
    "INSERT INTO bwdesk.optout_events (event_uid, number, action, reason, code, note, at, agent, desk_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
_EVENTS = (
    "INSERT INTO bwdesk.optout_events (event_uid, number, action, reason, code, note, at, agent, desk_id) "
    "SELECT gen_random_uuid(), u.n, 'added', u.r, u.c, u.t, %s, %s, %s "
    "FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[]) AS u (n, r, c, t) RETURNING number"
)


class TeamDirectoryUnavailable(DirectoryError):
    """The team database could not answer; `str()` says why and what still works."""


def _entry(row: Sequence[Any]) -> OptOut:
    number, reason, code, note, since, agent = row
    return OptOut(str(number), Reason(reason), code, format_time(since), str(agent), str(note))


class TeamDirectoryStore:
    """A desk's directory in a team (see the module). Build with `open_team_directory`; thread-safe."""

    def __init__(
        self,
        local: SqliteDirectoryStore,
        config: TeamConfig,
        password: TeamPassword,
        cache: DirectoryCache,
        *,
        link: TeamLink | None = None,
        check_timeout: float = CHECK_TIMEOUT,
        refresh_every: float = REFRESH_EVERY,
        max_copy_age: timedelta = MAX_COPY_AGE,
        poll: float = POLL,
        flush_on_close: float = FLUSH_ON_CLOSE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.local = local
        self.config = config
        self._password = password
        self.cache = cache
        self._link = link or TeamLink()
        self._check_timeout = check_timeout
        self._refresh_every = refresh_every
        self._max_copy_age = max_copy_age
        self._poll = poll
        self._flush_on_close = flush_on_close
        self._clock = clock
        self._readers = Readers(self._connect)
        self._guard = Guard()
        self._push_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._progress = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="bwdesk team directory", daemon=True)
        #: Why the last do-not-text check read this desk's copy of the team's list ('' when the team answered).
        self.check_note = ""

    @property
    def agent(self) -> str:
        return self.config.agent

    def start(self) -> None:
        """Start the background work: numbers waiting go to the team, the copy of its list is refreshed."""
        self._worker.start()

    # -- the do-not-text list -----------------------------------------------------------------------------

    def opted_out(self, numbers: Iterable[str]) -> dict[str, OptOut]:
        wanted = list(dict.fromkeys(numbers))
        if not wanted:
            return {}
        waiting = self.cache.pending_for(wanted)
        try:
            team = self._within(
                self._check_timeout,
                lambda: self._ask(
                    lambda conn: [
                        _entry(row)
                        for row in conn.execute(
                            f"SELECT {_ENTRY} FROM bwdesk.optouts WHERE number = ANY(%s)", (wanted,)
                        )
                    ]
                ),
            )
            found = {entry.number: entry for entry in team}
            self.check_note = ""
        except TeamDirectoryUnavailable as exc:
            try:
                found = self.cache.listed(wanted, self._clock(), self._max_copy_age)
            except CopyUnusable as why:
                raise DirectoryError(
                    f"The team's do-not-text list cannot be checked: {exc} And {why}, so it cannot stand in. "
                    "Nothing is sent until the team database can be reached again (or IT fixes it)."
                ) from None
            refreshed = self.cache.refreshed()
            when = local_time(format_time(refreshed)) if refreshed else "?"
            self.check_note = (
                f"Checked against this desk's copy of the team's do-not-text list from {when}, because the team "
                f"database could not be asked: {exc}"
            )
            log.info("do-not-text check from this desk's copy of the team's list (%s)", exc)
        return {**waiting, **found}

    def add_opt_out(
        self, number: str, reason: Reason, *, code: int | None = None, note: str = ""
    ) -> tuple[OptOut, bool]:
        entry = OptOut(number, Reason(reason), code, format_time(self._clock()), self.agent, note.strip())
        try:
            return self._ask(lambda conn: self._add(conn, entry))
        except TeamDirectoryUnavailable as exc:
            known = self.cache.pending_for([number])
            if number not in known:
                try:
                    known = self.cache.listed([number], self._clock(), self._max_copy_age)
                except CopyUnusable:
                    known = {}
            if number in known:
                return known[number], False
            self.cache.queue([entry])
            log.info("%s put on this desk's do-not-text list; it reaches the team later (%s)", number, exc)
            self._wake.set()
            return entry, True

    def _add(self, conn: psycopg.Connection[Any], entry: OptOut) -> tuple[OptOut, bool]:
        stored = conn.execute(_EVENT, self._event_values(str(uuid.uuid4()), entry, Action.ADDED)).fetchone()
        if stored is not None:
            return entry, True
        row = conn.execute(
            f"SELECT {_ENTRY} FROM bwdesk.optouts WHERE number = %s", (entry.number,)
        ).fetchone()
        return (entry, False) if row is None else (_entry(row), False)

    def _event_values(self, event_uid: str, entry: OptOut, action: Action) -> tuple[Any, ...]:
        added = action is Action.ADDED
        return (
            event_uid,
            entry.number,
            action.value,
            entry.reason.value if added else None,
            entry.code if added else None,
            entry.note,
            parse_time(entry.since),
            entry.by,
            self.config.desk_id,
        )

    def add_opt_outs(self, entries: Iterable[NewOptOut]) -> int:
        now = format_time(self._clock())
        fresh: dict[str, OptOut] = {}
        for e in entries:
            if e.number not in fresh:
                fresh[e.number] = OptOut(e.number, Reason(e.reason), e.code, now, self.agent, e.note.strip())
        batch = list(fresh.values())
        added = 0
        for start in range(0, len(batch), _BULK):
            chunk = batch[start : start + _BULK]
            try:
                added += self._ask(lambda conn, chunk=chunk: self._add_many(conn, chunk, now))  # type: ignore[misc]
            except TeamDirectoryUnavailable:
                rest = batch[start:]
                listed = self.cache.pending_for([e.number for e in rest])
                added += len(self.cache.queue(e for e in rest if e.number not in listed))
                self._wake.set()
                break
        return added

    def _add_many(self, conn: psycopg.Connection[Any], chunk: list[OptOut], now: str) -> int:
        with conn.transaction():
            rows = conn.execute(
                _EVENTS,
                (
                    parse_time(now),
                    self.agent,
                    self.config.desk_id,
                    [e.number for e in chunk],
                    [e.reason.value for e in chunk],
                    [e.code for e in chunk],
                    [e.note for e in chunk],
                ),
            ).fetchall()
        return len(rows)

    def remove_opt_out(self, number: str, reason: str) -> OptOut:
        reason = " ".join(reason.split())
        if not reason:
            raise ReasonRequired(
                "A number comes off the do-not-text list only with a reason, kept in the list's history "
                "(for example: the customer texted START on 3 March)."
            )

        def remove(conn: psycopg.Connection[Any]) -> OptOut | None:
            with conn.transaction():
                row = conn.execute(
                    f"SELECT {_ENTRY} FROM bwdesk.optouts WHERE number = %s", (number,)
                ).fetchone()
                if row is None:
                    return None
                entry = _entry(row)
                removal = OptOut(number, entry.reason, None, format_time(self._clock()), self.agent, reason)
                stored = conn.execute(
                    _EVENT, self._event_values(str(uuid.uuid4()), removal, Action.REMOVED)
                ).fetchone()
                return entry if stored is not None else None  # None: another desk took it off meanwhile

        try:
            self._push_pending()  # a number added here while the team was away goes there first
            removed = self._ask(remove)
        except TeamDirectoryUnavailable as exc:
            raise TeamDirectoryUnavailable(
                f"A number comes off the team's do-not-text list only while the team database can be reached, "
                f"and it cannot now: {exc} Nothing changed; try again later."
            ) from None
        if removed is None:
            raise NotListed(f"{number} is not on the do-not-text list.")
        return removed

    def opt_outs(
        self, *, after: str | None = None, limit: int = DEFAULT_PAGE, digits: str = ""
    ) -> list[OptOut]:
        sql = f"SELECT {_ENTRY} FROM bwdesk.optouts WHERE number > %s"
        arguments: list[object] = [after or ""]
        if digits:
            sql += " AND strpos(number, %s) > 0"
            arguments.append(digits)
        rows = self._read(
            "read the team's do-not-text list",
            lambda conn: conn.execute(
                f"{sql} ORDER BY number LIMIT %s", (*arguments, _page(limit))
            ).fetchall(),
        )
        return [_entry(row) for row in rows]

    def opt_out_history(self, number: str | None = None, limit: int = DEFAULT_PAGE) -> list[OptOutEvent]:
        sql = "SELECT number, action, reason, code, note, at, agent FROM bwdesk.optout_events"
        arguments: tuple[object, ...] = ()
        if number is not None:
            sql += " WHERE number = %s"
            arguments = (number,)
        rows = self._read(
            "read the history of the team's do-not-text list",
            lambda conn: conn.execute(
                f"{sql} ORDER BY id DESC LIMIT %s", (*arguments, _page(limit))
            ).fetchall(),
        )
        return [
            OptOutEvent(str(n), Action(a), Reason(r) if r else None, c, str(note), format_time(at), str(by))
            for n, a, r, c, note, at, by in rows
        ]

    # -- contacts -----------------------------------------------------------------------------------------

    def contacts_for(self, numbers: Iterable[str]) -> dict[str, Contact]:
        wanted = list(dict.fromkeys(numbers))
        if not wanted:
            return {}
        rows = self._read(
            "read the team's contacts",
            lambda conn: conn.execute(
                "SELECT number, name, fields, updated, agent FROM bwdesk.contacts "
                "WHERE number = ANY(%s) AND NOT removed",
                (wanted,),
            ).fetchall(),
        )
        return {str(row[0]): _contact(row) for row in rows}

    def contacts(self, *, after: str | None = None, limit: int = DEFAULT_PAGE) -> list[Contact]:
        rows = self._read(
            "read the team's contacts",
            lambda conn: conn.execute(
                "SELECT number, name, fields, updated, agent FROM bwdesk.contacts "
                "WHERE number > %s AND NOT removed ORDER BY number LIMIT %s",
                (after or "", _page(limit)),
            ).fetchall(),
        )
        return [_contact(row) for row in rows]

    def save_contact(self, number: str, name: str, fields: Mapping[str, str]) -> Contact:
        contact = Contact(number, name, dict(fields), format_time(self._clock()), self.agent)
        self._save_contacts([contact], "save the contact in the team's contacts")
        return contact

    def save_contacts(self, contacts: Iterable[Contact]) -> int:
        now = format_time(self._clock())
        saved = 0
        batch: list[Contact] = []
        for contact in contacts:
            batch.append(Contact(contact.number, contact.name, dict(contact.fields), now, self.agent))
            if len(batch) >= _BULK:
                saved += self._save_contacts(batch, "save the team's contacts")
                batch = []
        return saved + (self._save_contacts(batch, "save the team's contacts") if batch else 0)

    def _save_contacts(self, contacts: list[Contact], action: str) -> int:
        def save(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bwdesk.contacts (number, name, fields, updated, agent) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (number) DO UPDATE SET name = EXCLUDED.name, fields = EXCLUDED.fields, "
                    "updated = EXCLUDED.updated, agent = EXCLUDED.agent, removed = false, "
                    "stored = statement_timestamp()",
                    [
                        (c.number, c.name, Jsonb(dict(c.fields)), parse_time(c.updated or ""), c.by)
                        for c in contacts
                    ],
                )

        self._write(action, save)
        return len(contacts)

    def remove_contact(self, number: str) -> bool:
        now = parse_time(format_time(self._clock()))
        removed = self._write(
            "remove the contact from the team's contacts",
            lambda conn: (
                conn.execute(
                    "UPDATE bwdesk.contacts SET removed = true, updated = %s, agent = %s, "
                    "stored = statement_timestamp() WHERE number = %s AND NOT removed",
                    (now, self.agent, number),
                ).rowcount
                > 0
            ),
        )
        if removed:
            log.info("team contact %s removed by %s", number, self.agent)
        return removed

    # -- templates ----------------------------------------------------------------------------------------

    @property
    def template_scopes(self) -> frozenset[Scope]:
        return _TEAM_SCOPES

    def templates(self) -> list[Template]:
        rows = self._read(
            "read the team's templates",
            lambda conn: conn.execute(
                "SELECT name, text, tag, media, updated, agent FROM bwdesk.templates WHERE NOT removed ORDER BY key"
            ).fetchall(),
        )
        team = [
            Template(name, text, tag, tuple(media), Scope.TEAM, format_time(updated), agent)
            for name, text, tag, media, updated, agent in rows
        ]
        return [*self.local.templates(), *team]

    def save_template(self, template: Template, *, replace: bool = False) -> Template:
        _check_scope(template.scope)
        if template.scope is Scope.PERSONAL:
            return self.local.save_template(template, replace=replace)
        now = format_time(self._clock())
        saved = Template(
            template.name, template.text, template.tag, template.media, Scope.TEAM, now, self.agent
        )
        stored = self._write(
            "save the team template",
            lambda conn: conn.execute(
                "INSERT INTO bwdesk.templates (key, name, text, tag, media, updated, agent) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, "
                "text = EXCLUDED.text, tag = EXCLUDED.tag, media = EXCLUDED.media, updated = EXCLUDED.updated, "
                "agent = EXCLUDED.agent, removed = false, stored = statement_timestamp() "
                "WHERE bwdesk.templates.removed OR %s RETURNING key",
                (
                    saved.key,
                    saved.name,
                    saved.text,
                    saved.tag,
                    list(saved.media),
                    parse_time(now),
                    self.agent,
                    replace,
                ),
            ).fetchone(),
        )
        if stored is None:
            raise TemplateExists(f"There is already a team template called {saved.name!r}.")
        return saved

    def remove_template(self, name: str, scope: Scope) -> bool:
        _check_scope(scope)
        if scope is Scope.PERSONAL:
            return self.local.remove_template(name, scope)
        now = parse_time(format_time(self._clock()))
        removed = self._write(
            "remove the team template",
            lambda conn: (
                conn.execute(
                    "UPDATE bwdesk.templates SET removed = true, updated = %s, agent = %s, "
                    "stored = statement_timestamp() WHERE key = %s AND NOT removed",
                    (now, self.agent, name_key(name)),
                ).rowcount
                > 0
            ),
        )
        if removed:
            log.info("team template %r removed by %s", name, self.agent)
        return removed

    # -- background: the outbox and the copy ----------------------------------------------------------------

    def flush(self, timeout: float, *, through_offline: bool = False) -> bool:
        """Wait (at most `timeout` s) until the numbers added here are in the team database; False if some
        still wait (at once while the team database cannot be reached, unless `through_offline`)."""
        import time

        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._progress:
            while self.cache.waiting():
                left = deadline - time.monotonic()
                if left <= 0 or not self._worker.is_alive():
                    return False
                if not through_offline and not self._link.may_try():
                    return False
                self._progress.wait(min(left, 0.2))
        return True

    def refresh_copy(self) -> None:
        """Bring this desk's copy of the team's list up to date (the worker calls it; tests and the bench too)."""

        def refresh(conn: psycopg.Connection[Any]) -> None:
            horizon = self.cache.horizon()
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{round(LOAD_TIMEOUT)}s",))
                [[now_horizon]] = conn.execute(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"
                ).fetchall()
                if horizon is None:
                    count = self.cache.replace_all(
                        ((int(row[0]), _entry(row[1:])) for row in _whole_list(conn)),
                        str(now_horizon),
                        self._clock(),
                    )
                    log.info("team directory: copied the team's do-not-text list (%d numbers)", count)
                    return
                rows = conn.execute(
                    f"SELECT id, action, {_ENTRY.replace('since', 'at')} FROM bwdesk.optout_events "
                    "WHERE txid >= %s::xid8 ORDER BY id",
                    (horizon,),
                ).fetchall()
                self.cache.apply(
                    (
                        Event(int(r[0]), str(r[2]), _entry(r[2:]) if r[1] == Action.ADDED.value else None)
                        for r in rows
                    ),
                    str(now_horizon),
                    self._clock(),
                )

        self._ask(refresh)

    def _push_pending(self) -> int:
        """Store the numbers waiting here in the team database, in order; how many were sent."""
        with self._push_lock:
            sent = 0
            while batch := self.cache.pending(500):

                def push(conn: psycopg.Connection[Any], batch: list[Any] = batch) -> None:
                    with conn.transaction(), conn.cursor() as cursor:
                        cursor.executemany(
                            _EVENT.replace(" RETURNING id", " ON CONFLICT (event_uid) DO NOTHING"),
                            [self._event_values(p.event_uid, p.entry, Action.ADDED) for p in batch],
                        )

                self._ask(push)
                self.cache.stored([p.seq for p in batch])
                sent += len(batch)
                with self._progress:
                    self._progress.notify_all()
            return sent

    def _run(self) -> None:
        import time

        refresh_at = 0.0
        while True:  # the first round runs even when the store is closed at once (a short command)
            wait = self._refresh_every
            try:
                if self._link.may_try():
                    if self.cache.waiting():
                        self._push_pending()
                    if time.monotonic() >= refresh_at:
                        self.refresh_copy()
                        refresh_at = time.monotonic() + self._refresh_every
                    wait = max(0.0, refresh_at - time.monotonic())
                else:
                    wait = min(self._link.wait_left(), self._poll)
            except TeamDirectoryUnavailable:
                wait = min(self._link.wait_left() or self._poll, self._poll)
            except BwdeskError as exc:  # this desk's copy (a full disk): try again later
                log.info("team directory: %s", exc)
                wait = self._poll
            except Exception:  # a bug: said in the log; checks still ask the team first
                log.exception("team directory: the background work failed")
                wait = max(self._poll, 5.0)
            with self._progress:
                self._progress.notify_all()
            if self._stop.is_set():
                return
            self._wake.wait(wait)
            self._wake.clear()

    # -- plumbing -------------------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        conn = connect(
            self.config.url,
            self._password.value,
            connect_timeout=self._check_timeout,
            statement_timeout=READ_TIMEOUT,
            autocommit=True,
        )
        try:
            check_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _ask(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work` on this thread's team connection, or `TeamDirectoryUnavailable` (and the link told why)."""
        if not self._link.may_try():
            raise TeamDirectoryUnavailable(
                self._link.problem or "Team history: the team database cannot be reached."
            )
        for attempt in range(2):
            fresh = True  # a failure while connecting is not one of a connection left over
            try:
                conn, fresh = self._readers.get()
                result = work(conn)
            except psycopg.errors.QueryCanceled:
                raise TeamDirectoryUnavailable(
                    "Team history: the team database took too long to answer."
                ) from None
            except (psycopg.OperationalError, TeamDatabaseError) as exc:
                self._readers.drop()
                if attempt == 0 and isinstance(exc, psycopg.OperationalError) and not fresh:
                    continue  # a connection left over from before a restart of the server: once more
                raise self._unavailable(exc) from None
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError):
                raise  # the request, not the connection: a bug, never "offline"
            except psycopg.Error as exc:
                self._readers.drop()
                raise self._unavailable(exc) from None
            self._link.succeeded()
            return result
        raise AssertionError("unreachable")

    def _unavailable(self, exc: BaseException) -> TeamDirectoryUnavailable:
        error = classify_exception(exc, self.config.url)
        self._link.failed(error.problem.offline, error.problem.value, str(error))
        return TeamDirectoryUnavailable(str(error))

    def _read(self, action: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            return self._ask(work)
        except TeamDirectoryUnavailable as exc:
            raise TeamDirectoryUnavailable(f"Could not {action}: {exc}") from None

    def _write(self, action: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            return self._ask(work)
        except TeamDirectoryUnavailable as exc:
            raise TeamDirectoryUnavailable(
                f"Could not {action}: {exc} Nothing changed; try again later."
            ) from None

    def _within(self, seconds: float, work: Callable[[], T]) -> T:
        """`work` on the guard's thread, abandoned after `seconds` (a network that drops packets must not hold
        a send up); the next check gets a new thread."""
        try:
            return self._guard.run(work, seconds + 0.5)
        except TimeoutError:
            raise TeamDirectoryUnavailable(
                f"Team history: the team database did not answer within {seconds:g} seconds."
            ) from None

    def close(self) -> None:
        """Store what waits here in a moment (never long: the team database may be away), then close."""
        try:
            if self._flush_on_close > 0 and self._worker.is_alive() and self.cache.waiting():
                self.flush(self._flush_on_close)
        finally:
            self._stop.set()
            self._wake.set()
            if self._worker.is_alive() and self._worker is not threading.current_thread():
                self._worker.join(5.0)
            self._guard.close()
            self._readers.close_all()
            self.cache.close()
            self.local.close()

    def __enter__(self) -> TeamDirectoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _whole_list(conn: psycopg.Connection[Any], page: int = 20_000) -> Iterator[Sequence[Any]]:
    """Every entry of the team's list with the id of the event that added it, a page at a time (in the
    caller's snapshot)."""
    after = ""
    while rows := conn.execute(
        f"SELECT event_id, {_ENTRY} FROM bwdesk.optouts WHERE number > %s ORDER BY number LIMIT %s",
        (after, page),
    ).fetchall():
        yield from rows
        after = str(rows[-1][1])


def _page(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def _contact(row: Sequence[Any]) -> Contact:
    number, name, fields, updated, agent = row
    return Contact(
        str(number), str(name), dict(fields) if isinstance(fields, dict) else {}, format_time(updated), agent
    )


def _check_scope(scope: Scope) -> None:
    if scope is Scope.LOCKED:
        raise ScopeNotKept(
            "Templates locked by your administrator come from the system settings file and cannot be "
            "changed in bwdesk."
        )


def open_team_directory(
    local: SqliteDirectoryStore,
    config: TeamConfig,
    password: TeamPassword,
    cache: DirectoryCache,
    **options: Any,
) -> TeamDirectoryStore:
    """The team directory over this desk's `local` one, its background work started. The first time a desk uses
    this team database, the numbers on its own list are queued for the team's (nothing it blocked is forgotten)."""
    cache.belongs_to(config.url.where)
    if cache.meta("local list queued") != config.url.where:
        after: str | None = None
        while page := local.opt_outs(after=after, limit=MAX_PAGE):
            cache.queue(page)
            after = page[-1].number
        cache.set_meta("local list queued", config.url.where)
    store = TeamDirectoryStore(local, config, password, cache, **options)
    store.start()
    return store


if TYPE_CHECKING:  # the second implementation of the interface; mypy checks it stays so
    _conforms: type[DirectoryStore] = TeamDirectoryStore


__all__ = ["TeamDirectoryStore", "TeamDirectoryUnavailable", "open_team_directory"]
