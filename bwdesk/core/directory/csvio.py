"""CSV files of contacts and of the do-not-text list: messy ones read, each unusable line named by its line number;
spreadsheet-safe ones written by the history export's rules (docs/design.md §17.5, §9.8)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO

from bwdesk.core.directory.contacts import (
    FIELD_KEY,
    RESERVED_KEYS,
    Contact,
    contact_problems,
    field_key,
    make_contact,
)
from bwdesk.core.directory.optout import CODES, OptOut, Reason
from bwdesk.core.directory.store import NewOptOut
from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.export import CSV_FORMULA_TRIGGERS, csv_cell
from bwdesk.core.phone import parse_number

#: Files larger than this are refused before reading (a contact list this big is not a contact list).
MAX_FILE_BYTES = 200 * 1024 * 1024

# What people call the columns, as `field_key` makes them.
_NUMBER_COLUMNS = (
    "number",
    "phone",
    "phone_number",
    "mobile",
    "mobile_number",
    "cell",
    "tel",
    "telephone",
    "e164",
)
_NAME_COLUMNS = ("name", "full_name", "display_name", "contact", "contact_name")
_FIRST_COLUMNS = ("first_name", "given_name", "firstname")
_LAST_COLUMNS = ("last_name", "surname", "family_name", "lastname")

OPT_OUT_COLUMNS = ("number", "reason", "code", "since", "by", "note")


class CsvError(BwdeskError):
    """The file cannot be used at all (unreadable, empty, no column of numbers); nothing was imported."""


@dataclass(frozen=True)
class CsvRow:
    line: int  # where the row starts in the file (the header is line 1)
    cells: dict[str, str]  # by column key


@dataclass
class CsvTable:
    """A CSV file read: its columns (as written, and as keys) and its rows, with notes about the file itself."""

    headings: list[str]
    keys: list[str]
    rows: list[CsvRow]
    notes: list[str] = field(default_factory=list)

    def column(self, candidates: Sequence[str]) -> str | None:
        return next((key for key in candidates if key in self.keys), None)


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


# --- reading ---------------------------------------------------------------------------------------------------


def read_csv(source: str | os.PathLike[str] | IO[bytes], name: str = "") -> CsvTable:
    """Read a CSV file (a path, or a binary stream such as standard input). Raises CsvError."""
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "the file")
    try:
        if isinstance(source, (str, os.PathLike)):
            if os.path.getsize(source) > MAX_FILE_BYTES:
                raise CsvError(
                    f"{label} is larger than {MAX_FILE_BYTES // 2**20} MB; split it into smaller files."
                )
            with open(source, "rb") as handle:
                data = handle.read()
        else:
            data = source.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise CsvError(
                    f"{label} is larger than {MAX_FILE_BYTES // 2**20} MB; split it into smaller files."
                )
    except OSError as exc:
        raise CsvError(f"cannot read {label}: {(exc.strerror or str(exc)).lower()}") from None
    notes: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        notes.append(f'{label} is not UTF-8 text; it was read as Windows-1252 (Excel\'s "CSV" on Windows)')
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise CsvError(f"{label} is empty.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(lines[0]))
    try:
        headings = [_plain(cell).strip() for cell in next(reader)]
        rows: list[CsvRow] = []
        keys = [field_key(h) for h in headings]
        line = reader.line_num
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            cells = {key: _plain(value).strip() for key, value in zip(keys, record, strict=False) if key}
            rows.append(CsvRow(start, cells))
    except csv.Error as exc:
        raise CsvError(f"{label} is not a CSV file this can read (line {reader.line_num}: {exc}).") from None
    return CsvTable(headings, keys, rows, notes)


def _delimiter(header: str) -> str:
    """The separator the header uses most: a comma, a semicolon (Excel in much of Europe) or a tab."""
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _plain(cell: str) -> str:
    """A cell as it was before a bwdesk export made it formula-safe (`'+1919…` → `+1919…`)."""
    if cell.startswith("'") and cell[1:].lstrip(" ")[:1] in CSV_FORMULA_TRIGGERS:
        return cell[1:]
    return cell


def _number(raw: str, region: str, seen: dict[str, int], line: int) -> tuple[str | None, str | None]:
    """The E.164 number of a cell, or why it cannot be used (empty, not a number, seen on an earlier line)."""
    if not raw:
        return None, "no number"
    parsed = parse_number(raw, region)
    if not parsed.ok or parsed.e164 is None:
        return None, f"{raw!r} is not a phone number: {parsed.error}"
    if parsed.e164 in seen:
        return None, f"{parsed.e164} is already on line {seen[parsed.e164]}; this line is skipped"
    seen[parsed.e164] = line
    return parsed.e164, None


def _number_column(table: CsvTable) -> str:
    column = table.column(_NUMBER_COLUMNS)
    if column is None:
        found = ", ".join(repr(h) for h in table.headings if h) or "nothing"
        raise CsvError(
            f"line 1 (the header) has no column of phone numbers: call it 'number' (or 'phone'). It has {found}."
        )
    return column


def contacts_from_csv(table: CsvTable, region: str) -> tuple[list[Contact], list[LineProblem], list[str]]:
    """The contacts of a file, a problem per line that cannot be used, and notes about its columns.

    Columns: a number, and a name (or a first and a last name); every other column is a field, named as a
    template variable would name it (`Ticket URL` → `ticket_url`)."""
    number_key = _number_column(table)
    name_key = table.column(_NAME_COLUMNS)
    first_key, last_key = table.column(_FIRST_COLUMNS), table.column(_LAST_COLUMNS)
    if name_key is None and first_key is None:
        raise CsvError("line 1 (the header) has no 'name' column (or 'first name' and 'last name').")
    notes: list[str] = []
    field_keys: list[str] = []
    for heading, key in zip(table.headings, table.keys, strict=True):
        if not key or key in (number_key, name_key) or key in field_keys:
            continue
        if key in RESERVED_KEYS or not FIELD_KEY.fullmatch(key):
            notes.append(
                f"column {heading!r} is not used: a field's name is letters, digits and _ (e.g. ticket_url)"
            )
        else:
            field_keys.append(key)
    contacts: list[Contact] = []
    problems: list[LineProblem] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        number, why = _number(row.cells.get(number_key, ""), region, seen, row.line)
        if number is None:
            problems.append(LineProblem(row.line, why or "no number"))
            continue
        name = row.cells.get(name_key, "") if name_key else ""
        if not name:
            name = " ".join(p for p in (row.cells.get(first_key or ""), row.cells.get(last_key or "")) if p)
        fields = {key: row.cells.get(key, "") for key in field_keys}
        wrong = contact_problems(name, {k: v for k, v in fields.items() if v})
        if wrong:
            del seen[number]
            problems.append(LineProblem(row.line, f"{number}: {'; '.join(wrong)}"))
            continue
        contacts.append(make_contact(number, name, fields))
    return contacts, problems, notes


def opt_outs_from_csv(table: CsvTable, region: str) -> tuple[list[NewOptOut], list[LineProblem]]:
    """The numbers of a file for the do-not-text list (reason "imported"), and a problem per unusable line.

    A `note` (or `reason`) column is kept as the entry's note; a `code` of 4775 or 4482 is kept."""
    number_key = _number_column(table)
    entries: list[NewOptOut] = []
    problems: list[LineProblem] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        number, why = _number(row.cells.get(number_key, ""), region, seen, row.line)
        if number is None:
            problems.append(LineProblem(row.line, why or "no number"))
            continue
        code_text = row.cells.get("code", "")
        code = int(code_text) if code_text.isdigit() and int(code_text) in CODES else None
        note = " ".join((row.cells.get("note") or row.cells.get("reason") or "").split())
        entries.append(NewOptOut(number, Reason.IMPORTED, code, note[:500]))
    return entries, problems


# --- writing ---------------------------------------------------------------------------------------------------


def write_csv(
    target: str | os.PathLike[str] | IO[str], headings: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """Write `rows` under `headings`, spreadsheet-safe; a path is created owner-only. Returns how many rows."""
    if isinstance(target, (str, os.PathLike)):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            return _write(handle, headings, rows)
    return _write(target, headings, rows)


def _write(handle: IO[str], headings: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    handle.write("\ufeff")
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(headings)
    written = 0
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        written += 1
    return written


def opt_out_row(entry: OptOut) -> list[object]:
    return [entry.number, entry.reason.value, entry.code, entry.since, entry.by, entry.note]


def contact_headings(contacts: Iterable[Contact]) -> list[str]:
    """`number`, `name`, then every field any of `contacts` has, by name."""
    keys = sorted({key for contact in contacts for key in contact.fields})
    return ["number", "name", *keys]


def contact_row(contact: Contact, headings: Sequence[str]) -> list[object]:
    return [contact.number, contact.name, *(contact.fields.get(key, "") for key in headings[2:])]
