"""The settings dialog: the account, the credentials and where they are kept, "does it work?", and the first run's
"Try the sandbox" (docs/design.md §5.4, §3.1)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from PySide6.QtCore import QLocale, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core import paths
from bwdesk.core.account import Context
from bwdesk.core.api import Timeouts
from bwdesk.core.bandwidth import BandwidthClient, CheckResult, ConnectionCheck
from bwdesk.core.credentials import AuthKind, BasicCredentials, Credentials, OAuth2Credentials
from bwdesk.core.phone import region_codes
from bwdesk.core.secrets import (
    NOT_SAVED_WITHOUT_KEYRING,
    SecretStore,
    SecretStoreError,
    SecretStoreStatus,
    SecretStoreUnavailable,
    default_store,
)
from bwdesk.core.settings import (
    LABELS,
    MAX_RETENTION_DAYS,
    MAX_SEGMENT_LIMIT,
    MAX_TIMEOUT,
    FromNumber,
    LoadedSettings,
    Settings,
    SettingsError,
    SettingsProblem,
    save_settings,
    validate_settings,
)
from bwdesk.ui.feedback import error_message
from bwdesk.ui.secret_edit import OR_SESSION_ONLY, SecretEdit
from bwdesk.ui.style import ProblemLabel, Tone, text_css
from bwdesk.ui.tasks import BackgroundTasks
from bwdesk.ui.team_settings import TeamHistorySection

log = logging.getLogger(__name__)

T = TypeVar("T")

#: `exec()`'s result when the person chose "Try the sandbox" (Rejected is 0, Accepted 1).
SANDBOX_RESULT = 2

#: The dialog's height when the screen has room; on a smaller screen it takes the screen's height
#: less `FRAME_ALLOWANCE` (title bar and frame), and the fields scroll.
PREFERRED_HEIGHT = 760
FRAME_ALLOWANCE = 48
MIN_HEIGHT = 320

INTRO = (
    "Welcome to bwdesk. Enter your Bandwidth account's details (the Bandwidth dashboard shows them; the "
    "username and password are an API user's, not your dashboard login) — or try the sandbox first: a "
    "practice Bandwidth API on this computer that sends nothing anywhere."
)

#: Environment variables that override saved settings (docs/design.md §4.8), for the note at the top.
_ENV_OVERRIDES = (
    "BW_ACCOUNT_ID",
    "BW_MESSAGING_APPLICATION_ID",
    "BW_USERNAME",
    "BW_PASSWORD",
    "BW_CLIENT_ID",
    "BW_CLIENT_SECRET",
    "BW_NUMBER",
    "BWDESK_API_BASE",
    "BWDESK_OAUTH_TOKEN_URL",
    "BWDESK_REGION",
    "BWDESK_HISTORY_URL",
    "BWDESK_AGENT",
    "PGPASSWORD",
)

_TIPS: dict[str, str] = {
    "account_id": "Your Bandwidth account ID: digits only, shown at the top of the Bandwidth dashboard",
    "application_id": "The id of the Bandwidth Messaging application the From numbers belong to",
    "from_numbers": "The numbers (or sender IDs) this account sends from, each with an optional label",
    "default_from": "The From number a new message starts with",
    "region": "The country whose numbers may be typed without +country code (e.g. 919 555 0123 for US)",
    "auth_kind": "How bwdesk signs in to Bandwidth's API",
    "username": "The API user's username (not your dashboard login)",
    "password": "The API user's password; kept in your system keyring, never in a file",
    "client_id": "The OAuth2 client ID of the API credentials",
    "client_secret": "The OAuth2 client secret; kept in your system keyring, never in a file",
    "api_base": "Bandwidth's Messaging API address; change it only for the sandbox or a proxy",
    "token_url": "Where OAuth2 tokens come from; change it only for the sandbox or a proxy",
    "connect_timeout": "How long to wait for a connection to Bandwidth",
    "read_timeout": "How long to wait for Bandwidth to answer once connected",
    "retention_days": "Delete history rows older than this many days (Keep forever: never delete)",
    "confirm_segments_above": "A send billing more SMS segments than this in total (segments per message × "
    "messages; an MMS counts 1 per message) asks before it goes; the command line needs --yes",
}


def fitting_height(available: int | None) -> int:
    """The dialog's height on a screen `available` pixels high (None: unknown), frame and title bar included."""
    if available is None:
        return PREFERRED_HEIGHT
    return max(MIN_HEIGHT, min(PREFERRED_HEIGHT, available - FRAME_ALLOWANCE))


def region_choices() -> list[tuple[str, str]]:
    """(code, "US — United States") for every region phone numbers know, sorted by name."""
    choices = []
    for code in region_codes():
        territory = QLocale.codeToTerritory(code)
        name = QLocale.territoryToString(territory) if territory != QLocale.Country.AnyTerritory else ""
        choices.append((code, f"{code} — {name}" if name else code))
    return sorted(choices, key=lambda c: (c[1].split(" — ")[-1].casefold(), c[0]))


