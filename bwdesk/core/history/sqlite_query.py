"""A `HistoryQuery` as SQL over the SQLite schema: one index walked newest first (chosen by capped counts), keyset
pages, and its rows read back as `HistoryRow`s (docs/design.md §9.6)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bwdesk.core.history.rows import HistoryRow, format_time
from bwdesk.core.history.schema import json_list
from bwdesk.core.history.search import DigitRun, HistoryQuery, SearchTerms, normalise_number, search_terms
from bwdesk.core.outcome import ApiError, FieldError, SendState
from bwdesk.core.status_words import StatusFilter

SELECT_COLUMNS = (
    "h.id, h.created, h.updated, h.sender, h.recipients, h.mode, h.text, h.media, h.tag, h.state, "
    "h.message_id, h.segments, h.http_status, h.error_type, h.error_description, h.field_errors, "
    "h.delivery_status, h.error_code, h.delivery_checked, h.row_uid, h.agent"
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
        row_uid=values[19],
        agent=values[20],
    )


#: Capped counts compare how many rows each index would walk: enough to tell a narrow filter from a broad one,
#: cheap enough (well under a millisecond each) to ask for every filter of a query.
ESTIMATE_CAP = 5000


def plan(
    conn: sqlite3.Connection,
    query: HistoryQuery,
    before_id: int | None,
    count: bool = False,
    *,
    only_queued: bool = False,
) -> list[tuple[str, tuple[Any, ...]]] | None:
    """The statements (without LIMIT) whose rows together are the rows of `query`; None if nothing can match.

    Usually one statement; a digit run that drives the search gives two (numbers containing it, and text or
    tags with it as words), which the caller merges newest first. Every statement walks one index newest
    first (FTS5 doclists, the number side table, the status or state index, or the primary key) and checks
    the other filters row by row, so the first page costs about `limit / selectivity` index steps and never
    a sort. For `count`, statements select only the row id, and join the history only when a filter needs it.
    `only_queued` keeps to rows waiting in the outbox (the team store shows them over their older copies).
    """
    terms = search_terms(query.text, query.region)
    if terms.empty and query.text.strip():
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
    bounds = _Bounds(min(uppers) if uppers else None, lo)

    conditions = _conditions(conn, query, terms, number)
    if query.agent is not None:
        conditions.append(_Condition("h.agent = ?", [query.agent]))
    if only_queued:
        conditions.append(
            _Condition(
                "EXISTS (SELECT 1 FROM outbox AS o WHERE o.row_id = h.id)",
                [],
                (_Walk("o.row_id", "outbox AS o", "1", []),),
            )
        )
    driver = _choose_driver(conn, conditions, bounds)
    filters: list[str] = []
    params: list[Any] = []
    for condition in conditions:
        if condition is not driver:
            filters.append(condition.check)
            params.extend(condition.params)
    if query.since is not None:
        filters.append("h.created >= ?")
        params.append(format_time(query.since))
    if query.until is not None:
        filters.append("h.created < ?")
        params.append(_ceil_time(query.until))
    walks = driver.walks if driver is not None else (_Walk("h.id", "history AS h", "1", []),)
    return [_select(walk, filters, params, bounds, count=count) for walk in walks]


@dataclass
class _Walk:
    """An index walked newest-first: its key column, its table(s), the condition it answers, and what the
    walk's rows must still be checked for (`residual`, on `h`)."""

    key: str
    source: str
    head: str
    params: list[Any]
    residual: str | None = None
    residual_params: tuple[Any, ...] = ()


@dataclass
class _Condition:
    """One thing every matching row satisfies: `check` tests it on a row `h`; the union of `walks` holds
    every row it allows (no walks: it cannot drive)."""

    check: str
    params: list[Any]
    walks: tuple[_Walk, ...] = ()
    always_drives: bool = False


@dataclass(frozen=True)
class _Bounds:
    """The id range every walk keeps to: below `upper` (the page's `before_id`, a date's end), from `lower`."""

    upper: int | None
    lower: int | None


_FTS_FILTER = "EXISTS (SELECT 1 FROM history_fts WHERE history_fts MATCH ? AND history_fts.rowid = h.id)"


def _conditions(
    conn: sqlite3.Connection, query: HistoryQuery, terms: SearchTerms, number: str | None
) -> list[_Condition]:
    """Every filter of `query` as a condition, in the order ties are broken (the text index first)."""
    conditions: list[_Condition] = []
    if number is not None:  # a recipient: the most selective thing a person types
        conditions.append(
            _Condition(
                "EXISTS (SELECT 1 FROM history_numbers AS n WHERE n.number = ? AND n.row_id = h.id)",
                [number],
                (_Walk("n.row_id", "history_numbers AS n", "n.number = ?", [number]),),
                always_drives=True,
            )
        )
    if terms.words is not None:
        conditions.append(
            _Condition(
                _FTS_FILTER,
                [terms.words],
                (_Walk("history_fts.rowid", "history_fts", "history_fts MATCH ?", [terms.words]),),
            )
        )
    for run in terms.digit_runs:
        conditions.append(_digit_condition(conn, run))
    if query.status is not None:
        status = StatusFilter(query.status).value
        conditions.append(
            _Condition(
                "h.status = ?",
                [status],
                (_Walk("h.id", "history AS h INDEXED BY history_status", "h.status = ?", [status]),),
            )
        )
    if query.state is not None:
        state = SendState(query.state).value
        conditions.append(
            _Condition(
                "h.state = ?",
                [state],
                (_Walk("h.id", "history AS h INDEXED BY history_state", "h.state = ?", [state]),),
            )
        )
    return conditions


