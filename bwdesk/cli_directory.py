"""`bwdesk optout|templates|contacts`: parsers, dispatch, the list's and the contacts' actions, output
(docs/design.md §17.6). `cli.py` only adds the sub-commands; the exit statuses are §4.6's, as §17.6 reads them."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol

from bwdesk.cli import UsageError

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.directory.contacts import Contact
    from bwdesk.core.directory.csvio import CsvTable
    from bwdesk.core.directory.optout import OptOut
    from bwdesk.core.directory.store import ContactBook, DirectoryStore, OptOutList

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_PARTLY_IMPORTED = 3

OPTOUT_HELP = (
    "The do-not-text list: numbers bwdesk refuses to text, and why (4775: the customer replied STOP; 4482: "
    "Bandwidth's blocklist; by hand; imported). Bandwidth's answers fill it by themselves; a number comes off "
    "only with a reason, kept in its history. There is no 'send anyway'. Exit status: 0 done; 2 invalid input "
    "(nothing changed); 3 an import refused some lines; 1 internal error."
)
TEMPLATES_HELP = (
    "Message templates: a name, a text with {variables} and {variable|fallback}s, an optional tag and media. "
    "Your own are kept on this computer; IT's (from the system settings file) are locked. Send one with "
    "`bwdesk send --template NAME --var KEY=VALUE`. Exit status: 0 done; 2 invalid input (nothing changed); "
    "3 an import refused some templates; 1 internal error."
)
CONTACTS_HELP = (
    "Contacts: a name and fields (first_name, company, ticket_url, …) per number. Templates fill their "
    "variables from them, per recipient. Exit status: 0 done; 2 invalid input (nothing changed); 3 an import "
    "refused some lines; 1 internal error."
)


class TextOut(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


# --- parsers ---------------------------------------------------------------------------------------------------


def add_directory_parsers(sub: Any) -> None:
    """The `optout`, `templates` and `contacts` sub-commands."""
    optout = sub.add_parser(
        "optout", help="the do-not-text list: list, add, remove, import, export", description=OPTOUT_HELP
    )
    actions = optout.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = _action(actions, "list", help="the numbers on the list, by number")
    listing.add_argument("--search", metavar="DIGITS", help="only numbers containing these digits")
    listing.add_argument(
        "--json", action="store_true", help="print a JSON array (number, reason, code, since, by, note)"
    )
    add = _action(actions, "add", help="put a number on the list by hand")
    add.add_argument("number", metavar="NUMBER")
    add.add_argument("--reason", default="", metavar="TEXT", help="why (kept with the entry)")
    remove = _action(
        actions, "remove", help="take a number off the list: needs --reason, kept in its history"
    )
    remove.add_argument("number", metavar="NUMBER")
    remove.add_argument(
        "--reason", default="", metavar="TEXT", help="why, e.g. 'customer texted START on 3 March' (required)"
    )
    history = _action(actions, "history", help="changes to the list (of one number), newest first")
    history.add_argument("number", metavar="NUMBER", nargs="?")
    history.add_argument("--json", action="store_true", help="print a JSON array")
    _import_export(actions, "a CSV file with a 'number' column (also 'note', 'code'); header on line 1")

    templates = sub.add_parser(
        "templates", help="message templates: list, add, remove, import, export", description=TEMPLATES_HELP
    )
    actions = templates.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = _action(actions, "list", help="the templates you can use (yours, the team's, IT's locked ones)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    add = _action(actions, "add", help="add (or with --replace change) a template")
    add.add_argument("name", metavar="NAME")
    text = add.add_mutually_exclusive_group(required=True)
    text.add_argument(
        "--text", metavar="TEXT", help="the text: {first_name}, {first_name|there} are variables"
    )
    text.add_argument(
        "--text-file", metavar="PATH", help="read the text from a UTF-8 file, or '-' for standard input"
    )
    add.add_argument("--tag", default="", metavar="TAG", help="a tag for messages sent with it")
    add.add_argument(
        "--media", action="append", default=[], metavar="URL", help="a media link; repeat for several"
    )
    add.add_argument("--team", action="store_true", help="a team template, shared through the team history")
    add.add_argument("--replace", action="store_true", help="change the template of that name")
    remove = _action(actions, "remove", help="delete a template")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--team", action="store_true", help="the team template of that name")
    importing = _import_export(actions, "a JSON array of {name, text, tag, media} (what export writes)")
    importing.add_argument("--replace", action="store_true", help="change templates of the same names")
    importing.add_argument("--team", action="store_true", help="import them as team templates")

    contacts = sub.add_parser(
        "contacts", help="contact names: list, add, remove, import, export", description=CONTACTS_HELP
    )
    actions = contacts.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = _action(actions, "list", help="the contacts, by name")
    listing.add_argument(
        "--search", metavar="TEXT", help="a name from the start of any of its words, or digits of the number"
    )
    listing.add_argument(
        "--json", action="store_true", help="print a JSON array (number, name, fields, updated, by)"
    )
    add = _action(actions, "add", help="add a contact, or change one (fields not given are kept)")
    add.add_argument("number", metavar="NUMBER")
    add.add_argument("--name", required=True, metavar="NAME")
    add.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a field, e.g. first_name=Ann; KEY= removes it",
    )
    remove = _action(actions, "remove", help="forget a contact")
    remove.add_argument("number", metavar="NUMBER")
    _import_export(
        actions,
        "a CSV file with 'number' and 'name' columns (or 'first name', 'last name'); other columns are fields",
    )


def _action(actions: Any, name: str, *, help: str) -> argparse.ArgumentParser:
    """One action of a command, with its help line also as the description its own --help starts with."""
    sentence = help[:1].upper() + help[1:] + "."
    return actions.add_parser(name, help=help, description=sentence)  # type: ignore[no-any-return]


def _import_export(actions: Any, what: str) -> argparse.ArgumentParser:
    importing = _action(actions, "import", help=f"add from {what}")
    importing.add_argument("path", metavar="PATH", help="the file, or '-' for standard input")
    exporting = _action(actions, "export", help="write them to a file")
    exporting.add_argument("path", metavar="PATH", help="the file, or '-' for standard output")
    return importing


# --- dispatch --------------------------------------------------------------------------------------------------


class Command(Protocol):
    def __call__(
        self,
        args: argparse.Namespace,
        context: Context,
        directory: DirectoryStore,
        out: TextOut,
        err: IO[str],
    ) -> int: ...


def cmd_directory(args: argparse.Namespace, out: TextOut, err: IO[str]) -> int:
    from bwdesk.core.account import load_context
    from bwdesk.core.directory.choice import open_directory

    context = load_context(err=err)
    directory = open_directory(context)
    try:
        if args.command == "templates":
            from bwdesk.cli_templates import TEMPLATE_COMMANDS

            return TEMPLATE_COMMANDS[args.action](args, context, directory, out, err)
        return COMMANDS[args.command, args.action](args, context, directory, out, err)
    finally:
        directory.close()


def typed_number(raw: str, region: str) -> str:
    """A number as typed, in E.164; UsageError (exit 2) naming it and why when it is not one."""
    from bwdesk.core.phone import parse_number

    parsed = parse_number(raw, region)
    if not parsed.ok or parsed.e164 is None:
        raise UsageError(f"number: {raw!r} is not a phone number: {parsed.error}. Nothing changed.")
    return parsed.e164


def json_array(items: Iterable[dict[str, Any]], out: TextOut) -> None:
    """A JSON array written as it is read (the do-not-text list may hold a million numbers)."""
    out.write("[")
    for i, item in enumerate(items):
        out.write((", " if i else "") + json.dumps(item, ensure_ascii=False))
    out.write("]\n")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def source_name(path: str) -> str:
    return "standard input" if path == "-" else path


def report_problems(problems: Sequence[object], err: IO[str]) -> int:
    for problem in problems:
        print(f"bwdesk: {problem}", file=err)
    return EXIT_PARTLY_IMPORTED if problems else EXIT_OK


def _read_table(path: str) -> CsvTable:
    from bwdesk.core.directory.csvio import read_csv

    return read_csv(sys.stdin.buffer if path == "-" else path, source_name(path))


def _export_csv(
    path: str, headings: Sequence[str], rows: Iterable[Sequence[object]], what: str, out: TextOut
) -> int:
    from bwdesk.core.directory.csvio import write_csv

    if path == "-":
        write_csv(out, headings, rows)  # type: ignore[arg-type]  # a text stream, written as given
        return EXIT_OK
    try:
        written = write_csv(path, headings, rows)
    except OSError as exc:
        raise UsageError(f"export: cannot write {path}: {(exc.strerror or str(exc)).lower()}.") from None
    print(f"Wrote {plural(written, what)} to {path}.", file=out)
    return EXIT_OK


# --- optout ----------------------------------------------------------------------------------------------------


def _all_opt_outs(directory: OptOutList, digits: str = "") -> Iterator[OptOut]:
    after: str | None = None
    while page := directory.opt_outs(after=after, limit=5000, digits=digits):
        yield from page
        after = page[-1].number


def optout_list(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    digits = re.sub(r"\D", "", args.search or "")
    entries = _all_opt_outs(directory, digits)
    if args.json:
        json_array((entry.to_json() for entry in entries), out)
        return EXIT_OK
    shown = 0
    for entry in entries:
        print(f"{entry.number:<16} {entry.describe()}", file=out)
        shown += 1
    if not shown:
        empty = (
            f"No number containing {digits} is on the do-not-text list."
            if digits
            else "The do-not-text list is empty."
        )
        print(empty, file=out)
    return EXIT_OK


def optout_add(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.optout import Reason

    number = typed_number(args.number, context.settings.region)
    entry, added = directory.add_opt_out(number, Reason.BY_HAND, note=" ".join(args.reason.split()))
    if added:
        print(f"{number} is on the do-not-text list now; messages to it are refused.", file=out)
    else:
        print(f"{number} was already on the do-not-text list: {entry.describe()}. Nothing changed.", file=out)
    return EXIT_OK


def optout_remove(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.store import NotListed

    number = typed_number(args.number, context.settings.region)
    if not args.reason.strip():
        raise UsageError(
            "reason: a number comes off the do-not-text list only with a reason, kept in the list's history: add "
            f"--reason, e.g. bwdesk optout remove {number} --reason 'customer texted START on 3 March'. Nothing changed."
        )
    try:
        removed = directory.remove_opt_out(number, args.reason)
    except NotListed as exc:
        raise UsageError(f"number: {exc} Nothing changed.") from None
    print(
        f"{number} is off the do-not-text list (it was {removed.describe()}). The reason is kept in its history: "
        f"bwdesk optout history {number}",
        file=out,
    )
    return EXIT_OK


def optout_history(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.optout import Action, local_time

    number = typed_number(args.number, context.settings.region) if args.number else None
    events = directory.opt_out_history(number)
    if args.json:
        json_array((event.to_json() for event in events), out)
        return EXIT_OK
    for event in events:
        if event.action is Action.REMOVED:
            what = f"removed: {event.note}"
        else:
            what = f"added, {event.reason.value if event.reason else ''}" + (
                f" {event.code}" if event.code else ""
            )
            what += f": {event.note}" if event.note else ""
        print(f"{local_time(event.at)}  {event.number:<16} {what} (by {event.by})", file=out)
    if not events:
        print("No changes to the do-not-text list yet.", file=out)
    return EXIT_OK


def optout_import(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.csvio import CsvError, opt_outs_from_csv

    try:
        table = _read_table(args.path)
        entries, problems = opt_outs_from_csv(table, context.settings.region)
    except CsvError as exc:
        raise UsageError(f"import: {exc} Nothing was imported.") from None
    for note in table.notes:
        print(f"bwdesk: note: {note}", file=err)
    added = directory.add_opt_outs(entries)
    already = f" ({len(entries) - added} already on it)" if len(entries) > added else ""
    refused = f"; {plural(len(problems), 'line')} not used (below)" if problems else ""
    print(f"Put {plural(added, 'number')} on the do-not-text list{already}{refused}.", file=out)
    return report_problems(problems, err)


def optout_export(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.csvio import OPT_OUT_COLUMNS, opt_out_row

    rows = (opt_out_row(entry) for entry in _all_opt_outs(directory))
    return _export_csv(args.path, OPT_OUT_COLUMNS, rows, "number", out)


# --- contacts --------------------------------------------------------------------------------------------------


def _all_contacts(directory: ContactBook) -> Iterator[Contact]:
    after: str | None = None
    while page := directory.contacts(after=after, limit=5000):
        yield from page
        after = page[-1].number


def contacts_list(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.contacts import ContactIndex
    from bwdesk.core.directory.words import fold

    if args.search:
        index = ContactIndex(_all_contacts(directory))
        chosen = index.match(args.search, limit=max(len(index), 1))
    else:
        chosen = sorted(_all_contacts(directory), key=lambda c: (fold(c.name), c.number))
    if args.json:
        json_array((contact.to_json() for contact in chosen), out)
        return EXIT_OK
    for contact in chosen:
        fields = "  ".join(f"{key}={value}" for key, value in contact.fields.items())
        print(f"{contact.number:<16} {contact.name:<28} {fields}".rstrip(), file=out)
    if not chosen:
        print(f"No contact matches {args.search!r}." if args.search else "No contacts yet.", file=out)
    return EXIT_OK


def contacts_add(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.contacts import contact_problems, field_key, make_contact

    number = typed_number(args.number, context.settings.region)
    changes: dict[str, str] = {}
    for item in args.field:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"field: {item!r}: write KEY=VALUE, e.g. --field first_name=Ann. Nothing changed."
            )
        changes[field_key(key)] = value
    current = directory.contacts_for([number]).get(number)
    fields = {**(dict(current.fields) if current else {}), **changes}  # KEY= empties a field: it is dropped
    problems = contact_problems(args.name, {key: value for key, value in fields.items() if value.strip()})
    if problems:
        raise UsageError("; ".join(problems) + ". Nothing changed.")
    made = make_contact(number, args.name, fields)
    saved = directory.save_contact(made.number, made.name, made.fields)
    shown = "".join(f", {key}={value}" for key, value in saved.fields.items())
    print(f"Saved {saved.number}: {saved.name}{shown}.", file=out)
    return EXIT_OK


def contacts_remove(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    number = typed_number(args.number, context.settings.region)
    if not directory.remove_contact(number):
        raise UsageError(f"number: {number} has no contact. Nothing changed.")
    print(f"Forgot the contact of {number}.", file=out)
    return EXIT_OK


def contacts_import(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.csvio import CsvError, contacts_from_csv

    try:
        table = _read_table(args.path)
        contacts, problems, notes = contacts_from_csv(table, context.settings.region)
    except CsvError as exc:
        raise UsageError(f"import: {exc} Nothing was imported.") from None
    for note in [*table.notes, *notes]:
        print(f"bwdesk: note: {note}", file=err)
    saved = directory.save_contacts(contacts)
    refused = f"; {plural(len(problems), 'line')} not used (below)" if problems else ""
    print(f"Saved {plural(saved, 'contact')}{refused}.", file=out)
    return report_problems(problems, err)


def contacts_export(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.csvio import contact_headings, contact_row

    everyone = list(_all_contacts(directory))
    headings = contact_headings(everyone)
    return _export_csv(
        args.path, headings, (contact_row(contact, headings) for contact in everyone), "contact", out
    )


COMMANDS: dict[tuple[str, str], Command] = {
    ("optout", "list"): optout_list,
    ("optout", "add"): optout_add,
    ("optout", "remove"): optout_remove,
    ("optout", "history"): optout_history,
    ("optout", "import"): optout_import,
    ("optout", "export"): optout_export,
    ("contacts", "list"): contacts_list,
    ("contacts", "add"): contacts_add,
    ("contacts", "remove"): contacts_remove,
    ("contacts", "import"): contacts_import,
    ("contacts", "export"): contacts_export,
}
