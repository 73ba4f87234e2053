"""Draft validation (docs/design.md §7) and the payloads a draft becomes (one per POST)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bwdesk.core.errors import BwdeskError, ConfigError
from bwdesk.core.message import (
    MAX_GROUP,
    MAX_MEDIA,
    MAX_MEDIA_URL_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TEXT_LENGTH,
    Draft,
    InvalidDraft,
    Mode,
    Priority,
    Problem,
    describe_position,
    is_mms,
    is_sendable,
    message_count,
    normalise_line_breaks,
    recipients_e164,
    segments_per_message,
    to_requests,
    unsendable_characters,
    validate,
    visible,
)

NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
SENDER = "+19195550100"
APP = "93de2206-9669-4e07-948d-329f4b722ee2"


def draft(**changes: object) -> Draft:
    base = Draft(sender=SENDER, recipients=("9195550123",), text="Your technician is on the way")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def errors(d: Draft) -> list[Problem]:
    return [p for p in validate(d, now=NOW) if p.severity == "error"]


def only_error(d: Draft) -> Problem:
    found = errors(d)
    assert len(found) == 1, found
    return found[0]


def test_a_good_draft_has_no_problems() -> None:
    assert validate(draft(), now=NOW) == []
    assert is_sendable([])


# --- from ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["+19195550100", "919-555-0100", "ACME", "A", "Acme Help", "ACME-1 +_&x"])
def test_valid_senders(sender: str) -> None:
    assert errors(draft(sender=sender)) == []


@pytest.mark.parametrize(
    ("sender", "words"),
    [
        ("", "choose the number to send from"),
        ("   ", "choose the number to send from"),
        ("ACME Supports", "at most 11 characters"),
        ("ACME.CO", 'remove "."'),
        ("Café", 'remove "é"'),
        ("919-555-01", "too short"),
        ("+999 123 4567", "invalid country code"),
    ],
)
def test_invalid_senders_name_the_field_and_the_fix(sender: str, words: str) -> None:
    problem = only_error(draft(sender=sender))
    assert problem.field == "from"
    assert words in problem.message
    assert str(problem).startswith("from: ")


def test_a_twelve_character_sender_id_is_too_long_and_eleven_is_fine() -> None:
    assert errors(draft(sender="A" * 11)) == []
    assert "has 12" in only_error(draft(sender="A" * 12)).message


def test_an_all_digit_sender_is_a_number_and_is_normalised() -> None:
    (payload,) = to_requests(draft(sender="(919) 555-0100"), APP, now=NOW)
    assert payload["from"] == "+19195550100"
    (payload,) = to_requests(draft(sender=" ACME "), APP, now=NOW)
    assert payload["from"] == "ACME"


def test_an_unassigned_sender_number_is_only_a_warning() -> None:
    problems = validate(draft(sender="+15554443333"), now=NOW)
    assert [(p.field, p.severity) for p in problems] == [("from", "warning")]
    assert is_sendable(problems)


# --- to ------------------------------------------------------------------------------------------------------


def test_invalid_recipients_are_named_with_their_index() -> None:
    d = draft(recipients=("9195550123", "abc", "919-555-01"))
    found = errors(d)
    assert [(p.field, p.index) for p in found] == [("to", 1), ("to", 2)]
    assert '"abc"' in found[0].message and "not a number" in found[0].message
    assert '"919-555-01"' in found[1].message and "too short" in found[1].message


def test_at_least_one_recipient() -> None:
    problem = only_error(draft(recipients=()))
    assert (problem.field, problem.message) == ("to", "add at least one recipient")
    assert only_error(draft(recipients=("", "  "))).message == "add at least one recipient"


def test_blank_entries_are_ignored() -> None:
    assert errors(draft(recipients=("9195550123", " ", ""))) == []


def test_unassigned_recipient_is_a_warning_that_names_it() -> None:
    problems = validate(draft(recipients=("+15554443333",)), now=NOW)
    assert [(p.field, p.index, p.severity) for p in problems] == [("to", 0, "warning")]
    assert "+15554443333" in problems[0].message


def test_duplicates_collapse_whatever_their_spelling() -> None:
    d = draft(recipients=("(919) 555-0123", "9195550123", "+1 919 555 0123", "919-555-0124"))
    assert recipients_e164(d) == ["+19195550123", "+19195550124"]
    payloads = to_requests(d, APP, now=NOW)
    assert [p["to"] for p in payloads] == [["+19195550123"], ["+19195550124"]]
    assert message_count(d) == 2


def numbers(n: int) -> tuple[str, ...]:
    return tuple(f"919555{i:04d}" for i in range(100, 100 + n))


def test_a_group_can_have_ten_numbers_not_eleven() -> None:
    assert errors(draft(recipients=numbers(MAX_GROUP), mode=Mode.GROUP)) == []
    problem = only_error(draft(recipients=numbers(MAX_GROUP + 1), mode=Mode.GROUP))
    assert problem.field == "to"
    assert "at most 10" in problem.message and "has 11" in problem.message


def test_the_group_limit_counts_distinct_numbers() -> None:
    typed = (*numbers(MAX_GROUP), "(919) 555-0100")  # 11 entries, 10 numbers
    assert errors(draft(recipients=typed, mode=Mode.GROUP)) == []


def test_separate_messages_have_no_upper_bound() -> None:
    d = draft(recipients=numbers(50))
    assert errors(d) == []
    assert message_count(d) == 50


def test_region_of_the_draft_reads_national_numbers() -> None:
    d = draft(recipients=("020 7946 0958",), region="GB")
    assert recipients_e164(d) == ["+442079460958"]


# --- text ----------------------------------------------------------------------------------------------------


def test_text_up_to_2048_characters() -> None:
    assert errors(draft(text="a" * MAX_TEXT_LENGTH)) == []
    problem = only_error(draft(text="a" * (MAX_TEXT_LENGTH + 1)))
    assert problem.field == "text"
    assert "2049" in problem.message and "2048" in problem.message and "by 1" in problem.message


def test_text_length_counts_emoji_as_two() -> None:
    assert errors(draft(text="😀" * 1024)) == []
    problem = only_error(draft(text="😀" * 1025))
    assert problem.field == "text"
    assert "2050" in problem.message and "emoji" in problem.message


def test_text_is_required_unless_there_is_media() -> None:
    for empty in ("", "  \n "):
        problem = only_error(draft(text=empty))
        assert problem.field == "text"
        assert "empty" in problem.message and "media" in problem.message
    assert errors(draft(text="", media=("https://example.com/part.jpg",))) == []
    assert only_error(draft(text="", media=("  ",))).field == "text"  # a blank media entry is not media


def test_a_lone_surrogate_in_the_text_is_an_error_not_a_crash() -> None:
    problem = only_error(draft(text="broken \ud83d here"))
    assert problem.field == "text"
    assert "position 8" in problem.message


# --- characters that cannot go out ----------------------------------------------------------------------------

# Written with escapes: every one of these is invisible, or nearly so, on screen.
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # three people joined by zero-width joiners
SCOTLAND = (
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # a flag of tag characters
)
LEGITIMATE_INVISIBLES = [
    "line one\nline two\ttabbed",
    f"family {FAMILY} and flag {SCOTLAND}",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: a zero-width non-joiner is spelling
    "Order \u200f#4242\u200e confirmed",  # bidi marks around a number in a right-to-left text
    "soft\u00adhyphen, zero\u200bwidth space",  # pointless, but marked as forcing Unicode and fixable
]


@pytest.mark.parametrize("text", LEGITIMATE_INVISIBLES)
def test_line_breaks_tabs_and_the_format_characters_writing_needs_are_sent(text: str) -> None:
    assert errors(draft(text=text)) == []
    (payload,) = to_requests(draft(text=text), APP, now=NOW)
    assert payload["text"] == text


@pytest.mark.parametrize(
    ("character", "words"),
    [
        ("\x00", "a null character (U+0000)"),
        ("\r", "a carriage return (U+000D)"),
        ("\x0b", "a vertical tab (U+000B)"),
        ("\x0c", "a form feed (page break) (U+000C)"),
        ("\x1b", "an escape character (U+001B)"),
        ("\x7f", "a delete character (DEL) (U+007F)"),
        ("\x85", "a control character (U+0085)"),
        ("\x9f", "a control character (U+009F)"),
        ("\ufffe", "a noncharacter (U+FFFE)"),
        ("\U0010ffff", "a noncharacter (U+10FFFF)"),
    ],
)
def test_a_control_character_in_the_text_is_refused_naming_it_and_where_it_is(
    character: str, words: str
) -> None:
    problem = only_error(draft(text=f"Hello{character} there"))
    assert problem.field == "text"
    assert f"the message has {words} at position 6, which cannot be sent; delete it" == problem.message
    with pytest.raises(InvalidDraft):
        to_requests(draft(text=f"Hello{character} there"), APP, now=NOW)


def test_in_a_text_of_several_lines_the_line_and_column_are_named_and_the_rest_counted() -> None:
    problem = only_error(draft(text="Hi Ana,\nyour part\x00 has\x00 arrived\x07"))
    assert (
        "a null character (U+0000) at position 18, line 2, column 10 (and 2 more like it)" in problem.message
    )


def test_the_tag_is_one_line_without_control_characters_but_may_hold_emoji() -> None:
    assert errors(draft(tag=f"TICKET-4242 {FAMILY}")) == []
    for character, name in (("\t", "a tab"), ("\n", "a line break"), ("\x00", "a null character")):
        problem = only_error(draft(tag=f"T-1{character}2"))
        assert problem.field == "tag" and f"the tag has {name}" in problem.message
        assert "at position 4" in problem.message


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://example.com/a\u200b.jpg", "an invisible ZERO WIDTH SPACE (U+200B) at position 22"),
        ("https://exa\u200dmple.com/a.jpg", "an invisible ZERO WIDTH JOINER (U+200D) at position 12"),
        ("https://example.com/\x00a.jpg", "a null character (U+0000) at position 21"),
        ("\ufeffhttps://example.com/a.jpg", "an invisible ZERO WIDTH NO-BREAK SPACE (U+FEFF) at position 1"),
    ],
)
def test_a_media_link_refuses_every_invisible_character(url: str, words: str) -> None:
    problem = only_error(draft(media=("https://example.com/ok.jpg", url)))
    assert (problem.field, problem.index) == ("media", 1)
    assert problem.message == f"link 2 has {words}, which cannot be sent; delete it"


def test_the_rule_by_field() -> None:
    value = "a\tb\nc\u200bd\x00"
    assert unsendable_characters(value, "text") == [7]
    assert unsendable_characters(value, "tag") == [1, 3, 7]
    assert unsendable_characters(value, "media") == [1, 3, 5, 7]


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=60),
    st.integers(min_value=0, max_value=60),
    st.sampled_from("\x00\x01\x1f\x7f\x80\x9f\r"),
)
def test_any_text_with_a_control_character_is_refused_at_the_first_one(text: str, at: int, bad: str) -> None:
    text = normalise_line_breaks(text)
    clean = "Hi " + "".join(c for c in text if not unsendable_characters(c, "text"))  # never empty
    at = min(at, len(clean))
    with_bad = clean[:at] + bad + clean[at:]
    assert unsendable_characters(clean, "text") == []
    assert unsendable_characters(with_bad, "text")[0] == at
    problems = [
        p for p in validate(draft(text=with_bad), now=NOW) if "cannot be sent; delete it" in p.message
    ]
    assert len(problems) == 1 and describe_position(with_bad, at) in problems[0].message


def test_line_breaks_of_every_kind_become_newlines() -> None:
    assert normalise_line_breaks("a\r\nb\rc\u2028d\u2029e\n\nf") == "a\nb\nc\nd\ne\n\nf"


def test_quoted_input_shows_invisible_characters_instead_of_carrying_them() -> None:
    assert visible("\x1b[31m919\u200b") == "U+001B[31m919U+200B"
    problem = only_error(draft(recipients=("\x1b[31m9195550123",)))
    assert problem.message.startswith('"U+001B[31m9195550123" cannot be used')
    problem = only_error(draft(sender="ACME\x00"))
    assert problem.message.endswith('remove "U+0000"')


# --- media ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/part.jpg",
        "http://example.com/a.png",
        "HTTPS://EXAMPLE.COM/X",
        "https://127.0.0.1:8080/m",
    ],
)
def test_valid_media_links(url: str) -> None:
    assert errors(draft(media=(url,))) == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://x", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("example.com/part.jpg", "does not start with http:// or https://"),
        ("https://", "no host name"),
        ("http:///path", "no host name"),
        ("https://example.com/my part.jpg", "contains a space"),
        ("https://[::1/x", "not a valid link"),
    ],
)
def test_invalid_media_links_name_the_field_and_the_entry(url: str, words: str) -> None:
    problem = only_error(draft(media=("https://example.com/ok.jpg", url)))
    assert (problem.field, problem.index) == ("media", 1)
    assert words in problem.message
    assert "link 2" in problem.message
    assert str(problem).startswith("media: ")


def test_media_link_length_limit() -> None:
    base = "https://example.com/"
    assert errors(draft(media=(base + "a" * (MAX_MEDIA_URL_LENGTH - len(base)),))) == []
    problem = only_error(draft(media=(base + "a" * (MAX_MEDIA_URL_LENGTH - len(base) + 1),)))
    assert problem.field == "media" and "4096" in problem.message


def test_at_most_ten_distinct_media_and_duplicates_collapse() -> None:
    links = tuple(f"https://example.com/{i}.jpg" for i in range(MAX_MEDIA))
    d = draft(media=(*links, links[0]))
    assert errors(d) == []
    (payload,) = to_requests(d, APP, now=NOW)
    assert payload["media"] == list(links)
    problem = only_error(draft(media=(*links, "https://example.com/11.jpg")))
    assert problem.field == "media" and "at most 10" in problem.message and "has 11" in problem.message
    assert problem.index == MAX_MEDIA  # the link too many, so the window can mark it


def test_the_link_too_many_is_counted_among_distinct_usable_links() -> None:
    links = tuple(f"https://example.com/{i}.jpg" for i in range(MAX_MEDIA))
    d = draft(media=(links[0], "ftp://x.example/a", *links, links[1], "https://example.com/late.jpg"))
    problem = next(p for p in errors(d) if "at most" in p.message)
    assert problem.index == len(d.media) - 1 and "Remove 1" in problem.message


# --- tag, priority, expiration -------------------------------------------------------------------------------


def test_tag_limit() -> None:
    assert errors(draft(tag="t" * MAX_TAG_LENGTH)) == []
    problem = only_error(draft(tag="t" * (MAX_TAG_LENGTH + 1)))
    assert problem.field == "tag" and "1025" in problem.message and "1024" in problem.message


def test_priority_must_be_default_or_high() -> None:
    assert errors(draft(priority=Priority.HIGH)) == []
    problem = only_error(draft(priority="urgent"))
    assert problem.field == "priority" and "default or high" in problem.message


def test_expiration_must_be_timezone_aware() -> None:
    problem = only_error(draft(expiration=datetime(2026, 11, 28, 9, 0)))
    assert problem.field == "expiration" and "time zone" in problem.message


def test_expiration_must_be_in_the_future() -> None:
    assert errors(draft(expiration=NOW + timedelta(seconds=1))) == []
    for past in (NOW, NOW - timedelta(minutes=5)):
        problem = only_error(draft(expiration=past))
        assert problem.field == "expiration" and "already passed" in problem.message


def test_expiration_uses_the_real_clock_by_default() -> None:
    assert validate(draft(expiration=datetime.now(UTC) + timedelta(hours=1))) == []
    assert validate(draft(expiration=datetime(2000, 1, 1, tzinfo=UTC)))[0].field == "expiration"


# --- payloads ------------------------------------------------------------------------------------------------


def test_separate_makes_one_payload_per_recipient_with_to_as_a_list() -> None:
    d = draft(recipients=("9195550123", "9195550124", "9195550125"))
    payloads = to_requests(d, APP, now=NOW)
    assert payloads == [
        {"applicationId": APP, "to": [n], "from": SENDER, "text": "Your technician is on the way"}
        for n in ("+19195550123", "+19195550124", "+19195550125")
    ]


def test_group_makes_one_payload_to_everyone() -> None:
    d = draft(recipients=("9195550123", "9195550124"), mode=Mode.GROUP)
    (payload,) = to_requests(d, APP, now=NOW)
    assert payload["to"] == ["+19195550123", "+19195550124"]
    assert message_count(d) == 1


@pytest.mark.parametrize("mode", list(Mode))
def test_one_recipient_is_one_post_in_either_mode(mode: Mode) -> None:
    d = draft(mode=mode)
    assert [p["to"] for p in to_requests(d, APP, now=NOW)] == [["+19195550123"]]
    assert not is_mms(d)


def test_every_optional_field_when_set() -> None:
    d = draft(
        media=("https://example.com/part.jpg",),
        tag="TICKET-4242",
        priority=Priority.HIGH,
        expiration=datetime(2026, 11, 27, 13, 30, 0, tzinfo=timezone(timedelta(hours=-5))),
    )
    (payload,) = to_requests(d, APP, now=NOW)
    assert payload == {
        "applicationId": APP,
        "to": ["+19195550123"],
        "from": SENDER,
        "text": "Your technician is on the way",
        "media": ["https://example.com/part.jpg"],
        "tag": "TICKET-4242",
        "priority": "high",
        "expiration": "2026-11-27T18:30:00Z",
    }
    assert json.loads(json.dumps(payload)) == payload


def test_expiration_keeps_milliseconds() -> None:
    d = draft(expiration=NOW + timedelta(hours=1, microseconds=250_000))
    (payload,) = to_requests(d, APP, now=NOW)
    assert payload["expiration"] == "2026-11-27T11:00:00.250Z"


def test_media_only_message_has_no_text_key() -> None:
    (payload,) = to_requests(draft(text="", media=("https://example.com/a.jpg",)), APP, now=NOW)
    assert "text" not in payload
    assert set(payload) == {"applicationId", "to", "from", "media"}


def test_an_invalid_draft_raises_and_names_the_fields() -> None:
    d = draft(recipients=("abc",), tag="t" * 1025, media=("ftp://x",))
    with pytest.raises(InvalidDraft) as caught:
        to_requests(d, APP, now=NOW)
    assert isinstance(caught.value, BwdeskError)
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["to", "media", "tag"]
    assert {p.field for p in caught.value.problems} == {"to", "media", "tag"}


def test_warnings_do_not_block_and_are_not_in_the_error_text() -> None:
    d = draft(recipients=("+15554443333",))
    assert to_requests(d, APP, now=NOW)[0]["to"] == ["+15554443333"]
    assert str(InvalidDraft(validate(d, now=NOW))) == "the message cannot be sent"


def test_an_application_id_is_required() -> None:
    with pytest.raises(ConfigError, match="application id"):
        to_requests(draft(), "  ", now=NOW)


# --- MMS and segments ----------------------------------------------------------------------------------------


def test_is_mms() -> None:
    assert not is_mms(draft())
    assert is_mms(draft(media=("https://example.com/a.jpg",)))
    assert is_mms(draft(recipients=("9195550123", "9195550124"), mode=Mode.GROUP))
    assert not is_mms(draft(recipients=("9195550123", "9195550124"), mode=Mode.SEPARATE))
    assert not is_mms(draft(recipients=("9195550123", "(919) 555-0123"), mode=Mode.GROUP))  # one number


def test_segments_per_message() -> None:
    long_text = "a" * 200
    assert segments_per_message(draft(text=long_text)) == 2
    assert segments_per_message(draft(text="“" + "a" * 100)) == 2  # UCS-2
    assert segments_per_message(draft(text=long_text, media=("https://example.com/a.jpg",))) == 1
    assert segments_per_message(draft(text=long_text, recipients=numbers(2), mode=Mode.GROUP)) == 1


# --- the Draft itself ----------------------------------------------------------------------------------------


def test_draft_is_immutable_and_hashable_even_from_lists() -> None:
    d = Draft(SENDER, ["9195550123"], media=["https://example.com/a.jpg"], mode="group")  # type: ignore[arg-type]
    assert d.recipients == ("9195550123",) and d.media == ("https://example.com/a.jpg",)
    assert d.mode is Mode.GROUP
    assert hash(d) == hash(
        Draft(SENDER, ("9195550123",), media=("https://example.com/a.jpg",), mode=Mode.GROUP)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.text = "changed"  # type: ignore[misc]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(["9195550123", "919 555 0124", "abc", "+15554443333", "", "919-555-01"]), max_size=14
    ),
    st.sampled_from(list(Mode)),
)
def test_payloads_only_ever_carry_valid_distinct_numbers(recipients: list[str], mode: Mode) -> None:
    d = draft(recipients=tuple(recipients), mode=mode)
    problems = validate(d, now=NOW)
    if not is_sendable(problems):
        with pytest.raises(InvalidDraft):
            to_requests(d, APP, now=NOW)
        return
    payloads = to_requests(d, APP, now=NOW)
    sent = [n for p in payloads for n in p["to"]]
    assert sent == recipients_e164(d)
    assert len(sent) == len(set(sent))
    assert len(payloads) == message_count(d)
    assert all(isinstance(p["to"], list) for p in payloads)


def test_a_direction_override_in_the_text_is_a_warning_naming_it() -> None:
    """U+202E pasted into Latin text shows "Refund ref DCBA-4321" as "1234-ABCD": said, not silently sent
    (outside review); right-to-left text may use it on purpose, so it is a warning, not an error."""
    from bwdesk.core.message import Draft, validate

    draft = Draft(
        sender="+19195550100", recipients=("+19195550123",), text="Refund ref \u202e1234-ABCD\u202c ok"
    )
    [problem] = [p for p in validate(draft) if p.field == "text"]
    assert problem.severity == "warning"
    assert "RIGHT-TO-LEFT OVERRIDE (U+202E) at position 12" in problem.message
    assert "(and 1 more like it)" in problem.message
    plain = Draft(sender="+19195550100", recipients=("+19195550123",), text="Refund ref 1234-ABCD ok")
    assert [p for p in validate(plain) if p.field == "text"] == []
