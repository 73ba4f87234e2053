"""A real PostgreSQL server for tests: `initdb` and `postgres` in a temporary folder, on 127.0.0.1.

The team history (docs/design.md §16) is tested against the real thing, never a mock: Debian's
`postgresql` package (`.ci/run` installs it), started here once per test session with a free port, its
unix socket in the temporary folder, and durability switched off (fsync, full-page writes) so it is fast.

`initdb` and `postgres` refuse to run as root, and CI runs as root: then they run as the unprivileged
user `nobody` (uid 65534) through `setpriv`, with the folder handed over to it. On Linux the server also
gets a parent-death signal, so a test run killed outright does not leave a server behind.

Roles: `bwdesk_admin` (the superuser, what `bwdesk team init` is given) and `bwdesk_agent` (least
privilege, what the app signs in as), both with SCRAM passwords. Every test gets a fresh database,
copied from a template (`CREATE DATABASE … TEMPLATE`), so tests never see each other's rows.

The server can be stopped and started again mid-test (`stop()`, `start()`): "the database went away"
is part of what the team history must survive. It comes back on the same port.

TLS is on by default, with a certificate for 127.0.0.1 and localhost signed by a throw-away authority
(`ca_file`), so `sslmode=verify-full` can be tested for real; `start(tls=False)` runs without it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ADMIN_USER = "bwdesk_admin"
AGENT_USER = "bwdesk_agent"
UNPRIVILEGED_UID = 65534  # `nobody` on Debian and most Linux systems

INSTALL_HINT = (
    "PostgreSQL's server programs (initdb, postgres) are not installed. On Debian or Ubuntu: "
    "sudo apt-get install postgresql (.ci/run does this); elsewhere set BWDESK_PG_BINDIR to the folder "
    "holding initdb and postgres."
)

_READY = "database system is ready to accept connections"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server programs on this machine; the message says how to install them."""


class PostgresFailed(RuntimeError):
    """The server did not start or stop as asked; the message carries the end of its log."""


