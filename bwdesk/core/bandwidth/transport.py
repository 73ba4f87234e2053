"""HTTP for the client: one keep-alive session whose connections note whether any byte of a request left, so that a
send can be told `failed` (nothing written) from `unknown` (docs/design.md §6.4, §6.5)."""

from __future__ import annotations

import http.client
import http.cookiejar
import logging
import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

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
from bwdesk.core.api import Timeouts, is_loopback

log = logging.getLogger(__name__)

USER_AGENT = f"bwdesk/{__version__}"


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


class HeaderAuth(AuthBase):
    """Sets a ready-made Authorization header (and keeps requests from looking into ~/.netrc)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._value
        return r

    def __repr__(self) -> str:
        return "<Authorization redacted>"


# --- what a failure means -------------------------------------------------------------------------


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


class TransportFailure(Exception):
    """No complete HTTP answer. `sent`: whether any byte of the request may have reached the server."""

    def __init__(self, reason: str, *, sent: bool, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent
        self.retryable = retryable


# --- the session ---------------------------------------------------------------------------------------


class Transport:
    """One keep-alive session to the API and token hosts: TLS against the OS trust store, proxies read once,
    no redirects, no retries behind the client's back. Thread-safe.

    `scrub` removes secrets from the failure reasons it raises (a server may echo them back).
    """

    def __init__(
        self,
        urls: Iterable[str],
        *,
        timeouts: Timeouts,
        clock: Callable[[], float],
        max_idle: float,
        scrub: Callable[[str], str],
    ) -> None:
        self.timeouts = timeouts
        self.max_idle = max_idle
        self._clock = clock
        self._scrub = scrub
        self._session = requests.Session()
        # Environment settings are read once, here, on purpose: trust_env would also let ~/.netrc and
        # REQUESTS_CA_BUNDLE override what this client decides about credentials and trust.
        self._session.trust_env = False
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.headers["Accept"] = "application/json"
        self._adapter = _Adapter(truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._session.mount("https://", self._adapter)
        self._session.mount("http://", self._adapter)
        self._proxies = {url: proxies_for(url) for url in urls}
        self._idle_lock = threading.Lock()
        self._last_used: float | None = None
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._session.close()

    def request(
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
        """One HTTP exchange, body read in full; raises `TransportFailure` if no complete answer came.

        `base` is the configured URL (API base or token URL) whose proxy settings apply.
        """
        if self._closed:
            raise TransportFailure("the client was closed", sent=False, retryable=False)
        self._forget_idle_connections()
        _wire_reset()
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers=dict(headers or {}),
                auth=HeaderAuth(authorization),
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
            raise TransportFailure(reason, sent=sent, retryable=not sent and _worth_retrying(exc)) from None
        finally:
            self._mark_used()
        return response

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


def anonymous_session() -> requests.Session:
    """A session with the client's TLS and proxy policy but no credentials at all: the OS trust store, no
    ~/.netrc or environment CA bundles (`trust_env` off), no cookies kept, no retries or redirects behind the
    caller's back. For looking at links the agent gave (`media_probe`); proxies come from `proxies_for`."""
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = _Adapter(truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def failure_reason(exc: BaseException, timeouts: Timeouts) -> str:
    """Why a request got no complete answer, in words (for a request whose being sent does not matter)."""
    return _transport_reason(exc, timeouts, sent=True)


def proxies_for(url: str) -> dict[str, str]:
    """HTTPS_PROXY/NO_PROXY for this URL; loopback is never proxied (that would expose credentials)."""
    host = urlsplit(url).hostname or ""
    if is_loopback(host):
        return {}
    return dict(get_environ_proxies(url))
