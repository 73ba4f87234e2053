"""Bandwidth's error codes and delivery statuses in words an agent understands, and the API error types."""

from __future__ import annotations

import pytest

from bwdesk.core.errors import (
    ApiRequestError,
    BwdeskError,
    NetworkError,
    RateLimited,
    Unauthorized,
    format_wait,
)
from bwdesk.core.outcome import ApiError
from bwdesk.core.status_words import describe_delivery_status, describe_error_code, short_error

# Every code of reference/bandwidth-api.md §6.3.
DOCUMENTED_CODES = [
    *[4001, 4301, 4302, 4303, 4350, 4360, 4401, 4403, 4404, 4405, 4406, 4407, 4408, 4409, 4410, 4411, 4412],
    *[4420, 4421, 4431, 4432, 4433, 4434, 4435, 4451, 4452, 4470, 4481, 4482, 4492, 4493],
    *[4700, 4701, 4702, 4711, 4712, 4720, 4721, 4730, 4740, 4750, 4751, 4752, 4753, 4770, 4771, 4772],
    *[4773, 4774, 4775, 4780, 4781, 4785, 4790, 4791, 4792, 4793, 4795],
    *[5100, 5101, 5106, 5111, 5201, 5211, 5220, 5231, 5500, 5501, 5999],
    *[5600, 5610, 5620, 5630, 5650, 9902, 9999],
]


@pytest.mark.parametrize("code", DOCUMENTED_CODES)
def test_every_documented_code_has_its_own_words(code: int) -> None:
    text = describe_error_code(code)
    assert text.startswith(f"{code}: ")
    assert "does not know" not in text
    assert len(text) > len(f"{code}: ") + 10


@pytest.mark.parametrize("code", DOCUMENTED_CODES)
def test_every_documented_code_has_a_few_words_for_a_table_cell(code: int) -> None:
    words = short_error(code)
    assert 5 < len(words) <= 45 and "unknown error code" not in words


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (4720, "landline"),
        (4775, "opted out (replied STOP)"),
        (4435, "at most 10"),
        (4360, "expired"),
        (4409, "MMS"),
        (4771, "shortened URL"),
        (9902, "may still have been delivered"),
        (5600, "at most once"),
        (5101, "may work if sent again"),
    ],
)
def test_key_codes_say_what_an_agent_needs(code: int, words: str) -> None:
    assert words in describe_error_code(code)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (4199, "rejected by Bandwidth"),
        (4499, "rejected by Bandwidth"),
        (4799, "rejected by the recipient's carrier"),
        (5150, "Bandwidth service failure"),
        (5699, "recipient's carrier"),
        (9500, "unclear failure downstream"),
        (1234, "does not know"),
        (12345, "does not know"),
    ],
)
def test_unknown_codes_are_explained_by_their_range(code: int, words: str) -> None:
    assert words in describe_error_code(code)


def test_zero_is_no_error() -> None:
    assert describe_error_code(0) == "0: no error"


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("DELIVERED", "delivered"),
        ("delivered", "delivered"),
        ("FAILED", "error code"),
        ("RECEIVED", "received"),
        ("QUEUED", "queue"),
        ("SENDING", "carrier"),
        ("SENT", "no delivery receipt yet"),
        ("UNDELIVERED", "could not be delivered"),
        ("ACCEPTED", "accepted"),
        ("DLR_EXPIRED", "may still have been delivered"),
        ("WEIRD", "does not know"),
    ],
)
def test_delivery_statuses_in_words(status: str, words: str) -> None:
    assert words in describe_delivery_status(status)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (45.4, "45 s"), (120, "2 min"), (3900, "1 h 5 min"), (7200, "2 h")]
)
def test_waits_read_naturally(seconds: float, text: str) -> None:
    assert format_wait(seconds) == text


def test_api_request_errors_carry_the_api_error() -> None:
    error = ApiError("Authentication Failed", "unauthorized", 401)
    exc = Unauthorized(error)
    assert isinstance(exc, ApiRequestError) and isinstance(exc, BwdeskError)
    assert exc.error is error
    assert exc.http_status == 401
    assert str(exc) == "Authentication Failed"


def test_rate_limited_says_how_long_to_wait() -> None:
    exc = RateLimited(300)
    assert exc.retry_after == 300
    assert exc.http_status == 429
    assert "5 min" in str(exc)
    assert RateLimited(None).retry_after is None


def test_network_error_knows_whether_anything_was_sent() -> None:
    assert NetworkError(ApiError("x"), sent=False).sent is False
    assert NetworkError(ApiError("x")).sent is None
