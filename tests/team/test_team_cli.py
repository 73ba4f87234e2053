"""`bwdesk team init|status` through `cli.main`, against a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pgserver import ADMIN_USER, AGENT_USER

from bwdesk.cli import main
from bwdesk.core import secrets
from bwdesk.core.team.schema import SCHEMA_VERSION
from bwdesk.core.team.url import parse_history_url


@pytest.fixture
def team_url(pg_server: Any, team_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This desk pointed at a ready team database (TLS verified), the password not yet anywhere."""
    url = pg_server.url(team_database, sslmode="verify-full", sslrootcert=str(pg_server.ca_file))
    monkeypatch.setenv("BWDESK_HISTORY_URL", url)
    monkeypatch.setenv("BWDESK_AGENT", "Ana Lima")
    return str(url)


def save_agent_password(pg_server: Any, url: str) -> None:
    secrets.default_store().save_team_password(parse_history_url(url).keyring_key, pg_server.agent_password)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_status_reports_a_usable_team_database(
    pg_server: Any, team_url: str, capsys: pytest.CaptureFixture[str], profile: Path
) -> None:
    save_agent_password(pg_server, team_url)
    pg_server.execute(
        "INSERT INTO bwdesk.desks (desk_id, agent, host_name, last_heartbeat) "
        "VALUES ('6f1c1b8e-6a53-4c2e-9a55-0f6f2d8a1b01', 'Ben Ode', 'desk-7', '2026-12-01T09:30:00Z')",
        dbname=parse_history_url(team_url).dbname,
    )
    status, out, err = run(capsys, "team", "status")
    assert (status, err) == (0, "")
    desk = json.loads((profile / "desk.json").read_text(encoding="utf-8"))["desk_id"]
    assert out.splitlines()[:9] == [
        f"Team history: {team_url} (from BWDESK_HISTORY_URL)",
        f"This desk:    {desk} as Ana Lima",
        "Password:     from the keyring",
        f"Reachable:    yes — PostgreSQL {pg_server.execute('SHOW server_version')[0][0].split()[0]}",
        out.splitlines()[4],
        f"Schema:       version {SCHEMA_VERSION} (this bwdesk knows {SCHEMA_VERSION})",
        "Rights:       all bwdesk needs",
        "Messages:     0",
        "Desks:        1",
    ]
    assert out.splitlines()[4] in ("TLS:          TLSv1.3", "TLS:          TLSv1.2")
    assert "Ben Ode on desk-7, last seen 2026-12-01" in out
    assert "Outbox:       nothing waiting" in out
    assert out.rstrip().endswith("OK: this desk can use the team history.")
    # The password came from the keyring: it reached no file of the profile, the log included.
    assert "team status: usable" in (profile / "logs" / "bwdesk.log").read_text(encoding="utf-8")
    for path in profile.rglob("*"):
        if path.is_file():
            assert pg_server.agent_password.encode() not in path.read_bytes(), path


def test_status_json_has_the_documented_names(
    pg_server: Any, team_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    save_agent_password(pg_server, team_url)
    status, out, _ = run(capsys, "team", "status", "--json")
    report = json.loads(out)
    assert status == 0
    assert set(report) == {
        "url", "source", "agent", "desk", "password_source", "usable", "reachable", "problem", "server_version",
        "tls", "schema_version", "schema_known", "rights", "missing_rights", "rows", "desks", "outbox",
    }  # fmt: skip
    assert (report["usable"], report["problem"], report["schema_version"], report["agent"]) == (
        True, None, SCHEMA_VERSION, "Ana Lima",
    )  # fmt: skip
    assert report["rights"]["messages"] == {"select": True, "insert": True, "update": True, "delete": False}


def test_no_team_database_configured_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "team", "status")
    assert (status, out) == (2, "")
    assert err.startswith("bwdesk: Team history: no team database is set up. Set BWDESK_HISTORY_URL")


