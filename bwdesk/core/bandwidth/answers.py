"""What Bandwidth's answers mean: error bodies, 202s, 429s, statuses, media lists, Retry-After, tokens."""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any

import requests

from bwdesk.core.api import FINAL_DELIVERY_STATUSES
from bwdesk.core.bandwidth.auth import Token
from bwdesk.core.errors import (
    ApiRequestError,
    Forbidden,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    format_wait,
)
from bwdesk.core.outcome import ApiError, FieldError, SendResult, SendState
from bwdesk.core.status_words import describe_delivery_status, describe_error_code

log = logging.getLogger(__name__)

#: Redacts secrets from an error before it is shown, logged or stored (`Authorization.scrub_error`).
Scrub = Callable[[ApiError], ApiError]

# A cached OAuth2 token is renewed this long before the expiry the token endpoint announced.
TOKEN_EXPIRY_MARGIN = 60.0


@dataclass(frozen=True)
class MessageStatus:
    """One message as `GET /users/{accountId}/messages` reports it (Bandwidth never returns the text)."""

    message_id: str
    status: str
    error_code: int | None
    segments: int | None
    receive_time: str | None
    source: str | None
    destination: str | None

    @property
    def is_final(self) -> bool:
        return self.status.upper() in FINAL_DELIVERY_STATUSES

    @property
    def description(self) -> str:
        words = describe_delivery_status(self.status)
        if self.error_code:
            words = f"{words} ({describe_error_code(self.error_code)})"
        return words


@dataclass(frozen=True)
class MediaItem:
    """One uploaded media file (kept by Bandwidth for up to 48 hours)."""

    name: str
    url: str
    size: int | None


class CheckResult(StrEnum):
    OK = "ok"
    WRONG_CREDENTIALS = "wrong-credentials"
    NO_ACCESS = "no-access"
    NETWORK = "network"
    OTHER = "other"


@dataclass(frozen=True)
class ConnectionCheck:
    """What "Test connection" found, with a message for a person."""

    result: CheckResult
    message: str
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.result is CheckResult.OK


# --- reading answers ---------------------------------------------------------------------------------


def json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        return None


def bandwidth_error(data: Any, http_status: int) -> ApiError | None:
    """The error in one of Bandwidth's own JSON shapes, or None if the body is not one of them."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("type"), str) and isinstance(data.get("description"), str):
        fields: list[FieldError] = []
        for item in data.get("fieldErrors") or ():
            if isinstance(item, dict):
                fields.append(
                    FieldError(
                        field=str(item.get("fieldName") or item.get("field") or ""),
                        description=str(item.get("description") or ""),
                    )
                )
        return ApiError(data["description"], data["type"], http_status, tuple(fields))
    # The Spring-style body Bandwidth's servers send for an unknown path: {timestamp,status,error,message,path}.
    if isinstance(data.get("error"), str) and "path" in data and data.get("status") == http_status:
        message = data.get("message")
        detail = message if isinstance(message, str) and message and message != data["error"] else ""
        text = f"{data['error']}: {detail}" if detail else data["error"]
        return ApiError(f"{text} (path {data['path']})", data["error"], http_status)
    return None


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def foreign_error(response: requests.Response, why: str) -> ApiError:
    """An error for an answer that is not in Bandwidth's format (a proxy's page, an empty body, ...)."""
    status = response.status_code
    reason = response.reason or http.client.responses.get(status, "")
    hint = ""
    body = response.content or b""
    match = _TITLE.search(body[:4096])
    if match:
        title = re.sub(rb"\s+", b" ", match.group(1)).strip().decode("utf-8", "replace")[:100]
        if title:
            hint = f" — page title {title!r}"
    elif body and "json" not in response.headers.get("Content-Type", "").lower():
        first = body[:200].decode("utf-8", "replace").strip().splitlines()
        if first and first[0].strip():
            hint = f" — {first[0].strip()[:100]!r}"
    return ApiError(f"HTTP {status} {reason}{hint}; {why}".strip(), None, status)


def retry_after_seconds(response: requests.Response, wall_clock: Callable[[], float]) -> float | None:
    """Retry-After as seconds: delta-seconds, or an HTTP-date (measured against the answer's Date header)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now: float = wall_clock()
    date_header = response.headers.get("Date")
    if date_header:
        try:
            server_now = email.utils.parsedate_to_datetime(date_header)
            if server_now.tzinfo is None:
                server_now = server_now.replace(tzinfo=UTC)
            now = server_now.timestamp()
        except (TypeError, ValueError, IndexError):
            pass
    return max(0.0, when.timestamp() - now)


# --- the token endpoint ------------------------------------------------------------------------------


def token_from(
    response: requests.Response, started: float, scrub_error: Scrub, wall_clock: Callable[[], float]
) -> Token:
    """The token in the token endpoint's answer (valid until shortly before it expires), or the error."""
    status = response.status_code
    data = json_or_none(response.content)
    if status == 200 and isinstance(data, dict) and isinstance(data.get("access_token"), str):
        seconds = _lifetime(data.get("expires_in"))
        margin = min(TOKEN_EXPIRY_MARGIN, seconds / 2)
        log.info("OAuth2 token obtained (valid %.0f s)", seconds)
        return Token(data["access_token"], started + seconds - margin)
    raise _token_error(response, data, scrub_error, wall_clock)


def _token_error(
    response: requests.Response, data: Any, scrub_error: Scrub, wall_clock: Callable[[], float]
) -> ApiRequestError:
    status = response.status_code
    described = ""
    if isinstance(data, dict):
        for key in ("error_description", "description", "error", "message"):
            if isinstance(data.get(key), str) and data[key]:
                described = f": {data[key]}"
                break
    kind = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), str) else None
    if status in (400, 401):
        error = ApiError(
            f"The OAuth2 token URL did not accept the client ID or secret (HTTP {status}){described}.",
            kind,
            status,
        )
        return Unauthorized(scrub_error(error))
    if status == 403:
        return Forbidden(
            scrub_error(ApiError(f"The OAuth2 client may not get a token (HTTP 403){described}.", kind, 403))
        )
    if status == 429:
        wait = retry_after_seconds(response, wall_clock)
        return RateLimited(
            wait, ApiError(f"The OAuth2 token URL is rate limiting (HTTP 429){described}.", kind, 429)
        )
    if status == 200:
        return UnexpectedResponse(
            ApiError("The OAuth2 token URL answered without an access token.", None, 200)
        )
    return ApiRequestError(scrub_error(foreign_error(response, "could not get an OAuth2 token")))


