"""Trouble with the account or the connection is shown as such — in the banner, with what to do and Settings…
opening at the field to check — never on a message field, and the draft is kept; what Bandwidth found wrong
with the message still goes on its fields. Against the sandbox, with a client that is wrong in one way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faultserver import refused_port

from bwdesk.core import paths
from bwdesk.core.account import load_context
from bwdesk.core.bandwidth import BandwidthClient
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.delivery import StatusRefresher
from bwdesk.core.settings import Settings, save_settings
from bwdesk.sandbox import Fault, FaultKind, Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.feedback import Kind, Told
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.services import open_services
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 10_000
TEXT = "Your part has arrived"


@pytest.fixture
def window(qtbot: Any, sandbox: Sandbox, profile: Path) -> Iterator[MainWindow]:
    main = MainWindow(sandbox_context(sandbox, paths.sandbox_profile_dir(profile)), BackgroundTasks())
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main._ready, timeout=WAIT)
    main.session.auto_refresh_after = ()
    good = main.services.client
    yield main
    if main.services.client is not good and main.services.client is not None:
        main.services.client.close()
    main.tasks.wait_for_threads(WAIT)


def use_client(window: MainWindow, base: str, account_id: str, password: str, sandbox: Sandbox) -> None:
    window.services.client = BandwidthClient(
        base, account_id, BasicCredentials(sandbox.username, password), token_url=sandbox.token_url
    )


def send(qtbot: Any, window: MainWindow, recipients: str, text: str = TEXT) -> None:
    window.composer.recipients.model().add_text(recipients)
    window.composer.text_edit.set_text(text)
    window.composer.revalidate()
    with qtbot.waitSignal(window.session.finished, timeout=WAIT):
        window.session.send_draft()


def field_problems(window: MainWindow) -> dict[str, str]:
    return {field: label.text() for field, label in window.composer._messages.items() if label.text()}


def troubles(told: list[Told]) -> list[Told]:
    return [t for t in told if t.kind is Kind.TROUBLE]


def test_refused_credentials_are_not_a_text_problem(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    good = window.services.client
    use_client(window, sandbox.api_base, sandbox.account_id, "wrong", sandbox)
    send(qtbot, window, "9195550123, 9195550124")
    assert len(sandbox.requests.all()) == 1  # the other would be refused the same way: not attempted
    [trouble] = troubles(told)
    assert trouble.setting == "password"
    assert trouble.text.startswith("Bandwidth did not accept the credentials: HTTP 401")
    assert "Check the password in Settings" in trouble.text
    assert trouble.text.endswith("2 messages were not sent; your message is kept.")
    assert window.banner.isVisible() and window.banner.label.text() == trouble.text
    assert field_problems(window) == {}  # never under the Text box
    composer = window.composer
    assert composer.recipients.model().rowCount() == 2 and composer.text_edit.text() == TEXT
    assert (
        "sending stopped (Bandwidth did not accept the credentials)" in composer.result_panel.summary.text()
    )

    with qtbot.waitSignal(window.settings_requested, timeout=WAIT) as opened:
        window.banner.button.click()
    assert opened.args == ["password"]

    window.services.client.close()
    window.services.client = good  # the password was fixed: the next send goes, and the notice goes with it
    window.composer.recipients.model().clear()
    send(qtbot, window, "9195550123, 9195550124")
    assert len(sandbox.accepted_messages()) == 2 and not window.banner.isVisible()


def test_no_access_to_the_account_points_at_the_account_id_and_the_role(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    use_client(window, sandbox.api_base, "1234567", sandbox.password, sandbox)  # not this user's account
    send(qtbot, window, "9195550123")
    [trouble] = troubles(told)
    assert trouble.setting == "account_id" and "HTTP 403" in trouble.text and "Messaging role" in trouble.text
    assert field_problems(window) == {} and window.composer.text_edit.text() == TEXT


def test_no_connection_points_at_the_api_base_url(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    use_client(
        window, f"http://127.0.0.1:{refused_port()}/api/v2", sandbox.account_id, sandbox.password, sandbox
    )
    send(qtbot, window, "9195550123, 9195550124")
    [trouble] = troubles(told)
    assert trouble.setting == "api_base" and trouble.text.startswith("bwdesk could not reach Bandwidth")
    assert "Check the network connection" in trouble.text
    assert field_problems(window) == {} and window.composer.recipients.model().rowCount() == 2
    panel = window.composer.result_panel
    [entry] = panel.entries()
    line = panel.row_widget(entry.row_id).label.text()
    assert "not sent after" in line and "not sent: not sent" not in line  # said once


def test_a_full_queue_is_neither_the_text_nor_the_account(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    """A 429 after the retries used to be shown under the Text box; it is Bandwidth being busy."""
    told = record_told(window.feedback)
    sandbox.inject(Fault(FaultKind.RATE_LIMIT, retry_after=300))
    send(qtbot, window, "9195550123")
    [entry] = window.composer.result_panel.entries()
    assert entry.result.http_status == 429
    assert field_problems(window) == {} and troubles(told) == [] and not window.banner.isVisible()


def test_what_bandwidth_found_wrong_with_the_message_is_still_on_its_field(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    told = record_told(window.feedback)
    sandbox.inject(Fault(FaultKind.REJECT, field_errors=(("text", "not allowed"),)))
    send(qtbot, window, "9195550123")
    assert "not allowed" in field_problems(window)["text"] and troubles(told) == []


def test_missing_credentials_open_the_settings_at_the_missing_one(profile: Path, memory_keyring: Any) -> None:
    save_settings(Settings(account_id="9900000", application_id="app", username="api-user"), profile)
    services = open_services(load_context(profile=profile, env={}))
    try:
        assert services.account is None and services.account_setting == "password"
    finally:
        services.close()


def test_a_status_refresh_refused_for_its_credentials_says_so_with_the_settings(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any
) -> None:
    send(qtbot, window, "9195550123")  # an accepted message, whose status is worth looking up
    told = record_told(window.feedback)
    bad = BandwidthClient(
        sandbox.api_base,
        sandbox.account_id,
        BasicCredentials(sandbox.username, "wrong"),
        token_url=sandbox.token_url,
    )
    try:
        window.history_view.set_refresher(StatusRefresher(bad))
        actions = window.history_view.history_actions
        with qtbot.waitSignal(actions.refresh_finished, timeout=WAIT):
            actions.refresh_status()
    finally:
        bad.close()
    [trouble] = troubles(told)
    assert trouble.setting == "password" and "The delivery statuses could not be looked up." in trouble.text
    assert window.banner.isVisible()


def test_an_upload_refused_for_the_credentials_is_not_the_files_fault(
    qtbot: Any, window: MainWindow, sandbox: Sandbox, record_told: Any, tmp_path: Path
) -> None:
    from PySide6.QtGui import QColor, QImage

    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("orange"))
    assert image.save(str(tmp_path / "photo.png"), "PNG")
    told = record_told(window.feedback)
    use_client(window, sandbox.api_base, sandbox.account_id, "wrong", sandbox)
    media = window.composer.media_list
    media.attach_files([tmp_path / "photo.png"])
    qtbot.waitUntil(lambda: not media.has_pending_uploads(), timeout=WAIT)
    [trouble] = troubles(told)
    assert trouble.setting == "password" and "photo.png was not uploaded" in trouble.text
    assert window.banner.isVisible()


def test_refused_credentials_from_the_environment_say_to_correct_them_there(
    qtbot: Any, sandbox: Sandbox, profile: Path, record_told: Any
) -> None:
    """BW_PASSWORD wins over Settings, so "check the password in Settings" was a dead end (outside review):
    the banner names the variables instead, and offers no Settings button that could not help."""
    env = {
        "BW_ACCOUNT_ID": sandbox.account_id,
        "BW_USERNAME": sandbox.username,
        "BW_PASSWORD": "wrong-password",
        "BW_MESSAGING_APPLICATION_ID": sandbox.application_id,
        "BW_NUMBER": sandbox.numbers[0],
        "BWDESK_API_BASE": sandbox.api_base,
    }
    main = MainWindow(load_context(profile=profile, env=env), BackgroundTasks())
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main._ready, timeout=WAIT)
    main.session.auto_refresh_after = ()
    told = record_told(main.feedback)
    send(qtbot, main, "9195550123")
    [trouble] = troubles(told)
    assert trouble.text.startswith("Bandwidth did not accept the credentials: HTTP 401")
    assert "come from BW_USERNAME and BW_PASSWORD in the environment" in trouble.text
    assert "in Settings" not in trouble.text and trouble.setting == ""
    assert not main.banner.button.isVisible()
    assert main.composer.text_edit.text() == TEXT  # the draft is kept
    main.tasks.wait_for_threads(WAIT)


def test_the_send_bar_does_not_say_ready_when_the_account_is_not_set_up(
    qtbot: Any, sandbox: Sandbox, profile: Path
) -> None:
    """The banner said bwdesk cannot send while the send bar said "Ready to send 2 separate messages"
    (outside review): the send bar now says the same as the banner."""
    env = {
        "BW_ACCOUNT_ID": sandbox.account_id,
        # no credentials anywhere
        "BW_MESSAGING_APPLICATION_ID": sandbox.application_id,
        "BW_NUMBER": sandbox.numbers[0],
        "BWDESK_API_BASE": sandbox.api_base,
    }
    main = MainWindow(load_context(profile=profile, env=env), BackgroundTasks())
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main._ready, timeout=WAIT)
    main.composer.recipients.model().add_text("9195550123, 9195550124")
    main.composer.text_edit.set_text(TEXT)
    main.composer.revalidate()
    assert main.banner.isVisible() and "not set up to send" in main.banner.label.text()
    assert main.composer.reason() == "Cannot send yet: bwdesk is not set up to send (see the notice above)."
    assert not main.composer.can_send()
    main.tasks.wait_for_threads(WAIT)