def _digit_condition(conn: sqlite3.Connection, run: DigitRun) -> _Condition:
    """A digit run: a recipient containing its digits (trigram index, checked with instr), or its words."""
    in_numbers = "instr(h.recipients, ?) > 0"
    return _Condition(
        f"({in_numbers} OR {_FTS_FILTER})",
        [run.digits, run.phrase],
        (
            _Walk(
                "history_digits.rowid",
                "history_digits",
                "history_digits MATCH ?",
                [_trigram_query(conn, run.digits)],
                residual=in_numbers,
                residual_params=(run.digits,),
            ),
            _Walk("history_fts.rowid", "history_fts", "history_fts MATCH ?", [run.phrase]),
        ),
    )


#: How many of a trigram's newest matches tell how common it is (reading them takes well under a millisecond).
TRIGRAM_SAMPLE = 100


def _trigram_query(conn: sqlite3.Connection, digits: str) -> str:
    """An FTS5 query for rows whose recipients hold the two rarest trigrams of `digits`.

    ANDing all of them would make FTS5 read the whole doclist of every common one (every number of a local
    business shares its area code; 1,000,000 entries cost about 20 ms): the two rarest narrow the rows
    almost as much, and instr() checks the rest. How rare a trigram is: how far back its newest
    `TRIGRAM_SAMPLE` matches reach (fewer matches than that: rarer still).
    """
    grams = list(dict.fromkeys(digits[i : i + 3] for i in range(len(digits) - 2)))
    if len(grams) > 2:
        reach = []
        for gram in grams:
            found, oldest = conn.execute(
                "SELECT count(*), min(rowid) FROM (SELECT rowid FROM history_digits WHERE history_digits "
                "MATCH ? ORDER BY rowid DESC LIMIT ?)",
                (f'"{gram}"', TRIGRAM_SAMPLE),
            ).fetchone()
            reach.append((found, oldest or 0, gram))
        grams = [gram for *_, gram in sorted(reach)[:2]]
    return " ".join(f'"{g}"' for g in grams)


def _choose_driver(
    conn: sqlite3.Connection, conditions: list[_Condition], bounds: _Bounds
) -> _Condition | None:
    """The condition whose walks visit the fewest rows (a capped count each); None: walk the primary key."""
    drivers = [c for c in conditions if c.walks]
    for condition in drivers:
        if condition.always_drives:
            return condition
    if len(drivers) <= 1:
        return drivers[0] if drivers else None
    best, best_size = None, None
    for condition in drivers:
        size = sum(_walk_size(conn, walk, bounds) for walk in condition.walks)
        if best_size is None or size < best_size:
            best, best_size = condition, size
    return best


def _walk_size(conn: sqlite3.Connection, walk: _Walk, bounds: _Bounds) -> int:
    where, params = _bounded(walk.key, walk.head, list(walk.params), bounds)
    return _capped_count(conn, walk.source, where, params)


def _capped_count(conn: sqlite3.Connection, source: str, where: str, params: list[Any]) -> int:
    (n,) = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT ?)", (*params, ESTIMATE_CAP)
    ).fetchone()
    return int(n)


def _bounded(key: str, where: str, params: list[Any], bounds: _Bounds) -> tuple[str, list[Any]]:
    if bounds.upper is not None:
        where += f" AND {key} < ?"
        params.append(bounds.upper)
    if bounds.lower is not None:
        where += f" AND {key} >= ?"
        params.append(bounds.lower)
    return where, params


def _select(
    walk: _Walk, filters: list[str], params: list[Any], bounds: _Bounds, *, count: bool
) -> tuple[str, tuple[Any, ...]]:
    """The statement: the walk, bounded by ids, joined to the history when a filter or the columns need it."""
    if walk.residual:  # first: it is cheap and most of the walk's rows fail it
        filters, params = [walk.residual, *filters], [*walk.residual_params, *params]
    source = walk.source
    if walk.key != "h.id" and (filters or not count):
        source += f" CROSS JOIN history AS h ON h.id = {walk.key}"
    where, head_params = _bounded(walk.key, walk.head, list(walk.params), bounds)
    where += "".join(f" AND {f}" for f in filters)
    if count:
        return f"SELECT {walk.key} FROM {source} WHERE {where}", (*head_params, *params)
    return f"SELECT {SELECT_COLUMNS} FROM {source} WHERE {where} ORDER BY {walk.key} DESC", (
        *head_params,
        *params,
    )


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
