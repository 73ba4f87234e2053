"""Bandwidth's official Python SDK (`bandwidth-sdk`) works against the sandbox as against the real API.

Each SDK operation hard-codes `https://messaging.bandwidth.com/api/v2` as its server; the supported way to point
it elsewhere is `Configuration(host=..., ignore_operation_servers=True)`, which makes every operation use
`configuration.host`. OAuth2 goes to `access_token_url`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from bandwidth import ApiClient, Configuration, MediaApi, MessagesApi
from bandwidth.exceptions import BadRequestException, NotFoundException, UnauthorizedException
from bandwidth.models import CreateMessageRequestError, MessageRequest, MessagingRequestError

from bwdesk.sandbox import OPTED_OUT_NUMBER, Sandbox


@pytest.fixture
def sdk_sandbox() -> Iterator[Sandbox]:
    with Sandbox(status_step=0) as running:
        yield running


def client(sandbox: Sandbox, **credentials: str) -> ApiClient:
    options = credentials or {"username": sandbox.username, "password": sandbox.password}
    return ApiClient(Configuration(host=sandbox.api_base, ignore_operation_servers=True, **options))


def request(sandbox: Sandbox, to: list[str], text: str = "Hello from the SDK") -> MessageRequest:
    return MessageRequest(
        application_id=sandbox.application_id, to=to, var_from=sandbox.numbers[0], text=text
    )


def test_create_message_and_find_it_by_id(sdk_sandbox: Sandbox) -> None:
    with client(sdk_sandbox) as api_client:
        messages = MessagesApi(api_client)
        created = messages.create_message_with_http_info(
            sdk_sandbox.account_id, request(sdk_sandbox, ["+19195550123"])
        )
        assert created.status_code == 202
        message = created.data
        assert len(message.id) == 29
        assert message.owner == message.var_from == sdk_sandbox.numbers[0]
        assert message.to == ["+19195550123"]
        assert message.segment_count == 1
        assert message.direction == "out"
        assert message.time is not None

        found = messages.list_messages(sdk_sandbox.account_id, message_id=message.id)
        assert found.total_count == 1
        (item,) = found.messages
        assert item.message_id == message.id
        assert item.destination_tn == "+19195550123"
        assert item.message_status == "DELIVERED"
        assert item.error_code == 0
        assert item.message_type == "sms"

        failing = messages.create_message(sdk_sandbox.account_id, request(sdk_sandbox, [OPTED_OUT_NUMBER]))
        by_number = messages.list_messages(sdk_sandbox.account_id, destination_tn=OPTED_OUT_NUMBER)
        assert [(m.message_id, m.message_status, m.error_code) for m in by_number.messages] == [
            (failing.id, "FAILED", 4775)
        ]


def test_media_upload_get_list_delete(sdk_sandbox: Sandbox) -> None:
    blob = bytes(range(256)) + os.urandom(4096)
    with client(sdk_sandbox) as api_client:
        media = MediaApi(api_client)
        # The SDK overwrites its own `content_type` argument with application/json; `_content_type` is what works.
        media.upload_media(
            sdk_sandbox.account_id, "1476207046829/0/part.png", blob, _content_type="image/png"
        )
        (upload,) = sdk_sandbox.requests.matching("PUT")
        assert upload.header("Content-Type") == "image/png"
        assert sdk_sandbox.media("1476207046829/0/part.png") == blob  # the SDK's %2F arrives as a slash
        assert bytes(media.get_media(sdk_sandbox.account_id, "1476207046829/0/part.png")) == blob
        (listed,) = media.list_media(sdk_sandbox.account_id)
        assert (listed.media_name, listed.content_length) == ("1476207046829/0/part.png", len(blob))
        assert listed.content == sdk_sandbox.media_base + "1476207046829/0/part.png"
        media.delete_media(sdk_sandbox.account_id, "1476207046829/0/part.png")
        with pytest.raises(NotFoundException) as missing:
            media.get_media(sdk_sandbox.account_id, "1476207046829/0/part.png")
        assert isinstance(missing.value.data, MessagingRequestError)
        assert missing.value.data.type == "object-not-found"


def test_400_with_field_errors(sdk_sandbox: Sandbox) -> None:
    with client(sdk_sandbox) as api_client:
        messages = MessagesApi(api_client)
        with pytest.raises(BadRequestException) as rejected:
            messages.create_message(sdk_sandbox.account_id, request(sdk_sandbox, ["+1invalid"]))
    assert rejected.value.status == 400
    error = rejected.value.data
    assert isinstance(error, CreateMessageRequestError)
    assert error.type == "request-validation"
    assert error.description == "Your request could not be accepted"
    assert error.field_errors is not None
    assert [(f.field_name, f.description) for f in error.field_errors] == [
        ("to", "'+1invalid' must be replaced with a valid E164 formatted telephone number")
    ]
    assert sdk_sandbox.accepted_messages() == []


def test_list_without_a_filter_is_a_bad_request(sdk_sandbox: Sandbox) -> None:
    with client(sdk_sandbox) as api_client, pytest.raises(BadRequestException):
        MessagesApi(api_client).list_messages(sdk_sandbox.account_id)


def test_401_with_wrong_credentials(sdk_sandbox: Sandbox) -> None:
    wrong = client(sdk_sandbox, username=sdk_sandbox.username, password="wrong")
    with wrong as api_client, pytest.raises(UnauthorizedException) as refused:
        MessagesApi(api_client).create_message(sdk_sandbox.account_id, request(sdk_sandbox, ["+19195550123"]))
    assert refused.value.status == 401
    assert isinstance(refused.value.data, MessagingRequestError)
    assert (refused.value.data.type, refused.value.data.description) == (
        "unauthorized",
        "Authentication Failed",
    )
    assert sdk_sandbox.accepted_messages() == []


def test_oauth2_client_credentials(sdk_sandbox: Sandbox) -> None:
    credentials = {
        "client_id": sdk_sandbox.client_id,
        "client_secret": sdk_sandbox.client_secret,
        "access_token_url": sdk_sandbox.token_url,
    }
    with client(sdk_sandbox, **credentials) as api_client:
        message = MessagesApi(api_client).create_message(
            sdk_sandbox.account_id, request(sdk_sandbox, ["+19195550123"])
        )
    assert message.id in [m["id"] for m in sdk_sandbox.accepted_messages()]
    (token_request,) = sdk_sandbox.requests.matching("POST", "/oauth2/token")
    assert token_request.status == 200
    (post,) = sdk_sandbox.requests.matching("POST", "/messages")
    assert post.header("Authorization") == "Bearer [redacted]"
