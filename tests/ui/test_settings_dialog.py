"""The settings dialog: fields round-trip to the settings file, the secret goes to the keyring only,
Test connection reports each outcome in words without freezing, first run, locked keys, no keyring."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QLineEdit

from bwdesk.core.account import Context, load_context
from bwdesk.core.bandwidth import CheckResult
from bwdesk.core.credentials import AuthKind, BasicCredentials, OAuth2Credentials
from bwdesk.core.secrets import NO_KEYRING, NOT_SAVED_WITHOUT_KEYRING, SERVICE, SecretStore
from bwdesk.core.settings import FromNumber, load_settings
from bwdesk.sandbox import Fault, FaultKind, Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.settings_dialog import (
    FRAME_ALLOWANCE,
    OR_SESSION_ONLY,
    PREFERRED_HEIGHT,
    SANDBOX_RESULT,
    SettingsDialog,
    fitting_height,
)
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 10_000


@pytest.fixture
def tasks(qapp: QApplication) -> Iterator[BackgroundTasks]:
    runner = BackgroundTasks(max_threads=2)
    yield runner
    runner.wait_for_threads(WAIT)


@pytest.fixture
def context(profile: Path) -> Context:
    return load_context(profile=profile, env={})


def open_dialog(
    qtbot: Any, context: Context, tasks: BackgroundTasks, store: SecretStore | None = None, **kwargs: Any
) -> SettingsDialog:
    dialog = SettingsDialog(context, tasks, secret_store=store or SecretStore(), **kwargs)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=WAIT)  # the keyring has answered
    return dialog


def fill_for_sandbox(dialog: SettingsDialog, sandbox: Sandbox, password: str | None = None) -> None:
    dialog.account_id_edit.setText(sandbox.account_id)
    dialog.application_id_edit.setText(sandbox.application_id)
    dialog.basic_radio.setChecked(True)
    dialog.username_edit.setText(sandbox.username)
    dialog.password_edit.setText(sandbox.password if password is None else password)
    dialog.api_base_edit.setText(sandbox.api_base)
    dialog.token_url_edit.setText(sandbox.token_url)


def files_containing(folder: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


# --- round trip and secrets -----------------------------------------------------------------------------------


def test_fields_round_trip_through_the_settings_file_and_the_secret_only_to_the_keyring(
    qtbot: Any, tasks: BackgroundTasks, context: Context, profile: Path, memory_keyring: Any
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    assert dialog.store_status is not None and dialog.store_status.available
    dialog.account_id_edit.setText("9900123")
    dialog.application_id_edit.setText("app-42")
    dialog.add_number_button.click()
    dialog.numbers_table.item(0, 0).setText("(919) 555-0100")
    dialog.numbers_table.item(0, 1).setText("Support line")
    dialog.add_number_button.click()
    dialog.numbers_table.item(1, 0).setText("+1 919 555 0101")
    dialog.default_from_combo.setCurrentIndex(dialog.default_from_combo.findData("+1 919 555 0101"))
    dialog.region_combo.setCurrentIndex(dialog.region_combo.findData("CA"))
    assert dialog.region_combo.currentText() == "CA — Canada"
    dialog.username_edit.setText("api-user")
    dialog.password_edit.setText("correct horse battery")
    dialog.api_base_edit.setText("https://proxy.example.com/api/v2/")
    dialog.connect_timeout_spin.setValue(7)
    dialog.read_timeout_spin.setValue(45)
    dialog.retention_spin.setValue(90)
    assert dialog.segment_limit_spin.value() == 10  # the default, shown
    dialog.segment_limit_spin.setValue(30)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted

    settings = load_settings(profile).settings
    assert settings.account_id == "9900123" and settings.application_id == "app-42"
    assert settings.from_numbers == (FromNumber("+19195550100", "Support line"), FromNumber("+19195550101"))
    assert settings.default_from == "+19195550101" and settings.region == "CA"
    assert settings.auth_kind is AuthKind.BASIC and settings.username == "api-user"
    assert settings.api_base == "https://proxy.example.com/api/v2"
    assert (settings.connect_timeout, settings.read_timeout, settings.retention_days) == (7.0, 45.0, 90)
    assert settings.confirm_segments_above == 30
    stored = json.loads(memory_keyring.store[(SERVICE, "9900123")])
    assert stored == {"kind": "basic", "id": "api-user", "secret": "correct horse battery"}
    assert files_containing(profile, "correct horse battery") == []

    # Opened again: every field shows what was saved; the secret comes back from the keyring, masked.
    again = open_dialog(qtbot, load_context(profile=profile, env={}), tasks)
    assert again.edited_settings() == settings
    assert again.password_edit.text() == "correct horse battery" and again.password_secret.is_masked()


def test_the_secret_is_masked_until_show_is_pressed(
    qtbot: Any, tasks: BackgroundTasks, context: Context
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    dialog.password_edit.setText("s3cret-value")
    assert dialog.password_edit.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.password_edit.displayText() != "s3cret-value"
    dialog.password_secret.toggle.click()
    assert dialog.password_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.password_edit.displayText() == "s3cret-value"
    assert dialog.password_secret.toggle.accessibleName() == "Hide password"
    dialog.password_secret.toggle.click()
    assert dialog.password_edit.echoMode() == QLineEdit.EchoMode.Password
    dialog.oauth_radio.setChecked(True)
    assert dialog.client_secret_edit.echoMode() == QLineEdit.EchoMode.Password


def test_auth_kind_switches_the_credential_fields(
    qtbot: Any, tasks: BackgroundTasks, context: Context
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    dialog.show()

    def shown(key: str) -> bool:
        return dialog.problems[key].parentWidget().isVisible()

    assert shown("username") and shown("password") and not shown("client_id") and not shown("token_url")
    dialog.oauth_radio.setChecked(True)
    assert shown("client_id") and shown("client_secret") and shown("token_url") and not shown("password")
    dialog.client_id_edit.setText("cid")
    dialog.client_secret_edit.setText("csecret-1")
    assert dialog.edited_credentials() == OAuth2Credentials("cid", "csecret-1")


def test_field_specific_validation_messages(
    qtbot: Any, tasks: BackgroundTasks, context: Context, profile: Path
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    dialog.account_id_edit.setText("acct-1")
    dialog.api_base_edit.setText("http://bandwidth.example.com/api/v2")
    dialog.add_number_button.click()
    dialog.numbers_table.item(0, 0).setText("555-01")
    dialog.save_button.click()
    assert "digits only" in dialog.problems["account_id"].text() and dialog.problems[
        "account_id"
    ].isVisibleTo(dialog)
    assert "plain http" in dialog.problems["api_base"].text()
    assert "entry 1" in dialog.problems["from_numbers"].text()
    assert not dialog.problems["application_id"].isVisibleTo(dialog)
    assert dialog.result() != QDialog.DialogCode.Accepted and not (profile / "settings.json").exists()
    dialog.account_id_edit.setText("9900000")
    dialog.validate()
    assert not dialog.problems["account_id"].isVisibleTo(dialog)


# --- Test connection ------------------------------------------------------------------------------------------


def run_test(qtbot: Any, dialog: SettingsDialog) -> tuple[Any, int]:
    """Press Test connection; returns the check and how often a GUI-thread timer ticked meanwhile."""
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    try:
        with qtbot.waitSignal(dialog.test_finished, timeout=WAIT) as finished:
            dialog.test_button.click()
            assert not dialog.test_button.isEnabled()  # one test at a time
        assert dialog.test_button.isEnabled()
    finally:
        timer.stop()
    return finished.args[0], ticks


def test_connection_ok_against_the_sandbox_without_freezing(
    qtbot: Any, tasks: BackgroundTasks, context: Context, sandbox: Sandbox
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    fill_for_sandbox(dialog, sandbox)
    sandbox.inject(Fault(FaultKind.DELAY, method="GET", path_suffix="/media", delay=0.4))
    check, ticks = run_test(qtbot, dialog)
    assert check.result is CheckResult.OK
    assert dialog.test_result_label.text().startswith("✓ Connected")
    assert ticks >= 10  # the GUI thread kept running while the request waited 0.4 s


def test_connection_with_oauth2_against_the_sandbox(
    qtbot: Any, tasks: BackgroundTasks, context: Context, sandbox: Sandbox
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    fill_for_sandbox(dialog, sandbox)
    dialog.oauth_radio.setChecked(True)
    dialog.client_id_edit.setText(sandbox.client_id)
    dialog.client_secret_edit.setText(sandbox.client_secret)
    check, _ = run_test(qtbot, dialog)
    assert check.result is CheckResult.OK


def test_connection_wrong_password_is_401_in_words(
    qtbot: Any, tasks: BackgroundTasks, context: Context, sandbox: Sandbox
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    fill_for_sandbox(dialog, sandbox, password="not-the-password")
    check, _ = run_test(qtbot, dialog)
    assert check.result is CheckResult.WRONG_CREDENTIALS and check.http_status == 401
    text = dialog.test_result_label.text()
    assert text.startswith("✖ Wrong credentials") and "not accepted" in text
    assert "not-the-password" not in text


def test_connection_wrong_account_is_403_in_words(
    qtbot: Any, tasks: BackgroundTasks, context: Context, sandbox: Sandbox
) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    fill_for_sandbox(dialog, sandbox)
    dialog.account_id_edit.setText("9911111")
    check, _ = run_test(qtbot, dialog)
    assert check.result is CheckResult.NO_ACCESS and check.http_status == 403
    assert (
        dialog.test_result_label.text().startswith("✖ No access")
        and "9911111" in dialog.test_result_label.text()
    )


def test_connection_with_nothing_listening_is_a_network_problem(
    qtbot: Any, tasks: BackgroundTasks, context: Context, sandbox: Sandbox
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dialog = open_dialog(qtbot, context, tasks)
    fill_for_sandbox(dialog, sandbox)
    dialog.api_base_edit.setText(f"http://127.0.0.1:{port}/api/v2")
    check, _ = run_test(qtbot, dialog)
    assert check.result is CheckResult.NETWORK
    assert dialog.test_result_label.text().startswith("✖ Network problem")


def test_connection_needs_the_secret_first(qtbot: Any, tasks: BackgroundTasks, context: Context) -> None:
    dialog = open_dialog(qtbot, context, tasks)
    dialog.account_id_edit.setText("9900000")
    dialog.username_edit.setText("someone")
    with qtbot.waitSignal(dialog.test_finished, timeout=WAIT) as finished:
        dialog.test_button.click()
    assert finished.args == [None] and dialog.test_result_label.text() == "✖ Enter the password first."


# --- first run, locked keys, the sandbox ------------------------------------------------------------------------


def test_first_run_offers_the_sandbox(qtbot: Any, tasks: BackgroundTasks, context: Context) -> None:
    dialog = open_dialog(qtbot, context, tasks, first_run=True)
    assert dialog.sandbox_button is not None and "sandbox" in dialog.intro_label.text()
    assert not dialog.sandbox_requested
    with qtbot.waitSignal(dialog.finished, timeout=WAIT) as finished:
        dialog.sandbox_button.click()
    assert finished.args == [SANDBOX_RESULT] and dialog.sandbox_requested
    normal = open_dialog(qtbot, context, tasks)
    assert normal.sandbox_button is None


def test_a_key_locked_by_the_administrator_is_read_only(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = profile / "system-settings.json"
    system.write_text(
        json.dumps(
            {
                "defaults": {"api_base": "https://proxy.example.com/bw/api/v2"},
                "locked": ["api_base", "auth_kind"],
            }
        )
    )
    monkeypatch.setenv("BWDESK_SYSTEM_SETTINGS", str(system))
    dialog = open_dialog(qtbot, load_context(profile=profile, env={}), tasks)
    assert dialog.api_base_edit.text() == "https://proxy.example.com/bw/api/v2"
    assert dialog.api_base_edit.isReadOnly() and "administrator" in dialog.api_base_edit.toolTip()
    assert not dialog.basic_radio.isEnabled() and "administrator" in dialog.oauth_radio.toolTip()
    assert not dialog.account_id_edit.isReadOnly()
    dialog.account_id_edit.setText("9900000")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()
    saved = json.loads((profile / "settings.json").read_text())
    assert saved["account_id"] == "9900000" and "api_base" not in saved


def test_sandbox_window_shows_its_account_and_saves_nothing(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, sandbox: Sandbox
) -> None:
    dialog = open_dialog(qtbot, sandbox_context(sandbox, profile / "sandbox"), tasks)
    assert dialog.account_id_edit.text() == sandbox.account_id
    assert dialog.password_edit.text() == sandbox.password and dialog.password_secret.is_masked()
    assert "sandbox" in dialog.note_label.text()
    check, _ = run_test(qtbot, dialog)
    assert check.ok
    dialog.save_button.click()
    assert "not saved" in dialog.error_label.text() and not (profile / "sandbox" / "settings.json").exists()


# --- where the secret goes ------------------------------------------------------------------------------------


def assert_fits_its_text(qtbot: Any, label: QLabel) -> None:
    """A wrapped label that appeared later is as tall as its text, not padded to its unwrapped height."""
    qtbot.waitUntil(lambda: label.height() == label.heightForWidth(label.width()), timeout=WAIT)


def no_keyring_store(monkeypatch: pytest.MonkeyPatch) -> SecretStore:
    """What a desk without D-Bus has: keyring's `fail` backend, and no session bus to find a keyring on."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return SecretStore(backend=fail.Keyring())


