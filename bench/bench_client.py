"""Client overhead per send: `BandwidthClient.send` vs a bare `requests.Session.post` of the same payload.

    python bench/bench_client.py            (or: python3 dev.py bench client)

Target (issue 2): the client's median time per send ≤ 1.1× the bare post's, against the local sandbox.
Both use one keep-alive session, the same JSON payload, the same Basic credentials and timeouts; the two
are interleaved (one of each, rotating which goes first) over several rounds so that drift in the
machine's speed hits both alike. The same is repeated against a minimal server that answers a fixed 202,
which leaves little but the client itself to measure (the sandbox validates and counts segments).
A third contender, a bare session with `trust_env = False`, shows the cost against the leanest requests
call (a default session re-reads proxy settings and ~/.netrc on every request; the client does not).
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import requests  # noqa: E402

from bwdesk.core.bandwidth import BandwidthClient, Timeouts  # noqa: E402
from bwdesk.core.credentials import BasicCredentials  # noqa: E402
from bwdesk.core.outcome import SendState  # noqa: E402

ROUNDS = 7
SENDS_PER_ROUND = 150
WARMUP = 20
TARGET_RATIO = 1.1


class _Minimal(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive; reads the body and answers a fixed 202 Message."""

    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # headers and body leave in one segment (no delayed-ACK stall on the client)
    body = json.dumps(
        {"id": "1589228074636lm4k2je7j7jklbn2", "segmentCount": 1, "time": "2026-11-27T10:15:02.123Z"}
    ).encode()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def minimal_server() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Minimal)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "api_base": f"http://127.0.0.1:{server.server_address[1]}/api/v2",
            "account_id": "9900000",
            "username": "bench-user",
            "password": "bench-password",
            "application_id": "bench-app",
            "from": "+19195550100",
        }
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def sandbox_server() -> Iterator[dict[str, str]]:
    from bwdesk.sandbox import Sandbox

    with Sandbox(status_step=0) as sandbox:
        yield {
            "api_base": sandbox.api_base,
            "account_id": sandbox.account_id,
            "username": sandbox.username,
            "password": sandbox.password,
            "application_id": sandbox.application_id,
            "from": sandbox.numbers[0],
        }


def _measure(target: dict[str, str]) -> dict[str, float]:
    payload = {
        "applicationId": target["application_id"],
        "to": ["+19195550123"],
        "from": target["from"],
        "text": "Your technician is on the way",
        "tag": "TICKET-4242",
    }
    timeouts = Timeouts(connect=5.0, read=30.0)
    client = BandwidthClient(
        target["api_base"],
        target["account_id"],
        BasicCredentials(target["username"], target["password"]),
        timeouts=timeouts,
    )
    bare = requests.Session()
    url = f"{target['api_base']}/users/{target['account_id']}/messages"
    auth = (target["username"], target["password"])

    def with_client() -> None:
        result = client.send(payload)
        if result.state is not SendState.ACCEPTED:
            raise RuntimeError(f"client send not accepted: {result.state} {result.error}")

    def with_bare() -> None:
        response = bare.post(url, json=payload, auth=auth, timeout=timeouts.as_tuple())
        if response.status_code != 202:
            raise RuntimeError(f"bare post answered {response.status_code}")
        response.json()

    lean = requests.Session()
    lean.trust_env = False  # no per-request environment/netrc lookups: the leanest requests can be

    def with_lean() -> None:
        response = lean.post(url, json=payload, auth=auth, timeout=timeouts.as_tuple())
        if response.status_code != 202:
            raise RuntimeError(f"lean post answered {response.status_code}")
        response.json()

    def timed(fn: Callable[[], None]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    contenders = {"client": with_client, "bare": with_bare, "lean": with_lean}
    for _ in range(WARMUP):
        for fn in contenders.values():
            fn()
    rounds: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for round_no in range(ROUNDS):
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for i in range(SENDS_PER_ROUND):
            shift = (i + round_no) % len(order)  # rotate who goes first
            for name in order[shift:] + order[:shift]:
                times[name].append(timed(contenders[name]))
        for name in contenders:
            rounds[name].append(statistics.median(times[name]))
    client.close()
    bare.close()
    lean.close()
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    return {
        "client_median_ms": round(medians["client"] * 1000, 3),
        "bare_median_ms": round(medians["bare"] * 1000, 3),
        "lean_median_ms": round(medians["lean"] * 1000, 3),
        "overhead_us": round((medians["client"] - medians["bare"]) * 1e6, 1),
        "ratio": round(medians["client"] / medians["bare"], 3),
        "ratio_vs_lean": round(medians["client"] / medians["lean"], 3),
        "ratio_per_round": [round(c / b, 3) for c, b in zip(rounds["client"], rounds["bare"], strict=True)],
    }


def main() -> dict[str, Any]:
    results: dict[str, Any] = {
        "rounds": ROUNDS,
        "sends_per_round": SENDS_PER_ROUND,
        "target_ratio": TARGET_RATIO,
    }
    for name, server in (("sandbox", sandbox_server), ("minimal_server", minimal_server)):
        with server() as target:
            measured = _measure(target)
        measured["meets_target"] = measured["ratio"] <= TARGET_RATIO
        results[name] = measured
        print(
            f"{name}: client {measured['client_median_ms']:.3f} ms, bare post {measured['bare_median_ms']:.3f} ms "
            f"per send (median of {ROUNDS} round medians) → ratio {measured['ratio']:.3f} "
            f"(target ≤ {TARGET_RATIO}), overhead {measured['overhead_us']:.0f} µs; vs a trust_env=False "
            f"session {measured['lean_median_ms']:.3f} ms → ratio {measured['ratio_vs_lean']:.3f}",
            flush=True,
        )
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
