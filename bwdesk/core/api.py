"""Fixed facts of the Bandwidth API (default URLs, timeouts, final delivery statuses) and the loopback-only http check,
kept apart from `bandwidth/` so that settings, history and the window need not load requests (docs/design.md §2.2)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from bwdesk.core.errors import ConfigError

DEFAULT_API_BASE = "https://messaging.bandwidth.com/api/v2"
DEFAULT_TOKEN_URL = "https://api.bandwidth.com/api/v1/oauth2/token"

# Delivery statuses that will not change any more (the list API's `messageStatus`).
FINAL_DELIVERY_STATUSES = frozenset({"DELIVERED", "FAILED", "UNDELIVERED", "DLR_EXPIRED"})


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, and for each read of the answer."""

    connect: float = 5.0
    read: float = 30.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


def is_loopback(host: str) -> bool:
    """True for this machine's own addresses (where plain http cannot leak anything)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str, what: str) -> str:
    """Refuse URLs that would leak credentials: anything but https, except plain http to this machine."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ConfigError(
            f"The {what} {url!r} is not a valid URL ({exc}); expected e.g. {DEFAULT_API_BASE!r}."
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"The {what} {url!r} is not an http(s) URL; expected e.g. {DEFAULT_API_BASE!r}.")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"The {what} must not contain a user name or password; put credentials in the settings."
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"The {what} {url!r} must not have a query (?…) or fragment (#…).")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"The {what} {url!r} uses plain http to another machine, which would send the credentials "
            "unencrypted. Use https (plain http is only allowed to 127.0.0.1 / localhost)."
        )
    return url.rstrip("/")
