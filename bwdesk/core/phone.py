"""Phone numbers as people type and paste them, turned into the E.164 form the API needs (libphonenumber's rules, in
the default region), each rejection in words an agent can act on (docs/design.md §7, §8.4)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import phonenumbers

# phonenumbers itself (≈ 100M instructions to load) is imported by the functions that use it, on first use: the
# window's first frame asks only about the settings' numbers, answered from what an earlier start remembered.

__all__ = [
    "ParsedNumber",
    "PastedNumbers",
    "default_region",
    "display_number",
    "find_numbers",
    "first_frame_painted",
    "is_known_region",
    "is_toll_free",
    "library_loaded",
    "parse_entries",
    "parse_number",
    "read_paste",
    "region_codes",
    "remember_startup_numbers",
    "use_remembered",
]

DEFAULT_REGION = "US"

# What a pasted list is separated by. Spaces are not separators: people write `919 555 0123`.
_SEPARATORS_RE = re.compile(r"[\n\r,;\t]+")
_DIGIT_RE = re.compile(r"\d")
_NUMBER_SHAPED_RE = re.compile(r"[\d\s+()\-./]+")


@dataclass(frozen=True)
class ParsedNumber:
    """One number as the user gave it, and what bwdesk makes of it.

    ``display`` is what a chip shows (the readable form, or the input itself when it is invalid);
    ``error`` says why it cannot be used; ``warning`` flags a usable number worth a second look.
    """

    raw: str
    e164: str | None
    display: str
    error: str | None = None
    warning: str | None = None

    @property
    def ok(self) -> bool:
        return self.e164 is not None and self.error is None


def default_region() -> str:
    """The region for numbers typed without ``+``: ``BWDESK_REGION`` (e.g. ``GB``), else ``US``."""
    value = os.environ.get("BWDESK_REGION", "").strip().upper()
    return value or DEFAULT_REGION


def region_codes() -> list[str]:
    """Every two-letter region phonenumbers knows (``AC`` … ``ZW``), for a list to choose from."""
    import phonenumbers

    return sorted(phonenumbers.SUPPORTED_REGIONS)


def is_known_region(region: str) -> bool:
    """True for a two-letter region phonenumbers knows (``US``, ``GB``, …)."""
    key = region.upper()
    known = _startup.region(key)
    if known is not None:
        return known
    import phonenumbers

    return key in phonenumbers.SUPPORTED_REGIONS


def _region(region: str | None) -> str:
    return (region or default_region()).strip().upper()


def _clean(text: str) -> str:
    # Copying from web pages and chat apps brings invisible format characters (bidi marks, zero-width
    # spaces) around numbers; they are never part of a number.
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


def is_toll_free(number: str) -> bool:
    """A toll-free number (800, 888…): Bandwidth allows it far smaller MMS (`media_info`)."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE)


def display_number(e164: str, region: str | None = None) -> str:
    """A readable form: national format for the default region's country, international otherwise."""
    region = _region(region)
    remembered = _startup.display(e164, region)
    if remembered is not None:
        return remembered
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return _format_for_display(number, region)


def _format_for_display(number: phonenumbers.PhoneNumber, region: str) -> str:
    import phonenumbers

    home = phonenumbers.country_code_for_region(region) if is_known_region(region) else 0
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(number, style))


def _parse_error(exc: phonenumbers.NumberParseException, text: str, region: str) -> str:
    import phonenumbers

    kind = exc.error_type
    if kind == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if text.startswith("+"):
            return "invalid country code: the digits after + are not a country calling code"
        if not is_known_region(region):
            return f"missing country code: start with + or set the default region ({region!r} is not a known region)"
        return "missing country code: start with + or set the default region"
    if kind == phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD:
        return "too short: the number after the international prefix is incomplete"
    if kind == phonenumbers.NumberParseException.TOO_SHORT_NSN:
        return "too short: check for missing digits"
    if kind == phonenumbers.NumberParseException.TOO_LONG:
        return "too long: check for extra digits, or put commas or line breaks between numbers"
    return "not a number: use digits, such as +1 919 555 0123"


def _from_number(raw: str, number: phonenumbers.PhoneNumber, region: str) -> ParsedNumber:
    """Judge a number phonenumbers could read: length, extension, assigned range."""
    import phonenumbers

    shown = raw.strip()
    reason = phonenumbers.is_possible_number_with_reason(number)
    error: str | None = None
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        error = "too short: include the area code"
    elif reason == phonenumbers.ValidationResult.TOO_SHORT:
        error = "too short: check for missing digits"
    elif reason == phonenumbers.ValidationResult.TOO_LONG:
        error = "too long: check for extra digits, or put commas or line breaks between numbers"
    elif reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        error = "invalid country code: the digits after + are not a country calling code"
    elif reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        error = f"wrong number of digits for a +{number.country_code} number: check it"
    elif number.extension:
        error = f"has an extension (ext. {number.extension}): a text cannot go to an extension; remove it"
    if error is not None:
        return ParsedNumber(raw, None, shown, error=error)
    warning = None
    if not phonenumbers.is_valid_number(number):
        warning = "possible but not an assigned number: check the digits before sending"
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return ParsedNumber(raw, e164, _format_for_display(number, region), warning=warning)


