"""`bwdesk --self-test`: prove that an installed or frozen bwdesk has everything it needs, without a display and
without touching the user's profile, keychain or network (docs/design.md §4.5)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import pkgutil
import platform
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bwdesk

# Numbers whose region metadata phonenumbers imports on first use: (text, region, expected E.164).
NON_US_NUMBERS = (
    ("+44 20 7946 0958", None, "+442079460958"),
    ("030 901820", "DE", "+4930901820"),
)
# The sandbox accepts any valid number; this one is in the fictional 555-01xx range.
SANDBOX_RECIPIENT = "+19195550123"
SANDBOX_TEXT = "bwdesk self-test"
# Qt messages that say nothing about the installation: Qt switches to C.UTF-8 by itself when started without a
# UTF-8 locale (cron, ssh, systemd units), and the offscreen platform cannot pass size hints to a window manager.
HARMLESS_QT_MESSAGES = ("Detected locale", "propagateSizeHints")


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_KEYRING = 3
#: `--expect-keyring none`: no keyring is wanted on this machine, so having none is not a failure.
NO_KEYRING_EXPECTED = "none"
EXIT_HELP = (
    "Exit status: 0 every check passed; 1 a check failed (the installation is broken, or the keyring is not "
    "the one --expect-keyring names); 2 wrong options; 3 everything works but there is no usable keyring "
    "(credentials could only be kept until bwdesk quits) — pass --expect-keyring none where that is intended."
)


class CheckFailed(Exception):
    """A check found a problem; the message is the one line shown to the user."""


class NoKeyring(CheckFailed):
    """The installation works, but this machine has no keyring bwdesk can use (exit status 3 on its own)."""


@dataclass
class Report:
    """What happened: per-check outcome lines, plus anything noisy the checks caused."""

    results: list[tuple[str, bool, str]] = field(default_factory=list)
    qt_messages: list[str] = field(default_factory=list)
    log_records: list[str] = field(default_factory=list)
    no_keyring: bool = False  # the keyring check failed only because there is no usable keyring

    @property
    def failed(self) -> list[tuple[str, bool, str]]:
        return [r for r in self.results if not r[1]]


def run_self_test(argv: Sequence[str] | None = None) -> int:
    """Run every check, print one line each, and return the exit status (see `EXIT_HELP`).

    `argv` are the options after `--self-test` (`--platform NAME`, `--expect-keyring NAME`); none by default.
    """
    parser = argparse.ArgumentParser(
        prog="bwdesk --self-test",
        description="Check that this bwdesk installation works: Qt, keyring, numbers, history, sending.",
        epilog=EXIT_HELP,
    )
    parser.add_argument(
        "--platform",
        default="offscreen",
        help="Qt platform plugin to start (default: offscreen; e.g. xcb under Xvfb to check the desktop libraries)",
    )
    parser.add_argument(
        "--expect-keyring",
        metavar="NAME",
        help="fail unless the keyring bwdesk uses has a class path containing NAME (e.g. SecretService, "
        "Windows, macOS); 'none': this machine needs no keyring (a build or CI machine), so having none is "
        "reported but not a failure",
    )
    args = parser.parse_args(list(argv or []))

    report = Report()
    state: dict[str, Any] = {}
    checks: list[tuple[str, Callable[[], str]]] = [
        ("versions", _check_versions),
        ("modules", _check_modules),
        ("qt", lambda: _check_qt(args.platform, state)),
        ("keyring", lambda: _check_keyring(args.expect_keyring)),
        ("tls", _check_tls),
        ("postgres", _check_postgres),
        ("phone", _check_phone),
        ("history", lambda: _check_history(state)),
        ("sandbox", lambda: _check_sandbox(state)),
    ]
    with _isolated_environment(), _captured_noise(report) as caught_warnings:
        for name, check in checks:
            _run(report, name, check)
        _close(state)
    noise = [*report.qt_messages, *report.log_records, *(_one_line(str(w.message)) for w in caught_warnings)]
    if noise:
        _record(report, "quiet", False, f"{len(noise)} unexpected warning(s); first: {noise[0]}")

    failed = report.failed
    if failed:
        print(f"self-test FAILED: {len(failed)} of {len(report.results)} checks", flush=True)
        for name, _ok, detail in failed:
            print(f"bwdesk self-test: {name}: {detail}", file=sys.stderr, flush=True)
        only_keyring = report.no_keyring and [name for name, _ok, _detail in failed] == ["keyring"]
        return EXIT_NO_KEYRING if only_keyring else EXIT_FAILED
    print(f"self-test passed: {len(report.results)} checks", flush=True)
    return EXIT_OK


# --- harness -------------------------------------------------------------------------------------------


def _run(report: Report, name: str, check: Callable[[], str]) -> None:
    try:
        detail = check()
    except NoKeyring as exc:
        report.no_keyring = True
        _record(report, name, False, str(exc))
    except CheckFailed as exc:
        _record(report, name, False, str(exc))
    except Exception as exc:  # any surprise is a failed check with a one-line reason, never a traceback
        _record(report, name, False, f"{type(exc).__name__}: {_one_line(str(exc))}")
    else:
        _record(report, name, True, detail)


def _record(report: Report, name: str, ok: bool, detail: str) -> None:
    report.results.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


@contextlib.contextmanager
def _isolated_environment() -> Iterator[None]:
    """A throw-away profile, and loopback traffic that never goes through a proxy."""
    saved = {
        name: os.environ.get(name) for name in ("BWDESK_HOME", "NO_PROXY", "no_proxy", "QT_QPA_PLATFORM")
    }
    with tempfile.TemporaryDirectory(prefix="bwdesk-selftest-") as home:
        os.environ["BWDESK_HOME"] = home
        for name in ("NO_PROXY", "no_proxy"):
            existing = [p for p in (os.environ.get(name) or "").split(",") if p]
            os.environ[name] = ",".join([*existing, "127.0.0.1", "localhost", "::1"])
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class _LogCollector(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.name}: {_one_line(record.getMessage())}")


@contextlib.contextmanager
def _captured_noise(report: Report) -> Iterator[list[warnings.WarningMessage]]:
    """Python warnings, log records and Qt messages at warning level or above: a healthy install is quiet."""
    collector = _LogCollector(report.log_records)
    root = logging.getLogger()
    root.addHandler(collector)
    restore_qt: Callable[[], None] | None = None
    try:
        from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    except ImportError:
        pass  # the versions and qt checks say so
    else:

        def on_qt_message(kind: QtMsgType, _context: object, message: str) -> None:
            harmless = any(part in message for part in HARMLESS_QT_MESSAGES)
            if (
                kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
                and not harmless
            ):
                report.qt_messages.append(f"Qt: {_one_line(message)}")

        previous = qInstallMessageHandler(on_qt_message)

        def restore_qt() -> None:
            qInstallMessageHandler(previous)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        root.removeHandler(collector)
        if restore_qt is not None:
            restore_qt()


def _close(state: dict[str, Any]) -> None:
    store = state.pop("history", None)
    if store is not None:
        store.close()


# --- checks --------------------------------------------------------------------------------------------


def _check_versions() -> str:
    import PySide6
    from PySide6 import QtCore

    frozen = " (frozen)" if getattr(sys, "frozen", False) else ""
    return (
        f"bwdesk {bwdesk.__version__}{frozen}, Python {platform.python_version()}, "
        f"PySide6 {PySide6.__version__}, Qt {QtCore.qVersion()}, {platform.system()} {platform.machine()}"
    )


def _check_modules() -> str:
    """Import every bwdesk module: what a frozen build left out fails here, with the module's name."""
    names = []
    problems = []
    for info in pkgutil.walk_packages(
        bwdesk.__path__, prefix="bwdesk.", onerror=lambda name: problems.append(name)
    ):
        if info.name.rsplit(".", 1)[-1] == "__main__" or info.name == __name__:
            continue  # running a __main__ would start the program
        names.append(info.name)
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            problems.append(f"{info.name} ({type(exc).__name__}: {_one_line(str(exc))})")
    if problems:
        raise CheckFailed(f"cannot import {', '.join(problems)}")
    expected = {
        "bwdesk.cli",
        "bwdesk.core.phone",
        "bwdesk.core.history",
        "bwdesk.core.bandwidth",
        "bwdesk.core.team.connection",
        "bwdesk.sandbox",
    }
    missing = sorted(expected - set(names))
    if missing:
        raise CheckFailed(f"not available: {', '.join(missing)}")
    return f"{len(names)} modules import"


