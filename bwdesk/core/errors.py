"""Errors the UI and CLI show to people, and Bandwidth's delivery error codes in words."""

from __future__ import annotations

from bwdesk.core.outcome import ApiError


class BwdeskError(Exception):
    """A problem the user can understand and act on; `str()` is the message to show (never a secret)."""


class ConfigError(BwdeskError):
    """The configuration is missing or invalid (the CLI exits 2; the UI opens the settings)."""


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


# --- Bandwidth's delivery error codes (reference §6.3), in words for a support agent ----------------

_RETRY_NO = "sending it again will fail the same way"

_ERROR_CODES: dict[int, str] = {
    # Rejected by Bandwidth before it went anywhere (not billed).
    4001: "the account is not allowed to use this messaging service",
    4301: "the message text uses an encoding that could not be sent",
    4302: "the From number is not a valid number",
    4303: "the recipient's number is not a valid number",
    4350: "the message is not in a form the destination accepts",
    4360: "the message expired before it could be sent (its expiration time passed)",
    4401: "Bandwidth could not find a route for this message",
    4403: "the From number is not allowed to send this message",
    4404: "the recipient's number is not allowed to receive this message",
    4405: "the From number is not in service (unallocated)",
    4406: "the recipient's number is not in service (unallocated)",
    4407: "the From number is not set up on this Bandwidth account",
    4408: "the recipient's number is not set up on this Bandwidth account",
    4409: "the From number's profile cannot send this — often the destination cannot receive MMS",
    4410: "a media file could not be downloaded from its URL",
    4411: "the message is too large (too much media in total)",
    4412: "a media file's content or type is not accepted",
    4420: "the recipient's carrier does not exist or is unknown",
    4421: "there is no destination for this number",
    4431: "messages to short codes are not allowed",
    4432: "messages to this country are not allowed on this account",
    4433: "messages to toll-free numbers are not allowed",
    4434: "this toll-free number may not message this recipient",
    4435: "too many recipients in one group message (at most 10)",
    4451: "the message was sent with the wrong account id",
    4452: "the application id does not match the From number",
    4470: "Bandwidth flagged the message as spam (billed)",
    4481: "the From number is blocked",
    4482: "the recipient's number is blocked",
    4492: "messages to emergency numbers are not allowed",
    4493: "the account is not authorised to send this message",
    # Rejected by the recipient's carrier (billed).
    4700: "the carrier does not offer this kind of service to the number",
    4701: "the recipient's phone service is unavailable",
    4702: "the recipient is unavailable (phone off or out of reach)",
    4711: "the carrier rejected the message as too large",
    4712: "the carrier rejected a media file's content or type",
    4720: "the number cannot receive texts — often a landline",
    4721: "the recipient's number has been deactivated",
    4730: "no route to the recipient's carrier",
    4740: "the carrier rejected the From number",
    4750: "the recipient's carrier rejected the message",
    4751: "the carrier rejected the message size",
    4752: "the carrier rejected the message as malformed",
    4753: "the recipient's handset rejected the message",
    4770: "the carrier flagged the message as spam",
    4771: "the carrier rejected a shortened URL (use the full link)",
    4772: "the carrier has blocked the From number",
    4773: "the From number's 10DLC campaign is not active",
    4774: "the From number is not fully provisioned with the carrier",
    4775: "the recipient has opted out (replied STOP)",
    4780: "T-Mobile's daily limit for this brand was reached — try again tomorrow",
    4781: "AT&T's rate limit for this campaign was reached — slow down and retry later",
    4785: "a carrier volume limit was reached — back off and retry later",
    4790: "the short-code message was rejected by the carrier",
    4791: "the short-code message was rejected by the carrier",
    4792: "the short-code message was rejected by the carrier",
    4793: "the short-code message was rejected by the carrier",
    4795: "the toll-free From number is not verified",
    # Bandwidth service failures (not billed; may succeed if sent again).
    5100: "a temporary Bandwidth service failure — it may work if sent again",
    5101: "a temporary Bandwidth service failure — it may work if sent again",
    5106: "a temporary Bandwidth service failure — it may work if sent again",
    5111: "a temporary Bandwidth service failure — it may work if sent again",
    5201: "a temporary Bandwidth service failure — it may work if sent again",
    5211: "a temporary Bandwidth service failure — it may work if sent again",
    5220: "a temporary Bandwidth service failure — it may work if sent again",
    5231: "a temporary Bandwidth service failure — it may work if sent again",
    5500: "a temporary Bandwidth service failure — it may work if sent again",
    5501: "a temporary Bandwidth service failure — it may work if sent again",
    5999: "an unknown Bandwidth service failure — it may work if sent again",
    # Carrier service failures (billed; retry at most once).
    5600: "the recipient's carrier is overloaded (its queue is full) — try again at most once",
    5610: "the carrier failed to accept the message — try again at most once",
    5620: "the carrier's system failed — try again at most once",
    5630: "the carrier never acknowledged the message — try again at most once",
    5650: "the carrier failed to deliver the message — try again at most once",
    # Ambiguous.
    9902: "no delivery receipt came within about 2 hours — it may still have been delivered",
    9999: "an unknown error downstream — it may or may not have been delivered",
}


def describe_error_code(code: int) -> str:
    """Bandwidth's 4-digit delivery error code in plain words, e.g. "4720: the number cannot receive texts…".

    Codes not in the table are explained by their range, as Bandwidth's scheme defines it (reference §6.3).
    """
    if code == 0:
        return "0: no error"
    known = _ERROR_CODES.get(code)
    if known is not None:
        return f"{code}: {known}"
    first, second = code // 1000, (code // 100) % 10
    if 4000 <= code <= 4999:
        if second == 7:
            words = f"rejected by the recipient's carrier; {_RETRY_NO}"
        else:
            words = (
                f"rejected by Bandwidth (a problem with the message, the numbers or the account); {_RETRY_NO}"
            )
    elif 5000 <= code <= 5999:
        if second == 6:
            words = "a failure at the recipient's carrier — try again at most once"
        else:
            words = "a Bandwidth service failure — it may work if sent again"
    elif first == 9 and code <= 9999:
        words = "an unclear failure downstream — it may or may not have been delivered"
    else:
        words = "an error code bwdesk does not know"
    return f"{code}: {words}"


_DELIVERY_STATUSES: dict[str, str] = {
    "RECEIVED": "Bandwidth received the message and will send it",
    "QUEUED": "waiting in Bandwidth's queue",
    "SENDING": "being handed to the carrier",
    "SENT": "the carrier accepted it; no delivery receipt yet",
    "DELIVERED": "delivered (the carrier confirmed it)",
    "FAILED": "could not be sent or delivered — see the error code",
    "ACCEPTED": "accepted",
    "UNDELIVERED": "the carrier reported it could not be delivered",
    "DLR_EXPIRED": "no delivery receipt came in time — it may still have been delivered",
}


def describe_delivery_status(status: str) -> str:
    """A delivery status from `GET /messages` (`DELIVERED`, `FAILED`, ...) in plain words."""
    words = _DELIVERY_STATUSES.get(status.upper())
    return words if words is not None else f"{status}: a status bwdesk does not know"
