"""Connecting to the team database with short timeouts, and every way it can fail told apart: a `Problem` for code,
words for the person (docs/design.md §16.4)."""

from __future__ import annotations

import enum
import math
import re
from typing import Any

import psycopg

from bwdesk import __version__
from bwdesk.core.errors import BwdeskError
from bwdesk.core.logs import redact
from bwdesk.core.team.url import (
    DEFAULT_PORT,
    TeamUrl,
    current_libpq,
    for_libpq,
    is_local_host,
    root_certificate_advice,
    system_roots_file,
)

CONNECT_TIMEOUT = 5.0  # seconds
STATEMENT_TIMEOUT = 10.0  # seconds; a team query that takes longer is abandoned
LOCK_TIMEOUT = 5.0


class Problem(enum.Enum):
    """Why the team database cannot be used; the value is the `--json` name."""

    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    TLS_REQUIRED = "tls-required"
    TLS_FAILED = "tls-failed"
    NO_PASSWORD = "no-password"
    AUTHENTICATION = "authentication-failed"
    NOT_ALLOWED = "not-allowed"
    DATABASE_MISSING = "database-missing"
    PERMISSION = "permission-denied"
    SERVER_UNAVAILABLE = "server-unavailable"
    CONNECTION_LOST = "connection-lost"
    SCHEMA_MISSING = "schema-missing"
    SCHEMA_OLDER = "schema-older"
    SCHEMA_NEWER = "schema-newer"
    NOT_BWDESK = "not-bwdesk"
    OTHER = "other"

    @property
    def offline(self) -> bool:
        """Probably passes by itself (the network, a restart): retry later without bothering anyone."""
        return self in _OFFLINE

    @property
    def server_answered(self) -> bool:
        """The server was reached (it refused, or the database behind it is not usable)."""
        return self not in _OFFLINE or self is Problem.SERVER_UNAVAILABLE

    @property
    def credentials(self) -> bool:
        return self in (Problem.NO_PASSWORD, Problem.AUTHENTICATION)


_OFFLINE = frozenset(
    {
        Problem.DNS,
        Problem.REFUSED,
        Problem.TIMEOUT,
        Problem.UNREACHABLE,
        Problem.SERVER_UNAVAILABLE,
        Problem.CONNECTION_LOST,
    }
)


class TeamDatabaseError(BwdeskError):
    """The team database cannot be used; `problem` says why, `str()` says what to do."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(redact(message))
        self.problem = problem


def _server_reason(message: str) -> str:
    """libpq's words without its "connection to server at … failed:" preamble, on one line."""
    text = message.strip()
    text = re.sub(r"^connection failed:\s*", "", text)
    text = re.sub(r"connection to server (at|on) .*? failed:\s*", "", text)
    text = re.sub(r"^(FATAL|ERROR):\s+", "", text)
    return " ".join(text.split()).rstrip(".")


def classify(
    message: str, url: TeamUrl, *, timed_out: bool = False, sqlstate: str | None = None
) -> TeamDatabaseError:
    """A connection or query failure in words: which problem it is and what to do about it."""
    reason = _server_reason(message)
    low = reason.lower()
    host, port = url.hosts[0] if url.hosts else ("the local server", None)
    place = f"{host}:{port or DEFAULT_PORT}" if url.hosts else host
    user, db = url.user or "this user", url.dbname or "the database"
    lead = "Team history"

    def error(problem: Problem, text: str) -> TeamDatabaseError:
        return TeamDatabaseError(problem, f"{lead}: {text}")

    if timed_out or "timeout expired" in low or "timed out" in low:
        return error(
            Problem.TIMEOUT,
            f"{place} did not answer in time: the server is down or busy, or a firewall or a missing VPN "
            "connection drops the traffic. bwdesk goes on without it and tries again later.",
        )
    if "failed to resolve host" in low or "could not translate host name" in low:
        return error(
            Problem.DNS,
            f"the host name {host} was not found (DNS): check it in the team history URL, and that this "
            "computer is on the company network (VPN).",
        )
    if "connection refused" in low:
        return error(
            Problem.REFUSED,
            f"nothing answers at {place} (connection refused): the database server is not running there, or "
            "listens on another port.",
        )
    if "no route to host" in low or "network is unreachable" in low or "host is unreachable" in low:
        return error(Problem.UNREACHABLE, f"{place} cannot be reached from this computer ({reason}).")
    if (
        "server closed the connection" in low
        or "connection is lost" in low
        or "consuming input failed" in low
        or "unexpected eof" in low
        or "terminating connection" in low
        or "the connection is closed" in low
        or (sqlstate or "").startswith("08")
    ):
        return error(
            Problem.CONNECTION_LOST,
            f"the connection to {place} was lost ({reason}); bwdesk tries again later.",
        )
    if "does not support ssl" in low or ("no encryption" in low and "pg_hba.conf" in low):
        if "does not support ssl" in low:
            text = (
                f"the server at {place} does not offer TLS, but the team history URL requires it "
                f"(sslmode={url.sslmode or 'verify-full'}). Ask IT to turn on ssl in PostgreSQL."
            )
        else:
            text = (
                f"the server at {place} only accepts encrypted connections: add sslmode=verify-full to the "
                "team history URL."
            )
        return error(Problem.TLS_REQUIRED, text)
    if any(
        marker in low
        for marker in (
            "certificate",
            "ssl error",
            "ssl syscall",
            "tls",
            "sslmode value",
            "root certificate",
            "ssl connection",
        )
    ):
        return error(
            Problem.TLS_FAILED,
            f"the encrypted connection to {place} failed: {reason}. The server's certificate must be valid "
            "for that host name and signed by an authority this computer trusts. "
            + root_certificate_advice(url, current_libpq(), system_roots_file()),
        )
    if "no password supplied" in low:
        return error(
            Problem.NO_PASSWORD,
            f"no password for {url.where}: save it in Settings → Team history (kept in the keyring), or use "
            "PGPASSWORD, a .pgpass file or a service file.",
        )
    if "authentication failed" in low or (sqlstate in ("28P01", "28000") and "pg_hba" not in low):
        return error(
            Problem.AUTHENTICATION,
            f"the server refused the user name or password for {url.where} (authentication failed). Check "
            "the password saved in Settings → Team history (or PGPASSWORD, .pgpass).",
        )
    if "pg_hba.conf" in low:
        return error(
            Problem.NOT_ALLOWED,
            f"the server does not accept {user} from this computer ({reason}). Ask IT to allow it in "
            "pg_hba.conf.",
        )
    if re.search(r'database ".*" does not exist', low) or sqlstate == "3D000":
        return error(
            Problem.DATABASE_MISSING,
            f"the database {db} does not exist on {place}: check its name in the team history URL, or ask IT "
            "to create it and run `bwdesk team init`.",
        )
    if "permission denied" in low or sqlstate == "42501":
        return error(
            Problem.PERMISSION,
            f"{user} may not do what bwdesk needs ({reason}). Ask IT to run `bwdesk team init --grant {user}`.",
        )
    if (
        "starting up" in low
        or "shutting down" in low
        or "too many" in low
        or "recovery mode" in low
        or "remaining connection slots" in low
        or (sqlstate or "").startswith("57P")
    ):
        return error(
            Problem.SERVER_UNAVAILABLE,
            f"the server at {place} is not taking connections right now ({reason}); bwdesk tries again later.",
        )
    if sqlstate == "57014":
        return error(Problem.TIMEOUT, f"{place} took too long to answer ({reason}).")
    return error(Problem.OTHER, f"could not use {url.where}: {reason or 'unknown error'}.")