def _check_qt(platform_name: str, state: dict[str, Any]) -> str:
    """Start Qt (offscreen unless told otherwise), load the app icon, render and destroy one widget."""
    if not platform_name.strip():
        raise CheckFailed("--platform needs a Qt platform plugin name, such as offscreen or xcb")
    import shiboken6
    from PySide6.QtGui import QIcon, QImage, QImageReader
    from PySide6.QtWidgets import QApplication, QLabel

    from bwdesk.resources import icon_pngs, icon_svg

    app = QApplication.instance()
    if app is None:
        os.environ["QT_QPA_PLATFORM"] = platform_name
        app = QApplication([sys.argv[0] if sys.argv else "bwdesk"])
        state["app"] = app  # lives until the self-test returns
    formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    if "svg" not in formats:
        raise CheckFailed("Qt has no SVG image format plugin (the app icon cannot load)")
    svg_icon = QIcon(str(icon_svg()))
    if svg_icon.pixmap(48, 48).isNull():
        raise CheckFailed(f"the app icon {icon_svg().name} does not render")
    icon = QIcon()
    for png in icon_pngs():
        if QImage(str(png)).isNull():
            raise CheckFailed(f"the icon {png.name} is missing or unreadable")
        icon.addFile(str(png))
    label = QLabel("bwdesk self-test")
    label.setWindowIcon(icon)
    label.adjustSize()
    if label.grab().isNull():
        raise CheckFailed("a widget could not be rendered")
    shiboken6.delete(label)
    if shiboken6.isValid(label):
        raise CheckFailed("a widget could not be destroyed")
    return f"platform {QApplication.platformName()}, icon and one widget rendered"


