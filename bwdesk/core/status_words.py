"""What a send's state, a delivery status or an error code means to an agent, in words and in tone.

The CLI and the window both say it this way, so a status reads the same in a terminal and in a table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from bwdesk.core.credentials import AuthKind
from bwdesk.core.history.rows import HistoryRow, parse_time
from bwdesk.core.outcome import SendResult, SendState, Trouble

# --- a history row's status ---------------------------------------------------------------------------------


def status_label(row: HistoryRow, *, with_reason: bool = True) -> str:
    """A short status for tables: the send state, and for accepted rows the delivery status — with, for a
    delivery error, its reason in a few words ("accepted · FAILED 4775 · opted out (replied STOP)"), unless
    `with_reason` is false (a table that explains the code on a line of its own).

    A `failed` send reads "not sent" (it never reached Bandwidth), so that "failed" in the table always
    means what the Failed filter finds: a message that was not delivered.
    """
    if row.state is SendState.SENDING and not row.own:
        if (
            row.desk_silent_since
        ):  # its desk stopped: the outcome cannot be known until that desk starts again
            return f"unknown — desk offline since {_local_moment(row.desk_silent_since)}"
        return f"sending · {_age(row.created)}"
    if row.state is SendState.ACCEPTED and row.delivery_status:
        if row.error_code:
            reason = f" · {short_error(row.error_code)}" if with_reason else ""
            return f"accepted · {row.delivery_status} {row.error_code}{reason}"
        return f"accepted · {row.delivery_status}"
    if row.state is SendState.REJECTED and row.http_status:
        return f"rejected · HTTP {row.http_status}"
    if row.state is SendState.FAILED:
        return "not sent"
    return row.state.value


def status_details(row: HistoryRow) -> str:
    """The whole status in sentences (a tooltip): the state and the delivery status, error codes explained."""
    error = row.error
    if row.state is SendState.ACCEPTED:
        return _accepted_details(row)
    if row.state is SendState.REJECTED:
        lines = [f"Rejected by Bandwidth{f' (HTTP {row.http_status})' if row.http_status else ''}: not sent."]
    elif row.state is SendState.FAILED:
        lines = ["Not sent: the request never reached Bandwidth."]
    elif row.state is SendState.UNKNOWN:
        lines = [
            "Unknown: the request may have reached Bandwidth, but no answer came. Use Check status to ask "
            "Bandwidth whether it was sent before sending it again."
        ]
    elif not row.own and row.desk_silent_since:
        lines = [
            f"Unknown: {row.agent or 'another agent'}'s desk stopped while sending this message and has been "
            f"offline since {_local_moment(row.desk_silent_since)}. It may or may not have been sent; that desk "
            "settles it when it starts again."
        ]
    elif not row.own:
        lines = [
            f"Being sent now from {row.agent or 'another agent'}'s desk (started {_age(row.created)} ago)."
        ]
    else:
        lines = ["Being sent now."]
    if error is not None:
        if error.description:
            lines.append(error.description)
        if error.type:
            lines.append(f"Error type: {error.type}")
        lines.extend(f"{f.field}: {f.description}" for f in error.field_errors)
    return "\n".join(lines)


def _accepted_details(row: HistoryRow) -> str:
    lines = ["Accepted by Bandwidth."]
    if row.delivery_status:
        lines.append(f"Delivery: {row.delivery_status} — {describe_delivery_status(row.delivery_status)}.")
    else:
        lines.append("Delivery status not looked up yet: Refresh status asks Bandwidth.")
    if row.error_code:
        lines.append(f"Error {describe_error_code(row.error_code)}.")
    if row.delivery_checked:
        checked = parse_time(row.delivery_checked).astimezone().strftime("%Y-%m-%d %H:%M")
        lines.append(f"Last checked {checked}.")
    return "\n".join(lines)


def _local_moment(text: str) -> str:
    """An RFC 3339 time as people read it here: the time today, else the date and time."""
    moment = parse_time(text).astimezone()
    if moment.date() == datetime.now().astimezone().date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def _age(created: str) -> str:
    """How long ago `created` was, in the largest whole unit ("12 s", "3 min", "2 h")."""
    seconds = max(0, int((datetime.now(UTC) - parse_time(created)).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


class Tone(StrEnum):
    """How a status or a note should strike the agent (the window colours it; the words say the same)."""

    PROBLEM = "problem"  # cannot be used, rejected, not sent, not delivered
    WARNING = "warning"  # check this, costs more, may or may not have gone out, no receipt came
    SUCCESS = "success"  # accepted, delivered, connection works


def status_tone(row: HistoryRow) -> Tone | None:
    """PROBLEM for a send that failed or was not delivered, WARNING for an uncertain one, else None."""
    return _TONES.get(status_filter_of(row))


# --- the status filter: what the Status column says, in one word --------------------------------------------


class StatusFilter(StrEnum):
    """The choices of the history's status filter and of `bwdesk history --state`, in the order shown.

    Every row is in exactly one, the one its Status cell suggests (`status_filter_of`). The value is the
    command-line spelling; the SQLite store keeps the same word in the generated column `status` (the
    rule is written once more there, in SQL, and a test holds the two together).
    """

    DELIVERED = "delivered"  # accepted · DELIVERED
    WAITING = "waiting"  # sending, or accepted with no final delivery status yet
    FAILED = "failed"  # accepted · FAILED or UNDELIVERED: Bandwidth took it, the customer did not get it
    REJECTED = "rejected"  # Bandwidth refused the request: not sent
    UNKNOWN = "unknown"  # no answer came (may have been sent), or accepted · DLR_EXPIRED (no receipt)
    NOT_SENT = "not-sent"  # the request never reached Bandwidth

    @property
    def label(self) -> str:
        """The choice's name in the window's filter ("Not sent")."""
        return _FILTER_WORDS[self][0]

    @property
    def description(self) -> str:
        """What the choice finds, in a sentence (the filter's tooltip, the CLI's help)."""
        return _FILTER_WORDS[self][1]


_FILTER_WORDS: dict[StatusFilter, tuple[str, str]] = {
    StatusFilter.DELIVERED: ("Delivered", "Delivered: the carrier confirmed it"),
    StatusFilter.WAITING: (
        "Waiting",
        "On its way: being sent, or accepted by Bandwidth with no final delivery status yet",
    ),
    StatusFilter.FAILED: (
        "Failed",
        "Accepted by Bandwidth but not delivered (FAILED or UNDELIVERED; the error code says why)",
    ),
    StatusFilter.REJECTED: ("Rejected", "Rejected by Bandwidth: not sent"),
    StatusFilter.UNKNOWN: (
        "Unknown",
        "Outcome unknown: no answer came (it may have been sent), or no delivery receipt came in time "
        "(it may have been delivered)",
    ),
    StatusFilter.NOT_SENT: ("Not sent", "Not sent: the request never reached Bandwidth"),
}

#: Delivery statuses of an accepted row, by the filter they put it in; any other (or none) is WAITING.
DELIVERY_FILTERS: dict[str, StatusFilter] = {
    "DELIVERED": StatusFilter.DELIVERED,
    "FAILED": StatusFilter.FAILED,
    "UNDELIVERED": StatusFilter.FAILED,
    "DLR_EXPIRED": StatusFilter.UNKNOWN,
}

#: The filter of every row not accepted (a row's delivery status counts only once it is accepted).
STATE_FILTERS: dict[SendState, StatusFilter] = {
    SendState.SENDING: StatusFilter.WAITING,
    SendState.REJECTED: StatusFilter.REJECTED,
    SendState.FAILED: StatusFilter.NOT_SENT,
    SendState.UNKNOWN: StatusFilter.UNKNOWN,
}


def status_filter_of(row: HistoryRow) -> StatusFilter:
    """The one status filter `row` belongs to (another desk's unfinished send from a silent desk: unknown)."""
    if row.state is SendState.SENDING and row.desk_silent_since and not row.own:
        return StatusFilter.UNKNOWN
    if row.state is SendState.ACCEPTED:
        return DELIVERY_FILTERS.get(row.delivery_status or "", StatusFilter.WAITING)
    return STATE_FILTERS[row.state]


_TONES: dict[StatusFilter, Tone] = {
    StatusFilter.FAILED: Tone.PROBLEM,
    StatusFilter.REJECTED: Tone.PROBLEM,
    StatusFilter.NOT_SENT: Tone.PROBLEM,
    StatusFilter.UNKNOWN: Tone.WARNING,
}


# --- Bandwidth's delivery statuses and error codes --------------------------------------------------------

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


#: A few words per code, for a table cell or a result line (the whole explanation: `describe_error_code`).
_SHORT_ERRORS: dict[int, str] = {
    4001: "service not allowed",
    4301: "encoding not accepted",
    4302: "From number not valid",
    4303: "number not valid",
    4350: "malformed for the destination",
    4360: "expired before sending",
    4401: "no route",
    4403: "From number not allowed",
    4404: "recipient not allowed",
    4405: "From number not in service",
    4406: "number not in service",
    4407: "From number not on this account",
    4408: "recipient not on this account",
    4409: "cannot receive this (MMS?)",
    4410: "media could not be downloaded",
    4411: "message too large",
    4412: "media not accepted",
    4420: "unknown carrier",
    4421: "no destination",
    4431: "short codes not allowed",
    4432: "country not allowed",
    4433: "toll-free not allowed",
    4434: "toll-free may not message it",
    4435: "too many in the group",
    4451: "wrong account id",
    4452: "application does not match From",
    4470: "flagged as spam",
    4481: "From number blocked",
    4482: "number blocked",
    4492: "emergency number",
    4493: "not authorised",
    4700: "service not offered to the number",
    4701: "phone service unavailable",
    4702: "phone off or out of reach",
    4711: "too large for the carrier",
    4712: "media refused by the carrier",
    4720: "cannot receive texts (landline?)",
    4721: "number deactivated",
    4730: "no route to the carrier",
    4740: "From number refused by the carrier",
    4750: "refused by the carrier",
    4751: "size refused by the carrier",
    4752: "malformed for the carrier",
    4753: "refused by the handset",
    4770: "flagged as spam by the carrier",
    4771: "shortened link refused (use the full one)",
    4772: "From number blocked by the carrier",
    4773: "10DLC campaign not active",
    4774: "From number not provisioned",
    4775: "opted out (replied STOP)",
    4780: "T-Mobile daily limit reached",
    4781: "AT&T rate limit reached",
    4785: "carrier volume limit reached",
    4790: "short code refused by the carrier",
    4791: "short code refused by the carrier",
    4792: "short code refused by the carrier",
    4793: "short code refused by the carrier",
    4795: "toll-free number not verified",
    5600: "carrier overloaded",
    5610: "carrier failure",
    5620: "carrier failure",
    5630: "carrier never acknowledged it",
    5650: "carrier failure",
    9902: "no receipt in time",
    9999: "unknown failure downstream",
}


def short_error(code: int) -> str:
    """Bandwidth's delivery error code in a few words ("opted out (replied STOP)"), by its range when it is
    not one bwdesk knows; for table cells and result lines, where `describe_error_code` is too long."""
    known = _SHORT_ERRORS.get(code)
    if known is not None:
        return known
    if 4700 <= code <= 4799:
        return "refused by the carrier"
    if 4000 <= code <= 4999:
        return "refused by Bandwidth"
    if 5600 <= code <= 5699:
        return "carrier failure"
    if 5000 <= code <= 5999:
        return "Bandwidth service failure (may work again)"
    if 9000 <= code <= 9999:
        return "unclear failure downstream"
    return "unknown error code"


#: Delivery statuses that mean the message did not reach the phone (the carrier or Bandwidth said so).
UNDELIVERED_STATUSES = frozenset({"FAILED", "UNDELIVERED"})


def is_undelivered(delivery_status: str | None) -> bool:
    """The message was accepted but did not reach the phone."""
    return (delivery_status or "").upper() in UNDELIVERED_STATUSES


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


# --- what a failure is about -------------------------------------------------------------------------------

_TROUBLES: dict[Trouble, str] = {
    Trouble.MESSAGE: "Bandwidth refused something in the message",
    Trouble.SETUP: "bwdesk is not set up to send yet",
    Trouble.SIGN_IN: "Bandwidth did not accept the credentials",
    Trouble.ACCESS: "these credentials may not send for this account",
    Trouble.CONNECTION: "bwdesk could not reach Bandwidth",
    Trouble.SERVICE: "Bandwidth could not take the message now",
    Trouble.LOCAL: "the history could not record the message first",
}


def describe_trouble(trouble: Trouble) -> str:
    """What a failure is about, as the start of a sentence ("Bandwidth did not accept the credentials")."""
    return _TROUBLES[trouble]


def setting_to_check(trouble: Trouble, auth_kind: AuthKind) -> str | None:
    """The settings field to look at first for account or connection trouble (None: no setting helps): the
    secret for refused credentials, the account id (and the API user's role) for no access, the API base
    URL when Bandwidth could not be reached."""
    if trouble is Trouble.SIGN_IN:
        return "password" if auth_kind is AuthKind.BASIC else "client_secret"
    if trouble is Trouble.ACCESS:
        return "account_id"
    if trouble is Trouble.CONNECTION:
        return "api_base"
    return None


def answer_in_words(result: SendResult) -> str:
    """What the server (or the network) said of a failed send, for a notice: "HTTP 401: Authentication Failed"."""
    error = result.error
    described = (error.description if error else "") or (result.detail or "")
    if result.http_status and not described.startswith(f"HTTP {result.http_status}"):
        return f"HTTP {result.http_status}: {described}" if described else f"HTTP {result.http_status}"
    return described
