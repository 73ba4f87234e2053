"""The window's directory (docs/design.md §17): the do-not-text list asked per number and remembered, the
contacts loaded whole and matched in memory, and every store call of the window's directory parts run on a
worker. The composer's chips, the history's names, the list dialog and the send session all go through here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, Signal

from bwdesk.core.directory.optout import OptOut
from bwdesk.ui.feedback import error_message
from bwdesk.ui.tasks import BackgroundTasks

if TYPE_CHECKING:
    from bwdesk.core.directory.contacts import Contact, ContactIndex
    from bwdesk.core.directory.store import DirectoryStore

T = TypeVar("T")

#: Contacts read per page while the whole book is loaded on a worker.
CONTACT_PAGE = 5000


@dataclass(frozen=True)
class ContactBookCopy:
    """Every contact, read once on a worker: by number, and indexed for matching as a name is typed."""

    by_number: dict[str, Contact]
    index: ContactIndex


def load_contacts(store: DirectoryStore) -> ContactBookCopy:
    """On a worker: the whole contact book, and its index (§17.5: built once, then matched per keystroke)."""
    from bwdesk.core.directory.contacts import ContactIndex

    contacts: list[Contact] = []
    after: str | None = None
    while page := store.contacts(after=after, limit=CONTACT_PAGE):
        contacts.extend(page)
        after = page[-1].number
    return ContactBookCopy({c.number: c for c in contacts}, ContactIndex(contacts))


class WindowDirectory(QObject):
    """The directory as the window sees it. `optouts_changed()` when what is known about numbers changed
    (answers arrived, or the list changed and everything is to be asked again); `contacts_changed()` when the
    contacts were (re)loaded; `list_changed()` when the list itself changed (a dialog, the history's menu,
    an answer from Bandwidth), for whoever shows it."""

    optouts_changed = Signal()
    contacts_changed = Signal()
    list_changed = Signal()

    def __init__(self, tasks: BackgroundTasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._store: DirectoryStore | None = None
        self._problem = ""
        self._known: dict[str, OptOut | None] = {}  # by E.164: its entry, or None when not on the list
        self._asked: set[str] = set()  # numbers on their way to the store
        self._generation = 0  # answers from before the list changed are dropped
        self._contacts: ContactBookCopy | None = None

    # -- the store -----------------------------------------------------------------------------------------

    @property
    def store(self) -> DirectoryStore | None:
        return self._store

    @property
    def problem(self) -> str:
        """Why the directory cannot be used ("" when it can, or while it opens)."""
        return self._problem

    def set_store(self, store: DirectoryStore | None, problem: str = "") -> None:
        """The directory the services opened (None while they reopen); what is known is asked again."""
        self._store, self._problem = store, problem
        self._contacts = None
        self._forget()
        self.contacts_changed.emit()
        if store is not None:
            self.reload_contacts()

    def run(
        self,
        work: Callable[[DirectoryStore], T],
        on_success: Callable[[T], object],
        on_error: Callable[[str], object],
        *,
        description: str,
        owner: QObject | None = None,
    ) -> bool:
        """`work(store)` on a worker; its result, or what went wrong in words, on the GUI thread. False (and
        `on_error` told at once) when there is no directory."""
        store = self._store
        if store is None:
            on_error(self._problem or "the do-not-text list is still opening; try again in a moment")
            return False
        self._tasks.run(
            functools.partial(work, store),
            on_success,
            lambda exc: on_error(error_message(exc, description)),
            description=description,
            owner=owner,
        )
        return True

    # -- the do-not-text list -------------------------------------------------------------------------------

    def entry(self, number: str) -> OptOut | None:
        """The list's entry for `number` as last asked (None: not on it, or not known yet)."""
        return self._known.get(number)

    def known(self, number: str) -> bool:
        return number in self._known

    def ask(self, numbers: Iterable[str]) -> None:
        """Look up those of `numbers` not known yet, on a worker (`optouts_changed` once they are)."""
        wanted = [n for n in dict.fromkeys(numbers) if n not in self._known and n not in self._asked]
        store = self._store
        if not wanted or store is None:
            return
        self._asked.update(wanted)
        generation = self._generation
        self._tasks.run(
            functools.partial(store.opted_out, wanted),
            functools.partial(self._answered, generation, wanted),
            functools.partial(self._not_answered, generation, wanted),
            description="check the do-not-text list",
        )

    def learn(self, entries: Iterable[OptOut]) -> None:
        """Entries found elsewhere (the send session's own check) join what is known."""
        for entry in entries:
            self._known[entry.number] = entry
        self.optouts_changed.emit()

    def changed(self) -> None:
        """The list changed (by hand or from an answer): everything is asked again."""
        self._forget()
        self.list_changed.emit()

    def _forget(self) -> None:
        self._generation += 1
        self._known.clear()
        self._asked.clear()
        self.optouts_changed.emit()

    def _answered(self, generation: int, numbers: list[str], found: dict[str, OptOut]) -> None:
        if generation != self._generation:
            return
        self._asked.difference_update(numbers)
        for number in numbers:
            self._known[number] = found.get(number)
        self.optouts_changed.emit()

    def _not_answered(self, generation: int, numbers: list[str], exc: BaseException) -> None:
        # Not remembered: the next change asks again, and Send asks for itself before anything leaves.
        if generation == self._generation:
            self._asked.difference_update(numbers)
        error_message(exc, "checking the do-not-text list")

    # -- contacts ---------------------------------------------------------------------------------------------

    def contact(self, number: str) -> Contact | None:
        return self._contacts.by_number.get(number) if self._contacts is not None else None

    def name_of(self, number: str) -> str:
        contact = self.contact(number)
        return contact.name if contact is not None else ""

    def all_contacts(self) -> list[Contact]:
        """Every contact, by name (the window's copy)."""
        return self._contacts.index.all() if self._contacts is not None else []

    def has_contacts(self) -> bool:
        return bool(self._contacts and self._contacts.by_number)

    def match(self, typed: str, limit: int = 8) -> list[Contact]:
        """Contacts whose names (or numbers) fit what is typed (core's ContactIndex; in memory, fast)."""
        return self._contacts.index.match(typed, limit) if self._contacts is not None else []

    def reload_contacts(self) -> None:
        """Read the contact book again on a worker (after a change); `contacts_changed` once it is in."""
        self.run(
            load_contacts,
            self._contacts_loaded,
            lambda _words: None,  # said in the log; names are shown again once they can be read
            description="read the contacts",
        )

    def _contacts_loaded(self, book: ContactBookCopy) -> None:
        self._contacts = book
        self.contacts_changed.emit()
