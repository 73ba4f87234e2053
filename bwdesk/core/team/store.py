"""`TeamHistoryStore`: writes to this desk's journal, reads of the team view from the team database, falling back to
this desk's rows when it cannot answer (docs/design.md §16.11)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, TypeVar

import psycopg

from bwdesk.core.errors import BwdeskError
from bwdesk.core.history import export
from bwdesk.core.history.rows import HistoryRow, format_time, parse_time
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.history.store import DEFAULT_PAGE, MAX_PAGE
from bwdesk.core.history.uids import is_team_key, split_team_key, team_key
from bwdesk.core.outcome import SendResult
from bwdesk.core.team import query as team_query
from bwdesk.core.team.config import TeamConfig, TeamPassword
from bwdesk.core.team.connection import TeamDatabaseError, classify_exception, connect
from bwdesk.core.team.copier import Copier
from bwdesk.core.team.schema import check_schema
from bwdesk.core.team.state import Connection, TeamLink, TeamState
from bwdesk.core.team.threads import Guard, Readers

if TYPE_CHECKING:
    from bwdesk.core.history.store import HistoryStore

log = logging.getLogger(__name__)

T = TypeVar("T")

READ_CONNECT_TIMEOUT = 2.0  # seconds (libpq's least)
READ_TIMEOUT = 5.0  # seconds a team query may take before this desk reads its own journal instead
GUARD_TIMEOUT = 2.0  # seconds the duplicate guard waits for the team before checking this desk alone
DESK_SILENT_AFTER = timedelta(minutes=2)  # a desk this long without a heartbeat is offline
FLUSH_ON_CLOSE = 3.0  # seconds `close` waits for the outbox to empty (while the team database answers)
QUEUED_MERGE_LIMIT = 5000  # beyond this many waiting rows, the team view shows the team's copies alone


class TeamUnavailable(BwdeskError):
    """The team database could not answer (offline, too slow, or unusable); `str()` says why."""


class NotThisDesk(BwdeskError):
    """A change asked of another desk's row: only the desk that sent a message records what happened to it."""


@dataclass(frozen=True)
class TeamPage:
    """A page of the team view. `problem` is why the team database was not asked (then `rows` are this desk's
    own, from its journal); None when they came from the team database."""

    rows: list[HistoryRow]
    problem: str | None = None

    @property
    def from_team(self) -> bool:
        return self.problem is None


def _sql(statement: team_query.TeamSql) -> tuple[str, dict[str, Any]]:
    return statement.text, statement.params


