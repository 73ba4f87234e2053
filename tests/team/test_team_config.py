"""Choosing the team database: the URL's rules, where it and the password come from, who and which desk."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bwdesk.core import secrets
from bwdesk.core.account import apply_environment, ignored_variables, load_context
from bwdesk.core.errors import ConfigError
from bwdesk.core.logs import REDACTED, redact
from bwdesk.core.settings import Settings, load_settings, save_settings
from bwdesk.core.team.config import context_team_config, team_password
from bwdesk.core.team.identity import agent_name, desk_id, os_full_name
from bwdesk.core.team.url import PASSWORD_ADVICE, parse_history_url

GOOD = "postgresql://bwdesk_agent@db.example.com:5432/bwdesk?sslmode=verify-full"


# --- the URL ---------------------------------------------------------------------------------------------


def test_a_remote_url_with_verify_full_is_accepted_and_normalised() -> None:
    url = parse_history_url(
        "postgres://bwdesk_agent@db.example.com/bwdesk?sslmode=verify-full&sslrootcert=system"
    )
    assert url.url == "postgresql://bwdesk_agent@db.example.com/bwdesk?sslmode=verify-full&sslrootcert=system"
    assert (url.user, url.hosts, url.dbname) == ("bwdesk_agent", (("db.example.com", None),), "bwdesk")
    assert url.keyring_key == "bwdesk_agent@db.example.com:5432/bwdesk"
    assert not url.is_local


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://agent@127.0.0.1:5432/team",
        "postgresql://agent@localhost/team",
        "postgresql://agent@[::1]:6543/team",
        "postgresql://agent@%2Fvar%2Frun%2Fpostgresql/team",
        "postgresql://agent@127.0.0.2/team?sslmode=disable",
    ],
)
def test_this_computer_needs_no_tls(text: str) -> None:
    assert parse_history_url(text).is_local


@pytest.mark.parametrize("sslmode", [None, "prefer", "require", "verify-ca"])
def test_another_computer_needs_verify_full(sslmode: str | None) -> None:
    text = "postgresql://agent@db.example.com/team" + (f"?sslmode={sslmode}" if sslmode else "")
    with pytest.raises(ConfigError) as caught:
        parse_history_url(text, "BWDESK_HISTORY_URL")
    message = str(caught.value)
    assert message.startswith("Team history URL (BWDESK_HISTORY_URL): db.example.com is another computer")
    assert "add sslmode=verify-full" in message and "sslrootcert=system" in message


def test_every_host_of_a_failover_list_is_judged() -> None:
    with pytest.raises(ConfigError, match=r"db2\.example\.com is another computer"):
        parse_history_url("postgresql://agent@127.0.0.1:5432,db2.example.com:5433/team")
    url = parse_history_url("postgresql://agent@db1:5432,db2:5433/team?sslmode=verify-full")
    assert url.hosts == (("db1", 5432), ("db2", 5433))
    assert url.keyring_key == "agent@db1:5432,db2:5433/team"


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://agent:Sup3r-s3cret@db.example.com/team?sslmode=verify-full",
        "postgresql://agent:Sup3r-s3cret@127.0.0.1/team",
        "postgresql://agent@127.0.0.1/team?password=Sup3r-s3cret",
        "postgres://agent:Sup3r%2Ds3cret@bad host:notaport/team",
    ],
)
def test_a_password_in_the_url_is_refused_without_repeating_it(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_history_url(text, "Settings")
    message = str(caught.value)
    assert message == f"Team history URL (Settings): {PASSWORD_ADVICE}."
    assert "s3cret" not in message and "agent" not in message
    # It may already sit in a shell history: at least bwdesk's log never shows it.
    assert "Sup3r-s3cret" not in redact(f"someone logged {text} and Sup3r-s3cret")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mysql://agent@db/team", "must be a postgresql:// URL"),
        ("db.example.com/team", "must be a postgresql:// URL"),
        ("postgresql://db.example.com/team?sslmode=verify-full", "add the user name"),
        ("postgresql://agent@127.0.0.1", "add the database name"),
        ("postgresql://agent@127.0.0.1:99999/team", "the port '99999' is not a number from 1 to 65535"),
        ("postgresql://agent@127.0.0.1/team?connect_timeout=60", "leave out connect_timeout=60"),
        ("postgresql://agent@127.0.0.1/team?application_name=x", "bwdesk sets it itself"),
        ("postgresql://agent@127.0.0.1/team?colour=blue", "'colour' is not an option bwdesk passes"),
        ("postgresql://agent@127.0.0.1/team?sslmode=always", "sslmode=always is not one of"),
        ("postgresql://agent@127.0.0.1/team?sslmode", "needs a value"),
    ],
)
def test_each_mistake_is_named(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=r"^Team history URL \(Settings\): ") as caught:
        parse_history_url(text)
    assert expected in str(caught.value)


def test_a_service_file_may_supply_the_rest() -> None:
    url = parse_history_url("postgresql:///?service=team")
    assert url.service == "team" and url.hosts == ()
    assert url.keyring_key == "service team"


# --- settings, environment, lock --------------------------------------------------------------------------


def test_the_setting_is_saved_normalised_and_a_password_never_reaches_the_file(profile: Path) -> None:
    saved = save_settings(Settings(history_url="postgres://agent@127.0.0.1:5432/team"), profile)
    assert saved.settings.history_url == "postgresql://agent@127.0.0.1:5432/team"
    with pytest.raises(ConfigError) as caught:
        save_settings(Settings(history_url="postgresql://agent:Hunter2-pw@127.0.0.1/team"), profile)
    assert [p.field for p in caught.value.problems] == ["history_url"]  # type: ignore[attr-defined]
    assert "Hunter2-pw" not in str(caught.value)
    assert "Hunter2-pw" not in (profile / "settings.json").read_text(encoding="utf-8")


def test_a_hand_edited_password_url_is_ignored_with_a_warning_that_does_not_show_it(
    profile: Path, expect_log: object, caplog: pytest.LogCaptureFixture
) -> None:
    expect_log("Team history URL")  # type: ignore[operator]
    (profile / "settings.json").write_text(
        json.dumps({"version": 1, "history_url": "postgresql://agent:Hunter2-pw@127.0.0.1/team"}),
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING):
        loaded = load_settings(profile)
    assert loaded.settings.history_url == ""
    assert any("remove the password from the URL" in w for w in loaded.warnings)
    assert all("Hunter2-pw" not in w for w in loaded.warnings)
    assert "Hunter2-pw" not in caplog.text


def test_the_environment_wins_over_saved_settings_unless_it_is_locked(profile: Path) -> None:
    saved = Settings(history_url="postgresql://agent@127.0.0.1/saved", agent_name="Saved Name")
    env = {"BWDESK_HISTORY_URL": "postgresql://agent@127.0.0.1/from-env", "BWDESK_AGENT": "  Env   Name "}
    applied = apply_environment(saved, env)
    assert (applied.history_url, applied.agent_name) == ("postgresql://agent@127.0.0.1/from-env", "Env Name")
    locked = frozenset({"history_url", "agent_name"})
    assert apply_environment(saved, env, locked) == saved
    assert ignored_variables(env, locked) == ["BWDESK_HISTORY_URL", "BWDESK_AGENT"]


def test_the_team_config_names_where_its_url_came_from(
    profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = profile / "system.json"
    system.write_text(
        json.dumps(
            {"defaults": {"history_url": "postgresql://agent@127.0.0.1/it"}, "locked": ["history_url"]}
        ),
        encoding="utf-8",
    )
    assert context_team_config(load_context(profile=profile, env={})) is None
    monkeypatch.setenv("BWDESK_SYSTEM_SETTINGS", str(system))
    env = {"BWDESK_HISTORY_URL": "postgresql://agent@db.example.com/team"}  # ignored: IT locked the key
    config = context_team_config(load_context(profile=profile, env=env))
    assert config is not None
    assert (config.url.dbname, config.source) == ("it", "system settings")

    monkeypatch.delenv("BWDESK_SYSTEM_SETTINGS")
    with pytest.raises(ConfigError, match=r"^Team history URL \(BWDESK_HISTORY_URL\): db\.example\.com is"):
        context_team_config(load_context(profile=profile, env=env))


def test_checking_a_saved_url_does_not_load_psycopg(profile: Path) -> None:
    """Settings load on the way to the window's first paint; the PostgreSQL driver must not."""
    (profile / "settings.json").write_text(
        json.dumps({"history_url": "postgresql://agent@127.0.0.1/team"}), encoding="utf-8"
    )
    code = (
        "import sys; from bwdesk.core.settings import load_settings; "
        "s = load_settings(); assert s.settings.history_url, s; "
        "print(','.join(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_binary')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# --- the password -------------------------------------------------------------------------------------------


def test_the_password_comes_from_pgpassword_then_the_keyring_then_libpq(memory_keyring: object) -> None:
    url = parse_history_url("postgresql://agent@127.0.0.1:5432/team")
    store = secrets.default_store()
    assert team_password(url, {}, store.load_team_password).value is None
    store.save_team_password(url.keyring_key, "from-the-keyring")
    assert memory_keyring.store == {  # type: ignore[attr-defined]
        ("bwdesk team history", "agent@127.0.0.1:5432/team"): "from-the-keyring"
    }
    found = team_password(url, {}, store.load_team_password)
    assert (found.value, found.source) == ("from-the-keyring", "the keyring")
    assert "from-the-keyring" not in repr(found)
    found = team_password(url, {"PGPASSWORD": "from-the-env"}, store.load_team_password)
    assert (found.value, found.source) == ("from-the-env", "PGPASSWORD")
    assert redact("it was from-the-env, or from-the-keyring") == f"it was {REDACTED}, or {REDACTED}"
    store.delete_team_password(url.keyring_key)
    assert team_password(url, {}, store.load_team_password).value is None


def test_a_locked_keyring_leaves_the_password_to_libpq(expect_log: object) -> None:
    expect_log("the keyring could not be read")  # type: ignore[operator]
    url = parse_history_url("postgresql://agent@127.0.0.1:5432/team")

    def locked(key: str) -> str | None:
        raise secrets.SecretStoreLocked("Could not read the team history's password: your keyring is locked.")

    found = team_password(url, {}, locked)
    assert found.value is None
    assert found.source.startswith(
        "libpq (.pgpass or a service file); the keyring could not be read: Could not"
    )


def test_without_a_keyring_the_password_can_be_kept_for_this_session(memory_keyring: object) -> None:
    store = secrets.SecretStore()
    store.save_team_password("agent@127.0.0.1:5432/team", "only-for-now", session_only=True)
    assert store.load_team_password("agent@127.0.0.1:5432/team") == "only-for-now"
    assert memory_keyring.store == {}  # type: ignore[attr-defined]
    store.forget_session()
    assert store.load_team_password("agent@127.0.0.1:5432/team") is None


# --- who and which desk -------------------------------------------------------------------------------------


def test_the_agent_is_the_setting_else_the_os_full_name_else_the_login() -> None:
    assert agent_name("  Ana   Lima ") == "Ana Lima"
    assert agent_name("x" * 300) == "x" * 100
    expected = os_full_name() or os.environ.get("USER") or __import__("getpass").getuser()
    assert agent_name("") == " ".join(expected.split())


@pytest.mark.skipif(sys.platform == "win32", reason="the GECOS field is POSIX's")
def test_the_os_full_name_is_the_first_gecos_field() -> None:
    import pwd

    gecos = pwd.getpwuid(os.getuid()).pw_gecos
    assert os_full_name() == gecos.split(",")[0].strip()


def test_a_desk_id_is_made_once_per_profile_and_kept(profile: Path, tmp_path: Path) -> None:
    first = desk_id(profile)
    assert desk_id(profile) == first
    assert json.loads((profile / "desk.json").read_text(encoding="utf-8")) == {"desk_id": first}
    if os.name == "posix":
        assert stat.S_IMODE((profile / "desk.json").stat().st_mode) == 0o600
    other = tmp_path / "other-profile"
    assert desk_id(other) != first


def test_desks_made_at_the_same_moment_agree(tmp_path: Path) -> None:
    found: list[str] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait(timeout=10)
        found.append(desk_id(tmp_path))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(found) == 8 and len(set(found)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["desk.json"]  # no temporary file left behind


def test_a_damaged_desk_file_is_reported(profile: Path) -> None:
    (profile / "desk.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="does not hold a desk id; move it aside"):
        desk_id(profile)


# --- logs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://agent:pa55word-x@db.example.com:5432/team", "pa55word-x"),
        ("host=db user=agent password=pa55word-x dbname=team", "pa55word-x"),
        ("host=db password='pa55 word' dbname=team", "pa55 word"),
        ("postgres://agent:pa%40ss@[::1]/team", "pa%40ss"),
    ],
)
def test_the_log_never_shows_a_database_password(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and REDACTED in redacted
    assert "team" in redacted.replace(REDACTED, "")  # the rest stays readable
