"""The directory in the composer: each chip shows its contact's name and is marked when its number is on the
do-not-text list (an icon and "⊘ opted out", with since when and why in its tooltip); Send is held back with the
reason, naming the numbers, and one click leaves them out (docs/design.md §17.2). There is no "send anyway".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from bwdesk.core.directory.optout import OptOut
from bwdesk.core.phone import display_number
from bwdesk.ui.composer import ComposerWidget
from bwdesk.ui.directory.checker import WindowDirectory
from bwdesk.ui.recipients import RecipientNote
from bwdesk.ui.style import Tone, text_css

HOLD_KEY = "do-not-text"
#: How many contacts autocomplete offers for typed letters.
NAME_MATCHES = 8


def refusal(entries: Sequence[OptOut]) -> str:
    """Why Send is refused, naming each number: for the send bar and the notice under To."""
    who = ", ".join(display_number(e.number) for e in entries)
    verb = "is" if len(entries) == 1 else "are"
    return (
        f"To: {who} {verb} on the do-not-text list, so nothing can be sent to "
        f"{'it' if len(entries) == 1 else 'them'}. Leave {'it' if len(entries) == 1 else 'them'} out to send "
        "to the others; if a customer asked to be texted again, remove the number from the list with a reason "
        "(Tools → Do-not-text list)."
    )


def leave_out_text(count: int) -> str:
    return f"Lea&ve out the {count} opted-out number{'s' if count != 1 else ''}"


class OptOutPanel(QWidget):
    """Under To: why Send is refused, and the one-click way to leave the listed numbers out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("optOutPanel")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Do-not-text list")
        self.label.setStyleSheet(text_css(Tone.PROBLEM, self.palette()))
        self.leave_out_button = QPushButton(self)
        self.leave_out_button.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        row = QHBoxLayout()
        row.addWidget(self.leave_out_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.hide()

    def show_entries(self, entries: Sequence[OptOut]) -> None:
        if not entries:
            self.hide()
            return
        self.label.setText(refusal(entries))
        self.leave_out_button.setText(leave_out_text(len(entries)))
        self.leave_out_button.setAccessibleName(leave_out_text(len(entries)).replace("&", ""))
        self.show()


class ComposerMarks(QObject):
    """Keeps the composer's chips in step with the directory (names, the do-not-text list) and holds Send
    while any recipient is listed. Lookups run on a worker through `WindowDirectory`, remembered per number."""

    def __init__(
        self, composer: ComposerWidget, directory: WindowDirectory, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._composer = composer
        self._directory = directory
        self.panel = OptOutPanel(composer.to_box)
        layout = composer.to_box.layout()
        assert layout is not None
        layout.addWidget(self.panel)
        self.panel.leave_out_button.clicked.connect(self.leave_out)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # one look-up for a burst of changes (a paste of many numbers)
        self._timer.timeout.connect(self._check)
        model = composer.recipients.model()
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            signal.connect(self._timer.start)
        directory.optouts_changed.connect(self._timer.start)
        directory.contacts_changed.connect(self._timer.start)
        composer.recipients.set_name_matcher(self._names_matching)

    def listed(self) -> list[OptOut]:
        """The composer's recipients known to be on the list, in their order."""
        numbers = [n.e164 for n in self._composer.recipients.model().numbers() if n.ok and n.e164]
        return [e for e in map(self._directory.entry, numbers) if e is not None]

    @Slot()
    def leave_out(self) -> None:
        """The listed numbers leave To; everything else of the draft stays."""
        numbers = [e.number for e in self.listed()]
        if numbers:
            self._composer.drop_recipients(numbers)
            self._composer.focus_recipients()

    @Slot()
    def _check(self) -> None:
        model = self._composer.recipients.model()
        numbers = [n.e164 for n in model.numbers() if n.ok and n.e164]
        self._directory.ask(numbers)
        notes: dict[str, RecipientNote] = {}
        for number in numbers:
            entry = self._directory.entry(number)
            name = self._directory.name_of(number)
            if entry is not None or name:
                notes[number] = RecipientNote(name, entry.describe() if entry is not None else "")
        model.set_notes(notes)
        listed = self.listed()
        self.panel.show_entries(listed)
        self._composer.hold_send(HOLD_KEY, refusal(listed) if listed else "")

    def _names_matching(self, typed: str) -> list[tuple[str, str]]:
        return [
            (c.number, f"{c.name} — {display_number(c.number)}")
            for c in self._directory.match(typed, NAME_MATCHES)
        ]
