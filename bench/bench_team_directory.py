"""The team's do-not-text list on a real PostgreSQL: checking 20 recipients against 1,000,000 numbers.

    python bench/bench_team_directory.py            (or: python3 dev.py bench team_directory)

Target (issue 12): a do-not-text list of 1,000,000 numbers checks 20 recipients in ≤ 5 ms. With a team history
the check reads the team database on every send (`TeamDirectoryStore.opted_out`: one `number = ANY(…)` lookup
through the primary key, on the guard's thread), so it is measured there: warm (the median of RUNS checks), and
the first check of a store just opened (its connection made then). The reference is the same check on an empty
team database, measured interleaved. Also measured: this desk's copy of the team's list, which stands in while
the team database cannot be reached: the first refresh (the whole list) and a check from the copy.

A PostgreSQL server is started for the run (the tests' `tests/pgserver.py`), as `bench_team.py` does.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from pgserver import AGENT_USER, running_server  # noqa: E402

from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore  # noqa: E402
from bwdesk.core.team.config import TeamConfig, TeamPassword  # noqa: E402
from bwdesk.core.team.directory import TeamDirectoryStore, open_team_directory  # noqa: E402
from bwdesk.core.team.directory_cache import DirectoryCache  # noqa: E402
from bwdesk.core.team.schema import init_schema  # noqa: E402
from bwdesk.core.team.url import parse_history_url  # noqa: E402

NUMBERS = 1_000_000
RECIPIENTS = 20
RUNS = 100
ROUNDS = 3
TARGET_MS = 5.0


def listed_number(i: int) -> str:
    return f"+1919{i:07d}"


def make_database(server: Any, numbers: int) -> str:
    """A team database whose list holds `numbers` numbers (written by the administrator in bulk, as a
    `pg_restore` would: the events and the list they make, with the trigger off meanwhile)."""
    db = server.create_database()
    with server.connect(db) as conn:
        init_schema(conn, [AGENT_USER])
        if numbers:
            conn.execute("ALTER TABLE bwdesk.optout_events DISABLE TRIGGER optout_event")
            conn.execute(
                "INSERT INTO bwdesk.optout_events (event_uid, number, action, reason, code, note, at, agent, desk_id) "
                "SELECT gen_random_uuid(), '+1919' || lpad(i::text, 7, '0'), 'added', "
                "CASE WHEN i %% 3 = 0 THEN 'opted-out' ELSE 'imported' END, CASE WHEN i %% 3 = 0 THEN 4775 END, "
                "'', now() - (i || ' seconds')::interval, 'Agent ' || (i %% 50), gen_random_uuid() "
                "FROM generate_series(0, %s - 1) AS i",
                (numbers,),
            )
            conn.execute(
                "INSERT INTO bwdesk.optouts (number, reason, code, note, since, agent, event_id) "
                "SELECT number, reason, code, note, at, agent, id FROM bwdesk.optout_events"
            )
            conn.execute("ALTER TABLE bwdesk.optout_events ENABLE TRIGGER optout_event")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE bwdesk.optouts")
        conn.execute("VACUUM ANALYZE bwdesk.optout_events")
    return str(db)


def open_store(server: Any, db: str, profile: Path) -> TeamDirectoryStore:
    profile.mkdir(parents=True, exist_ok=True)
    local = SqliteDirectoryStore.open(profile / "history.sqlite3", "Bench Agent")
    url = parse_history_url(server.url(db, sslmode="verify-full", sslrootcert=str(server.ca_file)))
    config = TeamConfig(url, "bench", "Bench Agent", "00000000-0000-4000-8000-000000000001")
    return open_team_directory(
        local,
        config,
        TeamPassword(server.agent_password, "bench"),
        DirectoryCache(profile / "team-directory.sqlite3"),
        refresh_every=86_400.0,  # the bench refreshes the copy itself, when it measures that
    )


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def recipients(rnd: random.Random) -> list[str]:
    """Half on the list, half not (a number outside its range)."""
    return [listed_number(rnd.randrange(NUMBERS)) for _ in range(RECIPIENTS // 2)] + [
        f"+1920{rnd.randrange(10**7):07d}" for _ in range(RECIPIENTS - RECIPIENTS // 2)
    ]


def measure(server: Any, empty: str, big: str, tmp: Path, n: int) -> dict[str, float]:
    rnd = random.Random(n)
    result: dict[str, float] = {}
    stores = {}
    for name, db in (("big", big), ("empty", empty)):
        store = open_store(server, db, tmp / f"{name}-{n}")
        wanted = recipients(rnd)
        result[f"{name}_first_ms"] = timed(lambda s=store, w=wanted: s.opted_out(w))  # type: ignore[misc]
        stores[name] = store
    checks: dict[str, list[float]] = {"big": [], "empty": []}
    for _ in range(RUNS):  # interleaved, so both meet the same machine
        for name, store in stores.items():
            wanted = recipients(rnd)
            checks[name].append(timed(lambda s=store, w=wanted: s.opted_out(w)))  # type: ignore[misc]
    for name in stores:
        result[f"{name}_warm_ms"] = statistics.median(checks[name])
    found = stores["big"].opted_out(recipients(rnd))
    assert len(found) == RECIPIENTS // 2, found
    big_store = stores["big"]
    while big_store.cache.refreshed() is None:  # the store's own first refresh, in the background, ends first
        time.sleep(0.1)
    big_store.cache.belongs_to("bench: start again")  # an empty copy: the next refresh reads the whole list
    result["copy_first_refresh_s"] = timed(big_store.refresh_copy) / 1000
    assert big_store.cache.listed([listed_number(0)], datetime.now(UTC), timedelta(hours=1))
    result["copy_refresh_again_ms"] = timed(big_store.refresh_copy)
    copy_checks = []
    now = datetime.now(UTC)
    for _ in range(RUNS):
        wanted = recipients(rnd)
        copy_checks.append(timed(lambda w=wanted: big_store.cache.listed(w, now, timedelta(hours=24))))  # type: ignore[misc]
    result["copy_check_ms"] = statistics.median(copy_checks)
    for store in stores.values():
        store.close()
    return result


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"numbers": NUMBERS, "recipients": RECIPIENTS, "runs": RUNS}
    with running_server() as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        empty = make_database(server, 0)
        started = time.perf_counter()
        big = make_database(server, NUMBERS)
        print(f"built the list of {NUMBERS:,} numbers in {time.perf_counter() - started:.0f} s", flush=True)
        rounds = [measure(server, empty, big, tmp, n) for n in range(ROUNDS)]
    for key in rounds[0]:
        results[key] = round(statistics.median(r[key] for r in rounds), 3)
    results["rounds"] = ROUNDS
    results["ratio_to_empty"] = round(results["big_warm_ms"] / results["empty_warm_ms"], 2)
    results["target_ms"] = TARGET_MS
    results["met"] = results["big_warm_ms"] <= TARGET_MS and results["big_first_ms"] <= TARGET_MS * 20
    for key, value in results.items():
        print(f"  {key:28} {value}")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
