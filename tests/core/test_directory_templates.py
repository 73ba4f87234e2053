"""Templates: variables with positions, filling with fallbacks, what blocks a send, the rules and the book."""

from __future__ import annotations

import pytest

from bwdesk.core import sms_text
from bwdesk.core.directory.contacts import Contact, shared_values, values_for
from bwdesk.core.directory.template_book import (
    Scope,
    Template,
    TemplateBook,
    template_problems,
    templates_from_json,
)
from bwdesk.core.directory.templates import fill, missing_problem, syntax_problems, variable_names, variables


def test_variables_are_found_with_their_positions_and_fallbacks() -> None:
    text = "Hi {first_name|there}, ticket {Ticket_URL} for { company }."
    found = variables(text)
    assert [(v.name, v.fallback) for v in found] == [
        ("first_name", "there"),
        ("ticket_url", None),
        ("company", None),
    ]
    assert [v.written(text) for v in found] == ["{first_name|there}", "{Ticket_URL}", "{ company }"]
    assert (found[1].start, found[1].end) == (
        text.index("{Ticket"),
        text.index("{Ticket") + len("{Ticket_URL}"),
    )
    assert variable_names("{a} {b} {A|x}") == ["a", "b"]


def test_other_braces_are_plain_text() -> None:
    text = "Smile :-} and {1} and {} and { :) } and {{"
    assert variables(text) == []
    assert fill(text, {}).text == text
    assert syntax_problems(text) == []


def test_the_fallback_fills_when_there_is_no_value_and_an_empty_value_counts_as_none() -> None:
    text = "Hi {first_name|there}, see you{when|}."
    assert fill(text, {}).text == "Hi there, see you."
    assert fill(text, {"first_name": "  "}).text == "Hi there, see you."
    filled = fill(text, {"first_name": "Ann", "when": " at 3"})
    assert (
        filled.text == "Hi Ann, see you at 3." and filled.complete and filled.used == ("first_name", "when")
    )


def test_a_variable_with_neither_value_nor_fallback_is_missing_with_where_it_is() -> None:
    text = "Hi {first_name|there},\nyour ticket: {ticket_url}"
    filled = fill(text, {"first_name": "Ann"})
    assert not filled.complete
    [missing] = filled.missing
    assert missing.name == "ticket_url" and text[missing.start : missing.end] == "{ticket_url}"
    assert filled.text == "Hi Ann,\nyour ticket: {ticket_url}"  # left as written: it is never sent
    why = missing_problem(text, filled.missing, "+19195550123")
    assert (
        why == "{ticket_url} at position 37, line 2, column 14 has no value for +19195550123 and no fallback"
    )


def test_the_counter_counts_the_filled_text() -> None:
    text = "Hi {first_name|there}! " + "x" * 140
    assert sms_text.analyze(text).segments == 2  # as written: 163 characters
    assert sms_text.analyze(fill(text, {"first_name": "Al"}).text).segments == 1  # filled: 144


def test_mistyped_variables_are_problems_in_a_template() -> None:
    problems = syntax_problems("Hi {first name}, {ticket_url")
    assert [p.message.split(" at ")[0] for p in problems] == ["{first name}", "the {"]
    assert "is not closed" in problems[1].message
    template = Template("Bad", "Hi {first name}")
    assert [p.field for p in template_problems(template)] == ["text"]


def test_template_rules_name_text_tag_media() -> None:
    assert template_problems(Template("Refund", "Your refund of {amount|the amount} is on its way")) == []
    problems = template_problems(Template("", "", tag="x" * 1025, media=("ftp://example.com/a.png",)))
    assert {p.field for p in problems} == {"name", "tag", "media"}
    assert template_problems(Template("Photo", "", media=("https://example.com/a.png",))) == []  # media only
    assert [p.field for p in template_problems(Template("Empty", " "))] == ["text"]
    assert [p.field for p in template_problems(Template("x" * 61, "hi"))] == ["name"]


