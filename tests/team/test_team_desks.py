"""Desks as separate `bwdesk` processes sharing one team database on a real PostgreSQL, sending through a sandbox:
concurrent sends, the database stopped and started again, a desk killed mid-send, the team's duplicate guard,
and the password nowhere it must not be."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from teamdesk import admin, open_desk, team_url

from bwdesk.core.history.owner import INTERRUPTED_DESCRIPTION
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.status_words import status_label

CUSTOMERS = [f"+1919555{n:04d}" for n in range(100, 110)]


def desk_env(profile: Path, agent: str, api: dict[str, str], url: str, password: str) -> dict[str, str]:
    """A desk as its own process: its profile and agent, the sandbox's account, the team database (its
    password in libpq's own PGPASSWORD: never an argument)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BWDESK_", "PGPASSWORD"))}
    env.update(api)
    env.update(
        BWDESK_HOME=str(profile),
        BWDESK_AGENT=agent,
        BWDESK_HISTORY_URL=url,
        BWDESK_SYSTEM_SETTINGS=str(profile / "no-system-settings.json"),
        PGPASSWORD=password,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


def bwdesk(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bwdesk", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=90)
    return process.returncode, out, err


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """What `qtbot.waitUntil` is for widgets, for another process's effect on a database: ask again until."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def desk_id(profile: Path) -> str:
    return str(json.loads((profile / "desk.json").read_text(encoding="utf-8"))["desk_id"])


@pytest.fixture
def team(pg_server: Any, team_database: str, sandbox: Any, tmp_path: Path) -> Any:
    """Make the environment of a desk: `team(name, agent)` → (profile, env)."""
    url = team_url(pg_server, team_database)

    def make(name: str, agent: str, api: dict[str, str] | None = None) -> tuple[Path, dict[str, str]]:
        profile = tmp_path / name
        profile.mkdir()
        return profile, desk_env(profile, agent, api or sandbox.environment(), url, pg_server.agent_password)

    return make


def all_argument_lists() -> list[bytes]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # ended meanwhile, or not ours to read
                found.append((entry / "cmdline").read_bytes())
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for argument lists")
def test_two_desks_sending_at_once_each_row_exactly_once_with_its_agent_and_desk(
    pg_server: Any, team_database: str, team: Any, sandbox: Any
) -> None:
    ana_profile, ana_env = team("ana", "Ana Lima")
    ben_profile, ben_env = team("ben", "Ben Ode")
    targets = [arg for number in CUSTOMERS for arg in ("--to", number)]
    ana = bwdesk(ana_env, "send", *targets, "--text", "Your technician is on the way", "--json")
    ben = bwdesk(ben_env, "send", *targets, "--text", "Your parts have shipped", "--json")
    arguments = all_argument_lists()  # while both run (and the database serves them)
    results = [finish(ana), finish(ben)]
    for status, _, err in results:
        assert (status, err) == (0, ""), err
    sent = {
        agent: json.loads(out) for agent, (_, out, _) in zip(("Ana Lima", "Ben Ode"), results, strict=True)
    }
    assert [o["agent"] for o in sent["Ana Lima"]] == ["Ana Lima"] * 10
    assert {o["desk"] for o in sent["Ben Ode"]} == {desk_id(ben_profile)}
    assert len(sandbox.accepted_messages()) == 20
    rows = admin(
        pg_server,
        team_database,
        "SELECT agent, desk_id::text, local_id, state, text, row_uid FROM bwdesk.messages ORDER BY agent, local_id",
    )
    assert len(rows) == 20 and len({r[5] for r in rows}) == 20  # every row exactly once
    for agent, profile, text in (
        ("Ana Lima", ana_profile, "Your technician is on the way"),
        ("Ben Ode", ben_profile, "Your parts have shipped"),
    ):
        mine = [r for r in rows if r[0] == agent]
        assert [r[2] for r in mine] == list(range(1, 11))
        assert {(r[1], r[3], r[4]) for r in mine} == {(desk_id(profile), "accepted", text)}
    desks = admin(pg_server, team_database, "SELECT agent FROM bwdesk.desks ORDER BY agent")
    assert desks == [("Ana Lima",), ("Ben Ode",)]
    # The password is in no argument list, no file of either profile, no output.
    secret = pg_server.agent_password.encode()
    assert not any(secret in argv for argv in arguments)
    for profile in (ana_profile, ben_profile):
        for path in profile.rglob("*"):
            if path.is_file():
                assert secret not in path.read_bytes(), path
        assert "team history: online" in (profile / "logs" / "bwdesk.log").read_text(encoding="utf-8")
    assert all(secret.decode() not in out + err for _, out, err in results)


def test_with_the_database_stopped_sends_go_on_and_arrive_once_in_order_later(
    pg_server: Any, team_database: str, team: Any, sandbox: Any
) -> None:
    _, env = team("ana", "Ana Lima")
    assert finish(bwdesk(env, "send", "--to", CUSTOMERS[0], "--text", "first"))[0] == 0
    pg_server.stop()
    for i, number in enumerate(CUSTOMERS[1:4], 1):
        status, out, err = finish(bwdesk(env, "send", "--to", number, "--text", f"offline {i}"))
        assert status == 0 and out.startswith("accepted"), err  # sending does not need the team database
        assert "wait to be copied to the team history" in err or "waits to be copied" in err
    pg_server.start()
    status, out, err = finish(bwdesk(env, "history", "--team", "--json"))
    assert (status, err) == (0, "")
    assert [o["text"] for o in json.loads(out)] == ["offline 3", "offline 2", "offline 1", "first"]
    rows = admin(
        pg_server,
        team_database,
        "SELECT local_id, text, state FROM bwdesk.messages ORDER BY created, row_uid",
    )
    assert rows == [(1, "first", "accepted")] + [(i + 1, f"offline {i}", "accepted") for i in range(1, 4)]
    assert len(sandbox.accepted_messages()) == 4


@pytest.fixture
def silent_api() -> Any:
    """A loopback 'API' that reads a request and never answers: a send waits there until it is killed."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def accept_post(server: socket.socket, sender: subprocess.Popen[str], timeout: float = 90.0) -> socket.socket:
    """The sender's connection to the silent API; if the sender ends first, the test fails with what it said
    (instead of waiting for a POST that will never come until the suite's timeout ends the whole run)."""
    server.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            if sender.poll() is not None:
                out, err = sender.communicate()
                pytest.fail(f"bwdesk send ended ({sender.returncode}) before its POST: {out!r} {err!r}")
            assert time.monotonic() < deadline, "bwdesk send never made its POST"
            continue
        connection.settimeout(30)
        return connection


def test_a_desk_killed_mid_send_settles_its_row_on_restart_and_the_team_sees_it(
    pg_server: Any, team_database: str, team: Any, tmp_path: Path, silent_api: socket.socket
) -> None:
    port = silent_api.getsockname()[1]
    api = {
        "BWDESK_API_BASE": f"http://127.0.0.1:{port}/api/v2",
        "BW_ACCOUNT_ID": "9900000",
        "BW_USERNAME": "user",
        "BW_PASSWORD": "pass",
        "BW_MESSAGING_APPLICATION_ID": "app-1",
        "BW_NUMBER": "+19195550100",
    }
    _, env = team("ana", "Ana Lima", api)
    sender = bwdesk(env, "send", "--to", CUSTOMERS[0], "--text", "cut off")
    connection = accept_post(silent_api, sender)  # the POST is under way: the row was recorded before it
    with connection:
        assert connection.recv(65536).startswith(b"POST ")
        # Its `sending` row reaches the team while it waits.
        wait_until(
            lambda: admin(pg_server, team_database, "SELECT state FROM bwdesk.messages") == [("sending",)]
        )
        os.kill(sender.pid, signal.SIGKILL)
        sender.communicate(timeout=30)
    # Another desk sees the row as sending; once the killed desk has been silent too long, as unknown.
    admin(pg_server, team_database, "UPDATE bwdesk.desks SET last_heartbeat = now() - interval '10 minutes'")
    other = open_desk(
        pg_server, team_database, tmp_path / "ben", "Ben Ode", silent_after=timedelta(minutes=2)
    )
    try:
        [row] = other.search(HistoryQuery())
        assert status_label(row).startswith("unknown — desk offline since ")
    finally:
        other.close()
    # The desk starts again (any command): its row becomes unknown, and the team sees that.
    status, out, _ = finish(bwdesk(env, "history", "--team", "--json"))
    assert status == 0
    assert [(o["state"], o["agent"]) for o in json.loads(out)] == [("unknown", "Ana Lima")]
    assert admin(
        pg_server, team_database, "SELECT state, error_description, revision FROM bwdesk.messages"
    ) == [("unknown", INTERRUPTED_DESCRIPTION, 2)]


def test_the_team_duplicate_guard_across_desks(pg_server: Any, team_database: str, team: Any) -> None:
    _, ana_env = team("ana", "Ana Lima")
    _, ben_env = team("ben", "Ben Ode")
    assert finish(bwdesk(ana_env, "send", "--to", CUSTOMERS[0], "--text", "Your order shipped"))[0] == 0
    status, out, err = finish(bwdesk(ben_env, "send", "--to", CUSTOMERS[0], "--text", "Your order shipped"))
    assert (status, out) == (2, "")
    assert "by Ana Lima" in err and "--send-again" in err and "Nothing was sent." in err
    assert finish(bwdesk(ben_env, "send", "--to", CUSTOMERS[1], "--text", "Your order shipped"))[0] == 0
    # The team database cannot answer: Ben's own history is still checked, and the words say so.
    pg_server.stop()
    status, _, err = finish(bwdesk(ben_env, "send", "--to", CUSTOMERS[1], "--text", "Your order shipped"))
    assert status == 2 and "only this desk's messages were checked" in err
    status, out, err = finish(bwdesk(ben_env, "send", "--to", CUSTOMERS[0], "--text", "Your order shipped"))
    assert status == 0 and out.startswith("accepted")  # only Ana sent that one: Ben's desk cannot know
    assert "could not be asked in time, so only this desk's messages were checked" in err
    status, out, err = finish(bwdesk(ben_env, "history", "--team"))
    assert status == 4 and "Listing this computer's messages only." in err
