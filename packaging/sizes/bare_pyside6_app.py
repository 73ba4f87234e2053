"""A bare PySide6 app: the yardstick for bwdesk's frozen size (same spec options, none of bwdesk).

A main window with the everyday widgets; `--quit-after-show` closes it as soon as it is on screen.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("bare PySide6 app")
        central = QWidget(self)
        layout = QVBoxLayout(central)
        row = QHBoxLayout()
        self.search = QLineEdit(placeholderText="Search…")
        self.button = QPushButton("Go")
        row.addWidget(self.search)
        row.addWidget(self.button)
        layout.addLayout(row)
        self.model = QStandardItemModel(0, 2, self)
        self.model.setHorizontalHeaderLabels(["Name", "Value"])
        for name, value in (("one", "1"), ("two", "2")):
            self.model.appendRow([QStandardItem(name), QStandardItem(value)])
        self.table = QTableView()
        self.table.setModel(self.model)
        layout.addWidget(self.table)
        self.notes = QPlainTextEdit(placeholderText="Notes")
        layout.addWidget(self.notes)
        self.setCentralWidget(central)
        self.button.clicked.connect(lambda: self.notes.appendPlainText(self.search.text()))


def main(argv: list[str]) -> int:
    app = QApplication(argv)
    window = MainWindow()
    window.show()
    if "--quit-after-show" in argv:
        QTimer.singleShot(0, app.quit)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