class TeamHistoryStore:
    """A desk's history in a team: its journal for writing, the team database for reading (see the module)."""

    def __init__(
        self,
        journal: SqliteHistoryStore,
        config: TeamConfig,
        password: TeamPassword,
        *,
        link: TeamLink | None = None,
        silent_after: timedelta = DESK_SILENT_AFTER,
        read_timeout: float = READ_TIMEOUT,
        guard_timeout: float = GUARD_TIMEOUT,
        flush_on_close: float = FLUSH_ON_CLOSE,
        copier: dict[str, Any] | None = None,
    ) -> None:
        self.journal = journal
        self.config = config
        self._password = password
        self._link = link or TeamLink()
        self.silent_after = silent_after
        self._read_timeout = read_timeout
        self._guard_timeout = guard_timeout
        self._flush_on_close = flush_on_close
        self._readers = Readers(self._connect)
        self._guard = Guard()
        self.copier = Copier(journal, config, password, self._link, **(copier or {}))
        self.path = journal.path
        self.schema_version = journal.schema_version

    @property
    def agent(self) -> str:
        """This desk's agent (the display name "mine" means)."""
        return self.config.agent

    @property
    def desk_id(self) -> str:
        return self.config.desk_id

    def start(self) -> None:
        """Start copying: rows waiting from earlier runs go first."""
        self.copier.start()

    # -- state, for the window's status bar and `bwdesk team status` ---------------------------------------

    def state(self) -> TeamState:
        try:
            waiting = self.journal.outbox_counts().waiting
        except BwdeskError:
            waiting = 0
        return TeamState(self._link.connection, waiting, self._link.problem, self._link.problem_kind)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` (on a background thread) when `state()` may have changed; returns an unsubscribe."""
        return self._link.subscribe(listener)

    def wait_for_contact(self, timeout: float) -> TeamState:
        """Wait (at most `timeout` s) for the first answer of the team database; the state then."""
        self._link.wait_for_verdict(timeout)
        return self.state()

    def flush(self, timeout: float, *, through_offline: bool = False) -> bool:
        """Wait (at most `timeout` s) until this desk's outbox is empty; False if rows still wait (at once
        while the team database cannot be reached, unless `through_offline`)."""
        return self.copier.flush(timeout, through_offline=through_offline)

    # -- writing: the local journal ------------------------------------------------------------------------

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
        """Write the `sending` row in this desk's journal before the POST (no network); its local id."""
        row_id = self.journal.record_sending(sender, to, mode, text, media, tag, segments, agent=self.agent)
        self.copier.wake()
        return row_id

    def settle(self, row_id: int, result: SendResult) -> None:
        self.journal.settle(self._local_id(row_id), result)
        self.copier.wake()

    def recover_interrupted(self) -> int:
        changed = self.journal.recover_interrupted()
        if changed:
            self.copier.wake()
        return changed

    def update_delivery(self, row_id: int, status: str | None, error_code: int | None) -> None:
        self.journal.update_delivery(self._local_id(row_id), status, error_code)
        self.copier.wake()

    def confirm_sent(
        self, row_id: int, message_id: str, segments: int | None, status: str | None, error_code: int | None
    ) -> None:
        self.journal.confirm_sent(self._local_id(row_id), message_id, segments, status, error_code)
        self.copier.wake()

    def apply_retention(self, days: int | None) -> int:
        """This desk's journal only: the team database keeps its rows (removing them is IT's)."""
        return self.journal.apply_retention(days)

    def _local_id(self, row_id: int) -> int:
        if not is_team_key(row_id):
            return row_id
        _, row_uid = split_team_key(row_id)
        local = self.journal.id_of_uid(row_uid)
        if local is None:
            raise NotThisDesk(
                "This message was sent from another desk: only that desk looks up or records its status."
            )
        return local

    # -- reading -------------------------------------------------------------------------------------------

    def search(
        self, query: HistoryQuery = HistoryQuery(), limit: int = DEFAULT_PAGE, before_id: int | None = None
    ) -> list[HistoryRow]:
        """Rows matching `query`, newest first; the next page is `before_id=<last row's id>`."""
        return self.search_page(query, limit, before_id).rows

    def search_page(
        self, query: HistoryQuery = HistoryQuery(), limit: int = DEFAULT_PAGE, before_id: int | None = None
    ) -> TeamPage:
        """`search`, saying whether the rows came from the team database or, offline, from this desk alone."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        if query.this_desk:
            return TeamPage(
                [self._own(r) for r in self.journal.search(self._local_query(query), limit, before_id)]
            )
        before = self._cursor(before_id)
        plan = team_query.plan(query, me=self.desk_id, silent_after=self.silent_after)
        # What waits here is read before the team is asked: a row that no longer waits then has its newest
        # revision in the team database already (the copier takes a row out of the line only after the commit).
        waiting = self._queued(query, limit, before_id) if self._link.may_try() else (set(), [])
        try:
            rows = [] if plan is None else self._ask(lambda conn: self._page(conn, plan, limit, before))
        except TeamUnavailable as exc:
            return TeamPage(self._fallback(query, limit, before_id), str(exc))
        return TeamPage(self._with_queued(rows, waiting, limit))

    def _page(
        self,
        conn: psycopg.Connection[Any],
        plan: team_query.TeamPlan,
        limit: int,
        before: tuple[datetime, str] | None,
    ) -> list[HistoryRow]:
        """A page by `plan`: one statement, or for words and digits the bounded steps `TeamPlan` describes."""
        if not plan.two_steps:
            return self._rows(conn, plan.statement(limit, before))
        rows = self._rows(conn, plan.walk(limit, before))
        if len(rows) == limit:
            return rows
        edge = conn.execute(*_sql(plan.boundary(before))).fetchone()
        if edge is None:  # the walk saw every row there is
            return rows
        below = (edge[0], edge[1])
        [[explained]] = conn.execute(*_sql(plan.estimate(below))).fetchall()
        many = float(explained[0]["Plan"]["Plan Rows"]) > team_query.FEW
        with conn.transaction():
            # Many matches, only not the newest: the ordered walk goes on (never a sort of them all). Few: the GIN
            # indexes only, bitmap scans, then a sort of what they found (never a walk of the whole table).
            for switch in (
                ("enable_bitmapscan", "enable_seqscan") if many else ("enable_indexscan", "enable_seqscan")
            ):
                conn.execute(f"SET LOCAL {switch} = off")
            return rows + self._rows(conn, plan.statement(limit - len(rows), below))

    def count(self, query: HistoryQuery = HistoryQuery()) -> int:
        """The exact number of matching rows in the team database (offline: in this desk's journal)."""
        if query.this_desk:
            return self.journal.count(self._local_query(query))
        plan = team_query.plan(query, me=self.desk_id, silent_after=self.silent_after)
        if plan is None:
            return 0
        sql = plan.count()
        try:
            found = self._ask(lambda conn: conn.execute(sql.text, sql.params).fetchone())
        except TeamUnavailable:
            local = self._local_view(query)
            return 0 if local is None else self.journal.count(local)
        return int(found[0]) if found else 0

    def get(self, row_id: int) -> HistoryRow | None:
        """A row by the id it was listed with: a local id (this desk's journal) or a team key."""
        if not is_team_key(row_id):
            row = self.journal.get(row_id)
            return None if row is None else self._own(row)
        _, row_uid = split_team_key(row_id)
        local = self.journal.id_of_uid(row_uid)
        if local is not None:
            row = self.journal.get(local)
            return None if row is None else self._own(row, keyed=True)
        sql = team_query.by_uid(row_uid, self.desk_id, self.silent_after)
        try:
            rows = self._ask(lambda conn: self._rows(conn, sql))
        except TeamUnavailable:
            return None
        return rows[0] if rows else None

    def known_message_ids(self, message_ids: Iterable[str]) -> set[str]:
        """Which of these message ids a row of this desk or (when it answers) of the team already holds."""
        wanted = list(dict.fromkeys(message_ids))
        known = self.journal.known_message_ids(wanted)
        rest = [m for m in wanted if m not in known]
        if rest:
            try:
                found = self._ask(
                    lambda conn: conn.execute(
                        "SELECT message_id FROM bwdesk.messages WHERE message_id = ANY(%s)", (rest,)
                    ).fetchall()
                )
            except TeamUnavailable:
                found = []
            known.update(str(m) for (m,) in found)
        return known

    def rows_to_refresh(
        self, max_age: timedelta = timedelta(days=3), limit: int = 100, min_interval: timedelta = timedelta(0)
    ) -> list[HistoryRow]:
        """This desk's own rows whose status may still change (each desk refreshes its own messages)."""
        return [self._own(r) for r in self.journal.rows_to_refresh(max_age, limit, min_interval)]

    def recent_sends_to(
        self, numbers: Sequence[str], since: datetime, timeout: float | None = None
    ) -> dict[str, list[HistoryRow]]:
        """Every team row sent to each of `numbers` since `since`, newest first (the duplicate guard).

        Raises `TeamUnavailable` unless the team database answers within `timeout` seconds (default 2):
        then the caller checks this desk's journal alone and says so.
        """
        limit = self._guard_timeout if timeout is None else timeout
        sql = team_query.recent_to(list(dict.fromkeys(numbers)), since, self.desk_id, self.silent_after)

        def ask(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('statement_timeout', %s, true)", (f"{round(limit * 1000)}ms",)
                )
                return conn.execute(sql.text, sql.params).fetchall()

        rows = self._within(limit, lambda: self._ask(ask))
        found: dict[str, list[HistoryRow]] = {number: [] for number in numbers}
        for values in rows:
            found.setdefault(str(values[-1]), []).append(team_query.row_from_team(values[:-1], self.desk_id))
        return found

    def agents(self) -> list[str]:
        """The agents of the team's desks, by name (the scope filter's choices); offline, this desk's agent."""
        try:
            rows = self._ask(
                lambda conn: conn.execute("SELECT DISTINCT agent FROM bwdesk.desks ORDER BY agent").fetchall()
            )
        except TeamUnavailable:
            return [self.agent]
        return sorted({str(a) for (a,) in rows} | {self.agent}, key=str.casefold)

    def latest_change(self) -> datetime | None:
        """When the team database last stored a change (a view polls this to know when to reload).

        Raises `TeamUnavailable`."""
        found = self._ask(lambda conn: conn.execute("SELECT max(stored) FROM bwdesk.messages").fetchone())
        return None if found is None else found[0]

    def export_csv(
        self, target: str | os.PathLike[str] | IO[str], query: HistoryQuery = HistoryQuery()
    ) -> int:
        """The team view's matching rows as spreadsheet-safe CSV (offline: this desk's)."""
        return export.export_csv(self, target, query)

    def close(self) -> None:
        """Copy what can be copied in a moment (never long: the team database may be away), then close."""
        try:
            if self._flush_on_close > 0 and self._link.connection is Connection.ONLINE:
                self.copier.flush(self._flush_on_close)
        finally:
            self.copier.stop()
            self._guard.close()
            self._readers.close_all()
            self.journal.close()

    def __enter__(self) -> TeamHistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        conn = connect(
            self.config.url,
            self._password.value,
            connect_timeout=READ_CONNECT_TIMEOUT,
            statement_timeout=self._read_timeout,
            autocommit=True,
        )
        try:
            check_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _ask(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work` on this thread's team connection, or `TeamUnavailable` (and the link told why)."""
        if not self._link.may_try():
            raise TeamUnavailable(self._link.problem or "Team history: the team database cannot be reached.")
        for attempt in range(2):
            try:
                conn, fresh = self._readers.get()
                result = work(conn)
            except psycopg.errors.QueryCanceled:
                # Too slow for a view: this desk's journal answers this time, the team stays "online".
                raise TeamUnavailable(
                    "Team history: the team database took too long to answer; showing this desk's messages."
                ) from None
            except (psycopg.OperationalError, TeamDatabaseError) as exc:
                self._readers.drop()
                if attempt == 0 and isinstance(exc, psycopg.OperationalError) and not fresh:
                    continue  # a connection left over from before a restart of the server: once more
                raise self._unavailable(exc) from None
            except psycopg.Error as exc:
                self._readers.drop()
                raise self._unavailable(exc) from None
            self._link.succeeded()
            return result
        raise AssertionError("unreachable")

    def _unavailable(self, exc: BaseException) -> TeamUnavailable:
        error = classify_exception(exc, self.config.url)
        self._link.failed(error.problem.offline, error.problem.value, str(error))
        self.copier.wake()
        return TeamUnavailable(str(error))

    def _within(self, seconds: float, work: Callable[[], T]) -> T:
        """`work` on the guard's thread, abandoned (`TeamUnavailable`) if it takes longer than `seconds`: a
        network that drops packets must not hold up a send for longer than that. The thread keeps its team
        connection between checks; one left behind by an overrun finishes alone, and the next check gets a
        new thread."""
        try:
            return self._guard.run(work, seconds + 0.5)
        except TimeoutError:
            raise TeamUnavailable(
                f"Team history: the team database did not answer within {seconds:g} seconds."
            ) from None

    def _rows(self, conn: psycopg.Connection[Any], sql: team_query.TeamSql) -> list[HistoryRow]:
        return [
            team_query.row_from_team(values, self.desk_id) for values in conn.execute(sql.text, sql.params)
        ]

    def _own(self, row: HistoryRow, *, keyed: bool = False) -> HistoryRow:
        """A row of this desk's journal with the team's facts (and, `keyed`, its team key as id)."""
        row_id = team_key(parse_time(row.created), row.row_uid) if keyed and row.row_uid else row.id
        return replace(row, id=row_id, agent=row.agent or self.agent, desk=self.desk_id, local_id=row.id)

    def _cursor(self, before_id: int | None) -> tuple[datetime, str] | None:
        """The team-view position to page below: a team key's (created, uid), or a local row's."""
        if before_id is None:
            return None
        if is_team_key(before_id):
            return split_team_key(before_id)
        row = self.journal.get(before_id)
        if row is None or row.row_uid is None:
            raise ValueError(f"no history row {before_id} to page below")
        return parse_time(row.created), row.row_uid

    def _local_query(self, query: HistoryQuery) -> HistoryQuery:
        """`query` for this desk's journal: its rows are this agent's (older ones may not say so)."""
        if query.agent == self.agent:
            return replace(query, agent=None, this_desk=False)
        return replace(query, this_desk=False)

    def _local_view(self, query: HistoryQuery) -> HistoryQuery | None:
        """The team view `query` narrowed to this desk's journal; None when none of its rows can match."""
        if query.agent is not None and query.agent != self.agent:
            return None
        return replace(query, agent=None, this_desk=False)

    def _local_before(self, before_id: int | None) -> int | None:
        if before_id is None or not is_team_key(before_id):
            return before_id
        created, row_uid = split_team_key(before_id)
        return self.journal.id_below(format_time(created), row_uid)

    def _fallback(self, query: HistoryQuery, limit: int, before_id: int | None) -> list[HistoryRow]:
        """Offline: this desk's rows from its journal, as team-view rows (team keys)."""
        local = self._local_view(query)
        if local is None:
            return []
        rows = self.journal.search(local, limit, self._local_before(before_id))
        return [self._own(row, keyed=True) for row in rows]

    def _queued(
        self, query: HistoryQuery, limit: int, before_id: int | None
    ) -> tuple[set[str] | None, list[HistoryRow]]:
        """This desk's rows waiting to be copied, at one moment: every uid, and those matching `query` below
        the cursor as team-view rows."""
        local = self._local_view(query)
        local_before = None if local is None else self._local_before(before_id)
        uids, rows = self.journal.queued_view(local, limit, local_before, QUEUED_MERGE_LIMIT)
        queued = [self._own(row, keyed=True) for row in rows]
        if before_id is not None and is_team_key(before_id):
            queued = [row for row in queued if row.id < before_id]
        return uids, queued

    def _with_queued(
        self,
        team_rows: list[HistoryRow],
        waiting: tuple[set[str] | None, list[HistoryRow]],
        limit: int,
    ) -> list[HistoryRow]:
        """The team's page with this desk's waiting rows as they are here (newer than the team's copies)."""
        uids, queued = waiting
        if not uids:  # nothing waits, or too many: the team's copies alone
            return team_rows
        merged = [row for row in team_rows if row.row_uid not in uids] + queued
        merged.sort(key=lambda row: row.id, reverse=True)
        return merged[:limit]


def open_team_store(
    journal: SqliteHistoryStore, config: TeamConfig, password: TeamPassword, **options: Any
) -> TeamHistoryStore:
    """The team store over `journal` (opened and recovered already), copying from now on."""
    journal.enable_outbox(config.url.where)
    store = TeamHistoryStore(journal, config, password, **options)
    store.start()
    return store


if TYPE_CHECKING:  # the team store is the second implementation of the interface; mypy checks it stays so
    _conforms: type[HistoryStore] = TeamHistoryStore


__all__ = ["NotThisDesk", "TeamHistoryStore", "TeamPage", "TeamUnavailable", "open_team_store"]
