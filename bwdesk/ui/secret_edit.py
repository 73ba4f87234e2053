"""A masked secret with a Show/Hide toggle, and the words for keeping it, shared by the settings
dialog's sections (the account's password or client secret, the team database's password)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

#: The way out of a keyring problem that only the settings dialog offers (the CLI names the environment
#: instead).
OR_SESSION_ONLY = "Or tick “Keep for this session only”."


class SecretEdit(QWidget):
    """A masked secret with a Show/Hide toggle: the only way a secret reaches the screen."""

    def __init__(self, name: str, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setAccessibleName(name)
        self.edit.setToolTip(tip)
        self.toggle = QToolButton(self)
        self.toggle.setText("Show")
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName(f"Show {name.lower()}")
        self.toggle.setToolTip(f"Show the {name.lower()} as plain text (press again to hide it)")
        self.toggle.toggled.connect(self._toggled)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.toggle)
        self.setFocusProxy(self.edit)

    def _toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle.setText("Hide" if shown else "Show")
        name = self.edit.accessibleName().lower()
        self.toggle.setAccessibleName(f"{'Hide' if shown else 'Show'} {name}")

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def is_masked(self) -> bool:
        return self.edit.echoMode() == QLineEdit.EchoMode.Password


__all__ = ["OR_SESSION_ONLY", "SecretEdit"]
