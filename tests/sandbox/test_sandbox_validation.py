"""POST /messages: every validation rule answers 400 with Bandwidth's body and exact field errors; valid → 202."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import requests

from bwdesk.sandbox import ManualClock, Sandbox

INVALID = {"type": "request-validation", "description": "Your request could not be accepted"}
E164 = "'{}' must be replaced with a valid E164 formatted telephone number"
NUMBERS = [f"+1919555{n:04d}" for n in range(120, 140)]


def field_errors(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {**INVALID, "fieldErrors": [{"fieldName": f, "description": d} for f, d in pairs]}


def post(session: requests.Session, url: str, body: dict[str, Any]) -> requests.Response:
    return session.post(url, json=body, timeout=10)


def without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != key}


REJECTED: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("to not E.164 (Bandwidth's own test)", {"to": ["+1invalid"]}, [("to", E164.format("+1invalid"))]),
    ("to without +", {"to": ["9195550123"]}, [("to", E164.format("9195550123"))]),
    ("to with spaces", {"to": ["+1 919 555 0123"]}, [("to", E164.format("+1 919 555 0123"))]),
    ("NANP area code starting 1", {"to": ["+11195550123"]}, [("to", E164.format("+11195550123"))]),
    ("more than 15 digits", {"to": ["+4412345678901234"]}, [("to", E164.format("+4412345678901234"))]),
    ("to empty", {"to": []}, [("to", "'to' must contain at least one telephone number")]),
    ("to a bare string", {"to": "+19195550123"}, [("to", "'to' must be an array of telephone numbers")]),
    ("to with a number", {"to": [19195550123]}, [("to", "'to' must contain only strings")]),
    (
        "to with a duplicate",
        {"to": ["+19195550123", "+19195550124", "+19195550123"]},
        [("to", "'to' must not contain the same number twice: +19195550123")],
    ),
    (
        "11 recipients",
        {"to": NUMBERS[:11]},
        [("to", "'to' may contain at most 10 telephone numbers; it has 11")],
    ),
    ("from empty", {"from": ""}, [("from", "'from' must contain exactly one telephone number")]),
    ("from without +", {"from": "9195550100"}, [("from", E164.format("9195550100"))]),
    ("from digits only, short", {"from": "12345"}, [("from", E164.format("12345"))]),
    (
        "sender ID too long",
        {"from": "ACME Support Desk"},
        [
            (
                "from",
                "'ACME Support Desk' is neither an E164 telephone number nor an alphanumeric sender ID "
                "(1 to 11 letters, digits, spaces or - + _ &, with at least one letter)",
            )
        ],
    ),
    (
        "sender ID with a letter outside A-Z",
        {"from": "Café"},
        [
            (
                "from",
                "'Café' is neither an E164 telephone number nor an alphanumeric sender ID "
                "(1 to 11 letters, digits, spaces or - + _ &, with at least one letter)",
            )
        ],
    ),
    ("text empty, no media", {"text": ""}, [("text", "'text' is required unless media is included")]),
    ("text a number", {"text": 42}, [("text", "'text' must be a string")]),
    (
        "text 2049 characters",
        {"text": "a" * 2049},
        [("text", "'text' may be at most 2048 characters; it has 2049")],
    ),
    (
        "text of 1025 emoji (2050 UTF-16 units)",
        {"text": "😀" * 1025},
        [("text", "'text' may be at most 2048 characters; it has 2050")],
    ),
    (
        "text of 2047 letters and an emoji (2048 code points, 2049 UTF-16 units)",
        {"text": "a" * 2047 + "😀"},
        [("text", "'text' may be at most 2048 characters; it has 2049")],
    ),
    (
        "tag 1025 characters",
        {"tag": "t" * 1025},
        [("tag", "'tag' may be at most 1024 characters; it has 1025")],
    ),
    ("tag not a string", {"tag": ["a"]}, [("tag", "'tag' must be a string")]),
    (
        "media URL of 4097 characters",
        {"media": ["https://example.com/" + "m" * 4077]},
        [("media", "a media URL may be at most 4096 characters; one has 4097")],
    ),
    ("media not a URL", {"media": ["part.jpg"]}, [("media", "'part.jpg' is not a valid URL")]),
    (
        "media with a space",
        {"media": ["https://example.com/a b.jpg"]},
        [("media", "'https://example.com/a b.jpg' is not a valid URL")],
    ),
    (
        "media https without host",
        {"media": ["https:///a.jpg"]},
        [("media", "'https:///a.jpg' is not a valid URL")],
    ),
    (
        "media a bare string",
        {"media": "https://example.com/a.jpg"},
        [("media", "'media' must be an array of URLs")],
    ),
    (
        "11 media",
        {"media": [f"https://example.com/{i}.jpg" for i in range(11)]},
        [("media", "'media' may contain at most 10 URLs; it has 11")],
    ),
    (
        "priority unknown",
        {"priority": "urgent"},
        [("priority", "'urgent' is not a valid priority; use 'default' or 'high'")],
    ),
    (
        "expiration not RFC 3339",
        {"expiration": "tomorrow"},
        [("expiration", "'expiration' must be an RFC 3339 date-time, e.g. 2021-03-14T01:59:26Z")],
    ),
    (
        "expiration without an offset",
        {"expiration": "2099-01-01T10:00:00"},
        [("expiration", "'expiration' must be an RFC 3339 date-time, e.g. 2021-03-14T01:59:26Z")],
    ),
    (
        "expiration in the past",
        {"expiration": "2001-01-01T00:00:00Z"},
        [("expiration", "'expiration' must be in the future")],
    ),
    (
        "unknown application",
        {"applicationId": "93de2206-9669-4e07-948d-329f4b722ee2"},
        [("applicationId", "'93de2206-9669-4e07-948d-329f4b722ee2' is not an application of this account")],
    ),
]


@pytest.mark.parametrize(
    ("change", "errors"), [(c, e) for _, c, e in REJECTED], ids=[n for n, _, _ in REJECTED]
)
def test_each_rule_rejects_with_bandwidths_body(
    sandbox: Sandbox,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    change: dict[str, Any],
    errors: list[tuple[str, str]],
) -> None:
    response = post(session, messages_url, {**payload, **change})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == field_errors(*errors)
    assert sandbox.accepted_messages() == []


@pytest.mark.parametrize(
    ("missing", "error"),
    [
        ("applicationId", ("applicationId", "'applicationId' is required")),
        ("to", ("to", "'to' must contain at least one telephone number")),
        ("from", ("from", "'from' must contain exactly one telephone number")),
        ("text", ("text", "'text' is required unless media is included")),
    ],
)
def test_required_fields(
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    missing: str,
    error: tuple[str, str],
) -> None:
    response = post(session, messages_url, without(payload, missing))
    assert response.status_code == 400
    assert response.json() == field_errors(error)


def test_every_problem_is_reported_at_once_sorted_by_field(
    session: requests.Session, messages_url: str, sandbox: Sandbox
) -> None:
    # Bandwidth's documented example lists from, text, to — in that order.
    response = post(
        session, messages_url, {"applicationId": sandbox.application_id, "from": "1", "to": ["1"]}
    )
    assert response.json() == field_errors(
        ("from", E164.format("1")),
        ("text", "'text' is required unless media is included"),
        ("to", E164.format("1")),
    )


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"to": ["+19195550123"]', b"[1, 2]", b'"text"', b"null", b'{"text": NaN}', b"\xff\xfe"],
    ids=["garbage", "truncated", "array", "string", "null", "NaN", "not UTF-8"],
)
def test_malformed_body_is_a_plain_400(
    session: requests.Session, messages_url: str, sandbox: Sandbox, body: bytes
) -> None:
    response = session.post(messages_url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.json() == INVALID
    assert sandbox.accepted_messages() == []


ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("10 recipients (a group)", {"to": NUMBERS[:10]}),
    ("text of exactly 2048", {"text": "a" * 2048}),
    ("1024 emoji = 2048 UTF-16 units", {"text": "😀" * 1024}),
    ("media without text", {"text": None, "media": ["https://example.com/part.jpg"]}),
    ("empty text with media", {"text": "", "media": ["https://example.com/part.jpg"]}),
    ("media URL of exactly 4096", {"media": ["https://example.com/" + "m" * 4076]}),
    ("10 media", {"media": [f"https://example.com/{i}.jpg" for i in range(10)]}),
    ("alphanumeric sender ID", {"from": "ACME-Help"}),
    ("one-letter sender ID", {"from": "A"}),
    ("sender ID with every allowed sign", {"from": "A 1-2+3_4&5"}),
    ("tag of 1024", {"tag": "t" * 1024}),
    ("priority high", {"priority": "high"}),
    ("priority default", {"priority": "default"}),
    ("unknown extra fields are ignored", {"somethingNew": True}),
    ("a non-US number", {"to": ["+442071838750"]}),
    ("a possible but unassigned US number", {"to": ["+15554443333"]}),
    ("Bandwidth's example From, exchange 111", {"to": ["+15551113333"]}),
]


@pytest.mark.parametrize("change", [c for _, c in ACCEPTED], ids=[n for n, _ in ACCEPTED])
def test_valid_variants_are_accepted(
    sandbox: Sandbox,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    change: dict[str, Any],
) -> None:
    body = {k: v for k, v in {**payload, **change}.items() if v is not None}
    response = post(session, messages_url, body)
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["to"] == body["to"]
    assert message["from"] == message["owner"] == body["from"]
    assert len(sandbox.accepted_messages()) == 1


def test_accepted_message_looks_like_bandwidths(
    sandbox: Sandbox,
    clock: ManualClock,
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
) -> None:
    expiration = (clock() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {**payload, "tag": "TICKET-4242", "priority": "high", "expiration": expiration}
    response = post(session, messages_url, body)
    assert response.status_code == 202
    assert response.headers["Content-Type"] == "application/json"
    message = response.json()
    assert re.fullmatch(r"[0-9]{13}[a-z0-9]{16}", message["id"]), message["id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["time"])
    assert message["time"] == clock().strftime("%Y-%m-%dT%H:%M:%S.") + f"{clock().microsecond // 1000:03d}Z"
    assert message == {
        "id": message["id"],
        "owner": payload["from"],
        "applicationId": sandbox.application_id,
        "time": message["time"],
        "segmentCount": 1,
        "direction": "out",
        "to": payload["to"],
        "from": payload["from"],
        "text": payload["text"],
        "tag": "TICKET-4242",
        "priority": "high",
        "expiration": expiration,
    }
    assert sandbox.accepted_messages() == [message]


def test_ids_are_unique(session: requests.Session, messages_url: str, payload: dict[str, Any]) -> None:
    ids = {post(session, messages_url, payload).json()["id"] for _ in range(20)}
    assert len(ids) == 20


def test_media_duplicates_collapse_in_the_answer(
    session: requests.Session, messages_url: str, payload: dict[str, Any]
) -> None:
    media = ["https://example.com/a.jpg", "https://example.com/b.jpg", "https://example.com/a.jpg"]
    response = post(session, messages_url, {**payload, "media": media})
    assert response.status_code == 202
    assert response.json()["media"] == ["https://example.com/a.jpg", "https://example.com/b.jpg"]


@pytest.mark.parametrize(
    ("change", "segments"),
    [
        ({"text": "a" * 160}, 1),
        ({"text": "a" * 161}, 2),
        ({"text": "a" * 306}, 2),
        ({"text": "a" * 307}, 3),
        ({"text": "€" * 80}, 1),  # extension characters take two septets: 160
        ({"text": "€" * 81}, 2),
        ({"text": "é" * 160}, 1),  # é is in the GSM basic table
        ({"text": "ê" * 70}, 1),  # ê is not: UCS-2
        ({"text": "ê" * 71}, 2),
        ({"text": "ê" * 134}, 2),
        ({"text": "ê" * 135}, 3),
        ({"text": "😀" * 35}, 1),
        ({"text": "😀" * 36}, 2),
        ({"text": "a" * 2048}, 14),
        ({"text": "a" * 500, "media": ["https://example.com/a.jpg"]}, 1),  # MMS
        ({"text": "a" * 500, "to": ["+19195550123", "+19195550124"]}, 1),  # group MMS
    ],
)
def test_segment_count(
    session: requests.Session,
    messages_url: str,
    payload: dict[str, Any],
    change: dict[str, Any],
    segments: int,
) -> None:
    response = post(session, messages_url, {**payload, **change})
    assert response.status_code == 202
    assert response.json()["segmentCount"] == segments
