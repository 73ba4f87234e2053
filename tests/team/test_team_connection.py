"""Connecting to the team database, against a real PostgreSQL server: each failure told apart."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pgserver import ADMIN_USER, AGENT_USER, free_port

import bwdesk
from bwdesk.core.team.connection import Problem, TeamDatabaseError, classify, connect, tls_in_use
from bwdesk.core.team.schema import SCHEMA_VERSION, check_schema
from bwdesk.core.team.url import TeamUrl, parse_history_url


def agent_url(pg_server: Any, db: str, **options: str) -> TeamUrl:
    return parse_history_url(pg_server.url(db, **options))


def verified(pg_server: Any, db: str, user: str = AGENT_USER) -> TeamUrl:
    return parse_history_url(
        pg_server.url(db, user=user, sslmode="verify-full", sslrootcert=str(pg_server.ca_file))
    )


def fails(url: TeamUrl, password: str | None, **kwargs: Any) -> TeamDatabaseError:
    with pytest.raises(TeamDatabaseError) as caught:
        connect(url, password, **kwargs).close()
    return caught.value


def test_a_desk_connects_with_tls_verified_and_names_itself(pg_server: Any, team_database: str) -> None:
    with connect(verified(pg_server, team_database), pg_server.agent_password) as conn:
        assert tls_in_use(conn) in ("TLSv1.2", "TLSv1.3")
        name, timeout, lock = conn.execute(
            "SELECT current_setting('application_name'), current_setting('statement_timeout'), "
            "current_setting('lock_timeout')"
        ).fetchone()  # type: ignore[misc]
        assert name == f"bwdesk/{bwdesk.__version__}"
        assert (timeout, lock) == ("10s", "5s")
        assert not conn.autocommit
        assert check_schema(conn).version == SCHEMA_VERSION


def test_the_password_is_in_no_process_argument_list(pg_server: Any, team_database: str) -> None:
    """Not in ours, and not in the title of the server process that serves us."""
    with connect(verified(pg_server, team_database), pg_server.agent_password, autocommit=True) as conn:
        backend = conn.info.backend_pid
        if sys.platform.startswith("linux"):
            ours = Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
            theirs = Path(f"/proc/{backend}/cmdline").read_bytes()
            assert b"bwdesk_agent" in theirs  # we are looking at the right process
            assert pg_server.agent_password.encode() not in ours + theirs
        (query,) = conn.execute(
            "SELECT string_agg(query || ' ' || application_name, ' ') FROM pg_stat_activity"
        ).fetchone()  # type: ignore[misc]
        assert pg_server.agent_password not in query


def test_a_wrong_password_is_told_apart(pg_server: Any, team_database: str) -> None:
    error = fails(verified(pg_server, team_database), "not-the-password")
    assert error.problem is Problem.AUTHENTICATION and error.problem.credentials
    assert str(error).startswith(
        f"Team history: the server refused the user name or password for bwdesk_agent@127.0.0.1:{pg_server.port}/"
    )
    assert "not-the-password" not in str(error)


def test_no_password_at_all_says_where_to_put_one(pg_server: Any, team_database: str) -> None:
    error = fails(verified(pg_server, team_database), None)
    assert error.problem is Problem.NO_PASSWORD
    assert "save it in Settings → Team history" in str(error) and "PGPASSWORD" in str(error)


def test_libpqs_password_file_is_used_when_bwdesk_has_none(
    pg_server: Any, team_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg_server.port}:*:{AGENT_USER}:{pg_server.agent_password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with connect(verified(pg_server, team_database), None) as conn:
        assert conn.info.user == AGENT_USER


def test_a_server_that_is_down_is_told_apart_and_back_when_it_is(pg_server: Any, team_database: str) -> None:
    url = verified(pg_server, team_database)
    pg_server.stop()
    error = fails(url, pg_server.agent_password)
    assert error.problem is Problem.REFUSED and error.problem.offline
    assert f"nothing answers at 127.0.0.1:{pg_server.port} (connection refused)" in str(error)
    pg_server.start()
    connect(url, pg_server.agent_password).close()


def test_a_server_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as silent:  # accepts the connection (the kernel does), then says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = parse_history_url(f"postgresql://agent@127.0.0.1:{silent.getsockname()[1]}/team")
        error = fails(url, "whatever", connect_timeout=2)
    assert error.problem is Problem.TIMEOUT and error.problem.offline
    assert "did not answer in time" in str(error)


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Names other than loopback do not resolve (tests never ask a real DNS server)."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("127.0.0.1", "localhost", "::1", None):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield


def test_a_host_name_that_does_not_resolve_is_told_apart(no_dns: None) -> None:
    url = parse_history_url("postgresql://agent@db.example.invalid/team?sslmode=verify-full")
    error = fails(url, "whatever")
    assert error.problem is Problem.DNS
    assert str(error).startswith("Team history: the host name db.example.invalid was not found (DNS)")


def test_a_missing_database_is_told_apart(pg_server: Any) -> None:
    error = fails(verified(pg_server, "no_such_database"), pg_server.agent_password)
    assert error.problem is Problem.DATABASE_MISSING
    assert "the database no_such_database does not exist on 127.0.0.1:" in str(error)


def test_a_role_that_may_not_connect_is_told_apart(pg_server: Any, team_database: str) -> None:
    pg_server.execute(f'REVOKE CONNECT ON DATABASE "{team_database}" FROM PUBLIC')
    error = fails(verified(pg_server, team_database), pg_server.agent_password)
    assert error.problem is Problem.PERMISSION
    assert "bwdesk_agent may not do what bwdesk needs (permission denied for database" in str(error)
    assert "bwdesk team init --grant bwdesk_agent" in str(error)


def test_a_server_without_tls_is_told_apart_from_a_bad_certificate(
    pg_server: Any, team_database: str
) -> None:
    url = verified(pg_server, team_database)
    pg_server.start(tls=False)
    error = fails(url, pg_server.agent_password)
    assert error.problem is Problem.TLS_REQUIRED
    assert "does not offer TLS" in str(error) and "sslmode=verify-full" in str(error)
    # On this computer a URL may do without TLS.
    connect(agent_url(pg_server, team_database), pg_server.agent_password).close()
    pg_server.start(tls=True)


def test_a_certificate_from_an_untrusted_authority_is_told_apart(pg_server: Any, team_database: str) -> None:
    url = parse_history_url(
        pg_server.url(team_database, sslmode="verify-full", sslrootcert=str(pg_server.other_ca_file))
    )
    error = fails(url, pg_server.agent_password)
    assert error.problem is Problem.TLS_FAILED
    assert "certificate verify failed" in str(error) and "sslrootcert=system" in str(error)


def test_verify_full_without_a_root_certificate_says_how_to_give_one(
    pg_server: Any, team_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt
    error = fails(parse_history_url(pg_server.url(team_database, sslmode="verify-full")), "x")
    assert error.problem is Problem.TLS_FAILED
    assert "root certificate file" in str(error) and "sslrootcert=PATH" in str(error)


def test_a_role_without_rights_on_bwdesks_tables_is_told_apart(pg_server: Any, team_database: str) -> None:
    role = pg_server.unique_name("stranger")
    pg_server.create_role(role, "stranger-password")
    url = parse_history_url(pg_server.url(team_database, user=role))
    with connect(url, "stranger-password") as conn, pytest.raises(TeamDatabaseError) as caught:
        check_schema(conn)
    assert caught.value.problem is Problem.PERMISSION
    assert str(caught.value) == (
        f"Team history: {role} may not use bwdesk's tables (permission denied: it lacks USAGE on the schema "
        f"bwdesk). Ask IT to run `bwdesk team init --grant {role}`."
    )


def test_the_database_going_away_mid_session_is_a_lost_connection(pg_server: Any, team_database: str) -> None:
    conn = connect(verified(pg_server, team_database), pg_server.agent_password, autocommit=True)
    try:
        pg_server.stop(mode="immediate")
        with pytest.raises(Exception) as caught:
            conn.execute("SELECT 1")
        from bwdesk.core.team.connection import classify_exception

        error = classify_exception(caught.value, verified(pg_server, team_database))
        assert error.problem is Problem.CONNECTION_LOST and error.problem.offline
    finally:
        conn.close()
        pg_server.start()


def test_an_admin_connection_is_refused_where_the_app_would_be(pg_server: Any, pg_database: str) -> None:
    """The admin role is a superuser here: the same helper serves `team init`."""
    with connect(verified(pg_server, pg_database, ADMIN_USER), pg_server.admin_password) as conn:
        assert conn.info.user == ADMIN_USER


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ('could not translate host name "db" to address: Name or service not known', Problem.DNS),
        ('connection to server at "10.0.0.9", port 5432 failed: No route to host', Problem.UNREACHABLE),
        ("FATAL:  the database system is starting up", Problem.SERVER_UNAVAILABLE),
        ("FATAL:  sorry, too many clients already", Problem.SERVER_UNAVAILABLE),
        (
            'FATAL:  no pg_hba.conf entry for host "10.1.1.1", user "a", database "b", no encryption',
            Problem.TLS_REQUIRED,
        ),
        (
            'FATAL:  no pg_hba.conf entry for host "10.1.1.1", user "a", database "b", SSL encryption',
            Problem.NOT_ALLOWED,
        ),
        ('server certificate for "db" does not match host name "x"', Problem.TLS_FAILED),
        ("server closed the connection unexpectedly", Problem.CONNECTION_LOST),
        ("something nobody has seen before", Problem.OTHER),
    ],
)
def test_libpqs_other_words_are_classified(message: str, problem: Problem) -> None:
    """Failures this machine cannot cause for real (another network, a busy server), from libpq's words."""
    url = parse_history_url("postgresql://agent@db.example.com/team?sslmode=verify-full")
    error = classify(f"connection failed: {message}", url)
    assert error.problem is problem
    assert str(error).startswith("Team history: ")


def test_the_harness_runs_postgres_unprivileged_and_restarts_it_on_the_same_port(pg_server: Any) -> None:
    pg_server.start()
    port = pg_server.port
    if os.name == "posix" and os.geteuid() == 0:
        status = Path(f"/proc/{pg_server._process.pid}/status").read_text()
        assert any(line.split()[:2] == ["Uid:", "65534"] for line in status.splitlines())
    pg_server.stop()
    assert not pg_server.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    pg_server.start()
    assert pg_server.port == port and pg_server.execute("SELECT 1") == [(1,)]
    assert free_port() != port
