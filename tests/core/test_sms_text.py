"""The SMS text rules: GSM-7 vs UCS-2, segment boundaries, the smart-character fix, the length cap.

Three independent checks back the hand-written vectors: the `gsm0338` codec decides what is GSM-7 and
how many septets it takes; a deliberately naive re-implementation of the segment builder (one object per
character, filled bit by bit the way Twilio's calculator does) must agree with the fast counter; and
hypothesis searches for texts that break the monotonicity promises.
"""

from __future__ import annotations

import statistics
import time

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bwdesk.core import sms_text
from bwdesk.core.sms_text import (
    GSM_BASIC_CHARS,
    GSM_EXTENSION_CHARS,
    MAX_TEXT_LENGTH,
    Encoding,
    analyze,
    fix_smart_characters,
    is_gsm_char,
    non_gsm_spans,
    text_length,
    truncate_to_limit,
)

DIGITS = "1234567890"
CYR = "щ"  # a BMP character outside GSM: 16 bits in UCS-2
GRIN = "😀"  # outside the BMP: a surrogate pair, 32 bits
FLAG_IT = "🇮🇹"  # two regional indicators: 4 units
PRIDE = "🏳️\u200d🌈"  # flag + VS16 + ZWJ + rainbow: 6 units, one grapheme
FAMILY = "👨\u200d👩\u200d👧"  # 8 units, one grapheme
E_ACUTE_COMBINING = "e\u0301"  # é as base + combining accent: 2 units, one grapheme
TRIPLE_ACCENT = "e\u0301\u0301\u0301"  # Twilio's "triple accents" vector: 4 units, one grapheme