def test_templates_from_json_report_each_bad_entry_by_its_place() -> None:
    data = [
        {"name": "Hello", "text": "Hi {first_name|there}"},
        {"name": "Broken", "text": "Hi {first name}"},
        {"text": "no name"},
        {"name": "hello", "text": "again"},
        {"name": "Photo", "media": ["https://example.com/a.png"], "tag": "T-1", "scope": "team", "by": "x"},
    ]
    found, problems = templates_from_json(data, Scope.LOCKED)
    assert [t.name for t in found] == ["Hello", "Photo"]
    assert {t.scope for t in found} == {Scope.LOCKED}  # a file's own scope is not taken
    assert problems[0].startswith("template 2 ('Broken'): text: {first name}")
    assert problems[1] == 'template 3: needs a "name" (text)'
    assert problems[2] == "template 4 ('hello'): the same name as template 1; only the first is used"
    assert templates_from_json({"templates": data[:1]})[0][0].name == "Hello"
    assert templates_from_json("nope") == (
        [],
        ['expected a JSON array of templates ([{"name": …, "text": …}, …])'],
    )


def test_the_book_prefers_it_then_personal_then_team_and_filters_as_typed() -> None:
    book = TemplateBook(
        [
            Template("Technician on the way", "team words", scope=Scope.TEAM),
            Template("technician  on the way", "my words"),
            Template("Refund issued", "refund", tag="billing"),
            Template("On hold", "IT's words", scope=Scope.LOCKED),
            Template("on hold", "my hold"),
            Template("Café closed", "closed"),
        ]
    )
    assert book.find("TECHNICIAN on the way").text == "my words"  # type: ignore[union-attr]
    assert book.find("on hold").scope is Scope.LOCKED  # type: ignore[union-attr]
    assert book.find("nothing") is None
    assert [t.name for t in book.all()] == [
        "Café closed",
        "On hold",
        "Refund issued",
        "technician on the way",
    ]
    assert [t.name for t in book.matching("tech")] == ["technician on the way"]
    assert [t.name for t in book.matching("way")] == ["technician on the way"]  # a word of the name
    assert [t.name for t in book.matching("cafe")] == ["Café closed"]  # accents aside
    assert [t.name for t in book.matching("bill")] == ["Refund issued"]  # the tag, last
    assert [t.name for t in book.matching("o")] == ["On hold", "technician on the way"]  # prefix first
    assert book.matching("zzz") == []
    assert len(book.matching("", limit=2)) == 2


def test_contacts_fill_per_recipient_and_a_group_only_with_what_all_share() -> None:
    ann = Contact("+19195550123", "Ann Lee", {"first_name": "Ann", "company": "Acme"})
    bob = Contact("+19195550124", "Bob Roe", {"first_name": "Bob", "company": "Acme"})
    text = "Hi {first_name|there} from {company|us}, {name}"
    assert fill(text, values_for(ann, {})).text == "Hi Ann from Acme, Ann Lee"
    assert fill(text, values_for(None, {"name": "friend"})).text == "Hi there from us, friend"
    assert (
        fill(text, values_for(ann, {"first_name": "Annie"})).text == "Hi Annie from Acme, Ann Lee"
    )  # explicit wins
    group = shared_values([ann, bob], {})
    assert group == {"company": "Acme"}
    assert fill("Hi {first_name|all}, {company|us}", group).text == "Hi all, Acme"
    assert shared_values([ann, None], {}) == {}  # someone without a contact shares nothing
    assert shared_values([ann, None], {"first_name": "team"}) == {"first_name": "team"}


@pytest.mark.parametrize("name", ["x", "first_name", "_a1", "A" * 40])
def test_names_up_to_40_characters_are_variables(name: str) -> None:
    assert variable_names(f"{{{name}}}") == [name.lower()]
    assert variable_names("{" + "a" * 41 + "}") == []


def test_a_template_from_json_gets_its_line_breaks_made_one_newline() -> None:
    [template], problems = templates_from_json(
        [{"name": "Two lines", "text": "Hi {first_name|there},\r\nbye"}]
    )
    assert problems == [] and template.text == "Hi {first_name|there},\nbye"
