"""Injected faults: each kind, how they match and count down, and that every faulted request is still recorded."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from bwdesk.sandbox import Fault, FaultKind, Sandbox

QUEUE_FULL_TYPE = "max-message-queue-size-exceeded"


def post(
    session: requests.Session, url: str, payload: dict[str, Any], timeout: float = 10
) -> requests.Response:
    return session.post(url, json=payload, timeout=timeout)


def test_drop_closes_the_connection_after_reading_the_request(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject(Fault(FaultKind.DROP))
    with pytest.raises(requests.ConnectionError):
        post(session, messages_url, payload)
    (recorded,) = sandbox.requests.all()
    assert (recorded.method, recorded.status, recorded.fault) == ("POST", None, "drop")
    assert recorded.json == payload  # the whole request was read
    assert sandbox.accepted_messages() == []
    assert post(session, messages_url, payload).status_code == 202  # only once
    assert sandbox.requests.count("POST", "/messages") == 2


@pytest.mark.parametrize(
    ("retry_after", "header"), [(None, None), (3, "3"), ("Wed, 21 Oct 2026 07:28:00 GMT", None)]
)
def test_queue_full(
    sandbox: Sandbox,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    retry_after: int | str | None,
    header: str | None,
) -> None:
    sandbox.inject("queue_full", retry_after=retry_after, times=2)
    first, second, third = (post(session, messages_url, payload) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 202)
    assert first.json()["type"] == QUEUE_FULL_TYPE
    assert first.json()["description"].startswith("The SMS queue for your account is full")
    expected = header if header is not None else (retry_after if isinstance(retry_after, str) else None)
    assert first.headers.get("Retry-After") == expected
    assert len(sandbox.accepted_messages()) == 1
    assert [r.fault for r in sandbox.requests] == ["queue_full", "queue_full", None]
    assert [r.status for r in sandbox.requests] == [429, 429, 202]


def test_rate_limit_has_retry_after_by_default(
    sandbox: Sandbox, session: requests.Session, messages_url: str
) -> None:
    sandbox.inject("rate_limit", method="GET")
    response = session.get(messages_url, params={"messageId": "x"}, timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "300"
    assert response.json()["type"] == "rate_limit_exceeded"


@pytest.mark.parametrize("status", [None, 503])
def test_server_error_in_bandwidths_shape(
    sandbox: Sandbox,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    status: int | None,
) -> None:
    sandbox.inject("server_error", status=status)
    response = post(session, messages_url, payload)
    assert response.status_code == (status or 500)
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "type": "internal-server-error",
        "description": "An internal server error occurred",
    }
    assert sandbox.accepted_messages() == []


def test_html_502_from_a_proxy(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject("html_502")
    response = post(session, messages_url, payload)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert "<h1>502 Bad Gateway</h1>" in response.text
    assert int(response.headers["Content-Length"]) == len(response.content)


def test_malformed_body(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject("malformed")
    response = post(session, messages_url, payload)
    assert response.status_code == 202
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert post(session, messages_url, payload).json()["to"] == payload["to"]  # the connection survives


def test_delay_then_normal_answer(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject("delay", delay=0.2)
    started = time.monotonic()
    response = post(session, messages_url, payload)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 202
    assert sandbox.requests[0].fault == "delay"


def test_delay_beyond_the_read_timeout(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject("delay", delay=30)
    with pytest.raises(requests.ReadTimeout):
        post(session, messages_url, payload, timeout=0.1)
    assert sandbox.requests.count("POST", "/messages") == 1
    started = time.monotonic()
    sandbox.stop()  # does not wait for the 30 s
    assert time.monotonic() - started < 3


def test_faults_act_before_authentication(
    sandbox: Sandbox, messages_url: str, payload: dict[str, Any]
) -> None:
    """Like a proxy or an overloaded front end: the fault comes whatever the credentials."""
    sandbox.inject("html_502")
    assert requests.post(messages_url, json=payload, timeout=10).status_code == 502
    assert requests.post(messages_url, json=payload, timeout=10).status_code == 401


def test_matching_by_method_and_path(
    sandbox: Sandbox, session: requests.Session, messages_url: str, media_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject("server_error")  # POST …/messages by default
    assert session.get(messages_url, params={"messageId": "x"}, timeout=10).status_code == 200
    assert (
        session.put(f"{media_url}/a.png", data=b"a", headers={"Content-Type": "image/png"}).status_code == 204
    )
    assert post(session, messages_url, payload).status_code == 500
    sandbox.inject("server_error", method=None, path_suffix="/oauth2/token")
    token = requests.post(sandbox.token_url, data={"grant_type": "client_credentials"}, timeout=10)
    assert token.status_code == 500


def test_times_none_lasts_until_cleared(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject("queue_full", times=None)
    assert [post(session, messages_url, payload).status_code for _ in range(3)] == [429, 429, 429]
    assert sandbox.pending_faults()[0].times is None
    sandbox.clear_faults()
    assert post(session, messages_url, payload).status_code == 202


def test_faults_are_used_in_order_and_count_down(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject("queue_full", times=2)
    sandbox.inject("server_error")
    assert [f.times for f in sandbox.pending_faults()] == [2, 1]
    statuses = [post(session, messages_url, payload).status_code for _ in range(4)]
    assert statuses == [429, 429, 500, 202]
    assert sandbox.pending_faults() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "explode"}, "unknown fault kind 'explode'"),
        ({"kind": "delay"}, "a 'delay' fault needs a 'delay' in seconds greater than 0"),
        ({"kind": "drop", "times": 0}, "'times' must be a positive whole number"),
        ({"kind": "drop", "delay": -1}, "'delay' must not be negative"),
        ({"kind": "server_error", "status": 1000}, "'status' must be an HTTP status code"),
    ],
)
def test_bad_faults_are_refused_with_a_reason(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault(**options)


def test_inject_takes_a_fault_or_keywords_not_both(sandbox: Sandbox) -> None:
    with pytest.raises(TypeError):
        sandbox.inject(Fault("drop"), times=2)
    assert sandbox.inject("DROP".lower(), times=2) == Fault(FaultKind.DROP, times=2)


def test_reset_forgets_everything(
    sandbox: Sandbox, session: requests.Session, messages_url: str, media_url: str, payload: dict[str, Any]
) -> None:
    post(session, messages_url, payload)
    session.put(f"{media_url}/a.png", data=b"a", headers={"Content-Type": "image/png"}, timeout=10)
    sandbox.inject("drop")
    sandbox.reset()
    assert (sandbox.accepted_messages(), sandbox.requests.all(), sandbox.pending_faults()) == ([], [], [])
    assert sandbox.media("a.png") is None
    assert post(session, messages_url, payload).status_code == 202


def test_reject_fault_answers_400_with_the_given_field_errors() -> None:
    import requests

    from bwdesk.sandbox import Fault, FaultKind, Sandbox

    with Sandbox(status_step=0) as sandbox:
        sandbox.inject(Fault(FaultKind.REJECT, field_errors=(("to", "'+19195550123' is not allowed"),)))
        body = {
            "applicationId": sandbox.application_id,
            "to": ["+19195550123"],
            "from": sandbox.numbers[0],
            "text": "x",
        }
        answer = requests.post(
            f"{sandbox.api_base}/users/{sandbox.account_id}/messages",
            json=body,
            auth=(sandbox.username, sandbox.password),
            timeout=10,
        )
        assert answer.status_code == 400
        assert answer.json() == {
            "type": "request-validation",
            "description": "Your request could not be accepted",
            "fieldErrors": [{"fieldName": "to", "description": "'+19195550123' is not allowed"}],
        }
        assert sandbox.accepted_messages() == []
        # From another process, through the control endpoint, the same fault in JSON.
        fault = requests.post(
            f"{sandbox.base_url}/_sandbox/faults",
            json={"kind": "reject", "field_errors": [{"fieldName": "text", "description": "nope"}]},
            timeout=10,
        )
        assert fault.status_code in (200, 201)
        again = requests.post(
            f"{sandbox.api_base}/users/{sandbox.account_id}/messages",
            json=body,
            auth=(sandbox.username, sandbox.password),
            timeout=10,
        )
        assert again.json()["fieldErrors"] == [{"fieldName": "text", "description": "nope"}]


def test_blocklisted_fault_answers_400_naming_error_4482(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.inject(Fault(FaultKind.BLOCKLISTED))
    answer = post(session, messages_url, payload)
    assert answer.status_code == 400
    assert answer.json()["type"] == "rejected-to-number-in-blacklist"  # the name of 4482 in Bandwidth's table
    assert sandbox.accepted_messages() == []
    assert post(session, messages_url, payload).status_code == 202  # fired once
