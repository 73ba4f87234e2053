"""The controls' key and focus filter: Alt+letter belongs to mnemonics, and focus that arrives without the mouse is
reported so that the window brings it into view (docs/design.md §8.2)."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QWidget

# Alt with or without Shift is a mnemonic chord; Ctrl+Alt is AltGr on Windows keyboards, which types
# characters (@, €, {…) and must keep working.
_MNEMONIC_CHORDS = (
    Qt.KeyboardModifier.AltModifier,
    Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier,
)


# Focus the agent moved (Tab, Shift+Tab, a mnemonic) or the program moved (New message, a restored draft). Not
# a click (what was clicked is in view), nor focus coming back with the window or from a popup (it is where it
# was; bringing it into view on the window's first activation would also lay the window out twice).
_MOVED_THERE = (
    Qt.FocusReason.TabFocusReason,
    Qt.FocusReason.BacktabFocusReason,
    Qt.FocusReason.ShortcutFocusReason,
    Qt.FocusReason.OtherFocusReason,
)


class KeyboardFilter(QObject):
    """Installed on the window's controls (`watch`).

    - An Alt+letter key press that reached a widget (so no shortcut or mnemonic took it) is dropped: Qt's
      line and text edits would type the letter (an agent pressing Alt+G for Group got a "g" in To). Not on
      macOS, where Option (Qt's Alt) types characters (é, ü, ©) and there are no mnemonics.
    - `focus_arrived(widget)`: a widget got the focus by keyboard or from code (`_MOVED_THERE`).
    """

    focus_arrived = Signal(QWidget)

    def watch(self, widgets: Iterable[QWidget]) -> None:
        """Filter these widgets' events (again is harmless: Qt keeps one installation per filter)."""
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and is_unclaimed_mnemonic(event):
            return True
        if (
            kind == QEvent.Type.FocusIn
            and isinstance(event, QFocusEvent)
            and event.reason() in _MOVED_THERE
            and isinstance(watched, QWidget)
        ):
            self.focus_arrived.emit(watched)
        return False


def is_unclaimed_mnemonic(event: QKeyEvent) -> bool:
    """Alt+(Shift+)a printable character, which only a mnemonic may use."""
    if sys.platform == "darwin":
        return False
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    text = event.text()
    return modifiers in _MNEMONIC_CHORDS and bool(text) and text.isprintable() and not text.isspace()
