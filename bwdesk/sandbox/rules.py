"""How the sandbox judges a `POST /messages` body, from the contract and the API reference alone, sharing nothing with
`core` so that a drift in the client's rules is noticed (docs/design.md §11.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

MAX_TEXT_LENGTH = 2048
MAX_TAG_LENGTH = 1024
MAX_MEDIA_URL_LENGTH = 4096
MAX_RECIPIENTS = 10
MAX_MEDIA = 10
PRIORITIES = ("default", "high")

# E.164: "+", a country code not starting with 0, at most 15 digits in all. North American numbers (+1) must
# also have 10 digits with an area code that does not start with 0 or 1. The exchange is not checked:
# Bandwidth's own examples use numbers such as +15551113333.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_NANP = re.compile(r"\+1[2-9][0-9]{9}")
_SENDER_ID = re.compile(r"[A-Za-z0-9 \-+_&]{1,11}")
_LETTER = re.compile(r"[A-Za-z]")
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]+))?(?P<offset>[Zz]|[+\-][0-9]{2}:[0-9]{2})"
)


def utf16_length(text: str) -> int:
    """The length Java would report: code points above U+FFFF count twice."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def is_e164(value: str) -> bool:
    if not _E164.fullmatch(value):
        return False
    return not value.startswith("+1") or bool(_NANP.fullmatch(value))


def is_sender_id(value: str) -> bool:
    """An alphanumeric sender ID: 1–11 of letters, digits, space, `-+_&`, with at least one letter."""
    return bool(_SENDER_ID.fullmatch(value)) and bool(_LETTER.search(value))


def is_absolute_uri(value: str) -> bool:
    """`format: uri`: a scheme, then something; http(s) URLs also need a host. No spaces or control chars."""
    if not value or any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in value):
        return False
    scheme, sep, rest = value.partition(":")
    if not sep or not rest or not _URI_SCHEME.fullmatch(scheme):
        return False
    if scheme.lower() in ("http", "https"):
        try:
            return bool(urlsplit(value).hostname)
        except ValueError:
            return False
    return True


def parse_rfc3339(value: str) -> datetime | None:
    """An RFC 3339 date-time with an explicit offset, as an aware datetime; None if it is not one."""
    match = _RFC3339.fullmatch(value)
    if not match:
        return None
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
    except ValueError:
        return None


def invalid_number(value: str) -> str:
    """Bandwidth's own wording for a number that is not E.164."""
    return f"'{value}' must be replaced with a valid E164 formatted telephone number"


