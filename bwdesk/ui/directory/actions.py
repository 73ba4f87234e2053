"""What the agent does to the directory from the window's menus: put numbers on the do-not-text list (with an
optional note) or take them off (with a required reason, kept in the list's history), and name a number.
The history's context menu and a chip's context menu offer these; the list dialog uses the same calls.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from bwdesk.core.directory.contacts import Contact, contact_problems, make_contact
from bwdesk.core.directory.optout import OptOut, Reason
from bwdesk.core.directory.store import DirectoryStore, NotListed
from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.phone import ParsedNumber, display_number
from bwdesk.ui.directory.checker import WindowDirectory
from bwdesk.ui.feedback import Duration, Feedback

REMOVAL_REASON_REQUIRED = (
    "A number comes off the do-not-text list only with a reason (kept in the list's history), e.g. "
    "“customer texted START on 3 March”. Nothing changed."
)


def who(numbers: Sequence[str]) -> str:
    return ", ".join(display_number(n) for n in numbers)


def _add_all(numbers: Sequence[str], note: str, store: DirectoryStore) -> list[tuple[OptOut, bool]]:
    return [store.add_opt_out(n, Reason.BY_HAND, note=note) for n in numbers]


def _remove_all(numbers: Sequence[str], reason: str, store: DirectoryStore) -> tuple[list[str], list[str]]:
    removed, not_listed = [], []
    for number in numbers:
        try:
            store.remove_opt_out(number, reason)
        except NotListed:
            not_listed.append(number)
        else:
            removed.append(number)
    return removed, not_listed


def _save_contact(contact: Contact, store: DirectoryStore) -> Contact:
    return store.save_contact(contact.number, contact.name, contact.fields)


class DirectoryActions(QObject):
    """The directory's actions, each asking what it needs through the feedback, then the store on a worker.
    `done(str)` carries what was said when an action finished (for tests and the list dialog)."""

    done = Signal(str)

    def __init__(self, directory: WindowDirectory, feedback: Feedback, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._directory = directory
        self._feedback = feedback

    # -- the do-not-text list ---------------------------------------------------------------------------

    def add_to_list(self, numbers: Sequence[str]) -> None:
        """Put `numbers` (E.164) on the list by hand, after asking for an optional note."""
        if not numbers:
            return
        note = self._feedback.ask_text(
            "Add to the do-not-text list",
            f"Messages to {who(numbers)} will be refused. A note on why (optional), e.g. “asked by phone”:",
        )
        if note is None:
            return
        self._directory.run(
            functools.partial(_add_all, list(numbers), note),
            self._added,
            functools.partial(self._failed, "could not be put on the do-not-text list"),
            description="add to the do-not-text list",
        )

    def _added(self, results: list[tuple[OptOut, bool]]) -> None:
        added = [entry.number for entry, new in results if new]
        already = [entry for entry, new in results if not new]
        parts = []
        if added:
            parts.append(f"{who(added)} {'is' if len(added) == 1 else 'are'} on the do-not-text list now.")
        parts.extend(f"{display_number(e.number)} was already on it: {e.describe()}." for e in already)
        self._tell(" ".join(parts))
        if added:
            self._directory.changed()

    def remove_from_list(self, numbers: Sequence[str]) -> None:
        """Take `numbers` off the list, after asking for the reason (required; kept in the list's history)."""
        if not numbers:
            return
        reason = self._feedback.ask_text(
            "Remove from the do-not-text list",
            f"Why may {who(numbers)} be texted again? The reason is kept in the list's history "
            "(e.g. “customer texted START on 3 March”):",
            required=REMOVAL_REASON_REQUIRED,
        )
        if reason is None:
            return
        self._directory.run(
            functools.partial(_remove_all, list(numbers), reason),
            self._removed,
            functools.partial(self._failed, "could not be taken off the do-not-text list"),
            description="remove from the do-not-text list",
        )

    def _removed(self, outcome: tuple[list[str], list[str]]) -> None:
        removed, not_listed = outcome
        parts = []
        if removed:
            parts.append(f"{who(removed)} can be texted again; the reason is kept in the list's history.")
        if not_listed:
            parts.append(f"{who(not_listed)} {'was' if len(not_listed) == 1 else 'were'} not on the list.")
        self._tell(" ".join(parts))
        if removed:
            self._directory.changed()

    # -- contacts -----------------------------------------------------------------------------------------------

    def edit_contact(self, number: str) -> None:
        """Name `number` (or rename it), keeping the contact's other fields."""
        current = self._directory.contact(number)
        name = self._feedback.ask_text(
            "Edit contact" if current else "Add contact name",
            f"Name for {display_number(number)}:",
            text=current.name if current else "",
            required="A contact needs a name; nothing was saved.",
        )
        if name is None:
            return
        fields = dict(current.fields) if current else {}
        problems = contact_problems(name, fields)
        if problems:
            self._feedback.warn(f"The contact was not saved: {'; '.join(problems)}.", Duration.MOMENT)
            return
        self._directory.run(
            functools.partial(_save_contact, make_contact(number, name, fields)),
            self._contact_saved,
            functools.partial(self._failed, "the contact could not be saved"),
            description="save a contact",
        )

    def _contact_saved(self, contact: Contact) -> None:
        self._tell(f"{display_number(contact.number)} is {contact.name} now.")
        self._directory.reload_contacts()

    # -- menus ------------------------------------------------------------------------------------------------------

    def fill_history_menu(self, menu: QMenu, rows: Sequence[HistoryRow]) -> None:
        """The history's context menu: the list and contact names for the selected rows' recipients."""
        numbers = list(dict.fromkeys(n for row in rows for n in row.to if n.startswith("+")))
        if not numbers:
            return
        # What the list is known to hold decides which of the two is offered; numbers not known yet (asked now,
        # on a worker, for the next time) get both.
        directory = self._directory
        directory.ask(numbers)
        addable = [n for n in numbers if not directory.known(n) or directory.entry(n) is None]
        removable = [n for n in numbers if not directory.known(n) or directory.entry(n) is not None]
        if addable:
            add = _action(menu, "Add to do-not-text list…", lambda: self.add_to_list(addable))
            add.setToolTip(f"Refuse messages to {who(addable)} from now on")
        if removable:
            remove = _action(menu, "Remove from do-not-text list…", lambda: self.remove_from_list(removable))
            remove.setToolTip(f"Allow messages to {who(removable)} again (a reason is required)")
        if len(numbers) == 1:
            self._contact_action(menu, numbers[0], "")
        else:
            names = menu.addMenu("Contact names")
            for number in numbers[:20]:
                self._contact_action(names, number, f" of {display_number(number)}")

    def fill_chip_menu(self, menu: QMenu, number: ParsedNumber) -> None:
        """A chip's context menu: name its number."""
        if number.ok and number.e164:
            self._contact_action(menu, number.e164, "")

    def _contact_action(self, menu: QMenu, number: str, suffix: str) -> QAction:
        known = self._directory.contact(number) is not None
        text = f"{'Edit contact' if known else 'Add contact name'}{suffix}…"
        return _action(menu, text, lambda: self.edit_contact(number))

    # -- telling ----------------------------------------------------------------------------------------------------

    def _tell(self, text: str) -> None:
        self._feedback.notify(text, Duration.NEWS)
        self.done.emit(text)

    def _failed(self, what: str, words: str) -> None:
        text = f"Not done: {what} ({words})."
        self._feedback.warn(text)
        self.done.emit(text)


def _action(menu: QMenu, text: str, slot: object) -> QAction:
    action = menu.addAction(text)
    action.triggered.connect(slot)
    return action
