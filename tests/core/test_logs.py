"""The log file: owner-only, rotating, secrets redacted; diagnostics; and no secret in any file of the profile."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bwdesk.core import logs
from bwdesk.core.bandwidth import BandwidthClient
from bwdesk.core.credentials import BasicCredentials, OAuth2Credentials
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.logs import REDACTED, diagnostics_text, log_file, redact, register_secret, setup_logging
from bwdesk.core.outcome import SendState
from bwdesk.core.paths import history_file, log_dir
from bwdesk.core.secrets import SecretStore
from bwdesk.core.settings import FromNumber, Settings, save_settings
from bwdesk.sandbox import Sandbox

log = logging.getLogger("bwdesk.test.logs")


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    """Each test starts with no registered secrets and leaves no bwdesk file handler behind."""
    root = logging.getLogger()
    level = root.level
    logs.forget_secrets()
    yield
    for handler in [h for h in root.handlers if h.get_name() in ("bwdesk-file", "bwdesk-early")]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    logs.forget_secrets()


def flushed_text(profile: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return log_file(profile).read_text(encoding="utf-8")


def test_setup_creates_an_owner_only_log_in_the_profile(profile: Path) -> None:
    path = setup_logging(profile, logging.INFO)
    log.info("hello from the test")
    log.debug("not at INFO")
    assert path == log_dir(profile) / "bwdesk.log"
    text = flushed_text(profile)
    assert "hello from the test" in text and "not at INFO" not in text
    assert "bwdesk.test.logs" in text
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(log_dir(profile).stat().st_mode) == 0o700


def test_setting_up_again_replaces_the_handler(profile: Path, tmp_path: Path) -> None:
    setup_logging(profile)
    setup_logging(tmp_path, "DEBUG")
    handlers = [h for h in logging.getLogger().handlers if h.get_name() == "bwdesk-file"]
    assert len(handlers) == 1
    log.debug("debug now")
    assert "debug now" in flushed_text(tmp_path)
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging(profile, "LOUD")


def test_setting_up_again_the_same_way_keeps_the_one_handler(profile: Path) -> None:
    setup_logging(profile)
    first = [h for h in logging.getLogger().handlers if h.get_name() == "bwdesk-file"]
    setup_logging(profile)
    assert [h for h in logging.getLogger().handlers if h.get_name() == "bwdesk-file"] == first
    assert flushed_text(profile).count("logging to") == 1


def test_records_from_before_the_file_opens_are_written_first(profile: Path) -> None:
    """The window opens its log file after its first paint; what start-up logged before is not lost."""
    logs.hold_early_records()
    log.info("settings were damaged, kept aside")
    log.debug("too detailed for INFO")
    setup_logging(profile)
    log.info("after the file opened")
    text = flushed_text(profile)
    assert text.index("settings were damaged") < text.index("after the file opened")
    assert "too detailed" not in text
    assert not [h for h in logging.getLogger().handlers if isinstance(h, logs.EarlyRecords)]


def test_early_records_are_redacted_like_the_rest(profile: Path) -> None:
    logs.hold_early_records()
    register_secret("early-secret-value")
    log.info("token was early-secret-value")
    setup_logging(profile)
    text = flushed_text(profile)
    assert "early-secret-value" not in text and REDACTED in text


def test_setting_up_again_writes_records_held_since(profile: Path) -> None:
    setup_logging(profile)
    logs.hold_early_records()
    log.info("held while the file was already open")
    setup_logging(profile)
    assert "held while the file was already open" in flushed_text(profile)
    assert not logs.is_holding_early_records()


def test_other_rotation_settings_replace_the_handler(profile: Path) -> None:
    setup_logging(profile)
    setup_logging(profile, max_bytes=2_000, backups=2)
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "bwdesk-file"]
    assert (getattr(handler, "maxBytes", None), getattr(handler, "backupCount", None)) == (2_000, 2)


def test_a_record_on_its_way_to_the_buffer_during_the_swap_is_passed_on(profile: Path) -> None:
    logs.hold_early_records()
    (early,) = [h for h in logging.getLogger().handlers if isinstance(h, logs.EarlyRecords)]
    setup_logging(profile)
    # Another thread had already picked the buffer from the root's handlers when the file opened.
    early.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "late arrival", (), None))
    text = flushed_text(profile)
    assert text.count("late arrival") == 1 and not early.records


def test_early_records_are_capped(profile: Path) -> None:
    logs.hold_early_records()
    for i in range(logs.EarlyRecords.LIMIT + 50):
        log.info("early %d", i)
    setup_logging(profile)
    text = flushed_text(profile)
    assert f"early {logs.EarlyRecords.LIMIT - 1}" in text and f"early {logs.EarlyRecords.LIMIT}\n" not in text


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_rotation_keeps_five_owner_only_files(profile: Path) -> None:
    setup_logging(profile, max_bytes=2_000, backups=5)
    for i in range(200):
        log.info("line %d %s", i, "x" * 60)
    files = sorted(log_dir(profile).iterdir())
    assert [f.name for f in files] == ["bwdesk.log"] + [f"bwdesk.log.{n}" for n in range(1, 6)]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert "line 199" in flushed_text(profile)


def test_secrets_never_reach_the_log_file(profile: Path, expect_log: Any) -> None:
    expect_log("something failed", "with a stack for")
    password, client_secret, token = "Pa55-w0rd!x", "cl1ent-s3cret", "eyJhbGciOiJIUzI1NiJ9.payload.sig"
    registered = "only-known-at-runtime-42"
    basic = "Basic " + base64.b64encode(b"api-user:" + password.encode()).decode()
    setup_logging(profile, logging.DEBUG)
    register_secret(registered)

    log.info("request headers: %s", {"Authorization": basic, "User-Agent": "bwdesk/1"})
    log.info("raw header line\r\nAuthorization: Bearer %s\r\nHost: x", token)
    log.info("proxy-authorization: %s", basic)
    log.info("json body %s", json.dumps({"username": "api-user", "password": password}))
    log.info('pretty json {"client_secret" : "%s", "grant_type": "client_credentials"}', client_secret)
    log.info("form body grant_type=client_credentials&client_secret=%s&scope=x", client_secret)
    log.info("query https://h/x?access_token=%s&refresh_token=%s", token, token)
    log.info("env BW_PASSWORD=%s BW_CLIENT_SECRET=%s", password, client_secret)
    log.info("token answer %r", {"access_token": token, "token_type": "bearer", "expires_in": 3600})
    log.info("registered %s, json-escaped %s, url-encoded %s", registered, json.dumps(registered), registered)
    log.info("a bearer word alone: Bearer %s", token)
    try:
        raise RuntimeError(f"server said password={password} and echoed {registered}")
    except RuntimeError:
        log.exception("something failed")
    log.warning("with a stack for %s", registered, stack_info=True)

    text = flushed_text(profile)
    for secret in (password, client_secret, token, registered, basic.split()[1]):
        assert secret not in text, secret
    assert text.count(REDACTED) >= 15
    assert '"username": "api-user"' in text  # what is not secret stays readable
    assert "grant_type=client_credentials" in text
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text


def test_redact_keeps_quotes_and_ignores_short_registrations() -> None:
    assert redact("{'password': 'x1'}") == "{'password': '[REDACTED]'}"
    assert redact('"secret":"a\\"b"') == '"secret":"[REDACTED]"'
    register_secret("abc")  # too short to redact safely: every "abc" in the log would vanish
    assert redact("abc") == "abc"
    assert redact("using basic authentication") == "using basic authentication"


def test_diagnostics_have_versions_keyring_settings_and_last_lines(
    profile: Path, memory_keyring: Any
) -> None:
    save_settings(Settings(account_id="9900000", username="api-user"), profile)
    setup_logging(profile)
    register_secret("diag-secret-value")
    log.info("the last line mentions diag-secret-value")
    text = diagnostics_text(profile, qt_version="6.8.0 (PySide6 6.8.0)", log_lines=3)
    assert text.startswith("bwdesk ")
    assert "Python 3." in text and "Platform: " in text and "SQLite: " in text
    assert "Qt: 6.8.0 (PySide6 6.8.0)" in text
    assert "Keyring: Secrets are kept in MemoryKeyring" in text
    assert '  account_id: "9900000"' in text and '  username: "api-user"' in text
    assert "the last line mentions [REDACTED]" in text
    assert "diag-secret-value" not in text
    assert "Qt: not loaded" in diagnostics_text(profile, keyring_description="x", settings={})


def test_no_file_under_the_profile_holds_a_secret_after_a_configure_send_error_cycle(
    profile: Path, memory_keyring: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    setup_logging(profile, logging.DEBUG)
    with Sandbox(status_step=0) as sandbox:
        sender = sandbox.identity.numbers[0]
        # Configure: settings to the profile, secrets to the keyring.
        settings = save_settings(
            Settings(
                account_id=sandbox.account_id,
                application_id=sandbox.identity.application_id,
                from_numbers=(FromNumber(sender, "Support"),),
                default_from=sender,
                username=sandbox.username,
                client_id=sandbox.client_id,
                api_base=sandbox.api_base,
                token_url=sandbox.token_url,
            ),
            profile,
        ).settings
        store = SecretStore()
        store.save(sandbox.account_id, BasicCredentials(sandbox.username, sandbox.password))
        wrong = BasicCredentials(sandbox.username, "not-the-right-password")
        store.save("1234567", wrong)
        oauth = OAuth2Credentials(sandbox.client_id, sandbox.client_secret)
        store.save("7654321", oauth)

        # Send: one accepted, one rejected by validation, one with the wrong password, one over OAuth2.
        history = SqliteHistoryStore.open(history_file(profile))
        outcomes = []
        attempts = [
            (store.load(sandbox.account_id), "+19195550123"),
            (store.load(sandbox.account_id), "+1"),
            (store.load("1234567"), "+19195550124"),
            (store.load("7654321"), "+19195550125"),
        ]
        for credentials, to in attempts:
            assert credentials is not None
            client = BandwidthClient(
                settings.api_base,
                sandbox.account_id,
                credentials,
                token_url=settings.token_url,
                timeouts=settings.timeouts,
            )
            payload = {"applicationId": settings.application_id, "to": [to], "from": sender, "text": "hi"}
            row = history.record_sending(sender, [to], "separate", "hi", [], "TICKET-1", 1)
            result = client.send(payload)
            history.settle(row, result)
            client.close()
            outcomes.append(result.state)
            log.info("send to %s: %s %s", to, result.state, result.error)
        history.close()
    assert outcomes == [SendState.ACCEPTED, SendState.REJECTED, SendState.REJECTED, SendState.ACCEPTED]

    secrets = [sandbox.password, sandbox.client_secret, wrong.password]
    encoded = [
        base64.b64encode(f"{sandbox.username}:{sandbox.password}".encode()).decode(),
        base64.b64encode(f"{sandbox.client_id}:{sandbox.client_secret}".encode()).decode(),
    ]
    for record in caplog.records:  # nothing the code logged on its own carries a secret
        for secret in secrets + encoded:
            assert secret not in record.getMessage(), record.getMessage()

    # Even a careless log line about the request is redacted before it reaches the file.
    log.debug("request: %s", {"Authorization": f"Basic {encoded[0]}", "json": {"password": sandbox.password}})
    for handler in logging.getLogger().handlers:
        handler.flush()
    files = [p for p in profile.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"settings.json", "history.sqlite3", "bwdesk.log"}
    for path in files:
        data = path.read_bytes()
        for secret in secrets + encoded:
            assert secret.encode() not in data, f"{secret!r} found in {path.name}"
    with SqliteHistoryStore.open(history_file(profile)) as reopened:
        assert reopened.count(HistoryQuery(text="TICKET-1")) == 4
