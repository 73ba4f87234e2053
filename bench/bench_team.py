"""The team history on a real PostgreSQL: a million rows from 50 agents; the outbox; another desk's view.

    python bench/bench_team.py            (or: python3 dev.py bench team)

Targets (issue 11): the team view opens within 1.5× of its time on an empty team database; from a query to its
first page (100 rows) ≤ 50 ms for a narrow and a broad query; memory growth ≤ 60 MB; the outbox copies
≥ 500 rows/s; a message one desk sends appears in another desk's view within 2 s (median) when both are online.

A PostgreSQL server is started for the run in a temporary folder (the tests' `tests/pgserver.py`, so Debian's
`postgresql` or `BWDESK_PG_BINDIR`), with the same settings the tests use (fsync off: the numbers are about
bwdesk's queries, not the disk). The million rows are written with COPY, with the indexes made afterwards (as
`pg_restore` does); what ends up in the database is what desks write, the words for search included.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from bench_history import COMMON, HOME_AREA, HOME_SHARE, WORDS, rss_mb  # noqa: E402
from pgserver import AGENT_USER, running_server  # noqa: E402

from bwdesk.core.history.search import HistoryQuery  # noqa: E402
from bwdesk.core.history.sqlite_store import SqliteHistoryStore  # noqa: E402
from bwdesk.core.history.uids import new_row_uid  # noqa: E402
from bwdesk.core.status_words import StatusFilter  # noqa: E402
from bwdesk.core.team.config import TeamConfig, TeamPassword  # noqa: E402
from bwdesk.core.team.schema import MIGRATIONS, init_schema  # noqa: E402
from bwdesk.core.team.store import TeamHistoryStore, open_team_store  # noqa: E402
from bwdesk.core.team.terms import search_terms_many  # noqa: E402
from bwdesk.core.team.url import parse_history_url  # noqa: E402

ROWS = int(os.environ.get("BWDESK_BENCH_TEAM_ROWS", "1000000"))
AGENTS = 50
RUNS = 15
ROUNDS = int(os.environ.get("BWDESK_BENCH_TEAM_ROUNDS", "3"))  # the results are the medians of the rounds
RARE_NUMBER, RARE_TYPED = "+13127849301", "784-9301"

# The indexes (and the recipients trigger) of the current schema, made after the COPY.
_INDEXES = (
    "messages_page",
    "messages_agent_page",
    "messages_search",
    "messages_digits",
    "messages_message_id",
    "messages_desk_state",
    "messages_status_page",
    "messages_stored",
    "message_recipients_row",
)


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def agents() -> list[tuple[str, str]]:
    rnd = random.Random(11)
    first = ["Ana", "Ben", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Iker", "Jun"]
    last = ["Lima", "Ode", "Müller", "Sato", "Okafor"]
    return [(str(uuid.UUID(int=rnd.getrandbits(128), version=4)), f"{f} {ln}") for f in first for ln in last][
        :AGENTS
    ]


def build(server: Any, db: str, rows: int) -> dict[str, float]:
    """`rows` messages from 50 desks over about two years, written with COPY; the indexes made after."""
    started = time.perf_counter()
    rnd = random.Random(4242)
    desks = agents()
    customers = [
        f"+1{HOME_AREA if rnd.random() < HOME_SHARE else rnd.randrange(200, 999)}555{rnd.randrange(10000):04d}"
        for _ in range(50_000)
    ]
    with server.connect(db) as conn:
        definitions = {
            name: conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,)).fetchone()[0]
            for name in _INDEXES
        }
        for name in _INDEXES:
            conn.execute(f"DROP INDEX bwdesk.{name}")
        conn.execute("ALTER TABLE bwdesk.messages DISABLE TRIGGER messages_recipients")
        with conn.cursor().copy("COPY bwdesk.desks (desk_id, agent, host_name) FROM STDIN") as copy:
            for desk, name in desks:
                copy.write_row((desk, name, f"desk-{name.split()[0].lower()}"))
        start = datetime(2024, 1, 1, tzinfo=UTC)
        local_ids = dict.fromkeys((d for d, _ in desks), 0)
        previous: str | None = None
        columns = (
            "row_uid, desk_id, local_id, revision, agent, created, updated, sender, recipients, mode, text, "
            "media, tag, state, message_id, segments, http_status, error_type, error_description, "
            "delivery_status, error_code, search_terms"
        )
        pending: list[tuple[Any, ...]] = []

        def write(copy: Any) -> None:
            terms = search_terms_many([(row[10], row[12]) for row in pending])
            for row, words in zip(pending, terms, strict=True):
                copy.write_row((*row, words))
            pending.clear()

        with conn.cursor().copy(f"COPY bwdesk.messages ({columns}) FROM STDIN") as copy:
            for i in range(1, rows + 1):
                created = start + timedelta(seconds=i * 60)
                desk, agent = desks[rnd.randrange(AGENTS)]
                local_ids[desk] += 1
                words = rnd.choices(WORDS, k=rnd.randrange(6, 24))
                for word in COMMON:
                    if rnd.random() < 0.5:
                        words.insert(rnd.randrange(len(words) + 1), word)
                group = rnd.random() < 0.03
                to = rnd.sample(customers, rnd.randrange(2, 5)) if group else [rnd.choice(customers)]
                if i in (1000, rows // 2, rows - rows // 10):
                    to = [RARE_NUMBER]
                roll = rnd.random()
                state = (
                    "accepted"
                    if roll < 0.93
                    else "rejected"
                    if roll < 0.96
                    else "failed"
                    if roll < 0.98
                    else "unknown"
                )
                accepted = state == "accepted"
                delivery = (
                    rnd.choice(["DELIVERED"] * 86 + ["FAILED"] * 6 + ["SENT"] * 3 + [None] * 5)
                    if accepted
                    else None
                )
                text = " ".join(words).capitalize() + "."
                tag = f"TICKET-{rnd.randrange(1, 400_000)}" if rnd.random() < 0.8 else ""
                previous = new_row_uid(created, previous)
                pending.append(
                    (
                        previous, desk, local_ids[desk], 2, agent, created, created,
                        "+19195550100", to, "group" if group else "separate", text,
                        ["https://example.com/p.jpg"] if group else [], tag, state,
                        f"{1589228074636 + i}lm4k2je7j7jklbn2" if accepted else None,
                        1, 202 if accepted else 400 if state == "rejected" else None,
                        "request-validation" if state == "rejected" else None,
                        None if accepted else "Something is wrong",
                        delivery, 4720 if delivery == "FAILED" else None,
                    )
                )  # fmt: skip
                if len(pending) == 2000:
                    write(copy)
            write(copy)
        copied = time.perf_counter() - started
        conn.execute(
            "INSERT INTO bwdesk.message_recipients (number, created, row_uid) "
            "SELECT DISTINCT n, m.created, m.row_uid FROM bwdesk.messages m, unnest(m.recipients) AS n"
        )
        conn.execute("ALTER TABLE bwdesk.messages ENABLE TRIGGER messages_recipients")
        conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions.values():
            conn.execute(definition)
        conn.execute("VACUUM ANALYZE bwdesk.messages")
        conn.execute("VACUUM ANALYZE bwdesk.message_recipients")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {
        "build_s": round(time.perf_counter() - started),
        "copy_s": round(copied),
        "database_mb": round(size / 1e6),
    }


def make_database(server: Any) -> str:
    db = server.create_database()
    with server.connect(db) as conn:
        init_schema(conn, [AGENT_USER], MIGRATIONS)
    return str(db)


def desk_store(server: Any, db: str, profile: Path, agent: str, **options: Any) -> TeamHistoryStore:
    journal = SqliteHistoryStore.open(profile / "history.sqlite3")
    url = parse_history_url(server.url(db, sslmode="verify-full", sslrootcert=str(server.ca_file)))
    desk = str(uuid.uuid5(uuid.NAMESPACE_URL, str(profile)))
    config = TeamConfig(url, "bench", agent, desk)
    return open_team_store(journal, config, TeamPassword(server.agent_password, "bench"), **options)


def open_and_first_page(server: Any, db: str, profile: Path) -> Callable[[], object]:
    """What the window does at start, on a worker: open the history (the team store over this desk's journal),
    wait for the team database's first answer, read the first page of the team view."""

    def run() -> object:
        store = desk_store(server, db, profile, "Ana Lima", flush_on_close=0)
        try:
            store.wait_for_contact(5)
            return store.search(HistoryQuery(), limit=100)
        finally:
            store.close()

    return run


def first_page(store: TeamHistoryStore, query: HistoryQuery) -> Callable[[], object]:
    def run() -> object:
        page = store.search_page(query, limit=100)
        assert page.from_team, page.problem
        return [(r.created_local(), r.agent, ", ".join(r.to), r.text[:80], r.tag, r.state) for r in page.rows]

    return run


def searches(store: TeamHistoryStore, sample: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    named = {
        "narrow_tag": HistoryQuery.from_text(sample.tag, "US"),
        "broad_words": HistoryQuery.from_text("technician order", "US"),
        "no_filter": HistoryQuery(),
        "number": HistoryQuery.from_text(sample.to[0], "US"),
        "prefix": HistoryQuery.from_text("techn*", "US"),
        "no_match": HistoryQuery.from_text("xylophone", "US"),
        "digits_rare_number": HistoryQuery.from_text(RARE_TYPED, "US"),
        "digits_last_four": HistoryQuery.from_text("0198", "US"),
        "digits_area_code": HistoryQuery.from_text("9195", "US"),
        "one_agent": HistoryQuery(agent=sample.agent),
        "one_agent_broad_words": HistoryQuery(text="technician order", agent=sample.agent),
        "status_failed": HistoryQuery(status=StatusFilter.FAILED),
        "status_unknown": HistoryQuery(status=StatusFilter.UNKNOWN),
        "status_not_sent_broad_words": HistoryQuery(text="technician order", status=StatusFilter.NOT_SENT),
        "last_month": HistoryQuery(since=datetime(2025, 6, 1, tzinfo=UTC), until=datetime(2025, 7, 1, tzinfo=UTC)),
    }  # fmt: skip
    for name, query in named.items():
        results[f"{name}_ms"] = median_ms(first_page(store, query))
        results[f"{name}_rows"] = len(store.search(query, limit=100))
    deep = store.search(named["broad_words"], limit=1, before_id=None)
    if deep:
        page = store.search(named["broad_words"], limit=100)
        for _ in range(20):  # twenty pages down
            page = store.search(named["broad_words"], limit=100, before_id=page[-1].id)
        results["broad_words_21st_page_ms"] = median_ms(
            lambda: store.search(named["broad_words"], limit=100, before_id=page[-1].id)
        )
    results["duplicate_guard_ms"] = median_ms(
        lambda: store.recent_sends_to([sample.to[0]], datetime.now(UTC) - timedelta(hours=48))
    )
    results["count_broad_ms"] = median_ms(lambda: store.count(named["broad_words"]), runs=3)
    results["latest_change_ms"] = median_ms(store.latest_change)
    return results


def outbox_rate(server: Any, db: str, profile: Path, rows: int = 20_000) -> dict[str, Any]:
    """A desk that was offline with `rows` changes waiting: how fast the copier catches up."""
    journal = SqliteHistoryStore.open(profile / "history.sqlite3")
    journal.enable_outbox("bench")
    for i in range(rows):
        journal.record_sending(
            "+19195550100",
            [f"+1919555{i % 10000:04d}"],
            "separate",
            f"queued message {i} technician",
            [],
            "",
            1,
        )
    # Sent while offline: settled, as a desk leaves its rows.
    with journal._write("settle the bench's rows") as conn:
        conn.execute(
            "UPDATE history SET state = 'accepted', message_id = 'm-' || id, owner_pid = NULL, owner_start = NULL"
        )
    journal.close()
    started = time.perf_counter()
    store = desk_store(server, db, profile, "Outbox Bench")
    try:
        assert store.flush(600, through_offline=True)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {"outbox_rows": rows, "outbox_s": round(seconds, 2), "outbox_rows_per_s": round(rows / seconds)}


def seen_by_another_desk(
    server: Any, db: str, tmp: Path, sends: int = 15, poll: float = 0.1
) -> dict[str, Any]:
    """Desk A records a send; desk B's view asks the team database every `poll` s (as a view refreshing itself
    would): how long until B lists it."""
    a = desk_store(server, db, tmp / "a", "Ana Lima")
    b = desk_store(server, db, tmp / "b", "Ben Ode")
    try:
        delays = []
        for i in range(sends):
            text = f"appears elsewhere {i} {uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            a.record_sending("+19195550100", ["+19195550123"], "separate", text, [], "", 1)
            while not b.search(HistoryQuery(text=text.split()[-1]), limit=1):
                time.sleep(poll)
            delays.append(time.perf_counter() - started)
        copy_only = []
        for i in range(sends):
            started = time.perf_counter()
            a.record_sending("+19195550100", ["+19195550123"], "separate", f"copy {i}", [], "", 1)
            assert a.flush(10)
            copy_only.append(time.perf_counter() - started)
    finally:
        a.close()
        b.close()
    return {
        "seen_by_another_desk_median_s": round(statistics.median(delays), 3),
        "seen_by_another_desk_max_s": round(max(delays), 3),
        "view_poll_s": poll,
        "copy_latency_median_ms": round(statistics.median(copy_only) * 1000, 1),
    }


def measure(server: Any, empty: str, big: str, tmp: Path) -> dict[str, Any]:
    """One round of every measurement (on the same two databases; each round has profiles of its own)."""
    results: dict[str, Any] = {}
    for name in ("desk", "outbox", "a", "b"):
        (tmp / name).mkdir(parents=True)
    rss_before = rss_mb()
    # Interleaved, so both sides see the same machine.
    empty_times, big_times = [], []
    for _ in range(RUNS):
        for times, db in ((empty_times, empty), (big_times, big)):
            started = time.perf_counter()
            open_and_first_page(server, db, tmp / "desk")()
            times.append((time.perf_counter() - started) * 1000)
    results["open_and_first_page_empty_ms"] = round(statistics.median(empty_times), 2)
    results["open_and_first_page_1m_ms"] = round(statistics.median(big_times), 2)
    results["open_ratio"] = round(
        results["open_and_first_page_1m_ms"] / results["open_and_first_page_empty_ms"], 2
    )
    store = desk_store(server, big, tmp / "desk", "Ana Lima")
    middle = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=ROWS // 2)
    sample = next(r for r in store.search(HistoryQuery(until=middle), limit=20) if r.tag)
    results.update(searches(store, sample))
    results["rss_growth_mb"] = round(rss_mb() - rss_before, 1)
    # The outbox's 20,000 rows are then the newest in the team database, and none has the broad query's two
    # words nor an unknown status: how the searches fare when the matches are not among the newest rows.
    results.update(outbox_rate(server, big, tmp / "outbox"))
    for name, query in {
        "broad_words": HistoryQuery.from_text("technician order", "US"),
        "narrow_tag": HistoryQuery.from_text(sample.tag, "US"),
        "status_unknown": HistoryQuery(status=StatusFilter.UNKNOWN),
    }.items():
        results[f"{name}_below_20k_newer_ms"] = median_ms(first_page(store, query))
    store.close()
    results.update(seen_by_another_desk(server, big, tmp))
    # Back to the million rows as generated, for the next round.
    server.execute(
        "DELETE FROM bwdesk.messages WHERE desk_id IN (SELECT desk_id FROM bwdesk.desks WHERE bwdesk_version <> '')",
        dbname=big,
    )
    server.execute("VACUUM ANALYZE bwdesk.messages", dbname=big)
    print(json.dumps(results), flush=True)
    return results


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"rows": ROWS, "agents": AGENTS}
    with running_server() as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server.execute("ALTER SYSTEM SET shared_buffers = '256MB'")  # a small server's, not the tests' 32 MB
        server.stop()
        server.start()
        empty = make_database(server)
        big = make_database(server)
        print(f"building {ROWS:,} rows from {AGENTS} agents …", flush=True)
        results.update(build(server, big, ROWS))
        print(f"  built in {results['build_s']} s ({results['database_mb']} MB)", flush=True)

        rounds = [measure(server, empty, big, tmp / f"round-{n}") for n in range(ROUNDS)]
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        results[key] = (
            statistics.median(values) if all(isinstance(v, int | float) for v in values) else values[0]
        )
    results["rounds"] = ROUNDS
    for key, value in results.items():
        print(f"  {key:40} {value}")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
