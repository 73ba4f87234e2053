"""What a failed send is about (core's classification, shared by the window and the CLI): the message, or the
account and the connection — each answer from a real server on 127.0.0.1 — and the batch that stops when the
rest would fail the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import (
    ACCOUNT_ID,
    FakeTime,
    FaultServer,
    Reply,
    accepted,
    bandwidth_error,
    refused_port,
    too_many,
)

from bwdesk.core.bandwidth import BandwidthClient, Timeouts
from bwdesk.core.credentials import AuthKind, BasicCredentials, OAuth2Credentials
from bwdesk.core.errors import ConfigError, Forbidden, NetworkError, RateLimited, Unauthorized, trouble_of
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.message import Draft
from bwdesk.core.outcome import ApiError, SendResult, SendState, Trouble
from bwdesk.core.sending import send_draft
from bwdesk.core.status_words import describe_trouble, setting_to_check

PAYLOAD = {"applicationId": "app", "to": ["+19195550123"], "from": "+19195550100", "text": "hi"}


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def client_for(base: str, *, oauth: bool = False, token_url: str | None = None) -> BandwidthClient:
    fake = FakeTime()
    credentials = OAuth2Credentials("client-1", "secret") if oauth else BasicCredentials("api-user", "pw")
    return BandwidthClient(
        base,
        ACCOUNT_ID,
        credentials,
        token_url=token_url or base.replace("/api/v2", "/api/v1/oauth2/token"),
        timeouts=Timeouts(connect=1.0, read=0.3),
        clock=fake.clock,
        sleep=fake.sleep,
        random=fake.random,
    )


@pytest.mark.parametrize(
    ("answer", "trouble"),
    [
        (bandwidth_error(401, "unauthorized", "Authentication Failed"), Trouble.SIGN_IN),
        (bandwidth_error(403, "forbidden", "Access is denied"), Trouble.ACCESS),
        (
            bandwidth_error(400, "request-validation", "Invalid", [("to", "not a valid number")]),
            Trouble.MESSAGE,
        ),
        (bandwidth_error(400, "request-validation", "Your request could not be accepted"), Trouble.MESSAGE),
        (too_many(), Trouble.SERVICE),
        (bandwidth_error(500, "internal-error", "Something failed"), Trouble.SERVICE),
        (bandwidth_error(404, "Not Found", "No message resource at that path"), Trouble.CONNECTION),
        (Reply(400, "<html>Bad request</html>", {"Content-Type": "text/html"}), Trouble.CONNECTION),
    ],
)
def test_each_answer_is_about_the_message_or_the_account_or_the_connection(
    server: FaultServer, answer: Reply, trouble: Trouble
) -> None:
    server.on("POST", server.messages_path, *([answer] * 3))
    with client_for(server.api_base) as client:
        result = client.send(PAYLOAD)
    assert result.state is SendState.REJECTED and result.trouble is trouble


def test_no_connection_is_connection_trouble(server: FaultServer) -> None:
    with client_for(f"http://127.0.0.1:{refused_port()}/api/v2") as client:
        result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED and result.trouble is Trouble.CONNECTION


@pytest.mark.parametrize(
    ("answer", "trouble"),
    [
        (Reply(401, {"error": "invalid_client"}), Trouble.SIGN_IN),
        (Reply(400, {"error": "invalid_client"}), Trouble.SIGN_IN),  # the OAuth2 spec's status for it
        (Reply(403, {"error": "unauthorized_client"}), Trouble.ACCESS),
        (Reply(200, {"token_type": "Bearer"}), Trouble.CONNECTION),  # not a token endpoint at that URL
    ],
)
def test_a_refused_oauth_token_is_account_trouble_not_the_message(
    server: FaultServer, answer: Reply, trouble: Trouble
) -> None:
    server.on("POST", server.token_path, answer)
    with client_for(server.api_base, oauth=True, token_url=server.token_url) as client:
        result = client.send(PAYLOAD)
    assert result.state is SendState.FAILED and result.trouble is trouble
    assert server.count("POST", server.messages_path) == 0


def test_accepted_and_unknown_have_no_trouble() -> None:
    assert SendResult(SendState.ACCEPTED, 202, "m-1").trouble is None
    assert SendResult(SendState.UNKNOWN, error=ApiError("No answer")).trouble is None
    local = SendResult(SendState.FAILED, error=ApiError("history is read-only"), cause=Trouble.LOCAL)
    assert local.trouble is Trouble.LOCAL  # made by bwdesk itself, which knows why


def test_errors_of_other_api_calls_are_classified_the_same_way() -> None:
    refused = ApiError("Authentication Failed", "unauthorized", 401)
    assert trouble_of(Unauthorized(refused)) is Trouble.SIGN_IN
    assert trouble_of(Forbidden(ApiError("no", "forbidden", 403))) is Trouble.ACCESS
    assert trouble_of(NetworkError(ApiError("Could not reach"), sent=False)) is Trouble.CONNECTION
    assert trouble_of(RateLimited(30)) is Trouble.SERVICE
    assert trouble_of(ConfigError("missing the password", setting="password")) is Trouble.SETUP
    assert trouble_of(ValueError("a bug")) is None


def test_each_trouble_names_the_setting_to_check() -> None:
    assert setting_to_check(Trouble.SIGN_IN, AuthKind.BASIC) == "password"
    assert setting_to_check(Trouble.SIGN_IN, AuthKind.OAUTH2) == "client_secret"
    assert setting_to_check(Trouble.ACCESS, AuthKind.BASIC) == "account_id"
    assert setting_to_check(Trouble.CONNECTION, AuthKind.BASIC) == "api_base"
    assert setting_to_check(Trouble.MESSAGE, AuthKind.BASIC) is None
    assert all(describe_trouble(t) for t in Trouble)


def test_refused_credentials_stop_a_batch_but_a_refused_message_does_not(
    server: FaultServer, tmp_path: Path
) -> None:
    """The other messages would be refused the same way: one request, not one per recipient."""
    draft = Draft("+19195550100", ("9195550123", "9195550124", "9195550125"), "hi", region="US")
    history = SqliteHistoryStore.open(tmp_path / "history.sqlite3")
    try:
        server.on("POST", server.messages_path, bandwidth_error(401, "unauthorized", "Authentication Failed"))
        with client_for(server.api_base) as client:
            sent = send_draft(draft, "app", client, history)
        assert [s.result.trouble for s in sent] == [Trouble.SIGN_IN]
        assert server.count("POST", server.messages_path) == 1

        refused = bandwidth_error(400, "request-validation", "Invalid", [("to", "not allowed")])
        server.on("POST", server.messages_path, refused, accepted(), accepted())
        with client_for(server.api_base) as client:
            sent = send_draft(draft, "app", client, history)
        assert [s.result.state for s in sent] == [SendState.REJECTED, SendState.ACCEPTED, SendState.ACCEPTED]
    finally:
        history.close()
