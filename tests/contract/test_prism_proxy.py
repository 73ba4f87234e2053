"""Checked by a validator we did not write: Stoplight Prism between our client and our sandbox.

Prism (`@stoplight/prism-cli`) runs as a validating proxy for the official contract: every request the
client sends and every answer the sandbox gives passes through it, and with `--errors` any violation
of the contract replaces the answer with Prism's own error. So each call below succeeding as expected
proves both sides conform — independently of openapi-core, which the other contract tests use.

`.ci/run` installs Prism under `.ci/node/`; elsewhere set `BWDESK_PRISM` to a `prism` executable.
Without it the test is skipped locally and fails in CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bwdesk.core.bandwidth import BandwidthClient, CheckResult
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.outcome import SendState
from bwdesk.sandbox import Fault, FaultKind, Sandbox

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = Path(__file__).with_name("bandwidth-messaging.openapi.yml")


def _prism() -> str:
    candidates = [os.environ.get("BWDESK_PRISM", ""), str(ROOT / ".ci/node/node_modules/.bin/prism"), "prism"]
    for candidate in candidates:
        if candidate and (shutil.which(candidate) or Path(candidate).is_file()):
            return candidate
    message = "Stoplight Prism is not installed (npm install --prefix .ci/node @stoplight/prism-cli@5)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prism exited early: {process.stdout.read() if process.stdout else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail("prism did not start listening in time")


def _contract_for_prism(folder: Path) -> Path:
    """The contract with one repair: responses stripped to `{}` (the 204s) get back the `description`
    OpenAPI requires; without it Prism ignores them and rejects the correct 204 of a media upload."""
    import yaml

    spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    for operations in spec["paths"].values():
        for operation in operations.values():
            for response in (
                (operation.get("responses") or {}).values() if isinstance(operation, dict) else ()
            ):
                if response == {}:
                    response["description"] = "No Content"
    repaired = folder / "contract-for-prism.yml"
    repaired.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return repaired


def _start_prism(contract: Path, upstream: str, port: int) -> subprocess.Popen[str]:
    """Prism as a validating proxy: contract violations in either direction become its own errors."""
    command = [_prism(), "proxy", str(contract), upstream, "--errors", "-h", "127.0.0.1", "-p", str(port)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def prism_proxy(sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    process = _start_prism(_contract_for_prism(tmp_path), sandbox.api_base, port)
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    # Prism logs every violation it found; none is allowed.
    violations = [
        line for line in output.splitlines() if "violation" in line.lower() and "0 violation" not in line
    ]
    assert violations == [], "\n".join(violations)


def test_every_kind_of_call_passes_prism_in_both_directions(prism_proxy: str, sandbox: Sandbox) -> None:
    credentials = BasicCredentials(sandbox.username, sandbox.password)
    with BandwidthClient(prism_proxy, sandbox.account_id, credentials) as client:
        sms = client.send(
            {
                "applicationId": sandbox.application_id,
                "from": sandbox.numbers[0],
                "to": ["+19195550123"],
                "text": "hi",
            }
        )
        assert sms.state is SendState.ACCEPTED, sms
        mms = client.send(
            {
                "applicationId": sandbox.application_id,
                "from": sandbox.numbers[0],
                "to": ["+19195550123", "+19195550124"],
                "text": "group with a picture",
                "media": ["https://example.com/part.jpg"],
                "tag": "TICKET-4242",
                "priority": "high",
            }
        )
        assert mms.state is SendState.ACCEPTED, mms

        status = client.message_status(sms.message_id or "")
        assert status is not None and status.message_id == sms.message_id

        url = client.upload_media("bwdesk-prism-test.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
        assert "bwdesk-prism-test.png" in url
        assert any(item.name == "bwdesk-prism-test.png" for item in client.list_media())
        client.delete_media("bwdesk-prism-test.png")
        assert client.test_connection().ok

        sandbox.inject(Fault(FaultKind.REJECT, field_errors=(("to", "'+19195550123' is not allowed"),)))
        rejected = client.send(
            {
                "applicationId": sandbox.application_id,
                "from": sandbox.numbers[0],
                "to": ["+19195550123"],
                "text": "x",
            }
        )
        assert rejected.state is SendState.REJECTED and rejected.http_status == 400
        assert rejected.error is not None and rejected.error.field_errors[0].field == "to"

    with BandwidthClient(
        prism_proxy, sandbox.account_id, BasicCredentials(sandbox.username, "wrong")
    ) as wrong:
        assert wrong.test_connection().result is CheckResult.WRONG_CREDENTIALS
    with BandwidthClient(prism_proxy, "1234567", credentials) as other_account:
        assert other_account.test_connection().result is CheckResult.NO_ACCESS


def test_prism_does_refuse_what_breaks_the_contract(sandbox: Sandbox, tmp_path: Path) -> None:
    """The control: a request the contract forbids (`to` as a bare string) never reaches the sandbox."""
    import requests

    port = _free_port()
    process = _start_prism(_contract_for_prism(tmp_path), sandbox.api_base, port)
    try:
        _wait_for_port(port, process)
        answer = requests.post(
            f"http://127.0.0.1:{port}/users/{sandbox.account_id}/messages",
            json={"applicationId": sandbox.application_id, "from": sandbox.numbers[0], "to": "+19195550123"},
            auth=(sandbox.username, sandbox.password),
            timeout=30,
        )
        assert answer.status_code == 422
        assert "prism/errors" in answer.json()["type"]
        assert sandbox.requests.count("POST", "/messages") == 0
    finally:
        process.terminate()
        process.communicate(timeout=20)
