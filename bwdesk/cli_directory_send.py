"""What `bwdesk send` and `bwdesk history --refresh` ask of the directory (docs/design.md §17): the
do-not-text list before anything is sent, `--template` and `--var` filled per recipient from their contacts,
and numbers the answers put on the list, told to the agent.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from bwdesk.cli import UsageError

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.delivery import RefreshReport, StatusLookup
    from bwdesk.core.directory.optout import OptOutRecorder
    from bwdesk.core.directory.store import ContactBook, DirectoryStore, OptOutList
    from bwdesk.core.directory.template_book import Template
    from bwdesk.core.history.store import DeliveryLog
    from bwdesk.core.message import Draft

_VAR = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,39})\s*=(.*)", re.DOTALL)


def chosen_template(args: argparse.Namespace, context: Context, directory: DirectoryStore) -> Template | None:
    """`--template NAME`'s template (None without it); `--var` needs one. Raises UsageError."""
    if args.template is None:
        if args.var:
            raise UsageError(
                "var: --var fills a template's variables; give the template with --template NAME."
            )
        return None
    from bwdesk.core.directory.choice import template_book

    book = template_book(context, directory)
    template = book.find(args.template)
    if template is None:
        close = [t.name for t in book.matching(args.template, limit=3)]
        hint = (
            f" Did you mean {' or '.join(repr(n) for n in close)}?"
            if close
            else " `bwdesk templates list` shows them."
        )
        raise UsageError(f"template: there is no template called {args.template!r}.{hint} Nothing was sent.")
    return template


def explicit_values(args: argparse.Namespace, template: Template, err: IO[str]) -> dict[str, str]:
    """The `--var KEY=VALUE`s, keys in lower case; a key the template does not use is warned about."""
    values: dict[str, str] = {}
    for item in args.var:
        match = _VAR.fullmatch(item.strip())
        if match is None:
            raise UsageError(f"var: {item!r}: write KEY=VALUE, e.g. --var first_name=Ann. Nothing was sent.")
        values[match.group(1).lower()] = match.group(2)
    for key in values.keys() - set(template.variable_names()):
        print(
            f"bwdesk: warning: var: the template {template.name!r} has no {{{key}}}; --var {key} is not used",
            file=err,
        )
    return values


def refuse_opted_out(directory: OptOutList, recipients: Sequence[str], err: IO[str] | None = None) -> None:
    """Nothing is sent when any recipient is on the do-not-text list: they are named so that they can be left
    out of --to. There is no flag to send anyway; the way back is `optout remove` with a reason. A team
    directory that checked its copy of the team's list (the team database away) says so on `err`."""
    from bwdesk.core.directory.optout import listed_among

    entries = listed_among(directory, recipients)
    note = getattr(directory, "check_note", "")
    if note and err is not None:
        print(f"bwdesk: warning: {note}", file=err)
    if not entries:
        return
    who = [e.number for e in entries]
    each = "".join(f"\n  {e.number}: {e.describe()}" for e in entries)
    others = len(recipients) > len(who)
    leave_out = f" Leave {' and '.join(who)} out of --to to send to the others." if others else ""
    raise UsageError(
        f"to: {len(who)} of the recipients {'is' if len(who) == 1 else 'are'} on the do-not-text list, so nothing "
        f"was sent:{each}\n{leave_out.strip() + ' ' if leave_out else ''}If a customer asked to be texted again, "
        "take the number off the list with a reason: bwdesk optout remove NUMBER --reason TEXT."
    )


def filled_drafts(
    draft: Draft, template: Template, values: dict[str, str], directory: ContactBook
) -> list[Draft]:
    """The drafts a template makes: one per recipient when messages are separate (each filled from its contact),
    one for a group (filled with what all recipients share); raises UsageError naming every variable left
    without a value, for whom and where."""
    from bwdesk.core.directory.filling import fill_draft
    from bwdesk.core.message import recipients_e164

    if not template.variable_names():
        return [draft]
    filled = fill_draft(draft, directory.contacts_for(recipients_e164(draft)), values)
    if not filled.complete:
        _missing(template, filled.problems())
    return list(filled.drafts)


def _missing(template: Template, problems: list[str]) -> None:
    listed = "".join(f"\n  {p}" for p in problems)
    raise UsageError(
        f"text: the template {template.name!r} cannot be filled:{listed}\nGive the value with --var KEY=VALUE, "
        "add it to the contact (bwdesk contacts add NUMBER --name NAME --field KEY=VALUE), or give the variable a "
        "fallback in the template ({key|fallback}). Nothing was sent."
    )


def tell_news(recorder: OptOutRecorder, err: IO[str]) -> None:
    """What the recorder put on the do-not-text list (and could not), for the agent."""
    news, problems = recorder.take_news()
    for item in news:
        print(f"bwdesk: {item.notice()}", file=err)
    for problem in problems:
        print(f"bwdesk: warning: {problem}", file=err)


def refresh_filling_the_list(
    context: Context, store: DeliveryLog, client: StatusLookup, err: IO[str]
) -> RefreshReport:
    """`history --refresh`: a status refresh whose 4775 and 4482 put numbers on the do-not-text list; the
    summary, then what went on the list, go to `err`."""
    from bwdesk.core.delivery import refresh_statuses
    from bwdesk.core.directory.choice import open_directory
    from bwdesk.core.directory.optout import OptOutRecorder

    directory = open_directory(context)
    try:
        recorder = OptOutRecorder(directory)
        report = refresh_statuses(store, client, on_status=recorder.after_status)
    finally:
        directory.close()
    print(report.summary(), file=err)
    tell_news(recorder, err)
    return report