def digits(n: int) -> str:
    return (DIGITS * (n // 10 + 1))[:n]


# (id, text, encoding, segments, bits without headers)
VECTORS = [
    ("empty", "", Encoding.GSM7, 0, 0),
    ("gsm-1", "a", Encoding.GSM7, 1, 7),
    ("gsm-160", digits(160), Encoding.GSM7, 1, 1120),
    ("gsm-161", digits(161), Encoding.GSM7, 2, 1127),
    ("gsm-306", digits(306), Encoding.GSM7, 2, 2142),
    ("gsm-307", digits(307), Encoding.GSM7, 3, 2149),
    ("gsm-459", digits(459), Encoding.GSM7, 3, 459 * 7),
    ("gsm-460", digits(460), Encoding.GSM7, 4, 460 * 7),
    ("gsm-2048", digits(2048), Encoding.GSM7, 14, 2048 * 7),
    # extension characters cost two septets
    ("ext-first-160-septets", "]" + digits(158), Encoding.GSM7, 1, 1120),
    ("ext-first-161-septets", "]" + digits(159), Encoding.GSM7, 2, 1127),
    ("ext-80-is-160-septets", "€" * 80, Encoding.GSM7, 1, 1120),
    ("ext-81-is-162-septets", "€" * 81, Encoding.GSM7, 2, 1134),
    # an escape pair never straddles a part: 152 + 153 + 1
    ("ext-straddles-153", "a" * 152 + "€" + "a" * 152, Encoding.GSM7, 3, 306 * 7),
    ("ext-just-before-153", "a" * 151 + "€" + "a" * 153, Encoding.GSM7, 2, 306 * 7),
    ("form-feed-is-extension", "\f" + digits(159), Encoding.GSM7, 2, 161 * 7),
    # \r\n is two characters, each its own cluster
    ("crlf-gsm-160", digits(158) + "\r\n", Encoding.GSM7, 1, 1120),
    ("crlf-gsm-161", digits(159) + "\r\n", Encoding.GSM7, 2, 1127),
    ("crlf-ucs2-may-split", CYR * 66 + "\r\n" + CYR * 66, Encoding.UCS2, 2, 134 * 16),
    # UCS-2 boundaries: 70 / 67 units
    ("ucs2-70", CYR * 70, Encoding.UCS2, 1, 1120),
    ("ucs2-71", CYR * 71, Encoding.UCS2, 2, 1136),
    ("ucs2-134", CYR * 134, Encoding.UCS2, 2, 2144),
    ("ucs2-135", CYR * 135, Encoding.UCS2, 3, 2160),
    ("gsm-chars-in-ucs2-cost-16", GRIN + "]" * 68, Encoding.UCS2, 1, 1120),
    ("gsm-chars-in-ucs2-cost-16-b", GRIN + "]" * 69, Encoding.UCS2, 2, 1136),
    # Twilio's vectors (tests/index.test.js)
    ("twilio-ucs2-1", "😜" + digits(69)[1:], Encoding.UCS2, 1, 1120),
    ("twilio-ucs2-2", "😜" + digits(70)[1:], Encoding.UCS2, 2, 1136),
    ("twilio-ucs2-3", "😜" + digits(134)[1:], Encoding.UCS2, 3, 2160),
    ("twilio-flag-1", FLAG_IT + digits(67)[1:], Encoding.UCS2, 1, 1120),
    ("twilio-flag-2", FLAG_IT + digits(68)[1:], Encoding.UCS2, 2, 1136),
    ("twilio-zwj-1", PRIDE + digits(65)[1:], Encoding.UCS2, 1, 1120),
    ("twilio-zwj-2", PRIDE + digits(66)[1:], Encoding.UCS2, 2, 1136),
    ("twilio-triple-accent-1", TRIPLE_ACCENT + "a" * 66, Encoding.UCS2, 1, 1120),
    ("twilio-triple-accent-2", TRIPLE_ACCENT + "a" * 67, Encoding.UCS2, 2, 1136),
    # a surrogate pair at the edge of a part moves whole: 66 + 67 + 1
    ("emoji-straddles-67", CYR * 66 + GRIN + CYR * 66, Encoding.UCS2, 3, 134 * 16),
    ("emoji-fits-67", CYR * 65 + GRIN + CYR * 67, Encoding.UCS2, 2, 134 * 16),
    ("emoji-only-67-pairs", GRIN * 67, Encoding.UCS2, 3, 134 * 16),  # 33 pairs per part: 66 units
    # a grapheme cluster moves whole too (Twilio's rule; phones do not split what the reader sees as one)
    ("flag-straddles-67", CYR * 65 + FLAG_IT + CYR * 65, Encoding.UCS2, 3, 134 * 16),
    ("family-straddles-67", CYR * 63 + FAMILY + CYR * 63, Encoding.UCS2, 3, 134 * 16),
    ("combining-straddles-67", CYR * 66 + E_ACUTE_COMBINING + CYR * 66, Encoding.UCS2, 3, 134 * 16),
    ("combining-fits-67", CYR * 65 + E_ACUTE_COMBINING + CYR * 67, Encoding.UCS2, 2, 134 * 16),
    ("skin-tone-straddles-67", CYR * 65 + "👍🏽" + CYR * 65, Encoding.UCS2, 3, 134 * 16),
    # a cluster bigger than a part (a pile of accents) has to be cut between code points
    ("zalgo-140-units", "e" + "\u0301" * 139, Encoding.UCS2, 3, 140 * 16),
]


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "bits"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_boundary_vectors(text: str, encoding: Encoding, segments: int, bits: int) -> None:
    info = analyze(text)
    assert (info.encoding, info.segments, info.bits) == (encoding, segments, bits)
    assert info.code_points == len(text)
    assert info.utf16_units == len(text.encode("utf-16-le")) // 2
    assert info.length == max(info.code_points, info.utf16_units)


@pytest.mark.parametrize("char", ["Á", "Ú", "ú", "ç", "í", "Í", "ó", "Ó"])
def test_single_code_point_accents_are_ucs2(char: str) -> None:
    # Twilio's "one grapheme UCS-2 characters": 3GPP has é and É but not these.
    assert analyze(char * 70).segments == 1
    assert analyze(char * 71).segments == 2
    assert analyze(char * 70).non_gsm == (char,)


@pytest.mark.parametrize("char", list(GSM_EXTENSION_CHARS))
def test_every_extension_character_costs_two_septets(char: str) -> None:
    assert analyze(char + digits(158)).segments == 1
    assert analyze(char + digits(159)).segments == 2
    assert analyze(char).bits == 14


# --- the gsm0338 codec as the oracle ------------------------------------------------------------------------


def oracle_septets(text: str) -> int | None:
    """Septets per the gsm0338 codec, or None if the text cannot be GSM-7 (0x1B is an escape, not text)."""
    if "\x1b" in text:
        return None
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def test_gsm_tables_match_the_codec_for_every_bmp_character() -> None:
    ours = {chr(cp) for cp in range(0x10000) if is_gsm_char(chr(cp))}
    theirs = {chr(cp) for cp in range(0xD800) if oracle_septets(chr(cp)) is not None} | {
        chr(cp) for cp in range(0xE000, 0x10000) if oracle_septets(chr(cp)) is not None
    }
    assert ours == theirs
    assert len(GSM_BASIC_CHARS) == 127 and len(set(GSM_BASIC_CHARS)) == 127
    assert {c for c in ours if oracle_septets(c) == 2} == set(GSM_EXTENSION_CHARS)


_MIXED_ALPHABET = GSM_BASIC_CHARS + GSM_EXTENSION_CHARS + "щ’“”…😀\u0301\u200d🇮🇹👍🏽\t\x1b\u00a0"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_MIXED_ALPHABET, max_size=400))
def test_encoding_and_septets_agree_with_the_codec(text: str) -> None:
    info = analyze(text)
    septets = oracle_septets(text)
    if septets is None:
        assert info.encoding is Encoding.UCS2
        assert info.bits == 16 * len(text.encode("utf-16-le")) // 2
        assert info.non_gsm  # something is named as the culprit
        assert all(oracle_septets(cluster) is None for cluster in info.non_gsm)
    else:
        assert info.encoding is Encoding.GSM7
        assert info.bits == 7 * septets
        assert info.non_gsm == ()


