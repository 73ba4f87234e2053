"""The sandbox's memory: accepted messages and their status over time (computed from its clock, never by a thread),
uploaded media, OAuth tokens; one lock, as the server answers on many threads (docs/design.md §11.4)."""

from __future__ import annotations

import base64
import copy
import json
import math
import re
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlencode

from bwdesk.sandbox.identity import Identity
from bwdesk.sandbox.rules import MessageRequest, is_e164, utf16_length
from bwdesk.sandbox.segments import sms_segments

STATUS_FLOW = ("RECEIVED", "QUEUED", "SENT", "DELIVERED")
MESSAGE_STATUSES = ("RECEIVED", "QUEUED", "SENDING", "SENT", "FAILED", "DELIVERED", "ACCEPTED", "UNDELIVERED")
PRODUCTS = (
    "LOCAL_A2P",
    "P2P",
    "SHORT_CODE_REACH",
    "TOLL_FREE",
    "HOSTED_SHORT_CODE",
    "ALPHA_NUMERIC",
    "RBM_MEDIA",
    "RBM_RICH",
    "RBM_CONVERSATIONAL",
)

# Delivery error codes the sandbox produces (reference §6.3).
EXPIRED_BEFORE_SENT = 4360  # message-not-sent-expiration-date-passed
FROM_NOT_ON_ACCOUNT = 4407  # rejected-account-not-defined-from-number
MEDIA_UNAVAILABLE = 4410  # media-unavailable

DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
MAX_LIST_WINDOW = 10_000  # the spec: offset + limit may not exceed 10,000
CARRIER_NAME = "Sandbox Wireless"

_ID_ALPHABET = string.ascii_lowercase + string.digits
_INTEGER = re.compile(r"-?[0-9]{1,18}")


