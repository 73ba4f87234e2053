"""Search parity: the same queries give the same rows from the local history and from the team database.

One desk records a generated set of messages (text and tags in many scripts, accents, emoji, e-mail addresses,
ticket numbers; recipients in several countries) in its journal and copies them to the team database. Every
query is then asked of both: the journal (`this_desk`, SQLite and FTS5) and the team view (PostgreSQL); both
hold exactly the same rows, so they must return the same rows in the same order. Queries are what people type:
words, word starts, phrases, tags, numbers in national and international formats, digit runs in any
punctuation, combined with the status filter, a state and dates.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from teamdesk import open_desk
from test_team_terms import PIECES, queries

from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.phone import parse_number
from bwdesk.core.status_words import StatusFilter

#: (region, national format as people type it) of numbers in several countries.
NUMBERS = [
    ("US", "(919) 555-0123"),
    ("US", "919.555.0198"),
    ("US", "312 555 7301"),
    ("GB", "020 7946 0958"),
    ("GB", "07700 900123"),
    ("DE", "030 901820"),
    ("FR", "01 23 45 67 89"),
    ("AU", "0491 570 156"),
    ("IN", "098765 43210"),
    ("BR", "(11) 91234-5678"),
]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def generate(store: Any, clock: Clock, seed: int, count: int) -> None:
    rng = random.Random(seed)
    outcomes = [
        SendResult(SendState.ACCEPTED, http_status=202, message_id="m", segments=1),
        SendResult(SendState.REJECTED, http_status=400),
        SendResult(SendState.FAILED, detail="refused"),
        SendResult(SendState.UNKNOWN, detail="no answer"),
    ]
    for i in range(count):
        clock.now += timedelta(seconds=rng.choice([0, 1, 7, 3600]))
        region, typed = rng.choice(NUMBERS)
        number = parse_number(typed, region).e164
        to = [number] if rng.random() < 0.8 else [number, parse_number(*reversed(rng.choice(NUMBERS))).e164]
        text = " ".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
        tag = rng.choice(["", "", f"TICKET-{rng.randint(1000, 9999)}", rng.choice(PIECES)])
        row_id = store.record_sending(
            "+19195550100",
            list(dict.fromkeys(to)),
            "separate" if len(set(to)) == 1 else "group",
            text,
            [],
            tag,
            1,
        )
        if rng.random() < 0.85:
            result = rng.choice(outcomes)
            store.settle(
                row_id,
                SendResult(
                    result.state,
                    result.http_status,
                    message_id=f"m-{i}" if result.message_id else None,
                    detail=result.detail,
                ),
            )
            if result.state is SendState.ACCEPTED and rng.random() < 0.7:
                store.update_delivery(
                    row_id, rng.choice(["DELIVERED", "SENT", "FAILED", "DLR_EXPIRED"]), None
                )


def typed_numbers(seed: int) -> list[tuple[str, str]]:
    """(region, what a person types) for numbers: whole ones in any format, and runs of their digits."""
    rng = random.Random(seed)
    found = []
    for region, typed in NUMBERS:
        e164 = parse_number(typed, region).e164
        digits = e164.lstrip("+")
        found += [
            (region, typed),
            (region, e164),
            ("US", digits[-4:]),
            (region, typed[-7:]),
            ("US", digits[2:9]),
        ]
        found.append((region, f"ticket {digits[-4:]}"))
        start = rng.randrange(0, len(digits) - 4)
        found.append(("US", "-".join([digits[start : start + 3], digits[start + 3 : start + 7]])))
    return found


@pytest.fixture(params=["walk", "indexes", "walk-again"])
def both(
    request: pytest.FixtureRequest,
    pg_server: Any,
    team_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """A desk with both stores. A page with words or digits walks only 5 rows, then reads the rest through the
    full-text and trigram indexes ("indexes") or along the ordered walk again ("walk-again"), so every way of
    reading a page is compared with the local history."""
    from bwdesk.core.team import query

    if request.param != "walk":
        monkeypatch.setattr(query, "WALK", 5)
        monkeypatch.setattr(query, "FEW", 10**9 if request.param == "indexes" else 0)
    clock = Clock()
    store = open_desk(pg_server, team_database, tmp_path / "desk", "Ana Lima")
    store.journal._clock = clock  # the journal's own clock: creation times spread over days
    yield store, clock
    store.close()


def compare(store: Any, query: HistoryQuery) -> int:
    local = [
        r.row_uid for r in store.search(HistoryQuery(**{**query.__dict__, "this_desk": True}), limit=500)
    ]
    page = store.search_page(query, limit=500)
    assert page.from_team, page.problem
    team = [r.row_uid for r in page.rows]
    assert team == local, query
    assert store.count(query) == len(local), query
    return len(local)


@pytest.mark.parametrize("seed", [3, 4])
def test_the_team_view_finds_what_the_local_history_finds(both: Any, seed: int) -> None:
    store, clock = both
    generate(store, clock, seed, 300)
    assert store.flush(60)
    texts = [(r.text, r.tag) for r in store.search(HistoryQuery(this_desk=True), limit=500)]
    compared = found = 0
    for typed in queries(texts, seed)[:250]:
        found += bool(compare(store, HistoryQuery.from_text(typed, "US")))
        compared += 1
    for region, typed in typed_numbers(seed):
        found += bool(compare(store, HistoryQuery.from_text(typed, region)))
        compared += 1
    start = clock.now - timedelta(days=2)
    for choice in StatusFilter:
        compare(store, HistoryQuery(status=choice))
        compare(store, HistoryQuery(text="ticket*", status=choice))
        compare(store, HistoryQuery(status=choice, since=start, until=clock.now))
    for state in SendState:
        compare(store, HistoryQuery(state=state, since=start))
    assert compared > 300 and found > compared // 2  # most queries find something: not a parity of nothings


def test_pages_walk_the_same_rows(both: Any) -> None:
    store, clock = both
    generate(store, clock, 5, 120)
    assert store.flush(60)
    for query in (
        HistoryQuery(),
        HistoryQuery.from_text("555", "US"),
        HistoryQuery(status=StatusFilter.WAITING),
    ):
        walked, before = [], None
        while page := store.search(query, limit=7, before_id=before):
            walked += [r.row_uid for r in page]
            before = page[-1].id
        local = [
            r.row_uid for r in store.search(HistoryQuery(**{**query.__dict__, "this_desk": True}), limit=500)
        ]
        assert walked == local
