"""How a text goes out as SMS: GSM-7 or UCS-2, how many segments, which characters force Unicode, and the
smart-character fix (docs/design.md §7)."""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

__all__ = [
    "GSM_BASIC_CHARS",
    "GSM_EXTENSION_CHARS",
    "MAX_TEXT_LENGTH",
    "SEGMENT_BITS",
    "UDH_BITS",
    "Encoding",
    "TextInfo",
    "analyze",
    "fix_smart_characters",
    "is_gsm_char",
    "non_gsm_spans",
    "text_length",
    "truncate_to_limit",
]

MAX_TEXT_LENGTH = 2048
SEGMENT_BITS = 1120  # 140 octets per SMS
UDH_BITS = 48  # the 6-octet concatenation header in every part of a multi-part message

# 3GPP TS 23.038 default alphabet, in code order 0x00-0x7F. 0x1B (the escape to the extension table)
# is not a character and is left out.
GSM_BASIC_CHARS = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # 0x00-0x1F without 0x1B
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus its own.
GSM_EXTENSION_CHARS = "\f^{}\\[~]|€"

_GSM_ALL = frozenset(GSM_BASIC_CHARS + GSM_EXTENSION_CHARS)
_GSM_SET = re.escape(GSM_BASIC_CHARS + GSM_EXTENSION_CHARS)  # the inside of a regex character class
_NON_GSM_RE = re.compile(f"[^{_GSM_SET}]")
_NON_GSM_RUN_RE = re.compile(f"[^{_GSM_SET}]+")
_BASED_RUN_RE = re.compile(f"[{_GSM_SET}]?[^{_GSM_SET}]+")  # a non-GSM run and the GSM character before it
_EXTENSION_RE = re.compile("[" + re.escape(GSM_EXTENSION_CHARS) + "]")

_GSM_SINGLE_SEPTETS = SEGMENT_BITS // 7  # 160
_GSM_MULTI_SEPTETS = (SEGMENT_BITS - UDH_BITS) // 7  # 153
_UCS2_SINGLE_UNITS = SEGMENT_BITS // 16  # 70
_UCS2_MULTI_UNITS = (SEGMENT_BITS - UDH_BITS) // 16  # 67


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class TextInfo:
    """What the counter under the text box shows.

    ``length`` is what the 2048 cap applies to: max(code points, UTF-16 units). ``bits`` is the size of
    the text itself (septets x 7 or units x 16), without the headers of a multi-part message.
    ``non_gsm`` lists the characters (grapheme clusters) that force UCS-2, each once, in order.
    """

    encoding: Encoding
    segments: int
    length: int
    code_points: int
    utf16_units: int
    bits: int
    non_gsm: tuple[str, ...] = ()


def is_gsm_char(ch: str) -> bool:
    """True if ``ch`` (one character) can be sent in GSM-7 (basic or extension table)."""
    return ch in _GSM_ALL


_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"  # the byte order array("H") reads


def _utf16(text: str) -> bytes:
    # surrogatepass: a lone surrogate from a broken paste is counted (as one unit), never a crash.
    return text.encode(_UTF16, "surrogatepass")