def classify_exception(exc: BaseException, url: TeamUrl) -> TeamDatabaseError:
    """`classify` for an exception psycopg raised (or one already classified)."""
    if isinstance(exc, TeamDatabaseError):
        return exc
    sqlstate = getattr(exc, "sqlstate", None)
    timed_out = isinstance(exc, psycopg.errors.ConnectionTimeout | psycopg.errors.QueryCanceled)
    if isinstance(exc, psycopg.errors.QueryCanceled):
        timed_out = "statement timeout" in str(exc) or "lock timeout" in str(exc)
    return classify(str(exc), url, timed_out=timed_out, sqlstate=sqlstate)


def connect(
    url: TeamUrl,
    password: str | None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    statement_timeout: float = STATEMENT_TIMEOUT,
    autocommit: bool = False,
) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection to the team database, or a `TeamDatabaseError` telling what went wrong.

    `password` None leaves it to libpq (`.pgpass`, a service file). The caller closes the connection.
    """
    keywords: dict[str, Any] = {
        "connect_timeout": max(2, math.ceil(connect_timeout)),
        "application_name": f"bwdesk/{__version__}",
    }
    if password is not None:
        keywords["password"] = password
    try:
        # The URL as written, but sslrootcert=system as a file where libpq cannot find the authorities itself.
        conninfo = for_libpq(url, current_libpq(), system_roots_file()).url
        conn = psycopg.connect(conninfo, autocommit=True, **keywords)
    except psycopg.Error as exc:
        raise classify_exception(exc, url) from None
    try:
        check_transport(conn, url)
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
            (f"{round(statement_timeout * 1000)}ms", f"{round(LOCK_TIMEOUT * 1000)}ms"),
        )
        conn.autocommit = autocommit
    except BaseException as exc:
        conn.close()
        if isinstance(exc, psycopg.Error | TeamDatabaseError):
            raise classify_exception(exc, url) from None
        raise
    return conn


def effective_sslmode(conn: psycopg.Connection[Any]) -> str:
    for option in conn.pgconn.info:
        if option.keyword == b"sslmode":
            return (option.val or b"prefer").decode()
    return "prefer"


def check_transport(conn: psycopg.Connection[Any], url: TeamUrl) -> None:
    """The host actually reached: another computer needs TLS with a verified certificate (verify-full)."""
    host = conn.info.host
    if is_local_host(host):
        return
    if not conn.pgconn.ssl_in_use or effective_sslmode(conn) != "verify-full":
        raise TeamDatabaseError(
            Problem.TLS_REQUIRED,
            f"Team history: {host} is another computer, so the connection must use sslmode=verify-full "
            f"(the server's certificate checked), not {effective_sslmode(conn)}. Add sslmode=verify-full to "
            "the team history URL (or to the service file).",
        )


def tls_in_use(conn: psycopg.Connection[Any]) -> str | None:
    """The TLS version of this connection ("TLSv1.3"), or None when it is not encrypted."""
    if not conn.pgconn.ssl_in_use:
        return None
    row = conn.execute("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    return str(row[0]) if row and row[0] else "TLS"


__all__ = [
    "CONNECT_TIMEOUT",
    "Problem",
    "TeamDatabaseError",
    "check_transport",
    "classify",
    "classify_exception",
    "connect",
    "tls_in_use",
]
