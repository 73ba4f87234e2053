"""Settings → Team history against a real PostgreSQL server: Test connection tells each failure apart in
words (and never freezes the dialog), the URL is checked as typed and never holds a password, the
database password goes to the keyring only, and a URL IT locked is read-only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QScrollArea

from bwdesk.core.account import Context, load_context
from bwdesk.core.secrets import NOT_SAVED_WITHOUT_KEYRING, TEAM_SERVICE, SecretStore
from bwdesk.core.settings import load_settings
from bwdesk.core.team.identity import agent_name
from bwdesk.core.team.schema import SCHEMA_VERSION, known_version
from bwdesk.core.team.url import PASSWORD_ADVICE, parse_history_url
from bwdesk.ui.settings_dialog import SettingsDialog, fitting_height
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 20_000
LEAKED = "Leaked-pw-7"


@pytest.fixture
def tasks(qapp: QApplication) -> Iterator[BackgroundTasks]:
    runner = BackgroundTasks(max_threads=2)
    yield runner
    runner.wait_for_threads(WAIT)


def open_dialog(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, store: SecretStore | None = None, **env: str
) -> SettingsDialog:
    dialog = SettingsDialog(
        load_context(profile=profile, env=env), tasks, secret_store=store or SecretStore()
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=WAIT)  # the keyring has answered
    return dialog


def verified_url(pg_server: Any, database: str, user: str | None = None) -> str:
    """The URL a desk is given: TLS with the server's certificate checked against the test authority."""
    extra = {"user": user} if user else {}
    return str(pg_server.url(database, sslmode="verify-full", sslrootcert=str(pg_server.ca_file), **extra))


def press_team_test(qtbot: Any, dialog: SettingsDialog) -> Any:
    """Press the team's Test connection; returns the report (None when it could not run)."""
    section = dialog.team_section
    with qtbot.waitSignal(section.tested, timeout=WAIT) as finished:
        section.test_button.click()
    assert section.test_button.isEnabled()
    return finished.args[0]


def result_text(dialog: SettingsDialog) -> str:
    return dialog.team_section.test_result_label.text()