def text_length(text: str) -> int:
    """The length the API limit applies to: the stricter of code points and UTF-16 units."""
    return max(len(text), len(_utf16(text)) // 2)


def analyze(text: str) -> TextInfo:
    """Encoding, segment count and sizes of ``text`` sent as one SMS message.

    Fast for the common cases: a pure GSM text is counted with C-level string operations and arithmetic;
    positions are only examined at the few part boundaries.
    """
    code_points = len(text)
    if not code_points:
        return TextInfo(Encoding.GSM7, 0, 0, 0, 0, 0)
    if _NON_GSM_RE.search(text) is None:
        # Every character is GSM, all in the BMP: code points == UTF-16 units.
        extension = sum(map(text.count, GSM_EXTENSION_CHARS))
        septets = code_points + extension
        return TextInfo(
            Encoding.GSM7,
            _gsm_segments(text, septets, extension),
            code_points,
            code_points,
            code_points,
            septets * 7,
        )
    encoded = _utf16(text)
    units = len(encoded) // 2
    return TextInfo(
        Encoding.UCS2,
        _ucs2_segments(encoded, units),
        max(code_points, units),
        code_points,
        units,
        units * 16,
        _non_gsm_clusters(text),
    )


def _gsm_segments(text: str, septets: int, extension: int) -> int:
    if septets <= _GSM_SINGLE_SEPTETS:
        return 1
    if not extension:
        return -(-septets // _GSM_MULTI_SEPTETS)
    # An escape pair may not be split: a break right after its escape septet moves back by one.
    # The k-th extension character at code-point index i occupies septets i+k and i+k+1.
    inside_pair = {m.start() + k + 1 for k, m in enumerate(_EXTENSION_RE.finditer(text))}
    pos = 0
    segments = 1
    while septets - pos > _GSM_MULTI_SEPTETS:
        end = pos + _GSM_MULTI_SEPTETS
        if end in inside_pair:
            end -= 1
        pos = end
        segments += 1
    return segments


def _ucs2_segments(encoded: bytes, units: int) -> int:
    if units <= _UCS2_SINGLE_UNITS:
        return 1
    arr = array("H", encoded)
    pos = 0
    segments = 1
    while units - pos > _UCS2_MULTI_UNITS:
        end = pos + _UCS2_MULTI_UNITS
        start = _cluster_start(arr, end, floor=pos)
        if start > pos:
            end = start
        elif _is_low(arr[end]) and _is_high(arr[end - 1]):
            # One cluster fills the whole part: cut it between code points, never inside a surrogate pair.
            end -= 1
        pos = end
        segments += 1
    return segments


# --- grapheme clusters (a compact approximation of UAX #29) ----------------------------------------------

_ZWJ = 0x200D
_EXTRA_EXTEND = frozenset(
    [0x200C, *range(0x1F3FB, 0x1F400), *range(0xE0020, 0xE0080), 0xFF9E, 0xFF9F]
)  # ZWNJ, emoji skin tones, emoji tag characters, half-width katakana voicing marks
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
# Extended_Pictographic, approximately: what may follow a ZWJ inside an emoji sequence.
_PICTOGRAPHIC_RANGES = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x21AA),
    (0x231A, 0x23FF),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3299),
    (0x1F000, 0x1F1E5),
    (0x1F200, 0x1F3FA),
    (0x1F400, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)


def _is_high(unit: int) -> bool:
    return 0xD800 <= unit <= 0xDBFF


def _is_low(unit: int) -> bool:
    return 0xDC00 <= unit <= 0xDFFF


def _is_extend(cp: int) -> bool:
    """Extend or SpacingMark: attaches to the character before it."""
    return cp == _ZWJ or cp in _EXTRA_EXTEND or unicodedata.category(chr(cp)) in ("Mn", "Me", "Mc")


def _is_control(cp: int) -> bool:
    """Grapheme_Cluster_Break=Control (and CR, LF): always a cluster of its own."""
    if cp in (0x200C, _ZWJ) or 0xE0020 <= cp <= 0xE007F:
        return False
    return unicodedata.category(chr(cp)) in ("Cc", "Zl", "Zp", "Cf")


def _is_pictographic(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _PICTOGRAPHIC_RANGES)


def _cp_at(arr: array[int], x: int) -> int:
    unit = arr[x]
    if _is_high(unit) and x + 1 < len(arr) and _is_low(arr[x + 1]):
        return 0x10000 + ((unit - 0xD800) << 10) + (arr[x + 1] - 0xDC00)
    return unit


def _cp_start_before(arr: array[int], x: int) -> int:
    """Unit offset where the code point that ends at ``x`` begins."""
    if x >= 2 and _is_low(arr[x - 1]) and _is_high(arr[x - 2]):
        return x - 2
    return x - 1


