"""Errors the UI and CLI show to people: `BwdeskError` and the errors of API calls other than sending."""

from __future__ import annotations

from bwdesk.core.outcome import ApiError, Trouble, trouble_of_answer


class BwdeskError(Exception):
    """A problem the user can understand and act on; `str()` is the message to show (never a secret)."""


class ConfigError(BwdeskError):
    """The configuration is missing or invalid (the CLI exits 2; the UI opens the settings).

    `setting` names the settings field to fix first, when one does (a settings key, or "password" /
    "client_secret" for the secret), so the window can open the settings there.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class InvalidRequest(BwdeskError):
    """The caller asked for something the API cannot express (e.g. a media name with `..` in it); nothing was sent."""


# --- errors of API calls other than sending (status lookup, media, test connection) ------------------


class ApiRequestError(BwdeskError):
    """An API call did not succeed; `.error` says how (HTTP status, Bandwidth's type and description).

    Sending never raises these: `BandwidthClient.send` reports every outcome as a `SendResult`.
    """

    def __init__(self, error: ApiError, message: str | None = None) -> None:
        super().__init__(message or error.description)
        self.error = error

    @property
    def http_status(self) -> int | None:
        return self.error.http_status


class Unauthorized(ApiRequestError):
    """401: the username/password (or OAuth2 client id/secret) was not accepted."""


class Forbidden(ApiRequestError):
    """403: the credentials are valid but may not use this account or the Messaging API."""


class NotFound(ApiRequestError):
    """404: a wrong path (often a wrong API base URL or account id) or a missing media file."""


class RateLimited(ApiRequestError):
    """429: too many requests; `retry_after` is the number of seconds the API asked to wait, if it said."""

    def __init__(self, retry_after: float | None, error: ApiError | None = None) -> None:
        if error is None:
            error = ApiError("Too many requests; wait before trying again.", "rate-limited", 429)
        message = error.description
        if retry_after is not None:
            message = f"{message} (wait {format_wait(retry_after)})"
        super().__init__(error, message)
        self.retry_after = retry_after


class ServerError(ApiRequestError):
    """5xx: the API (or a proxy in front of it) failed."""


class UnexpectedResponse(ApiRequestError):
    """The server answered, but not in a way the API documents (a redirect, a body that is not JSON, ...)."""


class NetworkError(ApiRequestError):
    """No HTTP answer: the connection could not be made, TLS failed, or the answer never came.

    `sent` is False when the request certainly never left this machine, True when it may have, and None
    when that could not be told.
    """

    def __init__(self, error: ApiError, *, sent: bool | None = None) -> None:
        super().__init__(error)
        self.sent = sent


def trouble_of(exc: BaseException) -> Trouble | None:
    """What a failed API call (or a missing configuration) is about, as `SendResult.trouble` says it for a
    send: the window shows account and connection trouble with the setting to check; the CLI names it."""
    if isinstance(exc, ConfigError):
        return Trouble.SETUP
    if isinstance(exc, Unauthorized):
        return Trouble.SIGN_IN
    if isinstance(exc, Forbidden):
        return Trouble.ACCESS
    if isinstance(exc, NetworkError):
        return Trouble.CONNECTION
    if isinstance(exc, RateLimited):
        return Trouble.SERVICE
    if isinstance(exc, ApiRequestError):
        return trouble_of_answer(exc.http_status, exc.error)
    return None


def format_wait(seconds: float) -> str:
    """A wait in words an agent reads at a glance: "45 s", "3 min", "1 h 5 min"."""
    total = max(0, round(seconds))
    if total < 90:
        return f"{total} s"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
