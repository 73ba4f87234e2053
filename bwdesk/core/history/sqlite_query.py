"""The SQL for a `HistoryQuery` over the SQLite schema, and reading its rows back as `HistoryRow`s.

Every plan walks one index newest-first and stops at the page's limit (keyset paging by id, never OFFSET).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bwdesk.core.history.rows import HistoryRow, format_time
from bwdesk.core.history.schema import json_list
from bwdesk.core.history.search import HistoryQuery, fts_query, normalise_number
from bwdesk.core.outcome import ApiError, FieldError, SendState

SELECT_COLUMNS = (
    "h.id, h.created, h.updated, h.sender, h.recipients, h.mode, h.text, h.media, h.tag, h.state, "
    "h.message_id, h.segments, h.http_status, h.error_type, h.error_description, h.field_errors, "
    "h.delivery_status, h.error_code, h.delivery_checked"
)


def row_from_values(values: Sequence[Any]) -> HistoryRow:
    """A result row of `SELECT_COLUMNS` as a `HistoryRow`."""
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
        to=tuple(json_list(values[4])),
        mode=values[5],
        text=values[6],
        media=tuple(json_list(values[7])),
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


def plan(
    conn: sqlite3.Connection, query: HistoryQuery, before_id: int | None, count: bool = False
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
        number = normalise_number(query.number, query.region)
        if number is None:
            return None
    lo, hi = _id_bounds(conn, query)
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
    walk = _walk(conn, number, match, state, filters, params)
    return _select(walk, filters, params, upper=upper, lo=lo, count=count)


@dataclass
class _Walk:
    """The index a plan walks newest-first: its key column, its table(s), and the condition it answers."""

    key: str
    source: str
    head: str
    params: list[Any]


_FTS_FILTER = "EXISTS (SELECT 1 FROM history_fts WHERE history_fts MATCH ? AND history_fts.rowid = h.id)"


def _walk(
    conn: sqlite3.Connection,
    number: str | None,
    match: str | None,
    state: str | None,
    filters: list[str],
    params: list[Any],
) -> _Walk:
    """Choose the index to walk; the filters it does not answer are added to `filters` and `params`."""
    if number is not None:  # a recipient: the most selective thing a person types
        walk = _Walk("n.row_id", "history_numbers AS n", "n.number = ?", [number])
        if match is not None:
            filters.append(_FTS_FILTER)
            params.append(match)
        if state is not None:
            filters.append("h.state = ?")
            params.append(state)
    elif match is not None and not _state_is_rare(conn, state):
        walk = _Walk("history_fts.rowid", "history_fts", "history_fts MATCH ?", [match])
        if state is not None:
            filters.append("h.state = ?")
            params.append(state)
    elif state is not None:
        walk = _Walk("h.id", "history AS h INDEXED BY history_state", "h.state = ?", [state])
        if match is not None:
            filters.append(_FTS_FILTER)
            params.append(match)
    else:
        walk = _Walk("h.id", "history AS h", "1", [])
    return walk


def _select(
    walk: _Walk, filters: list[str], params: list[Any], *, upper: int | None, lo: int | None, count: bool
) -> tuple[str, tuple[Any, ...]]:
    """The statement: the walk, bounded by ids, joined to the history when a filter or the columns need it."""
    key, source, where, head_params = walk.key, walk.source, walk.head, list(walk.params)
    if key != "h.id" and (filters or not count):
        source += f" CROSS JOIN history AS h ON h.id = {key}"
    columns = "1" if count else SELECT_COLUMNS
    if upper is not None:
        where += f" AND {key} < ?"
        head_params.append(upper)
    if lo is not None:
        where += f" AND {key} >= ?"
        head_params.append(lo)
    where += "".join(f" AND {f}" for f in filters)
    order = "" if count else f" ORDER BY {key} DESC"
    return f"SELECT {columns} FROM {source} WHERE {where}{order}", (*head_params, *params)


def _state_is_rare(conn: sqlite3.Connection, state: str | None, cap: int = 20_000) -> bool:
    """Whether walking the state index beats walking the text matches (a cheap capped count)."""
    if state is None:
        return False
    (n,) = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM history WHERE state = ? LIMIT ?)", (state, cap)
    ).fetchone()
    return bool(n < cap)


def _id_bounds(conn: sqlite3.Connection, query: HistoryQuery) -> tuple[int | None, int | None]:
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


def _ceil_time(moment: datetime) -> str:
    """`until` as stored text, rounded up to the second so `created < until` keeps its meaning."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return format_time(moment)