def _check_keyring(expected: str | None) -> str:
    """Whether bwdesk can keep credentials here (by the app's own rules), and whether the backend support
    this platform needs was bundled. Reads no secret: only asks which keyring there is."""
    from bwdesk.core.secrets import SecretStore

    needs = {
        # SecretStorage encrypts the session with cryptography's AES; its compiled bindings must load too.
        "linux": ["keyring.backends.SecretService", "secretstorage", "jeepney.io.blocking"],
        "win32": ["keyring.backends.Windows", "win32ctypes.pywin32.win32cred"],
        "darwin": ["keyring.backends.macOS"],
    }.get(sys.platform, [])
    unavailable = []
    for module in needs:
        try:
            importlib.import_module(module)
        except Exception as exc:
            unavailable.append(f"{module} ({type(exc).__name__}: {_one_line(str(exc))})")
    if sys.platform == "linux" and not unavailable:
        try:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

            Cipher(algorithms.AES(bytes(16)), modes.CBC(bytes(16))).encryptor().update(bytes(16))
        except Exception as exc:
            unavailable.append(f"cryptography's AES ({type(exc).__name__}: {_one_line(str(exc))})")
    if unavailable:
        raise CheckFailed(f"keyring backend support not available: {', '.join(unavailable)}")

    status = SecretStore().status()
    why = _one_line(status.details) if status.details else "no keyring backend is installed"
    if expected and expected.casefold() == NO_KEYRING_EXPECTED:
        if status.available:
            return f"{status.name} ({status.backend}); none was needed (--expect-keyring none)"
        return f"no usable keyring, as expected (--expect-keyring none): {why}"
    if not status.available:
        if expected:
            raise CheckFailed(f"no usable keyring, expected one matching {expected!r}: {why}")
        raise NoKeyring(
            f"no usable keyring, so bwdesk could keep credentials only until it quits ({why}). Set one up "
            "(on Linux: GNOME Keyring or KeePassXC), or pass --expect-keyring none where none is wanted"
        )
    if expected and expected not in (status.backend or ""):
        raise CheckFailed(f"the keyring backend is {status.backend}, expected one matching {expected!r}")
    return f"{status.name} ({status.backend})"


def _check_tls() -> str:
    import ssl

    import certifi
    import truststore

    truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not Path(certifi.where()).is_file():
        raise CheckFailed("the CA bundle requests falls back on is missing")
    return f"{ssl.OPENSSL_VERSION}, system trust store via truststore"