def _is_break(arr: array[int], x: int, floor: int = 0) -> bool:
    """May a part (or a cut) begin at UTF-16 offset ``x``? (0 < x < len; ``floor`` is a known boundary)"""
    if _is_low(arr[x]) and _is_high(arr[x - 1]):
        return False  # inside a surrogate pair
    cur = _cp_at(arr, x)
    prev_start = _cp_start_before(arr, x)
    prev = _cp_at(arr, prev_start)
    if _is_control(prev) or _is_control(cur):
        return True
    if _is_extend(cur):
        return False
    if prev == _ZWJ and _is_pictographic(cur):
        return False
    if cur in _REGIONAL_INDICATORS and prev in _REGIONAL_INDICATORS:
        # Flags pair up from the start of a run of regional indicators (or from a known boundary, so a long
        # row of flags is not walked again for every part).
        # Each regional indicator is the surrogate pair D83C DDE6-DDFF; count them without decoding.
        run = 0
        y = x
        while y - 2 >= floor and arr[y - 2] == 0xD83C and 0xDDE6 <= arr[y - 1] <= 0xDDFF:
            run += 1
            y -= 2
        return run % 2 == 0
    return True


def _cluster_start(arr: array[int], x: int, floor: int = 0) -> int:
    """Start of the grapheme cluster containing UTF-16 offset ``x``; stops searching at ``floor``."""
    while x > floor and x < len(arr) and not _is_break(arr, x, floor):
        x = _cp_start_before(arr, x)
    return x


def _char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges
    )


