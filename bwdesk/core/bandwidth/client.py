"""`BandwidthClient`: one account's calls to the Messaging API v2 (send, status lookups, media, test connection).
`send` retries only when the message certainly was not queued, and reports every outcome rather than raising
(docs/design.md §6)."""

from __future__ import annotations

import json
import logging
import random as _random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from bwdesk.core.api import DEFAULT_TOKEN_URL, Timeouts, check_api_url
from bwdesk.core.attachments import guess_type_from_name, sniff_image_type
from bwdesk.core.bandwidth import answers
from bwdesk.core.bandwidth.answers import CheckResult, ConnectionCheck, MediaItem, MessageStatus
from bwdesk.core.bandwidth.auth import Authorization, Token
from bwdesk.core.bandwidth.transport import Transport, TransportFailure
from bwdesk.core.credentials import BasicCredentials, Credentials, OAuth2Credentials
from bwdesk.core.errors import (
    ApiRequestError,
    ConfigError,
    InvalidRequest,
    NetworkError,
    RateLimited,
    UnexpectedResponse,
    trouble_of,
)
from bwdesk.core.media_info import MediaInfo
from bwdesk.core.outcome import ApiError, SendResult, SendState

log = logging.getLogger(__name__)

# Backoff (seconds) before retry n (1-based) when no Retry-After was given: base * 2**(n-1), jittered.
BACKOFF_429 = 1.0
BACKOFF_CONNECT = 0.5
# The most pages `list_media` / `find_messages` follow before stopping (a guard against a server loop).
MAX_PAGES = 50


# --- the retry policy's vocabulary ----------------------------------------------------------------------


@dataclass
class _SendRun:
    """One send so far: what the retry policy counts."""

    started: float  # on the client's clock
    tries: int = 0  # tries that count against max_attempts (connect failures and 429s)
    posts: int = 0  # POSTs that may have reached the server
    connect_failures: int = 0
    token_refreshed: bool = False


@dataclass(frozen=True)
class _RetryAfter:
    """Try again after `delay` seconds if `max_attempts` and `retry_budget` allow; if not, `otherwise` stands."""

    delay: float
    otherwise: SendResult
    why: str | None = None  # logged when the retry happens


class _RetryNow:
    """Try again at once, uncounted: one fresh OAuth2 token after a 401 on a cached one."""


_RETRY_NOW = _RetryNow()

_Step = SendResult | _RetryAfter | _RetryNow


