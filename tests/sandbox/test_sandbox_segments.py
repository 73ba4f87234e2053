"""The sandbox's own segment counter, checked against the gsm0338 codec and hand-made boundary vectors."""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bwdesk.sandbox.segments import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, sms_segments


def test_tables_match_the_gsm0338_codec() -> None:
    for char in GSM7_BASIC:
        assert len(char.encode("gsm03.38")) == 1, repr(char)
    for char in GSM7_EXTENSION:
        assert len(char.encode("gsm03.38")) == 2, repr(char)
    assert len(GSM7_BASIC) == 127  # 128 positions less the escape
    assert len(GSM7_EXTENSION) == 10


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_is_gsm7_agrees_with_the_codec(text: str) -> None:
    try:
        text.encode("gsm03.38")
        encodable = "\x1b" not in text
    except UnicodeError:
        encodable = False
    assert is_gsm7(text) == encodable


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 159 + "€", 2),  # the escape pair makes 161 septets
        ("a" * 80 + "€" * 40, 1),  # exactly 160 septets
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the pair cannot split at 153: 152 | 154 → 3
        ("a" * 153 * 3, 3),
        ("a" * (153 * 3 + 1), 4),
        ("`" * 70, 1),  # the backtick is not GSM
        ("`" * 71, 2),
        ("a" * 66 + "😀" + "`", 1),  # 69 units
        ("a" * 68 + "😀", 1),  # exactly 70 units
        ("a" * 69 + "😀", 2),  # 71 units
        ("`" * 66 + "😀" + "`" * 66, 3),  # 134 units, but the surrogate pair cannot split at 67
        ("🇺🇸" * 17 + "`", 1),  # a flag is two code points, four units: 69
        ("🇺🇸" * 18, 2),  # 72 units
    ],
)
def test_boundaries(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


@given(st.text(max_size=400), st.text(max_size=5))
def test_appending_never_lowers_the_count(text: str, more: str) -> None:
    assert sms_segments(text + more) >= sms_segments(text)
