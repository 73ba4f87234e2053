"""A `HistoryQuery` as SQL over the team database, meaning the same rows as in the local history (docs/design.md §9.5),
in keyset pages newest first, and its rows back as `HistoryRow`s (§16.11)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bwdesk.core.history.rows import HistoryRow, format_time
from bwdesk.core.history.search import HistoryQuery, normalise_number, search_terms
from bwdesk.core.history.uids import team_key
from bwdesk.core.outcome import ApiError, FieldError, SendState
from bwdesk.core.status_words import StatusFilter
from bwdesk.core.team.terms import tsquery

COLUMNS = (
    "m.row_uid, m.desk_id, m.local_id, m.agent, m.created, m.updated, m.sender, m.recipients, m.mode, m.text, "
    "m.media, m.tag, m.state, m.message_id, m.segments, m.http_status, m.error_type, m.error_description, "
    "m.field_errors, m.delivery_status, m.error_code, m.delivery_checked, "
    "CASE WHEN {silent} THEN d.last_heartbeat END"
)

#: Another desk's row still `sending`, from a desk not heard from for longer than the limit.
_SILENT = (
    "(m.state = 'sending' AND m.desk_id <> %(me)s "
    "AND d.last_heartbeat < statement_timestamp() - %(silent_after)s)"
)


@dataclass(frozen=True)
class TeamSql:
    """A statement and its parameters (`%(name)s` style)."""

    text: str
    params: dict[str, Any]


#: How many rows a page walks along an ordered index looking for word or digit matches before it considers
#: asking the full-text and trigram indexes for the rest instead (see `TeamPlan`).
WALK = 4000
#: At most this many matches (by the planner's estimate) are read through the GIN indexes and sorted; more
#: are walked in order (the matches are many, just not among the newest rows).
FEW = 20_000


@dataclass(frozen=True)
class TeamPlan:
    """How a page of a query is read: every condition, split into those an ordered index can walk (`where`) and
    the words and digit runs (`text`), which only the GIN indexes answer, in no order.

    PostgreSQL's planner, asked for the newest 100 rows matching a word, walks the page index and checks each
    row when it expects many matches; when there are few (a ticket number, a word nobody used) that walk reads
    the whole table (1.8 s on a million rows). So a page with words or digits is read in steps: `walk` checks
    the newest `WALK` rows of the ordered walk (a broad query's page is complete long before); if the page is
    not full, `boundary` is where that walk stopped, and the rest of the page is read below it: through the GIN
    indexes only (bitmap scans, then a sort) when the planner expects at most `FEW` matches there (`estimate`),
    else along the ordered walk again (there are many matches, only not among the newest rows). A query without
    words or digits, or with a number (whose key is itself ordered), is one `statement`.
    """

    source: str
    key: tuple[str, str]
    where: tuple[str, ...]
    text: tuple[str, ...]
    params: dict[str, Any]

    @property
    def two_steps(self) -> bool:
        return bool(self.text) and self.key[0] == "m.created"

    def _conditions(
        self, before: tuple[datetime, str] | None, *, text: bool = True
    ) -> tuple[str, dict[str, Any]]:
        where = list(self.where) + (list(self.text) if text else [])
        params = dict(self.params)
        if before is not None:
            params["before_created"], params["before_uid"] = before
            where.append(f"({self.key[0]}, {self.key[1]}) < (%(before_created)s, %(before_uid)s)")
        return (" AND ".join(where) if where else "TRUE"), params

    def statement(self, limit: int | None, before: tuple[datetime, str] | None = None) -> TeamSql:
        """Every condition, newest first from the ordered index (or, under `bitmaps_only`, sorted)."""
        condition, params = self._conditions(before)
        text = (
            f"SELECT {COLUMNS.format(silent=_SILENT)} FROM {self.source} WHERE {condition} "
            f"ORDER BY {self.key[0]} DESC, {self.key[1]} DESC"
        )
        if limit is not None:
            params["limit"] = limit
            text += " LIMIT %(limit)s"
        return TeamSql(text, params)

    def count(self) -> TeamSql:
        condition, params = self._conditions(None)
        return TeamSql(f"SELECT count(*) FROM {self.source} WHERE {condition}", params)

    def walk(self, limit: int, before: tuple[datetime, str] | None = None) -> TeamSql:
        """The matches among the newest `WALK` rows the other conditions allow, newest first."""
        condition, params = self._conditions(before, text=False)
        params.update(limit=limit, examine=WALK)
        hit = " AND ".join(self.text)
        return TeamSql(
            f"SELECT {COLUMNS.format(silent=_SILENT)} FROM (SELECT m.row_uid, m.created, ({hit}) AS hit "
            f"FROM {self.source} WHERE {condition} ORDER BY m.created DESC, m.row_uid DESC LIMIT %(examine)s) "
            "AS w JOIN bwdesk.messages AS m ON m.row_uid = w.row_uid JOIN bwdesk.desks AS d ON d.desk_id = "
            "m.desk_id WHERE w.hit ORDER BY w.created DESC, w.row_uid DESC LIMIT %(limit)s",
            params,
        )

    def estimate(self, before: tuple[datetime, str] | None = None) -> TeamSql:
        """The planner's plan (JSON) for the matches below `before`: its estimate of how many there are."""
        condition, params = self._conditions(before)
        return TeamSql(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {self.source} WHERE {condition}", params)

    def boundary(self, before: tuple[datetime, str] | None = None) -> TeamSql:
        """The last of the rows `walk` examined (none: it examined every row there is)."""
        condition, params = self._conditions(before, text=False)
        params["skip"] = WALK - 1
        return TeamSql(
            f"SELECT m.created, m.row_uid::text FROM {self.source} WHERE {condition} "
            "ORDER BY m.created DESC, m.row_uid DESC OFFSET %(skip)s LIMIT 1",
            params,
        )


def plan(query: HistoryQuery, *, me: str, silent_after: timedelta) -> TeamPlan | None:
    """How to read `query` from the team database (`me`: this desk's id); None when nothing can match."""
    params: dict[str, Any] = {"me": me, "silent_after": silent_after}
    terms = search_terms(query.text, query.region)
    if terms.empty and query.text.strip():
        return None  # typed, but nothing searchable: an honest nothing, as in the local history
    where: list[str] = []
    text: list[str] = []
    number = None
    if query.number is not None and query.number.strip():
        number = normalise_number(query.number, query.region)
        if number is None:
            return None
        params["number"] = number
    if terms.words is not None:
        words = tsquery(terms.words)
        if words is None:
            return None
        params["words"] = words
        text.append("m.search @@ %(words)s::tsquery")
    for i, run in enumerate(terms.digit_runs):
        params[f"digits{i}"] = f"%{run.digits}%"
        phrase = tsquery(run.phrase)
        if phrase is None:
            text.append(f"m.digits LIKE %(digits{i})s")
        else:
            params[f"phrase{i}"] = phrase
            text.append(f"(m.digits LIKE %(digits{i})s OR m.search @@ %(phrase{i})s::tsquery)")
    if query.status is not None:
        status = StatusFilter(query.status)
        params["status"] = status.value
        if status is StatusFilter.UNKNOWN:
            where.append(f"(m.status = 'unknown' OR {_SILENT})")
        elif status is StatusFilter.WAITING:
            where.append(f"(m.status = 'waiting' AND NOT {_SILENT})")
        else:
            where.append("m.status = %(status)s")
    if query.state is not None:
        params["state"] = SendState(query.state).value
        where.append("m.state = %(state)s")
    if query.agent is not None:
        params["agent"] = query.agent
        where.append("m.agent = %(agent)s")
    if query.since is not None:
        params["since"] = query.since
        where.append("m.created >= %(since)s")
    if query.until is not None:
        params["until"] = query.until
        where.append("m.created < %(until)s")
    if number is not None:  # walk the recipient's own key, newest first: the narrowest there is
        source = (
            "bwdesk.message_recipients AS r JOIN bwdesk.messages AS m ON m.row_uid = r.row_uid "
            "JOIN bwdesk.desks AS d ON d.desk_id = m.desk_id"
        )
        return TeamPlan(
            source, ("r.created", "r.row_uid"), ("r.number = %(number)s", *where, *text), (), params
        )
    source = "bwdesk.messages AS m JOIN bwdesk.desks AS d ON d.desk_id = m.desk_id"
    return TeamPlan(source, ("m.created", "m.row_uid"), tuple(where), tuple(text), params)


def recent_to(numbers: list[str], since: datetime, me: str, silent_after: timedelta) -> TeamSql:
    """Every row sent to any of `numbers` since `since`, newest first (the team duplicate guard)."""
    return TeamSql(
        f"SELECT {COLUMNS.format(silent=_SILENT)}, r.number FROM bwdesk.message_recipients AS r "
        "JOIN bwdesk.messages AS m ON m.row_uid = r.row_uid JOIN bwdesk.desks AS d ON d.desk_id = m.desk_id "
        "WHERE r.number = ANY(%(numbers)s) AND r.created >= %(since)s ORDER BY r.created DESC, r.row_uid DESC",
        {"numbers": numbers, "since": since, "me": me, "silent_after": silent_after},
    )


def by_uid(row_uid: str, me: str, silent_after: timedelta) -> TeamSql:
    return TeamSql(
        f"SELECT {COLUMNS.format(silent=_SILENT)} FROM bwdesk.messages AS m "
        "JOIN bwdesk.desks AS d ON d.desk_id = m.desk_id WHERE m.row_uid = %(uid)s",
        {"uid": row_uid, "me": me, "silent_after": silent_after},
    )


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def row_from_team(values: tuple[Any, ...], me: str) -> HistoryRow:
    """A result row of `COLUMNS` as a `HistoryRow` of the team view (its id a team key)."""
    (uid, desk, local_id, agent, created, updated, sender, recipients, mode, text, media, tag, state) = (
        values[:13]
    )
    (message_id, segments, http_status, error_type, error_description, field_errors) = values[13:19]
    (delivery_status, error_code, delivery_checked, silent_since) = values[19:23]
    if isinstance(field_errors, str):
        field_errors = json.loads(field_errors)
    fields = tuple(
        FieldError(str(f.get("field", "")), str(f.get("description", "")))
        for f in field_errors or ()
        if isinstance(f, dict)
    )
    error = None
    if error_type is not None or error_description is not None or fields:
        error = ApiError(
            description=error_description or "", type=error_type, http_status=http_status, field_errors=fields
        )
    row_uid, desk_id = str(uid), str(desk)
    return HistoryRow(
        id=team_key(created, row_uid),
        created=format_time(created),
        updated=format_time(updated),
        sender=sender,
        to=tuple(recipients),
        mode=mode,
        text=text,
        media=tuple(media),
        tag=tag,
        state=SendState(state),
        message_id=message_id,
        segments=segments,
        http_status=http_status,
        error=error,
        delivery_status=delivery_status,
        error_code=error_code,
        delivery_checked=_text(delivery_checked),
        row_uid=row_uid,
        agent=agent,
        desk=desk_id,
        local_id=int(local_id),
        own=desk_id == me,
        desk_silent_since=_text(silent_since),
    )


def parse_stored(text: str | None) -> datetime | None:
    """A local history time (RFC 3339 with `Z`) as a datetime for the team database."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)  # `Z` is UTC (Python 3.11)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = [
    "COLUMNS",
    "WALK",
    "TeamPlan",
    "TeamSql",
    "by_uid",
    "parse_stored",
    "plan",
    "recent_to",
    "row_from_team",
]
