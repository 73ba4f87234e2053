"""The one way the window tells the agent something outside a field: status-bar notes, the settings banner,
questions and message boxes. Each is also emitted as `told`, so a test can read what the agent was told."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Protocol

from PySide6 import QtWidgets
from PySide6.QtCore import QObject, Qt, QTimer, Signal, SignalInstance, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStatusBar,
    QSystemTrayIcon,
    QWidget,
)

from bwdesk.core.credentials import AuthKind
from bwdesk.core.errors import BwdeskError
from bwdesk.core.outcome import Trouble
from bwdesk.core.status_words import describe_trouble, setting_to_check

if TYPE_CHECKING:
    from PySide6.QtDBus import QDBusConnection

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
    ALERT = "alert"  # news the agent must not miss, even looking at another window (a message not delivered)
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
#: Asks the agent for a line of text: (title, label, text already there) → what was typed, None when cancelled.
AskText = Callable[[str, str, str], "str | None"]


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
    # Enter is Cancel; the way ahead by keyboard is the accept button's mnemonic (Alt+ its first letter).
    go = box.addButton(accept if "&" in accept else f"&{accept}", box_type.ButtonRole.AcceptRole)
    box.setDefaultButton(box_type.StandardButton.Cancel)
    box.setEscapeButton(box_type.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is go


def text_in_dialog(parent: QWidget | None, title: str, label: str, text: str) -> str | None:
    """A modal line of text (a note, a reason, a name); None when cancelled."""
    answer, ok = QtWidgets.QInputDialog.getText(
        parent, title, label, QtWidgets.QLineEdit.EchoMode.Normal, text
    )
    return str(answer) if ok else None


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


# --- desktop notifications: for news that arrives while the agent works in another window ---------------------


class DesktopNotifier(Protocol):
    """Shows a notification on the desktop, outside the window; quietly nothing where there is no way to."""

    def show(self, title: str, text: str) -> None: ...


class NoNotifier:
    """Where there is no desktop to notify (offscreen, the minimal platform)."""

    def show(self, title: str, text: str) -> None:
        log.info("no desktop notification here: %s", title)


class TrayNotifier(QObject):
    """Windows and macOS (and a Linux desktop without a notification service but with a tray): a tray icon,
    shown only while its message is, says it; nothing where the platform has no tray."""

    SHOWN_MS = 15_000

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray: QSystemTrayIcon | None = None
        self._hide = QTimer(self)
        self._hide.setSingleShot(True)
        self._hide.timeout.connect(self._hide_tray)

    def show(self, title: str, text: str) -> None:
        if not (QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()):
            log.info("no desktop notification: this desktop has no tray")
            return
        if self._tray is None:
            self._tray = QSystemTrayIcon(QGuiApplication.windowIcon(), self)
            self._tray.setToolTip("bwdesk")
        self._tray.show()
        self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, self.SHOWN_MS)
        self._hide.start(self.SHOWN_MS + 5_000)

    @Slot()
    def _hide_tray(self) -> None:
        if self._tray is not None:
            self._tray.hide()


class FreedesktopNotifier(QObject):
    """Linux and the BSDs: the desktop's notification service (org.freedesktop.Notifications on the session
    D-Bus: GNOME, KDE, XFCE, dunst, mako…). The call is made on a thread of its own, so a slow or stuck
    service never holds up the window; without one the message goes to `fallback` (the tray), or nowhere.

    `bus_address` (tests): a private bus instead of the session's.
    """

    SERVICE = "org.freedesktop.Notifications"
    PATH = "/org/freedesktop/Notifications"
    TIMEOUT_MS = 3_000
    not_shown = Signal(str, str)  # from the notifying thread: the service could not show it

    def __init__(
        self, fallback: DesktopNotifier | None = None, *, bus_address: str = "", parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._fallback = fallback
        self._bus_address = bus_address
        self._calls = 0
        self.not_shown.connect(self._not_shown)

    def show(self, title: str, text: str) -> None:
        self._calls += 1
        name = f"bwdesk-notify-{self._calls}"
        threading.Thread(target=self._notify, args=(title, text, name), name=name, daemon=True).start()

    def _notify(self, title: str, text: str, name: str) -> None:
        """On the notifying thread: the service shows it, or the fallback is told (on the window's thread)."""
        from PySide6.QtDBus import QDBusConnection

        try:
            if self._bus_address:
                try:
                    shown = self._call(QDBusConnection.connectToBus(self._bus_address, name), title, text)
                finally:
                    QDBusConnection.disconnectFromBus(name)
            else:
                shown = self._call(QDBusConnection.sessionBus(), title, text)
        except (
            Exception
        ):  # a platform without QtDBus, a service that broke the call: never the window's problem
            log.info("desktop notification service failed", exc_info=True)
            shown = False
        if not shown:
            self.not_shown.emit(title, text)

    def _call(self, bus: QDBusConnection, title: str, text: str) -> bool:
        """Notify through `bus`; False when there is no service to do it, or it refused."""
        from PySide6.QtCore import Q_ARG, Q_RETURN_ARG, QMetaObject
        from PySide6.QtDBus import QDBusInterface

        interface = bus.interface() if bus.isConnected() else None
        if interface is None or not interface.isServiceRegistered(self.SERVICE).value():
            log.info("no desktop notification service on D-Bus")
            return False
        notifications = QDBusInterface(self.SERVICE, self.PATH, self.SERVICE, bus)
        notifications.setTimeout(self.TIMEOUT_MS)
        if not notifications.isValid():
            return False
        # Through the interface's introspected method, so each argument has the type the service expects
        # (susssasa{sv}i): a plain call would send the replaces_id as a signed int, which services refuse.
        QMetaObject.invokeMethod(
            notifications,
            "Notify",
            Qt.ConnectionType.DirectConnection,
            Q_RETURN_ARG("uint"),
            Q_ARG(str, "bwdesk"),  # app_name
            Q_ARG("uint", 0),  # replaces_id: a new notification
            Q_ARG(str, "bwdesk"),  # app_icon: the icon the installers put in the theme
            Q_ARG(str, title),
            Q_ARG(str, text),
            Q_ARG("QStringList", []),  # actions
            Q_ARG("QVariantMap", {"desktop-entry": "bwdesk"}),  # hints: whose notification it is
            Q_ARG(int, -1),  # expire_timeout: the service's default
        )
        error = notifications.lastError()
        if error.isValid():
            log.info("desktop notification refused: %s", error.name())
            return False
        return True

    @Slot(str, str)
    def _not_shown(self, title: str, text: str) -> None:
        if self._fallback is not None:
            self._fallback.show(title, text)


def system_notifier(parent: QObject | None = None) -> DesktopNotifier:
    """The way this desktop shows notifications: its notification service on Linux (the tray if there is
    none), the tray elsewhere; nothing offscreen."""
    if QGuiApplication.platformName() in ("offscreen", "minimal", "vnc"):
        return NoNotifier()
    tray = TrayNotifier(parent)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return FreedesktopNotifier(tray, parent=parent)
    return tray


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
        layout = QHBoxLayout(self)  # the way to fix it beside what is wrong
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignVCenter)
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

    def __init__(
        self, parent: QWidget, banner: Banner | None = None, desktop: DesktopNotifier | None = None
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._banner = banner
        self.desktop = desktop  # None: the system's, made when first needed
        self._withdrawable = ""
        # The banner's standing notice (what could not be opened) and the trouble met since, shown instead.
        self._standing: tuple[str, bool, str] = ("", True, "")
        self._team_notice = ""  # the team history is away: the history shows this desk's rows alone
        self._trouble = ""
        self.ask: Ask = self._ask_in_dialog
        self.ask_for_text: AskText = self._text_in_dialog

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

    def alert(self, title: str, text: str) -> None:
        """News the agent must not miss (a message was not delivered): a lasting note in the window; and when
        the window is not the active one, a desktop notification and the taskbar's (or the dock's) attention."""
        self._show(Told(Kind.ALERT, text, title, duration=Duration.WARNING))
        window = self._parent.window()
        if window.isActiveWindow():
            return
        if self.desktop is None:
            self.desktop = system_notifier(self)
        self.desktop.show(title, text)
        QApplication.alert(window)

    def error(self, title: str, text: str) -> None:
        """Something that stops what the agent asked for and must be acknowledged."""
        self.told.emit(Told(Kind.ERROR, text, title))
        warning_box(self._parent, title, text)

    def confirm(self, title: str, text: str, accept: str) -> bool:
        """Ask before something risky; Cancel is the default answer."""
        self.told.emit(Told(Kind.QUESTION, text, title))
        return self.ask(title, text, accept)

    def ask_text(self, title: str, label: str, *, text: str = "", required: str = "") -> str | None:
        """A line of text from the agent, spaces tidied; None when cancelled. `required`: what to say when the
        answer is empty (the agent is told it, and None is returned: nothing is done without it)."""
        self.told.emit(Told(Kind.QUESTION, label, title))
        answer = self.ask_for_text(title, label, text)
        if answer is None:
            return None
        answer = " ".join(answer.split())
        if required and not answer:
            self.warn(required, Duration.MOMENT)
            return None
        return answer

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

    def set_team_notice(self, text: str) -> None:
        """The team history's standing notice (empty: none), shown after the banner's own while it lasts: the
        history shows this desk's messages alone until the team database answers again."""
        if text == self._team_notice:
            return
        if text:
            self.told.emit(Told(Kind.BANNER, text))
        self._team_notice = text
        if not self._trouble:
            self._show_banner()

    def trouble(
        self,
        trouble: Trouble,
        detail: str,
        *,
        outcome: str = "",
        auth_kind: AuthKind | None = None,
        setting: str | None = None,
        secret_from: str = "",
    ) -> None:
        """Trouble with the account or the connection (never the message's): said as such in the banner, with
        what to do and Settings… opening at the field to check, until the next send goes through
        (`clear_trouble`) or the settings change. `outcome` says what it meant ("Nothing was sent; …").
        `secret_from`: the environment variables the credentials came from, where refused ones are corrected."""
        if setting is None:
            setting = setting_to_check(trouble, auth_kind or AuthKind.BASIC) or ""
        step = _NEXT_STEPS.get(trouble, "").format(secret=_SECRETS[auth_kind])
        if trouble is Trouble.SIGN_IN and secret_from:
            step = (
                f"The credentials come from {secret_from} in the environment bwdesk was started with, which "
                "Settings cannot override: correct them there and start bwdesk again."
            )
            setting = ""  # no field in Settings would help
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
            text = " ".join(t for t in (text, self._team_notice) if t)
            self._banner.show_text(text, offer_settings=offer and bool(self._standing[0]), setting=setting)

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

    def _text_in_dialog(self, title: str, label: str, text: str) -> str | None:
        return text_in_dialog(self._parent, title, label, text)
