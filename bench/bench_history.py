"""History store on a million rows: open time, first page of a narrow and a broad search, memory.

    python bench/bench_history.py            (or: python3 dev.py bench history)

The targets (issue 4): opening ≤ 1.5× an empty history; from a query to its first page (100 rows, as
the table shows them) ≤ 50 ms for a narrow query (one ticket tag) and a broad one (two common words,
each in about half the rows); memory growth ≤ 60 MB RSS. Issue 9 adds the same 50 ms for every status
filter and for digit searches, narrow (a number in 3 rows) and broad (an area code most customers share).
The generated database is cached in bench/out/ (about five minutes to build once), so reruns only measure.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bwdesk.core.history.rows import format_time  # noqa: E402
from bwdesk.core.history.schema import SCHEMA_MAJOR, SCHEMA_MINOR  # noqa: E402
from bwdesk.core.history.search import HistoryQuery  # noqa: E402
from bwdesk.core.history.sqlite_store import SqliteHistoryStore  # noqa: E402
from bwdesk.core.outcome import SendState  # noqa: E402
from bwdesk.core.status_words import StatusFilter  # noqa: E402

ROWS = 1_000_000
GENERATOR = 4  # bump when the generated data changes, so a stale cache is rebuilt
CACHE = HERE / "out" / f"history-{ROWS}-g{GENERATOR}-s{SCHEMA_MAJOR}.{SCHEMA_MINOR}.sqlite3"
RUNS = 15

SENDERS = ("+19195550100", "+19195550101", "+19195550102")
# A local business: most customers share its area code (so a search for it, or for the exchange, is broad).
HOME_AREA, HOME_SHARE = 919, 0.6
# One customer who texted three times, years apart; no other number holds these seven digits.
RARE_NUMBER, RARE_ROWS, RARE_TYPED = "+13127849301", (1000, ROWS // 2, ROWS - 100_000), "784-9301"
COMMON = ("technician", "order")  # each in about half the rows: the broad query is both of them
_VOCABULARY = (
    "hello hi thanks thank you your our the a an is are was will be on at in for to of and with from "
    "today tomorrow morning afternoon evening between please reply call us if any questions appointment "
    "scheduled confirmed rescheduled cancelled arriving arrive minutes hour window visit service repair "
    "install installation replacement part parts shipped shipping delivered delivery tracking number "
    "ticket case update status invoice payment received refund processed account password reset link "
    "code verification store pickup ready collect address confirm stop opt out help support team agent "
    "sorry delay weather traffic running late early soon photo picture attached see below details "
    "warranty covered estimate quote approved pending review manager follow up survey feedback rate "
    "experience great good issue problem resolved fixed working again router modem cable fiber outage "
    "area crew restored power water heater furnace boiler filter unit model serial"
)
WORDS = tuple(_VOCABULARY.split())


def build(path: Path) -> None:
    """Write ROWS realistic rows straight through SQL (the same schema and triggers the store uses)."""
    rnd = random.Random(4242)
    store = SqliteHistoryStore.open(path)
    store.close()
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    customers = [
        f"+1{HOME_AREA if rnd.random() < HOME_SHARE else rnd.randrange(200, 999)}555{rnd.randrange(10000):04d}"
        for _ in range(50_000)
    ]
    conn.execute("BEGIN")
    rows: list[tuple[Any, ...]] = []
    numbers: list[tuple[str, int]] = []
    for i in range(1, ROWS + 1):
        created = format_time(start + timedelta(seconds=i * 60))
        words = rnd.choices(WORDS, k=rnd.randrange(6, 24))
        for word in COMMON:
            if rnd.random() < 0.5:
                words.insert(rnd.randrange(len(words) + 1), word)
        group = rnd.random() < 0.03
        to = rnd.sample(customers, rnd.randrange(2, 5)) if group else [rnd.choice(customers)]
        if i in RARE_ROWS:
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
        delivery, code = _delivery(rnd) if accepted else (None, None)
        rows.append(
            (
                i,
                created,
                created,
                rnd.choice(SENDERS),
                json.dumps(to),
                "group" if group else "separate",
                " ".join(words).capitalize() + ".",
                json.dumps(["https://example.com/p.jpg"] if group or rnd.random() < 0.05 else []),
                f"TICKET-{rnd.randrange(1, 400_000)}" if rnd.random() < 0.8 else "",
                state,
                f"{1589228074636 + i}lm4k2je7j7jklbn2" if accepted else None,
                1 + len(words) // 25,
                202 if accepted else 400 if state == "rejected" else None,
                "request-validation" if state == "rejected" else None,
                "Something is wrong" if not accepted else None,
                delivery,
                code,
            )
        )
        numbers.extend((n, i) for n in to)
        if len(rows) == 20_000:
            _flush(conn, rows, numbers)
    _flush(conn, rows, numbers)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _delivery(rnd: random.Random) -> tuple[str | None, int | None]:
    """An accepted message's last known delivery status and error code, in plausible proportions."""
    roll = rnd.random()
    if roll < 0.86:
        return "DELIVERED", None
    if roll < 0.92:
        return "FAILED", rnd.choice((4720, 4775, 4770))
    if roll < 0.93:
        return "UNDELIVERED", 4720
    if roll < 0.94:
        return "DLR_EXPIRED", 9902
    if roll < 0.97:
        return "SENT", None
    return None, None


