"""A message as the agent composed it (`Draft`), `validate()`, the one judge every path asks before anything leaves,
and the API requests it becomes (docs/design.md §7)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from bwdesk.core import phone, sms_text
from bwdesk.core.errors import BwdeskError, ConfigError

__all__ = [
    "CONFIRM_SEPARATE_ABOVE",
    "MAX_GROUP",
    "MAX_MEDIA",
    "MAX_MEDIA_URL_LENGTH",
    "MAX_SENDER_ID_LENGTH",
    "MAX_TAG_LENGTH",
    "MAX_TEXT_LENGTH",
    "Draft",
    "InvalidDraft",
    "Mode",
    "Priority",
    "Problem",
    "describe_position",
    "describe_unsendable",
    "is_mms",
    "is_sendable",
    "message_count",
    "normalise_line_breaks",
    "recipients_e164",
    "segments_per_message",
    "to_requests",
    "unsendable_characters",
    "validate",
    "visible",
]

MAX_GROUP = 10  # numbers in one group MMS (`to` of one POST)
CONFIRM_SEPARATE_ABOVE = 20  # separate messages beyond this need an explicit confirmation
MAX_TAG_LENGTH = 1024
MAX_MEDIA = 10
MAX_MEDIA_URL_LENGTH = 4096
MAX_SENDER_ID_LENGTH = 11
MAX_TEXT_LENGTH = sms_text.MAX_TEXT_LENGTH

_SENDER_ID_PUNCTUATION = " -+_&"

Field = Literal["from", "to", "text", "media", "tag", "priority", "expiration"]
Severity = Literal["error", "warning"]


class Mode(StrEnum):
    SEPARATE = "separate"  # one POST per recipient: customers never see each other
    GROUP = "group"  # one POST to everyone: a group MMS, everyone sees every number


class Priority(StrEnum):
    DEFAULT = "default"
    HIGH = "high"


@dataclass(frozen=True)
class Draft:
    """What the agent composed. Recipients are kept as typed; `validate`/`to_requests` normalise them.

    ``region`` is the default country for numbers typed without ``+`` (None: ``BWDESK_REGION`` or US).
    Lists passed for ``recipients`` or ``media`` are stored as tuples so a draft never changes.
    """

    sender: str
    recipients: tuple[str, ...]
    text: str = ""
    media: tuple[str, ...] = ()
    tag: str = ""
    mode: Mode = Mode.SEPARATE
    priority: Priority | None = None
    expiration: datetime | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        # Callers build drafts from widgets and argv lists; keep the draft immutable and hashable anyway.
        if not isinstance(self.recipients, tuple):
            object.__setattr__(self, "recipients", tuple(self.recipients))
        if not isinstance(self.media, tuple):
            object.__setattr__(self, "media", tuple(self.media))
        object.__setattr__(self, "mode", Mode(self.mode))


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a look) in a draft. ``index`` points into the draft's list for to/media."""

    field: Field
    message: str
    index: int | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidDraft(BwdeskError):
    """The draft has errors; nothing may be sent. ``str()`` lists them, one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "the message cannot be sent")


def is_sendable(problems: Sequence[Problem]) -> bool:
    """True when no problem is an error (warnings do not block sending)."""
    return not any(p.severity == "error" for p in problems)


# --- the rules ---------------------------------------------------------------------------------------------


def _lone_surrogate(value: str) -> int | None:
    """Index of a lone UTF-16 surrogate (half an emoji from a broken paste), which cannot be sent at all."""
    for i, ch in enumerate(value):
        if "\ud800" <= ch <= "\udfff":
            return i
    return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- characters that cannot go out ---------------------------------------------------------------------------
#
# The rule, decided once here for the window and the CLI alike:
#
# - Control characters (Unicode category Cc: the C0 range, DEL and the C1 range) never go out, except a
#   line break and a tab in the text. They are invisible or drawn as boxes, phones show them as garbage
#   or not at all, and a NUL can cut a message short in a carrier's system. That includes a carriage
#   return: the window turns every CR and CRLF into a line break as it is typed or pasted, and the CLI
#   does the same with `normalise_line_breaks`, so a CR still there came from elsewhere and is refused
#   rather than guessed at. A form feed is in GSM-7's extension table, but it is a text file's page
#   break, never something for a customer; refused too. A tag is one line: no line break, no tab.
# - Format characters (Cf) are allowed in the text and the tag. They are invisible by design, but they
#   are part of how things are written: the zero-width joiner builds emoji sequences (a family emoji is
#   three people joined by two of them), the zero-width non-joiner is needed in Persian and Indic
#   scripts, bidi marks in Arabic and Hebrew, tag characters in subdivision flags. The ones that serve
#   nothing in a message (zero-width space, word joiner, a stray byte-order mark, soft hyphen) are
#   marked in the window as forcing Unicode, and "Use plain characters" removes them.
# - A media link refuses format characters as well: a link is copied, not written, and an invisible
#   character in it (a chat app's zero-width space) makes it point somewhere else.
# - Noncharacters (U+FFFE, U+FFFF, U+FDD0-U+FDEF and the last two code points of every plane) are
#   never characters at all: refused everywhere.

CharacterField = Literal["text", "tag", "media"]

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17)
)
_UNSENDABLE_RE = re.compile(f"[\x00-\x1f\x7f-\x9f{_NONCHARACTERS}]")
_ALLOWED_CONTROLS: dict[CharacterField, str] = {"text": "\n\t", "tag": "", "media": ""}
_CONTROL_NAMES = {
    "\x00": "a null character",
    "\x07": "a bell character",
    "\x08": "a backspace character",
    "\t": "a tab",
    "\n": "a line break",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed (page break)",
    "\r": "a carriage return",
    "\x1b": "an escape character",
    "\x7f": "a delete character (DEL)",
}
_LINE_BREAKS_RE = re.compile("\r\n|[\r\u2028\u2029]")


def normalise_line_breaks(text: str) -> str:
    """Every line break as one ``\n``: CRLF (Windows), a lone CR (old Macs) and the Unicode line and
    paragraph separators. The window does this as text is typed or pasted, the CLI to its `--text`."""
    return _LINE_BREAKS_RE.sub("\n", text)


def unsendable_characters(value: str, field: CharacterField) -> list[int]:
    """Indexes (in code points) of the characters `field` cannot carry, by the rule above, in order."""
    allowed = _ALLOWED_CONTROLS[field]
    found = [m.start() for m in _UNSENDABLE_RE.finditer(value) if m.group() not in allowed]
    if field == "media":
        found = sorted([*found, *(i for i, c in enumerate(value) if unicodedata.category(c) == "Cf")])
    return found


#: Characters that change the direction following text is drawn in (embeddings, overrides, isolates): invisible,
#: they can make a text read differently on the phone than it looks here ("DCBA-4321" shown as "1234-ABCD").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def bidi_controls(value: str) -> list[int]:
    """Indexes of the direction controls in `value`, in order."""
    return [i for i, c in enumerate(value) if c in BIDI_CONTROLS]


def _bidi_problem(field: CharacterField, what: str, value: str) -> list[Problem]:
    """A warning, not an error: right-to-left text may use them on purpose, but pasted into Latin text they
    hide what the customer will read."""
    found = bidi_controls(value)
    if not found:
        return []
    more = f" (and {len(found) - 1} more like it)" if len(found) > 1 else ""
    return [
        Problem(
            field,
            f"{what} has {describe_unsendable(value[found[0]])} at {describe_position(value, found[0])}{more}, "
            "which changes the direction the text after it is shown in: the customer may read something other "
            "than what you see. Delete it unless the text is right-to-left on purpose",
            severity="warning",
        )
    ]


def without_unsendable(value: str, field: CharacterField) -> str:
    """`value` without the characters `field` cannot carry: what is left to count once they are deleted."""
    positions = set(unsendable_characters(value, field))
    return "".join(c for i, c in enumerate(value) if i not in positions) if positions else value


def describe_unsendable(ch: str) -> str:
    """An invisible character in words: ``a null character (U+0000)``,
    ``an invisible ZERO WIDTH SPACE (U+200B)``, ``a noncharacter (U+FFFF)``."""
    category = unicodedata.category(ch)
    if category == "Cc":
        name = _CONTROL_NAMES.get(ch, "a control character")
    elif category == "Cf":
        name = f"an invisible {unicodedata.name(ch, 'format character')}"
    elif category == "Cn" and _UNSENDABLE_RE.match(ch):
        name = "a noncharacter"
    else:
        name = unicodedata.name(ch, "a character")
    return f"{name} (U+{ord(ch):04X})"


def describe_position(value: str, index: int) -> str:
    """Where `value[index]` is, for a person, counted in characters from 1: ``position 7``; in a text of
    several lines with its line and column too (``position 57, line 3, column 12``)."""
    where = f"position {index + 1}"
    if "\n" in value:
        line_start = value.rfind("\n", 0, index) + 1
        where += f", line {value.count(chr(10), 0, index) + 1}, column {index - line_start + 1}"
    return where


def visible(value: str) -> str:
    """`value` with its invisible characters written out (``U+001B``), for quoting it in a message: an
    escape sequence in a typed number must be shown, never obeyed by the terminal that prints it."""
    return "".join(f"U+{ord(c):04X}" if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in value)


def _unsendable_problem(
    field: CharacterField, what: str, value: str, index: int | None = None
) -> list[Problem]:
    """The problem with the invisible characters in `value` (the first named, with where it is), if any."""
    bad = unsendable_characters(value, field)
    if not bad:
        return []
    more = f" (and {len(bad) - 1} more like it)" if len(bad) > 1 else ""
    return [
        Problem(
            field,
            f"{what} has {describe_unsendable(value[bad[0]])} at {describe_position(value, bad[0])}{more}, "
            "which cannot be sent; delete it",
            index,
        )
    ]


def _check_sender(draft: Draft) -> list[Problem]:
    sender = draft.sender.strip()
    if not sender:
        return [Problem("from", "choose the number to send from (your Bandwidth number, e.g. +19195550100)")]
    if not any(c.isalpha() for c in sender):
        parsed = phone.parse_number(sender, draft.region)
        if parsed.error:
            return [Problem("from", f'"{visible(sender)}" cannot be used ({parsed.error})')]
        if parsed.warning:
            return [Problem("from", f'"{visible(sender)}" is {parsed.warning}', severity="warning")]
        return []
    # Letters: an alphanumeric sender ID.
    problems: list[Problem] = []
    if len(sender) > MAX_SENDER_ID_LENGTH:
        problems.append(
            Problem(
                "from",
                f"a sender ID can have at most {MAX_SENDER_ID_LENGTH} characters; "
                f'"{visible(sender)}" has {len(sender)}',
            )
        )
    bad = "".join(
        dict.fromkeys(
            c for c in sender if not (c.isascii() and c.isalnum()) and c not in _SENDER_ID_PUNCTUATION
        )
    )
    if bad:
        problems.append(
            Problem(
                "from",
                f'a sender ID may only use letters A-Z, digits, spaces and - + _ &; remove "{visible(bad)}"',
            )
        )
    elif not any(c.isascii() and c.isalpha() for c in sender):
        problems.append(Problem("from", "a sender ID needs at least one letter A-Z"))
    return problems


def _parse_recipients(draft: Draft) -> tuple[list[Problem], list[str]]:
    """Problems with `to`, and the distinct E.164 numbers of the valid entries (in order)."""
    problems: list[Problem] = []
    numbers: list[str] = []
    for index, raw in enumerate(draft.recipients):
        if not raw.strip():
            continue  # an empty entry (a stray comma) is not a recipient, nor a mistake worth stopping for
        parsed = phone.parse_number(raw, draft.region)
        if parsed.error or parsed.e164 is None:
            problems.append(Problem("to", f'"{visible(raw.strip())}" cannot be used ({parsed.error})', index))
            continue
        if parsed.warning:
            problems.append(Problem("to", f'"{visible(raw.strip())}" is {parsed.warning}', index, "warning"))
        if parsed.e164 not in numbers:
            numbers.append(parsed.e164)
    return problems, numbers


def _check_recipients(draft: Draft) -> list[Problem]:
    problems, numbers = _parse_recipients(draft)
    if not numbers and not any(p.severity == "error" for p in problems):
        problems.append(Problem("to", "add at least one recipient"))
    if draft.mode == Mode.GROUP and len(numbers) > MAX_GROUP:
        problems.append(
            Problem(
                "to",
                f"a group message can go to at most {MAX_GROUP} numbers; this one has {len(numbers)}. "
                "Remove some, or send separate messages",
            )
        )
    return problems


def _check_text(draft: Draft) -> list[Problem]:
    text = draft.text
    if not text.strip() and not _media(draft):
        return [Problem("text", "the message is empty: type a text or add media")]
    problems: list[Problem] = []
    length = sms_text.text_length(text)
    if length > MAX_TEXT_LENGTH:
        note = ""
        if length > len(text):
            note = " (emoji and some other symbols count as 2)"
        problems.append(
            Problem(
                "text",
                f"the message is {length} characters long{note}; the limit is {MAX_TEXT_LENGTH}. "
                f"Shorten it by {length - MAX_TEXT_LENGTH}, or split it into two messages",
            )
        )
    bad = _lone_surrogate(text)
    if bad is not None:
        problems.append(
            Problem(
                "text",
                f"the message has a broken character (half an emoji) at {describe_position(text, bad)}; "
                "delete it and retype it",
            )
        )
    problems += _unsendable_problem("text", "the message", text)
    problems += _bidi_problem("text", "the message", text)
    return problems


def _check_media(draft: Draft) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}  # each distinct usable link, and its index
    for index, raw in enumerate(draft.media):
        url = raw.strip()
        if not url:
            continue
        label = f"link {index + 1}"
        if len(url) > MAX_MEDIA_URL_LENGTH:
            problems.append(
                Problem(
                    "media",
                    f"{label} is {len(url)} characters long; a media link can have at most "
                    f"{MAX_MEDIA_URL_LENGTH}. Use a shorter link (for example upload the file)",
                    index,
                )
            )
            continue
        unsendable = _unsendable_problem("media", label, url, index)
        if unsendable:
            problems += unsendable
            continue
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:  # e.g. an unclosed [ in an IPv6 host
            problems.append(
                Problem("media", f'{label} "{visible(url)}" is not a valid link; check it', index)
            )
            continue
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            found = f"it starts with {scheme}:" if scheme else "it does not start with http:// or https://"
            problems.append(
                Problem(
                    "media",
                    f'{label} "{visible(url)}" cannot be used: only http:// and https:// links work; {found}',
                    index,
                )
            )
        elif not host:
            problems.append(
                Problem("media", f'{label} "{visible(url)}" has no host name after {scheme}://', index)
            )
        elif any(c.isspace() for c in url):
            problems.append(
                Problem(
                    "media", f'{label} "{visible(url)}" contains a space; remove it or write it as %20', index
                )
            )
        elif _lone_surrogate(url) is not None:
            problems.append(
                Problem("media", f"{label} has a broken character (half an emoji); retype it", index)
            )
        elif url not in seen:
            seen[url] = index
    if len(seen) > MAX_MEDIA:
        # Pointing at the first link too many marks it in the window's list (typed links join the list
        # even past the limit, so that nothing typed is dropped).
        first_extra = list(seen.values())[MAX_MEDIA]
        problems.append(
            Problem(
                "media",
                f"at most {MAX_MEDIA} media links can go in one message; this one has {len(seen)}. "
                f"Remove {len(seen) - MAX_MEDIA}",
                first_extra,
            )
        )
    return problems


def _check_tag(draft: Draft) -> list[Problem]:
    problems: list[Problem] = []
    length = sms_text.text_length(draft.tag)
    if length > MAX_TAG_LENGTH:
        problems.append(
            Problem(
                "tag",
                f"the tag is {length} characters long; the limit is {MAX_TAG_LENGTH}. "
                f"Shorten it by {length - MAX_TAG_LENGTH}",
            )
        )
    if _lone_surrogate(draft.tag) is not None:
        problems.append(
            Problem("tag", "the tag has a broken character (half an emoji); delete it and retype it")
        )
    problems += _unsendable_problem("tag", "the tag", draft.tag)
    return problems


def _check_priority(draft: Draft) -> list[Problem]:
    if draft.priority is None or draft.priority in tuple(Priority):
        return []
    choices = " or ".join(p.value for p in Priority)
    return [Problem("priority", f'"{draft.priority}" is not a priority; use {choices}')]


def _check_expiration(draft: Draft, now: datetime) -> list[Problem]:
    expiration = draft.expiration
    if expiration is None:
        return []
    if expiration.tzinfo is None or expiration.utcoffset() is None:
        return [
            Problem(
                "expiration",
                "needs a time zone, or it is ambiguous: give it with an offset, e.g. 2026-11-27T18:00:00-05:00",
            )
        ]
    if expiration <= now:
        when = expiration.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return [Problem("expiration", f"{when} has already passed; choose a time in the future")]
    return []


def validate(draft: Draft, *, now: datetime | None = None) -> list[Problem]:
    """Everything wrong with ``draft`` (errors block sending; warnings are for a second look).

    ``now`` (timezone-aware) is injectable so the expiration rule can be tested without a real clock.
    """
    current = now if now is not None else datetime.now(UTC)
    return [
        *_check_sender(draft),
        *_check_recipients(draft),
        *_check_text(draft),
        *_check_media(draft),
        *_check_tag(draft),
        *_check_priority(draft),
        *_check_expiration(draft, current),
    ]


# --- what gets sent ----------------------------------------------------------------------------------------


def recipients_e164(draft: Draft) -> list[str]:
    """The distinct valid recipients in E.164, in the order typed (invalid entries are left out)."""
    return _parse_recipients(draft)[1]


def _media(draft: Draft) -> list[str]:
    return list(dict.fromkeys(u.strip() for u in draft.media if u.strip()))


def is_mms(draft: Draft) -> bool:
    """Media, or a group of more than one number, makes a message MMS (Bandwidth counts it as 1 segment)."""
    return bool(_media(draft)) or (draft.mode == Mode.GROUP and len(recipients_e164(draft)) > 1)


def segments_per_message(draft: Draft) -> int:
    """Segments each POST will use: 1 for MMS, else the SMS count of the text (the API's count is final)."""
    return 1 if is_mms(draft) else sms_text.analyze(draft.text).segments


def message_count(draft: Draft) -> int:
    """How many POSTs (and history rows) sending the draft makes: one per recipient, or one for a group."""
    numbers = recipients_e164(draft)
    if not numbers:
        return 0
    return 1 if draft.mode == Mode.GROUP else len(numbers)


def _sender(draft: Draft) -> str:
    sender = draft.sender.strip()
    if any(c.isalpha() for c in sender):
        return sender  # an alphanumeric sender ID goes as typed
    parsed = phone.parse_number(sender, draft.region)
    return parsed.e164 or sender


def _rfc3339(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    stamp = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        stamp += f".{utc.microsecond // 1000:03d}"
    return stamp + "Z"


def to_requests(draft: Draft, application_id: str, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The JSON body of each POST /messages the draft becomes, in order.

    Separate: one per distinct recipient. Group (or a single recipient): one with everyone in ``to``.
    ``to`` is always a list; empty optional fields are left out. Raises `InvalidDraft` if the draft has
    errors and `ConfigError` without an application id, so nothing invalid can reach the network.
    """
    problems = validate(draft, now=now)
    if not is_sendable(problems):
        raise InvalidDraft(problems)
    if not application_id.strip():
        raise ConfigError(
            "application id is missing: set BW_MESSAGING_APPLICATION_ID or enter it in the settings"
        )
    numbers = recipients_e164(draft)
    groups = [numbers] if draft.mode == Mode.GROUP else [[n] for n in numbers]
    common: dict[str, Any] = {}
    if draft.text:
        common["text"] = draft.text
    media = _media(draft)
    if media:
        common["media"] = media
    if draft.tag:
        common["tag"] = draft.tag
    if draft.priority is not None:
        common["priority"] = Priority(draft.priority).value
    if draft.expiration is not None:
        common["expiration"] = _rfc3339(draft.expiration)
    sender = _sender(draft)
    return [
        {"applicationId": application_id.strip(), "to": list(to), "from": sender, **common} for to in groups
    ]
