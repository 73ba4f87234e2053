"""Calls other than sending: status lookup, the "did it go out?" search, media, test connection, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from faultserver import (
    ACCOUNT_ID,
    FakeTime,
    FaultServer,
    Reply,
    bandwidth_error,
    drop,
    html_502,
    refused_port,
)

from bwdesk.core.bandwidth import BandwidthClient, CheckResult, MediaItem, MessageStatus, Timeouts
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.errors import (
    ApiRequestError,
    Forbidden,
    InvalidRequest,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
)

ITEM = {
    "messageId": "1589228074636lm4k2je7j7jklbn2",
    "accountId": ACCOUNT_ID,
    "sourceTn": "+19195550100",
    "destinationTn": "+19195550123",
    "messageStatus": "FAILED",
    "messageDirection": "OUTBOUND",
    "messageType": "sms",
    "segmentCount": 1,
    "errorCode": 4720,
    "receiveTime": "2026-11-27T10:15:02.000Z",
    "carrierName": "other",
}


@pytest.fixture
def server():
    with FaultServer() as s:
        yield s


@pytest.fixture
def client(server):
    fake = FakeTime()
    c = BandwidthClient(
        server.api_base,
        ACCOUNT_ID,
        BasicCredentials("api-user", "pw-calls-secret"),
        timeouts=Timeouts(connect=1.0, read=0.3),
        clock=fake.clock,
        sleep=fake.sleep,
        random=fake.random,
    )
    yield c
    c.close()


def listing(*items: dict, next_token: str | None = None) -> Reply:
    page = {"nextPageToken": next_token} if next_token else {}
    return Reply(200, {"totalCount": len(items), "pageInfo": page, "messages": list(items)})


# --- status ----------------------------------------------------------------------------------------------


def test_message_status_looks_up_by_message_id(server, client) -> None:
    server.on("GET", server.messages_path, listing(ITEM))
    status = client.message_status(ITEM["messageId"])
    assert status == MessageStatus(
        message_id=ITEM["messageId"],
        status="FAILED",
        error_code=4720,
        segments=1,
        receive_time="2026-11-27T10:15:02.000Z",
        source="+19195550100",
        destination="+19195550123",
    )
    assert status.is_final
    assert "landline" in status.description
    (request,) = server.received("GET", server.messages_path)
    assert request.query == {"messageId": [ITEM["messageId"]]}


def test_message_status_is_none_when_not_listed_yet(server, client) -> None:
    server.on("GET", server.messages_path, listing())
    assert client.message_status("nope") is None


def test_error_code_zero_means_no_error(server, client) -> None:
    server.on("GET", server.messages_path, listing({**ITEM, "messageStatus": "DELIVERED", "errorCode": 0}))
    status = client.message_status(ITEM["messageId"])
    assert status is not None
    assert status.error_code is None
    assert status.is_final
    assert status.description.startswith("delivered")


def test_sent_is_not_final(server, client) -> None:
    server.on("GET", server.messages_path, listing({**ITEM, "messageStatus": "SENT", "errorCode": 0}))
    status = client.message_status(ITEM["messageId"])
    assert status is not None and not status.is_final


def test_status_lookup_429_raises_rate_limited_with_retry_after(server, client) -> None:
    body = {"type": "rate_limit_exceeded", "description": "Rate limit exceeded."}
    server.on("GET", server.messages_path, Reply(429, body, {"Retry-After": "300"}))
    with pytest.raises(RateLimited) as caught:
        client.message_status("x")
    assert caught.value.retry_after == 300.0
    assert caught.value.http_status == 429
    assert "5 min" in str(caught.value)
    assert server.count("GET") == 1  # the caller schedules the next try, not the client


def test_find_messages_queries_by_numbers_and_time_window(server, client) -> None:
    server.on("GET", server.messages_path, listing(ITEM))
    since = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    until = datetime(2026, 11, 27, 12, 30, 0, 500000, tzinfo=timezone(timedelta(hours=2)))
    found = client.find_messages("+19195550100", "+19195550123", since, until)
    assert [m.message_id for m in found] == [ITEM["messageId"]]
    (request,) = server.received("GET", server.messages_path)
    assert request.query["sourceTn"] == ["+19195550100"]
    assert request.query["destinationTn"] == ["+19195550123"]
    assert request.query["fromDateTime"] == ["2026-11-27T10:00:00.000Z"]
    assert request.query["toDateTime"] == ["2026-11-27T10:30:00.500Z"]
    assert "%2B1919" in request.target  # the + is encoded, as the API requires


def test_find_messages_follows_page_tokens(server, client) -> None:
    second = {**ITEM, "messageId": "second"}
    server.on("GET", server.messages_path, listing(ITEM, next_token="PAGE2"), listing(second))
    found = client.find_messages("+19195550100", "+19195550123", datetime(2026, 11, 27, tzinfo=UTC))
    assert [m.message_id for m in found] == [ITEM["messageId"], "second"]
    requests = server.received("GET", server.messages_path)
    assert "pageToken" not in requests[0].query
    assert requests[1].query["pageToken"] == ["PAGE2"]


def test_a_list_that_is_not_json_is_an_unexpected_response(server, client) -> None:
    server.on("GET", server.messages_path, html_502())
    with pytest.raises(ServerError):
        client.message_status("x")
    server.on("GET", server.messages_path, Reply(200, "<html></html>", {"Content-Type": "text/html"}))
    with pytest.raises(UnexpectedResponse):
        client.message_status("x")


# --- media -------------------------------------------------------------------------------------------


def test_upload_media_puts_the_exact_bytes_and_returns_the_url(server, client) -> None:
    data = bytes(range(256)) * 4
    path = server.media_path("part-photo.png")
    server.on("PUT", path, Reply(204))
    url = client.upload_media("part-photo.png", data, "image/png")
    assert url == f"{server.api_base}/users/{ACCOUNT_ID}/media/part-photo.png"
    (request,) = server.received("PUT", path)
    assert request.body == data
    assert request.headers["content-type"] == "image/png"


def test_media_names_keep_slashes_and_encode_the_rest(server, client) -> None:
    name = "1476207046/0/my photo#1.png"
    encoded = "1476207046/0/my%20photo%231.png"
    server.on("PUT", server.media_path(encoded), Reply(204))
    server.on("DELETE", server.media_path(encoded), Reply(204))
    url = client.upload_media(name, b"x", "image/png")
    assert url.endswith(f"/media/{encoded}")
    client.delete_media(name)
    assert server.count("PUT", server.media_path(encoded)) == 1
    assert server.count("DELETE", server.media_path(encoded)) == 1


@pytest.mark.parametrize("name", ["", "../messages", "a/../../b", "a//b", "./x", "x/"])
def test_media_names_that_could_escape_the_media_path_are_refused(server, client, name: str) -> None:
    with pytest.raises(InvalidRequest):
        client.upload_media(name, b"x", "image/png")
    assert server.count() == 0


def test_upload_needs_a_mime_type(server, client) -> None:
    with pytest.raises(InvalidRequest, match="MIME"):
        client.upload_media("a.png", b"x", "png")
    assert server.count() == 0


def test_list_media_follows_the_continuation_token(server, client) -> None:
    first = [{"content": "https://x/media/a.png", "contentLength": 10, "mediaName": "a.png"}]
    second = [{"content": "https://x/media/b.png", "contentLength": 20, "mediaName": "b.png"}]
    server.on(
        "GET",
        server.media_list_path,
        Reply(200, first, {"Continuation-Token": "TOKEN-2"}),
        Reply(200, second),
    )
    items = client.list_media()
    assert items == [
        MediaItem("a.png", "https://x/media/a.png", 10),
        MediaItem("b.png", "https://x/media/b.png", 20),
    ]
    first_request, second_request = server.received("GET", server.media_list_path)
    assert "continuation-token" not in first_request.headers
    assert second_request.headers["continuation-token"] == "TOKEN-2"


def test_delete_media_accepts_204(server, client) -> None:
    server.on("DELETE", server.media_path("a.png"), Reply(204))
    client.delete_media("a.png")
    assert server.count("DELETE") == 1


def test_missing_media_is_not_found(server, client) -> None:
    server.on(
        "DELETE", server.media_path("a.png"), bandwidth_error(404, "object-not-found", "Object not found")
    )
    with pytest.raises(NotFound) as caught:
        client.delete_media("a.png")
    assert caught.value.error.type == "object-not-found"


# --- errors of non-send calls -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, ApiRequestError), (401, Unauthorized), (403, Forbidden), (404, NotFound), (500, ServerError)],
)
def test_statuses_map_to_error_classes(server, client, status: int, kind: type) -> None:
    server.on("GET", server.media_list_path, bandwidth_error(status, "t", "what happened"))
    with pytest.raises(kind) as caught:
        client.list_media()
    assert caught.value.http_status == status
    assert str(caught.value) == "what happened"


def test_spring_404_body_is_read(server, client) -> None:
    body = {"timestamp": "t", "status": 404, "error": "Not Found", "message": "No message", "path": "/x/y"}
    server.on("GET", server.media_list_path, Reply(404, body))
    with pytest.raises(NotFound) as caught:
        client.list_media()
    assert "Not Found" in str(caught.value) and "/x/y" in str(caught.value)


@pytest.mark.parametrize("body", [b"", b"<html><head><title>Oops</title></head></html>", b"plain words"])
def test_non_json_error_bodies_give_a_readable_message(server, client, body: bytes) -> None:
    server.on("GET", server.media_list_path, Reply(503, body, {"Content-Type": "text/html"}))
    with pytest.raises(ServerError) as caught:
        client.list_media()
    assert str(caught.value).startswith("HTTP 503 Service Unavailable")


def test_network_errors_say_whether_anything_was_sent(server, client) -> None:
    server.on("GET", server.media_list_path, drop())
    with pytest.raises(NetworkError) as caught:
        client.list_media()
    assert caught.value.sent is True
    dead = BandwidthClient(
        f"http://127.0.0.1:{refused_port()}/api/v2", ACCOUNT_ID, BasicCredentials("u", "pw-x")
    )
    with pytest.raises(NetworkError) as caught:
        dead.list_media()
    assert caught.value.sent is False
    assert "refused" in str(caught.value)


# --- test connection ------------------------------------------------------------------------------------


def test_connection_ok(server, client) -> None:
    server.on("GET", server.media_list_path, Reply(200, []))
    check = client.test_connection()
    assert check.ok and check.result is CheckResult.OK
    assert ACCOUNT_ID in check.message


@pytest.mark.parametrize(
    ("reply", "result", "words"),
    [
        (
            bandwidth_error(401, "unauthorized", "Authentication Failed"),
            CheckResult.WRONG_CREDENTIALS,
            "username",
        ),
        (bandwidth_error(403, "forbidden", "Access Denied"), CheckResult.NO_ACCESS, "no access"),
        (bandwidth_error(500, "oops", "Internal error"), CheckResult.OTHER, "Internal error"),
        (
            Reply(404, {"timestamp": "t", "status": 404, "error": "Not Found", "path": "/p"}),
            CheckResult.OTHER,
            "base URL",
        ),
        (drop(), CheckResult.NETWORK, "closed the connection"),
    ],
)
def test_connection_problems_are_told_apart(server, client, reply, result, words: str) -> None:
    server.on("GET", server.media_list_path, reply)
    check = client.test_connection()
    assert check.result is result
    assert not check.ok
    assert words in check.message


def test_connection_to_nothing_is_a_network_problem() -> None:
    client = BandwidthClient(
        f"http://127.0.0.1:{refused_port()}/api/v2", ACCOUNT_ID, BasicCredentials("u", "pw-x")
    )
    check = client.test_connection()
    assert check.result is CheckResult.NETWORK
    assert "refused" in check.message
