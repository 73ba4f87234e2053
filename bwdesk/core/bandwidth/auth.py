"""Who the client is to Bandwidth: the Authorization header (Basic, or a cached OAuth2 token), and the
redaction that keeps every secret out of messages, logs and the history."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass

from bwdesk.core.credentials import BasicCredentials, Credentials
from bwdesk.core.outcome import ApiError, FieldError


@dataclass
class Token:
    value: str
    expires_at: float  # on the client's clock


def basic_header(user: str, secret: str) -> str:
    raw = f"{user}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Authorization:
    """The Authorization header for one account's requests. Thread-safe: one token fetch at a time."""

    def __init__(self, credentials: Credentials, clock: Callable[[], float]) -> None:
        self._credentials = credentials
        self._clock = clock
        self.basic: str | None = None  # the header for every request with a username and password
        self.client_basic: str | None = None  # the header for the token request with OAuth2
        if isinstance(credentials, BasicCredentials):
            self.basic = basic_header(credentials.username, credentials.password)
        else:
            self.client_basic = basic_header(credentials.client_id, credentials.client_secret)
        self._token: Token | None = None
        self._lock = threading.Lock()

    @property
    def uses_tokens(self) -> bool:
        return self.basic is None

    def header(self, fetch_token: Callable[[], Token]) -> tuple[str, bool]:
        """(Authorization header value, whether its token was fetched just now).

        `fetch_token` is called, under the lock, when no unexpired token is cached; what it raises
        (ApiRequestError subclasses) propagates.
        """
        if self.basic is not None:
            return self.basic, False
        with self._lock:
            token = self._token
            if token is not None and self._clock() < token.expires_at:
                return f"Bearer {token.value}", False
            self._token = fetch_token()
            return f"Bearer {self._token.value}", True

    def invalidate(self, header: str) -> None:
        """Forget the token of `header` (a 401 said it is no longer good), unless another thread already did."""
        with self._lock:
            if self._token is not None and f"Bearer {self._token.value}" == header:
                self._token = None

    def _secrets(self) -> list[str]:
        values = [self._credentials.secret, self.basic, self.client_basic]
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

    def scrub(self, text: str) -> str:
        """Never let a secret that a server echoed back reach a message, a log or the history."""
        for secret in self._secrets():
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def scrub_error(self, error: ApiError) -> ApiError:
        fields = tuple(FieldError(self.scrub(f.field), self.scrub(f.description)) for f in error.field_errors)
        return ApiError(self.scrub(error.description), error.type, error.http_status, fields)
