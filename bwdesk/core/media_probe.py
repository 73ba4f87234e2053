"""A look at a media link before it is sent (does it answer, its type and size, an image's first bytes), asking as
little as it can and with no credentials (docs/design.md §8.7)."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from bwdesk.core.api import Timeouts, is_loopback
from bwdesk.core.attachments import sniff_image_type
from bwdesk.core.bandwidth.transport import anonymous_session, failure_reason, proxies_for
from bwdesk.core.media_info import NO_TYPE, MediaInfo

PROBE_TIMEOUTS = Timeouts(connect=3.0, read=5.0)
PROBE_DEADLINE = 10.0  # seconds for a whole look, redirects and reading included
READ_CAP = 4_000_000  # bytes: a little over the largest file MMS can carry, so any sendable image previews
MAX_REDIRECTS = 5
_SNIFF = 64  # bytes enough to tell an image by its header
_CHUNK = 65_536
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str, int], list[str]]


class _Refused(Exception):
    """The look stops here; the message says why (no request was made for it)."""


class _Deadline(Exception):
    pass


def _resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class MediaProbe:
    """Looks at media links (docs/design.md §8.7), for one thread at a time; `resolve` and `clock` are for tests."""

    def __init__(
        self,
        *,
        timeouts: Timeouts = PROBE_TIMEOUTS,
        deadline: float = PROBE_DEADLINE,
        read_cap: int = READ_CAP,
        resolve: Resolver = _resolve,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeouts = timeouts
        self.deadline = deadline
        self.read_cap = read_cap
        self._resolve = resolve
        self._clock = clock
        self._session = anonymous_session()
        self._session.headers["Accept"] = "*/*"
        self._session.headers["Accept-Encoding"] = "identity"

    def close(self) -> None:
        self._session.close()

    def probe(self, url: str) -> MediaInfo:
        """Look at `url`; never raises for anything the link or the network does (`problem` says it)."""
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return MediaInfo(url, problem="it is not a valid link")
        if parts.scheme not in ("http", "https") or not host:
            return MediaInfo(url, problem="only http and https links can be looked at")
        if parts.username is not None or parts.password is not None:
            return MediaInfo(url, problem="it holds a user name or password, so it was not fetched")
        ends = self._clock() + self.deadline
        try:
            return self._look(url, local_allowed=is_loopback(host), ends=ends)
        except _Refused as refused:
            return MediaInfo(url, problem=str(refused))
        except _Deadline:
            return MediaInfo(url, problem=f"no complete answer within {self.deadline:g} s")
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
            ValueError,
        ) as exc:
            return MediaInfo(url, problem=failure_reason(exc, self.timeouts))

    # --- the steps --------------------------------------------------------------------------------------

    def _look(self, url: str, *, local_allowed: bool, ends: float) -> MediaInfo:
        head = self._follow("HEAD", url, local_allowed=local_allowed, ends=ends)
        final_url = head.url
        status = head.status_code
        content_type = _content_type(head)
        size = _length(head)
        head.close()
        # Any other answer to HEAD may mean "not HEAD" rather than "not there": GET tells.
        refused = not 200 <= status < 300
        named_image = _may_be_image(content_type)
        wants_bytes = named_image and (size is None or size <= self.read_cap)
        if not refused and content_type is not None and size is not None and not wants_bytes:
            return MediaInfo(url, status, content_type, size)
        # HEAD said too little (or no): GET, as a range, reading only what is needed.
        get = self._follow("GET", final_url, local_allowed=local_allowed, ends=ends, ranged=True)
        try:
            status = get.status_code
            if not 200 <= status < 300:
                return MediaInfo(url, status, _content_type(get), None)
            content_type = _content_type(get) or content_type
            size = _total_size(get) or size
            named_image = _may_be_image(content_type)
            limit = self.read_cap if named_image and (size is None or size <= self.read_cap) else _SNIFF
            data, complete = self._read(get, limit, ends)
        finally:
            get.close()
        if complete and size is None:
            size = len(data)
        sniffed = sniff_image_type(data[:_SNIFF])
        image = data if sniffed is not None and complete else b""
        return MediaInfo(url, status, content_type, size, sniffed, image)

    def _follow(
        self, method: str, url: str, *, local_allowed: bool, ends: float, ranged: bool = False
    ) -> requests.Response:
        """One request, following redirects by hand under the rules of docs/design.md §8.7."""
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            proxies = proxies_for(current)
            scheme = urlsplit(current).scheme
            proxied = bool(proxies.get(scheme) or proxies.get("all"))
            self._check_target(current, local_allowed=local_allowed, proxied=proxied)
            if self._clock() > ends:
                raise _Deadline
            headers = {"Range": f"bytes=0-{self.read_cap - 1}"} if ranged else {}
            response = self._session.request(
                method,
                current,
                headers=headers,
                timeout=self.timeouts.as_tuple(),
                allow_redirects=False,
                stream=True,
                proxies=proxies,
                verify=True,
            )
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            response.close()
            current = urljoin(current, location)
        raise _Refused(f"it redirects more than {MAX_REDIRECTS} times")

    def _check_target(self, url: str, *, local_allowed: bool, proxied: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _Refused(f"it redirects to a {parts.scheme or 'relative'}: address, which was not followed")
        if parts.username is not None or parts.password is not None:
            raise _Refused("it redirects to an address with a user name or password, which was not followed")
        host = parts.hostname or ""
        if not local_allowed and self._points_here(host, parts.port or _default_port(parts.scheme), proxied):
            raise _Refused("it leads to this computer, which is not looked at")

    def _points_here(self, host: str, port: int, proxied: bool) -> bool:
        if is_loopback(host) or _is_here(host):
            return True
        if proxied:  # the proxy resolves the name; this computer's resolver has no say
            return False
        try:
            addresses = self._resolve(host, port)
        except OSError:
            return False  # the request fails on its own, with its own reason
        return any(_is_here(address) for address in addresses)

    def _read(self, response: requests.Response, limit: int, ends: float) -> tuple[bytes, bool]:
        """Up to `limit` bytes of the body, undecoded; (bytes, whether that was all of it)."""
        raw = response.raw
        # read1 returns what one receive brought (urllib3 2), so a server dribbling bytes meets the deadline;
        # read would wait for the whole chunk.
        read = getattr(raw, "read1", raw.read)
        chunks: list[bytes] = []
        got = 0
        while got < limit:
            if self._clock() > ends:
                raise _Deadline
            chunk = read(min(_CHUNK, limit - got), decode_content=False)
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
            got += len(chunk)
        more = read(1, decode_content=False)
        return b"".join(chunks), not more


def _is_here(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _content_type(response: requests.Response) -> str | None:
    value = response.headers.get("Content-Type", "")
    kind = value.split(";", 1)[0].strip().lower()
    return kind or None


def _may_be_image(content_type: str | None) -> bool:
    """Worth reading for a thumbnail: named an image, or named nothing in particular."""
    return content_type is None or content_type.startswith("image/") or content_type in NO_TYPE


def _length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def _total_size(response: requests.Response) -> int | None:
    """The whole file's size: a range answer's `Content-Range: bytes 0-99/1234`, else the length."""
    if response.status_code == 206:
        total = response.headers.get("Content-Range", "").rpartition("/")[2].strip()
        return int(total) if total.isdigit() else None
    return _length(response)
