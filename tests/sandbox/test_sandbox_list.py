"""GET /messages: at least one filter, each filter, paging with page tokens, sorting, and the optional rate limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from bwdesk.sandbox import LANDLINE_NUMBER, ManualClock, Sandbox

ITEM_FIELDS = {
    "messageId",
    "accountId",
    "sourceTn",
    "destinationTn",
    "messageStatus",
    "messageDirection",
    "messageType",
    "segmentCount",
    "errorCode",
    "receiveTime",
    "carrierName",
    "messageSize",
    "messageLength",
    "attachmentCount",
    "recipientCount",
    "campaignClass",
    "campaignId",
    "bwLatency",
    "carrierLatency",
    "callingNumberCountryA3",
    "calledNumberCountryA3",
    "product",
    "location",
}


def send(session: requests.Session, url: str, payload: dict[str, Any], **change: Any) -> str:
    response = session.post(url, json={**payload, **change}, timeout=10)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def search(session: requests.Session, url: str, **params: Any) -> dict[str, Any]:
    response = session.get(url, params=params, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(answer: dict[str, Any]) -> list[str]:
    return [m["messageId"] for m in answer["messages"]]


@pytest.mark.parametrize("params", [{}, {"limit": "10"}, {"sort": "receiveTime:desc", "pageToken": "x"}])
def test_at_least_one_filter_is_required(
    session: requests.Session, messages_url: str, params: dict[str, str]
) -> None:
    response = session.get(messages_url, params=params, timeout=10)
    assert response.status_code == 400
    assert response.json() == {
        "type": "request-validation",
        "description": "At least one query parameter is required to search messages, e.g. messageId, sourceTn, "
        "destinationTn, messageStatus or fromDateTime",
    }


def test_by_message_id(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    wanted = send(session, messages_url, payload, text="a" * 161)
    send(session, messages_url, payload)
    answer = search(session, messages_url, messageId=wanted)
    assert answer["totalCount"] == 1
    assert answer["pageInfo"] == {}
    (item,) = answer["messages"]
    assert set(item) == ITEM_FIELDS
    assert item["messageId"] == wanted
    assert item["accountId"] == sandbox.account_id
    assert (item["sourceTn"], item["destinationTn"]) == (payload["from"], payload["to"][0])
    assert (item["messageDirection"], item["messageType"], item["segmentCount"]) == ("OUTBOUND", "sms", 2)
    assert (item["messageStatus"], item["errorCode"]) == ("RECEIVED", 0)
    assert (item["messageLength"], item["recipientCount"], item["attachmentCount"]) == (161, 1, 0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["receiveTime"])
    assert search(session, messages_url, messageId="1589228074636lm4k2je7j7jklbn2") == {
        "totalCount": 0,
        "pageInfo": {},
        "messages": [],
    }


def test_by_numbers(
    session: requests.Session, messages_url: str, payload: dict[str, Any], sandbox: Sandbox
) -> None:
    a = send(session, messages_url, payload, to=["+19195550123"])
    b = send(session, messages_url, payload, to=["+14155550123"])
    c = send(session, messages_url, payload, to=["+19195550124"], **{"from": sandbox.numbers[1]})
    assert set(ids(search(session, messages_url, destinationTn="+19195550123"))) == {a}
    assert set(ids(search(session, messages_url, destinationTn="+19195550123,+14155550123"))) == {a, b}
    assert set(ids(search(session, messages_url, destinationTn="+1919"))) == {a, c}  # a prefix of 5
    assert set(ids(search(session, messages_url, sourceTn=sandbox.numbers[1]))) == {c}
    assert set(ids(search(session, messages_url, sourceTn=sandbox.numbers[0], destinationTn="+1415"))) == {b}


def test_an_unencoded_plus_arrives_as_a_space_and_matches_nothing(
    session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    """Form decoding turns `+` into a space, as on the real API: clients must send %2B."""
    send(session, messages_url, payload)
    response = session.get(f"{messages_url}?sourceTn={payload['from']}", timeout=10)
    assert response.status_code == 200
    assert response.json()["totalCount"] == 0


@pytest.mark.parametrize(
    ("params", "description"),
    [
        (
            {"sourceTn": "+191"},
            "'sourceTn' must be a full number or a prefix of at least 5 characters, e.g. +1919",
        ),
        (
            {"destinationTn": ",".join(["+19195550123"] * 11)},
            "'destinationTn' accepts at most 10 comma-separated numbers",
        ),
        (
            {"messageStatus": "LOST"},
            "'messageStatus' must be one of RECEIVED, QUEUED, SENDING, SENT, FAILED, "
            "DELIVERED, ACCEPTED, UNDELIVERED",
        ),
        ({"messageType": "fax"}, "'messageType' must be one of sms, mms, rcs"),
        ({"errorCode": "none"}, "'errorCode' must be a whole number"),
        (
            {"fromDateTime": "yesterday"},
            "'fromDateTime' must be an ISO 8601 date-time, e.g. 2022-09-14T18:20:16.000Z",
        ),
        ({"messageId": "x", "limit": "0"}, "'limit' must be between 1 and 1000"),
        ({"messageId": "x", "limit": "1001"}, "'limit' must be between 1 and 1000"),
        ({"messageId": "x", "limit": "ten"}, "'limit' must be a whole number"),
        ({"messageId": "x", "pageToken": "bogus"}, "'pageToken' is not a page token this API gave out"),
        (
            {"messageId": "x", "sort": "text:up"},
            "'sort' must look like receiveTime:desc (a message field, then asc or desc)",
        ),
        ({"bwQueued": "maybe"}, "'bwQueued' must be true or false"),
    ],
)
def test_bad_parameters_get_400(
    session: requests.Session, messages_url: str, params: dict[str, str], description: str
) -> None:
    response = session.get(messages_url, params=params, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"type": "request-validation", "description": description}


def test_by_status_type_and_error_code(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    sms = send(session, messages_url, payload)
    mms = send(session, messages_url, payload, media=["https://example.com/a.png"])
    landline = send(session, messages_url, payload, to=[LANDLINE_NUMBER])
    assert set(ids(search(session, messages_url, messageStatus="RECEIVED"))) == {sms, mms, landline}
    clock.advance(3)
    assert set(ids(search(session, messages_url, messageStatus="DELIVERED"))) == {sms, mms}
    assert set(ids(search(session, messages_url, messageStatus="FAILED"))) == {landline}
    assert set(ids(search(session, messages_url, messageType="mms"))) == {mms}
    assert set(ids(search(session, messages_url, errorCode="4720"))) == {landline}
    assert set(ids(search(session, messages_url, messageDirection="OUTBOUND"))) == {sms, mms, landline}
    assert ids(search(session, messages_url, messageDirection="INBOUND")) == []
    assert set(ids(search(session, messages_url, fromSegmentCount="1", toSegmentCount="1"))) == {
        sms,
        mms,
        landline,
    }
    assert ids(search(session, messages_url, bwQueued="true")) == []


def test_by_time_window(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    start = clock()
    first = send(session, messages_url, payload)
    clock.advance(60)
    second = send(session, messages_url, payload)
    clock.advance(60)
    third = send(session, messages_url, payload)

    def window(since: Any, until: Any) -> set[str]:
        return set(
            ids(search(session, messages_url, fromDateTime=since.isoformat(), toDateTime=until.isoformat()))
        )

    assert window(start, start + timedelta(seconds=120)) == {first, second, third}
    assert window(start + timedelta(seconds=30), start + timedelta(seconds=90)) == {second}
    zulu = (start + timedelta(seconds=100)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert set(ids(search(session, messages_url, fromDateTime=zulu))) == {third}


def test_paging_walks_every_item_once(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    sent = []
    for _ in range(25):
        sent.append(send(session, messages_url, payload))
        clock.advance(0.01)
    seen: list[str] = []
    answer = search(session, messages_url, sourceTn=payload["from"], limit=10)
    pages = [answer]
    while "nextPageToken" in answer["pageInfo"]:
        answer = search(
            session,
            messages_url,
            sourceTn=payload["from"],
            limit=10,
            pageToken=answer["pageInfo"]["nextPageToken"],
        )
        pages.append(answer)
    for page in pages:
        assert page["totalCount"] == 25
        seen.extend(ids(page))
    assert [len(p["messages"]) for p in pages] == [10, 10, 5]
    assert seen == sent  # oldest first by default
    assert "prevPageToken" not in pages[0]["pageInfo"]
    assert "prevPageToken" in pages[1]["pageInfo"]
    # nextPage is a full URL that repeats the search with the token
    next_page = pages[0]["pageInfo"]["nextPage"]
    assert next_page.startswith(messages_url + "?")
    assert ids(session.get(next_page, timeout=10).json()) == ids(pages[1])
    previous = search(
        session,
        messages_url,
        sourceTn=payload["from"],
        limit=10,
        pageToken=pages[1]["pageInfo"]["prevPageToken"],
    )
    assert ids(previous) == ids(pages[0])


def test_sort_newest_first(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    first = send(session, messages_url, payload)
    clock.advance(1)
    second = send(session, messages_url, payload)
    assert ids(search(session, messages_url, sourceTn=payload["from"], sort="receiveTime:desc")) == [
        second,
        first,
    ]


def test_limit_total_count(session: requests.Session, messages_url: str, payload: dict[str, Any]) -> None:
    send(session, messages_url, payload)
    assert search(session, messages_url, sourceTn=payload["from"], limitTotalCount="true")["totalCount"] == 1


@pytest.fixture
def limited(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(status_step=0, clock=clock, list_rate_limit=(2, 60.0)) as running:
        yield running


def test_optional_rate_limit_answers_429_with_retry_after(limited: Sandbox, clock: ManualClock) -> None:
    url = f"{limited.api_base}/users/{limited.account_id}/messages"
    auth = (limited.username, limited.password)
    assert [
        requests.get(url, params={"messageId": "x"}, auth=auth, timeout=10).status_code for _ in range(2)
    ] == [
        200,
        200,
    ]
    clock.advance(15)
    refused = requests.get(url, params={"messageId": "x"}, auth=auth, timeout=10)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert refused.json() == {
        "type": "rate_limit_exceeded",
        "description": "Rate limit exceeded. Wait for Retry-After time before sending another request.",
    }
    # POST is not limited by it
    payload = {
        "applicationId": limited.application_id,
        "to": ["+19195550123"],
        "from": limited.numbers[0],
        "text": "x",
    }
    assert requests.post(url, json=payload, auth=auth, timeout=10).status_code == 202
    clock.advance(45)
    assert requests.get(url, params={"messageId": "x"}, auth=auth, timeout=10).status_code == 200
