"""Tools → Do-not-text list: the list (number, why, since, by whom, note) with a search, adding and removing
(with a required reason), the list's history of changes, and CSV import and export (core's rules: line-numbered
problems, formula-safe cells). Every store call runs on a worker (docs/design.md §17.2, §17.5)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core import phone
from bwdesk.core.directory.optout import OptOut, OptOutEvent, local_time
from bwdesk.core.directory.store import DirectoryStore, OptOutList
from bwdesk.ui.directory.actions import DirectoryActions
from bwdesk.ui.directory.checker import WindowDirectory
from bwdesk.ui.directory.list_dialog import CsvFilesDialog, ImportReport, fill_table, report_box, table
from bwdesk.ui.feedback import Duration, Feedback

#: Entries shown at once; a search narrows a longer list.
SHOWN = 1000
#: Changes shown in the list's history.
HISTORY_SHOWN = 500
SEARCH_DELAY_MS = 250
_REASONS = {
    "opted-out": "opted out",
    "blocklisted": "blocklisted",
    "by-hand": "added by hand",
    "imported": "imported",
}


@dataclass(frozen=True)
class ListPage:
    entries: list[OptOut]
    events: list[OptOutEvent]


def read_page(digits: str, store: DirectoryStore) -> ListPage:
    return ListPage(store.opt_outs(limit=SHOWN, digits=digits), store.opt_out_history(limit=HISTORY_SHOWN))


def import_csv(path: str, region: str, store: DirectoryStore) -> ImportReport:
    """On a worker: core reads the file and says what is wrong line by line; the good lines are added."""
    from bwdesk.core.directory.csvio import opt_outs_from_csv, read_csv

    table = read_csv(path, Path(path).name)
    entries, problems = opt_outs_from_csv(table, region)
    added = store.add_opt_outs(entries) if entries else 0
    return ImportReport(added, len(entries), [str(p) for p in problems], list(table.notes))


def _every_entry(store: OptOutList) -> Iterator[OptOut]:
    after: str | None = None
    while page := store.opt_outs(after=after, limit=5000):
        yield from page
        after = page[-1].number


def export_csv(path: str, store: DirectoryStore) -> int:
    """On a worker: the whole list, formula-safe (core's writer, the history export's rules)."""
    from bwdesk.core.directory.csvio import OPT_OUT_COLUMNS, opt_out_row, write_csv

    try:
        return write_csv(path, OPT_OUT_COLUMNS, (opt_out_row(e) for e in _every_entry(store)))
    except OSError as exc:
        from bwdesk.core.errors import BwdeskError

        raise BwdeskError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None


class OptOutDialog(CsvFilesDialog):
    """The do-not-text list. `loaded()` fires each time the list and its history are shown afresh;
    `reported(str)` when an import or an export is over (what it said)."""

    loaded = Signal()
    FILES = "the do-not-text list"
    FILE_NAME = "do-not-text.csv"
    UNITS = ("number", "numbers")

    def __init__(
        self,
        directory: WindowDirectory,
        actions: DirectoryActions,
        feedback: Feedback,
        region: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Do-not-text list")
        self.resize(820, 560)
        self._directory = directory
        self._actions = actions
        self._feedback = feedback
        self._region = region or phone.default_region()
        self._entries: list[OptOut] = []

        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search numbers (digits)…")
        self.search_edit.setAccessibleName("Search the do-not-text list")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.reload)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())

        self.table = table(self, ["Number", "Reason", "Since", "By", "Note"], "Numbers not to be texted")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.count_label = QLabel(self)
        self.history_table = table(self, ["When", "Number", "Change", "Why", "By"], "Changes to the list")
        self.report = report_box(self)

        self.add_button = QPushButton("&Add…", self)
        self.remove_button = QPushButton("&Remove…", self)
        self.import_button = QPushButton("&Import CSV…", self)
        self.export_button = QPushButton("&Export CSV…", self)
        self.add_button.setToolTip("Put a number on the list (messages to it are refused)")
        self.remove_button.setToolTip(
            "Take the selected numbers off the list (a reason is required and kept)"
        )
        self.add_button.clicked.connect(self.ask_to_add)
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button.clicked.connect(self._choose_import)
        self.export_button.clicked.connect(self._choose_export)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)

        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.import_button, self.export_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.count_label)
        layout.addLayout(buttons)
        layout.addWidget(self.report)
        history_label = QLabel("&Changes (newest first; removals keep their reason)", self)
        history_label.setBuddy(self.history_table)
        layout.addWidget(history_label)
        layout.addWidget(self.history_table, 2)
        layout.addWidget(close)

        directory.list_changed.connect(self._list_changed)

    # -- reading -----------------------------------------------------------------------------------------

    @Slot()
    def reload(self) -> None:
        digits = re.sub(r"\D", "", self.search_edit.text())
        self._directory.run(
            functools.partial(read_page, digits),
            self._page_read,
            self._say,
            description="read the do-not-text list",
            owner=self,
        )

    def _list_changed(self) -> None:
        if self.isVisible():
            self.reload()

    def _page_read(self, page: ListPage) -> None:
        self._entries = page.entries
        fill_table(
            self.table,
            [
                [
                    phone.display_number(e.number, self._region),
                    _REASONS.get(e.reason.value, e.reason.value) + (f" ({e.code})" if e.code else ""),
                    local_time(e.since),
                    e.by,
                    e.note,
                ]
                for e in page.entries
            ],
        )
        for row, entry in enumerate(page.entries):
            item = self.table.item(row, 0)
            if item is not None:
                item.setToolTip(f"{entry.number}: {entry.describe()}")
        shown = len(page.entries)
        more = " (the first ones; search to narrow)" if shown >= SHOWN else ""
        self.count_label.setText(f"{shown} number{'s' if shown != 1 else ''} shown{more}.")
        fill_table(
            self.history_table,
            [
                [
                    local_time(e.at),
                    phone.display_number(e.number, self._region),
                    e.action.value,
                    e.note
                    if e.action.value == "removed"
                    else _REASONS.get(e.reason.value if e.reason else "", ""),
                    e.by,
                ]
                for e in page.events
            ],
        )
        self.loaded.emit()

    # -- changing ------------------------------------------------------------------------------------------

    def numbers(self) -> list[str]:
        """The numbers shown (E.164), in order."""
        return [e.number for e in self._entries]

    def select_numbers(self, numbers: list[str]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, entry in enumerate(self._entries):
            if entry.number in numbers:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def selected_numbers(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._entries[r].number for r in rows if r < len(self._entries)]

    @Slot()
    def ask_to_add(self) -> None:
        typed = self._feedback.ask_text(
            "Add to the do-not-text list",
            "Number (any format):",
            required="No number was given; nothing changed.",
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
        self._actions.add_to_list([number.e164])

    @Slot()
    def remove_selected(self) -> None:
        numbers = self.selected_numbers()
        if not numbers:
            self._feedback.notify("Select the numbers to take off the list first.", Duration.MOMENT)
            return
        self._actions.remove_from_list(numbers)

    # -- files ----------------------------------------------------------------------------------------------

    def _import_job(self, path: str) -> Callable[[DirectoryStore], ImportReport]:
        return functools.partial(import_csv, path, self._region)

    def _export_job(self, path: str) -> Callable[[DirectoryStore], int]:
        return functools.partial(export_csv, path)

    def _after_import(self) -> None:
        self._directory.changed()

    def _say(self, text: str) -> None:
        self.count_label.setText(text)

    def keyPressEvent(self, event: object) -> None:  # Escape closes; Enter must not (it would in a QDialog)
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]