def _to_ranges(codes: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for cp in codes:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


@cache
def _cluster_re() -> re.Pattern[str]:
    """Matches each grapheme cluster that contains a non-GSM character (built on first use, ~15 ms).

    The same rules as ``_is_break``, as one regular expression so that listing the culprits of a long
    text runs at C speed. Mn/Me/Mc characters exist only below U+30000 and in the variation selectors
    supplement, so scanning those planes finds them all.
    """
    extend: list[int] = []
    control: list[int] = []
    for cp in (*range(0x30000), *range(0xE0000, 0xE1000)):
        if _is_extend(cp):
            extend.append(cp)
        elif _is_control(cp):
            control.append(cp)
    ext = "[" + _char_class(_to_ranges(extend)) + "]"
    ctrl = "[" + _char_class(_to_ranges(control)) + "]"
    pict = "[" + _char_class(list(_PICTOGRAPHIC_RANGES)) + "]"
    tail = f"(?:{ext}|(?<=\u200d){pict})"
    ri = "[\U0001f1e6-\U0001f1ff]"
    non_gsm = f"[^{_GSM_SET}]"
    gsm_base = (
        "["
        + re.escape("".join(c for c in GSM_BASIC_CHARS + GSM_EXTENSION_CHARS if not _is_control(ord(c))))
        + "]"
    )
    # Order matters: a control character is always alone; a flag is two regional indicators.
    return re.compile(f"(?={non_gsm})(?:{ctrl})|(?:{ri}{ri}|{non_gsm}){tail}*|{gsm_base}{tail}+")


@cache
def _joins(ch: str) -> bool:
    """Does ``ch`` attach to the character before it (an accent, ZWJ, skin tone) or pair up (a flag half)?"""
    cp = ord(ch)
    return _is_extend(cp) or cp in _REGIONAL_INDICATORS


def _non_gsm_clusters(text: str) -> tuple[str, ...]:
    """The clusters of ``text`` that force UCS-2, each once, in order of appearance.

    Most texts have no joining characters, and then each non-GSM code point is a cluster of its own: a
    C-level scan suffices. Otherwise every such cluster lies in a run of non-GSM characters plus, at
    most, the GSM letter just before it (``e`` + accent, a keycap), and a text repeats few distinct runs
    (the same quotes, the same emoji): the cluster expression reads each distinct run once.
    """
    unique = dict.fromkeys("".join(_NON_GSM_RUN_RE.findall(text)))
    if not any(_joins(c) for c in unique):
        return tuple(unique)
    runs = dict.fromkeys(_BASED_RUN_RE.findall(text))
    # NUL between runs keeps them apart, as the GSM text between them does (a control is a cluster alone).
    clusters = _cluster_re().findall("\x00".join(runs))
    if "\x00" not in unique:
        clusters = [c for c in clusters if c != "\x00"]
    return tuple(dict.fromkeys(clusters))


def non_gsm_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each cluster that forces UCS-2, in UTF-16 units — the offsets Qt's QString uses."""
    spans: list[tuple[int, int]] = []
    if _NON_GSM_RE.search(text) is None:
        return spans
    units_before = 0
    last = 0
    for m in _cluster_re().finditer(text):
        start = units_before + len(_utf16(text[last : m.start()])) // 2
        end = start + len(_utf16(m.group())) // 2
        spans.append((start, end))
        units_before = end
        last = m.end()
    return spans


# --- limits --------------------------------------------------------------------------------------------------


def truncate_to_limit(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """The longest prefix of ``text`` whose ``text_length`` is at most ``limit``.

    The cut never falls inside a surrogate pair or a grapheme cluster (no half flag or dangling ZWJ).
    """
    if limit <= 0:
        return ""
    if text_length(text) <= limit:
        return text
    arr = array("H", _utf16(text))
    cut = _cluster_start(arr, limit)
    if cut == 0:
        # One cluster longer than the limit (a pile of accents): cut it between code points instead.
        cut = limit - 1 if _is_low(arr[limit]) and _is_high(arr[limit - 1]) else limit
    return arr[:cut].tobytes().decode(_UTF16, "surrogatepass")


# --- smart characters --------------------------------------------------------------------------------------

# Look-alikes that turn a plain message into UCS-2 (usually pasted from a word processor or a phone's
# "smart punctuation"), mapped to their plain GSM equivalents. One character for one.
_SMART_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u00b4\u0060\u02b9\u02bc\u02c8\uff07"
_SMART_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u02ba\u301d\u301e\u301f\uff02"
_SMART_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_SMART_SPACES = (
    "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_SMART_LINE_BREAKS = "\u2028\u2029"
_SMART_INVISIBLE = "\u200b\u2060\ufeff\u00ad"  # zero-width space, word joiner, BOM, soft hyphen


def _smart_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for chars, plain in (
        (_SMART_SINGLE_QUOTES, "'"),
        (_SMART_DOUBLE_QUOTES, '"'),
        (_SMART_DASHES, "-"),
        (_SMART_SPACES, " "),
        (_SMART_LINE_BREAKS, "\n"),
    ):
        table.update({ord(c): plain for c in chars})
    table.update({ord(c): None for c in _SMART_INVISIBLE})
    # Full-width ASCII (U+FF01-FF5E), common in East Asian input methods.
    for offset in range(0x5E):
        plain = chr(0x21 + offset)
        if plain in _GSM_ALL:
            table[0xFF01 + offset] = plain
    return table


_SMART_TABLE = _smart_table()
_SMART_EXPANSIONS = {ord("\u2026"): "...", ord("\u2025"): ".."}  # ellipsis, two-dot leader
_DECOMPOSED_RE = re.compile("[^\\W\\d_][\u0300-\u036f]+")


def _compose(m: re.Match[str]) -> str:
    composed = unicodedata.normalize("NFC", m.group())
    return composed if len(composed) < len(m.group()) else m.group()


def fix_smart_characters(text: str) -> str:
    """Replace curly quotes, dashes, odd spaces, invisible characters and ellipses with plain ones.

    Letters typed as a base letter plus a combining accent (as macOS pastes them) are composed, so é
    becomes the GSM é. The result never needs more segments than ``text``: the ellipsis (one character
    becoming three) is only expanded when that does not cost a segment, and if a replacement would
    somehow cost one (a change in how clusters join), the text is returned unchanged.
    """
    plain = _DECOMPOSED_RE.sub(_compose, text).translate(_SMART_TABLE)
    expanded = plain.translate(_SMART_EXPANSIONS)
    before = analyze(text).segments
    if expanded != plain and analyze(expanded).segments <= min(before, analyze(plain).segments):
        return expanded
    if analyze(plain).segments <= before:
        return plain
    return text
