"""OAuth2 client credentials: the token is fetched once, cached until shortly before it expires, refreshed
once on a 401, shared safely between threads, and a token that cannot be had means `failed`."""

from __future__ import annotations

import base64
import threading
from urllib.parse import parse_qs

import pytest
from faultserver import (
    ACCOUNT_ID,
    FakeTime,
    FaultServer,
    Reply,
    accepted,
    bandwidth_error,
    drop,
    refused_port,
    token,
)

from bwdesk.core.bandwidth import BandwidthClient, CheckResult, Timeouts
from bwdesk.core.credentials import OAuth2Credentials
from bwdesk.core.errors import NetworkError, Unauthorized
from bwdesk.core.outcome import SendState

CLIENT_SECRET = "cs-51d0a2-very-secret"
PAYLOAD = {"applicationId": "app", "to": ["+19195550123"], "from": "+19195550100", "text": "hi"}
UNAUTHORIZED = bandwidth_error(401, "unauthorized", "Authentication Failed")


@pytest.fixture
def server():
    with FaultServer() as s:
        yield s


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_client(server: FaultServer, fake: FakeTime, token_url: str | None = None, **kw) -> BandwidthClient:
    return BandwidthClient(
        server.api_base,
        ACCOUNT_ID,
        OAuth2Credentials("client-1", CLIENT_SECRET),
        token_url=token_url or server.token_url,
        timeouts=Timeouts(connect=1.0, read=0.3),
        clock=fake.clock,
        sleep=fake.sleep,
        random=fake.random,
        **kw,
    )


def bearer(server: FaultServer, index: int) -> str:
    return server.received("POST", server.messages_path)[index].headers["authorization"]


