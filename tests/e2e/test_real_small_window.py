"""The real window made small (700×600) on Xvfb, driven by the keyboard alone: mnemonics reach their controls
(Alt+G chooses a group message, Alt+A the tag) without typing their letters into a field, and the message
goes out as chosen; the window keeps the size it was given."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.test_real_window import accepted_rows, display, wait_for, xdotool  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e


def test_a_group_message_with_a_tag_by_keyboard_in_a_700_by_600_window(display, tmp_path) -> None:  # noqa: F811
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
        xdotool(display, "windowsize", "--sync", window, "700", "600")
        xdotool(display, "windowfocus", "--sync", window)
        xdotool(display, "type", "--delay", "15", "919 555 0123, 919 555 0124,")
        xdotool(display, "key", "Tab")
        xdotool(display, "type", "--delay", "15", "The part is in")
        xdotool(display, "key", "alt+g")  # Group, not a "g" in the text
        xdotool(display, "key", "alt+a")  # the tag
        xdotool(display, "type", "--delay", "15", "T-42")
        xdotool(display, "key", "alt+q")  # no control has Q: nothing typed
        xdotool(display, "key", "ctrl+Return")
        # A group MMS asks first (everyone sees every number); Enter would cancel, Alt+S sends.
        question = xdotool(
            display, "search", "--sync", "--onlyvisible", "--name", "group message"
        ).splitlines()
        xdotool(display, "windowfocus", "--sync", question[0])
        xdotool(display, "key", "alt+s")

        history = home / "sandbox" / "history.sqlite3"
        wait_for(lambda: len(accepted_rows(history)) == 1, 20, "the group message in the history")
        (row,) = accepted_rows(history)
        assert row.mode == "group" and sorted(row.to) == ["+19195550123", "+19195550124"]
        assert (row.text, row.tag) == ("The part is in", "T-42")
        geometry = xdotool(display, "getwindowgeometry", window)
        assert "Geometry: 700x600" in geometry  # nothing in it demanded a larger window

        xdotool(
            display, "windowfocus", "--sync", window
        )  # no window manager hands focus back after the question
        xdotool(display, "key", "ctrl+q")
        _, err = app.communicate(timeout=20)
        assert app.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
