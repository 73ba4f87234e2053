"""A bare PySide6 window holding the same kinds of widgets as bwdesk's main window — and nothing else.

The start-up benchmark compares bwdesk against this: one of each kind of widget bwdesk shows, configured
the ordinary way (labels with buddies, tooltips and accessible names, alignment and size policies, a
table with a model, a syntax highlighter, menus with shortcuts), but no bwdesk code, no phone numbers,
no history. Its focus starts in its To field, as bwdesk's does. The difference is what bwdesk's own code costs
at start-up.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QAction, QKeySequence, QStandardItemModel, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class _Marks(QSyntaxHighlighter):
    def highlightBlock(self, text: str) -> None:
        marked = QTextCharFormat()
        marked.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        for index, char in enumerate(text):
            if ord(char) > 127:
                self.setFormat(index, 1, marked)


def _named(widget: QWidget, name: str) -> QWidget:
    widget.setAccessibleName(name)
    widget.setToolTip(name)
    return widget


def build_window() -> QMainWindow:
    window = QMainWindow()
    window.setWindowTitle("bare")
    composer = QWidget()
    form = QFormLayout(composer)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

    sender = QComboBox()
    sender.setEditable(True)
    sender.addItem("(919) 555-0100 · Support", "+19195550100")
    form.addRow("&From", _named(sender, "From"))

    chips = QScrollArea()
    chips.setWidgetResizable(True)
    chips.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    recipients = QLineEdit()
    recipients.setObjectName("recipients")  # where the start-up benchmark types
    recipients.setPlaceholderText("Type or paste numbers…")
    recipients.setCompleter(QCompleter(["+19195550123"]))
    chips.setWidget(recipients)
    chips.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    form.addRow("&To", _named(chips, "Recipients"))

    modes = QWidget()
    row = QHBoxLayout(modes)
    row.addWidget(_named(QRadioButton("Separate messages"), "Separate"))
    row.addWidget(_named(QRadioButton("Group MMS"), "Group"))
    form.addRow("", modes)

    text = QPlainTextEdit()
    text.setTabChangesFocus(True)
    _Marks(text.document())
    form.addRow("Te&xt", _named(text, "Message text"))
    counter = QLabel("0 / 2048")
    counter.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    counter.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    form.addRow("", counter)

    media = QListWidget()
    media.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
    form.addRow("&Media", _named(media, "Media"))
    media_row = QWidget()
    media_layout = QHBoxLayout(media_row)
    media_layout.addWidget(_named(QLineEdit(), "Media link"))
    media_layout.addWidget(_named(QPushButton("+ Add URL"), "Add"))
    media_layout.addWidget(_named(QPushButton("Attach file…"), "Attach"))
    busy = QProgressBar()
    busy.setRange(0, 0)
    busy.hide()
    media_layout.addWidget(busy)
    form.addRow("", media_row)

    tag = QLineEdit()
    tag.setClearButtonEnabled(True)
    form.addRow("T&ag", _named(tag, "Tag"))

    advanced = QToolButton()
    advanced.setArrowType(Qt.ArrowType.RightArrow)
    advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    advanced.setText("Advanced")
    extra = QWidget()
    extra_row = QHBoxLayout(extra)
    extra_row.addWidget(_named(QComboBox(), "Priority"))
    extra_row.addWidget(_named(QCheckBox("Expire"), "Expire"))
    expiry = QDateTimeEdit(QDateTime.currentDateTime())
    expiry.setCalendarPopup(True)
    extra_row.addWidget(expiry)
    extra.hide()
    form.addRow("", advanced)
    form.addRow("", extra)

    bottom = QHBoxLayout()
    bottom.addWidget(QLabel("Ready"), 1)
    progress = QProgressBar()
    progress.hide()
    bottom.addWidget(progress)
    bottom.addWidget(_named(QPushButton("Send  Ctrl+↵"), "Send"))
    form.addRow(bottom)

    history = QWidget()
    history_layout = QVBoxLayout(history)
    tools = QHBoxLayout()
    tools.addWidget(_named(QLineEdit(), "Search"))
    tools.addWidget(_named(QComboBox(), "State"))
    for name in ("Copy message ID", "Refresh status", "Use as new draft", "Send again", "Export CSV"):
        tools.addWidget(_named(QPushButton(name), name))
    history_layout.addLayout(tools)
    table = QTableView()
    model = QStandardItemModel(0, 9, table)
    model.setHorizontalHeaderLabels(
        ["Time", "From", "To", "Text", "Media", "Tag", "Status", "Segments", "Id"]
    )
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().hide()
    history_layout.addWidget(table)

    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(composer)
    splitter = QSplitter(Qt.Orientation.Vertical)
    splitter.addWidget(scroll)
    splitter.addWidget(history)
    window.setCentralWidget(splitter)

    file_menu = window.menuBar().addMenu("&File")
    for name, keys in (("New message", "Ctrl+N"), ("Send", "Ctrl+Return"), ("Quit", "Ctrl+Q")):
        action = QAction(name, window)
        action.setShortcut(QKeySequence(keys))
        file_menu.addAction(action)
    window.menuBar().addMenu("&History")
    window.menuBar().addMenu("&Help")
    window.statusBar().addPermanentWidget(QLabel("Account"))
    window.resize(900, 860)
    recipients.setFocus()  # typeable at once, in its To field, as bwdesk's window is
    return window
