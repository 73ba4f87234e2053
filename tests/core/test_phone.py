"""Phone numbers: parsing with a default region, readable display, specific rejections, the paste engine."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bwdesk.core.phone import (
    ParsedNumber,
    default_region,
    display_number,
    find_numbers,
    parse_entries,
    parse_number,
    read_paste,
)


@pytest.mark.parametrize(
    ("typed", "e164", "display"),
    [
        ("9195550123", "+19195550123", "(919) 555-0123"),
        ("(919) 555-0123", "+19195550123", "(919) 555-0123"),
        ("919.555.0123", "+19195550123", "(919) 555-0123"),
        ("1-919-555-0123", "+19195550123", "(919) 555-0123"),
        ("+1 919 555 0123", "+19195550123", "(919) 555-0123"),
        ("  +19195550123  ", "+19195550123", "(919) 555-0123"),
        ("tel:+19195550123", "+19195550123", "(919) 555-0123"),
        ("\u202a+1 919 555 0123\u202c", "+19195550123", "(919) 555-0123"),  # bidi marks from a chat app
        ("919\u00a0555\u00a00123", "+19195550123", "(919) 555-0123"),
        ("+1 416 555 0123", "+14165550123", "(416) 555-0123"),  # Canada shares +1: national format
        ("+44 20 7946 0958", "+442079460958", "+44 20 7946 0958"),
        ("011 44 20 7946 0958", "+442079460958", "+44 20 7946 0958"),  # US international prefix
    ],
)
def test_parse_valid_numbers_in_the_default_region(typed: str, e164: str, display: str) -> None:
    parsed = parse_number(typed)
    assert parsed.ok
    assert (parsed.e164, parsed.display, parsed.error, parsed.warning) == (e164, display, None, None)
    assert parsed.raw == typed


def test_possible_but_unassigned_is_a_warning_not_an_error() -> None:
    parsed = parse_number("+15554443333")  # from Bandwidth's own examples
    assert parsed.ok
    assert parsed.e164 == "+15554443333"
    assert parsed.error is None
    assert parsed.warning is not None and parsed.warning.startswith("possible but not an assigned number")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "not a number"),
        ("+", "not a number"),
        ("919-555-01", "too short"),
        ("+1 919", "too short"),
        ("555-0123", "too short: include the area code"),
        ("+44 1234", "too short: include the area code"),
        ("919555012345678", "too long"),
        ("+4420794609581234567", "too long"),
        ("+999 123 4567", "invalid country code"),
        ("+1 919 555 0123 ext. 5", "has an extension"),
    ],
)
def test_each_rejection_has_a_specific_reason(typed: str, reason: str) -> None:
    parsed = parse_number(typed)
    assert not parsed.ok
    assert parsed.e164 is None
    assert parsed.error is not None and parsed.error.startswith(reason), parsed.error
    assert ":" in parsed.error  # the reason is followed by what to do
    assert parsed.display == typed.strip()


def test_region_argument_reads_national_numbers_of_that_country() -> None:
    parsed = parse_number("020 7946 0958", "GB")
    assert parsed.e164 == "+442079460958"
    assert parsed.display == "020 7946 0958"
    assert parse_number("+19195550123", "gb").display == "+1 919-555-0123"


def test_default_region_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_region() == "US"
    monkeypatch.setenv("BWDESK_REGION", " gb ")
    assert default_region() == "GB"
    assert parse_number("020 7946 0958").e164 == "+442079460958"
    assert display_number("+442079460958") == "020 7946 0958"
    assert display_number("+19195550123") == "+1 919-555-0123"


def test_unknown_region_asks_for_a_country_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BWDESK_REGION", "XX")
    parsed = parse_number("9195550123")
    assert parsed.error is not None
    assert parsed.error.startswith("missing country code: start with + or set the default region")
    assert "'XX'" in parsed.error
    assert parse_number("+19195550123").ok  # a full number needs no region


def test_display_number_of_something_unparseable_is_the_input() -> None:
    assert display_number("not a number") == "not a number"
    assert display_number("+15554443333") == "(555) 444-3333"


def test_parsed_number_is_immutable_and_ok_needs_both() -> None:
    parsed = parse_number("9195550123")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.e164 = "+1"  # type: ignore[misc]
    assert not ParsedNumber("x", "+19195550123", "x", error="nope").ok
    assert not ParsedNumber("x", None, "x").ok


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_never_raises(text: str) -> None:
    parsed = parse_number(text)
    assert parsed.ok == (parsed.error is None)
    if parsed.ok:
        assert parsed.e164 is not None and parsed.e164.startswith("+") and parsed.e164[1:].isdigit()


# --- the paste engine ---------------------------------------------------------------------------------------

TWELVE_WITH_TWO_INVALID = """9195550123
(919) 555-0124
919.555.0125
+1 919 555 0126
1-919-555-0127
919-555-01
+44 20 7946 0958
+15554443333
+999 123 4567
919 555 0128, 919 555 0129; 9195550130
"""


def test_a_pasted_list_gives_its_numbers_and_hands_back_the_pieces_that_are_not_numbers() -> None:
    pasted = read_paste(TWELVE_WITH_TWO_INVALID)
    assert [p.e164 for p in pasted.numbers] == [
        "+19195550123",
        "+19195550124",
        "+19195550125",
        "+19195550126",
        "+19195550127",
        "+442079460958",
        "+15554443333",
        "+19195550128",
        "+19195550129",
        "+19195550130",
    ]
    assert pasted.numbers[6].warning is not None  # the 555 number is found, with its warning
    # Written like numbers but not ones: given back as typed, for the agent to fix; never silently dropped.
    assert pasted.not_numbers == ("919-555-01", "+999 123 4567")


SIGNATURE = (
    "Thanks,\nJane Doe | Field Service\nAcme Plumbing, 4211 Main St, Suite 300\nRaleigh, NC 27601\n"
    "Office: (919) 555-0100 Mobile: +1 919 555 0101\nOrder #12345 ships Tuesday.\nFax: 919.555.0102\n"
    "Ext. 2040 | PO Box 12345, Raleigh NC 27601-1234 | 12/03/2024 10:30"
)


def test_free_text_gives_only_what_can_be_a_phone_number_without_its_label() -> None:
    pasted = read_paste(SIGNATURE)
    assert [(p.raw, p.e164) for p in pasted.numbers] == [
        ("(919) 555-0100", "+19195550100"),
        ("+1 919 555 0101", "+19195550101"),
        ("919.555.0102", "+19195550102"),
    ]
    assert pasted.not_numbers == ()  # the ZIP code, suite, order and box numbers are prose, not numbers
    assert [p.e164 for p in find_numbers(SIGNATURE)] == ["+19195550100", "+19195550101", "+19195550102"]


@pytest.mark.parametrize("text", ["27601", "Raleigh, NC 27601", "Ext. 2040", "Suite 300", "Fax: 555-01999"])
def test_a_zip_code_or_a_short_digit_run_is_not_a_number(text: str) -> None:
    assert read_paste(f"Office: 919 555 0100\n{text}").numbers == read_paste("919 555 0100").numbers


@pytest.mark.parametrize("separator", ["\n", "\r\n", ",", ";", "\t", ", ", " ;\n"])
def test_any_list_separator_works(separator: str) -> None:
    text = separator.join(["9195550123", "919 555 0124", "919-555-01"])
    pasted = read_paste(text)
    assert [p.e164 for p in pasted.numbers] == ["+19195550123", "+19195550124"]
    assert pasted.not_numbers == ("919-555-01",)
    typed = parse_entries(text)
    assert [p.e164 for p in typed] == ["+19195550123", "+19195550124", None]
    assert typed[2].error is not None and typed[2].raw == "919-555-01"


def test_a_paste_keeps_repeats_for_the_field_to_merge_and_find_numbers_collapses_them() -> None:
    text = "(919) 555-0123\n9195550123\n+19195550123\n919-555-01\n919-555-01"
    pasted = read_paste(text)
    assert [p.e164 for p in pasted.numbers] == ["+19195550123"] * 3
    assert [(p.raw, p.e164) for p in find_numbers(text)] == [("(919) 555-0123", "+19195550123")]


def test_typed_text_gives_an_entry_for_every_piece_and_prose_stays_whole() -> None:
    assert [(p.raw, p.ok) for p in parse_entries("Fax: 919.555.0102")] == [("919.555.0102", True)]
    assert [(p.raw, p.ok) for p in parse_entries("Thanks, John")] == [("Thanks, John", False)]
    entries = parse_entries("919 555 0123 / 919 555 0124, 919-555-01")
    assert [p.e164 for p in entries] == ["+19195550123", "+19195550124", None]
    assert parse_entries("  ") == []


def test_found_numbers_with_problems_come_back_as_errors() -> None:
    found = find_numbers("call 555-0123 or +1 919 555 0131 ext. 4")
    assert [p.ok for p in found] == [False, False]
    assert found[0].error is not None and found[0].error.startswith("too short: include the area code")
    assert found[1].error is not None and found[1].error.startswith("has an extension")


def test_nothing_number_like_gives_nothing() -> None:
    assert find_numbers("") == []
    assert find_numbers("Hi Bob, see you at 3, thanks") == []


def test_paste_with_unknown_region_still_finds_full_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BWDESK_REGION", "XX")
    pasted = read_paste("+44 20 7946 0958, 9195550123")
    assert [p.e164 for p in pasted.numbers] == ["+442079460958"]
    assert pasted.not_numbers == ("9195550123",)  # kept for the agent, whose region setting is the problem
    typed = parse_entries("+44 20 7946 0958, 9195550123")
    assert typed[1].error is not None and typed[1].error.startswith("missing country code")


def test_the_paste_region_argument_wins() -> None:
    assert [p.e164 for p in find_numbers("020 7946 0958\n07700 900123", "GB")] == [
        "+442079460958",
        "+447700900123",
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 +-().,;\n\tx#abc")), max_size=80))
def test_find_numbers_never_raises_and_never_repeats_a_number(text: str) -> None:
    found = find_numbers(text)
    numbers = [p.e164 for p in found if p.e164]
    assert len(numbers) == len(set(numbers))
    assert all(p.ok == (p.error is None) for p in found)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 +-().,;\n\txabcZIP#:")), max_size=80))
def test_a_paste_only_gives_matched_numbers_and_number_shaped_pieces_of_it(text: str) -> None:
    pasted = read_paste(text)
    for number in pasted.numbers:
        assert number.raw in text  # a match, never a label or a neighbouring piece riding along
    for piece in pasted.not_numbers:
        assert piece in text and not any(c.isalpha() for c in piece)
        assert sum(c.isdigit() for c in piece) >= 3
    typed = parse_entries(text)
    assert all(p.ok == (p.error is None) for p in typed)


ASK_WITHOUT_THE_LIBRARY = """
import json, sys
from pathlib import Path
from bwdesk.core import phone
phone.use_remembered(Path(sys.argv[1]))
answers = [phone.is_known_region("US"), phone.parse_number("+19195550100", "US").display,
           phone.display_number("+19195550100", "US")]
