"""Small composer fields: the tag (with its own counter and cap) and the From picker; both take their rules
from core (`sms_text` lengths, `message.validate`), so a field says what the Send button would."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QDropEvent,
    QGuiApplication,
    QInputMethodEvent,
    QKeyEvent,
    QKeySequence,
    QValidator,
)
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from bwdesk.core.message import MAX_TAG_LENGTH, Draft, Problem, validate
from bwdesk.core.phone import display_number
from bwdesk.core.sms_text import text_length, truncate_to_limit
from bwdesk.ui.style import border_css, level_css, severity_tone

E164_ROLE = Qt.ItemDataRole.UserRole


class _CapValidator(QValidator):
    """Refuses any edit that would go past the cap (typing at the cap inserts nothing, whatever the path)."""

    def __init__(self, max_length: int, parent: QLineEdit) -> None:
        super().__init__(parent)
        self.max_length = max_length

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        if text_length(text) > self.max_length:
            return QValidator.State.Invalid, text, pos
        return QValidator.State.Acceptable, text, pos


class CappedLineEdit(QLineEdit):
    """A line edit capped at `max_length` (core's `text_length`); a paste or drop is cut to fit.

    `truncated(int)` says how much of a paste or drop was cut, in the counter's units.
    """

    truncated = Signal(int)

    def __init__(self, max_length: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._max_length = max_length
        self.setValidator(_CapValidator(max_length, self))

    @property
    def max_length(self) -> int:
        return self._max_length

    def set_capped_text(self, text: str) -> None:
        """`setText` cut to the cap (a validator doesn't stop `setText`)."""
        text = _one_line(text)
        fit = truncate_to_limit(text, self._max_length)
        self.setText(fit)
        if fit != text:
            self.truncated.emit(text_length(text) - text_length(fit))

    def insert_fitting(self, text: str) -> None:
        """Insert `text` in place of the selection, cut so the result fits; one undo step."""
        text = _one_line(text)
        whole = self.text()
        start, end = self._selection_range(whole)
        before, after = whole[:start], whole[end:]
        fit = text
        if text_length(before + text + after) > self._max_length:
            budget = self._max_length - text_length(before + after)
            fit = truncate_to_limit(text, budget) if budget > 0 else ""
            while fit and text_length(before + fit + after) > self._max_length:
                fit = truncate_to_limit(fit, text_length(fit) - 1)
        if fit:
            self.insert(fit)
        if fit != text:
            self.truncated.emit(text_length(text) - text_length(fit))

    def paste_fitting(self) -> None:
        if not self.isReadOnly():
            self.insert_fitting(QGuiApplication.clipboard().text())

    def _selection_range(self, whole: str) -> tuple[int, int]:
        """The selection (or the cursor) as Python string indices (Qt counts UTF-16 units)."""
        if self.hasSelectedText():
            start = self.selectionStart()
            end = start + self.selectionLength()
        else:
            start = end = self.cursorPosition()
        return _py_index(whole, start), _py_index(whole, end)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            self.paste_fitting()
            event.accept()
            return
        super().keyPressEvent(event)

    def inputMethodEvent(self, event: QInputMethodEvent) -> None:
        commit = event.commitString()
        if commit and not self.isReadOnly():
            whole = self.text()
            start, end = self._selection_range(whole)
            if text_length(whole[:start] + commit + whole[end:]) > self._max_length:
                self.insert_fitting(commit)
                event.setCommitString("")
        super().inputMethodEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        mime: QMimeData = event.mimeData()
        if self.isReadOnly() or not mime.hasText():
            super().dropEvent(event)
            return
        self.setCursorPosition(self.cursorPositionAt(event.position().toPoint()))
        self.insert_fitting(mime.text())
        event.acceptProposedAction()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.createStandardContextMenu()
        for action in menu.actions():
            if action.objectName() == "edit-paste":
                action.triggered.disconnect()
                action.triggered.connect(self.paste_fitting)
        menu.exec(event.globalPos())
        menu.deleteLater()


class TagEdit(QWidget):
    """The tag field and its `n / 1024` counter. A paste past the cap is cut and the counter says so.

    Signals: `tag_changed(str)` on every change; `truncated(int)` when a paste was cut.
    """

    tag_changed = Signal(str)
    truncated = Signal(int)

    NEAR_FRACTION = 0.9

    def __init__(self, parent: QWidget | None = None, *, max_length: int = MAX_TAG_LENGTH) -> None:
        super().__init__(parent)
        self._max_length = max_length
        self._cut = 0

        self._edit = CappedLineEdit(max_length, self)
        self._edit.setObjectName("tagEdit")
        self._edit.setAccessibleName("Tag")
        self._edit.setPlaceholderText("Optional, e.g. a ticket number")
        self._edit.setToolTip(
            f"An optional label stored with the message and echoed in Bandwidth's delivery callbacks "
            f"(at most {max_length} characters), e.g. a ticket number. It is not sent to the recipient."
        )
        self._edit.setClearButtonEnabled(True)
        self._edit.textChanged.connect(self._on_text_changed)
        self._edit.truncated.connect(self._on_truncated)

        self._counter = QLabel(self)
        self._counter.setObjectName("tagCounter")
        self._counter.setAccessibleName("Tag length")
        self._counter.setToolTip(f"Characters in the tag; at most {max_length}")
        self._counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._edit, 1)
        layout.addWidget(self._counter)
        self.setFocusProxy(self._edit)
        self._render()

    def tag(self) -> str:
        return self._edit.text()

    def set_tag(self, text: str) -> None:
        """Set the tag (e.g. a restored draft), cut to the cap."""
        self._edit.set_capped_text(text)

    def set_read_only(self, read_only: bool) -> None:
        self._edit.setReadOnly(read_only)

    def tab_stops(self) -> list[QWidget]:
        return [self._edit]

    def line_edit(self) -> CappedLineEdit:
        return self._edit

    def counter_text(self) -> str:
        return self._counter.text()

    def level(self) -> str:
        """`ok`, `near` (from 90 % of the cap) or `full`."""
        return str(self._counter.property("level"))

    def _on_text_changed(self, text: str) -> None:
        self._cut = 0
        self._render()
        self.tag_changed.emit(text)

    def _on_truncated(self, removed: int) -> None:
        self._cut = removed
        self._render()
        self.truncated.emit(removed)

    def _render(self) -> None:
        length = text_length(self._edit.text())
        text = f"{length} / {self._max_length}"
        if self._cut:
            text += f" · {self._cut} cut"
            self._counter.setToolTip(
                f"The pasted text was too long: the last {self._cut} character"
                f"{'s' if self._cut != 1 else ''} didn't fit (at most {self._max_length})."
            )
        else:
            self._counter.setToolTip(f"Characters in the tag; at most {self._max_length}")
        self._counter.setText(text)
        if length >= self._max_length:
            level = "full"
        elif length >= self.NEAR_FRACTION * self._max_length:
            level = "near"
        else:
            level = "ok"
        if self._counter.property("level") != level:
            self._counter.setProperty("level", level)
            self._counter.setStyleSheet(level_css(level, self._counter.palette()))


class FromPicker(QComboBox):
    """The From field: the configured numbers, or a typed alphanumeric sender ID.

    Items show `(919) 555-0100 · Support line` and hold the E.164 number. `sender()` (which shadows
    `QObject.sender()`, as agreed for the composer) gives what goes in `from`. `sender_changed(str)` follows it.
    A typed sender that core rejects is outlined, with core's reason as tooltip (`problem()`).
    """

    sender_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, region: str | None = None) -> None:
        super().__init__(parent)
        self._region = region
        self._problem: Problem | None = None
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(24)
        self.setAccessibleName("From")
        line = self.lineEdit()
        assert line is not None  # editable
        self._line = line
        line.setPlaceholderText("Your Bandwidth number, or a sender ID")
        line.setAccessibleName("From")
        self.currentTextChanged.connect(self._on_changed)
        self._on_changed(self.currentText())

    def set_numbers(self, numbers: Sequence[tuple[str, str]], default: str | None = None) -> None:
        """The configured numbers as (E.164, label); `default` (a listed E.164, or a sender ID) is selected."""
        self.blockSignals(True)
        try:
            self.clear()
            for e164, label in numbers:
                shown = display_number(e164, self._region)
                self.addItem(f"{shown} · {label}" if label else shown, e164)
                self.setItemData(
                    self.count() - 1, f"{e164}{f' — {label}' if label else ''}", Qt.ItemDataRole.ToolTipRole
                )
            index = self.findData(default) if default else (0 if numbers else -1)
            if index >= 0:
                self.setCurrentIndex(index)
            else:
                self.setCurrentIndex(-1)
                self.setEditText(default or "")
        finally:
            self.blockSignals(False)
        self._on_changed(self.currentText())

    def numbers(self) -> list[str]:
        return [str(self.itemData(i)) for i in range(self.count())]

    def sender(self) -> str:  # type: ignore[override]
        """The `from` value: the E.164 of a listed number, else the typed text without surrounding spaces."""
        text = self.currentText()
        index = self.findText(text, Qt.MatchFlag.MatchExactly)
        if index >= 0:
            return str(self.itemData(index))
        return text.strip()

    def set_sender(self, sender: str) -> None:
        """Select a listed number by E.164, or type `sender` as a sender ID."""
        index = self.findData(sender)
        if index >= 0:
            self.setCurrentIndex(index)
        else:
            self.setEditText(sender)

    def problem(self) -> str:
        """Why the typed sender can't be used ("" when it can, or when nothing is typed yet)."""
        return self._problem.message if self._problem is not None else ""

    def problem_severity(self) -> str:
        """`error`, `warning` or ""."""
        return self._problem.severity if self._problem is not None else ""

    def set_read_only(self, read_only: bool) -> None:
        self.setEnabled(not read_only)

    def _on_changed(self, _text: str) -> None:
        sender = self.sender()
        self._problem = None
        if sender:
            draft = Draft(sender=sender, recipients=(), region=self._region)
            problems = [p for p in validate(draft) if p.field == "from"]
            problems.sort(key=lambda p: p.severity != "error")
            self._problem = problems[0] if problems else None
        line = self._line
        if self._problem is not None:
            line.setStyleSheet(border_css(severity_tone(self._problem.severity), line.palette()))
            line.setProperty("invalid", self._problem.severity == "error")
            tip = (
                f"Can't send from this: {self._problem.message}"
                if self._problem.severity == "error"
                else (f"Check this: {self._problem.message}")
            )
        else:
            line.setStyleSheet("")
            line.setProperty("invalid", False)
            tip = (
                "The number the message is sent from (one of your Bandwidth numbers), or an alphanumeric "
                "sender ID (up to 11 letters, digits and spaces) where carriers allow one."
            )
        self.setToolTip(tip)
        line.setToolTip(tip)
        self.sender_changed.emit(sender)


def _one_line(text: str) -> str:
    """A tag is one line: line breaks become spaces (a paste from a ticket often ends with one)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").replace("\n", " ")


def _py_index(text: str, utf16_pos: int) -> int:
    """The Python index of a UTF-16 position in `text`."""
    data = text.encode("utf-16-le", "surrogatepass")[: 2 * utf16_pos]
    return len(data.decode("utf-16-le", "surrogatepass"))
