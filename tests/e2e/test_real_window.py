"""The real program in a real X server: `bwdesk --sandbox` on Xvfb, driven by the keyboard with xdotool.

This is how an agent meets bwdesk: find the window, type two recipients and a message, press Ctrl+Return,
and the sandbox accepts both. The history file is read from outside the process to confirm it, and a
screenshot of the window in use is taken (`BWDESK_UPDATE_SCREENSHOT=1` copies it to docs/screenshot.png).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.outcome import SendState

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("Xvfb", "xdotool", "import")


def _require_tools() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Xvfb is an X server: these run on Linux (the Windows and macOS jobs have no X)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} (Debian: xvfb xdotool imagemagick; .ci/run installs them)"
    if os.environ.get("CI"):
        pytest.fail(message)  # in CI a missing tool is a broken set-up, never a silent skip
    pytest.skip(message)


@pytest.fixture
def display() -> Iterator[str]:
    _require_tools()
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1000x900x24", "-nolisten", "tcp"],
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


#: How long one xdotool step may take: a window's first appearance on a busy 2-core machine (a fresh Python
#: loading Qt while other processes run) has taken longer than 30 s.
XDOTOOL_TIMEOUT = 60


def xdotool(display: str, *args: str) -> str:
    result = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=XDOTOOL_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def wait_for(condition, timeout: float, what: str) -> None:
    """Poll a condition in another process's world (files, windows); fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def accepted_rows(history: Path) -> list:
    if not history.exists():
        return []
    store = SqliteHistoryStore.open(history)
    try:
        return [r for r in store.search(HistoryQuery(), limit=10) if r.state is SendState.ACCEPTED]
    finally:
        store.close()


def test_type_and_send_with_the_keyboard_in_a_real_window(display, tmp_path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "BWDESK_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHON_KEYRING_BACKEND", None)  # the sandbox must not need a keyring at all
    app = subprocess.Popen(
        [sys.executable, "-m", "bwdesk", "--sandbox"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = xdotool(display, "search", "--sync", "--onlyvisible", "--name", "^bwdesk").splitlines()[0]
        assert xdotool(display, "getwindowname", window) == "bwdesk — Sandbox"
        xdotool(display, "windowfocus", "--sync", window)
        # Focus starts in the recipients; a comma makes a chip, Tab commits the rest and moves to the text.
        xdotool(display, "type", "--delay", "15", "919 555 0123, 9195550124")
        xdotool(display, "key", "Tab")
        xdotool(display, "type", "--delay", "15", "Your technician is on the way")
        xdotool(display, "key", "ctrl+Return")

        history = home / "sandbox" / "history.sqlite3"
        wait_for(lambda: len(accepted_rows(history)) == 2, 20, "two accepted messages in the history")
        rows = accepted_rows(history)
        assert sorted(r.to[0] for r in rows) == ["+19195550123", "+19195550124"]
        assert {r.text for r in rows} == {"Your technician is on the way"}
        assert all(r.message_id for r in rows)

        # Start the next message, so the screenshot shows the composer in use next to the results.
        xdotool(display, "type", "--delay", "15", "919 555 0125,")
        xdotool(display, "key", "Tab")
        xdotool(display, "type", "--delay", "15", "Your part arrived — photo attached")
        shot = tmp_path / "screenshot.png"
        subprocess.run(
            ["import", "-window", "root", str(shot)],
            env={**os.environ, "DISPLAY": display},
            check=True,
            timeout=30,
        )
        assert shot.stat().st_size > 10_000
        if os.environ.get("BWDESK_UPDATE_SCREENSHOT"):
            shutil.copyfile(shot, ROOT / "docs" / "screenshot.png")

        xdotool(display, "key", "ctrl+q")
        _, err = app.communicate(timeout=20)
        assert app.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()


def test_a_link_typed_in_media_without_enter_goes_out_with_the_message(display, tmp_path) -> None:
    """Issue: a link typed but not confirmed was silently left out. Typed, never confirmed, Ctrl+Return."""
    home = tmp_path / "home"
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "BWDESK_HOME": str(home)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    app = subprocess.Popen(
        [sys.executable, "-m", "bwdesk", "--sandbox"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = xdotool(display, "search", "--sync", "--onlyvisible", "--name", "^bwdesk").splitlines()[0]
        xdotool(display, "windowfocus", "--sync", window)
        xdotool(display, "type", "--delay", "15", "919 555 0123")
        xdotool(display, "key", "Tab")  # to the text
        xdotool(display, "type", "--delay", "15", "Here is the part")
        xdotool(display, "key", "Tab")  # to the media link input
        xdotool(display, "type", "--delay", "15", "https://example.com/part.jpg")
        xdotool(display, "key", "ctrl+Return")  # no Enter, no "+ Add URL"

        history = home / "sandbox" / "history.sqlite3"
        wait_for(lambda: len(accepted_rows(history)) == 1, 20, "the accepted message in the history")
        (row,) = accepted_rows(history)
        assert row.media == ("https://example.com/part.jpg",) and row.text == "Here is the part"

        xdotool(display, "key", "ctrl+q")
        _, err = app.communicate(timeout=20)
        assert app.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
