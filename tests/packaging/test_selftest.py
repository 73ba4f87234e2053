"""`bwdesk --self-test`, the check every installer runs after installing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bwdesk
from bwdesk.selftest import EXIT_NO_KEYRING, run_self_test

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
    assert "ok    postgres: psycopg 3." in out and "(binary) with the one bwdesk brings along, libpq " in out
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


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """A desk without a keyring: keyring's `fail` backend and no D-Bus session to find one on."""
    import keyring
    from keyring.backends import fail

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    keyring.set_keyring(fail.Keyring())  # the autouse memory_keyring fixture puts its own back afterwards


def test_no_usable_keyring_is_a_problem_with_an_exit_status_of_its_own(
    qapp: object, capsys: pytest.CaptureFixture[str], no_keyring: None, no_keyring_reason: str
) -> None:
    """Credentials kept only until bwdesk quits are not "ok"; but nothing is broken, so not status 1 either."""
    assert run_self_test([]) == EXIT_NO_KEYRING == 3
    out, err = capsys.readouterr()
    assert "FAIL  keyring: no usable keyring, so bwdesk could keep credentials only until it quits (" in out
    assert no_keyring_reason in out and "--expect-keyring none" in out
    assert err.startswith("bwdesk self-test: keyring: no usable keyring") and len(err.splitlines()) == 1
    for check in CHECKS:
        if check != "keyring":
            assert f"ok    {check}: " in out, check
    assert f"self-test FAILED: 1 of {len(CHECKS)} checks" in out


def test_no_keyring_with_another_failure_is_status_1(
    qapp: object, capsys: pytest.CaptureFixture[str], no_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bwdesk.core.phone", None)
    assert run_self_test([]) == 1
    out, _err = capsys.readouterr()
    assert "FAIL  keyring: no usable keyring" in out and "FAIL  phone: " in out


def test_expect_keyring_none_accepts_a_machine_without_one_and_still_checks_the_support(
    qapp: object, capsys: pytest.CaptureFixture[str], no_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_self_test(["--expect-keyring", "none"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "ok    keyring: no usable keyring, as expected (--expect-keyring none): " in out
    # The bundled backend support is still checked: a build that left it out fails even here.
    monkeypatch.setitem(sys.modules, "secretstorage", None)
    monkeypatch.setitem(sys.modules, "keyring.backends.Windows", None)
    monkeypatch.setitem(sys.modules, "keyring.backends.macOS", None)
    assert run_self_test(["--expect-keyring", "none"]) == 1
    _out, err = capsys.readouterr()
    assert "keyring: keyring backend support not available: " in err


def test_expect_keyring_none_is_not_a_failure_where_a_keyring_exists(
    qapp: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_self_test(["--expect-keyring", "none"]) == 0
    out, _err = capsys.readouterr()
    assert "ok    keyring: MemoryKeyring" in out and "none was needed" in out


def test_a_named_keyring_expected_where_there_is_none_fails_the_installation_check(
    qapp: object, capsys: pytest.CaptureFixture[str], no_keyring: None
) -> None:
    assert run_self_test(["--expect-keyring", "SecretService"]) == 1
    _out, err = capsys.readouterr()
    assert "keyring: no usable keyring, expected one matching 'SecretService': " in err


def test_help_documents_the_exit_statuses_and_none(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_self_test(["--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "3 everything works but there is no usable keyring" in out
    assert "'none': this machine needs no keyring" in out


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
    """`bwdesk --self-test --expect-keyring none` in its own process, as the package smoke tests run it on a
    machine without a keyring (the tests' environment names keyring's `fail` backend): exit 0, stderr empty."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # it must choose offscreen itself
    env["LANG"] = "C.UTF-8"
    result = subprocess.run(
        [sys.executable, "-m", "bwdesk", "--self-test", "--expect-keyring", "none"],
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


@pytest.mark.skipif(
    shutil.which("dbus-run-session") is None or shutil.which("gnome-keyring-daemon") is None,
    reason="needs dbus-run-session and gnome-keyring-daemon (Debian: dbus, gnome-keyring)",
)
def test_in_a_session_with_gnome_keyring_the_secret_service_is_found(tmp_path: Path) -> None:
    """What smoke-deb.sh checks on the installed package: a real Secret Service on a private session bus
    (GNOME Keyring, activatable; no secret is read or written) is the keyring the self-test reports."""
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS", "QT_QPA_PLATFORM")
    }
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime), LANG="C.UTF-8", DISPLAY="")
    errors = tmp_path / "errors.txt"
    result = subprocess.run(
        [
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            '"$0" -m bwdesk --self-test --expect-keyring SecretService 2>"$1"',
            sys.executable,
            str(errors),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + errors.read_text()
    assert errors.read_text() == ""  # bwdesk's own standard error (dbus-daemon may talk on the outer one)
    assert (
        "ok    keyring: Secret Service (GNOME Keyring, KeePassXC or KWallet) (keyring.backends.SecretService.Keyring)"
        in result.stdout
    )