def test_token_request_is_client_credentials_with_basic_auth(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A"))
    server.on("POST", server.messages_path, accepted())
    result = make_client(server, fake).send(PAYLOAD)
    assert result.state is SendState.ACCEPTED
    (request,) = server.received("POST", server.token_path)
    assert parse_qs(request.body.decode()) == {"grant_type": ["client_credentials"]}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"client-1:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert bearer(server, 0) == "Bearer tok-A"


def test_token_is_cached_between_sends(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A"), token("tok-B"))
    server.on("POST", server.messages_path, accepted(), repeat_last=True)
    client = make_client(server, fake)
    for _ in range(3):
        assert client.send(PAYLOAD).state is SendState.ACCEPTED
    assert server.count("POST", server.token_path) == 1
    assert {bearer(server, i) for i in range(3)} == {"Bearer tok-A"}


def test_token_is_renewed_a_minute_before_it_expires(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A", expires_in=3600), token("tok-B", expires_in=3600))
    server.on("POST", server.messages_path, accepted(), repeat_last=True)
    client = make_client(server, fake)
    client.send(PAYLOAD)
    fake.advance(3600 - 61)
    client.send(PAYLOAD)
    assert server.count("POST", server.token_path) == 1
    fake.advance(2)  # now within the last 60 s of the token's life
    client.send(PAYLOAD)
    assert server.count("POST", server.token_path) == 2
    assert bearer(server, 2) == "Bearer tok-B"


def test_expires_in_as_a_string_is_understood(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A", expires_in="600"), token("tok-B"))
    server.on("POST", server.messages_path, accepted(), repeat_last=True)
    client = make_client(server, fake)
    client.send(PAYLOAD)
    fake.advance(600 - 59)
    client.send(PAYLOAD)
    assert server.count("POST", server.token_path) == 2


def test_401_on_a_cached_token_fetches_a_new_one_and_sends_once_more(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A"), token("tok-B"))
    server.on("POST", server.messages_path, accepted("first"), UNAUTHORIZED, accepted("second"))
    client = make_client(server, fake)
    assert client.send(PAYLOAD).message_id == "first"
    result = client.send(PAYLOAD)
    assert result.state is SendState.ACCEPTED
    assert result.message_id == "second"
    assert result.attempts == 2
    assert server.count("POST", server.token_path) == 2
    assert [bearer(server, i) for i in range(3)] == ["Bearer tok-A", "Bearer tok-A", "Bearer tok-B"]
    assert fake.sleeps == []


def test_a_401_is_refreshed_only_once(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A"), token("tok-B"), token("tok-C"))
    server.on("POST", server.messages_path, accepted(), UNAUTHORIZED, UNAUTHORIZED, accepted())
    client = make_client(server, fake)
    client.send(PAYLOAD)
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.http_status == 401
    assert server.count("POST", server.messages_path) == 3  # the first send, then two for the second
    assert server.count("POST", server.token_path) == 2


def test_401_on_a_token_fetched_just_now_is_rejected_without_another_post(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A"), token("tok-B"))
    server.on("POST", server.messages_path, UNAUTHORIZED, accepted())
    result = make_client(server, fake).send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.http_status == 401
    assert server.count("POST", server.messages_path) == 1
    assert server.count("POST", server.token_path) == 1


def test_token_endpoint_refusing_the_secret_is_failed_with_no_post(server, fake) -> None:
    server.on("POST", server.token_path, Reply(401, {"error": "invalid_client"}))
    result = make_client(server, fake).send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert result.attempts == 0
    assert result.error is not None and "client ID or secret" in result.error.description
    assert server.count("POST", server.messages_path) == 0


def test_token_endpoint_unreachable_is_failed_after_retries(server, fake) -> None:
    client = make_client(server, fake, token_url=f"http://127.0.0.1:{refused_port()}/api/v1/oauth2/token")
    result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert result.attempts == 0
    assert fake.sleeps == [0.25, 0.5]
    assert "OAuth2 token" in (result.error.description if result.error else "")
    assert server.count("POST", server.messages_path) == 0


def test_token_endpoint_dropping_the_request_is_failed_without_retry(server, fake) -> None:
    server.on("POST", server.token_path, drop(), token())
    result = make_client(server, fake).send(PAYLOAD)
    assert result.state is SendState.FAILED  # the message itself certainly was not sent
    assert server.count("POST", server.token_path) == 1
    assert server.count("POST", server.messages_path) == 0


def test_token_without_access_token_is_failed(server, fake) -> None:
    server.on("POST", server.token_path, Reply(200, {"token_type": "Bearer"}))
    result = make_client(server, fake).send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert server.count("POST", server.messages_path) == 0


def test_threads_share_one_token_fetch(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A"), token("tok-B"), token("tok-C"))
    server.on("POST", server.messages_path, accepted(), repeat_last=True)
    client = make_client(server, fake)
    barrier = threading.Barrier(6)
    results = []

    def worker() -> None:
        barrier.wait()
        results.append(client.send(PAYLOAD))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert [r.state for r in results] == [SendState.ACCEPTED] * 6
    assert server.count("POST", server.token_path) == 1
    assert server.count("POST", server.messages_path) == 6


def test_other_calls_refresh_an_expired_token_once_too(server, fake) -> None:
    server.on("POST", server.token_path, token("tok-A"), token("tok-B"))
    server.on("GET", server.media_list_path, Reply(200, []), UNAUTHORIZED, Reply(200, []))
    client = make_client(server, fake)
    assert client.list_media() == []
    assert client.list_media() == []
    assert server.count("POST", server.token_path) == 2


def test_test_connection_reports_wrong_client_credentials(server, fake) -> None:
    server.on("POST", server.token_path, Reply(401, {"error": "invalid_client"}))
    check = make_client(server, fake).test_connection()
    assert check.result is CheckResult.WRONG_CREDENTIALS
    assert "client ID and secret" in check.message


def test_non_send_calls_raise_when_no_token_can_be_had(server, fake) -> None:
    server.on("POST", server.token_path, Reply(400, {"error": "invalid_client"}))
    with pytest.raises(Unauthorized):
        make_client(server, fake).list_media()
    client = make_client(server, fake, token_url=f"http://127.0.0.1:{refused_port()}/token")
    with pytest.raises(NetworkError) as caught:
        client.list_media()
    assert caught.value.sent is False