def test_without_a_keyring_the_dialog_says_what_to_do_and_offers_this_session_only_ticked(
    qtbot: Any,
    tasks: BackgroundTasks,
    context: Context,
    profile: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring_reason: str,
) -> None:
    store = no_keyring_store(monkeypatch)
    dialog = open_dialog(qtbot, context, tasks, store=store)
    dialog.show()
    text = dialog.store_label.text()
    assert text == NO_KEYRING and "DBUS" not in text and "python-dbus" not in text
    # The backends' reasons are there for IT, folded away until Details is pressed.
    assert dialog.store_details_button.isVisible() and not dialog.store_details_label.isVisible()
    assert no_keyring_reason in dialog.store_details_label.text()
    dialog.store_details_button.click()
    assert dialog.store_details_label.isVisible()
    assert_fits_its_text(qtbot, dialog.store_details_label)
    # Without a keyring this is the only way to keep the secret at all: offered, ticked.
    assert dialog.session_only_check.isVisible() and dialog.session_only_check.isChecked()
    dialog.account_id_edit.setText("9900000")
    dialog.username_edit.setText("api-user")
    dialog.password_edit.setText("only-in-memory-1")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()
    assert store.load("9900000") == BasicCredentials("api-user", "only-in-memory-1")
    assert store.is_session_only("9900000")
    assert files_containing(profile, "only-in-memory-1") == []