def test_a_url_with_a_password_is_exit_2_and_the_password_is_shown_nowhere(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, profile: Path
) -> None:
    monkeypatch.setenv("BWDESK_HISTORY_URL", "postgresql://agent:Leaked-pw-1@127.0.0.1/team")
    status, out, err = run(capsys, "team", "status")
    assert (status, out) == (2, "")
    assert "remove the password from the URL" in err and "Leaked-pw-1" not in err
    assert not any(b"Leaked-pw-1" in p.read_bytes() for p in profile.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("setup", "status_expected", "kind", "words"),
    [
        ("wrong-password", 3, "authentication-failed", "refused the user name or password"),
        ("no-password", 3, "no-password", "no password for bwdesk_agent@127.0.0.1:"),
        ("server-down", 4, "refused", "(connection refused)"),
        ("no-schema", 4, "schema-missing", "Ask IT to run `bwdesk team init`"),
        ("no-rights", 4, "permission-denied", "team init --grant"),
    ],
)
def test_status_tells_each_failure_apart(
    pg_server: Any,
    pg_database: str,
    team_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    status_expected: int,
    kind: str,
    words: str,
) -> None:
    db = pg_database if setup == "no-schema" else team_database
    user = AGENT_USER
    if setup == "no-rights":
        user = pg_server.unique_name("stranger")
        pg_server.create_role(user, "stranger-password")
    url = pg_server.url(db, user=user, sslmode="verify-full", sslrootcert=str(pg_server.ca_file))
    monkeypatch.setenv("BWDESK_HISTORY_URL", url)
    password = {"wrong-password": "wrong", "no-rights": "stranger-password"}.get(
        setup, pg_server.agent_password
    )
    if setup != "no-password":
        monkeypatch.setenv("PGPASSWORD", password)
    if setup == "server-down":
        pg_server.stop()
    status, out, _ = run(capsys, "team", "status", "--json")
    report = json.loads(out)
    assert status == status_expected, out
    assert report["problem"]["kind"] == kind
    assert words in report["problem"]["message"]
    assert report["usable"] is False
    assert report["reachable"] is (setup != "server-down")
    status, out, _ = run(capsys, "team", "status")
    assert status == status_expected and "Problem:      Team history: " in out and words in out


def test_init_creates_the_schema_grants_and_is_then_a_no_op(
    pg_server: Any, pg_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = pg_server.url(pg_database, user=ADMIN_USER)
    monkeypatch.setenv("PGPASSWORD", pg_server.admin_password)
    status, out, err = run(capsys, "team", "init", "--url", admin, "--grant", AGENT_USER)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        f"Team history: {admin}",
        f"Schema: created at version {SCHEMA_VERSION}.",
        "Rights: bwdesk_agent may read and write messages, desks, the do-not-text list (by adding to its history), contacts and team templates (never delete).",
    ]
    status, out, _ = run(capsys, "team", "init", "--url", admin, "--json")
    assert status == 0
    assert json.loads(out) == {
        "url": admin,
        "before": SCHEMA_VERSION,
        "after": SCHEMA_VERSION,
        "applied": [],
        "granted": [AGENT_USER],
    }
    # The app's role can now use it.
    monkeypatch.setenv("PGPASSWORD", pg_server.agent_password)
    monkeypatch.setenv("BWDESK_HISTORY_URL", pg_server.url(pg_database))
    assert run(capsys, "team", "status")[0] == 0