def _lifetime(value: Any) -> float:
    """A token's `expires_in` in seconds (a number or a numeric string); an hour if it is missing or odd."""
    if isinstance(value, bool):
        return 3600.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 3600.0
    return seconds if 0 < seconds < 10**7 else 3600.0


# --- answers to a send --------------------------------------------------------------------------------


def accepted(response: requests.Response, posts: int) -> SendResult:
    """A 202: accepted with its message id, or `unknown` when the body does not say which message it is."""
    data = json_or_none(response.content)
    if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
        segments = data.get("segmentCount")
        accepted_time = data.get("time")
        return SendResult(
            SendState.ACCEPTED,
            http_status=202,
            message_id=data["id"],
            # A count that cannot be one (a mock's -55254891) is left out rather than stored and shown.
            segments=segments
            if isinstance(segments, int) and not isinstance(segments, bool) and 1 <= segments <= 1000
            else None,
            accepted_time=accepted_time if isinstance(accepted_time, str) else None,
            attempts=posts,
            response=data,
        )
    return SendResult(
        SendState.UNKNOWN,
        http_status=202,
        error=ApiError("The server answered 202 Accepted, but without a readable message id.", None, 202),
        attempts=posts,
        detail="202 Accepted with an unreadable body: it was probably queued, but there is no message id",
    )


def queue_full(
    response: requests.Response, posts: int, retry_after: float | None, scrub_error: Scrub
) -> SendResult:
    """A 429 after the last try: rejected (not queued), saying when to try again."""
    data = json_or_none(response.content)
    bandwidth = bandwidth_error(data, 429)
    base = (
        bandwidth.description
        if bandwidth
        else "Too many messages: Bandwidth's queue for the account is full."
    ).strip()
    if not base.endswith((".", "!", "?")):
        base += "."
    if retry_after is not None and retry_after >= 1:
        description = f"{base} Bandwidth asked to wait {format_wait(retry_after)}; try again after that."
    else:
        description = f"{base} Still refused after {posts} attempt(s); try again in a few minutes."
    error = ApiError(description, bandwidth.type if bandwidth else "too-many-requests", 429)
    return SendResult(
        SendState.REJECTED,
        http_status=429,
        error=scrub_error(error),
        attempts=posts,
        retry_after=retry_after if retry_after is not None and retry_after >= 1 else None,
        detail="not queued: HTTP 429",
    )


