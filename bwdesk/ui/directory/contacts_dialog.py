"""Tools → Contacts: the contact book with a search (names as autocomplete matches them, or digits), adding,
renaming and removing, and CSV import and export (core's rules). The list comes from the window's copy of the
book (read on a worker); every change goes to the store on a worker (docs/design.md §17.5, §17.8)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core import phone
from bwdesk.core.directory.contacts import Contact
from bwdesk.core.directory.store import ContactBook, DirectoryStore
from bwdesk.ui.directory.actions import DirectoryActions
from bwdesk.ui.directory.checker import WindowDirectory
from bwdesk.ui.directory.list_dialog import CsvFilesDialog, ImportReport, fill_table, report_box, table
from bwdesk.ui.feedback import Duration, Feedback

#: Contacts listed at once; a search narrows a longer book.
SHOWN = 1000


def import_contacts(path: str, region: str, store: DirectoryStore) -> ImportReport:
    """On a worker: core reads the file and says what is wrong line by line; the good lines are saved."""
    from bwdesk.core.directory.csvio import contacts_from_csv, read_csv

    book = read_csv(path, Path(path).name)
    contacts, problems, notes = contacts_from_csv(book, region)
    saved = store.save_contacts(contacts) if contacts else 0
    return ImportReport(saved, len(contacts), [str(p) for p in problems], [*book.notes, *notes], "saved")


def export_contacts(path: str, store: ContactBook) -> int:
    """On a worker: every contact, formula-safe (core's writer)."""
    from bwdesk.core.directory.csvio import contact_headings, contact_row, write_csv
    from bwdesk.core.errors import BwdeskError

    contacts: list[Contact] = []
    after: str | None = None
    while page := store.contacts(after=after, limit=5000):
        contacts.extend(page)
        after = page[-1].number
    headings = contact_headings(contacts)
    try:
        return write_csv(path, headings, (contact_row(c, headings) for c in contacts))
    except OSError as exc:
        raise BwdeskError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None


def _forget(number: str, store: DirectoryStore) -> bool:
    return store.remove_contact(number)


class ContactsDialog(CsvFilesDialog):
    """The contact book. `shown()` fires each time the table is filled; `reported(str)` after an import or an
    export (what it said)."""

    shown = Signal()
    FILES = "contacts"
    FILE_NAME = "contacts.csv"
    UNITS = ("contact", "contacts")

    def __init__(
        self,
        directory: WindowDirectory,
        actions: DirectoryActions,
        feedback: Feedback,
        region: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Contacts")
        self.resize(720, 480)
        self._directory = directory
        self._actions = actions
        self._feedback = feedback
        self._region = region or phone.default_region()
        self._contacts: list[Contact] = []

        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search names or numbers…")
        self.search_edit.setAccessibleName("Search contacts")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.refill)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.table = table(self, ["Name", "Number", "Fields"], "Contacts")
        self.report = report_box(self)
        self.add_button = QPushButton("&Add…", self)
        self.edit_button = QPushButton("&Rename…", self)
        self.remove_button = QPushButton("Re&move…", self)
        self.import_button = QPushButton("&Import CSV…", self)
        self.export_button = QPushButton("&Export CSV…", self)
        self.add_button.clicked.connect(self.ask_to_add)
        self.edit_button.clicked.connect(self.rename_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button.clicked.connect(self._choose_import)
        self.export_button.clicked.connect(self._choose_export)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (
            self.add_button,
            self.edit_button,
            self.remove_button,
            self.import_button,
            self.export_button,
        ):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.report)
        layout.addWidget(close)
        directory.contacts_changed.connect(self.refill)
        self.refill()

    @Slot()
    def refill(self) -> None:
        """The table from the window's copy of the book: all (by name), or what the search finds."""
        typed = self.search_edit.text().strip()
        directory = self._directory
        self._contacts = directory.match(typed, SHOWN) if typed else directory.all_contacts()[:SHOWN]
        fill_table(
            self.table,
            [
                [
                    c.name,
                    phone.display_number(c.number, self._region),
                    ", ".join(f"{k}={v}" for k, v in c.fields.items()),
                ]
                for c in self._contacts
            ],
        )
        self.shown.emit()

    def numbers(self) -> list[str]:
        return [c.number for c in self._contacts]

    def _selected(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._contacts[r].number for r in rows if r < len(self._contacts)]

    @Slot()
    def ask_to_add(self) -> None:
        typed = self._feedback.ask_text(
            "Add a contact", "Number (any format):", required="No number was given; nothing changed."
        )
        if typed is None:
            return
        number = phone.parse_number(typed, self._region)
        if not number.ok or not number.e164:
            self._feedback.warn(
                f"“{typed}” is not a phone number ({number.error or 'not a phone number'}); nothing changed.",
                Duration.MOMENT,
            )
            return
        self._actions.edit_contact(number.e164)

    @Slot()
    def rename_selected(self) -> None:
        for number in self._selected()[:1]:
            self._actions.edit_contact(number)

    @Slot()
    def remove_selected(self) -> None:
        numbers = self._selected()
        if not numbers:
            self._feedback.notify("Select the contacts to remove first.", Duration.MOMENT)
            return
        names = ", ".join(self._directory.name_of(n) or n for n in numbers)
        if not self._feedback.confirm("Remove contacts?", f"Forget the names of {names}?", "Remove"):
            return
        for number in numbers:
            self._directory.run(
                functools.partial(_forget, number),
                lambda _gone: self._directory.reload_contacts(),
                self._report,
                description="remove a contact",
                owner=self,
            )

    # -- files ----------------------------------------------------------------------------------------------

    def _import_job(self, path: str) -> Callable[[DirectoryStore], ImportReport]:
        return functools.partial(import_contacts, path, self._region)

    def _export_job(self, path: str) -> Callable[[ContactBook], int]:
        return functools.partial(export_contacts, path)

    def _after_import(self) -> None:
        self._directory.reload_contacts()