def files_containing(folder: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


# --- Test connection against the real server ---------------------------------------------------------------


def test_connection_ok_names_the_server_tls_and_schema_versions(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    dialog.team_section.password_edit.setText(pg_server.agent_password)
    section = dialog.team_section
    with qtbot.waitSignal(section.tested, timeout=WAIT) as finished:
        section.test_button.click()
        assert not section.test_button.isEnabled()  # one test at a time
        assert result_text(dialog).startswith("Testing bwdesk_agent@127.0.0.1:")
    status = finished.args[0]
    assert status.usable and status.problem is None
    version = pg_server.execute("SHOW server_version")[0][0].split()[0]
    text = result_text(dialog)
    assert text.startswith(f"✓ Connected: PostgreSQL {version}, TLSv1.")
    known = known_version()
    assert text.endswith(
        f"schema version {known} (this bwdesk knows {known}), 0 messages. This desk can use the team history."
    )
    assert status.tls in ("TLSv1.2", "TLSv1.3") and status.tls in text
    assert pg_server.agent_password not in text


def test_the_test_waits_on_a_worker_while_the_dialog_keeps_running(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    """The server holds the test up (a table IT has locked); the GUI thread keeps running meanwhile."""
    dialog = open_dialog(qtbot, tasks, profile)
    section = dialog.team_section
    section.url_edit.setText(verified_url(pg_server, team_database))
    section.password_edit.setText(pg_server.agent_password)
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    def the_test_waits_on_the_lock() -> bool:
        rows = pg_server.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'bwdesk/%%' "
            "AND wait_event_type = 'Lock'"
        )
        return bool(rows[0][0])

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    holder = pg_server.connect(team_database)
    holder.autocommit = False
    holder.execute("LOCK TABLE bwdesk.messages IN ACCESS EXCLUSIVE MODE")
    timer.start()
    try:
        with qtbot.waitSignal(section.tested, timeout=WAIT) as finished:
            section.test_button.click()
            qtbot.waitUntil(the_test_waits_on_the_lock, timeout=WAIT)
            before = ticks
            qtbot.waitUntil(lambda: ticks >= before + 5, timeout=WAIT)
            assert result_text(dialog).startswith("Testing ") and not section.test_button.isEnabled()
            holder.rollback()
    finally:
        timer.stop()
        holder.close()
    assert finished.args[0].usable and result_text(dialog).startswith("✓ Connected")


def test_wrong_password_says_so_and_never_shows_it(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    dialog.team_section.password_edit.setText("not-the-db-password")
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "authentication-failed"
    text = result_text(dialog)
    assert text.startswith(
        "✖ Wrong password — The server refused the user name or password for bwdesk_agent@"
    )
    assert "Settings → Team history" in text and "not-the-db-password" not in text


def test_no_password_anywhere_says_where_to_put_one(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "no-password"
    assert result_text(dialog).startswith("✖ No password — No password for bwdesk_agent@127.0.0.1:")


def test_pgpassword_is_used_when_the_field_is_empty_and_the_dialog_says_it_overrides(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile, PGPASSWORD=pg_server.agent_password)
    assert dialog.team_section.password_note.text() == (
        "PGPASSWORD is set: this desk signs in with it instead."
    )
    assert "PGPASSWORD" in dialog.note_label.text()
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    status = press_team_test(qtbot, dialog)
    assert status.usable and status.password_source == "PGPASSWORD"


def test_an_empty_database_is_told_to_ask_it_for_team_init(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, pg_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, pg_database))
    dialog.team_section.password_edit.setText(pg_server.agent_password)
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "schema-missing"
    text = result_text(dialog)
    assert text.startswith("✖ No bwdesk tables — The team database has no bwdesk tables yet.")
    assert "Ask IT to run `bwdesk team init`" in text
    # What did work is said too: the server was reached, over TLS.
    assert "(Reached PostgreSQL " in text and ", TLSv1." in text


def test_an_older_schema_says_run_team_init_and_a_newer_one_says_update_bwdesk(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    dialog.team_section.password_edit.setText(pg_server.agent_password)
    pg_server.execute(
        f"UPDATE bwdesk.schema_version SET version = 0 WHERE version = {SCHEMA_VERSION}", dbname=team_database
    )
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "schema-older"
    assert result_text(dialog).startswith("✖ Older schema — ")
    assert "run `bwdesk team init` to bring it up to date" in result_text(dialog)

    pg_server.execute(
        "INSERT INTO bwdesk.schema_version (version, compatible_from, description, bwdesk_version) "
        "VALUES (99, 99, 'from the future', '99.0')",
        dbname=team_database,
    )
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "schema-newer"
    assert result_text(dialog).startswith("✖ Newer schema — ") and "Update bwdesk" in result_text(dialog)


def test_a_role_without_rights_is_permission_denied_with_the_grant_to_ask_for(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    stranger = pg_server.unique_name("stranger")
    pg_server.create_role(stranger, "stranger-password-1")
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database, user=stranger))
    dialog.team_section.password_edit.setText("stranger-password-1")
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "permission-denied"
    text = result_text(dialog)
    assert text.startswith("✖ Permission denied — ")
    assert f"Ask IT to run `bwdesk team init --grant {stranger}`" in text


def test_a_database_that_does_not_exist_is_named(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, "no_such_db"))
    dialog.team_section.password_edit.setText(pg_server.agent_password)
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "database-missing"
    assert result_text(dialog).startswith("✖ No such database — The database no_such_db does not exist")


def test_a_certificate_from_another_authority_is_a_tls_failure(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    url = pg_server.url(team_database, sslmode="verify-full", sslrootcert=str(pg_server.other_ca_file))
    dialog.team_section.url_edit.setText(url)
    dialog.team_section.password_edit.setText(pg_server.agent_password)
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "tls-failed"
    text = result_text(dialog)
    assert text.startswith("✖ TLS failed — The encrypted connection to 127.0.0.1:") and "sslrootcert" in text


def test_a_server_without_tls_is_told_apart(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    pg_server.start(tls=False)
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    dialog.team_section.password_edit.setText(pg_server.agent_password)
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "tls-required"
    assert result_text(dialog).startswith("✖ TLS required — The server at 127.0.0.1:")


def test_a_stopped_server_is_refused_in_words(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    dialog.team_section.password_edit.setText(pg_server.agent_password)
    pg_server.stop()
    status = press_team_test(qtbot, dialog)
    assert status.problem.problem.value == "refused" and not status.reachable
    assert result_text(dialog).startswith(
        f"✖ Not reachable — Nothing answers at 127.0.0.1:{pg_server.port} (connection refused)"
    )


def test_editing_a_field_clears_the_last_result(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, pg_server: Any, team_database: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.url_edit.setText(verified_url(pg_server, team_database))
    press_team_test(qtbot, dialog)
    assert result_text(dialog)
    qtbot.keyClicks(dialog.team_section.password_edit, "x")
    assert result_text(dialog) == "" and not dialog.team_section.test_result_label.isVisibleTo(dialog)


def test_without_a_url_test_connection_says_what_empty_means(
    qtbot: Any, tasks: BackgroundTasks, profile: Path
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    assert press_team_test(qtbot, dialog) is None
    assert result_text(dialog) == (
        "✖ Enter the team history URL first (empty: the history stays on this computer)."
    )


# --- the URL as typed -------------------------------------------------------------------------------------------


def test_a_url_with_a_password_is_refused_in_the_field_and_never_shown_or_saved(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, memory_keyring: Any
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    section = dialog.team_section
    section.url_edit.setText(f"postgresql://bwdesk_agent:{LEAKED}@127.0.0.1:5432/team")
    problem = dialog.problems["history_url"]
    qtbot.waitUntil(lambda: problem.isVisibleTo(dialog), timeout=WAIT)  # checked as typed
    assert problem.text() == f"✖ {PASSWORD_ADVICE}."
    assert LEAKED not in problem.text()
    assert press_team_test(qtbot, dialog) is None
    assert result_text(dialog).startswith("✖ Fix the URL first — remove the password from the URL")
    assert LEAKED not in result_text(dialog)
    dialog.save_button.click()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.focusWidget() is section.url_edit
    assert section.url_edit.text().endswith("@127.0.0.1:5432/team")  # what was typed stays, to fix
    assert not (profile / "settings.json").exists()
    assert files_containing(profile, LEAKED) == []
    assert all(LEAKED not in value for value in memory_keyring.store.values())


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("postgresql://agent@db.example.com/team", "add sslmode=verify-full to the URL"),
        ("postgresql://agent@db.example.com/team?sslmode=require", "(it says sslmode=require)"),
        ("mysql://agent@db.example.com/team", "must be a postgresql:// URL"),
        ("postgresql://agent@127.0.0.1/team?connect_timeout=3", "bwdesk sets it itself"),
        ("postgresql://127.0.0.1/team", "add the user name"),
    ],
)
def test_the_url_is_checked_as_typed_with_the_rules_own_words(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, typed: str, words: str
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    qtbot.keyClicks(dialog.team_section.url_edit, typed)
    problem = dialog.problems["history_url"]
    qtbot.waitUntil(lambda: problem.isVisibleTo(dialog), timeout=WAIT)  # validated as typed, after a pause
    assert words in problem.text()
    dialog.team_section.url_edit.clear()
    qtbot.waitUntil(lambda: not problem.isVisibleTo(dialog), timeout=WAIT)  # empty: this computer only


def test_the_environment_url_is_shown_as_overriding_and_never_with_a_password(
    qtbot: Any, tasks: BackgroundTasks, profile: Path
) -> None:
    env_url = "postgresql://desk@db.example.com/team?sslmode=verify-full"
    dialog = open_dialog(qtbot, tasks, profile, BWDESK_HISTORY_URL=env_url)
    note = dialog.team_section.url_note
    assert note.isVisibleTo(dialog)
    assert note.text() == (
        f"BWDESK_HISTORY_URL is set: this desk uses {env_url} instead (Test connection tests the field)."
    )
    assert "BWDESK_HISTORY_URL" in dialog.note_label.text()

    leaky = open_dialog(
        qtbot, tasks, profile, BWDESK_HISTORY_URL=f"postgresql://desk:{LEAKED}@127.0.0.1/team"
    )
    text = leaky.team_section.url_note.text()
    assert text.startswith("BWDESK_HISTORY_URL is set: used instead, but it cannot be: remove the password")
    assert LEAKED not in text


# --- the password: keyring only ----------------------------------------------------------------------------------


def test_the_password_goes_to_the_keyring_and_no_profile_file_holds_it(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, memory_keyring: Any, pg_server: Any, team_database: str
) -> None:
    url = verified_url(pg_server, team_database)
    dialog = open_dialog(qtbot, tasks, profile)
    section = dialog.team_section
    section.url_edit.setText(url)
    section.password_edit.setText(pg_server.agent_password)
    assert section.password_edit.echoMode() == QLineEdit.EchoMode.Password
    assert section.password_edit.displayText() != pg_server.agent_password  # masked until Show
    section.password_secret.toggle.click()
    assert section.password_edit.displayText() == pg_server.agent_password
    section.agent_edit.setText("Ana Lima")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()

    key = parse_history_url(url).keyring_key
    assert memory_keyring.store[(TEAM_SERVICE, key)] == pg_server.agent_password
    saved = load_settings(profile).settings
    assert saved.history_url == parse_history_url(url).url and saved.agent_name == "Ana Lima"
    assert files_containing(profile, pg_server.agent_password) == []

    # Opened again: the password comes back from the keyring, masked; the desk can use the database.
    again = open_dialog(qtbot, tasks, profile)
    assert again.team_section.password_edit.text() == pg_server.agent_password
    assert again.team_section.password_secret.is_masked()
    assert press_team_test(qtbot, again).usable
    assert files_containing(profile, pg_server.agent_password) == []


def test_save_writes_the_password_only_when_it_or_its_url_changed(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, memory_keyring: Any
) -> None:
    writes: list[tuple[str, str]] = []
    original = memory_keyring.set_password

    def counting(service: str, username: str, password: str) -> None:
        writes.append((service, username))
        original(service, username, password)

    memory_keyring.set_password = counting
    url = "postgresql://agent@127.0.0.1:5432/team"
    (profile / "settings.json").write_text(json.dumps({"version": 1, "history_url": url}))
    SecretStore().save_team_password(parse_history_url(url).keyring_key, "team-pass-1")
    assert len(writes) == 1

    dialog = open_dialog(qtbot, tasks, profile)
    assert dialog.team_section.password_edit.text() == "team-pass-1"
    dialog.retention_spin.setValue(30)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()
    assert len(writes) == 1  # unchanged: the keyring (which may ask to be unlocked) was not touched

    moved = open_dialog(qtbot, tasks, profile)
    moved.team_section.url_edit.setText("postgresql://agent@127.0.0.1:5433/team")
    with qtbot.waitSignal(moved.saved, timeout=WAIT):
        moved.save_button.click()
    assert writes[-1] == (TEAM_SERVICE, "agent@127.0.0.1:5433/team") and len(writes) == 2
    assert memory_keyring.store[(TEAM_SERVICE, "agent@127.0.0.1:5433/team")] == "team-pass-1"


def test_a_password_without_a_url_is_refused_under_its_field(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, memory_keyring: Any
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.team_section.password_edit.setText("nowhere-to-keep-1")
    dialog.save_button.click()
    assert dialog.problems["team_password"].text() == (
        "✖ Enter the team history URL first: the password is kept under it."
    )
    assert dialog.result() != QDialog.DialogCode.Accepted and memory_keyring.store == {}
    assert dialog.focusWidget() is dialog.team_section.url_edit


def no_keyring_store(monkeypatch: pytest.MonkeyPatch) -> SecretStore:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return SecretStore(backend=fail.Keyring())


def test_without_a_keyring_the_password_is_kept_for_this_session_only(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = no_keyring_store(monkeypatch)
    url = "postgresql://agent@127.0.0.1:5432/team"
    dialog = open_dialog(qtbot, tasks, profile, store=store)
    dialog.show()
    check = dialog.team_section.session_only_check
    assert check.isVisible() and check.isChecked()  # the only way to keep it: offered ticked
    dialog.team_section.url_edit.setText(url)
    dialog.team_section.password_edit.setText("in-memory-team-1")
    check.setChecked(False)
    dialog.save_button.click()
    assert dialog.problems["team_password"].text() == f"✖ {NOT_SAVED_WITHOUT_KEYRING}"
    assert dialog.result() != QDialog.DialogCode.Accepted
    check.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()
    key = parse_history_url(url).keyring_key
    assert store.load_team_password(key) == "in-memory-team-1" and store.is_team_password_session_only(key)
    assert files_containing(profile, "in-memory-team-1") == []

    again = open_dialog(qtbot, tasks, profile, store=store)
    again.show()
    assert again.team_section.password_edit.text() == "in-memory-team-1"
    assert again.team_section.session_only_check.isChecked()


# --- locks, the name, the layout ---------------------------------------------------------------------------------


def test_a_url_locked_by_it_is_read_only_and_its_password_is_still_the_desks_own(
    qtbot: Any, tasks: BackgroundTasks, profile: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: Any
) -> None:
    locked_url = "postgresql://bwdesk_agent@db.example.com:5432/bwdesk?sslmode=verify-full&sslrootcert=system"
    system = profile / "system-settings.json"
    system.write_text(json.dumps({"defaults": {"history_url": locked_url}, "locked": ["history_url"]}))
    monkeypatch.setenv("BWDESK_SYSTEM_SETTINGS", str(system))
    dialog = open_dialog(qtbot, tasks, profile, BWDESK_HISTORY_URL="postgresql://me@127.0.0.1/mine")
    section = dialog.team_section
    assert section.url_edit.text() == locked_url
    assert section.url_edit.isReadOnly() and "administrator" in section.url_edit.toolTip()
    assert str(system) in section.url_edit.toolTip()
    assert section.url_note.text() == "BWDESK_HISTORY_URL is set but not used: your administrator fixed this."
    assert (
        "BWDESK_HISTORY_URL" not in dialog.note_label.text()
    )  # the note at the top does not claim it either
    assert section.url_edit.cursorPosition() == 0  # the user and host in view, not the options
    assert not section.password_edit.isReadOnly() and not section.agent_edit.isReadOnly()
    section.password_edit.setText("desk-pass-9")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save_button.click()
    assert memory_keyring.store[(TEAM_SERVICE, "bwdesk_agent@db.example.com:5432/bwdesk")] == "desk-pass-9"
    assert "history_url" not in json.loads((profile / "settings.json").read_text())


def test_the_name_shows_its_default_and_the_environment_s(
    qtbot: Any, tasks: BackgroundTasks, profile: Path
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    assert dialog.team_section.agent_edit.placeholderText() == f"Empty: {agent_name('')}"
    dialog.team_section.agent_edit.setText("x" * 101)
    dialog.validate()
    assert "100" in dialog.problems["agent_name"].text()

    named = open_dialog(qtbot, tasks, profile, BWDESK_AGENT="  Ana   Lima ")
    assert named.team_section.agent_note.text() == "BWDESK_AGENT is set: the team sees “Ana Lima” instead."


def test_on_a_700_pixel_screen_the_team_fields_scroll_into_view_and_account_test_stays_by_save(
    qtbot: Any, tasks: BackgroundTasks, profile: Path
) -> None:
    dialog = open_dialog(qtbot, tasks, profile)
    dialog.resize(640, fitting_height(700))
    dialog.show()
    qtbot.waitExposed(dialog)
    inside = dialog.rect()

    def in_view(widget: Any) -> bool:
        if not widget.isVisible() or widget.visibleRegion().isEmpty():
            return False
        corners = (widget.rect().topLeft(), widget.rect().bottomRight())
        return all(inside.contains(widget.mapTo(dialog, corner)) for corner in corners)

    section = dialog.team_section
    assert in_view(dialog.test_button) and in_view(dialog.save_button)
    assert not in_view(section.test_button)  # the team's lives in its section, further down
    dialog.account_id_edit.setFocus()
    seen = []
    while (widget := dialog.focusWidget()) not in seen and len(seen) < 60:
        seen.append(widget)
        assert in_view(widget), widget.accessibleName()
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    for control in (
        section.url_edit,
        section.password_edit,
        section.password_secret.toggle,
        section.agent_edit,
        section.test_button,
    ):
        assert control in seen, control.accessibleName()
        assert control.accessibleName() and control.toolTip(), control

    # The result of the team's test is scrolled into view, as tall as its wrapped text.
    section.url_edit.setText("postgresql://bwdesk_agent@127.0.0.1:9/team")  # port 9: nothing listens
    scroll = dialog.findChild(QScrollArea)
    scroll.verticalScrollBar().setValue(0)  # scrolled away, as after pressing it and looking up
    assert not in_view(section.test_button)
    with qtbot.waitSignal(section.tested, timeout=WAIT):
        section.test_button.click()
    label = section.test_result_label
    assert label.text().startswith("✖ Not reachable — Nothing answers at 127.0.0.1:9")
    qtbot.waitUntil(lambda: label.height() == label.heightForWidth(label.width()), timeout=WAIT)
    qtbot.waitUntil(lambda: label.visibleRegion().boundingRect() == label.rect(), timeout=WAIT)  # all of it


def test_an_unchanged_team_section_leaves_the_settings_as_they_were(
    qtbot: Any, tasks: BackgroundTasks, profile: Path
) -> None:
    (profile / "settings.json").write_text(
        json.dumps({"version": 1, "history_url": "postgresql://a@127.0.0.1/t", "agent_name": "Bo"})
    )
    context: Context = load_context(profile=profile, env={})
    dialog = open_dialog(qtbot, tasks, profile)
    assert dialog.edited_settings() == context.loaded.settings
