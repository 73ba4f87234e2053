"""core.directory.filling: the one rule the command line and the window fill a draft's variables by."""

from __future__ import annotations

from bwdesk.core.directory.contacts import Contact
from bwdesk.core.directory.filling import fill_draft
from bwdesk.core.message import Draft, Mode

ANN = Contact("+19195550101", "Ann Lee", {"first_name": "Ann", "company": "Acme"})
BOB = Contact("+19195550102", "Bob Roe", {"first_name": "Bob", "company": "Acme"})
CONTACTS = {c.number: c for c in (ANN, BOB)}


def draft(text: str, *to: str, mode: Mode = Mode.SEPARATE) -> Draft:
    return Draft(sender="+19195550000", recipients=to, text=text, mode=mode)


def test_separate_messages_are_filled_per_recipient_and_the_fallback_serves_who_has_no_contact() -> None:
    filled = fill_draft(draft("Hi {first_name|there}", ANN.number, "+19195550103"), CONTACTS)
    assert [(d.recipients, d.text) for d in filled.drafts] == [
        ((ANN.number,), "Hi Ann"),
        (("+19195550103",), "Hi there"),
    ]
    assert filled.complete and filled.largest() == "Hi there"


def test_a_group_gets_only_what_every_contact_shares() -> None:
    filled = fill_draft(
        draft("{first_name|Hello} from {company}", ANN.number, BOB.number, mode=Mode.GROUP), CONTACTS
    )
    assert [d.text for d in filled.drafts] == ["Hello from Acme"]


def test_missing_variables_are_named_once_by_position_with_for_whom() -> None:
    filled = fill_draft(draft("{ticket} {first_name} {ticket}", ANN.number, "+19195550103"), CONTACTS)
    assert not filled.complete
    assert [v.start for v in filled.missing()] == [0, 9, 22]
    assert filled.missing_names() == ["ticket", "first_name"]
    assert filled.problems() == [
        "{ticket} at position 1, {ticket} at position 23 have no value for +19195550101 (Ann Lee) and no fallback",
        "{ticket} at position 1, {first_name} at position 10, {ticket} at position 23 have no value for "
        "+19195550103 and no fallback",
    ]


def test_a_text_without_variables_goes_as_it_is_and_no_recipient_yet_fills_from_nothing() -> None:
    plain = draft("Hello {1} :-}", ANN.number, BOB.number)
    assert fill_draft(plain, CONTACTS).drafts == (plain,) and not fill_draft(plain, CONTACTS).has_variables
    alone = fill_draft(draft("Hi {first_name}"), CONTACTS)
    assert [v.name for v in alone.missing()] == ["first_name"]