def test_without_a_keyring_unticking_session_only_gets_one_short_sentence_and_saves_nothing(
    qtbot: Any, tasks: BackgroundTasks, context: Context, profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = no_keyring_store(monkeypatch)
    dialog = open_dialog(qtbot, context, tasks, store=store)
    dialog.show()
    dialog.account_id_edit.setText("9900000")
    dialog.username_edit.setText("api-user")
    dialog.password_edit.setText("typed-pass-1")
    dialog.session_only_check.setChecked(False)
    dialog.save_button.click()
    assert dialog.store_problem.text() == f"✖ {NOT_SAVED_WITHOUT_KEYRING}"
    assert dialog.focusWidget() is dialog.session_only_check
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert not (profile / "settings.json").exists() and store.load("9900000") is None
    assert dialog.password_edit.text() == "typed-pass-1"  # what was typed stays


def test_reopened_after_saving_for_this_session_only_it_shows_so_and_save_without_changes_just_closes(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = no_keyring_store(monkeypatch)
    first = open_dialog(qtbot, load_context(profile=profile, env={}), tasks, store=store)
    first.account_id_edit.setText("9900000")
    first.username_edit.setText("api-user")
    first.password_edit.setText("session-pass-2")
    with qtbot.waitSignal(first.saved, timeout=WAIT):
        first.save_button.click()

    again = open_dialog(qtbot, load_context(profile=profile, env={}), tasks, store=store)
    again.show()
    assert again.password_edit.text() == "session-pass-2"
    assert again.session_only_check.isVisible() and again.session_only_check.isChecked()
    with qtbot.waitSignal(again.saved, timeout=WAIT):
        again.save_button.click()
    assert again.result() == QDialog.DialogCode.Accepted
    assert not again.store_problem.isVisible() and not again.error_label.isVisible()
    assert store.is_session_only("9900000") and store.load("9900000") == BasicCredentials(
        "api-user", "session-pass-2"
    )


class CountingKeyring(KeyringBackend):
    """An in-memory keyring that counts writes (each may ask the person to unlock their keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.writes = 0

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.writes += 1
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def test_save_writes_the_secret_to_the_keyring_only_when_it_or_its_account_changed(
    qtbot: Any, tasks: BackgroundTasks, profile: Path
) -> None:
    ring = CountingKeyring()
    store = SecretStore(backend=ring)
    store.save("9900000", BasicCredentials("api-user", "kept-pass-3"))
    (profile / "settings.json").write_text(
        json.dumps({"version": 1, "account_id": "9900000", "username": "api-user"})
    )
    dialog = open_dialog(qtbot, load_context(profile=profile, env={}), tasks, store=store)
    assert not dialog.session_only_check.isVisibleTo(dialog)  # a working keyring: nothing to choose
    dialog.retention_spin.setValue(30)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()
    assert ring.writes == 1  # only the write above: the unchanged secret was not written again

    moved = open_dialog(qtbot, load_context(profile=profile, env={}), tasks, store=store)
    moved.account_id_edit.setText("9900001")
    with qtbot.waitSignal(moved.saved, timeout=WAIT):
        moved.save_button.click()
    assert ring.writes == 2 and store.load("9900001") == BasicCredentials("api-user", "kept-pass-3")


def test_opened_at_the_password_the_saved_one_read_later_is_typed_over_not_added_to(
    qtbot: Any, tasks: BackgroundTasks, profile: Path
) -> None:
    """A refused password opens the dialog at it before the keyring has answered: the saved password that
    arrives then is selected too, so the new one replaces it (it used to be appended: "wrong-passright-pass")."""
    store = SecretStore(backend=CountingKeyring())
    store.save("9900000", BasicCredentials("api-user", "wrong-pass"))
    (profile / "settings.json").write_text(
        json.dumps({"version": 1, "account_id": "9900000", "username": "api-user"})
    )
    dialog = SettingsDialog(load_context(profile=profile, env={}), tasks, secret_store=store)
    qtbot.addWidget(dialog)
    dialog.open_at("password")
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.password_edit.text() == "wrong-pass", timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.password_edit)
    qtbot.keyClicks(dialog.password_edit, "right-pass")
    assert dialog.password_edit.text() == "right-pass"


@pytest.mark.parametrize("screen_height", [700, 600])
def test_on_a_small_screen_every_control_is_reachable_and_test_connection_and_save_stay_in_view(
    qtbot: Any, tasks: BackgroundTasks, context: Context, monkeypatch: pytest.MonkeyPatch, screen_height: int
) -> None:
    """The dialog is never taller than the screen; Tab reaches every control and scrolls it into view.

    (tests/e2e checks the same dialog on a real 700 px X screen.)
    """
    height = fitting_height(screen_height)
    assert height + FRAME_ALLOWANCE <= screen_height
    assert fitting_height(2000) == PREFERRED_HEIGHT and fitting_height(None) == PREFERRED_HEIGHT
    dialog = open_dialog(qtbot, context, tasks, store=no_keyring_store(monkeypatch), first_run=True)
    dialog.resize(640, height)
    dialog.show()
    qtbot.waitExposed(dialog)
    inside = dialog.rect()

    def in_view(widget: Any) -> bool:
        if not widget.isVisible() or widget.visibleRegion().isEmpty():
            return False
        corners = (widget.rect().topLeft(), widget.rect().bottomRight())
        return all(inside.contains(widget.mapTo(dialog, corner)) for corner in corners)

    for button in (dialog.test_button, dialog.save_button, dialog.cancel_button, dialog.sandbox_button):
        assert in_view(button), button.text()
    assert not in_view(dialog.retention_spin)  # the fields do not all fit: the walk below must scroll
    dialog.account_id_edit.setFocus()
    seen: list[Any] = []
    while (widget := dialog.focusWidget()) not in seen and len(seen) < 60:
        seen.append(widget)
        assert widget.accessibleName(), f"an unnamed Tab stop: {type(widget).__name__}"
        assert in_view(widget), widget.accessibleName()
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    for control in (
        dialog.account_id_edit,
        dialog.password_edit,
        dialog.session_only_check,
        dialog.api_base_edit,
        dialog.read_timeout_spin,
        dialog.numbers_table,
        dialog.region_combo,
        dialog.retention_spin,
        dialog.test_button,
        dialog.save_button,
    ):
        assert control in seen, control.accessibleName()


class LockedKeyring(KeyringBackend):
    """A keyring that is there but locked (as a Secret Service whose unlock prompt was dismissed)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


def test_a_locked_keyring_says_unlock_it(qtbot: Any, tasks: BackgroundTasks, profile: Path) -> None:
    (profile / "settings.json").write_text(json.dumps({"version": 1, "account_id": "9900000"}))
    dialog = open_dialog(
        qtbot, load_context(profile=profile, env={}), tasks, store=SecretStore(backend=LockedKeyring())
    )
    assert "Unlock your keyring" in dialog.store_problem.text()  # reading the saved secret already said so
    assert dialog.store_problem.text().endswith(OR_SESSION_ONLY)  # the way out this dialog offers
    dialog.show()
    assert_fits_its_text(qtbot, dialog.store_problem)
    dialog.username_edit.setText("api-user")
    dialog.password_edit.setText("pw-for-locked")
    dialog.store_problem.show_problem("")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: bool(dialog.store_problem.text()), timeout=WAIT)
    assert (
        "Unlock your keyring" in dialog.store_problem.text()
        and "Traceback" not in dialog.store_problem.text()
    )
    assert f"{OR_SESSION_ONLY} The other settings were saved." in dialog.store_problem.text()
    assert dialog.session_only_check.isVisibleTo(dialog)


def test_every_control_has_an_accessible_name_and_a_tooltip(
    qtbot: Any, tasks: BackgroundTasks, context: Context
) -> None:
    dialog = open_dialog(qtbot, context, tasks, first_run=True)
    controls = [
        dialog.account_id_edit,
        dialog.application_id_edit,
        dialog.numbers_table,
        dialog.add_number_button,
        dialog.remove_number_button,
        dialog.default_from_combo,
        dialog.region_combo,
        dialog.basic_radio,
        dialog.oauth_radio,
        dialog.username_edit,
        dialog.password_edit,
        dialog.password_secret.toggle,
        dialog.client_id_edit,
        dialog.client_secret_edit,
        dialog.client_secret_secret.toggle,
        dialog.session_only_check,
        dialog.store_details_button,
        dialog.api_base_edit,
        dialog.token_url_edit,
        dialog.connect_timeout_spin,
        dialog.read_timeout_spin,
        dialog.test_button,
        dialog.retention_spin,
        dialog.save_button,
        dialog.cancel_button,
        dialog.sandbox_button,
    ]
    for control in controls:
        assert control is not None
        assert control.accessibleName(), control
        assert control.toolTip(), control


# --- Help → Copy diagnostics --------------------------------------------------------------------------------


def test_copy_diagnostics_puts_versions_and_settings_on_the_clipboard_without_the_secret(
    qtbot: Any, tasks: BackgroundTasks, context: Context, profile: Path
) -> None:
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QMainWindow

    from bwdesk.ui.diagnostics import copy_diagnostics
    from bwdesk.ui.feedback import Feedback

    store = SecretStore()
    dialog = open_dialog(qtbot, context, tasks, store=store)
    dialog.account_id_edit.setText("9900777")
    dialog.username_edit.setText("api-user")
    dialog.password_edit.setText("diag-secret-password")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()

    window = QMainWindow()
    qtbot.addWidget(window)
    results: list[tuple[bool, str]] = []
    QApplication.clipboard().clear()
    copy_diagnostics(
        Feedback(window),
        load_context(profile=profile, env={}),
        tasks,
        on_done=lambda ok, m: results.append((ok, m)),
        secret_store=store,
    )
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT)
    ok, message = results[0]
    assert ok and message.startswith("Diagnostics copied to the clipboard")
    assert window.statusBar().currentMessage() == message
    text = QApplication.clipboard().text()
    assert f"Qt: {qVersion()} (PySide6" in text and "Keyring: Secrets are kept in" in text
    assert '  account_id: "9900777"' in text and "diag-secret-password" not in text


