"""The template popup, keyboard only: the picker (Ctrl+T, its filter focused) and the slash list (`/name`, the
focus stays in the text), both filtered by core's `TemplateBook.matching` (docs/design.md §17.3)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core.directory.template_book import Scope, Template, TemplateBook

#: Templates listed at most (the best matches first).
LIST_LIMIT = 20
_TEMPLATE_ROLE = Qt.ItemDataRole.UserRole

SCOPE_WORDS = {Scope.PERSONAL: "yours", Scope.TEAM: "team", Scope.LOCKED: "IT's, locked 🔒"}


def template_line(template: Template) -> str:
    """A template in one line of a list: its name, whose, and the start of its text."""
    text = " ".join(template.text.split())
    opening = text[:50] + ("…" if len(text) > 50 else "")
    return f"{template.name}  ·  {SCOPE_WORDS[template.scope]}  ·  {opening}"


class TemplatePopup(QFrame):
    """Templates matching a query. Signals: `chosen(Template)`, `manage_requested()`, `dismissed()` (Esc)."""

    chosen = Signal(object)
    manage_requested = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget, *, with_filter: bool) -> None:
        flags = Qt.WindowType.Popup if with_filter else Qt.WindowType.ToolTip
        super().__init__(parent, flags | Qt.WindowType.FramelessWindowHint)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, not with_filter)
        self._book = TemplateBook(())
        self._query = ""
        self.setAccessibleName("Templates")
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Type to filter templates…")
        self.filter_edit.setAccessibleName("Filter templates")
        self.filter_edit.setVisible(with_filter)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Templates")
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus if not with_filter else Qt.FocusPolicy.ClickFocus)
        self.list.setMinimumWidth(420)
        self.empty_label = QLabel(self)
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        self.manage_button = QPushButton("Manage templates…", self)
        self.manage_button.setToolTip("Add, edit, duplicate, delete, import and export templates")
        self.manage_button.setVisible(with_filter)
        self.manage_button.clicked.connect(self.manage_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.manage_button)
        self.filter_edit.textChanged.connect(self.set_query)
        self.filter_edit.installEventFilter(self)
        self.list.itemActivated.connect(self._activated)

    # --- what it lists ------------------------------------------------------------------------------------

    def set_book(self, book: TemplateBook) -> None:
        self._book = book
        self.set_query(self._query)

    def set_query(self, query: str) -> None:
        """List the templates matching `query` (all, by name, when it is empty); the best one is selected."""
        self._query = query
        found = self._book.matching(query, limit=LIST_LIMIT)
        self.list.clear()
        for template in found:
            item = QListWidgetItem(template_line(template))
            item.setData(_TEMPLATE_ROLE, template)
            item.setToolTip(template.text)
            self.list.addItem(item)
        if found:
            self.list.setCurrentRow(0)
        self.empty_label.setVisible(not found)
        if not len(self._book):
            self.empty_label.setText("No templates yet. Manage templates… adds one.")
        else:
            self.empty_label.setText(f"No template matches “{query.strip()}”.")

    def shown(self) -> list[str]:
        """The names listed, in order."""
        return [self._template(self.list.item(row)).name for row in range(self.list.count())]

    def current(self) -> Template | None:
        item = self.list.currentItem()
        return self._template(item) if item is not None else None

    # --- the keys ---------------------------------------------------------------------------------------------

    def select_next(self, step: int) -> None:
        """Up (-1) or Down (+1) the list, wrapping round."""
        count = self.list.count()
        if count:
            self.list.setCurrentRow((self.list.currentRow() + step) % count)

    def choose(self) -> bool:
        """Enter: the selected template is chosen (False when none is listed)."""
        template = self.current()
        if template is None:
            return False
        self.hide()
        self.chosen.emit(template)
        return True

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()

    def handle_key(self, key: int, modifiers: Qt.KeyboardModifier) -> bool:
        """The keys the popup takes from whoever has the focus; True when it took this one."""
        if modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        if key == Qt.Key.Key_Up:
            self.select_next(-1)
        elif key == Qt.Key.Key_Down:
            self.select_next(1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self.choose() or self.list.count() == 0
        elif key == Qt.Key.Key_Escape:
            self.dismiss()
        else:
            return False
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.filter_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
        ) and self.handle_key(event.key(), event.modifiers()):
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.handle_key(event.key(), event.modifiers()):
            super().keyPressEvent(event)

    def show_at(self, point: QPoint) -> None:
        """Show with its top left at `point` (global), kept on the screen."""
        self.adjustSize()
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            point = QPoint(
                max(screen.left(), min(point.x(), screen.right() - self.width())),
                max(screen.top(), min(point.y(), screen.bottom() - self.height())),
            )
        self.move(point)
        self.show()
        if self.filter_edit.isVisible():
            self.filter_edit.setFocus(Qt.FocusReason.PopupFocusReason)

    def _activated(self, item: QListWidgetItem) -> None:
        self.list.setCurrentItem(item)
        self.choose()

    @staticmethod
    def _template(item: QListWidgetItem) -> Template:
        template = item.data(_TEMPLATE_ROLE)
        assert isinstance(template, Template)
        return template
