"""What the list dialogs (the do-not-text list, contacts) share: their table and report box, and CSV import and
export run on a worker, with what they did said in the report box (docs/design.md §17.8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PySide6 import QtWidgets
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from bwdesk.ui.directory.checker import WindowDirectory


@dataclass
class ImportReport:
    """What an import did, in words: how many were added, and each line that could not be used."""

    added: int = 0
    read: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    done: str = "new on the list"  # what `added` counts

    def text(self) -> str:
        lines = [f"Imported {self.read} number{'s' if self.read != 1 else ''}: {self.added} {self.done}."]
        lines += self.notes
        if self.problems:
            lines.append(f"{len(self.problems)} line{'s' if len(self.problems) != 1 else ''} not imported:")
            lines += self.problems
        return "\n".join(lines)


def table(parent: QWidget, headings: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headings), parent)
    table.setHorizontalHeaderLabels(headings)
    table.setAccessibleName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setTabKeyNavigation(False)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def report_box(parent: QWidget) -> QPlainTextEdit:
    """Where an import or an export says what it did (hidden until then)."""
    box = QPlainTextEdit(parent)
    box.setReadOnly(True)
    box.setAccessibleName("Import and export report")
    box.setMaximumHeight(90)
    box.hide()
    return box


def fill_table(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)


class CsvFilesDialog(QDialog):
    """A list dialog's CSV files: Import… and Export… run on a worker through the window's directory, and the
    report box says what they did; `reported(str)` then. Each dialog names its files and gives the jobs."""

    reported = Signal(str)
    FILES: ClassVar[str]  # what the files hold, in words: "contacts", "the do-not-text list"
    FILE_NAME: ClassVar[str]  # the export's suggested name
    UNITS: ClassVar[tuple[str, str]]  # what an export counts: ("contact", "contacts")

    _directory: WindowDirectory
    _region: str
    report: QPlainTextEdit

    def _import_job(self, path: str) -> Callable[[Any], ImportReport]:
        raise NotImplementedError

    def _export_job(self, path: str) -> Callable[[Any], int]:
        raise NotImplementedError

    def _after_import(self) -> None:
        """Something was added: show the list afresh."""
        raise NotImplementedError

    def import_file(self, path: str) -> None:
        self._directory.run(
            self._import_job(path),
            self._imported,
            self._report,
            description=f"import {self.FILES}",
            owner=self,
        )

    def export_file(self, path: str) -> None:
        one, many = self.UNITS
        self._directory.run(
            self._export_job(path),
            lambda count: self._report(f"Wrote {count} {one if count == 1 else many} to {path}."),
            self._report,
            description=f"export {self.FILES}",
            owner=self,
        )

    def _imported(self, report: ImportReport) -> None:
        self._report(report.text())
        if report.added:
            self._after_import()

    def _report(self, text: str) -> None:
        self.report.setPlainText(text)
        self.report.show()
        self.reported.emit(text)

    def _choose_import(self) -> None:
        path, _filter = QtWidgets.QFileDialog.getOpenFileName(
            self, f"Import {self.FILES}", "", "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.import_file(path)

    def _choose_export(self) -> None:
        path, _filter = QtWidgets.QFileDialog.getSaveFileName(
            self, f"Export {self.FILES}", self.FILE_NAME, "CSV files (*.csv)"
        )
        if path:
            self.export_file(path)


__all__ = ["CsvFilesDialog", "ImportReport", "fill_table", "report_box", "table"]
