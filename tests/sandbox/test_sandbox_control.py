"""The /_sandbox/ control endpoints, used the way a test in another process uses them: a plain session, no auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bwdesk.sandbox import OPTED_OUT_NUMBER, Sandbox
from bwdesk.sandbox.server import _is_loopback


@pytest.fixture
def control(sandbox: Sandbox) -> Iterator[requests.Session]:
    """A separate session, with no credentials at all."""
    with requests.Session() as s:
        yield s


def test_faults_through_the_control_endpoint(
    sandbox: Sandbox,
    control: requests.Session,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    created = control.post(
        f"{sandbox.base_url}/_sandbox/faults",
        json={"kind": "queue_full", "retry_after": 7, "times": 2},
        timeout=10,
    )
    assert created.status_code == 201
    assert created.json() == {
        "kind": "queue_full",
        "times": 2,
        "method": "POST",
        "path_suffix": "/messages",
        "delay": 0.0,
        "retry_after": 7,
        "status": None,
        "field_errors": [],
    }
    response = session.post(messages_url, json=payload, timeout=10)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
    pending = control.get(f"{sandbox.base_url}/_sandbox/faults", timeout=10).json()
    assert [f["times"] for f in pending] == [1]
    assert control.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=10).status_code == 204
    assert session.post(messages_url, json=payload, timeout=10).status_code == 202


def test_dropped_request_shows_in_the_log(
    sandbox: Sandbox,
    control: requests.Session,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    control.post(f"{sandbox.base_url}/_sandbox/faults", json={"kind": "drop"}, timeout=10)
    with pytest.raises(requests.ConnectionError):
        session.post(messages_url, json=payload, timeout=10)
    log = control.get(f"{sandbox.base_url}/_sandbox/requests", timeout=10).json()
    assert len(log) == 1  # control requests are not logged
    entry = log[0]
    assert (entry["method"], entry["path"], entry["status"], entry["fault"]) == (
        "POST",
        f"/api/v2/users/{sandbox.account_id}/messages",
        None,
        "drop",
    )
    assert entry["json"] == payload
    assert entry["headers"]["Authorization"] == "Basic [redacted]"
    assert control.delete(f"{sandbox.base_url}/_sandbox/requests", timeout=10).status_code == 204
    assert control.get(f"{sandbox.base_url}/_sandbox/requests", timeout=10).json() == []


def test_messages_reset_identity_and_token_expiry(
    sandbox: Sandbox,
    control: requests.Session,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    sandbox.status_step = 0
    accepted = session.post(messages_url, json={**payload, "to": [OPTED_OUT_NUMBER]}, timeout=10).json()
    report = control.get(f"{sandbox.base_url}/_sandbox/messages", timeout=10).json()
    assert report == [
        {"message": accepted, "statuses": [{"to": OPTED_OUT_NUMBER, "status": "FAILED", "errorCode": 4775}]}
    ]

    identity = control.get(f"{sandbox.base_url}/_sandbox/identity", timeout=10).json()
    assert identity["apiBase"] == sandbox.api_base
    assert identity["accountId"] == sandbox.account_id
    assert identity["numbers"] == list(sandbox.numbers)
    assert {t["number"]: t["errorCode"] for t in identity["testNumbers"]} == {
        "+19195550199": 4720,
        "+19195550198": 4775,
        "+19195550197": 4482,
    }

    token = requests.post(
        sandbox.token_url,
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    assert control.post(f"{sandbox.base_url}/_sandbox/expire-tokens", timeout=10).json() == {"expired": 1}
    assert (
        requests.get(
            messages_url, params={"messageId": "x"}, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )

    assert control.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10).status_code == 204
    assert control.get(f"{sandbox.base_url}/_sandbox/messages", timeout=10).json() == []
    assert sandbox.requests.all() == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"kind": "explode"},
            "unknown fault kind 'explode'; use one of: delay, drop, queue_full, rate_limit, "
            "server_error, html_502, malformed, reject, blocklisted",
        ),
        ({"kind": "drop", "when": "now"}, "unknown fault field(s): when"),
        ({"times": 1}, "a fault needs a 'kind'"),
        ({"kind": "drop", "times": "twice"}, "fault field 'times' has the wrong type"),
        ([1], 'send a JSON object such as {"kind": "drop"}'),
    ],
)
def test_bad_fault_requests_get_a_reason(
    sandbox: Sandbox, control: requests.Session, body: Any, error: str
) -> None:
    response = control.post(f"{sandbox.base_url}/_sandbox/faults", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert sandbox.pending_faults() == []


def test_unknown_control_endpoint_and_method(sandbox: Sandbox, control: requests.Session) -> None:
    missing = control.get(f"{sandbox.base_url}/_sandbox/nothing", timeout=10)
    assert missing.status_code == 404
    assert "faults" in missing.json()["endpoints"]
    wrong = control.get(f"{sandbox.base_url}/_sandbox/reset", timeout=10)
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.20", False),
        ("::ffff:10.0.0.5", False),
        ("fe80::1%eth0", False),
    ],
)
def test_control_endpoints_recognise_loopback_clients(address: str, loopback: bool) -> None:
    assert _is_loopback(address) is loopback