print(json.dumps({"answers": answers, "library": "phonenumbers" in sys.modules}))
"""

ASK_AND_REMEMBER = """
import sys
from pathlib import Path
from bwdesk.core import phone
phone.use_remembered(Path(sys.argv[1]))
phone.is_known_region("US")
phone.parse_number("+19195550100", "US")
phone.display_number("+19195550100", "US")
phone.first_frame_painted()
phone.parse_number("+12025550123", "US")  # typed after the first paint: not a start-up question
phone.remember_startup_numbers(Path(sys.argv[1]))
"""


def _run(script: str, memo: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, str(memo)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_start_answers_its_first_questions_from_the_last_start_without_loading_the_library(
    tmp_path: Path,
) -> None:
    memo = tmp_path / "startup-numbers.json"
    first = json.loads(_run(ASK_WITHOUT_THE_LIBRARY, memo))
    assert first == {
        "answers": [True, "(919) 555-0100", "(919) 555-0100"],
        "library": True,
    }  # nothing remembered
    _run(ASK_AND_REMEMBER, memo)
    assert "+12025550123" not in memo.read_text(encoding="utf-8")
    second = json.loads(_run(ASK_WITHOUT_THE_LIBRARY, memo))
    assert second == {"answers": [True, "(919) 555-0100", "(919) 555-0100"], "library": False}


def test_a_damaged_or_foreign_memo_is_ignored_and_the_library_answers(tmp_path: Path) -> None:
    memo = tmp_path / "startup-numbers.json"
    for content in (
        "{not json",
        json.dumps({"format": 99, "parse": []}),
        json.dumps({"format": 1, "parse": 3}),
    ):
        memo.write_text(content, encoding="utf-8")
        answer = json.loads(_run(ASK_WITHOUT_THE_LIBRARY, memo))
        assert answer == {"answers": [True, "(919) 555-0100", "(919) 555-0100"], "library": True}


def test_once_the_library_is_loaded_it_answers_instead_of_the_memo(tmp_path: Path) -> None:
    """A remembered answer is the library's own from the last start; once loaded, the library is asked."""
    from bwdesk.core import phone

    memo = tmp_path / "startup-numbers.json"
    made_up = {
        "raw": "+19195550100",
        "e164": "+19195550100",
        "display": "remembered",
        "error": None,
        "warning": None,
    }
    memo.write_text(
        json.dumps({"format": 1, "parse": [["+19195550100", "US", made_up]], "display": [], "region": []}),
        encoding="utf-8",
    )
    phone.use_remembered(memo)
    try:
        assert (
            phone.parse_number("+19195550100", "US").display == "(919) 555-0100"
        )  # this process has it loaded
    finally:
        phone.use_remembered(tmp_path / "none.json")


def test_a_memo_that_is_not_even_utf8_is_written_anew_by_the_next_start(tmp_path: Path) -> None:
    """Outside check: random bytes in the file made every later start fail to open the account."""
    memo = tmp_path / "startup-numbers.json"
    memo.write_bytes(b"\xff\xfe caf\xe9 \x80\x81")
    second = json.loads(_run(ASK_WITHOUT_THE_LIBRARY, memo))
    assert second["answers"] == [True, "(919) 555-0100", "(919) 555-0100"]
    _run(ASK_AND_REMEMBER, memo)
    assert json.loads(memo.read_text(encoding="utf-8"))["format"] == 1