def test_diagnostics_without_a_keyring_carry_the_technical_reasons_the_dialog_folds_away(
    qtbot: Any,
    tasks: BackgroundTasks,
    context: Context,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring_reason: str,
) -> None:
    from bwdesk.ui.diagnostics import gather

    text = gather(context, secret_store=no_keyring_store(monkeypatch))
    assert f"Keyring: {NO_KEYRING} (Details: " in text and no_keyring_reason in text


@pytest.mark.parametrize(
    ("kind", "asked", "field"),
    [
        (AuthKind.BASIC, "password", "password"),
        (AuthKind.OAUTH2, "password", "client_secret"),  # the secret of the sign-in chosen here
        (AuthKind.BASIC, "account_id", "account_id"),
        (AuthKind.BASIC, "api_base", "api_base"),
    ],
)
def test_it_opens_at_the_field_a_problem_named(
    qtbot: Any, tasks: BackgroundTasks, context: Context, kind: AuthKind, asked: str, field: str
) -> None:
    """Refused credentials open it at the secret, typed over; no connection at the API base URL, in view."""
    dialog = open_dialog(qtbot, context, tasks)
    (dialog.oauth_radio if kind is AuthKind.OAUTH2 else dialog.basic_radio).setChecked(True)
    dialog.open_at(asked)
    dialog.show()
    qtbot.waitExposed(dialog)
    target = dialog.fields[field]
    edit = target.edit if hasattr(target, "edit") else target
    qtbot.waitUntil(lambda: dialog.focusWidget() is edit)
    assert isinstance(edit, QLineEdit) and edit.selectedText() == edit.text()  # typed over at once
    holder, viewport = dialog._holders[field], dialog._scroll.viewport()
    qtbot.waitUntil(lambda: 0 <= holder.mapTo(viewport, holder.rect().topLeft()).y() < viewport.height())