# --- a naive reference model of the segment builder ---------------------------------------------------------

_JOINERS = {"\u0301", "\u200d", "\U0001f3fd"}  # combining accent, ZWJ, skin tone
_PICTOGRAPHS = {"😀", "👍", "👨", "👩", "👧"}
_RI = {"🇮", "🇹"}


def reference_clusters(text: str) -> list[str]:
    """Grapheme clusters for the small alphabet the model test uses (written out, not optimised)."""
    clusters: list[str] = []
    ri_run = 0  # regional indicators right before `ch`
    for ch in text:
        prev = clusters[-1][-1] if clusters else None
        if prev is None or prev in "\r\n\t":
            joins = False
        elif ch in _JOINERS or (prev == "\u200d" and ch in _PICTOGRAPHS):
            joins = True
        elif ch in _RI and prev in _RI:
            joins = ri_run % 2 == 1
        else:
            joins = False
        ri_run = ri_run + 1 if ch in _RI else 0
        if joins:
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters


def reference_segments(text: str) -> int:
    """Twilio's procedure, literally: fill 1120-bit parts; on overflow put a 48-bit header in front of the
    first part, move what no longer fits into the next one, and continue with headers everywhere."""
    if not text:
        return 0
    gsm = oracle_septets(text) is not None
    sizes = [
        7 * len(c.encode("gsm03.38")) if gsm else 16 * (len(c.encode("utf-16-le")) // 2)
        for c in reference_clusters(text)
    ]
    parts: list[list[int]] = [[]]
    for size in sizes:
        current = parts[-1]
        header = 48 if len(parts) > 1 else 0
        if 1120 - header - sum(current) < size:
            if len(parts) == 1:
                moved: list[int] = []
                while 1120 - 48 - sum(current) < 0:
                    moved.insert(0, current.pop())
                parts.append(moved)
            else:
                parts.append([])
        parts[-1].append(size)
    return len(parts)


_MODEL_ALPHABET = "aé]€щ😀\u0301\u200d👍\U0001f3fd👨👩👧🇮🇹\r\n\t"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_MODEL_ALPHABET, min_size=60, max_size=500))
@example("щ" * 66 + "😀" + "щ" * 66)
@example("a" * 152 + "€" + "a" * 152)
def test_fast_counter_agrees_with_the_naive_model(text: str) -> None:
    clusters = reference_clusters(text)
    assert "".join(clusters) == text
    assume(max(len(c.encode("utf-16-le")) // 2 for c in clusters) <= 67)  # no cluster bigger than a part
    info = analyze(text)
    assert info.segments == reference_segments(text)
    assert info.non_gsm == tuple(dict.fromkeys(c for c in clusters if oracle_septets(c) is None))


@pytest.mark.parametrize("text", ["a" * 400, "щ" * 300, "😀" * 150, "a€" * 200, "e\u0301" * 150, FAMILY * 40])
def test_reference_model_on_plain_repetitions(text: str) -> None:
    assert analyze(text).segments == reference_segments(text)


# --- monotonicity properties ---------------------------------------------------------------------------------

_ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(_MIXED_ALPHABET + "🇫🇷👨👩👧\r\n")),
        st.characters(codec="utf-8"),
    ),
    max_size=300,
)


