"""`BandwidthClient.send` against a misbehaving server: every outcome of docs/design.md §6 and how many POSTs it took.

Each test scripts the fault server, sends once and checks both what the client concluded and what the
server actually received: the number of POSTs is the thing that protects customers from duplicates.
"""

from __future__ import annotations

import email.utils
import socket

import pytest
from faultserver import (
    ACCOUNT_ID,
    FakeTime,
    FaultServer,
    Reply,
    accepted,
    bandwidth_error,
    drop,
    garbage,
    html_502,
    malformed_json,
    refused_port,
    slow,
    too_many,
)

from bwdesk import __version__
from bwdesk.core.bandwidth import BandwidthClient, Timeouts
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.outcome import FieldError, SendState

PASSWORD = "pw-7f3c9e1a-never-show"
PAYLOAD = {
    "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
    "to": ["+19195550123"],
    "from": "+19195550100",
    "text": "Your technician is on the way",
}
READ_TIMEOUT = 0.3


@pytest.fixture
def server():
    with FaultServer() as s:
        yield s


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_client(base: str, fake: FakeTime, **kwargs) -> BandwidthClient:
    kwargs.setdefault("timeouts", Timeouts(connect=1.0, read=READ_TIMEOUT))
    return BandwidthClient(
        base,
        ACCOUNT_ID,
        BasicCredentials("api-user", PASSWORD),
        clock=fake.clock,
        sleep=fake.sleep,
        random=fake.random,
        **kwargs,
    )


@pytest.fixture
def client(server: FaultServer, fake: FakeTime):
    c = make_client(server.api_base, fake)
    yield c
    c.close()


def posts(server: FaultServer) -> int:
    return server.count("POST", server.messages_path)


# --- accepted -----------------------------------------------------------------------------------------


def test_202_is_accepted_with_id_segments_and_time(server, client) -> None:
    server.on("POST", server.messages_path, accepted("msg-1", segments=2))
    result = client.send(PAYLOAD)
    assert result.state is SendState.ACCEPTED
    assert (result.message_id, result.segments, result.http_status) == ("msg-1", 2, 202)
    assert result.accepted_time == "2026-11-27T10:15:02.123Z"
    assert result.attempts == 1
    assert result.response["id"] == "msg-1"
    assert posts(server) == 1


@pytest.mark.parametrize("count", [-55254891, 0, 10**9, True, "2"])
def test_a_segment_count_that_cannot_be_one_is_left_out(server, client, count) -> None:
    server.on("POST", server.messages_path, accepted("msg-1", segments=count))
    result = client.send(PAYLOAD)
    assert result.state is SendState.ACCEPTED and result.message_id == "msg-1" and result.segments is None


def test_the_post_carries_json_auth_and_user_agent(server, client) -> None:
    server.on("POST", server.messages_path, accepted())
    client.send(PAYLOAD)
    (request,) = server.received("POST", server.messages_path)
    assert request.json() == PAYLOAD
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"bwdesk/{__version__}"
    import base64

    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"api-user:{PASSWORD}".encode()).decode()
    )


def test_non_ascii_text_survives_the_trip(server, client) -> None:
    server.on("POST", server.messages_path, accepted())
    payload = {**PAYLOAD, "text": "Grüße 👋 — “quoted”"}
    assert client.send(payload).state is SendState.ACCEPTED
    assert server.received("POST")[0].json()["text"] == "Grüße 👋 — “quoted”"


def test_keep_alive_reuses_one_connection(server, client) -> None:
    server.on("POST", server.messages_path, accepted(), repeat_last=True)
    for _ in range(3):
        assert client.send(PAYLOAD).state is SendState.ACCEPTED
    assert posts(server) == 3
    assert server.connections == 1


# --- unknown: it may have reached Bandwidth -------------------------------------------------------------


