"""`bwdesk team init` asking for the administrator's password on a real terminal (a pseudo-terminal), as
IT runs it: typed at the prompt it works; Ctrl+D at the prompt is "no password", never a traceback."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pgserver import ADMIN_USER, AGENT_USER

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX (pty)")


def run_on_a_terminal(args: list[str], answer: bytes, profile: Path) -> tuple[int, str]:
    """Run `python -m bwdesk ARGS` on a pseudo-terminal; at the password prompt, type `answer`."""
    import pty

    controller, terminal = pty.openpty()
    env = {**os.environ, "BWDESK_HOME": str(profile)}
    env.pop("PGPASSWORD", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bwdesk", *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
        start_new_session=True,  # the pseudo-terminal becomes its controlling terminal, as getpass wants
    )
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + 60
    answered = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the program ended and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and b"Password for " in shown:
                os.write(controller, answer)
                answered = True
            if process.poll() is not None and not ready:
                break
        out, _ = process.communicate(timeout=60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    assert answered, shown.decode(errors="replace")
    return process.returncode, shown.decode(errors="replace").replace("\r", "") + out.decode()


def test_the_password_typed_at_the_prompt_is_used_and_shown_nowhere(
    pg_server: Any, pg_database: str, profile: Path
) -> None:
    admin = pg_server.url(pg_database, user=ADMIN_USER)
    status, shown = run_on_a_terminal(
        ["team", "init", "--url", admin, "--grant", AGENT_USER],
        pg_server.admin_password.encode() + b"\n",
        profile,
    )
    assert status == 0, shown
    assert f"Password for {ADMIN_USER}@127.0.0.1:{pg_server.port}/{pg_database}: " in shown
    assert "Schema: created at version" in shown
    assert pg_server.admin_password not in shown  # not echoed
    assert not any(
        pg_server.admin_password.encode() in p.read_bytes() for p in profile.rglob("*") if p.is_file()
    )


def test_ctrl_d_at_the_prompt_is_no_password_not_a_traceback(
    pg_server: Any, pg_database: str, profile: Path
) -> None:
    admin = pg_server.url(pg_database, user=ADMIN_USER)
    status, shown = run_on_a_terminal(["team", "init", "--url", admin], b"\x04", profile)
    assert status == 3, shown
    assert "Traceback" not in shown
    assert f"bwdesk: Team history: no password for {ADMIN_USER}@127.0.0.1:{pg_server.port}/" in shown