def parse_number(text: str, region: str | None = None) -> ParsedNumber:
    """Parse one number as typed. Never raises: problems come back in ``error``."""
    region = _region(region)
    remembered = _startup.parsed(text, region)
    if remembered is not None:
        return remembered
    return _parse_number(text, region)


@functools.lru_cache(maxsize=4096)
def _parse_number(text: str, region: str) -> ParsedNumber:
    """Remembered: the composer judges its draft at every edit, and while a send is answered, so the same few
    numbers are parsed again and again (≈ 0.1 ms each with phonenumbers; docs/design.md §3.5)."""
    import phonenumbers

    cleaned = _clean(text)
    if not cleaned:
        return ParsedNumber(text, None, "", error="empty: type a phone number")
    try:
        number = phonenumbers.parse(cleaned, region if is_known_region(region) else None)
    except phonenumbers.NumberParseException as exc:
        return ParsedNumber(text, None, text.strip(), error=_parse_error(exc, cleaned, region))
    return _from_number(text, number, region)


def _number_shaped(piece: str) -> bool:
    """Written like a phone number: only digits and the punctuation numbers are written with, and at least
    three digits (fewer is a count or a house number in a table, not an attempt at a number)."""
    return bool(_NUMBER_SHAPED_RE.fullmatch(piece)) and len(_DIGIT_RE.findall(piece)) >= 3


def _pieces(text: str, region: str) -> list[tuple[str, list[ParsedNumber]]]:
    """The text cut at list separators, each piece with the numbers phonenumbers' matcher finds in it
    (at ``Leniency.POSSIBLE``, so possible-but-unassigned numbers such as 555 ones are found)."""
    import phonenumbers

    known = region if is_known_region(region) else None
    # "ZZ" (unknown region) still finds numbers written with +.
    matches = list(
        phonenumbers.PhoneNumberMatcher(text, known or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE)
    )
    pieces: list[tuple[str, list[ParsedNumber]]] = []
    i = 0
    for start, end in _fragments(text):
        found: list[ParsedNumber] = []
        while i < len(matches) and matches[i].start < end:
            if matches[i].start >= start:
                found.append(_from_number(matches[i].raw_string, matches[i].number, region))
            i += 1
        pieces.append((text[start:end].strip(), found))
    return pieces


