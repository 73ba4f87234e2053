"""Many clients at once: the request log, the message store and the fault counters stay exact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bwdesk.sandbox import Sandbox

THREADS = 8
EACH = 25


def blast(sandbox: Sandbox, payload: dict[str, Any]) -> list[int]:
    url = f"{sandbox.api_base}/users/{sandbox.account_id}/messages"

    def worker(worker_id: int) -> list[int]:
        with requests.Session() as session:
            session.auth = (sandbox.username, sandbox.password)
            return [
                session.post(url, json={**payload, "tag": f"{worker_id}-{n}"}, timeout=30).status_code
                for n in range(EACH)
            ]

    with ThreadPoolExecutor(THREADS) as pool:
        return [status for statuses in pool.map(worker, range(THREADS)) for status in statuses]


def test_concurrent_posts_are_all_recorded_once(sandbox: Sandbox, payload: dict[str, Any]) -> None:
    statuses = blast(sandbox, payload)
    total = THREADS * EACH
    assert statuses == [202] * total
    recorded = sandbox.requests.all()
    assert len(recorded) == total
    assert sorted(r.seq for r in recorded) == list(range(1, total + 1))
    assert sorted(r.json["tag"] for r in recorded) == sorted(
        f"{w}-{n}" for w in range(THREADS) for n in range(EACH)
    )
    assert {r.status for r in recorded} == {202}
    accepted = sandbox.accepted_messages()
    assert len({m["id"] for m in accepted}) == total
    assert sorted(m["tag"] for m in accepted) == sorted(r.json["tag"] for r in recorded)


def test_concurrent_faults_fire_exactly_their_number_of_times(
    sandbox: Sandbox, payload: dict[str, Any]
) -> None:
    sandbox.inject("queue_full", times=50)
    statuses = blast(sandbox, payload)
    assert statuses.count(429) == 50
    assert statuses.count(202) == THREADS * EACH - 50
    assert sandbox.requests.count("POST", "/messages") == THREADS * EACH
    assert len([r for r in sandbox.requests if r.fault == "queue_full"]) == 50
    assert len(sandbox.accepted_messages()) == THREADS * EACH - 50


def test_the_log_keeps_the_newest_entries_only() -> None:
    from bwdesk.sandbox import RequestLog

    log = RequestLog(max_entries=3)
    for n in range(5):
        seq = log.record(time="t", method="GET", path=f"/{n}", query={}, headers={}, json=None, body_size=0)
        log.settle(seq, status=200)
    assert [(r.seq, r.path, r.status) for r in log] == [(3, "/2", 200), (4, "/3", 200), (5, "/4", 200)]
