"""What the window's keyboard needs from every event, in one application-wide filter (one Python call per
event): Alt+letter belongs to mnemonics, and focus that arrives without the mouse is reported so that the
window can bring it into view."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QWidget

# Alt with or without Shift is a mnemonic chord; Ctrl+Alt is AltGr on Windows keyboards, which types
# characters (@, €, {…) and must keep working.
_MNEMONIC_CHORDS = (
    Qt.KeyboardModifier.AltModifier,
    Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier,
)


class KeyboardFilter(QObject):
    """Installed on the application by the main window.

    - An Alt+letter key press that reached a widget (so no shortcut or mnemonic took it) is dropped: Qt's
      line and text edits would type the letter (an agent pressing Alt+G for Group got a "g" in To). Not on
      macOS, where Option (Qt's Alt) types characters (é, ü, ©) and there are no mnemonics.
    - `focus_arrived(widget)`: a widget got the focus by keyboard or from code (not by a click).
    """

    focus_arrived = Signal(QWidget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and is_unclaimed_mnemonic(event):
            return True
        if (
            kind == QEvent.Type.FocusIn
            and isinstance(event, QFocusEvent)
            and event.reason() != Qt.FocusReason.MouseFocusReason
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
