"""Contacts: matching a name as it is typed, the rules for names and fields, and CSV files in and out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bwdesk.core.directory.contacts import Contact, ContactIndex, contact_problems, make_contact
from bwdesk.core.directory.csvio import (
    CsvError,
    contact_headings,
    contact_row,
    contacts_from_csv,
    opt_outs_from_csv,
    read_csv,
    write_csv,
)
from bwdesk.core.directory.optout import Reason

PEOPLE = [
    Contact("+19195550123", "Ann Lee"),
    Contact("+19195550124", "Anne-Marie Dupont"),
    Contact("+19195550125", "Lee, Ann"),
    Contact("+19195550126", "Joanne Smith"),
    Contact("+19195550127", "Zoë O'Brien"),
    Contact("+442079460000", "Bob Annan"),
]


def names(found: list[Contact]) -> list[str]:
    return [c.name for c in found]


def test_a_name_matches_from_the_start_of_any_word_without_case_or_accents() -> None:
    index = ContactIndex(PEOPLE)
    assert names(index.match("Ann")) == ["Ann Lee", "Anne-Marie Dupont", "Bob Annan", "Lee, Ann"]
    assert names(index.match("ann lee")) == ["Ann Lee", "Lee, Ann"]
    assert names(index.match("LEE a")) == ["Ann Lee", "Lee, Ann"]
    assert names(index.match("zoe")) == ["Zoë O'Brien"]
    assert names(index.match("obr")) == ["Zoë O'Brien"]
    assert names(index.match("o'b")) == ["Zoë O'Brien"]
    assert names(index.match("marie")) == ["Anne-Marie Dupont"]
    assert index.match("oanne") == []  # not from the start of a word
    assert index.match("  ") == []
    assert len(index.match("a", limit=2)) == 2


def test_digits_match_inside_numbers() -> None:
    index = ContactIndex(PEOPLE)
    assert names(index.match("555-0125")) == ["Lee, Ann"]
    assert names(index.match("2079")) == ["Bob Annan"]
    assert len(index.match("555")) == 5
    assert index.match("12") == []  # too few digits to mean anything


def test_names_and_fields_are_checked_and_cleaned() -> None:
    assert contact_problems("Ann Lee", {"first_name": "Ann"}) == []
    assert contact_problems(" ", {}) == ["name: a contact needs a name"]
    assert contact_problems("Ann", {"first name": "x"})[0].startswith("field 'first name': a key is letters")
    assert contact_problems("Ann", {"name": "x"}) == [
        "field 'name': 'name' is the contact's own; use another key"
    ]
    assert contact_problems("Ann\x1b[2J", {}) == ["control characters cannot be kept (only text)"]
    made = make_contact(
        "+19195550123", "  Ann \n Lee ", {"Ticket URL": " https://t.example/1 ", "company": ""}
    )
    assert (made.name, made.fields) == ("Ann Lee", {"ticket_url": "https://t.example/1"})


MESSY = (
    "\ufeffName;Phone number;First name;Ticket URL;Company (HQ)\r\n"
    "Ann Lee;(919) 555-0123;Ann;https://t.example/1;Acme\r\n"
    "Bob Roe;919.555.0124;;;\r\n"
    ";;;;\r\n"
    "Carla Diaz;not a number;Carla;;\r\n"
    '"Dan\r\nSecond line";+1 919 555 0125;Dan;;\r\n'
    "Ann again;9195550123;Ann;;\r\n"
    "Eve;'+19195550126;Eve;;\r\n"
    "No Number;;;;\r\n"
    ";9195550127;;;\r\n"
)


def test_a_messy_contacts_file_reports_bad_lines_by_number_and_imports_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(MESSY.encode("utf-8"))
    table = read_csv(path)
    contacts, problems, notes = contacts_from_csv(table, "US")
    assert [(c.number, c.name) for c in contacts] == [
        ("+19195550123", "Ann Lee"),
        ("+19195550124", "Bob Roe"),
        ("+19195550125", "Dan Second line"),  # a quoted cell over two lines is one value
        ("+19195550126", "Eve"),  # a bwdesk export's formula-safe cell read back
    ]
    assert contacts[0].fields == {"first_name": "Ann", "ticket_url": "https://t.example/1"}
    assert [str(p) for p in problems] == [
        "line 5: 'not a number' is not a phone number: "
        + problems[0].message.split("is not a phone number: ")[1],
        "line 8: +19195550123 is already on line 2; this line is skipped",  # the quoted cell took lines 6-7
        "line 10: no number",
        "line 11: +19195550127: name: a contact needs a name",
    ]
    assert notes == [
        "column 'Company (HQ)' is not used: a field's name is letters, digits and _ (e.g. ticket_url)"
    ]


def test_a_windows_1252_file_with_first_and_last_names_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("First name,Last name,Mobile\r\nZoë,Müller,07700 900123\r\n".encode("cp1252"))
    table = read_csv(path)
    contacts, problems, _ = contacts_from_csv(table, "GB")
    assert problems == [] and [(c.number, c.name, c.fields) for c in contacts] == [
        ("+447700900123", "Zoë Müller", {"first_name": "Zoë", "last_name": "Müller"})
    ]
    assert "not UTF-8" in table.notes[0]


def test_files_without_the_needed_columns_or_content_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Who,When\nAnn,today\n", encoding="utf-8")
    with pytest.raises(
        CsvError, match=r"line 1 \(the header\) has no column of phone numbers.*'Who', 'When'"
    ):
        contacts_from_csv(read_csv(path), "US")
    path.write_text("number\n9195550123\n", encoding="utf-8")
    with pytest.raises(CsvError, match="no 'name' column"):
        contacts_from_csv(read_csv(path), "US")
    path.write_text("\n \n", encoding="utf-8")
    with pytest.raises(CsvError, match="is empty"):
        read_csv(path)
    with pytest.raises(CsvError, match="cannot read"):
        read_csv(tmp_path / "missing.csv")


def test_opt_out_files_keep_notes_and_known_codes() -> None:
    data = "number,code,note\n9195550198,4775,replied STOP by email\n919-555-0197,1234,\nabc,,\n"
    table = read_csv(io.BytesIO(data.encode()), "stdin")
    entries, problems = opt_outs_from_csv(table, "US")
    assert [(e.number, e.reason, e.code, e.note) for e in entries] == [
        ("+19195550198", Reason.IMPORTED, 4775, "replied STOP by email"),
        ("+19195550197", Reason.IMPORTED, None, ""),
    ]
    assert [p.line for p in problems] == [4]


def test_exported_contacts_are_formula_safe_and_read_back_the_same(tmp_path: Path) -> None:
    contacts = [
        Contact("+19195550123", '=HYPERLINK("http://evil")', {"company": "@Acme", "first_name": "Ann"}),
        Contact("+19195550124", "Bob", {"ticket_url": "https://t.example/2"}),
    ]
    headings = contact_headings(contacts)
    path = tmp_path / "out.csv"
    assert write_csv(path, headings, (contact_row(c, headings) for c in contacts)) == 2
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    cells = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert cells[0] == ["number", "name", "company", "first_name", "ticket_url"]
    assert cells[1][:3] == ["'+19195550123", '\'=HYPERLINK("http://evil")', "'@Acme"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again, problems, _ = contacts_from_csv(read_csv(path), "US")
    assert problems == [] and [(c.number, c.name, dict(c.fields)) for c in again] == [
        (c.number, c.name, dict(c.fields)) for c in contacts
    ]