def _flush(conn: Any, rows: list[tuple[Any, ...]], numbers: list[tuple[str, int]]) -> None:
    conn.executemany(
        "INSERT INTO history (id, created, updated, sender, recipients, mode, text, media, tag, state, "
        "message_id, segments, http_status, error_type, error_description, delivery_status, error_code) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany("INSERT OR IGNORE INTO history_numbers (number, row_id) VALUES (?, ?)", numbers)
    rows.clear()
    numbers.clear()


def rss_mb() -> float:
    """Current resident set size (Linux /proc), else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def first_page(store: SqliteHistoryStore, typed: str) -> Callable[[], object]:
    """What the UI does per keystroke: parse the box, fetch 100 rows, turn them into table cells."""

    def run() -> object:
        rows = store.search(HistoryQuery.from_text(typed), limit=100)
        return [
            (r.created_local(), r.sender, ", ".join(r.to), r.text[:80], len(r.media), r.tag, r.state)
            for r in rows
        ]

    return run


def main() -> dict[str, Any]:
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    if not CACHE.exists():
        print(f"building {ROWS:,} rows in {CACHE.name} (once) …", flush=True)
        started = time.perf_counter()
        tmp = CACHE.with_suffix(".building")
        for leftover in CACHE.parent.glob(tmp.name + "*"):
            leftover.unlink()
        build(tmp)
        tmp.rename(CACHE)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    results: dict[str, Any] = {"rows": ROWS, "file_mb": round(CACHE.stat().st_size / 1e6)}

    rss_before = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.sqlite3"
        SqliteHistoryStore.open(empty).close()
        results["open_empty_ms"] = median_ms(lambda: SqliteHistoryStore.open(empty).close())
        results["open_1m_ms"] = median_ms(lambda: SqliteHistoryStore.open(CACHE).close())
        # Opening plus the first page the window shows (no filter), as the main window does at start.
        results["open_and_first_page_empty_ms"] = median_ms(lambda: _open_page(empty))
        results["open_and_first_page_1m_ms"] = median_ms(lambda: _open_page(CACHE))

    store = SqliteHistoryStore.open(CACHE)
    sample = store.search(HistoryQuery(), limit=1, before_id=ROWS // 2)[0]
    narrow = sample.tag or "TICKET-4242"
    number = sample.to[0]
    print(f"narrow query {narrow!r}, number {number}", flush=True)
    store.search(HistoryQuery(text="warm up the cache"), limit=1)

    cold = SqliteHistoryStore.open(CACHE)
    started = time.perf_counter()
    first_page(cold, "technician order")()
    results["broad_first_page_fresh_connection_ms"] = round((time.perf_counter() - started) * 1000, 3)
    cold.close()

    results["narrow_first_page_ms"] = median_ms(first_page(store, narrow))
    results["broad_first_page_ms"] = median_ms(first_page(store, "technician order"))
    results["narrow_rows"] = len(store.search(HistoryQuery.from_text(narrow), limit=100))
    results["broad_rows"] = len(store.search(HistoryQuery.from_text("technician order"), limit=100))
    results["number_first_page_ms"] = median_ms(first_page(store, number))
    results["no_filter_first_page_ms"] = median_ms(first_page(store, ""))
    results["prefix_first_page_ms"] = median_ms(first_page(store, "techn*"))
    results["no_match_ms"] = median_ms(first_page(store, "xylophone"))
    deep = store.search(HistoryQuery(text="technician order"), limit=1, before_id=ROWS // 10)[0].id
    results["broad_deep_page_ms"] = median_ms(
        lambda: store.search(HistoryQuery(text="technician order"), limit=100, before_id=deep)
    )
    results["broad_and_rare_state_ms"] = median_ms(
        lambda: store.search(HistoryQuery(text="technician order", state=SendState.UNKNOWN), limit=100)
    )
    month = HistoryQuery(
        text="technician", since=datetime(2024, 6, 1, tzinfo=UTC), until=datetime(2024, 7, 1, tzinfo=UTC)
    )
    results["broad_in_one_month_ms"] = median_ms(lambda: store.search(month, limit=100))
    results["count_broad_ms"] = median_ms(lambda: store.count(HistoryQuery(text="technician order")), runs=5)
    results["count_broad"] = store.count(HistoryQuery(text="technician order"))
    results["count_all_ms"] = median_ms(lambda: store.count(HistoryQuery()), runs=5)
    results["rows_to_refresh_ms"] = median_ms(lambda: store.rows_to_refresh(limit=100))
    results.update(_digits_and_status(store, sample.to[0]))
    results.update(_concurrency(store))
    results["rss_growth_mb"] = round(rss_mb() - rss_before, 1)
    store.close()
    results.update(_write_costs())

    for key, value in results.items():
        print(f"  {key:40} {value}")
    return results


#: Digit searches as agents type them, from broad to narrow (the rows each matches are printed too).
DIGIT_SEARCHES = {
    "area_code": "9195",  # most customers: the first page comes at once
    "exchange": "5550",  # about one row in ten
    "last_four": "0198",  # the last four digits a customer reads out: about a hundred rows
    "local_number": "555-0198",
    "example_0100": "0100",
    "rare_number": RARE_TYPED,  # three rows in a million
    "all_common_trigrams": "9195555",  # every trigram of it is in a large share of rows
    "words_and_digits": "technician 0198",
    "no_match_digits": "784-0000",
}


def _digits_and_status(store: SqliteHistoryStore, number: str) -> dict[str, Any]:
    """First pages of digit searches and of every status filter, alone and combined (issue 9)."""
    results: dict[str, Any] = {}
    for name, typed in DIGIT_SEARCHES.items():
        results[f"digits_{name}_ms"] = median_ms(first_page(store, typed))
        results[f"digits_{name}_rows"] = len(store.search(HistoryQuery.from_text(typed), limit=100))
    results["digits_rare_number_count"] = store.count(HistoryQuery.from_text(RARE_TYPED))
    last_seven = number[-7:-4] + "-" + number[-4:]
    results["digits_sampled_local_number_ms"] = median_ms(first_page(store, last_seven))
    for choice in StatusFilter:
        query = HistoryQuery(status=choice)
        results[f"status_{choice.value}_ms"] = median_ms(lambda q=query: store.search(q, limit=100))
        results[f"status_{choice.value}_count"] = store.count(query)
    combined = {
        "status_failed_and_broad_words": HistoryQuery(text="technician order", status=StatusFilter.FAILED),
        "status_unknown_and_broad_words": HistoryQuery(text="technician order", status=StatusFilter.UNKNOWN),
        "status_failed_and_last_four": HistoryQuery(text="0198", status=StatusFilter.FAILED),
        "status_delivered_and_area_code": HistoryQuery(text="9195", status=StatusFilter.DELIVERED),
        "status_not_sent_and_narrow_tag": HistoryQuery(text="TICKET-4242", status=StatusFilter.NOT_SENT),
    }
    for name, query in combined.items():
        results[f"{name}_ms"] = median_ms(lambda q=query: store.search(q, limit=100))
    return results


def _open_page(path: Path) -> None:
    store = SqliteHistoryStore.open(path)
    store.recover_interrupted()
    store.search(HistoryQuery(), limit=100)
    store.close()


def _concurrency(store: SqliteHistoryStore) -> dict[str, float]:
    """A broad search's first page while another thread writes rows (per-thread connections, WAL)."""
    stop = threading.Event()
    written = 0

    def writer() -> None:
        nonlocal written
        while not stop.is_set():
            store.record_sending("+19195550100", ["+19195550123"], "separate", "bench writer", (), "", 1)
            written += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        busy = median_ms(first_page(store, "technician order"))
    finally:
        stop.set()
        thread.join()
    # Leave the cached database as it was.
    import sqlite3

    conn = sqlite3.connect(CACHE, isolation_level=None)
    conn.execute("DELETE FROM history WHERE id > ?", (ROWS,))
    conn.close()
    return {"broad_first_page_while_writing_ms": busy, "writes_during_that": written}


def _write_costs() -> dict[str, float]:
    """What one send costs the history: record before the POST + settle after (synchronous=FULL)."""
    from bwdesk.core.outcome import SendResult

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteHistoryStore.open(Path(tmp) / "w.sqlite3")

        def one() -> None:
            row = store.record_sending(
                "+19195550100", ["+19195550123"], "separate", "hello there", (), "T-1", 1
            )
            store.settle(row, SendResult(SendState.ACCEPTED, 202, "id", 1))

        cost = median_ms(one, runs=50)

        def threads(n: int) -> float:
            started = time.perf_counter()
            workers = [threading.Thread(target=lambda: [one() for _ in range(25)]) for _ in range(n)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            return round(n * 25 / (time.perf_counter() - started))

        result = {
            "record_and_settle_ms": cost,
            "sends_per_s_1_thread": threads(1),
            "sends_per_s_4_threads": threads(4),
        }
        store.close()
    return result


if __name__ == "__main__":
    os.environ.setdefault("BWDESK_REGION", "US")
    print(json.dumps(main(), indent=2))
