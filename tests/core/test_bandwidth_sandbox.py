"""The client against the sandbox: the same contract as the real API, validated independently of the client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from faultserver import FakeTime

from bwdesk.core.bandwidth import BandwidthClient, CheckResult, Timeouts
from bwdesk.core.credentials import BasicCredentials, OAuth2Credentials
from bwdesk.core.outcome import SendState
from bwdesk.sandbox import LANDLINE_NUMBER, OPTED_OUT_NUMBER, Sandbox


@pytest.fixture
def sandbox():
    with Sandbox(status_step=0) as s:
        yield s


def client_for(
    sandbox: Sandbox, *, oauth: bool = False, password: str | None = None, account: str | None = None
):
    fake = FakeTime()
    credentials = (
        OAuth2Credentials(sandbox.client_id, sandbox.client_secret)
        if oauth
        else BasicCredentials(sandbox.username, password or sandbox.password)
    )
    return BandwidthClient(
        sandbox.api_base,
        account or sandbox.account_id,
        credentials,
        token_url=sandbox.token_url,
        timeouts=Timeouts(connect=2.0, read=0.5),
        clock=fake.clock,
        sleep=fake.sleep,
        random=fake.random,
    )


def payload(sandbox: Sandbox, to: str = "+19195550123", **extra) -> dict:
    return {
        "applicationId": sandbox.application_id,
        "to": [to],
        "from": sandbox.numbers[0],
        "text": "hi",
        **extra,
    }


@pytest.mark.parametrize("oauth", [False, True], ids=["basic", "oauth2"])
def test_send_is_accepted_and_its_status_can_be_looked_up(sandbox, oauth: bool) -> None:
    client = client_for(sandbox, oauth=oauth)
    result = client.send(payload(sandbox))
    assert result.state is SendState.ACCEPTED
    assert result.message_id and result.segments == 1
    assert sandbox.requests.count("POST", "/messages") == 1
    status = client.message_status(result.message_id)
    assert status is not None and status.message_id == result.message_id
    assert status.status == "DELIVERED"


def test_an_invalid_number_is_rejected_with_field_errors(sandbox) -> None:
    result = client_for(sandbox).send(payload(sandbox, to="+1invalid"))
    assert result.state is SendState.REJECTED
    assert result.http_status == 400
    assert result.error is not None and result.error.type == "request-validation"
    assert any(f.field == "to" for f in result.error.field_errors)


@pytest.mark.parametrize(
    ("number", "code", "words"), [(LANDLINE_NUMBER, 4720, "landline"), (OPTED_OUT_NUMBER, 4775, "STOP")]
)
def test_test_numbers_fail_later_with_a_code_in_words(sandbox, number: str, code: int, words: str) -> None:
    client = client_for(sandbox)
    result = client.send(payload(sandbox, to=number))
    assert result.state is SendState.ACCEPTED  # 202 means queued, not delivered
    assert result.message_id is not None
    status = client.message_status(result.message_id)
    assert status is not None
    assert (status.status, status.error_code) == ("FAILED", code)
    assert words in status.description


def test_find_messages_finds_what_was_sent(sandbox) -> None:
    client = client_for(sandbox)
    sent = client.send(payload(sandbox))
    now = datetime.now(UTC)
    found = client.find_messages(
        sandbox.numbers[0], "+19195550123", now - timedelta(minutes=5), now + timedelta(minutes=1)
    )
    assert sent.message_id in [m.message_id for m in found]


def test_media_round_trip(sandbox) -> None:
    client = client_for(sandbox)
    data = bytes(range(256)) * 3
    url = client.upload_media("part.png", data, "image/png")
    assert sandbox.media("part.png") == data
    assert any(item.name == "part.png" for item in client.list_media())
    assert client.send(payload(sandbox, media=[url])).state is SendState.ACCEPTED
    client.delete_media("part.png")
    assert sandbox.media("part.png") is None


def test_connection_checks(sandbox) -> None:
    assert client_for(sandbox).test_connection().ok
    assert client_for(sandbox, oauth=True).test_connection().ok
    assert client_for(sandbox, password="wrong").test_connection().result is CheckResult.WRONG_CREDENTIALS
    assert client_for(sandbox, account="1234567").test_connection().result is CheckResult.NO_ACCESS


def test_expired_sandbox_token_is_refreshed_once(sandbox) -> None:
    client = client_for(sandbox, oauth=True)
    assert client.send(payload(sandbox)).state is SendState.ACCEPTED
    sandbox.expire_tokens()
    result = client.send(payload(sandbox))
    assert result.state is SendState.ACCEPTED
    assert result.attempts == 2
    assert sandbox.requests.count("POST", "/oauth2/token") == 2


@pytest.mark.parametrize(
    ("fault", "options", "state", "posts"),
    [
        ("drop", {}, SendState.UNKNOWN, 1),
        ("html_502", {}, SendState.UNKNOWN, 1),
        ("server_error", {}, SendState.REJECTED, 1),
        ("malformed", {}, SendState.UNKNOWN, 1),
        ("queue_full", {}, SendState.ACCEPTED, 2),
        ("queue_full", {"retry_after": 600}, SendState.REJECTED, 1),
        ("delay", {"delay": 2.0}, SendState.UNKNOWN, 1),
    ],
)
def test_sandbox_faults_give_the_designed_outcomes(
    sandbox, fault: str, options: dict, state: SendState, posts: int
) -> None:
    sandbox.inject(fault, **options)
    result = client_for(sandbox).send(payload(sandbox))
    assert result.state is state
    assert sandbox.requests.count("POST", "/messages") == posts
