"""A person's first day, end to end, as issue 4 describes it — against a sandbox "in another terminal".

Fresh profile → bwdesk has no account, so the first-run settings dialog opens → the sandbox's URL and
demo credentials are typed in → Test connection says OK → saved → the window opens on that account → a
message is sent → the history shows it → Refresh status turns it DELIVERED → `bwdesk history --search`
finds it → and no file anywhere under the profile contains the password.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bwdesk.cli import main as cli_main
from bwdesk.core.account import load_context
from bwdesk.core.outcome import SendState
from bwdesk.sandbox import Sandbox
from bwdesk.ui import app as app_module
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.settings_dialog import SettingsDialog
from bwdesk.ui.tasks import BackgroundTasks


def files_containing(folder: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_first_day_from_an_empty_profile_to_a_delivered_message(
    qtbot, profile, memory_keyring, capsys
) -> None:
    tasks = BackgroundTasks()
    with Sandbox(status_step=0.05) as sandbox:
        context = load_context(env={})
        assert not context.is_configured()

        # The first-run dialog, driven as a person would while it is open (modal).
        outcome: dict[str, object] = {}

        def fill_in() -> None:
            dialog = QApplication.activeModalWidget()
            assert isinstance(dialog, SettingsDialog)
            outcome["offers_sandbox"] = dialog.sandbox_button.isVisibleTo(dialog)
            dialog.account_id_edit.setText(sandbox.account_id)
            dialog.application_id_edit.setText(sandbox.application_id)
            dialog.basic_radio.setChecked(True)
            dialog.username_edit.setText(sandbox.username)
            dialog.password_edit.setText(sandbox.password)
            dialog.api_base_edit.setText(sandbox.api_base)
            dialog.add_number_button.click()
            dialog.numbers_table.item(0, 0).setText(sandbox.numbers[0])
            dialog.numbers_table.item(0, 1).setText("Support line")
            dialog.test_finished.connect(lambda check: (outcome.setdefault("check", check), dialog.save()))
            dialog.test_connection()

        QTimer.singleShot(0, fill_in)
        assert app_module.first_run(context, tasks) == "saved"
        check = outcome["check"]
        assert check is not None and check.ok, check
        assert outcome["offers_sandbox"] is True

        context.reload_settings()
        assert context.is_configured()
        window = MainWindow(context, tasks)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window._ready, timeout=10_000)
        assert window.services.account is not None, window.services.account_problem

        composer = window.composer
        qtbot.keyClicks(composer.recipients.line_edit(), "919 555 0123,")
        composer.text_edit.setFocus()
        qtbot.keyClicks(composer.text_edit, "Your technician is on the way")
        qtbot.keyClicks(composer.tag_edit.line_edit(), "TICKET-4242")
        window.session.send_draft()
        qtbot.waitUntil(
            lambda: bool(composer.result_panel.entries()) and not composer.is_sending(), timeout=10_000
        )
        [entry] = composer.result_panel.entries()
        assert entry.result.state is SendState.ACCEPTED

        model = window.history_view.model
        qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=10_000)
        assert model.row_at(0).message_id == entry.result.message_id

        # The sandbox moves the status on; refreshing shows DELIVERED.
        qtbot.waitUntil(
            lambda: sandbox.status_of(entry.result.message_id) == {"+19195550123": ("DELIVERED", 0)},
            timeout=10_000,
        )
        window.history_view.refresh_status()
        qtbot.waitUntil(lambda: model.row_at(0).delivery_status == "DELIVERED", timeout=10_000)

        window.close()
        window.tasks.wait_for_threads(10_000)

        # The command line finds it in the same history.
        assert cli_main(["history", "--search", "TICKET-4242", "--json"]) == 0
        [found] = json.loads(capsys.readouterr().out)
        assert found["message_id"] == entry.result.message_id and found["delivery_status"] == "DELIVERED"

    # The password went to the keyring, and nowhere under the profile.
    assert any(sandbox.password in value for value in memory_keyring.store.values())
    assert files_containing(profile, sandbox.password) == []
