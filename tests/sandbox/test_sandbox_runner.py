"""`bwdesk sandbox` (run_forever / python -m bwdesk.sandbox): prints how to connect as soon as it listens, serves
another process, and stops cleanly on Ctrl+C."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from bwdesk.sandbox import run_forever

LABELS = [
    "API base URL",
    "OAuth2 token URL",
    "Account ID",
    "Username",
    "Password",
    "Client ID",
    "Client secret",
    "Application ID",
    "Numbers",
    "Test numbers",
]
ROOT = Path(__file__).resolve().parents[2]


class Sink(io.StringIO):
    """An output stream that tells when a flush has delivered the "Press Ctrl+C" line."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    def flush(self) -> None:
        super().flush()
        if "Ctrl+C" in self.getvalue():
            self.ready.set()


def parse(text: str) -> dict[str, str]:
    pairs = [line.split(": ", 1) for line in text.splitlines() if ": " in line]
    return {label: value for label, value in pairs}


def run_in_thread(
    host: str = "127.0.0.1",
) -> tuple[threading.Thread, Sink, io.StringIO, threading.Event, list[int]]:
    out, err, stop, result = Sink(), io.StringIO(), threading.Event(), []
    thread = threading.Thread(target=lambda: result.append(run_forever(host, 0, out, err=err, stop=stop)))
    thread.start()
    assert out.ready.wait(10), out.getvalue() + err.getvalue()
    return thread, out, err, stop, result


def test_prints_the_connection_lines_then_serves_until_stopped() -> None:
    thread, out, err, stop, result = run_in_thread()
    try:
        lines = out.getvalue().splitlines()
        assert [line.split(": ", 1)[0] for line in lines[: len(LABELS)]] == LABELS
        info = parse(out.getvalue())
        assert (
            info["Test numbers"]
            == "+19195550199 fails with 4720 (landline), +19195550198 fails with 4775 (opted out), "
            "+19195550197 fails with 4482 (blocklisted)"
        )
        assert err.getvalue() == ""
        # ...and the variables to set, ready to paste (outside review: the labels had to be translated)
        assert f"  export BWDESK_API_BASE={info['API base URL']}" in lines
        assert f"  export BW_PASSWORD={info['Password']}" in lines
        # the printed values are enough to send a message
        response = requests.post(
            f"{info['API base URL']}/users/{info['Account ID']}/messages",
            auth=(info["Username"], info["Password"]),
            json={
                "applicationId": info["Application ID"],
                "from": info["Numbers"].split(", ")[0],
                "to": ["+19195550123"],
                "text": "hi",
            },
            timeout=10,
        )
        assert response.status_code == 202
        token = requests.post(
            info["OAuth2 token URL"],
            auth=(info["Client ID"], info["Client secret"]),
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        assert token.status_code == 200
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    assert out.getvalue().rstrip().endswith("Sandbox stopped.")


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out, err = io.StringIO(), io.StringIO()
        assert run_forever("127.0.0.1", port, out, err=err, stop=threading.Event()) == 2
    assert out.getvalue() == ""
    assert f"cannot listen on 127.0.0.1 port {port}" in err.getvalue()
    assert "--port" in err.getvalue()


@pytest.mark.parametrize(("host", "port"), [("127.0.0.1", 70000), ("203.0.113.9", 0)])
def test_an_impossible_address_is_a_clear_error(host: str, port: int) -> None:
    err = io.StringIO()
    assert run_forever(host, port, io.StringIO(), err=err, stop=threading.Event()) == 2
    assert f"cannot listen on {host} port {port}" in err.getvalue()


def test_a_wildcard_host_is_allowed_with_a_notice() -> None:
    thread, out, err, stop, result = run_in_thread("0.0.0.0")
    try:
        assert parse(out.getvalue())["API base URL"].startswith("http://127.0.0.1:")
        assert "listening on 0.0.0.0" in err.getvalue()
        assert "demo credentials" in err.getvalue()
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C is delivered differently on Windows")
def test_another_process_controls_it_and_ctrl_c_stops_it_cleanly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bwdesk.sandbox", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},  # the flush must do it
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in LABELS]  # arrives flushed, without waiting for exit
        info = parse("".join(lines))
        base = info["API base URL"].removesuffix("/api/v2")
        with requests.Session() as control:
            control.post(f"{base}/_sandbox/faults", json={"kind": "server_error"}, timeout=10)
            failed = requests.post(
                f"{info['API base URL']}/users/{info['Account ID']}/messages",
                auth=(info["Username"], info["Password"]),
                json={},
                timeout=10,
            )
            assert failed.status_code == 500
            log = control.get(f"{base}/_sandbox/requests", timeout=10).json()
            assert [(r["method"], r["status"], r["fault"]) for r in log] == [("POST", 500, "server_error")]
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert stdout.rstrip().endswith("Sandbox stopped.")


def test_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bwdesk.sandbox", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "--host" in result.stdout and "--port" in result.stdout