def test_drop_after_reading_the_request_is_unknown_after_one_post(server, client, fake) -> None:
    server.on("POST", server.messages_path, drop(), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.UNKNOWN
    assert result.attempts == 1
    assert "closed the connection" in (result.detail or "")
    assert posts(server) == 1  # never retried: a second POST could text the customer twice
    assert fake.sleeps == []


def test_reset_after_reading_the_request_is_unknown_after_one_post(server, client) -> None:
    server.on("POST", server.messages_path, drop(reset=True), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.UNKNOWN
    assert posts(server) == 1


def test_drop_on_a_reused_keep_alive_connection_is_still_unknown(server, client) -> None:
    # The stale-connection race looks exactly like "read the request, then died": it stays unknown.
    server.on("POST", server.messages_path, accepted(), drop())
    assert client.send(PAYLOAD).state is SendState.ACCEPTED
    second = client.send(PAYLOAD)
    assert second.state is SendState.UNKNOWN
    assert second.attempts == 1
    assert posts(server) == 2
    assert server.connections == 1  # the drop happened on the reused connection


def test_slow_reply_past_the_read_timeout_is_unknown_after_one_post(server, client) -> None:
    server.on("POST", server.messages_path, slow(5.0), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.UNKNOWN
    assert result.attempts == 1
    assert f"no answer within {READ_TIMEOUT:g} s" in (result.detail or "")
    assert posts(server) == 1


def test_html_502_from_a_proxy_is_unknown_after_one_post(server, client) -> None:
    server.on("POST", server.messages_path, html_502(), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.UNKNOWN
    assert result.http_status == 502
    assert result.error is not None and "502 Bad Gateway" in result.error.description
    assert posts(server) == 1


def test_malformed_json_5xx_is_unknown_after_one_post(server, client) -> None:
    server.on("POST", server.messages_path, malformed_json(500), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.UNKNOWN
    assert result.http_status == 500
    assert posts(server) == 1


@pytest.mark.parametrize("body", [b"", b"\x00\xffnot json", b"[]", b'{"segmentCount": 1}'])
def test_202_without_a_readable_id_is_unknown(server, client, body: bytes) -> None:
    server.on("POST", server.messages_path, Reply(202, body, {"Content-Type": "application/json"}))
    result = client.send(PAYLOAD)
    assert result.state is SendState.UNKNOWN
    assert result.http_status == 202
    assert result.message_id is None
    assert posts(server) == 1


def test_202_with_garbage_is_unknown(server, client) -> None:
    server.on("POST", server.messages_path, garbage(202))
    assert client.send(PAYLOAD).state is SendState.UNKNOWN


@pytest.mark.parametrize("status", [200, 201, 204])
def test_an_undocumented_success_status_is_unknown(server, client, status: int) -> None:
    server.on("POST", server.messages_path, Reply(status, {"id": "x"}))
    assert client.send(PAYLOAD).state is SendState.UNKNOWN
    assert posts(server) == 1


def test_a_redirect_is_not_followed_and_is_unknown(server, client) -> None:
    with FaultServer() as elsewhere:
        elsewhere.script(accepted())
        server.on("POST", server.messages_path, Reply(307, b"", {"Location": f"{elsewhere.url}/steal"}))
        result = client.send(PAYLOAD)
        assert result.state is SendState.UNKNOWN
        assert result.http_status == 307
        assert elsewhere.count() == 0  # the credentials never went to another host
    assert posts(server) == 1


def test_a_server_that_accepts_but_never_reads_is_unknown() -> None:
    # The kernel queues our request even though nobody reads it: it may still be processed later.
    fake = FakeTime()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        client = make_client(f"http://127.0.0.1:{port}/api/v2", fake)
        result = client.send(PAYLOAD)
        client.close()
    assert result.state is SendState.UNKNOWN
    assert result.attempts == 1
    assert fake.sleeps == []


# --- rejected: Bandwidth answered in its own words --------------------------------------------------------


def test_500_with_a_bandwidth_body_is_rejected_after_one_post(server, client) -> None:
    server.on(
        "POST",
        server.messages_path,
        bandwidth_error(500, "internal-server-error", "Something went wrong"),
        accepted(),
    )
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.http_status == 500
    assert result.error is not None
    assert (result.error.type, result.error.description) == ("internal-server-error", "Something went wrong")
    assert posts(server) == 1


def test_400_keeps_field_errors(server, client) -> None:
    server.on(
        "POST",
        server.messages_path,
        bandwidth_error(
            400,
            "request-validation",
            "Your request could not be accepted",
            [("to", "'+1invalid' must be replaced with a valid E164 formatted telephone number")],
        ),
    )
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.error is not None
    assert result.error.http_status == 400
    assert result.error.field_errors == (
        FieldError("to", "'+1invalid' must be replaced with a valid E164 formatted telephone number"),
    )
    assert result.error.to_json()["field_errors"][0]["field"] == "to"


@pytest.mark.parametrize("status", [401, 403, 404, 405, 406, 415])
def test_documented_error_statuses_are_rejected_without_retry(server, client, fake, status: int) -> None:
    server.on(
        "POST", server.messages_path, bandwidth_error(status, "some-type", "Some description"), accepted()
    )
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.http_status == status
    assert posts(server) == 1
    assert fake.sleeps == []


def test_spring_style_404_is_rejected_with_its_message(server, client) -> None:
    body = {
        "timestamp": "2019-09-09T19:02:19.253+0000",
        "status": 404,
        "error": "Not Found",
        "message": "Not Found",
        "path": "/api/v2/users/9900000/messages",
    }
    server.on("POST", server.messages_path, Reply(404, body))
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.error is not None
    assert (
        "Not Found" in result.error.description
        and "/api/v2/users/9900000/messages" in result.error.description
    )


def test_a_4xx_page_from_a_proxy_is_rejected_not_unknown(server, client) -> None:
    # A client error means whoever answered refused the request: it was not processed.
    page = "<html><head><title>Blocked by policy</title></head><body>no</body></html>"
    server.on("POST", server.messages_path, Reply(403, page, {"Content-Type": "text/html"}))
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.error is not None and "Blocked by policy" in result.error.description
    assert posts(server) == 1


# --- 429: the only status that is retried -----------------------------------------------------------------


def test_429_then_202_is_accepted_after_two_posts(server, client, fake) -> None:
    server.on("POST", server.messages_path, too_many(), accepted("after-429"))
    result = client.send(PAYLOAD)
    assert result.state is SendState.ACCEPTED
    assert result.message_id == "after-429"
    assert result.attempts == 2
    assert posts(server) == 2
    assert fake.sleeps == [0.5]  # 1 s backoff, jitter factor 0.5 + random() with random() = 0


def test_429_retry_after_seconds_is_honoured(server, client, fake) -> None:
    server.on("POST", server.messages_path, too_many(retry_after=7), accepted())
    assert client.send(PAYLOAD).state is SendState.ACCEPTED
    assert fake.sleeps == [7.0]


def test_429_retry_after_jitter_never_waits_less_than_asked(server, fake) -> None:
    fake.random_value = 0.999
    client = make_client(server.api_base, fake)
    server.on("POST", server.messages_path, too_many(retry_after=10), accepted())
    assert client.send(PAYLOAD).state is SendState.ACCEPTED
    (waited,) = fake.sleeps
    assert 10.0 <= waited <= 12.0


def test_429_retry_after_http_date_is_measured_against_the_answer_date(server, client, fake) -> None:
    server_now = 1_800_000_000
    headers = {"Date": email.utils.formatdate(server_now, usegmt=True)}
    retry_at = email.utils.formatdate(server_now + 12, usegmt=True)
    server.on("POST", server.messages_path, too_many(retry_after=retry_at, headers=headers), accepted())
    assert client.send(PAYLOAD).state is SendState.ACCEPTED
    assert fake.sleeps == [12.0]


def test_429_retry_after_http_date_without_a_date_header_uses_the_wall_clock(server, fake) -> None:
    client = make_client(server.api_base, fake, wall_clock=lambda: 1_800_000_000.0)
    retry_at = email.utils.formatdate(1_800_000_000 + 4, usegmt=True)
    server.on("POST", server.messages_path, too_many(retry_after=retry_at), accepted())
    assert client.send(PAYLOAD).state is SendState.ACCEPTED
    assert fake.sleeps == [4.0]


def test_unreadable_retry_after_falls_back_to_backoff(server, client, fake) -> None:
    server.on("POST", server.messages_path, too_many(retry_after="soon"), accepted())
    assert client.send(PAYLOAD).state is SendState.ACCEPTED
    assert fake.sleeps == [0.5]


@pytest.mark.parametrize("value", ["0", "-5", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_retry_after_of_nothing_still_waits_the_ordinary_backoff(server, client, fake, value) -> None:
    """Retry-After: 0 (or negative, or a date gone by) is no reason to hammer the API."""
    server.on(
        "POST", server.messages_path, too_many(retry_after=value), too_many(retry_after=value), too_many()
    )
    result = client.send(PAYLOAD)
    assert fake.sleeps == [0.5, 1.0]  # the same as with no Retry-After at all
    assert result.state is SendState.REJECTED and result.error is not None
    assert "wait 0 s" not in result.error.description and "Still refused after 3" in result.error.description


def test_429_three_times_is_rejected_after_three_posts_with_growing_backoff(server, client, fake) -> None:
    server.on("POST", server.messages_path, too_many(), too_many(), too_many(), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.http_status == 429
    assert result.attempts == 3
    assert posts(server) == 3
    assert fake.sleeps == [0.5, 1.0]
    assert result.error is not None and result.error.type == "max-message-queue-size-exceeded"
    assert "queue" in result.error.description


def test_retry_after_beyond_the_budget_is_rejected_with_retry_after(server, client, fake) -> None:
    server.on("POST", server.messages_path, too_many(retry_after=120), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED
    assert result.retry_after == 120.0
    assert result.attempts == 1
    assert posts(server) == 1
    assert fake.sleeps == []
    assert result.error is not None and "2 min" in result.error.description


def test_the_budget_counts_time_already_spent(server, client, fake) -> None:
    server.on("POST", server.messages_path, too_many(retry_after=20), too_many(retry_after=20), accepted())
    result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED  # 20 s waited, another 20 s would pass the 30 s budget
    assert result.retry_after == 20.0
    assert fake.sleeps == [20.0]
    assert posts(server) == 2


def test_max_attempts_is_configurable(server, fake) -> None:
    client = make_client(server.api_base, fake, max_attempts=1)
    server.on("POST", server.messages_path, too_many(), accepted())
    assert client.send(PAYLOAD).state is SendState.REJECTED
    assert posts(server) == 1


# --- failed: it certainly never reached Bandwidth -----------------------------------------------------------


def test_nothing_listening_is_failed_after_three_connection_attempts(fake) -> None:
    client = make_client(f"http://127.0.0.1:{refused_port()}/api/v2", fake)
    result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert result.attempts == 0  # no POST was made
    assert len(fake.sleeps) == 2  # three connection attempts, two waits between them
    assert fake.sleeps == [0.25, 0.5]
    assert "after 3 attempts" in (result.detail or "")
    assert "refused" in (result.detail or "")


def test_connect_failure_then_success_is_accepted_after_one_post(fake) -> None:
    port = refused_port()
    started: list[FaultServer] = []

    def sleep_then_start_listening(seconds: float) -> None:
        fake.sleep(seconds)
        if not started:
            started.append(FaultServer(port=port).on("POST", FaultServer.messages_path, accepted("late")))
            started[0].start()

    client = BandwidthClient(
        f"http://127.0.0.1:{port}/api/v2",
        ACCOUNT_ID,
        BasicCredentials("api-user", PASSWORD),
        timeouts=Timeouts(connect=1.0, read=READ_TIMEOUT),
        clock=fake.clock,
        sleep=sleep_then_start_listening,
        random=fake.random,
    )
    try:
        result = client.send(PAYLOAD)
        assert result.state is SendState.ACCEPTED
        assert result.message_id == "late"
        assert result.attempts == 1  # one POST; the refused connection sent nothing
        assert fake.sleeps == [0.25]
        assert started[0].count("POST") == 1
    finally:
        for s in started:
            s.stop()


def test_connect_retries_stay_within_the_budget(fake) -> None:
    client = make_client(f"http://127.0.0.1:{refused_port()}/api/v2", fake, retry_budget=0.1)
    result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert fake.sleeps == []  # the first backoff (0.25 s) would already pass the 0.1 s budget


def test_tls_to_a_plain_http_server_fails_without_sending_anything(server, fake) -> None:
    client = make_client(server.api_base.replace("http://", "https://"), fake)
    result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert "TLS" in (result.detail or "")
    assert server.count() == 0
    assert server.unreadable == 3  # three handshakes, no HTTP request


def test_tls_handshake_timeout_is_failed_not_unknown() -> None:
    # A timeout while setting up TLS surfaces as a *read* timeout from urllib3; the wire tracking
    # knows no request byte was written, so it is `failed` (and safe to retry).
    fake = FakeTime()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        client = make_client(
            f"https://127.0.0.1:{port}/api/v2", fake, timeouts=Timeouts(connect=0.2, read=5.0), max_attempts=1
        )
        result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert "secure connection" in (result.detail or "")


def test_a_closed_client_fails_without_sending(server, client) -> None:
    server.on("POST", server.messages_path, accepted())
    client.close()
    result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED
    assert posts(server) == 0


# --- connection hygiene -------------------------------------------------------------------------------------


def test_a_connection_idle_too_long_is_not_reused(server, client, fake) -> None:
    server.on("POST", server.messages_path, accepted(), repeat_last=True)
    client.send(PAYLOAD)
    fake.advance(5)
    client.send(PAYLOAD)
    assert server.connections == 1
    fake.advance(client.max_idle + 1)
    client.send(PAYLOAD)
    assert server.connections == 2
