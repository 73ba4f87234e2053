"""Recipient chips: a list model holding the parsed numbers, and the chip widget that is only its view, with the
keyboard and paste behaviour of docs/design.md §8.4."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QEvent,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFocusEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPaintEvent,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from bwdesk.core import phone
from bwdesk.core.phone import ParsedNumber
from bwdesk.ui.flow_layout import FlowLayout
from bwdesk.ui.style import Tone, mix, tone_colour

_ModelIndex = QModelIndex | QPersistentModelIndex

# Characters that end a typed number: a list separator in a paste means "many numbers" too.
_COMMIT_KEYS = {",", ";"}
_LIST_CHARACTERS = re.compile(r"[,;\n\r\t]|[^\W\d_]")  # separators or any letter (free text, a signature)
_NON_DIGITS = re.compile(r"\D+")
_LETTER = re.compile(r"[^\W\d_]")
_MODIFIER_KEYS = {
    Qt.Key.Key_Control,
    Qt.Key.Key_Shift,
    Qt.Key.Key_Alt,
    Qt.Key.Key_AltGr,
    Qt.Key.Key_Meta,
    Qt.Key.Key_Super_L,
    Qt.Key.Key_Super_R,
}
MIN_COMPLETION_DIGITS = 3
PLACEHOLDER = "Type or paste numbers…"
_COMPLETION_KEY_ROLE = int(Qt.ItemDataRole.UserRole) + 101
_COMPLETION_E164_ROLE = int(Qt.ItemDataRole.UserRole) + 102


#: What a chip says instead of a mark's colour alone when its number is on the do-not-text list.
OPTED_OUT_TEXT = "⊘ opted out"


@dataclass(frozen=True)
class RecipientNote:
    """What the window knows about a number besides its form: the contact's name, and why it may not be
    texted (the do-not-text list's words; "" when it may)."""

    name: str = ""
    opted_out: str = ""


def _key(number: ParsedNumber) -> str:
    """Identity for de-duplication: the E.164 form, or the raw text when there is none."""
    return number.e164 if number.e164 else "raw:" + number.raw.strip()


# --- the model ---------------------------------------------------------------------------------------


class RecipientModel(QAbstractListModel):
    """The recipients in the order entered, one `ParsedNumber` per row, duplicates collapsed by E.164."""

    E164Role = int(Qt.ItemDataRole.UserRole) + 1
    ValidRole = int(Qt.ItemDataRole.UserRole) + 2
    WarningRole = int(Qt.ItemDataRole.UserRole) + 3
    ErrorRole = int(Qt.ItemDataRole.UserRole) + 4
    NumberRole = int(Qt.ItemDataRole.UserRole) + 5  # the ParsedNumber itself
    OptedOutRole = int(Qt.ItemDataRole.UserRole) + 6  # why it is on the do-not-text list ("" when not)

    def __init__(self, parent: QObject | None = None, *, region: str | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ParsedNumber] = []
        self._region = region or phone.default_region()
        self._notes: dict[str, RecipientNote] = {}  # by E.164: names and the do-not-text list

    # --- Qt model protocol ------------------------------------------------------------------------

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or index.column() != 0:
            return None
        number = self._rows[index.row()]
        note = self.note(number)
        role = int(role)
        if role == Qt.ItemDataRole.DisplayRole:
            return note.name or number.display or number.raw
        if role == Qt.ItemDataRole.EditRole:
            return number.raw
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleDescriptionRole):
            return self.describe(number, note)
        if role == self.OptedOutRole:
            return note.opted_out
        if role == self.E164Role:
            return number.e164
        if role == self.ValidRole:
            return number.ok
        if role == self.WarningRole:
            return number.warning
        if role == self.ErrorRole:
            return number.error
        if role == self.NumberRole:
            return number
        return None

    def flags(self, index: _ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEditable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def setData(self, index: _ModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Edit one row in place (a view's editor): one number only, and not a duplicate of another row."""
        if not index.isValid() or int(role) != Qt.ItemDataRole.EditRole or not isinstance(value, str):
            return False
        if not value.strip():
            return False
        number = phone.parse_number(value.strip(), self._region)
        row = index.row()
        if any(_key(other) == _key(number) for i, other in enumerate(self._rows) if i != row):
            return False
        self._rows[row] = number
        self.dataChanged.emit(index, index)
        return True

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names[self.E164Role] = QByteArray(b"e164")
        names[self.ValidRole] = QByteArray(b"valid")
        names[self.WarningRole] = QByteArray(b"warning")
        names[self.ErrorRole] = QByteArray(b"error")
        names[self.NumberRole] = QByteArray(b"number")
        return names

    # --- what the composer uses -------------------------------------------------------------------

    @staticmethod
    def describe(number: ParsedNumber, note: RecipientNote | None = None) -> str:
        """The tooltip: why a number cannot be used, or may not be texted, or its warning, or the E.164 form
        it is sent to (after the contact's name, when it has one)."""
        if not number.ok:
            reason = number.error or "not a phone number"
            return f"Cannot send to “{number.raw.strip()}” — {reason}"
        who = f"{note.name}: {number.display or number.e164} ({number.e164})" if note and note.name else ""
        if note and note.opted_out:
            return f"{who or number.e164} is on the do-not-text list — {note.opted_out}"
        if number.warning:
            return f"{who or number.e164} — {number.warning}"
        return f"{who} — sends to {number.e164}" if who else f"Sends to {number.e164}"

    def note(self, number: ParsedNumber) -> RecipientNote:
        return self._notes.get(number.e164, _NO_NOTE) if number.e164 else _NO_NOTE

    def set_notes(self, notes: Mapping[str, RecipientNote]) -> None:
        """Names and do-not-text entries by E.164 (the window's directory); only chips that change are redrawn."""
        old, self._notes = self._notes, {k: v for k, v in notes.items() if v != _NO_NOTE}
        for row, number in enumerate(self._rows):
            if number.e164 and old.get(number.e164, _NO_NOTE) != self._notes.get(number.e164, _NO_NOTE):
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def opted_out_numbers(self) -> list[str]:
        """The recipients (E.164, in order) known to be on the do-not-text list."""
        return [n.e164 for n in self._rows if n.e164 and self.note(n).opted_out]

    def region(self) -> str:
        return self._region

    def numbers(self) -> list[ParsedNumber]:
        return list(self._rows)

    def raw_inputs(self) -> list[str]:
        """What goes into `Draft.recipients`: E.164 for usable numbers, the text as typed for the others."""
        return [n.e164 if n.ok and n.e164 else n.raw for n in self._rows]

    def valid_count(self) -> int:
        return sum(1 for n in self._rows if n.ok)

    def invalid_count(self) -> int:
        return sum(1 for n in self._rows if not n.ok)

    def parse_text(self, text: str) -> list[ParsedNumber]:
        """Typed text as entries (core's `parse_entries`): every piece becomes a number or a marked entry."""
        return phone.parse_entries(text, self._region)

    def add_text(self, text: str, row: int | None = None) -> int:
        """Add one row per number found in `text` (at `row`, default the end); returns how many were new."""
        return self.insert_numbers(len(self._rows) if row is None else row, self.parse_text(text))

    def insert_numbers(self, row: int, numbers: Iterable[ParsedNumber]) -> int:
        """Insert already-parsed numbers at `row`, skipping any already present; returns how many."""
        fresh = self._fresh(numbers, self._rows)
        if not fresh:
            return 0
        row = max(0, min(row, len(self._rows)))
        self.beginInsertRows(QModelIndex(), row, row + len(fresh) - 1)
        self._rows[row:row] = fresh
        self.endInsertRows()
        return len(fresh)

    def replace(self, row: int, text: str) -> int:
        """Replace row `row` by the number(s) in `text` (editing a chip). Returns how many rows it became:
        0 when the text is empty or only repeats numbers already present (the row is then removed)."""
        if not 0 <= row < len(self._rows):
            raise IndexError(f"no recipient at row {row}")
        others = self._rows[:row] + self._rows[row + 1 :]
        fresh = self._fresh(self.parse_text(text), others)
        if not fresh:
            self.remove(row)
            return 0
        if fresh[0] != self._rows[row]:
            self._rows[row] = fresh[0]
            index = self.index(row)
            self.dataChanged.emit(index, index)
        if len(fresh) > 1:
            self.beginInsertRows(QModelIndex(), row + 1, row + len(fresh) - 1)
            self._rows[row + 1 : row + 1] = fresh[1:]
            self.endInsertRows()
        return len(fresh)

    def remove(self, row: int) -> None:
        if not 0 <= row < len(self._rows):
            raise IndexError(f"no recipient at row {row}")
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()

    def clear(self) -> None:
        if not self._rows:
            return
        self.beginRemoveRows(QModelIndex(), 0, len(self._rows) - 1)
        self._rows.clear()
        self.endRemoveRows()

    def set_inputs(self, inputs: Sequence[str]) -> None:
        """Restore a saved draft: each entry as one recipient (E.164 or the text once typed)."""
        parsed = [phone.parse_number(text.strip(), self._region) for text in inputs if text.strip()]
        self.beginResetModel()
        self._rows = self._fresh(parsed, [])
        self.endResetModel()

    def set_region(self, region: str) -> None:
        """Parse every row's original text again for another default country (numbers may now merge)."""
        self._region = region
        for row, number in enumerate(self._rows):
            again = phone.parse_number(number.raw.strip(), region)
            if again != number:
                self._rows[row] = again
                index = self.index(row)
                self.dataChanged.emit(index, index)
        seen: set[str] = set()
        duplicates: list[int] = []
        for row, number in enumerate(self._rows):
            if _key(number) in seen:
                duplicates.append(row)
            seen.add(_key(number))
        for row in reversed(duplicates):
            self.remove(row)

    @staticmethod
    def _fresh(numbers: Iterable[ParsedNumber], existing: Sequence[ParsedNumber]) -> list[ParsedNumber]:
        seen = {_key(n) for n in existing}
        fresh: list[ParsedNumber] = []
        for number in numbers:
            key = _key(number)
            if key not in seen:
                seen.add(key)
                fresh.append(number)
        return fresh


_NO_NOTE = RecipientNote()


# --- one chip --------------------------------------------------------------------------------------


class RecipientChip(QFrame):
    """One recipient drawn as a rounded chip: the readable number, a mark when invalid/doubtful, and ×."""

    clicked = Signal(object)
    double_clicked = Signal(object)
    remove_requested = Signal(object)
    menu_requested = Signal(object, QPoint)  # the chip, where (global)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._selected = False
        self._valid = True
        self._warning: str | None = None
        self._opted_out = ""
        self._display = ""
        height = self.fontMetrics().height()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(max(6, height // 3), 1, 2, 1)
        layout.setSpacing(3)
        self.mark = QLabel(self)
        self.mark.setFixedSize(height - 2, height - 2)
        self.mark.hide()
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        # Said in words beside the name, never by the chip's look alone.
        self.opted_out_label = QLabel(OPTED_OUT_TEXT, self)
        self.opted_out_label.setTextFormat(Qt.TextFormat.PlainText)
        self.opted_out_label.hide()
        self.remove_button = QToolButton(self)
        self.remove_button.setText("×")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.remove_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.remove_button.setFixedSize(height, height)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        layout.addWidget(self.mark)
        layout.addWidget(self.label)
        layout.addWidget(self.opted_out_label)
        layout.addWidget(self.remove_button)

    def set_data(
        self, display: str, tooltip: str, valid: bool, warning: str | None, opted_out: str = ""
    ) -> None:
        self._display = display
        self._valid = valid
        self._warning = warning
        self._opted_out = opted_out if valid else ""
        self.label.setText(display)
        self.opted_out_label.setVisible(bool(self._opted_out))
        if valid:
            self.setToolTip(tooltip)
        else:
            self.setToolTip(f"{tooltip}\nDouble-click (or select it and press Enter) to edit.")
        self.setAccessibleDescription(tooltip)
        self.remove_button.setAccessibleName(f"Remove {display}")
        self.remove_button.setToolTip(f"Remove {display}")
        self.setProperty("invalid", not valid)
        self.setProperty("warning", bool(warning))
        self.setProperty("optedOut", bool(self._opted_out))
        if not valid or warning or self._opted_out:
            pixmaps = QtWidgets.QStyle.StandardPixmap
            if not valid:
                icon = pixmaps.SP_MessageBoxCritical
            elif self._opted_out:
                icon = pixmaps.SP_BrowserStop  # a no-entry sign: may not be texted, not mistyped
            else:
                icon = pixmaps.SP_MessageBoxWarning
            size = self.mark.size()
            self.mark.setPixmap(self.style().standardIcon(icon).pixmap(size))
            self.mark.setToolTip(tooltip)
            self.mark.show()
        else:
            self.mark.clear()
            self.mark.hide()
        self.update()

    def set_position(self, position: int, total: int) -> None:
        """Screen readers hear where the chip is and whether it can be sent to."""
        state = "" if self._valid else ", invalid"
        if self._valid and self._opted_out:
            state = ", on the do-not-text list (opted out)"
        elif self._valid and self._warning:
            state = ", possibly unassigned"
        self.setAccessibleName(f"Recipient {position} of {total}: {self._display}{state}")

    def is_valid(self) -> bool:
        return self._valid

    def opted_out(self) -> str:
        """Why its number is on the do-not-text list ("" when it is not)."""
        return self._opted_out

    def is_selected(self) -> bool:
        return self._selected

    def set_selected(self, selected: bool) -> None:
        if selected == self._selected:
            return
        self._selected = selected
        self.label.setForegroundRole(
            QtGui.QPalette.ColorRole.HighlightedText if selected else QtGui.QPalette.ColorRole.Text
        )
        self.update()

    def set_removable(self, removable: bool) -> None:
        self.remove_button.setVisible(removable)
        self.remove_button.setEnabled(removable)

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        base = palette.color(QtGui.QPalette.ColorRole.Base)
        highlight = palette.color(QtGui.QPalette.ColorRole.Highlight)
        pen_style = Qt.PenStyle.SolidLine
        if self._selected:
            fill, border = highlight, highlight.darker(125)
        elif not self._valid:
            red = tone_colour(Tone.PROBLEM, palette, QtGui.QPalette.ColorRole.Base)
            fill, border, pen_style = mix(base, red, 0.22), red, Qt.PenStyle.DashLine
        elif self._opted_out:  # a solid border (a dashed one is a number to fix); its words say the rest
            red = tone_colour(Tone.PROBLEM, palette, QtGui.QPalette.ColorRole.Base)
            fill, border = mix(base, red, 0.10), red
        else:
            fill, border = mix(base, highlight, 0.14), mix(base, highlight, 0.5)
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        pen = QtGui.QPen(border, 1.5 if not self._valid or self._opted_out else 1.0, pen_style)
        painter.setPen(pen)
        painter.setBrush(fill)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        radius = rect.height() / 2
        painter.drawRoundedRect(rect, radius, radius)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self)
            event.accept()
        elif event.button() == Qt.MouseButton.MiddleButton and self.remove_button.isEnabled():
            self.remove_requested.emit(self)  # as in Thunderbird: middle-click removes
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit(self)
            event.accept()
        else:
            super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.menu_requested.emit(self, event.globalPos())
        event.accept()


# --- the input and the chip area -------------------------------------------------------------------


class _RecipientInput(QLineEdit):
    """The line edit after the chips; key, paste, drop and focus handling is delegated to the owner.

    Every hook checks that the owner still exists: when a window is destroyed, Qt moves focus away from
    this input while the owner is already half gone, and a Python error at that point brings PySide down.
    """

    def __init__(self, owner: RecipientEdit) -> None:
        super().__init__(owner)
        self._owner_ref = owner

    def _owner(self) -> RecipientEdit | None:
        owner = self._owner_ref
        return owner if shiboken6.isValid(owner) else None

    def event(self, event: QEvent) -> bool:
        # Tab is consumed by QWidget.event for focus changes before keyPressEvent sees it.
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            modifiers = event.modifiers()
            blocked = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
            owner = self._owner()
            if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and not modifiers & blocked and owner:
                owner._on_tab()
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        owner = self._owner()
        if owner is None or not owner._handle_key(event):
            super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        owner = self._owner()
        if owner is not None:
            owner.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        owner = self._owner()
        if owner is not None:
            owner._on_focus_out(event.reason())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        owner = self._owner()
        if owner is not None and owner._accepts_drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        owner = self._owner()
        if owner is not None and owner._accepts_drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        owner = self._owner()
        if owner is not None and owner._drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """The standard menu, with Paste going through the same list handling as Ctrl+V."""
        owner = self._owner()
        menu = self.createStandardContextMenu()
        for action in menu.actions():
            if owner is not None and action.objectName() == "edit-paste":
                ours = QAction(action.text(), menu)
                ours.setShortcut(QKeySequence(QKeySequence.StandardKey.Paste))
                ours.setEnabled(action.isEnabled())
                ours.triggered.connect(owner.paste)
                menu.insertAction(action, ours)
                menu.removeAction(action)
                break
        menu.exec(event.globalPos())
        menu.deleteLater()


class _ChipArea(QWidget):
    """Holds the chips and the input in a flow layout; a click on empty space goes to the input."""

    def __init__(self, owner: RecipientEdit) -> None:
        super().__init__()
        self._owner = owner
        self.setAcceptDrops(True)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._owner._select(None)
        self._owner.line_edit().setFocus(Qt.FocusReason.MouseFocusReason)
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._owner._accepts_drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self._owner._drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()


# --- the widget ------------------------------------------------------------------------------------


class RecipientEdit(QWidget):
    """The To field: recipient chips followed by an input, a view of a `RecipientModel`.

    Keyboard (focus always stays in the input): Enter, comma, semicolon or Tab turn the typed text into
    chips (never space, which people type inside numbers); Tab then moves on; leftover text becomes chips
    when the input loses focus and on `commit_pending_text()`. Backspace on an empty input (or Left at
    position 0) selects the last chip; Left/Right/Home/End move the selection, Backspace/Delete remove the
    selected chip, Enter/F2 (or a double-click) edit it, Escape clears the selection or cancels an edit.

    A paste (or drop) makes chips only of what phonenumbers' matcher accepts as a number; pieces of a list
    written like a number but not one stay in the input to be fixed, and a paste with no number at all
    stays there as text. Every such outcome, and a number merged because it was already there, is told
    once in a short `notice()` (`notice_changed(str)`), which goes with the next edit in the field (a
    merge note, being news rather than a state, also after `MERGE_NOTICE_MS`).
    """

    changed = Signal()
    notice_changed = Signal(str)

    MERGE_NOTICE_MS = 8000

    def __init__(
        self, parent: QWidget | None = None, *, model: RecipientModel | None = None, region: str | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model if model is not None else RecipientModel(self, region=region)
        self._chips: list[RecipientChip] = []
        self._selected: int | None = None
        self._editing: tuple[int, ParsedNumber] | None = None
        self._read_only = False
        self._max_rows = 4
        self._completion_numbers: list[str] = []
        # Typed letters are matched as names by the window's contacts: (typed) → [(E.164, label)].
        self._name_matcher: Callable[[str], Sequence[tuple[str, str]]] | None = None
        # Adds the window's own actions (the contact's name) to a chip's context menu.
        self._chip_menu: Callable[[QMenu, ParsedNumber], None] | None = None
        self._notice = ""
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(lambda: self._set_notice(""))

        self._area = _ChipArea(self)
        self._input = _RecipientInput(self)
        self._input.setFrame(False)
        self._input.setPlaceholderText(PLACEHOLDER)
        self._input.setAccessibleName("Recipients")
        self._input.setToolTip(
            "Type a number and press Enter, comma or Tab; paste a list to add many at once.\n"
            "Backspace on an empty field selects the last recipient; press it again to remove it."
        )
        digit = self.fontMetrics().horizontalAdvance("0")
        self._flow = FlowLayout(
            self._area,
            horizontal_spacing=4,
            vertical_spacing=3,
            stretch_last=True,
            last_min_width=digit * 16,
        )
        self._flow.setContentsMargins(2, 2, 2, 2)
        self._flow.addWidget(self._input)

        self._scroll = QScrollArea(self)
        self._scroll.setWidget(self._area)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setBackgroundRole(QtGui.QPalette.ColorRole.Base)
        self._scroll.setAccessibleName("Recipient list")

        # The field is drawn as a line edit's panel (focus frame included) by a hidden line edit whose focus
        # follows the input's: Qt paints it as in every style, with no style call from Python (PySide6 builds
        # its QStyle type on the first, ≈ 15 ms before the window's first paint; docs/design.md §3.1). The
        # frame is as wide as a line edit reserves for it: its height with the frame minus without.
        self._panel = QLineEdit(self)
        self._panel_image: QtGui.QPixmap | None = None  # the panel as last drawn, and what it showed
        self._panel_look: tuple[object, ...] = ()
        self._panel.hide()
        self._panel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._panel.setFocusProxy(self._input)
        # No layout of its own: a layout would answer heightForWidth for this widget (Qt asks a widget's
        # layout first), and the scroll area inside has none to give. resizeEvent places the scroll area.
        self._frame = max(1, (self._panel.sizeHint().height() - self._input.sizeHint().height()) // 2)

        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusProxy(self._input)
        self.setAccessibleName("Recipient list")

        self._completion_source = QStandardItemModel(self)
        self._name_source = QStandardItemModel(self)
        self._completer = QCompleter(self._completion_source, self)
        self._completer.setCompletionRole(_COMPLETION_KEY_ROLE)
        self._completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._completer.setMaxVisibleItems(6)
        self._completer.setWidget(self._input)
        self._completer.activated[QModelIndex].connect(self._accept_completion)  # type: ignore[index]
        self._popup().setAccessibleName("Past recipients")
        self._input.textEdited.connect(self._update_completion)
        self._input.textEdited.connect(lambda _text: self._set_notice(""))

        self._reveal_timer = QTimer(self)
        self._reveal_timer.setSingleShot(True)
        self._reveal_timer.setInterval(0)
        self._reveal_timer.timeout.connect(self._reveal_input)

        self._model.rowsInserted.connect(self._on_rows_inserted)
        self._model.rowsRemoved.connect(self._on_rows_removed)
        self._model.dataChanged.connect(self._on_data_changed)
        self._model.modelReset.connect(self._rebuild)
        self._model.layoutChanged.connect(self._rebuild)
        self._model.rowsMoved.connect(self._rebuild)
        self._rebuild()

    # --- public API -------------------------------------------------------------------------------

    def model(self) -> RecipientModel:
        return self._model

    def tab_stops(self) -> list[QWidget]:
        """The controls Tab visits here, in order (chips are reached with the arrow keys from the input)."""
        return [self._input]

    def line_edit(self) -> QLineEdit:
        """The input, for focus and tab-order wiring (`QWidget.setTabOrder(from_picker, edit.line_edit())`)."""
        return self._input

    def completer(self) -> QCompleter:
        return self._completer

    def _popup(self) -> QAbstractItemView:
        popup = self._completer.popup()
        assert popup is not None  # QCompleter always makes one
        return popup

    def chips(self) -> list[RecipientChip]:
        """The chip widgets, in model order."""
        return list(self._chips)

    def selected_row(self) -> int | None:
        return self._selected

    def set_region(self, region: str) -> None:
        before = self._model.rowCount()
        self._model.set_region(region)
        self._fill_completions(self._completion_numbers)
        merged = before - self._model.rowCount()
        if merged:
            self._set_notice(
                f"{_count(merged, 'recipient')} turned out to be the same number as another in region "
                f"{region} and {'was' if merged == 1 else 'were'} merged.",
                brief=True,
            )

    def pending_text(self) -> str:
        """Text typed but not yet a chip (for the draft autosave)."""
        return self._input.text()

    def set_pending_text(self, text: str) -> None:
        self._input.setText(text)
        self._set_notice("")

    def notice(self) -> str:
        """What the last paste or commit did that the agent should know ("" when nothing)."""
        return self._notice

    def commit_pending_text(self) -> int:
        """Turn text left in the input into chips (the composer calls this on Send); returns how many."""
        text = self._input.text()
        if self._editing is not None:
            row, _ = self._editing
            self._editing = None
            self._input.clear()
            return self._add(self._model.parse_text(text), row=min(row, self._model.rowCount()))
        if not text.strip():
            self._input.clear()
            return 0
        self._input.clear()
        return self._add(self._model.parse_text(text))

    def paste(self) -> None:
        """Paste from the clipboard: a list or free text becomes chips, a lone fragment is typed in."""
        self._paste_text(QGuiApplication.clipboard().text())

    def set_read_only(self, read_only: bool) -> None:
        """While a send is in flight the recipients cannot change: no typing, no removing, no editing."""
        self._read_only = read_only
        self._input.setReadOnly(read_only)
        self._panel.setReadOnly(read_only)
        self._popup().hide()
        for chip in self._chips:
            chip.set_removable(not read_only)

    def is_read_only(self) -> bool:
        return self._read_only

    def set_completion_numbers(self, numbers: Sequence[str]) -> None:
        """Past recipients (E.164, most useful first) offered while typing."""
        self._completion_numbers = list(dict.fromkeys(numbers))
        self._fill_completions(self._completion_numbers)

    def offer_first(self, numbers: Sequence[str]) -> None:
        """Numbers just sent to (E.164) are offered first, the others keep their order. Only their rows move:
        formatting hundreds of past recipients again at the end of every send held the window up."""
        first = list(dict.fromkeys(numbers))
        if self._completion_numbers[: len(first)] == first:
            return
        moving = set(first)
        source = self._completion_source
        for row in reversed([i for i, n in enumerate(self._completion_numbers) if n in moving]):
            source.removeRow(row)
        for row, e164 in enumerate(first):
            source.insertRow(row, self._completion_item(e164))
        self._completion_numbers = [*first, *(n for n in self._completion_numbers if n not in moving)]

    def set_name_matcher(self, matcher: Callable[[str], Sequence[tuple[str, str]]] | None) -> None:
        """Typed text with letters is offered the numbers whose names `matcher` finds ("Ann" → Ann Lee's)."""
        self._name_matcher = matcher

    def set_chip_menu(self, fill: Callable[[QMenu, ParsedNumber], None] | None) -> None:
        """`fill(menu, number)` adds its actions to a chip's context menu (after Edit and Remove)."""
        self._chip_menu = fill

    def chip_menu(self, row: int) -> QMenu:
        """The context menu of the chip at `row` (shown on a right-click; built here so tests can read it)."""
        menu = QMenu(self)
        menu.setAccessibleName("Recipient actions")
        chip = self._chips[row]
        edit = menu.addAction("&Edit number")
        edit.triggered.connect(lambda: self._on_chip_double_clicked(chip))
        remove = menu.addAction("&Remove")
        remove.triggered.connect(lambda: self._on_chip_remove(chip))
        for action in (edit, remove):
            action.setEnabled(not self._read_only)
        if self._chip_menu is not None:
            menu.addSeparator()
            self._chip_menu(menu, self._model.numbers()[row])
        return menu

    def set_maximum_visible_rows(self, rows: int) -> None:
        """How many rows of chips show before the field scrolls instead of growing."""
        self._max_rows = max(1, rows)
        self.updateGeometry()

    # --- size -------------------------------------------------------------------------------------

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """All the chip rows, up to the visible-row limit; beyond it the field scrolls."""
        content = self._flow.heightForWidth(max(1, width - 2 * self._frame))
        return min(content, self._max_content_height()) + 2 * self._frame

    def sizeHint(self) -> QSize:
        width = self.width() if self.isVisible() and self.width() > 0 else self._default_width()
        return QSize(self._default_width(), self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        flow = self._flow.contentsMargins()
        height = self._row_height() + flow.top() + flow.bottom() + 2 * self._frame
        return QSize(self.fontMetrics().horizontalAdvance("0") * 20, height)

    def _default_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("0") * 48

    def _row_height(self) -> int:
        chip = self._chips[0].sizeHint().height() if self._chips else 0
        return max(self._input.sizeHint().height(), chip)

    def _max_content_height(self) -> int:
        flow = self._flow.contentsMargins()
        rows = self._max_rows
        return (
            rows * self._row_height() + (rows - 1) * self._flow.verticalSpacing() + flow.top() + flow.bottom()
        )

    def hideEvent(self, event: Any) -> None:
        # The completer's popup is a window of its own: it must not outlive the field being shown, or it
        # keeps keyboard focus on an input that is no longer on screen.
        self._popup().hide()
        super().hideEvent(event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        frame = self._frame
        self._scroll.setGeometry(self.rect().adjusted(frame, frame, -frame, -frame))
        self._panel.resize(self.size())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Drawn as a line edit's panel (focus frame included) so it looks like one field in every style. The
        panel is drawn again only when what it shows changes: a chip coming or going repaints the field, and
        rendering a hidden line edit each time cost the GUI thread about a millisecond."""
        ratio = self.devicePixelRatioF()
        panel = self._panel
        look = (
            self.size().toTuple(),
            ratio,
            panel.hasFocus(),
            panel.isEnabled(),
            panel.isReadOnly(),
            panel.isActiveWindow(),
            panel.palette().cacheKey(),
        )
        if self._panel_image is None or look != self._panel_look:
            # A pixmap, not a QImage, and no `style()` call: either would make PySide6 build a Qt type's
            # enums (QImage's formats; QStyle's ~600 members, ≈ 15 ms) before the first frame (design §3.1).
            image = QtGui.QPixmap(self.size() * ratio)
            image.setDevicePixelRatio(ratio)
            image.fill(Qt.GlobalColor.transparent)
            panel.render(image, QPoint(), renderFlags=QWidget.RenderFlag.DrawChildren)
            self._panel_image, self._panel_look = image, look
        painter = QtGui.QPainter(self)
        painter.drawPixmap(0, 0, self._panel_image)
        painter.end()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.StyleChange:
            self._panel_image = None  # another style draws the panel otherwise
        super().changeEvent(event)

    # --- reacting to the model --------------------------------------------------------------------

    def _new_chip(self, row: int) -> RecipientChip:
        chip = RecipientChip(self._area)
        chip.clicked.connect(self._on_chip_clicked)
        chip.double_clicked.connect(self._on_chip_double_clicked)
        chip.remove_requested.connect(self._on_chip_remove)
        chip.menu_requested.connect(self._on_chip_menu)
        chip.set_removable(not self._read_only)
        self._fill_chip(chip, row)
        return chip

    def _fill_chip(self, chip: RecipientChip, row: int) -> None:
        index = self._model.index(row)
        chip.set_data(
            str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
            str(index.data(Qt.ItemDataRole.ToolTipRole) or ""),
            bool(index.data(RecipientModel.ValidRole)),
            index.data(RecipientModel.WarningRole),
            str(index.data(RecipientModel.OptedOutRole) or ""),
        )

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            chip = self._new_chip(row)
            self._chips.insert(row, chip)
            self._flow.insertWidget(row, chip)
            chip.show()
        self._after_rows_changed()

    def _on_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        for row in range(last, first - 1, -1):
            chip = self._chips.pop(row)
            self._flow.removeWidget(chip)
            chip.hide()
            chip.deleteLater()
        self._after_rows_changed()

    def _on_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Any = None) -> None:
        for row in range(top_left.row(), bottom_right.row() + 1):
            if 0 <= row < len(self._chips):
                self._fill_chip(self._chips[row], row)
        self._after_rows_changed(keep_selection=True)

    def _rebuild(self) -> None:
        """Only for resets; ordinary changes arrive as row signals and touch only their chips."""
        for chip in self._chips:
            self._flow.removeWidget(chip)
            chip.hide()
            chip.deleteLater()
        self._chips = []
        for row in range(self._model.rowCount()):
            chip = self._new_chip(row)
            self._chips.append(chip)
            self._flow.insertWidget(row, chip)
            chip.show()
        self._after_rows_changed()

    def _after_rows_changed(self, *, keep_selection: bool = False) -> None:
        if not keep_selection:
            self._select(None)
        total = len(self._chips)
        for position, chip in enumerate(self._chips, start=1):
            chip.set_position(position, total)
        # Beside chips the hint would only be cut off; the chips show what the field is for.
        self._input.setPlaceholderText("" if total else PLACEHOLDER)
        self._update_summary()
        self.updateGeometry()
        self._reveal_timer.start()
        self.changed.emit()

    def _update_summary(self) -> None:
        total = self._model.rowCount()
        invalid = self._model.invalid_count()
        if total == 0:
            summary = "No recipients yet."
        else:
            # Only numbers that can be sent to are recipients; the rest are entries still to fix.
            summary = _count(self._model.valid_count(), "recipient")
            summary += f"; {invalid} {'entry' if invalid == 1 else 'entries'} to fix." if invalid else "."
        if self._selected is not None and 0 <= self._selected < len(self._chips):
            chip = self._chips[self._selected]
            summary = f"Selected: {chip.accessibleName()}. Delete removes it, Enter edits it. {summary}"
        self._input.setAccessibleDescription(summary)
        self.setAccessibleDescription(summary)

    def _reveal_input(self) -> None:
        self._scroll.ensureWidgetVisible(self._input, 0, 0)

    # --- selection and editing --------------------------------------------------------------------

    def _select(self, row: int | None) -> None:
        if row is not None and not 0 <= row < len(self._chips):
            row = None
        if row == self._selected:
            return
        if self._selected is not None and 0 <= self._selected < len(self._chips):
            self._chips[self._selected].set_selected(False)
        self._selected = row
        if row is not None:
            self._chips[row].set_selected(True)
            self._scroll.ensureWidgetVisible(self._chips[row], 0, 0)
        self._update_summary()

    def _remove_row(self, row: int) -> None:
        if self._read_only or not 0 <= row < self._model.rowCount():
            return
        self._model.remove(row)
        self._set_notice("")

    # --- adding, and saying what happened ---------------------------------------------------------

    def _add(self, numbers: Sequence[ParsedNumber], row: int | None = None) -> int:
        """Insert `numbers` (at `row`, default the end); a number already there is merged, and said so."""
        seen = {_key(n) for n in self._model.numbers()}
        merged: list[ParsedNumber] = []
        for number in numbers:
            if _key(number) in seen:
                merged.append(number)
            seen.add(_key(number))
        added = self._model.insert_numbers(self._model.rowCount() if row is None else row, numbers)
        self._set_notice(_merged_note(merged), brief=True)
        return added

    def _set_notice(self, text: str, *, brief: bool = False) -> None:
        self._notice_timer.stop()
        if brief and text:
            self._notice_timer.start(self.MERGE_NOTICE_MS)
        if text != self._notice:
            self._notice = text
            self.notice_changed.emit(text)

    def edit_row(self, row: int) -> None:
        """Put a chip's text back in the input for correcting; Escape puts the chip back unchanged."""
        if self._read_only or not 0 <= row < len(self._chips):
            return
        chip = self._chips[row]
        if self._input.text().strip() or self._editing is not None:
            self.commit_pending_text()
        row = self._chips.index(chip)
        number = self._model.numbers()[row]
        self._editing = (row, number)
        self._model.remove(row)
        self._input.setText(number.raw.strip())
        self._input.setFocus(Qt.FocusReason.OtherFocusReason)

    def _cancel_edit(self) -> None:
        if self._editing is None:
            return
        row, number = self._editing
        self._editing = None
        self._input.clear()
        self._model.insert_numbers(row, [number])

    def _on_chip_clicked(self, chip: RecipientChip) -> None:
        if chip in self._chips:
            self._select(self._chips.index(chip))
        self._input.setFocus(Qt.FocusReason.MouseFocusReason)

    def _on_chip_double_clicked(self, chip: RecipientChip) -> None:
        if chip in self._chips:
            self.edit_row(self._chips.index(chip))

    def _on_chip_remove(self, chip: RecipientChip) -> None:
        if chip in self._chips:
            self._remove_row(self._chips.index(chip))

    def _on_chip_menu(self, chip: RecipientChip, where: QPoint) -> None:
        if chip in self._chips:
            menu = self.chip_menu(self._chips.index(chip))
            menu.aboutToHide.connect(menu.deleteLater)
            menu.popup(where)

    def _copy_selected(self) -> None:
        if self._selected is not None:
            QGuiApplication.clipboard().setText(self._model.raw_inputs()[self._selected])

    # --- input events -----------------------------------------------------------------------------

    def _on_tab(self) -> None:
        """Tab commits (a highlighted completion, else the typed text) and then focus moves on as usual."""
        popup = self._popup()
        if popup.isVisible():
            current = popup.currentIndex()
            popup.hide()
            if current.isValid() and not self._read_only:
                self._accept_completion(current)
                return
        self._select(None)
        if not self._read_only:
            self.commit_pending_text()

    def _on_focus_out(self, reason: Qt.FocusReason) -> None:
        self._select(None)
        self.update()
        # A popup (the completer, a menu) or switching to another window to copy a number is not "done".
        if reason in (Qt.FocusReason.PopupFocusReason, Qt.FocusReason.ActiveWindowFocusReason):
            return
        if not self._read_only:
            self.commit_pending_text()

    def _handle_key(self, event: QKeyEvent) -> bool:
        """Returns True when the key was dealt with here; False lets the line edit handle it."""
        key = event.key()
        text = event.text()
        popup = self._popup()
        if popup.isVisible() and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
            if key != Qt.Key.Key_Escape and not popup.currentIndex().isValid():
                popup.hide()
                self.commit_pending_text()
                return True
            event.ignore()  # the completer takes it: Enter picks the highlighted number, Escape closes
            return True

        if key in _MODIFIER_KEYS:
            return False  # pressing Ctrl on the way to Ctrl+C must not drop the chip selection
        if self._selected is not None:
            if self._handle_selection_key(event):
                return True
            self._select(None)  # typing goes on in the input

        if event.matches(QKeySequence.StandardKey.Paste):
            self.paste()
            return True
        if self._read_only:
            return False
        if text in _COMMIT_KEYS:
            self.commit_pending_text()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._input.text().strip() or self._editing is not None:
                self.commit_pending_text()
                return True
            return False
        if key == Qt.Key.Key_Escape and self._editing is not None:
            self._cancel_edit()
            return True
        no_text_selected = not self._input.hasSelectedText()
        at_start = self._input.cursorPosition() == 0 and no_text_selected
        if key == Qt.Key.Key_Backspace and not self._input.text() and self._chips:
            self._select(len(self._chips) - 1)
            return True
        if key == Qt.Key.Key_Left and at_start and self._chips and not event.modifiers():
            self._select(len(self._chips) - 1)
            return True
        if key == Qt.Key.Key_Down and not popup.isVisible():
            return self._update_completion(self._input.text())
        return False

    def _handle_selection_key(self, event: QKeyEvent) -> bool:
        assert self._selected is not None
        key = event.key()
        last = len(self._chips) - 1
        if key == Qt.Key.Key_Left:
            self._select(max(0, self._selected - 1))
        elif key == Qt.Key.Key_Right:
            self._select(self._selected + 1 if self._selected < last else None)
        elif key == Qt.Key.Key_Home:
            self._select(0)
        elif key == Qt.Key.Key_End or key == Qt.Key.Key_Escape:
            self._select(None)
        elif key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self._remove_row(self._selected)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2):
            self.edit_row(self._selected)
        elif event.matches(QKeySequence.StandardKey.Copy):
            self._copy_selected()
        elif event.matches(QKeySequence.StandardKey.Cut):
            self._copy_selected()
            self._remove_row(self._selected)
        else:
            return False
        return True

    # --- paste and drop ---------------------------------------------------------------------------

    def _paste_text(self, pasted: str) -> None:
        """A list or free text: its numbers become chips, pieces written like a number but not one stay in
        the input to fix, and text with no number at all stays there as text (nothing pasted is lost).
        A lone piece of a number is typed in, where the agent is assembling one."""
        if self._read_only or not pasted.strip():
            return
        current = self._input.text()
        if self._input.hasSelectedText():
            start = self._input.selectionStart()
            end = start + len(self._input.selectedText())
        else:
            start = end = self._input.cursorPosition()
        typed = (current[:start] + current[end:]).strip()  # what stays of the input around the paste
        piece = pasted.strip()
        found = phone.read_paste(pasted, self._model.region())
        if not _LIST_CHARACTERS.search(piece) and len(found.numbers) <= 1:
            whole = phone.parse_number(piece, self._model.region())
            if whole.ok and not typed:
                self._input.clear()
                self._add([whole])
            else:
                self._input.insert(piece)
            return
        if not found.numbers and not found.not_numbers:
            self._input.insert(" ".join(pasted.split()))
            self._set_notice(
                "No phone number in the pasted text; it is in the field as text. "
                "Edit it into a number, or delete it."
            )
            return
        self._input.setText(", ".join([*([typed] if typed else []), *found.not_numbers]))
        self._add(found.numbers)
        if found.not_numbers:
            note = (
                f"Left in the field to fix, not a phone number as written: {found.not_numbers[0]}."
                if len(found.not_numbers) == 1
                else f"Left in the field to fix, not phone numbers as written: {', '.join(found.not_numbers)}."
            )
            self._set_notice(" ".join(filter(None, [self._notice, note])))

    def _accepts_drop(self, mime: QMimeData) -> bool:
        return not self._read_only and mime.hasText()

    def _drop(self, mime: QMimeData) -> bool:
        """Dropped text is handled as pasted at the end of the input."""
        if not self._accepts_drop(mime):
            return False
        self._input.deselect()
        self._input.end(False)
        self._paste_text(mime.text())
        self._input.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    # --- completion -------------------------------------------------------------------------------

    def _fill_completions(self, numbers: Sequence[str]) -> None:
        self._completion_source.clear()
        for e164 in numbers:
            self._completion_source.appendRow(self._completion_item(e164))

    def _completion_item(self, e164: str) -> QStandardItem:
        display = phone.display_number(e164, self._model.region())
        item = QStandardItem(display)
        item.setData(f"{_digits(e164)} {_digits(display)}", _COMPLETION_KEY_ROLE)
        item.setData(e164, _COMPLETION_E164_ROLE)
        item.setToolTip(e164)
        item.setEditable(False)
        return item

    def _update_completion(self, text: str) -> bool:
        """Offer past recipients whose digits contain the digits typed so far, in any format; or, for typed
        letters, the numbers of the contacts whose names match."""
        popup = self._popup()
        if self._name_matcher is not None and _LETTER.search(text) and not self._read_only:
            return self._complete_names(text)
        self._use_completions(self._completion_source, QCompleter.CompletionMode.PopupCompletion)
        digits = _digits(text)
        if self._read_only or len(digits) < MIN_COMPLETION_DIGITS or self._completion_source.rowCount() == 0:
            popup.hide()
            return False
        self._completer.setCompletionPrefix(digits)
        if self._completer.completionCount() == 0:
            popup.hide()
            return False
        popup.setCurrentIndex(QModelIndex())
        self._completer.complete()
        return True

    def _use_completions(self, source: QStandardItemModel, mode: QCompleter.CompletionMode) -> None:
        if self._completer.model() is not source:
            self._completer.setModel(source)
            self._completer.setCompletionMode(mode)

    def _complete_names(self, text: str) -> bool:
        """The contacts whose names match what is typed, as the contacts' matcher finds them (not filtered
        again here: the matcher's rule is the one rule, §17.5)."""
        assert self._name_matcher is not None
        popup = self._popup()
        found = self._name_matcher(text.strip())
        self._name_source.clear()
        for e164, label in found:
            item = QStandardItem(label)
            item.setData(e164, _COMPLETION_E164_ROLE)
            item.setData(label, _COMPLETION_KEY_ROLE)
            item.setToolTip(e164)
            item.setEditable(False)
            self._name_source.appendRow(item)
        if not found:
            popup.hide()
            return False
        self._use_completions(self._name_source, QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self._completer.setCompletionPrefix("")
        popup.setCurrentIndex(QModelIndex())
        self._completer.complete()
        return True

    def _accept_completion(self, index: QModelIndex) -> None:
        e164 = index.data(_COMPLETION_E164_ROLE)
        if not e164 or self._read_only:
            return
        self._popup().hide()
        if self._editing is not None:
            row, _ = self._editing
            self._editing = None
            self._input.clear()
            self._add(self._model.parse_text(str(e164)), row=min(row, self._model.rowCount()))
        else:
            self._input.clear()
            self._add(self._model.parse_text(str(e164)))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _merged_note(merged: Sequence[ParsedNumber]) -> str:
    """The one short note for numbers merged with ones already there ("" for none)."""
    if not merged:
        return ""
    if len(merged) == 1:
        return f"{merged[0].display or merged[0].raw.strip()} is already in the list."
    return f"{_count(len(merged), 'number')} {'was' if len(merged) == 1 else 'were'} already in the list."


def _digits(text: str) -> str:
    """Only the digits, so `(919) 555` and `919555` match the same past number (filtering, not parsing)."""
    return _NON_DIGITS.sub("", text)
