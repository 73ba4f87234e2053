"""The one way the window tells the agent something outside a field: status-bar notes, the settings banner,
questions and message boxes. Each is also emitted as `told`, so a test can read what the agent was told."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, IntEnum

from PySide6 import QtWidgets
from PySide6.QtCore import QObject, Qt, Signal, SignalInstance, Slot
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton, QStatusBar, QVBoxLayout, QWidget

from bwdesk.core.credentials import AuthKind
from bwdesk.core.errors import BwdeskError
from bwdesk.core.outcome import Trouble
from bwdesk.core.status_words import describe_trouble, setting_to_check

log = logging.getLogger(__name__)


class Duration(IntEnum):
    """How long a note stays in the status bar, in milliseconds."""

    UNTIL_REPLACED = 0  # work in progress ("Asking Bandwidth…"): its answer replaces it
    MOMENT = 8_000  # about what the agent just did: a restored draft, why Send refused
    NEWS = 15_000  # an answer: from Bandwidth, the history, the clipboard
    WARNING = 30_000  # something to act on


class Kind(Enum):
    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"
    QUESTION = "question"
    BANNER = "banner"
    TROUBLE = "trouble"  # account or connection trouble: the banner, with the setting to check
    ABOUT = "about"


@dataclass(frozen=True)
class Told:
    """One thing the agent was told (or asked)."""

    kind: Kind
    text: str
    title: str = ""
    duration: int = 0
    setting: str = ""  # the settings field the banner's Settings… opens at ("" : the dialog's top)


#: Puts a question to the agent: (title, text, the accept button's words) → True to go ahead.
Ask = Callable[[str, str, str], bool]


def error_message(exc: BaseException, what: str = "") -> str:
    """An exception in words for the agent. A BwdeskError says it itself; anything else is a bug: logged with
    its traceback (the log redacts secrets) and never shown raw."""
    prefix = f"{what} failed" if what else ""
    if isinstance(exc, BwdeskError):
        return f"{prefix}: {exc}" if prefix else str(exc)
    log.error(
        "%s: unexpected %s",
        what or "background work",
        type(exc).__name__,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return f"{prefix or 'Something went wrong'} ({type(exc).__name__}); the log has the details."


def _capital(text: str) -> str:
    """The start of a sentence (bwdesk's name stays lower case)."""
    return text if text.startswith("bwdesk") else text[:1].upper() + text[1:]


def ask_in_dialog(parent: QWidget | None, title: str, text: str, accept: str) -> bool:
    """A modal question whose default (Enter, Esc) is Cancel: going ahead always takes a deliberate choice."""
    box_type = QtWidgets.QMessageBox
    box = box_type(box_type.Icon.Question, title, text, box_type.StandardButton.Cancel, parent)
    go = box.addButton(accept, box_type.ButtonRole.AcceptRole)
    box.setDefaultButton(box_type.StandardButton.Cancel)
    box.setEscapeButton(box_type.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is go


def warning_box(parent: QWidget | None, title: str, text: str) -> None:
    """A modal warning the agent has to acknowledge (also before any window exists)."""
    QtWidgets.QMessageBox.warning(parent, title, text)


def crash_box(text: str, details: str) -> None:
    """The crash report: what happened in words, the (redacted) traceback behind "Show Details"."""
    box_type = QtWidgets.QMessageBox
    box = box_type(box_type.Icon.Critical, "bwdesk: unexpected error", "")
    box.setText(text)
    box.setDetailedText(details)
    box.exec()


#: What to do about each kind of account or connection trouble, in the window's terms.
_NEXT_STEPS: dict[Trouble, str] = {
    Trouble.SIGN_IN: "Check the {secret} in Settings (an API user's, not the dashboard login).",
    Trouble.ACCESS: (
        "Check the account ID in Settings, and that the API user has the Messaging role in Bandwidth's dashboard."
    ),
    Trouble.CONNECTION: "Check the network connection (or a proxy), or the API base URL in Settings.",
    Trouble.SERVICE: "Try again in a few minutes.",
}
_SECRETS = {AuthKind.BASIC: "password", AuthKind.OAUTH2: "client secret", None: "password or client secret"}


class Banner(QWidget):
    """A standing notice above the composer (the account is not set up, the credentials were refused), with a
    way to the settings: `setting` is the field Settings… opens at."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setObjectName("banner")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("background: palette(alternate-base); padding: 6px;")
        self.button = QPushButton("Settings…", self)
        self.button.setAccessibleName("Open settings")
        self.button.setToolTip("Open the settings to set up the account")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        self.setting = ""
        self.show_text("")

    def show_text(self, text: str, *, offer_settings: bool = True, setting: str = "") -> None:
        self.label.setText(text)
        self.label.setVisible(bool(text))
        self.button.setVisible(bool(text) and offer_settings)
        self.setting = setting
        where = f" at {setting.replace('_', ' ')}" if setting else ""
        self.button.setAccessibleName(f"Open settings{where}")
        self.button.setToolTip(f"Open the settings{where} to fix this")
        self.setVisible(bool(text))


class Feedback(QObject):
    """Tells the agent things in `parent`'s status bar (when it is a main window), its banner and dialogs.

    `ask` puts questions; tests replace it to answer them. `told(Told)` fires for everything said or asked.
    """

    told = Signal(object)

    def __init__(self, parent: QWidget, banner: Banner | None = None) -> None:
        super().__init__(parent)
        self._parent = parent
        self._banner = banner
        self._withdrawable = ""
        # The banner's standing notice (what could not be opened) and the trouble met since, shown instead.
        self._standing: tuple[str, bool, str] = ("", True, "")
        self._trouble = ""
        self.ask: Ask = self._ask_in_dialog

    def notify(
        self, text: str, duration: Duration = Duration.NEWS, *, withdrawn_by: SignalInstance | None = None
    ) -> None:
        """A passing note. `withdrawn_by`: a signal after which the note no longer holds (the draft changed)."""
        self._show(Told(Kind.NOTE, text, duration=duration))
        if withdrawn_by is not None:
            self._withdrawable = text
            withdrawn_by.connect(self._withdraw, Qt.ConnectionType.SingleShotConnection)

    def warn(self, text: str, duration: Duration = Duration.WARNING) -> None:
        """A note about something the agent should act on; it stays longer."""
        self._show(Told(Kind.WARNING, text, duration=duration))

    def error(self, title: str, text: str) -> None:
        """Something that stops what the agent asked for and must be acknowledged."""
        self.told.emit(Told(Kind.ERROR, text, title))
        warning_box(self._parent, title, text)

    def confirm(self, title: str, text: str, accept: str) -> bool:
        """Ask before something risky; Cancel is the default answer."""
        self.told.emit(Told(Kind.QUESTION, text, title))
        return self.ask(title, text, accept)

    def about(self, title: str, rich_text: str) -> None:
        self.told.emit(Told(Kind.ABOUT, rich_text, title))
        QtWidgets.QMessageBox.about(self._parent, title, rich_text)

    def set_banner(self, text: str, *, offer_settings: bool = True, setting: str = "") -> None:
        """A standing notice (empty: none) until it is replaced; for problems that last, like no account.
        It replaces any trouble shown (it comes with the services newly opened: new settings)."""
        if text:
            self.told.emit(Told(Kind.BANNER, text, setting=setting))
        self._standing = (text, offer_settings, setting)
        self._trouble = ""
        self._show_banner()

    def trouble(
        self,
        trouble: Trouble,
        detail: str,
        *,
        outcome: str = "",
        auth_kind: AuthKind | None = None,
        setting: str | None = None,
    ) -> None:
        """Trouble with the account or the connection (never the message's): said as such in the banner, with
        what to do and Settings… opening at the field to check, until the next send goes through
        (`clear_trouble`) or the settings change. `outcome` says what it meant ("Nothing was sent; …")."""
        if setting is None:
            setting = setting_to_check(trouble, auth_kind or AuthKind.BASIC) or ""
        step = _NEXT_STEPS.get(trouble, "").format(secret=_SECRETS[auth_kind])
        what = describe_trouble(trouble)
        detail = detail.strip().rstrip(".")
        if detail.lower().startswith(what.lower()):
            said = f"{_capital(detail)}."  # a configuration problem says it all itself
        else:
            lower = detail[:1].lower() + detail[1:] if detail[1:2].islower() else detail
            said = f"{_capital(what)}: {lower}."
        text = " ".join(p for p in (said, step, outcome) if p)
        self._trouble = text
        self.told.emit(Told(Kind.TROUBLE, text, setting=setting))
        if self._banner is not None:
            self._banner.show_text(text, offer_settings=bool(setting), setting=setting)
        bar = self._status_bar()
        if bar is not None:
            bar.showMessage(f"{_capital(what)} — see the notice above.", Duration.WARNING)

    def clear_trouble(self) -> None:
        """The trouble is over (a send went through): the banner goes back to its standing notice, if any."""
        if self._trouble:
            self._trouble = ""
            self._show_banner()

    def _show_banner(self) -> None:
        if self._banner is not None:
            text, offer, setting = self._standing
            self._banner.show_text(text, offer_settings=offer, setting=setting)

    def _show(self, told: Told) -> None:
        self.told.emit(told)
        bar = self._status_bar()
        if bar is not None:
            bar.showMessage(told.text, told.duration)

    def _status_bar(self) -> QStatusBar | None:
        return self._parent.statusBar() if isinstance(self._parent, QMainWindow) else None

    @Slot()
    def _withdraw(self) -> None:
        bar = self._status_bar()
        if bar is not None and self._withdrawable and bar.currentMessage() == self._withdrawable:
            bar.clearMessage()
        self._withdrawable = ""

    def _ask_in_dialog(self, title: str, text: str, accept: str) -> bool:
        return ask_in_dialog(self._parent, title, text, accept)