@dataclass(frozen=True)
class _StoreAnswer:
    """What the keyring said when the dialog opened (read in the background)."""

    status: SecretStoreStatus | None  # None in the sandbox, which never touches the keyring
    credentials: Credentials | None  # the saved secret for the account, if any
    session_only: bool  # that secret is held for this session only
    problem: str | None  # why it could not be read (a locked keyring)


class _Problem(ProblemLabel):
    """A field's validation message, under the field; hidden when there is none."""

    def __init__(self, key: str, parent: QWidget) -> None:
        super().__init__(key, LABELS.get(key, key), parent)


class SettingsDialog(QDialog):
    """Edit the settings and credentials of `context`'s profile.

    Signals: `saved(LoadedSettings)` (just before the dialog accepts), `test_finished(object)` (a
    `ConnectionCheck`, or None when the test could not run), `store_status_changed(object)` (a
    `SecretStoreStatus`, once the keyring has answered). `sandbox_requested` is True after "Try the
    sandbox" (the result is then `SANDBOX_RESULT`).
    """

    saved = Signal(object)
    test_finished = Signal(object)
    store_status_changed = Signal(object)

    def __init__(
        self,
        context: Context,
        tasks: BackgroundTasks,
        *,
        first_run: bool = False,
        secret_store: SecretStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("bwdesk — Welcome" if first_run else "bwdesk — Settings")
        self.setAccessibleName("Settings")
        self._context = context
        self._tasks = tasks
        self._store = secret_store if secret_store is not None else default_store()
        self._loaded: LoadedSettings = context.loaded
        self._locked = frozenset(context.loaded.locked)
        self._first_run = first_run
        self._sandbox_requested = False
        self._store_status: SecretStoreStatus | None = None
        self._secret_touched = False
        self._select_when_loaded: QLineEdit | None = None  # opened at the secret: typed over once it is read
        # (account id, credentials, session only) as they are saved now; Save keeps an unchanged secret as is.
        self._secret_as_saved: tuple[str, Credentials | None, bool] = (
            context.loaded.settings.account_id,
            None,
            False,
        )
        self._testing = False
        self._saving = False
        self._saved_settings: LoadedSettings | None = None
        self._regions = region_choices()
        self.problems: dict[str, ProblemLabel] = {}
        self.fields: dict[str, QWidget] = {}
        self._holders: dict[str, QWidget] = {}
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(300)
        self._validate_timer.timeout.connect(self.validate)

        self._build()
        self._fill(context.loaded.settings)
        self._apply_locks()
        self._connect_changes()
        self._update_auth_rows()
        self._load_secret_store()

    # -- what the app uses ------------------------------------------------------------------------------

    @property
    def sandbox_requested(self) -> bool:
        """True when the person chose "Try the sandbox" (first run)."""
        return self._sandbox_requested

    @property
    def saved_settings(self) -> LoadedSettings | None:
        """The settings as they load after Save (None until saved)."""
        return self._saved_settings

    @property
    def store_status(self) -> SecretStoreStatus | None:
        return self._store_status

    def edited_settings(self) -> Settings:
        """The settings as the fields hold them now (not yet validated)."""
        base = self.team_section.edited(self._loaded.settings)
        numbers = []
        for row in range(self.numbers_table.rowCount()):
            number = self._cell(row, 0)
            label = self._cell(row, 1)
            if number or label:
                numbers.append(FromNumber(number, label))
        retention = self.retention_spin.value()
        return replace(
            base,
            account_id=self.account_id_edit.text().strip(),
            application_id=self.application_id_edit.text().strip(),
            from_numbers=tuple(numbers),
            default_from=str(self.default_from_combo.currentData() or ""),
            region=str(self.region_combo.currentData() or base.region),
            auth_kind=self.auth_kind(),
            username=self.username_edit.text().strip(),
            client_id=self.client_id_edit.text().strip(),
            api_base=self.api_base_edit.text().strip(),
            token_url=self.token_url_edit.text().strip(),
            connect_timeout=round(self.connect_timeout_spin.value(), 3),
            read_timeout=round(self.read_timeout_spin.value(), 3),
            retention_days=retention or None,
            confirm_segments_above=self.segment_limit_spin.value(),
        )

    def auth_kind(self) -> AuthKind:
        return AuthKind.OAUTH2 if self.oauth_radio.isChecked() else AuthKind.BASIC

    def edited_credentials(self) -> Credentials | None:
        """The credentials typed for the chosen kind, or None when the secret is empty."""
        if self.auth_kind() is AuthKind.BASIC:
            password = self.password_edit.text()
            return BasicCredentials(self.username_edit.text().strip(), password) if password else None
        secret = self.client_secret_edit.text()
        return OAuth2Credentials(self.client_id_edit.text().strip(), secret) if secret else None

    def validate(self) -> list[SettingsProblem]:
        """Check the fields with core's rules and show each problem next to its field."""
        self._validate_timer.stop()
        problems = validate_settings(self.edited_settings())
        by_field = {p.field: p.message for p in problems}
        for key, label in self.problems.items():
            if key in LABELS:
                label.show_problem(by_field.get(key, ""))
        return problems

    # -- building --------------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        if self._first_run:
            self.intro_label = QLabel(INTRO, self)
            self.intro_label.setWordWrap(True)
            self.intro_label.setAccessibleName("Welcome")
            outer.addWidget(self.intro_label)
        self.note_label = QLabel(self)
        self.note_label.setWordWrap(True)
        self.note_label.setAccessibleName("Note")
        self.note_label.hide()
        outer.addWidget(self.note_label)

        page = QWidget(self)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)

        # Account
        account = QGroupBox("Account", page)
        form = QFormLayout(account)
        self.account_id_edit = self._line("account_id")
        self._row(form, "account_id", self.account_id_edit)
        self.application_id_edit = self._line("application_id")
        self._row(form, "application_id", self.application_id_edit)
        column.addWidget(account)

        # Sign-in
        sign_in = QGroupBox("Sign-in", page)
        self.sign_in_form = form = QFormLayout(sign_in)
        kinds = QWidget(sign_in)
        kinds_layout = QHBoxLayout(kinds)
        kinds_layout.setContentsMargins(0, 0, 0, 0)
        self.basic_radio = QRadioButton("Username and password (Basic)", kinds)
        self.basic_radio.setAccessibleName("Basic authentication")
        self.basic_radio.setToolTip("Sign in with an API user's username and password")
        self.oauth_radio = QRadioButton("OAuth2 client ID and secret", kinds)
        self.oauth_radio.setAccessibleName("OAuth2 authentication")
        self.oauth_radio.setToolTip(
            "Sign in with OAuth2 client credentials (a bearer token is fetched for you)"
        )
        self._auth_group = QButtonGroup(self)
        self._auth_group.addButton(self.basic_radio)
        self._auth_group.addButton(self.oauth_radio)
        kinds_layout.addWidget(self.basic_radio)
        kinds_layout.addWidget(self.oauth_radio)
        kinds_layout.addStretch(1)
        kinds.setAccessibleName(LABELS["auth_kind"])
        kinds.setToolTip(_TIPS["auth_kind"])
        self._row(form, "auth_kind", kinds)
        self.username_edit = self._line("username")
        self._row(form, "username", self.username_edit)
        self.password_secret = SecretEdit("Password", _TIPS["password"], sign_in)
        self.password_edit = self.password_secret.edit
        self._row(form, "password", self.password_secret, label="Password")
        self.client_id_edit = self._line("client_id")
        self._row(form, "client_id", self.client_id_edit)
        self.client_secret_secret = SecretEdit("Client secret", _TIPS["client_secret"], sign_in)
        self.client_secret_edit = self.client_secret_secret.edit
        self._row(form, "client_secret", self.client_secret_secret, label="Client secret")

        # Everything about where the secret is kept, in one row that is always there: its parts come and go
        # inside it (a form row that appears later would take its wrapped text's unwrapped height).
        keyring_box = QWidget(sign_in)
        keyring_layout = QVBoxLayout(keyring_box)
        keyring_layout.setContentsMargins(0, 0, 0, 0)
        keyring_layout.setSpacing(4)
        self.store_label = QLabel("Checking the keyring…", keyring_box)
        self.store_label.setWordWrap(True)
        self.store_label.setAccessibleName("Where secrets are kept")
        self.store_label.setToolTip("Where bwdesk keeps the password or client secret")
        self.store_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        keyring_layout.addWidget(self.store_label)
        # Why no keyring is usable, in the backends' own words: for IT, folded away from everyone else.
        self.store_details_button = QToolButton(keyring_box)
        self.store_details_button.setText("Details")
        self.store_details_button.setCheckable(True)
        self.store_details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.store_details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.store_details_button.setAutoRaise(True)
        self.store_details_button.setAccessibleName("Keyring details")
        self.store_details_button.setToolTip("Show why no keyring can be used here (for IT)")
        self.store_details_button.toggled.connect(self._show_store_details)
        self.store_details_button.hide()
        keyring_layout.addWidget(self.store_details_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.store_details_label = QLabel(keyring_box)
        self.store_details_label.setWordWrap(True)
        self.store_details_label.setAccessibleName("Why no keyring can be used")
        self.store_details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.store_details_label.hide()
        keyring_layout.addWidget(self.store_details_label)
        self.session_only_check = QCheckBox("Keep for this session only", keyring_box)
        self.session_only_check.setAccessibleName("Keep for this session only")
        self.session_only_check.setToolTip(
            "Keep the secret in memory only, until bwdesk quits (you enter it again next time). "
            "bwdesk never writes secrets to a file."
        )
        self.session_only_check.hide()
        keyring_layout.addWidget(self.session_only_check)
        self.store_problem = _Problem("secret_store", keyring_box)
        self.store_problem.setAccessibleName("Problem with the keyring")
        keyring_layout.addWidget(self.store_problem)
        form.addRow("Kept in", keyring_box)
        column.addWidget(sign_in)

        # Connection
        connection = QGroupBox("Connection", page)
        self.connection_form = form = QFormLayout(connection)
        self.api_base_edit = self._line("api_base")
        self._row(form, "api_base", self.api_base_edit)
        self.token_url_edit = self._line("token_url")
        self._row(form, "token_url", self.token_url_edit)
        self.connect_timeout_spin = self._seconds("connect_timeout")
        self._row(form, "connect_timeout", self.connect_timeout_spin)
        self.read_timeout_spin = self._seconds("read_timeout")
        self._row(form, "read_timeout", self.read_timeout_spin)
        column.addWidget(connection)

        # Sending
        sending = QGroupBox("Sending", page)
        form = QFormLayout(sending)
        self.numbers_table = QTableWidget(0, 2, sending)
        self.numbers_table.setHorizontalHeaderLabels(["Number", "Label"])
        self.numbers_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.numbers_table.setColumnWidth(0, self.fontMetrics().horizontalAdvance("+1 (919) 555-0100") + 24)
        self.numbers_table.horizontalHeader().setStretchLastSection(True)
        self.numbers_table.verticalHeader().hide()
        self.numbers_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.numbers_table.setAccessibleName(LABELS["from_numbers"])
        self.numbers_table.setToolTip(_TIPS["from_numbers"] + " (double-click a cell to edit it)")
        # A few rows, then it scrolls: a tall empty table pushed the rest of the dialog off small screens.
        self.numbers_table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.numbers_table.setFixedHeight(
            self.numbers_table.horizontalHeader().sizeHint().height()
            + 4 * self.numbers_table.verticalHeader().defaultSectionSize()
            + 2 * self.numbers_table.frameWidth()
        )
        self.add_number_button = QPushButton("Add number", sending)
        self.add_number_button.setAccessibleName("Add From number")
        self.add_number_button.setToolTip("Add a From number (type it in the new row)")
        self.add_number_button.clicked.connect(self._add_number)
        self.remove_number_button = QPushButton("Remove", sending)
        self.remove_number_button.setAccessibleName("Remove From number")
        self.remove_number_button.setToolTip("Remove the selected From numbers")
        self.remove_number_button.clicked.connect(self._remove_numbers)
        numbers = QWidget(sending)
        numbers_layout = QVBoxLayout(numbers)
        numbers_layout.setContentsMargins(0, 0, 0, 0)
        numbers_layout.addWidget(self.numbers_table)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_number_button)
        buttons.addWidget(self.remove_number_button)
        buttons.addStretch(1)
        numbers_layout.addLayout(buttons)
        self.fields["from_numbers"] = self.numbers_table
        self._row(form, "from_numbers", numbers, register=False)
        self.default_from_combo = QComboBox(sending)
        self._named(self.default_from_combo, "default_from")
        self._row(form, "default_from", self.default_from_combo)
        self.region_combo = QComboBox(sending)
        self._named(self.region_combo, "region")
        for code, name in self._regions:
            self.region_combo.addItem(name, code)
        self._row(form, "region", self.region_combo)
        self.segment_limit_spin = QSpinBox(sending)
        self.segment_limit_spin.setRange(1, MAX_SEGMENT_LIMIT)
        self.segment_limit_spin.setSuffix(" segments")
        self._named(self.segment_limit_spin, "confirm_segments_above")
        self._row(form, "confirm_segments_above", self.segment_limit_spin)
        column.addWidget(sending)

        # History
        history = QGroupBox("History", page)
        form = QFormLayout(history)
        self.retention_spin = QSpinBox(history)
        self.retention_spin.setRange(0, MAX_RETENTION_DAYS)
        self.retention_spin.setSpecialValueText("Keep forever")
        self.retention_spin.setSuffix(" days")
        self._named(self.retention_spin, "retention_days")
        self._row(form, "retention_days", self.retention_spin)
        column.addWidget(history)

        # Team history: its own group (ui/team_settings.py), whose fields join the dialog's rules.
        self.team_section = TeamHistorySection(self._context, self._tasks, self._store, page)
        self.fields.update(self.team_section.fields)
        self.problems.update(self.team_section.problems)
        self.team_section.changed.connect(self._validate_timer.start)
        column.addWidget(self.team_section)
        column.addStretch(1)

        self._scroll = scroll = QScrollArea(self)
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a Tab stop of its own: Tab scrolls to each field
        outer.addWidget(scroll, 1)

        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(text_css(Tone.PROBLEM, self.palette()))
        self.error_label.setAccessibleName("Problem")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        outer.addWidget(self.error_label)

        # Test connection sits with Save, outside the scrolling fields: always in view, however small the screen.
        self.test_result_label = QLabel(self)
        self.test_result_label.setWordWrap(True)
        self.test_result_label.setAccessibleName("Test connection result")
        self.test_result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.test_result_label)

        self.button_box = QDialogButtonBox(self)
        self.save_button = self.button_box.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setAccessibleName("Save settings")
        self.save_button.setToolTip("Save the settings, and the secret in your keyring")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = self.button_box.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setToolTip("Close without saving")
        self.cancel_button.clicked.connect(self.reject)
        self.test_button = self.button_box.addButton(
            "Test connection", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.test_button.setAccessibleName("Test connection")
        self.test_button.setToolTip(
            "Sign in to Bandwidth with the values above (as typed, before saving) and make a harmless request"
        )
        self.test_button.clicked.connect(self.test_connection)
        self.sandbox_button: QPushButton | None = None
        if self._first_run:
            self.sandbox_button = self.button_box.addButton(
                "Try the sandbox", QDialogButtonBox.ButtonRole.ActionRole
            )
            self.sandbox_button.setAccessibleName("Try the sandbox")
            self.sandbox_button.setToolTip(
                "Start bwdesk with a practice Bandwidth API on this computer (nothing is really sent)"
            )
            self.sandbox_button.clicked.connect(self._choose_sandbox)
        outer.addWidget(self.button_box)
        self._fit_to_screen()

    def _fit_to_screen(self) -> None:
        """As tall as the fields want, but never taller than the screen: the fields scroll, the buttons stay."""
        screen = self.screen()
        self.resize(640, fitting_height(screen.availableGeometry().height() if screen is not None else None))

    def _line(self, key: str) -> QLineEdit:
        edit = QLineEdit(self)
        self._named(edit, key)
        return edit

    def _seconds(self, key: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(0.5, MAX_TIMEOUT)
        spin.setDecimals(1)
        spin.setSingleStep(1.0)
        spin.setSuffix(" s")
        self._named(spin, key)
        return spin

    def _named(self, widget: QWidget, key: str) -> None:
        widget.setAccessibleName(LABELS.get(key, key))
        widget.setToolTip(_TIPS[key])

    def _row(
        self, form: QFormLayout, key: str, widget: QWidget, *, label: str | None = None, register: bool = True
    ) -> None:
        """A field, with its validation message underneath (hidden until there is one)."""
        holder = QWidget(widget.parentWidget())
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(widget)
        problem = _Problem(key, holder)
        layout.addWidget(problem)
        form.addRow(label or LABELS[key], holder)
        self.problems[key] = problem
        self._holders[key] = holder
        if register:
            self.fields[key] = widget
        holder.setObjectName(f"row_{key}")

    # -- filling ---------------------------------------------------------------------------------------

    def _fill(self, settings: Settings) -> None:
        self.account_id_edit.setText(settings.account_id)
        self.application_id_edit.setText(settings.application_id)
        self.numbers_table.setRowCount(0)
        for number in settings.from_numbers:
            self._append_number(number.number, number.label)
        self._refill_default_from(settings.default_from)
        index = self.region_combo.findData(settings.region)
        if index < 0:
            self.region_combo.addItem(settings.region, settings.region)
            index = self.region_combo.count() - 1
        self.region_combo.setCurrentIndex(index)
        (self.oauth_radio if settings.auth_kind is AuthKind.OAUTH2 else self.basic_radio).setChecked(True)
        self.username_edit.setText(settings.username)
        self.client_id_edit.setText(settings.client_id)
        self.api_base_edit.setText(settings.api_base)
        self.token_url_edit.setText(settings.token_url)
        self.connect_timeout_spin.setValue(settings.connect_timeout)
        self.read_timeout_spin.setValue(settings.read_timeout)
        self.retention_spin.setValue(settings.retention_days or 0)
        self.segment_limit_spin.setValue(settings.confirm_segments_above)
        ignored = set(self._context.ignored_variables())  # a lock wins over the environment
        overridden = [
            name for name in _ENV_OVERRIDES if self._context.env.get(name, "").strip() and name not in ignored
        ]
        notes = []
        if self._context.is_sandbox:
            notes.append(
                "This window is using the sandbox: these are its demo account's settings, which are not "
                "saved. Start bwdesk without the sandbox to set up a real account."
            )
        if overridden:
            notes.append(
                "Set in the environment, and used instead of what is saved here: "
                + ", ".join(overridden)
                + "."
            )
        if notes:
            self.note_label.setText("\n".join(notes))
            self.note_label.show()

    def _append_number(self, number: str = "", label: str = "") -> int:
        row = self.numbers_table.rowCount()
        self.numbers_table.insertRow(row)
        for column, text in enumerate((number, label)):
            item = QTableWidgetItem(text)
            item.setToolTip("The number in any format, or a sender ID" if column == 0 else "A name for it")
            self.numbers_table.setItem(row, column, item)
        return row

    def _cell(self, row: int, column: int) -> str:
        item = self.numbers_table.item(row, column)
        return item.text().strip() if item is not None else ""

    def _refill_default_from(self, keep: str | None = None) -> None:
        current = keep if keep is not None else str(self.default_from_combo.currentData() or "")
        self.default_from_combo.blockSignals(True)
        self.default_from_combo.clear()
        self.default_from_combo.addItem("The first number in the list", "")
        for row in range(self.numbers_table.rowCount()):
            number, label = self._cell(row, 0), self._cell(row, 1)
            if number:
                self.default_from_combo.addItem(f"{number} · {label}" if label else number, number)
        index = self.default_from_combo.findData(current)
        if index < 0 and current:
            self.default_from_combo.addItem(current, current)  # shown, so validation can say what is wrong
            index = self.default_from_combo.count() - 1
        self.default_from_combo.setCurrentIndex(max(index, 0))
        self.default_from_combo.blockSignals(False)

    def _apply_locks(self) -> None:
        where = paths.system_settings_file()
        note = f"Set by your administrator (in {where}); it cannot be changed here."
        for key in self._locked:
            widget = self.fields.get(key)
            if key == "auth_kind":
                widgets: list[QWidget] = [self.basic_radio, self.oauth_radio]
            elif key == "from_numbers":
                widgets = [self.numbers_table, self.add_number_button, self.remove_number_button]
                self.numbers_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            else:
                widgets = [widget] if widget is not None else []
            for target in widgets:
                if isinstance(target, (QLineEdit, QSpinBox, QDoubleSpinBox)):
                    target.setReadOnly(True)
                elif target is not self.numbers_table:
                    target.setEnabled(False)
                target.setToolTip(note)
                target.setProperty("locked", True)
                target.setAccessibleDescription(note)

    def is_locked(self, key: str) -> bool:
        return key in self._locked

    def _connect_changes(self) -> None:
        for edit in (
            self.account_id_edit,
            self.application_id_edit,
            self.username_edit,
            self.client_id_edit,
            self.api_base_edit,
            self.token_url_edit,
        ):
            edit.textChanged.connect(self._changed)
        for secret in (self.password_edit, self.client_secret_edit):
            secret.textEdited.connect(self._secret_edited)
        self.numbers_table.itemChanged.connect(lambda _item: self._numbers_changed())
        self.default_from_combo.currentIndexChanged.connect(self._changed)
        self.region_combo.currentIndexChanged.connect(self._changed)
        self.basic_radio.toggled.connect(self._update_auth_rows)
        self.basic_radio.toggled.connect(self._changed)
        for spin in (self.connect_timeout_spin, self.read_timeout_spin):
            spin.valueChanged.connect(self._changed)
        self.retention_spin.valueChanged.connect(self._changed)
        self.segment_limit_spin.valueChanged.connect(self._changed)

    def _changed(self, *_args: Any) -> None:
        self._validate_timer.start()
        self.test_result_label.clear()

    def _secret_edited(self, _text: str) -> None:
        self._secret_touched = True
        self.test_result_label.clear()

    def _numbers_changed(self) -> None:
        self._refill_default_from()
        self._changed()

    def _add_number(self) -> None:
        row = self._append_number()
        self.numbers_table.setCurrentCell(row, 0)
        item = self.numbers_table.item(row, 0)
        if item is not None:
            self.numbers_table.editItem(item)

    def _remove_numbers(self) -> None:
        rows = sorted({index.row() for index in self.numbers_table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.numbers_table.removeRow(row)
        self._numbers_changed()

    def _update_auth_rows(self, *_args: Any) -> None:
        basic = self.auth_kind() is AuthKind.BASIC
        for key, visible in (
            ("username", basic),
            ("password", basic),
            ("client_id", not basic),
            ("client_secret", not basic),
        ):
            self.sign_in_form.setRowVisible(self._holders[key], visible)
        self.connection_form.setRowVisible(self._holders["token_url"], not basic)

    # -- the keyring -----------------------------------------------------------------------------------

    def _load_secret_store(self) -> None:
        """Ask (in the background) where secrets are kept, and read the saved secret for this account."""
        store, context = self._store, self._context
        account_id = self._loaded.settings.account_id

        def work() -> _StoreAnswer:
            if context.is_sandbox:
                return _StoreAnswer(None, context.account().credentials, False, None)
            status = store.status()
            credentials = None
            problem = None
            if account_id:
                try:
                    credentials = store.load(account_id)
                except SecretStoreError as exc:
                    problem = str(exc)
            session_only = bool(account_id) and store.is_session_only(account_id)
            return _StoreAnswer(status, credentials, session_only, problem)

        self._tasks.run(
            work,
            self._secret_store_loaded,
            self._secret_store_failed,
            description="read the keyring",
            owner=self,
        )

    def _secret_store_loaded(self, answer: _StoreAnswer) -> None:
        if answer.status is None:
            self.store_label.setText("The sandbox's demo credentials (not kept anywhere).")
        else:
            self._show_store_status(answer.status)
        if answer.problem:
            self.store_problem.show_problem(f"{answer.problem} {OR_SESSION_ONLY}")
            self.session_only_check.show()
        if answer.session_only:
            # Where the secret is kept now, so that Save with nothing changed keeps it there.
            self.session_only_check.show()
            self.session_only_check.setChecked(True)
        credentials = answer.credentials
        if credentials is not None and not self._secret_touched:
            if isinstance(credentials, BasicCredentials):
                if not self.username_edit.text():
                    self.username_edit.setText(credentials.username)
                self.password_edit.setText(credentials.password)
            else:
                if not self.client_id_edit.text():
                    self.client_id_edit.setText(credentials.client_id)
                self.client_secret_edit.setText(credentials.client_secret)
            self._secret_as_saved = (self._loaded.settings.account_id, credentials, answer.session_only)
            if (
                self._select_when_loaded is not None
            ):  # setText dropped the selection: what is typed replaces it
                self._select_when_loaded.selectAll()

    def _secret_store_failed(self, exc: BaseException) -> None:
        self.store_label.setText("Could not find out where secrets are kept.")
        self.store_problem.show_problem(error_message(exc))
        self.session_only_check.show()

    def _show_store_status(self, status: SecretStoreStatus) -> None:
        self._store_status = status
        self.store_label.setText(status.description)
        self.store_details_label.setText(status.details)
        self.store_details_button.setVisible(bool(status.details))
        if not status.available and self.session_only_check.isHidden():
            # Without a keyring this is the only way a secret can be kept at all: offer it ticked, with the
            # sentence above saying what it means. Unticking it is still possible (and then Save says why not).
            self.session_only_check.show()
            self.session_only_check.setChecked(True)
        self.store_status_changed.emit(status)

    def _show_store_details(self, shown: bool) -> None:
        self.store_details_label.setVisible(shown)
        self.store_details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    # -- Test connection -------------------------------------------------------------------------------

    def test_connection(self) -> None:
        """Sign in with the values as typed and make a harmless request, in the background."""
        if self._testing:
            return
        settings = self.edited_settings()
        credentials = self.edited_credentials()
        missing = self._missing_for_connection(settings, credentials)
        if missing:
            self._show_test_result(False, missing)
            self.test_finished.emit(None)
            return
        assert credentials is not None
        timeouts = Timeouts(connect=settings.connect_timeout, read=settings.read_timeout)

        def work() -> ConnectionCheck:
            client = BandwidthClient(
                settings.api_base,
                settings.account_id,
                credentials,
                token_url=settings.token_url,
                timeouts=timeouts,
                max_attempts=1,
            )
            try:
                return client.test_connection()
            finally:
                client.close()

        self._testing = True
        self.test_button.setEnabled(False)
        self.test_result_label.setStyleSheet("")
        self.test_result_label.setText("Testing…")
        self._tasks.run(
            work, self._test_done, self._test_failed, description="test the connection", owner=self
        )

    def _missing_for_connection(self, settings: Settings, credentials: Credentials | None) -> str:
        basic = settings.auth_kind is AuthKind.BASIC
        if not settings.account_id:
            return "Enter the account ID first."
        if basic and not settings.username:
            return "Enter the username first."
        if not basic and not settings.client_id:
            return "Enter the client ID first."
        if credentials is None:
            return "Enter the password first." if basic else "Enter the client secret first."
        problems = [
            p for p in self.validate() if p.field in ("account_id", "api_base", "token_url", "username")
        ]
        if problems:
            return f"Fix this first — {problems[0]}"
        return ""

    def _test_done(self, check: ConnectionCheck) -> None:
        self._testing = False
        self.test_button.setEnabled(True)
        heading = {
            CheckResult.OK: "",
            CheckResult.WRONG_CREDENTIALS: "Wrong credentials — ",
            CheckResult.NO_ACCESS: "No access — ",
            CheckResult.NETWORK: "",
            CheckResult.OTHER: "",
        }[check.result]
        self._show_test_result(check.ok, heading + check.message)
        self.test_finished.emit(check)

    def _test_failed(self, exc: BaseException) -> None:
        self._testing = False
        self.test_button.setEnabled(True)
        self._show_test_result(False, error_message(exc))
        self.test_finished.emit(None)

    def _show_test_result(self, ok: bool, text: str) -> None:
        self.test_result_label.setStyleSheet(text_css(Tone.SUCCESS if ok else Tone.PROBLEM, self.palette()))
        self.test_result_label.setText(("✓ " if ok else "✖ ") + text)

    # -- Save ------------------------------------------------------------------------------------------

    def save(self) -> None:
        """Validate; then, in the background, write the settings file and put the secret in the keyring."""
        if self._saving:
            return
        self.error_label.hide()
        self.store_problem.show_problem("")
        if self._context.is_sandbox:
            self._show_error(
                "The sandbox's settings are not saved. Start bwdesk without the sandbox to set up a real account."
            )
            return
        problems = self.validate()
        settings = self.edited_settings()
        credentials = self.edited_credentials()
        if credentials is not None and not settings.account_id:
            self.problems["account_id"].show_problem("Enter the account ID: the secret is kept under it.")
            problems = [*problems, SettingsProblem("account_id", "missing")]
        if problems:
            self._focus_field(problems[0].field)
            return
        if not self.team_section.ready_to_save(settings):
            return
        team_password = self.team_section.password_to_save(settings)
        session_only = not self.session_only_check.isHidden() and self.session_only_check.isChecked()
        # The secret is saved only when it, its account or where it is kept changed: Save with nothing
        # changed must not touch the keyring (which may ask to be unlocked) or fail for want of one.
        secret_changed = (settings.account_id, credentials, session_only) != self._secret_as_saved
        save_secret = credentials is not None and secret_changed
        if save_secret and not session_only and self._store_status and not self._store_status.available:
            self.store_problem.show_problem(NOT_SAVED_WITHOUT_KEYRING)
            self.session_only_check.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        store, profile = self._store, self._context.profile

        def work() -> LoadedSettings:
            loaded = save_settings(settings, profile)
            if save_secret and credentials is not None:
                store.save(settings.account_id, credentials, session_only=session_only)
            if team_password is not None:
                team_password.run(store)
            return loaded

        self._saving = True
        self._set_buttons_enabled(False)
        self._tasks.run(work, self._save_done, self._save_failed, description="save the settings", owner=self)

    def _save_done(self, loaded: LoadedSettings) -> None:
        self._saving = False
        self._set_buttons_enabled(True)
        self._saved_settings = loaded
        self.saved.emit(loaded)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        self._set_buttons_enabled(True)
        if self.team_section.show_save_failure(exc):
            return
        if isinstance(exc, SettingsError):
            for problem in exc.problems:
                if problem.field in self.problems:
                    self.problems[problem.field].show_problem(problem.message)
            if exc.problems:
                self._focus_field(exc.problems[0].field)
            return
        if isinstance(exc, SecretStoreError):
            # The settings file is saved; only the secret is not. Say so, and offer session-only.
            offer = "" if isinstance(exc, SecretStoreUnavailable) else f" {OR_SESSION_ONLY}"
            self.store_problem.show_problem(f"{exc}{offer} The other settings were saved.")
            self.session_only_check.show()
            self.session_only_check.setFocus()
            return
        self._show_error(error_message(exc))

    def _set_buttons_enabled(self, enabled: bool) -> None:
        for button in (self.save_button, self.cancel_button, self.sandbox_button):
            if button is not None:
                button.setEnabled(enabled)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(f"✖ {text}")
        self.error_label.show()

    def _focus_field(self, key: str) -> None:
        widget = self.fields.get(key)
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def open_at(self, key: str) -> None:
        """Open at the field `key` (the one a problem named): scrolled into view, focused, its text selected to
        be typed over. "password" and "client_secret" both mean the secret of the sign-in chosen here."""
        if key in ("password", "client_secret"):
            key = "password" if self.auth_kind() is AuthKind.BASIC else "client_secret"
        widget = self.fields.get(key)
        if widget is None:
            return
        self._focus_field(key)
        edit = widget.edit if isinstance(widget, SecretEdit) else widget
        if isinstance(edit, QLineEdit):
            edit.selectAll()
            self._select_when_loaded = edit  # the saved secret may arrive from the keyring after this
        # Scrolled once the dialog has its size (it is about to be shown).
        QTimer.singleShot(0, self, lambda: self._scroll.ensureWidgetVisible(self._holders[key]))

    def _choose_sandbox(self) -> None:
        self._sandbox_requested = True
        self.done(SANDBOX_RESULT)

    # -- plumbing --------------------------------------------------------------------------------------


__all__ = ["INTRO", "OR_SESSION_ONLY", "SANDBOX_RESULT", "SecretEdit", "SettingsDialog", "region_choices"]