def rfc3339(moment: datetime) -> str:
    """`2021-07-21T21:00:45.179Z`: UTC with milliseconds, as Bandwidth writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class QueryError(ValueError):
    """A query parameter the list endpoint cannot accept (the API answers 400)."""


@dataclass(frozen=True)
class StoredMessage:
    id: str
    account_id: str
    time: datetime
    request: MessageRequest
    body: dict[str, Any]  # the 202 Message, exactly as sent
    segment_count: int
    message_type: str  # sms | mms
    failure_codes: Mapping[str, int]  # recipient → the code it fails with (decided at acceptance)

    def failure_code(self, recipient: str, step: float) -> int | None:
        expiration = self.request.expiration_time
        if expiration is not None and expiration < self.time + timedelta(seconds=2 * step):
            return EXPIRED_BEFORE_SENT
        return self.failure_codes.get(recipient)

    def status_of(self, recipient: str, now: datetime, step: float) -> tuple[str, int]:
        """(messageStatus, errorCode) for one recipient at `now`."""
        if step <= 0:
            stage = len(STATUS_FLOW) - 1
        else:
            elapsed = (now - self.time).total_seconds()
            stage = max(0, min(len(STATUS_FLOW) - 1, int(elapsed // step)))
        code = self.failure_code(recipient, step)
        if code is not None and stage >= 2:
            return "FAILED", code
        return STATUS_FLOW[stage], 0

    def list_item(self, recipient: str, now: datetime, step: float) -> dict[str, Any]:
        """One `listMessageItem` (one per recipient: a group message lists once per number)."""
        status, error_code = self.status_of(recipient, now, step)
        request = self.request
        sms = self.message_type == "sms"
        return {
            "messageId": self.id,
            "accountId": self.account_id,
            "sourceTn": request.sender,
            "destinationTn": recipient,
            "messageStatus": status,
            "messageDirection": "OUTBOUND",
            "messageType": self.message_type,
            "segmentCount": self.segment_count,
            "errorCode": error_code,
            "receiveTime": rfc3339(self.time),
            "carrierName": CARRIER_NAME if sms else None,
            "messageSize": len(request.text.encode("utf-8")) if sms else None,
            "messageLength": utf16_length(request.text),
            "attachmentCount": len(request.media),
            "recipientCount": len(request.to),
            "campaignClass": None,
            "campaignId": None,
            "bwLatency": None,
            "carrierLatency": None,
            "callingNumberCountryA3": "USA" if request.sender.startswith("+1") else None,
            "calledNumberCountryA3": "USA" if recipient.startswith("+1") else None,
            "product": "P2P" if is_e164(request.sender) else "ALPHA_NUMERIC",
            "location": None,
        }


@dataclass(frozen=True)
class StoredMedia:
    data: bytes
    content_type: str
    cache_control: str | None


@dataclass
class _RateWindow:
    started: datetime
    count: int = 0


@dataclass
class SandboxState:
    """All mutable state of one sandbox. Every public method takes the lock."""

    identity: Identity
    clock: Callable[[], datetime]
    status_step: float
    media_url_prefix: Callable[
        [], str
    ]  # ".../api/v2/users/{accountId}/media/", known once the server listens
    token_lifetime: int = 3600
    media_page_size: int = 1000
    list_rate_limit: tuple[int, float] | None = None  # (requests, per seconds) on GET /messages
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _messages: dict[str, StoredMessage] = field(default_factory=dict, repr=False)
    _media: dict[str, StoredMedia] = field(default_factory=dict, repr=False)
    _tokens: dict[str, datetime] = field(default_factory=dict, repr=False)
    _rate: _RateWindow | None = field(default=None, repr=False)

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._media.clear()
            self._tokens.clear()
            self._rate = None

    # --- messages ---------------------------------------------------------------------------------

    def accept(self, request: MessageRequest) -> StoredMessage:
        """Store an accepted request and return it with its 202 body."""
        with self._lock:
            now = self.now()
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Bandwidth's times are to the ms
            message_id = self._new_id(now)
            mms = bool(request.media) or len(request.to) > 1
            segments = 1 if mms else sms_segments(request.text)
            body: dict[str, Any] = {
                "id": message_id,
                "owner": request.sender,
                "applicationId": request.application_id,
                "time": rfc3339(now),
                "segmentCount": segments,
                "direction": "out",
                "to": list(request.to),
                "from": request.sender,
                "text": request.text,
            }
            if request.media:
                body["media"] = list(request.media)
            if request.tag is not None:
                body["tag"] = request.tag
            if request.priority is not None:
                body["priority"] = request.priority
            if request.expiration is not None:
                body["expiration"] = request.expiration
            message = StoredMessage(
                id=message_id,
                account_id=self.identity.account_id,
                time=now,
                request=request,
                body=body,
                segment_count=segments,
                message_type="mms" if mms else "sms",
                failure_codes=self._failure_codes(request),
            )
            self._messages[message_id] = message
            return message

    def _new_id(self, now: datetime) -> str:
        """29 characters like Bandwidth's: 13 digits of epoch milliseconds, then 16 random [a-z0-9]."""
        millis = int(now.timestamp() * 1000) % 10**13
        while True:
            candidate = f"{millis:013d}" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
            if candidate not in self._messages:
                return candidate

    def _failure_codes(self, request: MessageRequest) -> dict[str, int]:
        whole_message: int | None = None
        if is_e164(request.sender) and request.sender not in self.identity.numbers:
            whole_message = FROM_NOT_ON_ACCOUNT
        elif any(not self._media_fetchable(url) for url in request.media):
            whole_message = MEDIA_UNAVAILABLE
        codes: dict[str, int] = {}
        for recipient in request.to:
            test_number = self.identity.failure_for(recipient)
            code = whole_message or (test_number.error_code if test_number else None)
            if code is not None:
                codes[recipient] = code
        return codes

    def _media_fetchable(self, url: str) -> bool:
        if not url.lower().startswith(("http://", "https://")):
            return False
        prefix = self.media_url_prefix()
        if url.startswith(prefix):
            return unquote(url[len(prefix) :]) in self._media
        return True  # somewhere on the internet: the sandbox assumes it is there

    def messages(self) -> list[StoredMessage]:
        with self._lock:
            return list(self._messages.values())

    def accepted_bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(m.body) for m in self._messages.values()]

    def status_report(self) -> list[dict[str, Any]]:
        """Every accepted message with each recipient's current status (the `/_sandbox/messages` view)."""
        with self._lock:
            now = self.now()
            return [
                {
                    "message": copy.deepcopy(m.body),
                    "statuses": [
                        {"to": r, "status": status, "errorCode": code}
                        for r in m.request.to
                        for status, code in [m.status_of(r, now, self.status_step)]
                    ],
                }
                for m in self._messages.values()
            ]

    def list_rate_check(self) -> int | None:
        """None if a GET /messages may go ahead; otherwise the seconds to wait (for Retry-After)."""
        if self.list_rate_limit is None:
            return None
        allowed, window = self.list_rate_limit
        with self._lock:
            now = self.now()
            if self._rate is None or (now - self._rate.started).total_seconds() >= window:
                self._rate = _RateWindow(started=now)
            if self._rate.count >= allowed:
                remaining = window - (now - self._rate.started).total_seconds()
                return max(1, math.ceil(remaining))
            self._rate.count += 1
            return None

    def list_messages(self, query: Mapping[str, str], page_base_url: str) -> dict[str, Any]:
        """The `messagesList` answer for GET /messages; raises QueryError for what the API answers 400."""
        predicates = _list_predicates(query)
        if not predicates:
            raise QueryError(
                "At least one query parameter is required to search messages, e.g. messageId, sourceTn, "
                "destinationTn, messageStatus or fromDateTime"
            )
        limit = _int_param(query, "limit", DEFAULT_LIST_LIMIT)
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise QueryError(f"'limit' must be between 1 and {MAX_LIST_LIMIT}")
        offset = _decode_page_token(query["pageToken"]) if "pageToken" in query else 0
        if offset + limit > MAX_LIST_WINDOW:
            raise QueryError(f"'limit' plus the page position may not exceed {MAX_LIST_WINDOW}")
        sort_key, descending = _sort_param(query.get("sort", "receiveTime:asc"))
        limit_total = _bool_param(query, "limitTotalCount")

        with self._lock:
            now = self.now()
            items = [
                m.list_item(recipient, now, self.status_step)
                for m in self._messages.values()
                for recipient in m.request.to
            ]
        matching = [item for item in items if all(p(item) for p in predicates)]
        matching.sort(key=lambda item: _sortable(item.get(sort_key)), reverse=descending)
        page = matching[offset : offset + limit]
        page_info: dict[str, str] = {}
        if offset + limit < len(matching):
            token = _encode_page_token(offset + limit)
            page_info["nextPageToken"] = token
            page_info["nextPage"] = _page_url(page_base_url, query, token)
        if offset > 0:
            token = _encode_page_token(max(0, offset - limit))
            page_info["prevPageToken"] = token
            page_info["prevPage"] = _page_url(page_base_url, query, token)
        total = min(len(matching), MAX_LIST_WINDOW) if limit_total else len(matching)
        return {"totalCount": total, "pageInfo": page_info, "messages": page}

    # --- media ------------------------------------------------------------------------------------

    def put_media(self, media_id: str, media: StoredMedia) -> None:
        with self._lock:
            self._media[media_id] = media

    def get_media(self, media_id: str) -> StoredMedia | None:
        with self._lock:
            return self._media.get(media_id)

    def delete_media(self, media_id: str) -> None:
        with self._lock:
            self._media.pop(media_id, None)

    def media_names(self) -> list[str]:
        with self._lock:
            return sorted(self._media)

    def list_media(self, continuation: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of `media` items, and the Continuation-Token for the next page (None on the last)."""
        after = _decode_continuation(continuation) if continuation is not None else None
        prefix = self.media_url_prefix()
        with self._lock:
            names = sorted(n for n in self._media if after is None or n > after)
            page = names[: self.media_page_size]
            items = [
                {
                    "content": prefix + quote(name, safe="/"),
                    "contentLength": len(self._media[name].data),
                    "mediaName": name,
                }
                for name in page
            ]
        more = len(names) > len(page)
        return items, (_encode_continuation(page[-1]) if more else None)

    # --- OAuth2 tokens ----------------------------------------------------------------------------

    def issue_token(self) -> tuple[str, int]:
        with self._lock:
            token = secrets.token_urlsafe(32)
            self._tokens[token] = self.now() + timedelta(seconds=self.token_lifetime)
            return token, self.token_lifetime

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.get(token)
            return expires is not None and self.now() < expires

    def expire_tokens(self) -> int:
        """Make every issued token expired now (tests of the client's refresh); returns how many."""
        with self._lock:
            now = self.now()
            for token in self._tokens:
                self._tokens[token] = now
            return len(self._tokens)


# --- GET /messages query parameters -------------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]
_PAGING_PARAMS = frozenset({"sort", "pageToken", "limit", "limitTotalCount"})


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        raise QueryError(f"'{name}' must be a whole number")
    return int(value)


def _bool_param(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise QueryError(f"'{name}' must be true or false")
    return value.lower() == "true"


def _datetime_param(query: Mapping[str, str], name: str) -> datetime:
    value = query[name]
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise QueryError(f"'{name}' must be an ISO 8601 date-time, e.g. 2022-09-14T18:20:16.000Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _numbers_predicate(name: str, value: str) -> Predicate:
    """A full number, up to 10 comma-separated full numbers, or one prefix of at least 5 characters."""
    parts = value.split(",")
    if len(parts) > 10:
        raise QueryError(f"'{name}' accepts at most 10 comma-separated numbers")
    if len(parts) == 1:
        if len(value) < 5:
            raise QueryError(
                f"'{name}' must be a full number or a prefix of at least 5 characters, e.g. +1919"
            )
        return lambda item: str(item[name]).startswith(value)
    wanted = set(parts)
    return lambda item: item[name] in wanted


def _equals(name: str, value: object) -> Predicate:
    return lambda item: item.get(name) == value


def _bound(name: str, bound: int | datetime, *, lower: bool) -> Predicate:
    """`name` ≥ bound (lower) or ≤ bound; items without a value never match."""

    def check(item: dict[str, Any]) -> bool:
        value = item.get(name)
        if value is None:
            return False
        if isinstance(bound, datetime):
            moment = datetime.fromisoformat(value)
            return moment >= bound if lower else moment <= bound
        return bool(value >= bound if lower else value <= bound)

    return check


def _always(result: bool) -> Predicate:
    return lambda item: result


def _enum(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = query[name]
    if value not in allowed:
        raise QueryError(f"'{name}' must be one of {', '.join(allowed)}")
    return value


def _list_predicates(query: Mapping[str, str]) -> list[Predicate]:
    predicates: list[Predicate] = []
    for name in query:
        if name in _PAGING_PARAMS:
            continue
        if name == "messageId":
            predicates.append(_equals("messageId", query[name]))
        elif name in ("sourceTn", "destinationTn"):
            predicates.append(_numbers_predicate(name, query[name]))
        elif name == "messageStatus":
            predicates.append(_equals(name, _enum(query, name, MESSAGE_STATUSES)))
        elif name == "messageDirection":
            predicates.append(_equals(name, _enum(query, name, ("INBOUND", "OUTBOUND"))))
        elif name == "messageType":
            predicates.append(_equals(name, _enum(query, name, ("sms", "mms", "rcs"))))
        elif name == "product":
            predicates.append(_equals(name, _enum(query, name, PRODUCTS)))
        elif name == "errorCode":
            predicates.append(_equals(name, _int_param(query, name, 0)))
        elif name in (
            "carrierName",
            "campaignId",
            "location",
            "callingNumberCountryA3",
            "calledNumberCountryA3",
        ):
            predicates.append(_equals(name, query[name]))
        elif name == "fromDateTime":
            predicates.append(_bound("receiveTime", _datetime_param(query, name), lower=True))
        elif name == "toDateTime":
            predicates.append(_bound("receiveTime", _datetime_param(query, name), lower=False))
        elif name in ("fromSegmentCount", "fromMessageSize", "fromBwLatency", "fromCarrierLatency"):
            field_name = name[4].lower() + name[5:]
            predicates.append(_bound(field_name, _int_param(query, name, 0), lower=True))
        elif name in ("toSegmentCount", "toMessageSize"):
            field_name = name[2].lower() + name[3:]
            predicates.append(_bound(field_name, _int_param(query, name, 0), lower=False))
        elif name in ("bwQueued", "carrierQueued"):
            # Nothing waits in a rate queue in the sandbox: only "false" matches.
            predicates.append(_always(not _bool_param(query, name)))
    return predicates


def _sort_param(value: str) -> tuple[str, bool]:
    name, _, direction = value.partition(":")
    if name not in _SORTABLE or direction not in ("", "asc", "desc"):
        raise QueryError("'sort' must look like receiveTime:desc (a message field, then asc or desc)")
    return name, direction == "desc"


_SORTABLE = frozenset(
    {
        "messageId",
        "sourceTn",
        "destinationTn",
        "messageStatus",
        "messageType",
        "segmentCount",
        "errorCode",
        "receiveTime",
        "carrierName",
        "messageSize",
        "messageLength",
        "attachmentCount",
        "recipientCount",
    }
)


def _sortable(value: object) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _decode_page_token(token: str) -> int:
    try:
        padded = (token + "=" * (-len(token) % 4)).encode("ascii")
        data = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        offset = data["offset"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(offset)
        return offset
    except (ValueError, TypeError, KeyError, UnicodeError):
        raise QueryError("'pageToken' is not a page token this API gave out") from None


def _page_url(base_url: str, query: Mapping[str, str], token: str) -> str:
    params = {k: v for k, v in query.items() if k != "pageToken"}
    params["pageToken"] = token
    return f"{base_url}?{urlencode(params)}"


def _encode_continuation(last_name: str) -> str:
    return base64.urlsafe_b64encode(b"after:" + last_name.encode("utf-8")).decode()


def _decode_continuation(token: str) -> str:
    try:
        decoded = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        decoded = ""
    if not decoded.startswith("after:"):
        raise QueryError("'Continuation-Token' is not a token this API gave out")
    return decoded.removeprefix("after:")