def classify(response: requests.Response, posts: int, scrub_error: Scrub) -> SendResult:
    """Any other answer to a send: rejected when it certainly was not queued, else unknown."""
    status = response.status_code
    bandwidth = bandwidth_error(json_or_none(response.content), status)
    if 400 <= status <= 599 and bandwidth is not None:
        # Bandwidth documents that a 4xx/5xx on creation means not sent, not billed.
        return SendResult(
            SendState.REJECTED,
            http_status=status,
            error=scrub_error(bandwidth),
            attempts=posts,
            detail=f"rejected by the API: HTTP {status}",
        )
    if 400 <= status <= 499:
        # A client error from whoever answered (an edge proxy, a load balancer): the request was
        # refused there, so it was not processed; but it is not Bandwidth's own wording.
        error = foreign_error(response, "the answer is not in Bandwidth's format (a proxy?)")
        return SendResult(
            SendState.REJECTED,
            http_status=status,
            error=scrub_error(error),
            attempts=posts,
            detail=f"refused with HTTP {status}",
        )
    if 500 <= status <= 599:
        why = "not Bandwidth's answer (a proxy or gateway?); the message may or may not have been queued"
    elif 300 <= status <= 399:
        why = "a redirect, not followed (credentials go only to the configured URL)"
    else:
        why = "not an answer the API documents for sending"
    return SendResult(
        SendState.UNKNOWN,
        http_status=status,
        error=scrub_error(foreign_error(response, why)),
        attempts=posts,
        detail=f"HTTP {status}: {why}",
    )


# --- answers to other calls ---------------------------------------------------------------------------


def call_error(
    response: requests.Response, scrub_error: Scrub, wall_clock: Callable[[], float]
) -> ApiRequestError:
    """The error for an answer to a call other than a send that was not what the call expects."""
    status = response.status_code
    data = json_or_none(response.content)
    error = bandwidth_error(data, status) or foreign_error(
        response, "the answer is not in Bandwidth's format"
    )
    error = scrub_error(error)
    if status == 401:
        return Unauthorized(error)
    if status == 403:
        return Forbidden(error)
    if status == 404:
        return NotFound(error)
    if status == 429:
        return RateLimited(retry_after_seconds(response, wall_clock), error)
    if 500 <= status <= 599:
        return ServerError(error)
    if 300 <= status <= 399 or status < 300:
        return UnexpectedResponse(error)
    return ApiRequestError(error)


def json_body(response: requests.Response) -> Any:
    """The answer's JSON; UnexpectedResponse when it is not JSON."""
    data = json_or_none(response.content)
    if data is None:
        raise UnexpectedResponse(
            ApiError(f"HTTP {response.status_code} with a body that is not JSON.", None, response.status_code)
        )
    return data


def message_status(item: Any) -> MessageStatus | None:
    """One entry of the message list, or None when it is not one."""
    if not isinstance(item, dict) or not isinstance(item.get("messageId"), str):
        return None

    def text(key: str) -> str | None:
        value = item.get(key)
        return value if isinstance(value, str) else None

    def number(key: str) -> int | None:
        value = item.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    code = number("errorCode")
    return MessageStatus(
        message_id=item["messageId"],
        status=text("messageStatus") or "UNKNOWN",
        error_code=code or None,
        segments=number("segmentCount"),
        receive_time=text("receiveTime"),
        source=text("sourceTn"),
        destination=text("destinationTn"),
    )


def media_items(data: Any, media_url: Callable[[str], str]) -> list[MediaItem]:
    """One page of the media list; `media_url` names a file whose entry has no URL of its own."""
    if not isinstance(data, list):
        raise UnexpectedResponse(ApiError("The media list is not a JSON array.", None, 200))
    items: list[MediaItem] = []
    for entry in data:
        if isinstance(entry, dict) and isinstance(entry.get("mediaName"), str):
            size = entry.get("contentLength")
            content = entry.get("content")
            items.append(
                MediaItem(
                    name=entry["mediaName"],
                    url=content if isinstance(content, str) and content else media_url(entry["mediaName"]),
                    size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                )
            )
    return items


def failed_check(exc: ApiRequestError, who: str, account_id: str, api_base: str) -> ConnectionCheck:
    """What "Test connection" says when its call failed; `who` names the credentials ("username and password")."""
    if isinstance(exc, Unauthorized):
        return ConnectionCheck(
            CheckResult.WRONG_CREDENTIALS,
            f"The {who} were not accepted (HTTP 401). Check them; they are an API user's, not the "
            "dashboard login.",
            exc.http_status,
        )
    if isinstance(exc, Forbidden):
        return ConnectionCheck(
            CheckResult.NO_ACCESS,
            f"The {who} work, but have no access to the Messaging API for account {account_id} "
            "(HTTP 403). Check the account ID and the API user's roles.",
            exc.http_status,
        )
    if isinstance(exc, NetworkError):
        return ConnectionCheck(CheckResult.NETWORK, f"Network problem: {exc.error.description}", None)
    if isinstance(exc, RateLimited):
        return ConnectionCheck(CheckResult.OTHER, f"The API is rate limiting: {exc}", exc.http_status)
    if isinstance(exc, NotFound):
        return ConnectionCheck(
            CheckResult.OTHER,
            f"Not found (HTTP 404): check the API base URL ({api_base}) and the account ID. {exc.error.description}",
            exc.http_status,
        )
    return ConnectionCheck(CheckResult.OTHER, f"Unexpected answer: {exc.error.description}", exc.http_status)