@settings(max_examples=400, deadline=None)
@given(_ANY_TEXT, st.characters(codec="utf-8"))
@example("щ" * 66 + "e", "\u0301")
@example("a" * 160, "щ")
def test_appending_a_character_never_lowers_the_segment_count(text: str, char: str) -> None:
    assert analyze(text + char).segments >= analyze(text).segments


@settings(max_examples=400, deadline=None)
@given(_ANY_TEXT)
@example("…" * 70)
@example("“" * 160)
@example("\t\u0301" * 50)
def test_the_smart_fix_never_raises_the_segment_count(text: str) -> None:
    assert analyze(fix_smart_characters(text)).segments <= analyze(text).segments


@settings(max_examples=400, deadline=None)
@given(_ANY_TEXT, st.integers(min_value=0, max_value=320))
@example(FLAG_IT * 3, 5)
@example("a" + FAMILY, 6)
def test_truncate_is_a_prefix_within_the_limit(text: str, limit: int) -> None:
    cut = truncate_to_limit(text, limit)
    assert text.startswith(cut)
    assert text_length(cut) <= limit
    if text_length(text) <= limit:
        assert cut == text


# --- counting details ----------------------------------------------------------------------------------------


def test_length_is_the_stricter_of_code_points_and_utf16_units() -> None:
    assert text_length("abc") == 3
    assert text_length(GRIN) == 2
    assert text_length(FLAG_IT) == 4
    assert text_length("\r\n") == 2
    info = analyze(GRIN * 1024)
    assert (info.code_points, info.utf16_units, info.length) == (1024, 2048, 2048)


def test_a_lone_surrogate_is_counted_not_a_crash() -> None:
    info = analyze("hi \ud83d")
    assert info.encoding is Encoding.UCS2
    assert info.length == 4
    assert text_length("\ud83d") == 1


def test_non_gsm_lists_each_culprit_once_in_order_as_whole_clusters() -> None:
    text = "Hi “Ann” — it’s 👍🏽 " + E_ACUTE_COMBINING + " " + FAMILY + " again “ " + FLAG_IT + "🇫🇷"
    assert analyze(text).non_gsm == ("“", "”", "—", "’", "👍🏽", E_ACUTE_COMBINING, FAMILY, FLAG_IT, "🇫🇷")


def test_non_gsm_of_a_pure_gsm_text_is_empty() -> None:
    assert analyze("Price: 10€ [approx] ~ {ok} ^|\\ ¿¡ ÆØÅ ΔΦΓ").non_gsm == ()


def test_a_control_character_is_a_culprit_on_its_own() -> None:
    assert analyze("a\tb\u0301").non_gsm == ("\t", "b\u0301")