def _check_postgres() -> str:
    """psycopg loads the libpq the build chose (packaging/bwdesk.spec): on Linux the system's (the .deb depends
    on libpq5), elsewhere the one psycopg's binary package brings; and says whether sslrootcert=system works."""
    import psycopg

    from bwdesk.core.team.url import current_libpq, system_roots_file

    impl = psycopg.pq.__impl__
    expected = "python" if sys.platform.startswith("linux") else "binary"
    if getattr(sys, "frozen", False) and impl != expected:
        raise CheckFailed(f"psycopg uses its {impl} implementation; this build should use its {expected} one")
    libpq = current_libpq()
    assert libpq is not None  # psycopg imported, so it found a libpq
    roots = "by libpq" if libpq.knows_system_roots else f"as {system_roots_file() or 'no file: give a PATH'}"
    return f"psycopg {psycopg.__version__} ({impl}) with {libpq.described}; sslrootcert=system {roots}"


def _check_phone() -> str:
    try:
        from bwdesk.core.phone import parse_number
    except ImportError as exc:
        raise CheckFailed(f"bwdesk.core.phone not available ({exc})") from None
    shown = []
    for text, region, expected in NON_US_NUMBERS:
        parsed = parse_number(text, region)
        if parsed.e164 != expected or parsed.error:
            raise CheckFailed(
                f"{text!r} (region {region or 'from +'}) parsed as {parsed.e164}: {parsed.error}"
            )
        shown.append(parsed.e164)
    return f"parsed {', '.join(shown)}"


def _check_history(state: dict[str, Any]) -> str:
    try:
        from bwdesk.core.history.sqlite_store import SqliteHistoryStore
        from bwdesk.core.paths import history_file, profile_dir
    except ImportError as exc:
        raise CheckFailed(f"bwdesk.core.history not available ({exc})") from None
    path = history_file(profile_dir())
    store = SqliteHistoryStore.open(path)
    state["history"] = store
    if not path.is_file():
        raise CheckFailed(f"opening the history did not create {path.name}")
    rows = store.search()
    if rows:
        raise CheckFailed(f"a new profile's history is not empty ({len(rows)} rows)")
    version = getattr(store, "schema_version", None)
    shown = ".".join(map(str, version)) if isinstance(version, tuple) else str(version)
    return f"temporary profile created and migrated (schema {shown})"


def _check_sandbox(state: dict[str, Any]) -> str:
    """One message, the way the app sends it: a draft, a history row first, the real client, the settled row."""
    try:
        from bwdesk.core.api import Timeouts
        from bwdesk.core.bandwidth import BandwidthClient
        from bwdesk.core.credentials import BasicCredentials
        from bwdesk.core.message import Draft
        from bwdesk.core.outcome import SendState
        from bwdesk.core.sending import send_draft
        from bwdesk.sandbox import Sandbox
    except ImportError as exc:
        raise CheckFailed(f"not available: {exc}") from None
    store = state.get("history")
    if store is None:
        raise CheckFailed("needs the history check to pass first")
    with Sandbox(status_step=0) as sandbox:
        where = sandbox.base_url
        client = BandwidthClient(
            sandbox.api_base,
            sandbox.account_id,
            BasicCredentials(sandbox.username, sandbox.password),
            token_url=sandbox.token_url,
            timeouts=Timeouts(connect=5.0, read=10.0),
            max_attempts=1,
        )
        try:
            draft = Draft(sender=sandbox.numbers[0], recipients=(SANDBOX_RECIPIENT,), text=SANDBOX_TEXT)
            sent = send_draft(draft, sandbox.application_id, client, store)
        finally:
            client.close()
    if len(sent) != 1:
        raise CheckFailed(f"one message made {len(sent)} requests")
    result = sent[0].result
    if result.state != SendState.ACCEPTED or not result.message_id:
        reason = result.error.description if result.error else result.detail
        raise CheckFailed(
            f"the sandbox did not accept the message: {result.state} {result.http_status} {reason}"
        )
    row = store.get(sent[0].row_id)
    if row is None or row.to_json().get("state") != "accepted":
        raise CheckFailed("the history row of the accepted message was not settled as accepted")
    return f"message accepted by a sandbox at {where} (id {result.message_id}) and recorded"