def _has_server(folder: str | os.PathLike[str]) -> bool:
    exe = ".exe" if os.name == "nt" else ""
    return all((Path(folder) / f"{name}{exe}").is_file() for name in ("initdb", "postgres"))


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_bindir() -> Path:
    """The folder holding `initdb` and `postgres`, newest version first; raises `PostgresMissing`."""
    candidates: list[str] = []
    for variable in ("BWDESK_PG_BINDIR", "PGBIN"):  # ours, and the one GitHub's Windows runners set
        if os.environ.get(variable):
            candidates.append(os.environ[variable])
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            candidates.append(found)
    for pattern in (
        "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
        "/usr/pgsql-*/bin",  # the PGDG packages for Red Hat
        "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew (Apple silicon)
        "/usr/local/opt/postgresql@*/bin",  # Homebrew (Intel)
        r"C:\Program Files\PostgreSQL\*\bin",
    ):
        candidates.extend(sorted(glob.glob(pattern), key=_version_key, reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if candidate and _has_server(candidate):
            return Path(candidate)
    raise PostgresMissing(INSTALL_HINT)


def _shared_temp() -> str:
    """A temporary folder the unprivileged user can reach (TMPDIR may point into root's own home)."""
    base = Path(tempfile.gettempdir()).resolve()
    if all(os.stat(p).st_mode & 0o001 for p in (base, *base.parents)):
        return str(base)
    return "/tmp"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One PostgreSQL cluster in a temporary folder; `start()`/`stop()` as often as a test needs."""

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.as_root = os.name == "posix" and os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="bwdesk-pg-", dir=_shared_temp() if self.as_root else None))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root
        self.log_path = self.root / "server.log"
        self.host = "127.0.0.1"
        self.port = free_port()
        self.admin_password = "admin-" + secrets.token_urlsafe(12)
        self.agent_password = "agent-" + secrets.token_urlsafe(12)
        self._process: subprocess.Popen[bytes] | None = None
        self._pg_ctl_running = False  # Windows: the server runs under pg_ctl (see start)
        self._reader: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self._ready = threading.Event()
        self._counter = 0
        self.ca_file = self.root / "ca.crt"
        self.other_ca_file = self.root / "other-ca.crt"  # an authority that did not sign the server's
        self.tls = False
        if self.as_root:
            os.chown(self.root, UNPRIVILEGED_UID, UNPRIVILEGED_UID)

    # --- processes ---------------------------------------------------------------------------------

    def _program(self, name: str) -> str:
        return str(self.bindir / (name + (".exe" if os.name == "nt" else "")))

    def _command(self, args: list[str]) -> list[str]:
        """`args` run as an unprivileged user when we are root, and ended with us on Linux."""
        if not sys.platform.startswith("linux") or not shutil.which("setpriv"):
            return args
        wrapper = ["setpriv"]
        if self.as_root:
            uid = str(UNPRIVILEGED_UID)
            wrapper += [f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        return [*wrapper, "--pdeathsig", "SIGINT", *args]

    def initdb(self) -> None:
        password_file = self.root / "admin-password"
        password_file.write_text(self.admin_password + "\n", encoding="utf-8")
        if self.as_root:
            os.chown(password_file, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
        try:
            result = subprocess.run(
                self._command(
                    [
                        self._program("initdb"),
                        "--pgdata",
                        str(self.data_dir),
                        "--username",
                        ADMIN_USER,
                        "--pwfile",
                        str(password_file),
                        "--auth-local=scram-sha-256",
                        "--auth-host=scram-sha-256",
                        "--encoding=UTF8",
                        "--no-locale",
                        "--no-sync",
                        "--no-instructions",
                    ]
                ),
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=120,
                env=self._environment(),
            )
        finally:
            password_file.unlink()
        if result.returncode != 0:
            raise PostgresFailed(f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def make_certificates(self) -> None:
        """A throw-away authority and a server certificate for 127.0.0.1 and localhost (key: 0600)."""
        write_certificates(self.root, self.ca_file, self.other_ca_file)
        if self.as_root:
            for name in ("server.crt", "server.key"):
                os.chown(self.root / name, UNPRIVILEGED_UID, UNPRIVILEGED_UID)

    def start(self, tls: bool = True) -> None:
        """Start the server (again) and return once it accepts connections."""
        if self.running:
            if tls == self.tls:
                return
            self.stop()
        self._ready.clear()
        options = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "" if os.name == "nt" else str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            "shared_buffers": "32MB",
            "lc_messages": "C",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        if tls:
            options.update(
                ssl="on",
                ssl_cert_file=str(self.root / "server.crt"),
                ssl_key_file=str(self.root / "server.key"),
            )
        if os.name == "nt":
            self._start_with_pg_ctl(options)
            self.tls = tls
            return
        args = [self._program("postgres"), "-D", str(self.data_dir)]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        self._process = subprocess.Popen(
            self._command(args),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self._environment(),
        )
        self._reader = threading.Thread(target=self._read_log, args=(self._process,), daemon=True)
        self._reader.start()
        # The reader sets `_ready` on the server's "ready" line, or when the server's output ends.
        if not self._ready.wait(timeout=60) or self._process.poll() is not None:
            self._process.kill()
            self._process.wait(timeout=30)
            self._process = None
            self._join_reader()
            raise PostgresFailed(f"postgres did not start:\n{self.log_tail()}")
        self.tls = tls

    def _read_log(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        with process.stderr as stream, open(self.log_path, "ab") as log:
            for line in stream:
                with self._log_lock:
                    log.write(line)
                    log.flush()
                if _READY.encode() in line:
                    self._ready.set()
        self._ready.set()  # the server ended: nobody waits for a line that will never come

    def _start_with_pg_ctl(self, options: dict[str, str]) -> None:
        """Windows: `postgres` refuses an administrator's rights and pg_ctl drops them (a restricted token);
        it also waits until the server accepts connections."""
        quoted = " ".join(f'-c "{name}={value}"' for name, value in options.items())
        result = subprocess.run(
            [self._program("pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_path),
             "-o", quoted],
            cwd=self.root, capture_output=True, text=True, timeout=120, env=self._environment(),
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresFailed(f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n{self.log_tail()}")
        self._pg_ctl_running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` (clients are disconnected, a clean shutdown) or `immediate` (a crash)."""
        if os.name == "nt":
            if self._pg_ctl_running:
                subprocess.run(
                    [self._program("pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data_dir)],
                    capture_output=True, timeout=120, env=self._environment(), check=True,
                )  # fmt: skip
                self._pg_ctl_running = False
            return
        process = self._process
        if process is None or process.poll() is not None:
            self._process = None
            return
        sig = signal.SIGQUIT if mode == "immediate" else signal.SIGINT
        process.send_signal(sig)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            raise PostgresFailed(f"postgres did not stop ({mode}):\n{self.log_tail()}") from None
        finally:
            self._process = None
            self._join_reader()

    def _join_reader(self) -> None:
        """The log reader ends (and closes the pipe) once the server's output has ended."""
        if self._reader is not None:
            self._reader.join(timeout=30)
            self._reader = None

    @property
    def running(self) -> bool:
        if os.name == "nt":
            return self._pg_ctl_running
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        with self._log_lock:
            try:
                text = self.log_path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- connections -------------------------------------------------------------------------------

    def connect(
        self, dbname: str = "postgres", user: str = ADMIN_USER, password: str | None = None, **kwargs: Any
    ) -> Any:
        """A psycopg connection (autocommit) as `user`; the admin's and the agent's passwords are known."""
        import psycopg

        if password is None:
            password = {ADMIN_USER: self.admin_password, AGENT_USER: self.agent_password}.get(user)
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=dbname,
            user=user,
            password=password,
            connect_timeout=10,
            autocommit=True,
            **kwargs,
        )

    def url(self, dbname: str, user: str = AGENT_USER, **query: str) -> str:
        """A `postgresql://` URL without a password, as bwdesk's settings take it."""
        tail = "&".join(f"{k}={quote(v)}" for k, v in query.items())
        return f"postgresql://{quote(user)}@{self.host}:{self.port}/{quote(dbname)}" + (
            f"?{tail}" if tail else ""
        )

    def execute(self, sql: str, params: Any = None, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement as the admin; its rows (if any)."""
        with self.connect(dbname) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def setup_roles(self) -> None:
        """The app's least-privilege role (rights are granted per database by `bwdesk team init --grant`)."""
        from psycopg import sql

        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(AGENT_USER), sql.Literal(self.agent_password)
            )
        )

    def create_role(self, name: str, password: str, *extra: str) -> None:
        from psycopg import sql

        options = sql.SQL(" ").join(sql.SQL(option) for option in extra)  # e.g. "CREATEDB"
        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} {}").format(
                sql.Identifier(name), sql.Literal(password), options
            )
        )

    def unique_name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{os.getpid()}_{self._counter}"

    def create_database(self, template: str = "template0", owner: str | None = None) -> str:
        """A new, empty database copied from `template`; its name."""
        from psycopg import sql

        name = self.unique_name("t")
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
        if owner:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self.execute(statement)
        return name

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def write_certificates(folder: Path, ca_file: Path, other_ca_file: Path) -> None:
    """`server.crt`/`server.key` in `folder`, signed by a new authority written to `ca_file`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def authority(name: str) -> tuple[Any, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    ca_key, ca_cert = authority("bwdesk test authority")
    _, other_cert = authority("another authority")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    other_ca_file.write_bytes(other_cert.public_bytes(pem))
    (folder / "server.crt").write_bytes(cert.public_bytes(pem))
    key_file = folder / "server.key"
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)


@contextlib.contextmanager
def running_server(bindir: Path | None = None) -> Iterator[PgServer]:
    """A fresh cluster, initialised and started (with TLS), with the app's role; removed afterwards."""
    server = PgServer(bindir)
    try:
        server.initdb()
        server.make_certificates()
        server.start()
        server.setup_roles()
        yield server
    finally:
        server.close()
