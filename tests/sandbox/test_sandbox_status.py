"""Status moves on with the (manual) clock — RECEIVED → QUEUED → SENT → DELIVERED — or ends FAILED with a real
error code: the documented test numbers, a From that is not on the account, media that cannot be fetched, an
expiration that passes first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from bwdesk.sandbox import BLOCKLISTED_NUMBER, LANDLINE_NUMBER, OPTED_OUT_NUMBER, ManualClock, Sandbox


def send(session: requests.Session, url: str, payload: dict[str, Any], **change: Any) -> str:
    response = session.post(url, json={**payload, **change}, timeout=10)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def listed(session: requests.Session, url: str, message_id: str) -> list[tuple[str, str, int]]:
    response = session.get(url, params={"messageId": message_id}, timeout=10)
    assert response.status_code == 200
    return [(m["destinationTn"], m["messageStatus"], m["errorCode"]) for m in response.json()["messages"]]


def test_status_moves_one_step_per_interval(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    message_id = send(session, messages_url, payload)
    seen = []
    for _ in range(5):
        seen.append(listed(session, messages_url, message_id)[0][1:])
        clock.advance(1.0)
    assert seen == [("RECEIVED", 0), ("QUEUED", 0), ("SENT", 0), ("DELIVERED", 0), ("DELIVERED", 0)]


def test_status_just_before_a_step(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    message_id = send(session, messages_url, payload)
    clock.advance(2.999)
    assert sandbox.status_of(message_id) == {payload["to"][0]: ("SENT", 0)}
    clock.advance(0.001)
    assert sandbox.status_of(message_id) == {payload["to"][0]: ("DELIVERED", 0)}


@pytest.mark.parametrize(
    ("number", "code"), [(LANDLINE_NUMBER, 4720), (OPTED_OUT_NUMBER, 4775), (BLOCKLISTED_NUMBER, 4482)]
)
def test_test_numbers_fail_with_their_code(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    number: str,
    code: int,
) -> None:
    message_id = send(session, messages_url, payload, to=[number])
    seen = []
    for _ in range(4):
        seen.append(listed(session, messages_url, message_id)[0])
        clock.advance(1.0)
    assert seen == [
        (number, "RECEIVED", 0),
        (number, "QUEUED", 0),
        (number, "FAILED", code),
        (number, "FAILED", code),
    ]
    assert {t.number: t.error_code for t in sandbox.test_numbers} == {
        LANDLINE_NUMBER: 4720,
        OPTED_OUT_NUMBER: 4775,
        BLOCKLISTED_NUMBER: 4482,
    }


def test_a_group_lists_one_item_per_recipient(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    message_id = send(session, messages_url, payload, to=["+19195550123", LANDLINE_NUMBER])
    clock.advance(3)
    assert listed(session, messages_url, message_id) == [
        ("+19195550123", "DELIVERED", 0),
        (LANDLINE_NUMBER, "FAILED", 4720),
    ]
    items = session.get(messages_url, params={"messageId": message_id}, timeout=10).json()["messages"]
    assert {i["messageType"] for i in items} == {"mms"}
    assert {i["recipientCount"] for i in items} == {2}


def test_status_step_zero_is_final_at_once(
    sandbox: Sandbox, session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    sandbox.status_step = 0
    delivered = send(session, messages_url, payload)
    failed = send(session, messages_url, payload, to=[OPTED_OUT_NUMBER])
    assert listed(session, messages_url, delivered) == [(payload["to"][0], "DELIVERED", 0)]
    assert listed(session, messages_url, failed) == [(OPTED_OUT_NUMBER, "FAILED", 4775)]


def test_from_not_on_the_account_fails_with_4407(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    message_id = send(session, messages_url, payload, **{"from": "+19195550177"})
    sender_id = send(session, messages_url, payload, **{"from": "ACME"})
    clock.advance(3)
    assert listed(session, messages_url, message_id) == [(payload["to"][0], "FAILED", 4407)]
    assert listed(session, messages_url, sender_id) == [(payload["to"][0], "DELIVERED", 0)]


def test_media_that_cannot_be_fetched_fails_with_4410(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    media_url: str,
    payload: dict[str, Any],
) -> None:
    session.put(f"{media_url}/there.png", data=b"\x89PNG", headers={"Content-Type": "image/png"}, timeout=10)
    uploaded = send(session, messages_url, payload, media=[sandbox.media_base + "there.png"])
    missing = send(session, messages_url, payload, media=[sandbox.media_base + "missing.png"])
    ftp = send(session, messages_url, payload, media=["ftp://example.com/a.png"])
    elsewhere = send(session, messages_url, payload, media=["https://example.com/a.png"])
    clock.advance(3)
    to = payload["to"][0]
    assert listed(session, messages_url, uploaded) == [(to, "DELIVERED", 0)]
    assert listed(session, messages_url, missing) == [(to, "FAILED", 4410)]
    assert listed(session, messages_url, ftp) == [(to, "FAILED", 4410)]
    assert listed(session, messages_url, elsewhere) == [(to, "DELIVERED", 0)]


def test_expiration_passing_before_sending_fails_with_4360(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    soon = (clock() + timedelta(seconds=1.5)).isoformat()
    later = (clock() + timedelta(hours=1)).isoformat()
    expiring = send(session, messages_url, payload, expiration=soon)
    fine = send(session, messages_url, payload, expiration=later)
    clock.advance(3)
    assert listed(session, messages_url, expiring) == [(payload["to"][0], "FAILED", 4360)]
    assert listed(session, messages_url, fine) == [(payload["to"][0], "DELIVERED", 0)]


def test_in_process_views(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    message_id = send(session, messages_url, payload, to=["+19195550123", OPTED_OUT_NUMBER])
    clock.advance(2)
    assert sandbox.status_of(message_id) == {"+19195550123": ("SENT", 0), OPTED_OUT_NUMBER: ("FAILED", 4775)}
    assert sandbox.status_of("no-such-id") == {}
    assert [m["id"] for m in sandbox.accepted_messages()] == [message_id]
    assert sandbox.messages == sandbox.accepted_messages()
