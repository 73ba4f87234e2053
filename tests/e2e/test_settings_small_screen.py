"""Setting up an account on a 700 px high screen without a keyring, in the real program on Xvfb.

IT meets this on a thin client: no D-Bus session, so no keyring, and a small screen. The first-run dialog
must fit the screen with its buttons in view, save for this session only without a detour, and open again
with nothing to fix: Save with nothing changed just closes it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SCREEN = (1000, 700)
TOOLS = ("Xvfb", "xdotool")


@pytest.fixture
def small_display() -> Iterator[str]:
    if not sys.platform.startswith("linux"):
        pytest.skip("Xvfb is an X server: these run on Linux (the Windows and macOS jobs have no X)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"needs {', '.join(missing)} (Debian: xvfb xdotool; .ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing tool is a broken set-up, never a silent skip
        pytest.skip(message)
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not report its display"
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def xdotool(display: str, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=30
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result.stdout.strip() if result.returncode == 0 else ""


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll another process's world (files, windows); fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def visible_window(display: str, title: str) -> str:
    found = xdotool(display, "search", "--onlyvisible", "--name", title, check=False)
    return found.splitlines()[0] if found else ""


def geometry(display: str, window: str) -> dict[str, int]:
    shell = xdotool(display, "getwindowgeometry", "--shell", window)
    return {k: int(v) for k, v in (line.split("=", 1) for line in shell.splitlines()) if k in "XYWIDTHHEIGHT"}


def test_first_run_without_a_keyring_on_a_700_px_screen(small_display: str, tmp_path: Path) -> None:
    display = small_display
    home = tmp_path / "home"
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "BWDESK_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no session bus: no keyring can be found
    app = subprocess.Popen(
        [sys.executable, "-m", "bwdesk"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        dialog = xdotool(display, "search", "--sync", "--onlyvisible", "--name", "^bwdesk — Welcome$")
        dialog = dialog.splitlines()[0]
        box = geometry(display, dialog)
        assert box["Y"] >= 0 and box["Y"] + box["HEIGHT"] <= SCREEN[1], box  # Save and Cancel are on screen

        xdotool(display, "windowfocus", "--sync", dialog)
        # Focus starts in Account ID; Tab goes to Application ID, the sign-in kind, Username, Password.
        xdotool(display, "type", "--delay", "15", "9900000")
        xdotool(display, "key", "Tab")
        xdotool(display, "type", "--delay", "15", "app-1")
        xdotool(display, "key", "Tab", "Tab")
        xdotool(display, "type", "--delay", "15", "api-user")
        xdotool(display, "key", "Tab")
        xdotool(display, "type", "--delay", "15", "s3cret-pass")
        xdotool(display, "key", "Return")  # Save, the default button: kept for this session only, ticked

        settings = home / "settings.json"
        wait_for(settings.exists, 20, "the settings to be saved")
        saved = json.loads(settings.read_text(encoding="utf-8"))
        assert (saved["account_id"], saved["application_id"], saved["username"]) == (
            "9900000",
            "app-1",
            "api-user",
        )
        assert b"s3cret-pass" not in b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
        wait_for(lambda: visible_window(display, "^bwdesk — New message$"), 20, "the main window")

        # Opened again, Save with nothing changed just closes the dialog (it used to fail in red).
        window = visible_window(display, "^bwdesk — New message$")
        xdotool(display, "windowfocus", "--sync", window)
        xdotool(display, "key", "ctrl+comma")
        wait_for(lambda: visible_window(display, "^bwdesk — Settings$"), 20, "the settings dialog")
        settings_dialog = visible_window(display, "^bwdesk — Settings$")
        box = geometry(display, settings_dialog)
        assert box["Y"] >= 0 and box["Y"] + box["HEIGHT"] <= SCREEN[1], box
        xdotool(display, "windowfocus", "--sync", settings_dialog)
        xdotool(display, "key", "Return")
        wait_for(lambda: not visible_window(display, "^bwdesk — Settings$"), 20, "Save to close the dialog")

        xdotool(display, "windowfocus", "--sync", window)
        xdotool(display, "key", "ctrl+q")
        _, err = app.communicate(timeout=20)
        assert app.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
