"""Settings → Team history: the team database's URL, its password, the agent's name there, and its own Test
connection; a group of the settings dialog (docs/design.md §16.17)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core.account import Context
from bwdesk.core.errors import BwdeskError, ConfigError
from bwdesk.core.logs import register_secret
from bwdesk.core.secrets import (
    NOT_SAVED_WITHOUT_KEYRING,
    SecretStore,
    SecretStoreError,
    SecretStoreStatus,
    SecretStoreUnavailable,
)
from bwdesk.core.settings import LABELS, Settings
from bwdesk.core.team.config import TeamConfig, TeamPassword, team_password
from bwdesk.core.team.identity import agent_name, desk_id
from bwdesk.core.team.url import EXAMPLE, TeamUrl, parse_history_url
from bwdesk.ui.feedback import error_message
from bwdesk.ui.secret_edit import OR_SESSION_ONLY, SecretEdit
from bwdesk.ui.style import ProblemLabel, Tone, text_css
from bwdesk.ui.tasks import BackgroundTasks

if TYPE_CHECKING:
    from bwdesk.core.team.status import TeamStatus

log = logging.getLogger(__name__)

PASSWORD_LABEL = "Database password"

TIPS = {
    "history_url": (
        "The team database IT gives you: a postgresql:// URL without the password, e.g. "
        f"{EXAMPLE}. Empty: the history stays on this computer only."
    ),
    "team_password": (
        "The team database's password for the user in the URL; kept in your system keyring, never in a "
        "file. Empty: libpq's own .pgpass or service file, if IT set one up."
    ),
    "agent_name": "The name your colleagues see next to the messages you send",
}

#: A short heading for each `Problem` (by its `--json` name); the sentence after it is core's.
HEADINGS = {
    "dns": "Host not found",
    "refused": "Not reachable",
    "timeout": "No answer",
    "unreachable": "Not reachable",
    "tls-required": "TLS required",
    "tls-failed": "TLS failed",
    "no-password": "No password",
    "authentication-failed": "Wrong password",
    "not-allowed": "Not allowed",
    "database-missing": "No such database",
    "permission-denied": "Permission denied",
    "server-unavailable": "Server not ready",
    "connection-lost": "Connection lost",
    "schema-missing": "No bwdesk tables",
    "schema-older": "Older schema",
    "schema-newer": "Newer schema",
    "not-bwdesk": "Not bwdesk's schema",
    "other": "",
}


def describe_status(status: TeamStatus) -> tuple[bool, str]:
    """(usable, what to tell the person) for a Test connection's report: what was reached, or what went
    wrong and what to do, in `core.team`'s words."""
    reached = ""
    if status.server_version:
        tls = status.tls or ("no TLS (this computer)" if status.config.url.is_local else "no TLS")
        reached = f"PostgreSQL {status.server_version}, {tls}"
    problem = status.problem
    if problem is not None:
        heading = HEADINGS.get(problem.problem.value, "")
        text = str(problem).removeprefix("Team history: ")
        text = text[:1].upper() + text[1:]
        if reached:
            text += f" (Reached {reached}.)"
        return False, f"{heading} — {text}" if heading else text
    extra = [table for table, rights in (status.rights or {}).items() if rights.get("delete")]
    rows = "" if status.rows is None else f", {status.rows:,} message{'s' if status.rows != 1 else ''}"
    text = (
        f"Connected: {reached}, schema version {status.schema_version} (this bwdesk knows "
        f"{status.schema_known}){rows}. This desk can use the team history."
    )
    if extra:
        text += f" Note: the role may also DELETE from {', '.join(extra)}, more than bwdesk needs."
    return True, text


@dataclass(frozen=True)
class _TeamAnswer:
    """What the keyring said when the dialog opened (read in the background), and the default name."""

    status: SecretStoreStatus | None  # None in the sandbox, which never touches the keyring
    password: str | None = field(repr=False)
    session_only: bool
    problem: str | None
    default_agent: str


class TeamPasswordNotSaved(BwdeskError):
    """The settings were saved, the team database's password was not (the keyring said why)."""

    def __init__(self, cause: SecretStoreError) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass(frozen=True)
class TeamPasswordSave:
    """The team password Save writes (made on the GUI thread, `run` on the worker that saves)."""

    key: str
    password: str = field(repr=False)
    session_only: bool

    def run(self, store: SecretStore) -> None:
        try:
            store.save_team_password(self.key, self.password, session_only=self.session_only)
        except SecretStoreError as exc:
            raise TeamPasswordNotSaved(exc) from None