def test_non_gsm_spans_are_in_utf16_units_for_qt() -> None:
    text = "a’b😀c" + E_ACUTE_COMBINING + FLAG_IT
    # a=0 ’=1 b=2 😀=3-4 c=5 e+◌́=6-7 🇮🇹=8-11
    assert non_gsm_spans(text) == [(1, 2), (3, 5), (6, 8), (8, 12)]
    assert non_gsm_spans("plain text") == []


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("hello", 10, "hello"),
        ("hello", 3, "hel"),
        ("ab" + GRIN, 3, "ab"),  # never half an emoji
        ("ab" + FLAG_IT, 5, "ab"),  # never half a flag
        ("a" + FAMILY, 6, "a"),  # never a dangling ZWJ
        ("ab" + E_ACUTE_COMBINING, 3, "ab"),  # never an accent torn from its letter
        ("ab\r\n", 3, "ab\r"),
        ("e" + "\u0301" * 10, 4, "e\u0301\u0301\u0301"),  # one cluster longer than the limit: cut it
        ("anything", 0, ""),
        (digits(3000), MAX_TEXT_LENGTH, digits(2048)),
    ],
)
def test_truncate_to_limit(text: str, limit: int, expected: str) -> None:
    assert truncate_to_limit(text, limit) == expected


# --- the smart-character fix ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("“Hello,” she said", '"Hello," she said'),
        ("it’s ‘fine’", "it's 'fine'"),
        ("„Guten Tag“ «salut»", '"Guten Tag" "salut"'),
        ("9–5, Mon—Fri, −3 °", "9-5, Mon-Fri, -3 °"),
        ("wait…", "wait..."),
        ("a\u00a0b\u2009c\u202fd\u3000e\tf", "a b c d e f"),
        ("zero\u200bwidth\ufeff soft\u00adhyphen", "zerowidth softhyphen"),
        ("line\u2028break", "line\nbreak"),
        ("ＡＢＣ１２３！", "ABC123!"),
        ("Cafe\u0301 re\u0301sume\u0301", "Café résumé"),  # decomposed accents (macOS) composed
        ("plain text stays", "plain text stays"),
        (FAMILY + " keeps its joiners", FAMILY + " keeps its joiners"),
    ],
)
def test_fix_smart_characters(text: str, fixed: str) -> None:
    assert fix_smart_characters(text) == fixed


def test_the_fix_turns_a_word_processor_paste_back_into_gsm() -> None:
    text = "Your technician’s on the way — ETA 10–15 min… “Thanks!”" * 4
    assert analyze(text).encoding is Encoding.UCS2
    fixed = fix_smart_characters(text)
    assert analyze(fixed).encoding is Encoding.GSM7
    assert analyze(fixed).segments < analyze(text).segments


def test_the_ellipsis_is_kept_when_expanding_it_would_cost_a_segment() -> None:
    text = "…" * 70  # one UCS-2 part; as "..." x 70 it would be 210 septets, two parts
    assert fix_smart_characters(text) == text
    assert fix_smart_characters("“" + "…" * 69) == '"' + "…" * 69


def test_every_replacement_is_gsm() -> None:
    for code, replacement in sms_text._SMART_TABLE.items():
        assert replacement is None or all(is_gsm_char(c) for c in replacement), hex(code)
        assert not is_gsm_char(chr(code)), hex(code)


# --- speed ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        digits(2048),
        ("Ваш техник уже в пути. " * 100)[:2048],
        ("Hi “Ann” 📦 👍🏽 🇺🇸 thanks… " * 100)[:2048],
        "🇺🇸" * 512,  # a row of flags: pairing is counted from the part start, not from the row's start
    ],
    ids=["gsm", "ucs2", "mixed", "flags"],
)
def test_analyze_of_a_full_length_text_is_fast(text: str) -> None:
    # The benchmark target is 0.5 ms median; this guards against an accidental quadratic walk with a wide
    # margin for slow CI machines (bench/bench_segments.py measures the real numbers).
    analyze(text)
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        analyze(text)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.005
