"""The contacts of the draft's recipients, fetched on a worker as recipients come and go, so the composer can
fill the text's variables (core's `fill_draft`) on the GUI thread without asking the store there."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from bwdesk.core import message
from bwdesk.core.message import Draft, Problem, recipients_e164
from bwdesk.core.phone import display_number

if TYPE_CHECKING:
    from bwdesk.core.directory.contacts import Contact
    from bwdesk.core.directory.filling import Fill, FilledSend
    from bwdesk.core.directory.store import ContactBook
    from bwdesk.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: Numbers remembered at most; more are forgotten (oldest first) and asked again when they come back.
MAX_REMEMBERED = 2000


class RecipientContacts(QObject):
    """Who the recipients are, as far as the directory knows: asked for numbers not yet known, one request at
    a time; `changed` once an answer has arrived. Without a directory (not opened yet, or none) nobody is
    known and nothing is waited for."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: BackgroundTasks | None = None
        self._book: ContactBook | None = None
        self._known: dict[str, Contact | None] = {}
        self._asking: frozenset[str] = frozenset()
        self._wanted: set[str] = set()
        self._generation = 0  # answers from a directory replaced meanwhile are dropped

    def use(self, tasks: BackgroundTasks | None, book: ContactBook | None) -> None:
        """Ask `book` from now on (None: nobody is known); what was known is forgotten."""
        self._tasks, self._book = tasks, book
        self.forget()

    def forget(self) -> None:
        """Contacts changed (added, edited, imported): ask again for everyone wanted."""
        self._generation += 1
        self._known.clear()
        self._asking = frozenset()
        wanted, self._wanted = self._wanted, set()
        self.want(wanted)
        self.changed.emit()

    def want(self, numbers: Iterable[str]) -> bool:
        """Make sure these numbers (E.164) are known or being asked; True when all of them are known."""
        if self._book is None or self._tasks is None:
            return True
        missing = {n for n in numbers if n not in self._known}
        if not missing:
            return True
        self._wanted |= missing
        if not self._asking:
            self._ask()
        return False

    def waiting_for(self, numbers: Iterable[str]) -> bool:
        """Some of these numbers are still being asked about."""
        return (
            self._book is not None and self._tasks is not None and any(n not in self._known for n in numbers)
        )

    def known(self) -> dict[str, Contact]:
        """The recipients' contacts known so far (numbers without one are left out)."""
        return {n: c for n, c in self._known.items() if c is not None}

    def fill(self, draft: Draft) -> FilledSend:
        """`draft` filled for its recipients with what is known (core's rule; see `waiting_for`). The template
        engine loads on first use: a draft without a variable (`may_have_variables`) never needs it."""
        from bwdesk.core.directory.filling import fill_draft

        return fill_draft(draft, self.known())

    def _ask(self) -> None:
        assert self._tasks is not None and self._book is not None
        asking = frozenset(self._wanted)
        self._wanted.clear()
        self._asking = asking
        book, generation = self._book, self._generation
        self._tasks.run(
            functools.partial(book.contacts_for, sorted(asking)),
            functools.partial(self._answered, generation, asking),
            functools.partial(self._failed, generation, asking),
            description="look up the recipients' contacts",
            owner=self,
        )

    def _answered(self, generation: int, asked: frozenset[str], found: dict[str, Contact]) -> None:
        if generation != self._generation:
            return
        if len(self._known) > MAX_REMEMBERED:
            self._known.clear()
        self._known.update({n: found.get(n) for n in asked})
        self._asking = frozenset()
        if self._wanted:
            self._ask()
        self.changed.emit()

    def _failed(self, generation: int, asked: frozenset[str], exc: BaseException) -> None:
        """The directory could not be read: those numbers count as having no contact (their variables then
        need a fallback or typing), and the log says why."""
        log.warning("the recipients' contacts could not be read: %s", exc)
        self._answered(generation, asked, {})


def may_have_variables(text: str) -> bool:
    """Whether `text` can hold a template variable: every one starts with "{" (core.directory.templates). Without
    one the composer judges the draft without the template engine, which then loads after the first paint."""
    return "{" in text


def recipients_of(draft: Draft) -> Sequence[str]:
    """The draft's recipients that can be sent to (E.164)."""
    return recipients_e164(draft)


def missing_message(filled: FilledSend) -> str:
    """Why Send waits for a variable, in the window's terms: which, for whom, and what to do."""
    names = filled.missing_names()
    if not names:
        return ""
    listed = ", ".join(f"{{{n}}}" for n in names)
    lacking = [f for f in filled.fills if not f.filled.complete]
    if not lacking or not lacking[0].numbers:
        whom = ""
    elif len(lacking) == 1:
        whom = f" for {who_is(lacking[0])}"
    else:
        whom = f" for {len(lacking)} of the recipients"
    has = "have" if len(names) > 1 else "has"
    return (
        f"{listed} {has} no value{whom} and no fallback: type the value in its place, or give it a fallback "
        f"({{{names[0]}|…}})."
    )


def who_is(one: Fill) -> str:
    """A message's recipient as the agent knows them: the contact's name and the number, or the group."""
    if len(one.numbers) > 1:
        return "the whole group (only what every recipient's contact shares fills a group message)"
    number = display_number(one.numbers[0]) if one.numbers else ""
    return f"{one.contact.name} {number}" if one.contact else number


def filling_problems(filled: FilledSend, already: Sequence[Problem]) -> list[Problem]:
    """What keeps the filled message(s) from being sent: a variable without a value, and what the message rules
    say of each filled text that they did not already say of the text as typed (a name that makes it too long)."""
    if not filled.has_variables:
        return []
    found: list[Problem] = []
    if not filled.complete:
        found.append(Problem("text", missing_message(filled)))
    said = {(p.field, p.message) for p in already}
    for draft, one in zip(filled.drafts, filled.fills, strict=True):
        for problem in message.validate(draft):
            if (
                problem.field == "text"
                and problem.severity == "error"
                and (problem.field, problem.message) not in said
            ):
                said.add((problem.field, problem.message))
                whom = f" (filled for {who_is(one)})" if one.numbers else ""
                found.append(Problem("text", f"{problem.message}{whom}"))
    return found
