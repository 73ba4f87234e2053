"""HTTP behaviour: auth (401), account (403), content type (415), unknown path (404), method (405), Accept (406),
keep-alive with correct framing, chunked bodies, and the request log's redaction."""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bwdesk.sandbox import Sandbox

UNAUTHORIZED = {"type": "unauthorized", "description": "Authentication Failed"}
FORBIDDEN = {"type": "forbidden", "description": "Access Denied"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"sandbox-user:wrong").decode(),
        "Basic " + base64.b64encode(b"someone:sandbox-password").decode(),
        "Basic " + base64.b64encode(b"sandbox-user").decode(),
        "Basic !!not-base64!!",
        "Bearer not-a-token-we-issued",
        "Digest username=sandbox-user",
    ],
    ids=["none", "wrong password", "wrong user", "no colon", "not base64", "unknown bearer", "other scheme"],
)
@pytest.mark.parametrize(("method", "suffix"), [("POST", "messages"), ("GET", "messages"), ("GET", "media")])
def test_bad_credentials_get_401(
    sandbox: Sandbox, payload: dict[str, Any], authorization: str | None, method: str, suffix: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    url = f"{sandbox.api_base}/users/{sandbox.account_id}/{suffix}"
    response = requests.request(
        method, url, json=payload, headers=headers, params={"messageId": "x"}, timeout=10
    )
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert sandbox.accepted_messages() == []


def test_wrong_account_gets_403(sandbox: Sandbox, session: requests.Session, payload: dict[str, Any]) -> None:
    for url in (
        f"{sandbox.api_base}/users/1234567/messages",
        f"{sandbox.api_base}/users/1234567/media",
        f"{sandbox.api_base}/users/1234567/media/a.png",
    ):
        response = (
            session.post(url, json=payload, timeout=10) if url.endswith("messages") else session.get(url)
        )
        assert response.status_code == 403, url
        assert response.json() == FORBIDDEN
    assert sandbox.accepted_messages() == []


def test_credentials_are_checked_before_the_account(sandbox: Sandbox, payload: dict[str, Any]) -> None:
    response = requests.post(f"{sandbox.api_base}/users/1234567/messages", json=payload, timeout=10)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("text/plain;charset=UTF-8", "text/plain;charset=UTF-8"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        (None, "application/octet-stream"),
    ],
)
def test_wrong_content_type_gets_the_documented_415(
    sandbox: Sandbox,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    content_type: str | None,
    shown: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = session.post(messages_url, data=json.dumps(payload).encode(), headers=headers, timeout=10)
    assert response.status_code == 415
    assert response.json() == {
        "type": "unsupported-content-type",
        "description": f"Content type '{shown}' not supported. Please use 'application/json'",
    }
    assert sandbox.accepted_messages() == []


def test_json_with_charset_is_fine(
    session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    response = session.post(
        messages_url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=10,
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/users/9900000/messages/happy",
        "/api/v2/users/9900000/media/",
        "/api/v2/users/9900000/calls",
        "/api/v2/messages",
        "/api/v1/oauth2/other",
        "/",
    ],
)
def test_unknown_path_gets_springs_404(sandbox: Sandbox, session: requests.Session, path: str) -> None:
    response = session.get(sandbox.base_url + path, timeout=10)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert body["status"] == 404
    assert body["error"] == body["message"] == "Not Found"
    assert body["path"] == path
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", body["timestamp"])


@pytest.mark.parametrize(
    ("method", "suffix", "allow"),
    [
        ("PATCH", "messages", "GET, POST"),
        ("DELETE", "messages", "GET, POST"),
        ("PUT", "messages", "GET, POST"),
        ("POST", "media", "GET"),
        ("DELETE", "media", "GET"),
        ("POST", "media/a.png", "GET, PUT, DELETE"),
    ],
)
def test_wrong_method_gets_405(
    sandbox: Sandbox, session: requests.Session, method: str, suffix: str, allow: str
) -> None:
    response = session.request(method, f"{sandbox.api_base}/users/{sandbox.account_id}/{suffix}", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.json() == {
        "type": "method-not-allowed",
        "description": f"Request method '{method}' is not supported",
    }


def test_unacceptable_accept_gets_406(session: requests.Session, messages_url: str) -> None:
    response = session.get(
        messages_url, params={"messageId": "x"}, headers={"Accept": "text/html"}, timeout=10
    )
    assert response.status_code == 406
    assert response.json() == {
        "type": "not-acceptable",
        "description": "Could not find acceptable representation",
    }
    ok = session.get(messages_url, params={"messageId": "x"}, headers={"Accept": "application/*"}, timeout=10)
    assert ok.status_code == 200


@pytest.fixture
def connection(sandbox: Sandbox) -> Iterator[http.client.HTTPConnection]:
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    yield conn
    conn.close()


def test_keep_alive_and_content_length(
    sandbox: Sandbox, connection: http.client.HTTPConnection, payload: dict[str, Any]
) -> None:
    """Several requests on one connection, each answered with a body of exactly Content-Length bytes."""
    auth = basic(sandbox.username, sandbox.password)
    path = f"/api/v2/users/{sandbox.account_id}/messages"
    statuses = []
    sockets = set()
    for body in (payload, {"to": []}, payload):
        connection.request(
            "POST", path, json.dumps(body), {"Authorization": auth, "Content-Type": "application/json"}
        )
        sockets.add(id(connection.sock))
        response = connection.getresponse()
        data = response.read()
        assert response.version == 11
        assert int(response.headers["Content-Length"]) == len(data)
        assert not response.will_close
        json.loads(data)
        statuses.append(response.status)
    connection.request("GET", "/nowhere")
    response = connection.getresponse()
    assert int(response.headers["Content-Length"]) == len(response.read())
    statuses.append(response.status)
    assert statuses == [202, 400, 202, 404]
    assert len(sockets) == 1  # never reconnected


def test_204_has_no_body_and_keeps_the_connection(
    sandbox: Sandbox, connection: http.client.HTTPConnection
) -> None:
    auth = basic(sandbox.username, sandbox.password)
    path = f"/api/v2/users/{sandbox.account_id}/media/x.txt"
    connection.request("PUT", path, b"hello", {"Authorization": auth, "Content-Type": "text/plain"})
    response = connection.getresponse()
    assert response.status == 204
    assert response.read() == b""
    connection.request("GET", path, headers={"Authorization": auth})
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b"hello")


def test_head_gives_headers_only(sandbox: Sandbox, session: requests.Session, media_url: str) -> None:
    session.put(f"{media_url}/x.bin", data=b"12345", headers={"Content-Type": "image/png"}, timeout=10)
    response = session.head(f"{media_url}/x.bin", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "5"
    assert response.content == b""


def test_chunked_request_body(session: requests.Session, messages_url: str, payload: dict[str, Any]) -> None:
    encoded = json.dumps(payload).encode()
    chunks = (encoded[i : i + 7] for i in range(0, len(encoded), 7))
    response = session.post(
        messages_url, data=chunks, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 202
    assert response.json()["text"] == payload["text"]


def test_oversized_body_is_refused_and_the_connection_closed(
    sandbox: Sandbox, connection: http.client.HTTPConnection
) -> None:
    connection.putrequest("POST", f"/api/v2/users/{sandbox.account_id}/messages")
    connection.putheader("Content-Length", str(64 * 1024 * 1024))
    connection.putheader("Content-Type", "application/json")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert response.will_close


def test_the_log_never_holds_credentials(
    sandbox: Sandbox, session: requests.Session, messages_url: str
) -> None:
    session.post(messages_url, json={}, timeout=10)
    requests.get(messages_url, headers={"Authorization": "Bearer secret-token-value"}, timeout=10)
    requests.get(messages_url, headers={"Cookie": "session=secret-cookie"}, timeout=10)
    recorded = sandbox.requests.all()
    assert [r.header("Authorization") for r in recorded] == ["Basic [redacted]", "Bearer [redacted]", None]
    assert recorded[2].header("Cookie") == "[redacted]"
    dump = json.dumps([r.to_json() for r in recorded])
    for secret in (sandbox.password, "secret-token-value", "secret-cookie"):
        assert secret not in dump
    b64 = base64.b64encode(f"{sandbox.username}:{sandbox.password}".encode()).decode()
    assert b64 not in dump


def test_ipv6_loopback(payload: dict[str, Any]) -> None:
    try:
        sandbox = Sandbox("::1", status_step=0).start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert sandbox.base_url == f"http://[::1]:{sandbox.port}"
        payload = {**payload, "applicationId": sandbox.application_id}
        response = requests.post(
            f"{sandbox.api_base}/users/{sandbox.account_id}/messages",
            json=payload,
            auth=(sandbox.username, sandbox.password),
            timeout=10,
        )
        assert response.status_code == 202
    finally:
        sandbox.stop()


def test_sandbox_reports_where_it_is_only_while_running() -> None:
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.base_url
    with sandbox:
        assert sandbox.running
        assert sandbox.api_base == f"http://127.0.0.1:{sandbox.port}/api/v2"
        assert sandbox.token_url == f"http://127.0.0.1:{sandbox.port}/api/v1/oauth2/token"
    assert not sandbox.running
    sandbox.stop()  # stopping twice is harmless
