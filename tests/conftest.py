"""Test harness shared by every test.

- Qt runs offscreen (without it, and without a display, pytest-qt aborts the whole run with exit 134).
- Every test gets its own profile folder (BWDESK_HOME) and an empty environment for the BW_* variables.
- The keyring is a real backend class holding secrets in memory, fresh for each test.
- Any log record at WARNING or above fails the test unless the test declares it (`expect_log`) — the
  habit qutebrowser uses so that noise is noticed.
- Sockets may connect only to loopback addresses: tests never touch the real network.
- A real PostgreSQL server (tests/pgserver.py) for the team history, started once per session when a
  test asks for it; each test gets a fresh database. Without PostgreSQL installed those tests skip,
  saying how to install it, except in CI (the CI variable), where they fail.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

os.environ["QT_QPA_PLATFORM"] = "offscreen"
# Any code path that forgets to use the fixture below fails loudly instead of touching a real keychain.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

_ENV_VARS = (
    "BW_ACCOUNT_ID",
    "BW_USERNAME",
    "BW_PASSWORD",
    "BW_CLIENT_ID",
    "BW_CLIENT_SECRET",
    "BW_MESSAGING_APPLICATION_ID",
    "BW_NUMBER",
    "BWDESK_API_BASE",
    "BWDESK_OAUTH_TOKEN_URL",
    "BWDESK_HOME",
    "BWDESK_REGION",
    "BWDESK_SYSTEM_SETTINGS",
    "BWDESK_HISTORY_URL",
    "BWDESK_AGENT",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


class MemoryKeyring(KeyringBackend):
    """A real keyring backend class that keeps secrets in a dict (only ever installed by tests)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring_reason() -> str:
    """What the backends say when there is no keyring and no D-Bus session (tests remove the variable): on
    Linux the Secret Service needs that session; elsewhere keyring's `fail` backend is all there is to say."""
    if sys.platform.startswith("linux"):
        return "DBUS_SESSION_BUS_ADDRESS is unset"
    return "no keyring backend is available"


@pytest.fixture(autouse=True)
def profile(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty profile folder for each test, and no BW_*/BWDESK_* variables from the outside."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("profile")
    monkeypatch.setenv("BWDESK_HOME", str(home))
    # No system-wide defaults from this machine leak into tests.
    monkeypatch.setenv("BWDESK_SYSTEM_SETTINGS", str(home / "no-system-settings.json"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    # libpq reads these on its own: nothing from this machine (a password, a .pgpass, a service) leaks in.
    for name in [n for n in os.environ if n.startswith("PG")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PGPASSFILE", str(home / "no-pgpass"))
    monkeypatch.setenv("PGSERVICEFILE", str(home / "no-pg-service.conf"))
    monkeypatch.setenv("PGSYSCONFDIR", str(home / "no-pg-sysconf"))
    return home


# --- loopback-only network -------------------------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        if ipaddress.ip_address(str(host)).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    raise OSError(f"tests may only connect to loopback addresses, not {host!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    """Names are looked up only for this machine: a DNS query would leave it (connect() alone cannot tell).
    Any other name fails as an unknown one does, so code under test meets a realistic error."""
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name == "localhost" or str(name).endswith(".localhost"):
        return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]
    try:
        ipaddress.ip_address(str(name).split("%", 1)[0])
    except ValueError:
        raise socket.gaierror(
            socket.EAI_NONAME, f"tests look up no names but localhost, not {name!r}"
        ) from None
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo


# --- unexpected log warnings fail the test ------------------------------------------------------------


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class ExpectedLog:
    """Declares which warning/error log records a test expects (substring of the message)."""

    def __init__(self) -> None:
        self.patterns: list[str] = []

    def __call__(self, *substrings: str) -> None:
        self.patterns.extend(substrings)

    def allows(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return any(p in message for p in self.patterns)


@pytest.fixture
def expect_log() -> ExpectedLog:
    """Call `expect_log("part of the message")` in a test that deliberately causes a logged warning."""
    return _expected_log_for_current_test


_expected_log_for_current_test = ExpectedLog()


@pytest.fixture(autouse=True)
def fail_on_unexpected_log_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    global _expected_log_for_current_test
    _expected_log_for_current_test = ExpectedLog()
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    unexpected = [r for r in collector.records if not _expected_log_for_current_test.allows(r)]
    if unexpected:
        lines = "\n".join(f"  {r.levelname} {r.name}: {r.getMessage()}" for r in unexpected)
        pytest.fail(f"unexpected log records at WARNING or above:\n{lines}", pytrace=False)


# --- shared servers and stores ---------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[object]:
    """A running sandbox whose statuses are final at once (tests/sandbox/ has its own, on a manual clock)."""
    from bwdesk.sandbox import Sandbox

    with Sandbox(status_step=0) as running:
        yield running


@pytest.fixture
def client(sandbox: object) -> Iterator[object]:
    """A Bandwidth client signed in to `sandbox` with its demo username and password."""
    from bwdesk.core.bandwidth import BandwidthClient
    from bwdesk.core.credentials import BasicCredentials

    with BandwidthClient(
        sandbox.api_base,  # type: ignore[attr-defined]
        sandbox.account_id,  # type: ignore[attr-defined]
        BasicCredentials(sandbox.username, sandbox.password),  # type: ignore[attr-defined]
    ) as signed_in:
        yield signed_in


@pytest.fixture
def store(tmp_path: Path) -> Iterator[object]:
    """A real SQLite history file in a temporary folder."""
    from bwdesk.core.history.sqlite_store import SqliteHistoryStore

    history = SqliteHistoryStore.open(tmp_path / "history.sqlite3")
    yield history
    history.close()


# --- a real PostgreSQL server for the team history ----------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One PostgreSQL server for the whole session (TLS on), with roles `bwdesk_admin` and `bwdesk_agent`."""
    from pgserver import PostgresMissing, find_bindir, running_server

    try:
        bindir = find_bindir()
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI installs it: a skip here would hide missing work)")
        pytest.skip(str(exc))
    with running_server(bindir) as server:
        yield server


@pytest.fixture
def pg_database(pg_server: Any) -> Iterator[str]:
    """A fresh, empty database (no bwdesk schema); the server is running (again) with TLS."""
    pg_server.start()
    name = pg_server.create_database()
    yield name
    pg_server.start()
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def team_template(pg_server: Any) -> str:
    """A database with the current team schema and `bwdesk_agent`'s rights, copied for each test."""
    from pgserver import AGENT_USER

    from bwdesk.core.team.schema import init_schema

    name = pg_server.create_database()
    with pg_server.connect(name) as conn:
        init_schema(conn, [AGENT_USER])
    return str(name)


@pytest.fixture
def team_database(pg_server: Any, team_template: str) -> Iterator[str]:
    """A fresh database with the current team schema, ready for `bwdesk_agent`."""
    pg_server.start()
    name = pg_server.create_database(template=team_template)
    yield name
    pg_server.start()
    pg_server.drop_database(name)
