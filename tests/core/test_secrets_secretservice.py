"""A real Secret Service (gnome-keyring on a private D-Bus session): auto-detected, round trip, and locked.

Runs where `dbus-run-session` and `gnome-keyring-daemon` are installed (`.ci/run` installs them);
skipped elsewhere. Each case runs in a child process inside its own D-Bus session with a throw-away
HOME, so no real keyring of the machine is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import bwdesk

REPO = Path(bwdesk.__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("dbus-run-session") is None or shutil.which("gnome-keyring-daemon") is None,
    reason="needs dbus-run-session and gnome-keyring-daemon (Debian: dbus, gnome-keyring)",
)

# Starts gnome-keyring's secrets component (unlocked with a password on stdin, or locked), waits for it
# to own org.freedesktop.secrets on the bus (a signal, not a sleep), then exercises bwdesk's SecretStore
# through keyring's own backend detection and prints what happened as JSON.
CHILD = textwrap.dedent(
    """
    import json, subprocess, sys
    from jeepney import MatchRule, message_bus
    from jeepney.io.blocking import open_dbus_connection

    NAME = "org.freedesktop.secrets"
    bus = open_dbus_connection(bus="SESSION")
    rule = MatchRule(type="signal", interface="org.freedesktop.DBus", member="NameOwnerChanged")
    rule.add_arg_condition(0, NAME)
    bus.send_and_get_reply(message_bus.AddMatch(rule))
    unlock = sys.argv[1] == "unlocked"
    with bus.filter(rule) as owners:
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--components=secrets", "--unlock" if unlock else "--start"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )
        daemon.stdin.write("throw-away-keyring-password" if unlock else "")
        daemon.stdin.close()
        if not bus.send_and_get_reply(message_bus.NameHasOwner(NAME)).body[0]:
            bus.recv_until_filtered(owners, timeout=20)

    from bwdesk.core.credentials import BasicCredentials
    from bwdesk.core.secrets import SecretStore, SecretStoreError
    out = {}
    try:
        store = SecretStore()
        status = store.status()
        out["available"], out["backend"] = status.available, status.backend
        store.save("9900000", BasicCredentials("api-user", "real-keyring-pa55"))
        out["loaded"] = [store.load("9900000").username, store.load("9900000").password]
        out["fresh_store"] = SecretStore().load("9900000").password
        store.delete("9900000")
        out["after_delete"] = SecretStore().load("9900000")
    except SecretStoreError as exc:
        out["error"] = [type(exc).__name__, str(exc)]
    finally:
        daemon.terminate()
        daemon.wait()
    print(json.dumps(out))
    """
)


def run_in_session(mode: str, tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")
    }
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        DISPLAY="",
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        ["dbus-run-session", "--", sys.executable, "-c", CHILD, mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_an_unlocked_secret_service_is_detected_and_round_trips(tmp_path: Path) -> None:
    out = run_in_session("unlocked", tmp_path)
    assert out == {
        "available": True,
        "backend": "keyring.backends.SecretService.Keyring",
        "loaded": ["api-user", "real-keyring-pa55"],
        "fresh_store": "real-keyring-pa55",
        "after_delete": None,
    }


def test_a_locked_secret_service_says_unlock_your_keyring(tmp_path: Path) -> None:
    out = run_in_session("locked", tmp_path)
    assert out["available"] is True  # the store is there; it is locked and nobody can type the password
    name, message = out["error"]
    assert name == "SecretStoreLocked"
    assert (
        "Unlock your keyring" in message and "session only" not in message
    )  # the dialog and the CLI add their own way out
