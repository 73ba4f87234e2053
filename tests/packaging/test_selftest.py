"""`bwdesk --self-test`, the check every installer runs after installing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bwdesk
from bwdesk.selftest import run_self_test

CHECKS = ("versions", "modules", "qt", "keyring", "tls", "postgres", "phone", "history", "sandbox")


def test_passes_in_a_working_installation(
    qapp: object, capsys: pytest.CaptureFixture[str], profile: Path, memory_keyring: object
) -> None:
    assert run_self_test([]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    for check in CHECKS:
        assert f"ok    {check}: " in out, check
    assert f"bwdesk {bwdesk.__version__}" in out
    assert "MemoryKeyring" in out  # the backend in use is named
    assert "+442079460958" in out and "+4930901820" in out
    assert "message accepted by a sandbox at http://127.0.0.1:" in out
    assert "ok    postgres: psycopg 3." in out and "(binary) with its own libpq" in out
    assert out.rstrip().endswith(f"self-test passed: {len(CHECKS)} checks")
    # It works in a throw-away profile: the user's (here the test's) profile is untouched.
    assert not any(profile.iterdir())
    assert os.environ["BWDESK_HOME"] == str(profile)


def test_a_missing_module_fails_with_one_line_per_failed_check(
    qapp: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a frozen build that left out bwdesk.core.phone (or its data) would print."""
    monkeypatch.setitem(sys.modules, "bwdesk.core.phone", None)
    assert run_self_test([]) == 1
    out, err = capsys.readouterr()
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert any(line.startswith("FAIL  phone: bwdesk.core.phone not available") for line in failed)
    assert any(
        line.startswith("FAIL  modules: cannot import") and "bwdesk.core.phone" in line for line in failed
    )
    assert "ok    versions: " in out and "ok    qt: " in out  # the other checks still ran
    errors = err.splitlines()
    assert len(errors) == len(failed)
    assert all(line.startswith("bwdesk self-test: ") for line in errors)
    assert "Traceback" not in out + err
    assert f"self-test FAILED: {len(failed)} of " in out


def test_expected_keyring_backend_is_enforced(qapp: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_self_test(["--expect-keyring", "SecretService"]) == 1
    _out, err = capsys.readouterr()
    assert "bwdesk self-test: keyring: the keyring backend is " in err
    assert "MemoryKeyring" in err and "'SecretService'" in err


def test_unexpected_warnings_fail_the_self_test(
    qapp: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, expect_log: object
) -> None:
    """A healthy installation is quiet: a warning logged during the checks is reported as a failure."""
    import bwdesk.selftest as selftest

    original = selftest._check_tls

    def noisy_tls() -> str:
        import logging

        logging.getLogger("bwdesk.test").warning("certificate store looks odd")
        return original()

    expect_log("certificate store looks odd")  # type: ignore[operator]
    monkeypatch.setattr(selftest, "_check_tls", noisy_tls)
    assert run_self_test([]) == 1
    out, err = capsys.readouterr()
    assert "ok    tls: " in out
    assert "FAIL  quiet: 1 unexpected warning(s); first: bwdesk.test: certificate store looks odd" in out
    assert (
        err.strip()
        == "bwdesk self-test: quiet: 1 unexpected warning(s); first: bwdesk.test: certificate store looks odd"
    )


def test_command_line_runs_it_quietly(tmp_path: Path) -> None:
    """`bwdesk --self-test` in its own process, as installers run it: exit 0 and nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # it must choose offscreen itself
    env["LANG"] = "C.UTF-8"
    result = subprocess.run(
        [sys.executable, "-m", "bwdesk", "--self-test"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "platform offscreen" in result.stdout
    assert result.stdout.rstrip().endswith(f"self-test passed: {len(CHECKS)} checks")