class TeamHistorySection(QGroupBox):
    """The Team history group. `fields` and `problems` (by setting key, plus `team_password`) join the
    dialog's; `changed` asks the dialog to validate; `tested(object)` carries each Test connection's
    `TeamStatus` (None when it could not run)."""

    changed = Signal()
    tested = Signal(object)

    def __init__(
        self, context: Context, tasks: BackgroundTasks, store: SecretStore, parent: QWidget | None = None
    ) -> None:
        super().__init__("Team history", parent)
        self.setAccessibleName("Team history")
        self._context = context
        self._tasks = tasks
        self._store = store
        self._locked = frozenset(context.loaded.locked)
        self._store_status: SecretStoreStatus | None = None
        self._password_touched = False
        self._testing = False
        saved = context.loaded.settings
        self._saved_key = _keyring_key(saved.history_url)
        # (keyring key, password, session only) as saved now; Save keeps an unchanged password as it is.
        self._as_saved: tuple[str | None, str | None, bool] = (self._saved_key, None, False)
        self.fields: dict[str, QWidget] = {}
        self.problems: dict[str, ProblemLabel] = {}
        self._build()
        self.url_edit.setText(saved.history_url)
        self.url_edit.setCursorPosition(0)  # a long URL shows its user and host, not its options
        self.agent_edit.setText(saved.agent_name)
        self._show_environment()
        self.url_edit.textChanged.connect(self._edited)
        self.agent_edit.textChanged.connect(self._edited)
        self.password_edit.textEdited.connect(self._password_edited)
        self._load()

    # -- building --------------------------------------------------------------------------------------

    def _build(self) -> None:
        form = QFormLayout(self)
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("Empty: the history stays on this computer")
        self.url_note = self._row(form, "history_url", self.url_edit, LABELS["history_url"])

        self.password_secret = SecretEdit(PASSWORD_LABEL, TIPS["team_password"], self)
        self.password_edit = self.password_secret.edit
        self.password_edit.setPlaceholderText("From .pgpass or a service file, if IT set one up")
        self.session_only_check = QCheckBox("Keep for this session only", self)
        self.session_only_check.setAccessibleName("Keep the database password for this session only")
        self.session_only_check.setToolTip(
            "Keep the team database's password in memory only, until bwdesk quits (you enter it again next "
            "time). bwdesk never writes passwords to a file."
        )
        self.session_only_check.hide()
        self.password_note = self._row(
            form, "team_password", self.password_secret, PASSWORD_LABEL, extra=self.session_only_check
        )
        self.fields["team_password"] = self.password_edit

        self.agent_edit = QLineEdit(self)
        self.agent_edit.setPlaceholderText("Empty: your name on this computer")
        self.agent_note = self._row(form, "agent_name", self.agent_edit, "Your name")

        test = QWidget(self)
        test_layout = QVBoxLayout(test)
        test_layout.setContentsMargins(0, 0, 0, 0)
        test_layout.setSpacing(4)
        self.test_button = QPushButton("Test connection", test)
        self.test_button.setAccessibleName("Test the team database connection")
        self.test_button.setToolTip(
            "Reach the team database with the URL and password above (as typed, before saving): the "
            "server, TLS, signing in, the schema version and the rights bwdesk needs"
        )
        self.test_button.clicked.connect(self.test_connection)
        test_layout.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.test_result_label = QLabel(test)
        self.test_result_label.setWordWrap(True)
        self.test_result_label.setAccessibleName("Team database test result")
        self.test_result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_result_label.hide()
        test_layout.addWidget(self.test_result_label)
        # An (empty) label widget, not "": a row without one is laid out at its size hint, so a wrapped
        # result would get its unwrapped height (QFormLayout asks height-for-width only beside a label).
        form.addRow(QLabel(self), test)

    def _row(
        self, form: QFormLayout, key: str, widget: QWidget, label: str, *, extra: QWidget | None = None
    ) -> QLabel:
        """A field with (under it) an optional control, its problem, and a note on what the environment
        changes; returns the note (hidden until there is something to say)."""
        if key in TIPS and isinstance(widget, QLineEdit):
            widget.setAccessibleName(LABELS.get(key, label))
            widget.setToolTip(TIPS[key])
        holder = QWidget(self)
        holder.setObjectName(f"row_{key}")
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(widget)
        if extra is not None:
            layout.addWidget(extra)
        problem = ProblemLabel(key, LABELS.get(key, label), holder)
        layout.addWidget(problem)
        note = QLabel(holder)
        note.setWordWrap(True)
        note.setAccessibleName(f"{label}: set in the environment")
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        note.hide()
        layout.addWidget(note)
        form.addRow(label, holder)
        self.problems[key] = problem
        self.fields[key] = widget
        return note

    def _show_environment(self) -> None:
        """Under each field, what the environment uses instead of it (never a password)."""
        env = self._context.env
        text = env.get("BWDESK_HISTORY_URL", "").strip()
        if text and "history_url" in self._locked:
            self._note(
                self.url_note, "BWDESK_HISTORY_URL is set but not used: your administrator fixed this."
            )
        elif text:
            try:
                used = f"this desk uses {parse_history_url(text, 'BWDESK_HISTORY_URL').url} instead"
            except ConfigError as exc:  # its words never repeat a password
                used = f"used instead, but it cannot be: {str(exc).partition(': ')[2]}"
            self._note(self.url_note, f"BWDESK_HISTORY_URL is set: {used} (Test connection tests the field).")
        if env.get("PGPASSWORD"):
            self._note(self.password_note, "PGPASSWORD is set: this desk signs in with it instead.")
        agent = " ".join(env.get("BWDESK_AGENT", "").split())
        if agent and "agent_name" in self._locked:
            self._note(self.agent_note, "BWDESK_AGENT is set but not used: your administrator fixed this.")
        elif agent:
            self._note(self.agent_note, f"BWDESK_AGENT is set: the team sees “{agent}” instead.")

    @staticmethod
    def _note(label: QLabel, text: str) -> None:
        label.setText(text)
        label.show()

    # -- what the dialog uses --------------------------------------------------------------------------

    def edited(self, settings: Settings) -> Settings:
        """`settings` with this section's fields as typed."""
        return replace(
            settings, history_url=self.url_edit.text().strip(), agent_name=self.agent_edit.text().strip()
        )

    def ready_to_save(self, settings: Settings) -> bool:
        """False (with the problem under its field) when the typed password cannot be kept."""
        self.problems["team_password"].show_problem("")
        if not self.password_edit.text():
            return True
        if not settings.history_url:
            self.problems["team_password"].show_problem(
                "Enter the team history URL first: the password is kept under it."
            )
            self.url_edit.setFocus(Qt.FocusReason.OtherFocusReason)
            return False
        save = self.password_to_save(settings)
        no_keyring = self._store_status is not None and not self._store_status.available
        if save is not None and not save.session_only and no_keyring:
            self.problems["team_password"].show_problem(NOT_SAVED_WITHOUT_KEYRING)
            self.session_only_check.setFocus(Qt.FocusReason.OtherFocusReason)
            return False
        return True

    def password_to_save(self, settings: Settings) -> TeamPasswordSave | None:
        """The password Save must write: only when it, its URL or where it is kept changed (Save with
        nothing changed must not touch the keyring, which may ask to be unlocked)."""
        password = self.password_edit.text()
        key = _keyring_key(settings.history_url)
        if not password or key is None:
            return None
        session_only = self._session_only()
        if (key, password, session_only) == self._as_saved:
            return None
        return TeamPasswordSave(key, password, session_only)

    def show_save_failure(self, exc: BaseException) -> bool:
        """Say why the password was not saved (True), or leave `exc` to the dialog (False)."""
        if not isinstance(exc, TeamPasswordNotSaved):
            return False
        offer = "" if isinstance(exc.cause, SecretStoreUnavailable) else f" {OR_SESSION_ONLY}"
        self.problems["team_password"].show_problem(f"{exc}{offer} The other settings were saved.")
        self.session_only_check.show()
        self.session_only_check.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def _session_only(self) -> bool:
        return not self.session_only_check.isHidden() and self.session_only_check.isChecked()

    def _edited(self, *_args: object) -> None:
        self._clear_result()
        self.changed.emit()

    def _password_edited(self, _text: str) -> None:
        self._password_touched = True
        self.problems["team_password"].show_problem("")
        self._clear_result()

    def _clear_result(self) -> None:
        self.test_result_label.clear()
        self.test_result_label.hide()

    # -- the keyring -----------------------------------------------------------------------------------

    def _load(self) -> None:
        """Ask (in the background) where secrets are kept and for the saved URL's password; and the name
        the team sees when none is set (the OS may ask a directory service for it)."""
        store, key, sandbox = self._store, self._saved_key, self._context.is_sandbox

        def work() -> _TeamAnswer:
            default_agent = agent_name("")
            if sandbox:
                return _TeamAnswer(None, None, False, None, default_agent)
            status = store.status()
            password = problem = None
            if key is not None:
                try:
                    password = store.load_team_password(key)
                except SecretStoreError as exc:
                    problem = str(exc)
            session_only = key is not None and store.is_team_password_session_only(key)
            return _TeamAnswer(status, password, session_only, problem, default_agent)

        self._tasks.run(
            work,
            self._loaded,
            self._load_failed,
            description="read the team history's password",
            owner=self,
        )

    def _loaded(self, answer: _TeamAnswer) -> None:
        self.agent_edit.setPlaceholderText(f"Empty: {answer.default_agent}")
        self._store_status = answer.status
        if answer.status is not None and not answer.status.available:
            # Without a keyring this is the only way to keep the password at all: offered ticked.
            self.session_only_check.show()
            self.session_only_check.setChecked(True)
        if answer.problem:
            self.problems["team_password"].show_problem(f"{answer.problem} {OR_SESSION_ONLY}")
            self.session_only_check.show()
        if answer.session_only:
            self.session_only_check.show()
            self.session_only_check.setChecked(True)
        if answer.password is not None and not self._password_touched:
            self.password_edit.setText(answer.password)
            self._as_saved = (self._saved_key, answer.password, answer.session_only)

    def _load_failed(self, exc: BaseException) -> None:
        self.problems["team_password"].show_problem(error_message(exc))
        self.session_only_check.show()

    # -- Test connection -------------------------------------------------------------------------------

    def test_connection(self) -> None:
        """Reach the team database with the URL, password and name as typed, in the background."""
        if self._testing:
            return
        text = self.url_edit.text().strip()
        if not text:
            self._show_result(
                False, "Enter the team history URL first (empty: the history stays on this computer)."
            )
            self.tested.emit(None)
            return
        try:
            url = parse_history_url(text)
        except ConfigError as exc:  # the field's own problem, in the same words (never the password)
            self._show_result(False, f"Fix the URL first — {str(exc).partition(': ')[2]}")
            self.tested.emit(None)
            return
        typed, name = self.password_edit.text(), self.agent_edit.text()
        env, profile = self._context.env, self._context.profile

        def work() -> TeamStatus:
            from bwdesk.core.team.status import team_status  # psycopg loads here, on the worker

            if typed:
                register_secret(typed)
                password = TeamPassword(typed, "the password typed in Settings")
            else:
                password = team_password(url, env, None)  # PGPASSWORD, else libpq's own files
            config = TeamConfig(url, "Settings", agent_name(name), desk_id(profile))
            return team_status(config, password)

        self._testing = True
        self.test_button.setEnabled(False)
        self.test_result_label.setStyleSheet("")
        self.test_result_label.setText(f"Testing {url.where}…")
        self.test_result_label.show()
        self._tasks.run(
            work,
            self._test_done,
            self._test_failed,
            description="test the team database connection",
            owner=self,
        )

    def _test_done(self, status: TeamStatus) -> None:
        self._testing = False
        self.test_button.setEnabled(True)
        ok, text = describe_status(status)
        log.info(
            "team history test: %s (%s)",
            "usable" if ok else status.problem.problem.value if status.problem else "not usable",
            status.config.url.where,
        )
        self._show_result(ok, text)
        self.tested.emit(status)

    def _test_failed(self, exc: BaseException) -> None:
        self._testing = False
        self.test_button.setEnabled(True)
        self._show_result(False, error_message(exc))
        self.tested.emit(None)

    def _show_result(self, ok: bool, text: str) -> None:
        self.test_result_label.setStyleSheet(text_css(Tone.SUCCESS if ok else Tone.PROBLEM, self.palette()))
        self.test_result_label.setText(("✓ " if ok else "✖ ") + text)
        self.test_result_label.show()
        QTimer.singleShot(0, self._show_result_in_view)

    def _show_result_in_view(self, tries: int = 10) -> None:
        """Scroll the dialog's fields so the whole result is seen. The layouts make room for it in turns
        (the section's, the fields' page, the scroll area), so this looks again on the next turns until
        the label and the page have their full heights."""
        label = self.test_result_label
        scroll = self.parentWidget()
        while scroll is not None and not isinstance(scroll, QScrollArea):
            scroll = scroll.parentWidget()
        page = scroll.widget() if scroll is not None else None
        if scroll is None or page is None or not label.isVisible():
            return
        scroll.ensureWidgetVisible(label, 0, 10)
        settled = label.height() >= label.heightForWidth(label.width()) and page.height() >= (
            page.heightForWidth(page.width())
        )
        if not settled and tries > 1:
            QTimer.singleShot(0, lambda: self._show_result_in_view(tries - 1))


def _keyring_key(text: str) -> str | None:
    """The keyring entry a URL's password lives under, or None without a usable URL."""
    if not text.strip():
        return None
    try:
        url: TeamUrl = parse_history_url(text)
    except ConfigError:
        return None
    return url.keyring_key


__all__ = [
    "HEADINGS",
    "TeamHistorySection",
    "TeamPasswordNotSaved",
    "TeamPasswordSave",
    "describe_status",
]