def _shown(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


@dataclass(frozen=True)
class FieldError:
    field_name: str
    description: str

    def to_json(self) -> dict[str, str]:
        return {"fieldName": self.field_name, "description": self.description}


@dataclass(frozen=True)
class MessageRequest:
    """A request body that passed every check, in the form the sandbox stores it."""

    application_id: str
    to: tuple[str, ...]
    sender: str
    text: str
    media: tuple[str, ...]
    tag: str | None
    priority: str | None
    expiration: str | None
    expiration_time: datetime | None


class MalformedBody(ValueError):
    """The body is not a JSON object at all (the API answers 400 without field errors)."""


def validate_message_request(
    body: Any, *, application_ids: frozenset[str] | set[str], now: datetime
) -> MessageRequest | list[FieldError]:
    """The accepted request, or every field error found (sorted by field name, like Bandwidth's example)."""
    if not isinstance(body, dict):
        raise MalformedBody("the request body must be a JSON object")
    errors: list[FieldError] = []

    def error(field_name: str, description: str) -> None:
        errors.append(FieldError(field_name, description))

    application_id = body.get("applicationId")
    if application_id is None:
        error("applicationId", "'applicationId' is required")
    elif not isinstance(application_id, str):
        error("applicationId", "'applicationId' must be a string")
    elif application_id not in application_ids:
        error("applicationId", f"'{_shown(application_id)}' is not an application of this account")

    to = body.get("to")
    recipients: list[str] = []
    if to is None or to == []:
        error("to", "'to' must contain at least one telephone number")
    elif not isinstance(to, list):
        error("to", "'to' must be an array of telephone numbers")
    elif not all(isinstance(item, str) for item in to):
        error("to", "'to' must contain only strings")
    else:
        recipients = list(to)
        for number in recipients:
            if not is_e164(number):
                error("to", invalid_number(_shown(number)))
        duplicates = sorted({n for n in recipients if recipients.count(n) > 1})
        if duplicates:
            error("to", f"'to' must not contain the same number twice: {', '.join(duplicates)}")
        if len(recipients) > MAX_RECIPIENTS:
            error(
                "to", f"'to' may contain at most {MAX_RECIPIENTS} telephone numbers; it has {len(recipients)}"
            )

    sender = body.get("from")
    if sender is None or sender == "":
        error("from", "'from' must contain exactly one telephone number")
    elif not isinstance(sender, str):
        error("from", "'from' must be a string")
    elif not (is_e164(sender) or is_sender_id(sender)):
        if _LETTER.search(sender):
            error(
                "from",
                f"'{_shown(sender)}' is neither an E164 telephone number nor an alphanumeric sender ID "
                "(1 to 11 letters, digits, spaces or - + _ &, with at least one letter)",
            )
        else:
            error("from", invalid_number(_shown(sender)))

    media_value = body.get("media")
    media: list[str] = []
    if media_value is not None:
        if not isinstance(media_value, list):
            error("media", "'media' must be an array of URLs")
        elif not all(isinstance(item, str) for item in media_value):
            error("media", "'media' must contain only URL strings")
        else:
            media = list(dict.fromkeys(media_value))  # the Message echoes them back unique, in order
            for url in media:
                length = utf16_length(url)
                if length > MAX_MEDIA_URL_LENGTH:
                    error(
                        "media",
                        f"a media URL may be at most {MAX_MEDIA_URL_LENGTH} characters; one has {length}",
                    )
                elif not is_absolute_uri(url):
                    error("media", f"'{_shown(url)}' is not a valid URL")
            if len(media) > MAX_MEDIA:
                error("media", f"'media' may contain at most {MAX_MEDIA} URLs; it has {len(media)}")

    text = body.get("text")
    if text is not None and not isinstance(text, str):
        error("text", "'text' must be a string")
    elif isinstance(text, str) and utf16_length(text) > MAX_TEXT_LENGTH:
        error("text", f"'text' may be at most {MAX_TEXT_LENGTH} characters; it has {utf16_length(text)}")
    elif not text and not (isinstance(media_value, list) and media_value):
        error("text", "'text' is required unless media is included")

    tag = body.get("tag")
    if tag is not None:
        if not isinstance(tag, str):
            error("tag", "'tag' must be a string")
        elif utf16_length(tag) > MAX_TAG_LENGTH:
            error("tag", f"'tag' may be at most {MAX_TAG_LENGTH} characters; it has {utf16_length(tag)}")

    priority = body.get("priority")
    if priority is not None and priority not in PRIORITIES:
        shown = _shown(priority) if isinstance(priority, str) else repr(priority)
        error("priority", f"'{shown}' is not a valid priority; use 'default' or 'high'")

    expiration = body.get("expiration")
    expiration_time: datetime | None = None
    if expiration is not None:
        expiration_time = parse_rfc3339(expiration) if isinstance(expiration, str) else None
        if expiration_time is None:
            error("expiration", "'expiration' must be an RFC 3339 date-time, e.g. 2021-03-14T01:59:26Z")
        elif expiration_time <= now:
            error("expiration", "'expiration' must be in the future")

    if errors:
        return sorted(errors, key=lambda e: e.field_name)
    return MessageRequest(
        application_id=str(application_id),
        to=tuple(recipients),
        sender=str(sender),
        text=str(text or ""),
        media=tuple(media),
        tag=tag,
        priority=priority,
        expiration=expiration,
        expiration_time=expiration_time.astimezone(UTC) if expiration_time else None,
    )