def test_init_with_the_app_role_is_permission_denied(
    pg_server: Any, pg_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pg_server.execute(f'GRANT CONNECT ON DATABASE "{pg_database}" TO {AGENT_USER}')
    pg_server.execute(f'REVOKE CREATE ON DATABASE "{pg_database}" FROM PUBLIC')
    monkeypatch.setenv("BWDESK_HISTORY_URL", pg_server.url(pg_database))
    monkeypatch.setenv("PGPASSWORD", pg_server.agent_password)
    status, out, err = run(capsys, "team", "init")
    assert (status, out) == (4, "")
    assert "bwdesk_agent may not do what bwdesk needs (permission denied for database" in err


def test_init_without_a_password_and_no_terminal_says_so(
    pg_server: Any, pg_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with open(os.devnull) as no_terminal:  # nobody to ask for a password
        monkeypatch.setattr(sys, "stdin", no_terminal)
        status, out, err = run(capsys, "team", "init", "--url", pg_server.url(pg_database, user=ADMIN_USER))
    assert (status, out) == (3, "")
    assert "no password for bwdesk_admin@127.0.0.1:" in err


def test_init_with_an_unknown_role_is_exit_2_and_changes_nothing(
    pg_server: Any, pg_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", pg_server.admin_password)
    admin = pg_server.url(pg_database, user=ADMIN_USER)
    status, out, err = run(capsys, "team", "init", "--url", admin, "--grant", "bwdesk_agnet")
    assert (status, out) == (2, "")
    assert "there is no role 'bwdesk_agnet'" in err and "nothing was changed" in err
    assert pg_server.execute(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'bwdesk'", dbname=pg_database
    ) == [(0,)]


def test_help_says_what_each_exit_status_means(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("status", "init"):
        with pytest.raises(SystemExit) as done:
            main(["team", action, "--help"])
        assert done.value.code == 0
        out = " ".join(capsys.readouterr().out.split())
        assert (
            "Exit status: 0" in out
            and "3 the password was refused" in out
            and "4 the database cannot be used" in out
        )
    assert "never give it as an argument" in out
    with pytest.raises(SystemExit) as done:
        main(["team"])
    assert done.value.code == 2
    assert "the following arguments are required: ACTION" in capsys.readouterr().err


def test_no_password_in_any_file_log_or_argument(
    pg_server: Any, team_database: str, profile: Path, tmp_path: Path
) -> None:
    """`bwdesk team status` as its own process, with the password in PGPASSWORD: it shows up nowhere."""
    url = pg_server.url(team_database, sslmode="verify-full", sslrootcert=str(pg_server.ca_file))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "BW"))},
        "BWDESK_HOME": str(profile),
        "BWDESK_HISTORY_URL": url,
        "PGPASSWORD": pg_server.agent_password,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bwdesk", "team", "status"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    argv = Path(f"/proc/{process.pid}/cmdline").read_bytes() if sys.platform.startswith("linux") else b""
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert pg_server.agent_password not in out + err
    assert pg_server.agent_password.encode() not in argv
    log = profile / "logs" / "bwdesk.log"
    assert "team status: usable" in log.read_text(encoding="utf-8")
    for path in profile.rglob("*"):
        if path.is_file():
            assert pg_server.agent_password.encode() not in path.read_bytes(), path


def test_history_lists_this_computers_messages_and_with_team_the_teams(
    pg_server: Any, team_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, profile: Path
) -> None:
    from teamdesk import add, desk

    from bwdesk.core.team.url import parse_history_url as parse

    save_agent_password(pg_server, team_url)
    db = parse(team_url).dbname
    with desk(pg_server, db, tmp_path / "ben", "Ben Ode") as ben:
        add(ben, "+13125550198", text="Ben's customer")
        assert ben.flush(10)
    with desk(pg_server, db, profile, "Ana Lima") as ana:
        add(ana, "+19195550123", text="Ana's customer")
        assert ana.flush(10)
    status, out, err = run(capsys, "history", "--json")
    assert (status, err) == (0, "")
    [mine] = json.loads(out)
    desk_id = json.loads((profile / "desk.json").read_text(encoding="utf-8"))["desk_id"]
    assert (mine["text"], mine["agent"], mine["desk"], mine["id"]) == (
        "Ana's customer",
        "Ana Lima",
        desk_id,
        1,
    )
    status, out, err = run(capsys, "history", "--team", "--json")
    assert (status, err) == (0, "")
    assert [(o["text"], o["agent"], o["id"]) for o in json.loads(out)] == [
        ("Ana's customer", "Ana Lima", 1),
        ("Ben's customer", "Ben Ode", 1),
    ]
    status, out, _ = run(capsys, "history", "--team")
    lines = out.splitlines()
    assert status == 0 and "Ana Lima" in lines[0] and "Ben Ode" in lines[1]
    assert [json.loads(run(capsys, "history", *flags, "--json")[1])[0]["agent"] for flags in (
        ("--mine",), ("--agent", "Ben Ode"),
    )] == ["Ana Lima", "Ben Ode"]  # fmt: skip
    assert run(capsys, "history", "--agent", "Nobody Here")[1] == "No messages in the history yet.\n"


def test_history_team_without_a_team_history_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "history", "--team")
    assert (status, out) == (2, "")
    assert "--team: no team history is set up" in err


def test_status_shows_what_waits_in_this_desks_outbox(
    pg_server: Any, team_url: str, capsys: pytest.CaptureFixture[str], profile: Path
) -> None:
    from teamdesk import add, open_desk

    from bwdesk.core.team.url import parse_history_url as parse

    save_agent_password(pg_server, team_url)
    store = open_desk(pg_server, parse(team_url).dbname, profile, "Ana Lima", start=False)  # not copying
    try:
        add(store, "+19195550123")
        add(store, "+19195550124")
    finally:
        store.close()
    status, out, _ = run(capsys, "team", "status", "--json")
    outbox = json.loads(out)["outbox"]
    assert status == 0 and outbox["waiting"] == 2 and outbox["oldest"] and outbox["last_copied"] is None
    status, out, _ = run(capsys, "team", "status")
    assert "Outbox:       2 waiting since " in out
