"""OAuth2 client credentials: the token endpoint, Bearer tokens on the messaging API, and their expiry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bwdesk.sandbox import ManualClock, Sandbox


@pytest.fixture
def short_tokens(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(status_step=0, clock=clock, token_lifetime=120) as running:
        yield running


def get_token(sandbox: Sandbox, **overrides: Any) -> requests.Response:
    options: dict[str, Any] = {
        "auth": (sandbox.client_id, sandbox.client_secret),
        "data": {"grant_type": "client_credentials"},
        "timeout": 10,
    }
    options.update(overrides)
    return requests.post(sandbox.token_url, **options)


def send_with(sandbox: Sandbox, token: str) -> requests.Response:
    payload = {
        "applicationId": sandbox.application_id,
        "to": ["+19195550123"],
        "from": sandbox.numbers[0],
        "text": "x",
    }
    return requests.post(
        f"{sandbox.api_base}/users/{sandbox.account_id}/messages",
        json=payload,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_client_credentials_grant(sandbox: Sandbox) -> None:
    assert sandbox.token_url.endswith("/api/v1/oauth2/token")
    response = get_token(sandbox)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    assert send_with(sandbox, body["access_token"]).status_code == 202
    assert get_token(sandbox).json()["access_token"] != body["access_token"]


def test_tokens_expire_after_their_lifetime(short_tokens: Sandbox, clock: ManualClock) -> None:
    body = get_token(short_tokens).json()
    assert body["expires_in"] == 120
    clock.advance(119)
    assert send_with(short_tokens, body["access_token"]).status_code == 202
    clock.advance(1)
    expired = send_with(short_tokens, body["access_token"])
    assert expired.status_code == 401
    assert expired.json() == {"type": "unauthorized", "description": "Authentication Failed"}
    assert send_with(short_tokens, get_token(short_tokens).json()["access_token"]).status_code == 202


def test_expire_tokens_on_demand(sandbox: Sandbox) -> None:
    token = get_token(sandbox).json()["access_token"]
    assert sandbox.expire_tokens() == 1
    assert send_with(sandbox, token).status_code == 401
    fresh = get_token(sandbox).json()["access_token"]
    assert send_with(sandbox, fresh).status_code == 202
    sandbox.reset()
    assert send_with(sandbox, fresh).status_code == 401


@pytest.mark.parametrize(
    "auth",
    [("sandbox-client", "wrong"), ("sandbox-user", "sandbox-password"), None],
    ids=["wrong secret", "messaging credentials", "none"],
)
def test_bad_client_credentials(sandbox: Sandbox, auth: tuple[str, str] | None) -> None:
    response = get_token(sandbox, auth=auth)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"data": {}}, "invalid_request"),
        ({"data": {"grant_type": "password"}}, "unsupported_grant_type"),
        ({"data": None, "json": {"grant_type": "client_credentials"}}, "invalid_request"),
    ],
)
def test_bad_grant(sandbox: Sandbox, options: dict[str, Any], error: str) -> None:
    response = get_token(sandbox, **options)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_token_endpoint_takes_post_only(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.token_url, auth=(sandbox.client_id, sandbox.client_secret), timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_token_requests_are_recorded_without_secrets(sandbox: Sandbox) -> None:
    token = get_token(sandbox).json()["access_token"]
    (recorded,) = sandbox.requests.matching("POST", "/oauth2/token")
    assert recorded.status == 200
    assert recorded.header("Authorization") == "Basic [redacted]"
    assert recorded.json is None
    dump = str(recorded.to_json())
    assert sandbox.client_secret not in dump
    assert token not in dump
