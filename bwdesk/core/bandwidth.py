"""Client for Bandwidth's Messaging API v2: send, status lookup, media, test connection.

The rules that protect customers live in `send` (DESIGN §4): a POST is retried automatically only when
it certainly was not queued, and every outcome is reported as accepted / rejected / failed / unknown.

Telling "the request never left" from "it may have reached Bandwidth" is the heart of it. Exception types
alone cannot do it reliably (a timeout or a reset during the TLS handshake looks like one after the
request was written, and requests wraps both kinds in `ConnectionError`), so the connections this client
uses note, per thread, the moment the first byte of a request is handed to the socket. Nothing written:
`failed` (and safe to retry). Anything written and no complete answer: `unknown`.

A reset on a *reused* keep-alive connection is treated the same way: `unknown`. The usual cause is
harmless (the server closed an idle connection just as we wrote), but it cannot be told from "the server
read the request, queued it, then the connection died", and HTTP only allows automatic retries of
idempotent methods. To make it rare, a connection idle for longer than `max_idle` seconds is not reused
for the next request (urllib3 already discards connections the server has visibly closed).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import logging
import random as _random
import re
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import truststore
import urllib3.exceptions as u3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.utils import get_environ_proxies
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from bwdesk import __version__
from bwdesk.core.api import (
    DEFAULT_API_BASE as DEFAULT_API_BASE,  # re-exported: part of the client's interface
)
from bwdesk.core.api import (
    DEFAULT_TOKEN_URL,
    FINAL_DELIVERY_STATUSES,
    Timeouts,
    check_api_url,
    is_loopback,
)
from bwdesk.core.credentials import BasicCredentials, Credentials, OAuth2Credentials
from bwdesk.core.errors import (
    ApiRequestError,
    ConfigError,
    Forbidden,
    InvalidRequest,
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

USER_AGENT = f"bwdesk/{__version__}"

# A cached OAuth2 token is renewed this long before the expiry the token endpoint announced.
TOKEN_EXPIRY_MARGIN = 60.0
# Backoff (seconds) before retry n (1-based) when no Retry-After was given: base * 2**(n-1), jittered.
BACKOFF_429 = 1.0
BACKOFF_CONNECT = 0.5
# The most pages `list_media` / `find_messages` follow before stopping (a guard against a server loop).
MAX_PAGES = 50


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


# --- knowing whether a request left this machine ----------------------------------------------------

_wire = threading.local()


def _wire_reset() -> None:
    _wire.tracked = False
    _wire.sent = False


class _TrackedHTTPConnection(HTTPConnection):
    """Records, for the calling thread, whether any byte of a request was handed to the socket.

    Bytes written while connecting (a proxy's CONNECT, the TLS handshake) do not count: they cannot
    make Bandwidth queue a message.
    """

    _bw_connecting = False

    def connect(self) -> None:
        _wire.tracked = True
        self._bw_connecting = True
        try:
            super().connect()
        finally:
            self._bw_connecting = False

    def send(self, data: Any) -> None:
        _wire.tracked = True
        if self.sock is None:
            self.connect()  # http.client would connect lazily here; failures now still mean "not sent"
        if not self._bw_connecting:
            _wire.sent = True
        super().send(data)


class _TrackedHTTPSConnection(_TrackedHTTPConnection, HTTPSConnection):
    pass


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


_TRACKED_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _Adapter(HTTPAdapter):
    """Keep-alive pools that verify TLS with the OS trust store and retry nothing behind our back.

    The truststore context is given to this adapter only, never injected into the `ssl` module: a library
    must not change how the rest of the process verifies certificates.
    """

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context
        # total=0, read=False: the first connect error ends the call and read errors are re-raised as they
        # are, so every retry is a decision `send` makes (this is also requests' default, spelled out).
        super().__init__(max_retries=Retry(total=0, read=False, redirect=False))

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        pool_kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _TRACKED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        fresh = proxy not in self.proxy_manager
        if not proxy.lower().startswith("socks"):
            proxy_kwargs.setdefault("ssl_context", self._ssl_context)
            proxy_kwargs.setdefault("proxy_ssl_context", self._ssl_context)
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if fresh and hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = _TRACKED_POOLS
        return manager

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # requests would point the pool at certifi's CA bundle; the OS store (truststore) decides instead.
        if url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None
        else:
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]


class _HeaderAuth(AuthBase):
    """Sets a ready-made Authorization header (and keeps requests from looking into ~/.netrc)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._value
        return r

    def __repr__(self) -> str:
        return "<Authorization redacted>"


def _basic_header(user: str, secret: str) -> str:
    raw = f"{user}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


# --- reading answers ---------------------------------------------------------------------------------


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        return None


def _bandwidth_error(data: Any, http_status: int) -> ApiError | None:
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


def _foreign_error(response: requests.Response, why: str) -> ApiError:
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


def _retry_after_seconds(response: requests.Response, wall_clock: Callable[[], float]) -> float | None:
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


# --- describing transport failures -------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (causes, contexts, urllib3 `reason`s, exceptions in args)."""
    seen: set[int] = set()
    queue: deque[BaseException] = deque([exc])
    while queue:
        current = queue.popleft()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        queue.extend(e for e in linked if isinstance(e, BaseException))


def _sent_by_type(exc: BaseException) -> bool:
    """Fallback when no tracked connection reported: may the request have been written?"""
    chain = list(_chain(exc))
    never = (
        u3.NewConnectionError,
        u3.ConnectTimeoutError,
        u3.NameResolutionError,
        u3.ProxyError,
        u3.ClosedPoolError,
        u3.LocationValueError,
        requests.exceptions.InvalidURL,
        requests.exceptions.InvalidHeader,
        requests.exceptions.InvalidSchema,  # e.g. a socks:// proxy without PySocks installed
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidProxyURL,
        ssl.SSLCertVerificationError,
    )
    return not any(isinstance(e, never) for e in chain)


def _transport_reason(exc: BaseException, timeouts: Timeouts, *, sent: bool) -> str:
    chain = list(_chain(exc))

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"the server's TLS certificate is not trusted ({e.verify_message or e.reason})"
    if has(u3.NameResolutionError, socket.gaierror):
        return "the host name could not be resolved (check the URL and the network)"
    if has(requests.exceptions.InvalidSchema, requests.exceptions.InvalidProxyURL):
        return "the proxy setting cannot be used (socks:// proxies are not supported; check HTTPS_PROXY)"
    if has(u3.ProxyError, requests.exceptions.ProxyError):
        return "the proxy could not be used (check HTTPS_PROXY / NO_PROXY)"
    if has(ConnectionRefusedError):
        return "the connection was refused (nothing is listening there)"
    if has(u3.ConnectTimeoutError) and not has(u3.NewConnectionError):
        return f"no connection within {timeouts.connect:g} s"
    if has(u3.NewConnectionError):
        for e in chain:
            if isinstance(e, OSError) and e.strerror:
                return f"the connection could not be made ({e.strerror.lower()})"
        return "the connection could not be made"
    if not sent and has(ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError):
        return "the connection was closed during the secure (TLS) handshake"
    if has(u3.ReadTimeoutError, requests.exceptions.ReadTimeout, TimeoutError):
        if not sent:
            return f"the secure connection could not be set up within {timeouts.connect:g} s"
        return f"no answer within {timeouts.read:g} s"
    if has(http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if has(ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return "the connection was reset"
    if has(requests.exceptions.ChunkedEncodingError, http.client.IncompleteRead, u3.IncompleteRead):
        return "the answer was cut off"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            return f"TLS failed ({e.reason or type(e).__name__})"
    if has(u3.ProtocolError, http.client.HTTPException):
        return "the connection broke"
    return f"the request failed ({type(exc).__name__})"


def _worth_retrying(exc: BaseException) -> bool:
    """A connection that could not be made may work next time; a TLS protocol or certificate error will not."""
    for e in _chain(exc):
        if isinstance(e, ssl.SSLError) and not isinstance(e, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return False
    return True


class _TransportFailure(Exception):
    """No complete HTTP answer. `sent`: whether any byte of the request may have reached the server."""

    def __init__(self, reason: str, *, sent: bool, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent
        self.retryable = retryable


@dataclass
class _Token:
    value: str
    expires_at: float  # on the client's clock


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
        self.timeouts = timeouts or Timeouts()
        self._credentials = credentials
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._wall_clock = wall_clock
        self.retry_budget = retry_budget
        self.max_attempts = max_attempts
        self.max_idle = max_idle

        self._account_base = f"{self.api_base}/users/{quote(self.account_id, safe='')}"
        self._messages_url = f"{self._account_base}/messages"
        self._basic: str | None = None
        self._client_basic: str | None = None
        if isinstance(credentials, BasicCredentials):
            self._basic = _basic_header(credentials.username, credentials.password)
        else:
            self._client_basic = _basic_header(credentials.client_id, credentials.client_secret)
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

        self._session = requests.Session()
        # Environment settings are read once, here, on purpose: trust_env would also let ~/.netrc and
        # REQUESTS_CA_BUNDLE override what this client decides about credentials and trust.
        self._session.trust_env = False
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.headers["Accept"] = "application/json"
        adapter = _Adapter(truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._adapter = adapter
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._proxies = {url: self._proxies_for(url) for url in (self.api_base, self.token_url)}
        self._idle_lock = threading.Lock()
        self._last_used: float | None = None
        self._closed = False

    # --- plumbing -----------------------------------------------------------------------------------

    @staticmethod
    def _proxies_for(url: str) -> dict[str, str]:
        """HTTPS_PROXY/NO_PROXY for this URL; loopback is never proxied (that would expose credentials)."""
        host = urlsplit(url).hostname or ""
        if is_loopback(host):
            return {}
        return dict(get_environ_proxies(url))

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
        self._closed = True
        self._session.close()

    @property
    def auth_kind(self) -> str:
        return self._credentials.kind.value

    def _secrets(self) -> list[str]:
        values = [self._credentials.secret, self._basic, self._client_basic]
        token = self._token
        if token is not None:
            values.append(token.value)
        out: list[str] = []
        for v in values:
            if v:
                out.append(v)
                if v.startswith("Basic "):
                    out.append(v[6:])
        return [v for v in out if len(v) >= 4]

    def _scrub(self, text: str) -> str:
        """Never let a secret that a server echoed back reach a message, a log or the history."""
        for secret in self._secrets():
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def _scrub_error(self, error: ApiError) -> ApiError:
        fields = tuple(
            FieldError(self._scrub(f.field), self._scrub(f.description)) for f in error.field_errors
        )
        return ApiError(self._scrub(error.description), error.type, error.http_status, fields)

    def _forget_idle_connections(self) -> None:
        with self._idle_lock:
            now = self._clock()
            if self._last_used is not None and now - self._last_used > self.max_idle:
                # A middlebox may have dropped the idle connection silently; start afresh (see module doc).
                log.debug("connections idle for %.0f s; reconnecting", now - self._last_used)
                self._adapter.close()
            self._last_used = now

    def _mark_used(self) -> None:
        with self._idle_lock:
            self._last_used = self._clock()

    def _request(
        self,
        method: str,
        url: str,
        *,
        authorization: str,
        base: str,
        params: Mapping[str, str] | None = None,
        data: bytes | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One HTTP exchange, body read in full; raises `_TransportFailure` if no complete answer came."""
        if self._closed:
            raise _TransportFailure("the client was closed", sent=False, retryable=False)
        self._forget_idle_connections()
        _wire_reset()
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers=dict(headers or {}),
                auth=_HeaderAuth(authorization),
                timeout=self.timeouts.as_tuple(),
                allow_redirects=False,  # credentials go to the configured hosts only
                proxies=self._proxies[base],
                verify=True,
            )
        except (
            requests.RequestException,
            u3.HTTPError,
            OSError,
            http.client.HTTPException,
            ValueError,
        ) as exc:
            sent = bool(_wire.sent) if _wire.tracked else _sent_by_type(exc)
            reason = self._scrub(_transport_reason(exc, self.timeouts, sent=sent))
            raise _TransportFailure(reason, sent=sent, retryable=not sent and _worth_retrying(exc)) from None
        finally:
            self._mark_used()
        return response

    def _host(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.netloc.rpartition("@")[2] or str(parts.hostname)

    # --- auth ------------------------------------------------------------------------------------------

    def _authorization(self) -> tuple[str, bool]:
        """(Authorization header value, whether it was fetched just now). Raises ApiRequestError subclasses."""
        if self._basic is not None:
            return self._basic, False
        with self._token_lock:
            token = self._token
            if token is not None and self._clock() < token.expires_at:
                return f"Bearer {token.value}", False
            self._token = self._fetch_token()
            return f"Bearer {self._token.value}", True

    def _invalidate_token(self, header: str) -> None:
        with self._token_lock:
            if self._token is not None and f"Bearer {self._token.value}" == header:
                self._token = None

    def _fetch_token(self) -> _Token:
        assert self._client_basic is not None
        started = self._clock()
        try:
            response = self._request(
                "POST",
                self.token_url,
                authorization=self._client_basic,
                base=self.token_url,
                data={"grant_type": "client_credentials"},
            )
        except _TransportFailure as failure:
            error = ApiError(
                f"Could not get an OAuth2 token from {self._host(self.token_url)}: {failure.reason}."
            )
            # "sent" here refers to the token request; the message itself certainly was not sent.
            raise NetworkError(error, sent=failure.sent) from None
        status = response.status_code
        data = _json_or_none(response.content)
        if status == 200 and isinstance(data, dict) and isinstance(data.get("access_token"), str):
            seconds = _lifetime(data.get("expires_in"))
            margin = min(TOKEN_EXPIRY_MARGIN, seconds / 2)
            log.info("OAuth2 token obtained (valid %.0f s)", seconds)
            return _Token(data["access_token"], started + seconds - margin)
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
            raise Unauthorized(self._scrub_error(error))
        if status == 403:
            raise Forbidden(
                self._scrub_error(
                    ApiError(f"The OAuth2 client may not get a token (HTTP 403){described}.", kind, 403)
                )
            )
        if status == 429:
            wait = _retry_after_seconds(response, self._wall_clock)
            raise RateLimited(
                wait, ApiError(f"The OAuth2 token URL is rate limiting (HTTP 429){described}.", kind, 429)
            )
        if status == 200:
            raise UnexpectedResponse(
                ApiError("The OAuth2 token URL answered without an access token.", None, 200)
            )
        raise ApiRequestError(self._scrub_error(_foreign_error(response, "could not get an OAuth2 token")))

    # --- sending ---------------------------------------------------------------------------------------

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        """POST one message and report what happened (DESIGN §4). Never raises for API or network problems.

        Retried automatically only when the message certainly was not queued: the connection could not be
        made, a 429 (within `max_attempts` and `retry_budget`), or a 401 on a cached OAuth2 token (once,
        with a fresh token).
        """
        body = json.dumps(payload, separators=(",", ":")).encode("ascii")
        headers = {"Content-Type": "application/json"}
        started = self._clock()
        posts = 0  # POSTs that may have reached the server
        tries = 0  # attempts that count against max_attempts (connect failures and 429s)
        connect_failures = 0
        token_refreshed = False
        retry_after: float | None = None

        def finish(result: SendResult) -> SendResult:
            log.info(
                "send: %s (HTTP %s, %d POST(s), %d bytes%s)",
                result.state.value,
                result.http_status,
                result.attempts,
                len(body),
                f", id {result.message_id}" if result.message_id else "",
            )
            return result

        def wait_before(kind_delay: float) -> bool:
            """Sleep before the next try if the budget allows; False when it does not."""
            if tries >= self.max_attempts:
                return False
            if self._clock() - started + kind_delay > self.retry_budget:
                return False
            self._sleep(kind_delay)
            return True

        while True:
            tries += 1
            # 1. Credentials. Without them nothing can be sent: failed.
            try:
                authorization, fresh_token = self._authorization()
            except NetworkError as exc:
                if exc.sent is False:
                    connect_failures += 1
                    if wait_before(self._backoff(BACKOFF_CONNECT, connect_failures)):
                        continue
                return finish(
                    SendResult(
                        SendState.FAILED,
                        error=exc.error,
                        attempts=posts,
                        detail=f"not sent: {exc.error.description}",
                    )
                )
            except ApiRequestError as exc:
                return finish(
                    SendResult(
                        SendState.FAILED,
                        http_status=exc.http_status,
                        error=exc.error,
                        attempts=posts,
                        retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
                        detail="not sent: the OAuth2 token could not be obtained",
                    )
                )

            # 2. The POST.
            try:
                response = self._request(
                    "POST",
                    self._messages_url,
                    authorization=authorization,
                    base=self.api_base,
                    data=body,
                    headers=headers,
                )
            except _TransportFailure as failure:
                if failure.sent:
                    posts += 1
                    return finish(
                        SendResult(
                            SendState.UNKNOWN,
                            error=ApiError(f"No answer from {self._host(self.api_base)}: {failure.reason}."),
                            attempts=posts,
                            detail=f"{failure.reason} after the request was sent; it may or may not have been queued",
                        )
                    )
                connect_failures += 1
                if failure.retryable and wait_before(self._backoff(BACKOFF_CONNECT, connect_failures)):
                    continue
                attempts_text = f" after {connect_failures} attempts" if connect_failures > 1 else ""
                return finish(
                    SendResult(
                        SendState.FAILED,
                        error=ApiError(f"Could not reach {self._host(self.api_base)}: {failure.reason}."),
                        attempts=posts,
                        detail=f"not sent{attempts_text}: {failure.reason}",
                    )
                )
            posts += 1
            status = response.status_code

            # 3. What the answer means.
            if status == 202:
                return finish(self._accepted(response, posts))
            if status == 429:
                retry_after = _retry_after_seconds(response, self._wall_clock)
                backoff = self._backoff(BACKOFF_429, tries)
                # Retry-After is honoured, but never as a reason to hammer: 0 s (or a date already past)
                # still waits the ordinary backoff.
                delay = max(retry_after * (1.0 + 0.2 * self._random()), backoff) if retry_after else backoff
                if wait_before(delay):
                    log.info("send: 429, retrying in %.1f s", delay)
                    continue
                return finish(self._queue_full(response, posts, retry_after))
            if status == 401 and self._basic is None and not fresh_token and not token_refreshed:
                # The cached token may have expired early (or been revoked): one fresh token, one more POST.
                token_refreshed = True
                tries -= 1
                self._invalidate_token(authorization)
                log.info("send: 401 with a cached OAuth2 token; fetching a new one")
                continue
            return finish(self._classify(response, posts))

    def _backoff(self, base: float, n: int) -> float:
        """base · 2^(n-1), jittered to between 50 % and 150 % so many clients do not retry in step."""
        return float(base * 2 ** (n - 1) * (0.5 + self._random()))

    def _accepted(self, response: requests.Response, posts: int) -> SendResult:
        data = _json_or_none(response.content)
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

    def _queue_full(self, response: requests.Response, posts: int, retry_after: float | None) -> SendResult:
        data = _json_or_none(response.content)
        bandwidth = _bandwidth_error(data, 429)
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
            error=self._scrub_error(error),
            attempts=posts,
            retry_after=retry_after if retry_after is not None and retry_after >= 1 else None,
            detail="not queued: HTTP 429",
        )

    def _classify(self, response: requests.Response, posts: int) -> SendResult:
        status = response.status_code
        bandwidth = _bandwidth_error(_json_or_none(response.content), status)
        if 400 <= status <= 599 and bandwidth is not None:
            # Bandwidth documents that a 4xx/5xx on creation means not sent, not billed.
            return SendResult(
                SendState.REJECTED,
                http_status=status,
                error=self._scrub_error(bandwidth),
                attempts=posts,
                detail=f"rejected by the API: HTTP {status}",
            )
        if 400 <= status <= 499:
            # A client error from whoever answered (an edge proxy, a load balancer): the request was
            # refused there, so it was not processed; but it is not Bandwidth's own wording.
            error = _foreign_error(response, "the answer is not in Bandwidth's format (a proxy?)")
            return SendResult(
                SendState.REJECTED,
                http_status=status,
                error=self._scrub_error(error),
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
            error=self._scrub_error(_foreign_error(response, why)),
            attempts=posts,
            detail=f"HTTP {status}: {why}",
        )

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
                response = self._request(
                    method,
                    url,
                    authorization=authorization,
                    base=self.api_base,
                    params=params,
                    data=data,
                    headers=headers,
                )
            except _TransportFailure as failure:
                error = ApiError(f"Could not reach {self._host(url)}: {failure.reason}.")
                raise NetworkError(error, sent=failure.sent) from None
            status = response.status_code
            log.debug("%s %s: HTTP %d, %d bytes", method, what, status, len(response.content))
            if status in ok:
                return response
            if status == 401 and self._basic is None and not fresh and not refreshed:
                refreshed = True
                self._invalidate_token(authorization)
                continue
            raise self._error_for(response)

    def _error_for(self, response: requests.Response) -> ApiRequestError:
        status = response.status_code
        data = _json_or_none(response.content)
        error = _bandwidth_error(data, status) or _foreign_error(
            response, "the answer is not in Bandwidth's format"
        )
        error = self._scrub_error(error)
        if status == 401:
            return Unauthorized(error)
        if status == 403:
            return Forbidden(error)
        if status == 404:
            return NotFound(error)
        if status == 429:
            return RateLimited(_retry_after_seconds(response, self._wall_clock), error)
        if 500 <= status <= 599:
            return ServerError(error)
        if 300 <= status <= 399 or status < 300:
            return UnexpectedResponse(error)
        return ApiRequestError(error)

    def _json(self, response: requests.Response) -> Any:
        data = _json_or_none(response.content)
        if data is None:
            raise UnexpectedResponse(
                ApiError(
                    f"HTTP {response.status_code} with a body that is not JSON.", None, response.status_code
                )
            )
        return data

    def _list_messages(self, params: Mapping[str, str], *, limit: int) -> list[MessageStatus]:
        found: list[MessageStatus] = []
        query = dict(params)
        for _ in range(MAX_PAGES):
            data = self._json(self._call("GET", self._messages_url, ok=(200,), what="messages", params=query))
            if not isinstance(data, dict):
                raise UnexpectedResponse(ApiError("The message list is not a JSON object.", None, 200))
            for item in data.get("messages") or ():
                status = _message_status(item)
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
            data = self._json(response)
            if not isinstance(data, list):
                raise UnexpectedResponse(ApiError("The media list is not a JSON array.", None, 200))
            for entry in data:
                if isinstance(entry, dict) and isinstance(entry.get("mediaName"), str):
                    size = entry.get("contentLength")
                    content = entry.get("content")
                    items.append(
                        MediaItem(
                            name=entry["mediaName"],
                            url=content
                            if isinstance(content, str) and content
                            else self.media_url(entry["mediaName"]),
                            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                        )
                    )
            next_token = response.headers.get("Continuation-Token")
            if not next_token or next_token == token:
                break
            token = next_token
        return items

    def delete_media(self, name: str) -> None:
        """Delete an uploaded media file (Bandwidth answers 204 even when it did not exist)."""
        self._call("DELETE", self.media_url(name), ok=(200, 202, 204), what="media")

    def test_connection(self) -> ConnectionCheck:
        """An authenticated, harmless GET (list media) that tells wrong credentials from a network problem."""
        who = "client ID and secret" if self._basic is None else "username and password"
        try:
            self._call("GET", f"{self._account_base}/media", ok=(200,), what="media list")
        except Unauthorized as exc:
            return ConnectionCheck(
                CheckResult.WRONG_CREDENTIALS,
                f"The {who} were not accepted (HTTP 401). Check them; they are an API user's, not the "
                "dashboard login.",
                exc.http_status,
            )
        except Forbidden as exc:
            return ConnectionCheck(
                CheckResult.NO_ACCESS,
                f"The {who} work, but have no access to the Messaging API for account {self.account_id} "
                "(HTTP 403). Check the account ID and the API user's roles.",
                exc.http_status,
            )
        except NetworkError as exc:
            return ConnectionCheck(CheckResult.NETWORK, f"Network problem: {exc.error.description}", None)
        except RateLimited as exc:
            return ConnectionCheck(CheckResult.OTHER, f"The API is rate limiting: {exc}", exc.http_status)
        except NotFound as exc:
            return ConnectionCheck(
                CheckResult.OTHER,
                f"Not found (HTTP 404): check the API base URL ({self.api_base}) and the account ID. {exc.error.description}",
                exc.http_status,
            )
        except ApiRequestError as exc:
            return ConnectionCheck(
                CheckResult.OTHER, f"Unexpected answer: {exc.error.description}", exc.http_status
            )
        return ConnectionCheck(
            CheckResult.OK, f"Connected: the {who} work for account {self.account_id}.", 200
        )


def _lifetime(value: Any) -> float:
    """A token's `expires_in` in seconds (a number or a numeric string); an hour if it is missing or odd."""
    if isinstance(value, bool):
        return 3600.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 3600.0
    return seconds if 0 < seconds < 10**7 else 3600.0


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


def _message_status(item: Any) -> MessageStatus | None:
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