class BandwidthClient:
    """One account's connection to the Messaging API: one keep-alive session, thread-safe.

    `clock`, `sleep`, `random` and `wall_clock` are injectable so tests can check backoff and Retry-After
    without real sleeping. `retry_budget` bounds the time spent on automatic retries of one send, and
    `max_attempts` the tries (connect failures and 429s together).
    """

    def __init__(
        self,
        api_base: str,
        account_id: str,
        credentials: Credentials,
        *,
        token_url: str = DEFAULT_TOKEN_URL,
        timeouts: Timeouts | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        retry_budget: float = 30.0,
        max_attempts: int = 3,
        max_idle: float = 15.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not account_id or not account_id.strip():
            raise ConfigError("The account id is empty; it is the number shown in Bandwidth's dashboard.")
        if not isinstance(credentials, BasicCredentials | OAuth2Credentials):
            raise ConfigError("Credentials must be a username/password or an OAuth2 client id/secret.")
        if not credentials.secret:
            raise ConfigError("The password (or client secret) is empty.")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.api_base = check_api_url(api_base, "API base URL")
        self.token_url = token_url
        if isinstance(credentials, OAuth2Credentials):
            self.token_url = check_api_url(token_url, "OAuth2 token URL")
        self.account_id = account_id.strip()
        self._credentials = credentials
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._wall_clock = wall_clock
        self.retry_budget = retry_budget
        self.max_attempts = max_attempts

        self._account_base = f"{self.api_base}/users/{quote(self.account_id, safe='')}"
        self._messages_url = f"{self._account_base}/messages"
        self._auth = Authorization(credentials, clock)
        self._transport = Transport(
            (self.api_base, self.token_url),
            timeouts=timeouts or Timeouts(),
            clock=clock,
            max_idle=max_idle,
            scrub=self._auth.scrub,
        )

    # --- plumbing -----------------------------------------------------------------------------------

    @property
    def timeouts(self) -> Timeouts:
        return self._transport.timeouts

    @timeouts.setter
    def timeouts(self, value: Timeouts) -> None:
        self._transport.timeouts = value

    @property
    def max_idle(self) -> float:
        """Seconds a kept-alive connection may idle and still be reused."""
        return self._transport.max_idle

    @max_idle.setter
    def max_idle(self, value: float) -> None:
        self._transport.max_idle = value

    def __repr__(self) -> str:
        who = (
            f"basic user={self._credentials.username!r}"
            if isinstance(self._credentials, BasicCredentials)
            else f"oauth2 client_id={self._credentials.client_id!r}"
        )
        return f"BandwidthClient(api_base={self.api_base!r}, account_id={self.account_id!r}, {who})"

    def __enter__(self) -> BandwidthClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    @property
    def auth_kind(self) -> str:
        return self._credentials.kind.value

    def _host(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.netloc.rpartition("@")[2] or str(parts.hostname)

    def _authorization(self) -> tuple[str, bool]:
        """(Authorization header value, whether it was fetched just now). Raises ApiRequestError subclasses."""
        return self._auth.header(self._fetch_token)

    def _fetch_token(self) -> Token:
        assert self._auth.client_basic is not None
        started = self._clock()
        try:
            response = self._transport.request(
                "POST",
                self.token_url,
                authorization=self._auth.client_basic,
                base=self.token_url,
                data={"grant_type": "client_credentials"},
            )
        except TransportFailure as failure:
            error = ApiError(
                f"Could not get an OAuth2 token from {self._host(self.token_url)}: {failure.reason}."
            )
            # "sent" here refers to the token request; the message itself certainly was not sent.
            raise NetworkError(error, sent=failure.sent) from None
        return answers.token_from(response, started, self._auth.scrub_error, self._wall_clock)

    # --- sending: the retry policy --------------------------------------------------------------------

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        """POST one message and report what happened (docs/design.md §6). Never raises for API or network problems.

        Tried again only when the message certainly was not queued: the connection could not be made, or
        a 429 (each after a jittered backoff, or the Retry-After asked for, within `max_attempts` tries
        and `retry_budget` seconds); or a 401 on a cached OAuth2 token (at once, once, with a fresh
        token). Every other outcome is final.
        """
        body = json.dumps(payload, separators=(",", ":")).encode("ascii")
        run = _SendRun(started=self._clock())
        while True:
            run.tries += 1
            step = self._try_once(body, run)
            if isinstance(step, _RetryNow):
                continue
            if isinstance(step, _RetryAfter):
                if self._wait_for_retry(run, step):
                    continue
                step = step.otherwise
            log.info(
                "send: %s (HTTP %s, %d POST(s), %d bytes%s)",
                step.state.value,
                step.http_status,
                step.attempts,
                len(body),
                f", id {step.message_id}" if step.message_id else "",
            )
            return step

    def _wait_for_retry(self, run: _SendRun, retry: _RetryAfter) -> bool:
        """Sleep before the next try if the tries and the time budget allow it; False when they do not."""
        if run.tries >= self.max_attempts:
            return False
        if self._clock() - run.started + retry.delay > self.retry_budget:
            return False
        self._sleep(retry.delay)
        if retry.why:
            log.info("send: %s, retrying in %.1f s", retry.why, retry.delay)
        return True

    def _backoff(self, base: float, n: int) -> float:
        """base · 2^(n-1), jittered to between 50 % and 150 % so many clients do not retry in step."""
        return float(base * 2 ** (n - 1) * (0.5 + self._random()))

    def _try_once(self, body: bytes, run: _SendRun) -> _Step:
        """One try: credentials, then the POST, then what its answer means to the policy."""
        try:
            authorization, fresh_token = self._authorization()
        except ApiRequestError as exc:
            return self._no_credentials(exc, run)
        try:
            response = self._transport.request(
                "POST",
                self._messages_url,
                authorization=authorization,
                base=self.api_base,
                data=body,
                headers={"Content-Type": "application/json"},
            )
        except TransportFailure as failure:
            return self._no_answer(failure, run)
        run.posts += 1
        return self._answered(response, run, authorization, fresh_token)

    def _no_credentials(self, exc: ApiRequestError, run: _SendRun) -> _Step:
        """Without credentials nothing was sent: failed; a token host that could not be reached is retried."""
        if isinstance(exc, NetworkError):
            failed = SendResult(
                SendState.FAILED,
                error=exc.error,
                attempts=run.posts,
                detail=f"not sent: {exc.error.description}",
            )
            if exc.sent is not False:
                return failed
            run.connect_failures += 1
            return _RetryAfter(self._backoff(BACKOFF_CONNECT, run.connect_failures), failed)
        return SendResult(
            SendState.FAILED,
            http_status=exc.http_status,
            error=exc.error,
            attempts=run.posts,
            retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
            detail="not sent: the OAuth2 token could not be obtained",
            cause=trouble_of(exc),
        )

    def _no_answer(self, failure: TransportFailure, run: _SendRun) -> _Step:
        """No complete answer: unknown if any byte of the POST left; else failed, retried if it may work."""
        host = self._host(self.api_base)
        if failure.sent:
            run.posts += 1
            return SendResult(
                SendState.UNKNOWN,
                error=ApiError(f"No answer from {host}: {failure.reason}."),
                attempts=run.posts,
                detail=f"{failure.reason} after the request was sent; it may or may not have been queued",
            )
        run.connect_failures += 1
        attempts_text = f" after {run.connect_failures} attempts" if run.connect_failures > 1 else ""
        failed = SendResult(
            SendState.FAILED,
            error=ApiError(f"Could not reach {host}: {failure.reason}."),
            attempts=run.posts,
            detail=f"not sent{attempts_text}: {failure.reason}",
        )
        if not failure.retryable:
            return failed
        return _RetryAfter(self._backoff(BACKOFF_CONNECT, run.connect_failures), failed)

    def _answered(
        self, response: requests.Response, run: _SendRun, authorization: str, fresh_token: bool
    ) -> _Step:
        """An answer came: 202 accepted, 429 retried (bounded), one 401 on a cached token retried, else final."""
        status = response.status_code
        if status == 202:
            return answers.accepted(response, run.posts)
        if status == 429:
            retry_after = answers.retry_after_seconds(response, self._wall_clock)
            backoff = self._backoff(BACKOFF_429, run.tries)
            # Retry-After is honoured, but never as a reason to hammer: 0 s (or a date already past)
            # still waits the ordinary backoff.
            delay = max(retry_after * (1.0 + 0.2 * self._random()), backoff) if retry_after else backoff
            refused = answers.queue_full(response, run.posts, retry_after, self._auth.scrub_error)
            return _RetryAfter(delay, refused, why="429")
        if status == 401 and self._auth.uses_tokens and not fresh_token and not run.token_refreshed:
            # The cached token may have expired early (or been revoked): one fresh token, one more POST.
            run.token_refreshed = True
            run.tries -= 1
            self._auth.invalidate(authorization)
            log.info("send: 401 with a cached OAuth2 token; fetching a new one")
            return _RETRY_NOW
        return answers.classify(response, run.posts, self._auth.scrub_error)

    # --- other calls (they raise ApiRequestError subclasses) -----------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...],
        what: str,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """An authenticated call that is not a send: one try (plus one fresh OAuth2 token on a 401)."""
        refreshed = False
        while True:
            authorization, fresh = self._authorization()
            try:
                response = self._transport.request(
                    method,
                    url,
                    authorization=authorization,
                    base=self.api_base,
                    params=params,
                    data=data,
                    headers=headers,
                )
            except TransportFailure as failure:
                error = ApiError(f"Could not reach {self._host(url)}: {failure.reason}.")
                raise NetworkError(error, sent=failure.sent) from None
            status = response.status_code
            log.debug("%s %s: HTTP %d, %d bytes", method, what, status, len(response.content))
            if status in ok:
                return response
            if status == 401 and self._auth.uses_tokens and not fresh and not refreshed:
                refreshed = True
                self._auth.invalidate(authorization)
                continue
            raise answers.call_error(response, self._auth.scrub_error, self._wall_clock)

    def _list_messages(self, params: Mapping[str, str], *, limit: int) -> list[MessageStatus]:
        found: list[MessageStatus] = []
        query = dict(params)
        for _ in range(MAX_PAGES):
            data = answers.json_body(
                self._call("GET", self._messages_url, ok=(200,), what="messages", params=query)
            )
            if not isinstance(data, dict):
                raise UnexpectedResponse(ApiError("The message list is not a JSON object.", None, 200))
            for item in data.get("messages") or ():
                status = answers.message_status(item)
                if status is not None:
                    found.append(status)
            page = data.get("pageInfo")
            token = page.get("nextPageToken") if isinstance(page, dict) else None
            if (
                not token
                or not isinstance(token, str)
                or len(found) >= limit
                or token == query.get("pageToken")
            ):
                break
            query["pageToken"] = token
        return found[:limit]

    def message_status(self, message_id: str) -> MessageStatus | None:
        """The current delivery status of one message, or None if Bandwidth does not (yet) list it."""
        if not message_id:
            raise InvalidRequest("A message id is needed to look up its status.")
        for item in self._list_messages({"messageId": message_id}, limit=100):
            if item.message_id == message_id:
                return item
        return None

    def find_messages(
        self,
        source: str,
        destination: str,
        since: datetime,
        until: datetime | None = None,
        *,
        limit: int = 100,
    ) -> list[MessageStatus]:
        """Messages from `source` to `destination` received in [since, until]: "did my unknown send go out?"."""
        params = {"sourceTn": source, "destinationTn": destination, "fromDateTime": _iso(since)}
        if until is not None:
            params["toDateTime"] = _iso(until)
        params["limit"] = str(min(max(limit, 1), 1000))
        return self._list_messages(params, limit=limit)

    def media_url(self, name: str) -> str:
        """The URL of an uploaded media file, as it goes into a message's `media` list."""
        return f"{self._account_base}/media/{_media_path(name)}"

    def upload_media(self, name: str, data: bytes, content_type: str) -> str:
        """PUT a file to Bandwidth's media store (same name overwrites) and return its URL for `media`."""
        if not content_type or "/" not in content_type:
            raise InvalidRequest(
                f"The content type {content_type!r} of {name!r} is not a MIME type like image/png."
            )
        url = self.media_url(name)
        self._call(
            "PUT",
            url,
            ok=(200, 201, 204),
            what="media",
            data=bytes(data),
            headers={"Content-Type": content_type},
        )
        log.info("media uploaded (%d bytes, %s)", len(data), content_type)
        return url

    def list_media(self) -> list[MediaItem]:
        """Every uploaded media file, following `Continuation-Token` pages."""
        items: list[MediaItem] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            headers = {"Continuation-Token": token} if token else None
            response = self._call(
                "GET", f"{self._account_base}/media", ok=(200,), what="media list", headers=headers
            )
            items.extend(answers.media_items(answers.json_body(response), self.media_url))
            next_token = response.headers.get("Continuation-Token")
            if not next_token or next_token == token:
                break
            token = next_token
        return items

    def owns_media(self, url: str) -> bool:
        """Whether `url` is one of this account's uploaded files (which only its credentials can fetch)."""
        return url.startswith(f"{self._account_base}/media/")

    def look_at_media(self, url: str, read_cap: int) -> MediaInfo:
        """The composer's look at one of this account's uploaded files (`owns_media`): authenticated, to the
        API host only, since the files are not public. HEAD (is it still there? uploads are kept 48 hours),
        then the bytes of a file named as an image of at most `read_cap` bytes, for a thumbnail. Bandwidth
        serves every file as application/octet-stream, so the type comes from the name and the bytes."""
        try:
            head = self._call("HEAD", url, ok=(200, 404, 405, 410, 501), what="media")
            status = head.status_code
            if status in (404, 410):
                return MediaInfo(url, status)
            length = head.headers.get("Content-Length", "").strip()
            size = int(length) if status == 200 and length.isdigit() else None
            named = guess_type_from_name(PurePosixPath(urlsplit(url).path).name) or ""
            if not named.startswith("image/") or (size is not None and size > read_cap):
                return MediaInfo(url, status if status == 200 else None, named or None, size)
            data = self._call("GET", url, ok=(200,), what="media").content
        except ApiRequestError as exc:
            return MediaInfo(url, problem=str(exc))
        sniffed = sniff_image_type(data[:64])
        fits = len(data) <= read_cap
        return MediaInfo(url, 200, named, len(data), sniffed, data if sniffed and fits else b"")

    def delete_media(self, name: str) -> None:
        """Delete an uploaded media file (Bandwidth answers 204 even when it did not exist)."""
        self._call("DELETE", self.media_url(name), ok=(200, 202, 204), what="media")

    def test_connection(self) -> ConnectionCheck:
        """An authenticated, harmless GET (list media) that tells wrong credentials from a network problem."""
        who = "client ID and secret" if self._auth.uses_tokens else "username and password"
        try:
            self._call("GET", f"{self._account_base}/media", ok=(200,), what="media list")
        except ApiRequestError as exc:
            return answers.failed_check(exc, who, self.account_id, self.api_base)
        return ConnectionCheck(
            CheckResult.OK, f"Connected: the {who} work for account {self.account_id}.", 200
        )


def _iso(moment: datetime) -> str:
    """UTC with milliseconds and Z, the form the list API's examples use (naive means local time)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _media_path(name: str) -> str:
    """A media id as a URL path: slashes stay literal (inbound media ids have them), the rest is encoded."""
    if not name:
        raise InvalidRequest("A media file needs a name.")
    segments = name.split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise InvalidRequest(
            f"The media name {name!r} has an empty, '.' or '..' part; use a plain file name."
        )
    return "/".join(quote(s, safe="") for s in segments)