def _fragments(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for sep in _SEPARATORS_RE.finditer(text):
        yield start, sep.start()
        start = sep.end()
    yield start, len(text)


@dataclass(frozen=True)
class PastedNumbers:
    """What a paste holds, for the recipients field.

    ``numbers``: what phonenumbers' matcher finds, in order, a number found twice included twice (the
    field merges repeats and says so). ``not_numbers``: pieces of a list written like a number (digits
    and phone punctuation only) in which the matcher finds none, such as a number missing a digit; they
    are given back as typed so the field can keep them for the agent to fix, instead of dropping them.
    Everything else (prose, a signature's address and ZIP code, labels such as "Fax:") is not a number.
    """

    numbers: tuple[ParsedNumber, ...]
    not_numbers: tuple[str, ...]


def read_paste(text: str, region: str | None = None) -> PastedNumbers:
    """The numbers in pasted text: a list with any separators, or free text such as a signature.

    Only what phonenumbers' matcher accepts at ``Leniency.POSSIBLE`` is a number (DESIGN: possible but
    unassigned ones included); a digit run it rejects (a ZIP code, an order number) is not one.
    """
    region = _region(region)
    numbers: list[ParsedNumber] = []
    not_numbers: list[str] = []
    for piece, found in _pieces(text, region):
        numbers += found
        if not found and _number_shaped(piece):
            not_numbers.append(piece)
    return PastedNumbers(tuple(numbers), tuple(not_numbers))


def find_numbers(text: str, region: str | None = None) -> list[ParsedNumber]:
    """The distinct numbers phonenumbers' matcher finds in `text`, in order (see `read_paste`)."""
    found: dict[str, ParsedNumber] = {}
    for number in read_paste(text, region).numbers:
        found.setdefault(number.e164 or "raw:" + number.raw.strip(), number)
    return list(found.values())


def parse_entries(text: str, region: str | None = None) -> list[ParsedNumber]:
    """Text typed into the recipients field as entries: the agent meant every piece of it as a number.

    A piece (between list separators) gives the numbers found in it, or else itself, as an entry that
    says why it is not a number; text with no number in it at all (prose) stays one entry. Nothing typed
    disappears: it becomes a number, or a marked entry the agent can correct. A number typed twice is
    there twice (the field merges it and says so).
    """
    region = _region(region)
    if not text.strip():
        return []
    pieces = _pieces(text, region)
    if not any(found or _number_shaped(piece) for piece, found in pieces):
        return [parse_number(text.strip(), region)]
    entries: list[ParsedNumber] = []
    for piece, found in pieces:
        if found:
            entries += found
        elif piece:
            entries.append(parse_number(piece, region))
    return entries


#: At most this many questions of a start are remembered for the next (the From numbers, the region, a restored
#: draft's recipients): enough for a start, bounded for a command that never calls `remember_startup_numbers`.
_STARTUP_QUESTIONS = 64
_MEMO_FORMAT = 1


class _StartupAnswers:
    """The library's answers, from the previous start, to the questions a start asks before its first paint (is
    the region known, is the From number valid, how is it shown), so that the first frame does not wait for
    phonenumbers to load (docs/design.md §3.1). Used only until the library is loaded; every start records its
    questions, and `remember_startup_numbers` answers them with the library for the next one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[tuple[str, str], ParsedNumber] = {}
        self._displays: dict[tuple[str, str], str] = {}
        self._regions: dict[str, bool] = {}
        self._asked: dict[tuple[str, str, str], None] = {}  # in the order asked
        self._recording = True

    def _ask(self, kind: str, text: str, region: str) -> bool:
        """Record the question; True when the remembered answers may be used (the library is not loaded)."""
        if self._recording:
            with self._lock:
                if self._recording and len(self._asked) < _STARTUP_QUESTIONS:
                    self._asked[(kind, text, region)] = None
        return not library_loaded()

    def parsed(self, text: str, region: str) -> ParsedNumber | None:
        return self._parsed.get((text, region)) if self._ask("parse", text, region) else None

    def display(self, e164: str, region: str) -> str | None:
        return self._displays.get((e164, region)) if self._ask("display", e164, region) else None

    def region(self, code: str) -> bool | None:
        return self._regions.get(code) if self._ask("region", code, "") else None

    def load(self, path: Path) -> None:
        self._parsed, self._displays, self._regions = {}, {}, {}
        try:
            memo = json.loads(path.read_text(encoding="utf-8"))
            if memo.get("format") != _MEMO_FORMAT:
                return
            parsed = {(t, r): ParsedNumber(**fields) for t, r, fields in memo["parse"]}
            displays = {(e, r): str(d) for e, r, d in memo["display"]}
            regions = {str(c): bool(k) for c, k in memo["region"]}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return  # none yet, or not ours: the library answers this start
        self._parsed, self._displays, self._regions = parsed, displays, regions

    def close(self) -> None:
        with self._lock:
            self._recording = False

    def remember(self, path: Path) -> None:
        self.close()
        asked = list(self._asked)
        import phonenumbers

        memo = {
            "format": _MEMO_FORMAT,
            "library": phonenumbers.__version__,
            "parse": [[t, r, asdict(_parse_number(t, r))] for kind, t, r in asked if kind == "parse"],
            "display": [[e, r, display_number(e, r)] for kind, e, r in asked if kind == "display"],
            "region": [[c, is_known_region(c)] for kind, c, _ in asked if kind == "region"],
        }
        text = json.dumps(memo, ensure_ascii=False, indent=1)
        with contextlib.suppress(OSError, ValueError):  # none yet, or damaged (not even UTF-8): written anew
            if path.read_text(encoding="utf-8") == text:
                return
        from bwdesk.core.paths import write_private_atomic

        with contextlib.suppress(
            OSError
        ):  # a read-only profile: the next start loads the library, nothing worse
            write_private_atomic(path, text)


_startup = _StartupAnswers()


def use_remembered(path: Path) -> None:
    """Answer this start's first questions about numbers from `path` (written by an earlier start)."""
    _startup.load(path)


def library_loaded() -> bool:
    """Whether phonenumbers is loaded (or loading): asking about a number not remembered will not load it."""
    return "phonenumbers" in sys.modules


def first_frame_painted() -> None:
    """What is asked from now on (numbers being typed) is not a start-up question."""
    _startup.close()


def remember_startup_numbers(path: Path) -> None:
    """Answer this start's questions with the library (loading it) and keep the answers in `path` for the next
    start. Called once, on a worker, after the first paint."""
    _startup.remember(path)
