"""`sslrootcert=system` on every kind of desk: what libpq gets, and the advice bwdesk gives.

libpq 16+ with the system's OpenSSL knows the word; libpq 15 (Debian 12's) and psycopg's binary package (its own
OpenSSL, on Windows, macOS and in a developer's virtual environment) do not, so bwdesk hands them the system's
bundle file instead, and where there is none (Windows) tells the person to name a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pgserver import AGENT_USER

from bwdesk.core.errors import ConfigError
from bwdesk.core.team import url as team_url
from bwdesk.core.team.connection import Problem, TeamDatabaseError, connect, tls_in_use
from bwdesk.core.team.url import (
    Libpq,
    for_libpq,
    parse_history_url,
    root_certificate_advice,
    system_roots_file,
)

REMOTE = "postgresql://bwdesk_agent@db.example.com/bwdesk?sslmode=verify-full&sslrootcert=system"
DEBIAN_12 = Libpq(150014, bundled=False)
DEBIAN_13 = Libpq(170006, bundled=False)
WHEEL = Libpq(180006, bundled=True)  # psycopg[binary]: its own libpq and OpenSSL
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(autouse=True)
def no_openssl_overrides(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """OpenSSL's own variables change what `system` means; many machines (CI too) set them for other tools."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    yield


def test_libpq_16_with_the_systems_openssl_gets_the_word_itself() -> None:
    url = parse_history_url(REMOTE)
    assert for_libpq(url, DEBIAN_13, BUNDLE) == url
    assert DEBIAN_13.knows_system_roots


@pytest.mark.parametrize("libpq", [DEBIAN_12, WHEEL], ids=["libpq-15", "bundled-openssl"])
def test_where_libpq_cannot_find_the_system_authorities_it_gets_the_bundle_file(libpq: Libpq) -> None:
    url = parse_history_url(REMOTE)
    given = for_libpq(url, libpq, BUNDLE)
    assert given.option("sslrootcert") == BUNDLE
    assert given.url.endswith(f"sslmode=verify-full&sslrootcert={BUNDLE}")
    assert str(url).endswith("sslrootcert=system")  # what the person wrote is unchanged


def test_a_bare_system_gets_verify_full_as_libpq_16_implies() -> None:
    url = parse_history_url("postgresql://agent@127.0.0.1/team?sslrootcert=system")
    given = for_libpq(url, DEBIAN_12, BUNDLE)
    assert (given.sslmode, given.option("sslrootcert")) == ("verify-full", BUNDLE)


def test_other_root_certificates_and_no_bundle_file_are_passed_on_as_written() -> None:
    own = parse_history_url(REMOTE.replace("sslrootcert=system", "sslrootcert=/etc/bwdesk/db-ca.pem"))
    assert for_libpq(own, DEBIAN_12, BUNDLE) == own
    windows = parse_history_url(REMOTE)
    assert for_libpq(windows, WHEEL, None) == windows


def test_openssls_own_variables_make_a_bundled_libpq_find_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not WHEEL.knows_system_roots
    monkeypatch.setenv("SSL_CERT_DIR", "/etc/ssl/certs")
    assert WHEEL.knows_system_roots
    assert not DEBIAN_12.knows_system_roots  # libpq 15 does not know the word at all


def test_the_bundle_file_is_the_systems_or_ssl_cert_files(monkeypatch: pytest.MonkeyPatch) -> None:
    on_fedora = {"/etc/pki/tls/certs/ca-bundle.crt"}
    assert system_roots_file("linux", on_fedora.__contains__) == "/etc/pki/tls/certs/ca-bundle.crt"
    assert system_roots_file("darwin", {"/etc/ssl/cert.pem"}.__contains__) == "/etc/ssl/cert.pem"
    assert system_roots_file("win32", lambda path: True) is None  # Windows keeps them in its store
    monkeypatch.setenv("SSL_CERT_FILE", "C:/ProgramData/certs.pem")
    assert system_roots_file("win32", lambda path: True) == "C:/ProgramData/certs.pem"
    assert system_roots_file("win32", lambda path: False) is None


@pytest.mark.parametrize(
    ("platform", "libpq", "roots"),
    [
        ("linux", DEBIAN_13, BUNDLE),  # the .deb on Debian 13 / Ubuntu 24.04
        ("linux", DEBIAN_12, BUNDLE),  # the .deb on Debian 12: bwdesk names the file
        ("darwin", WHEEL, "/etc/ssl/cert.pem"),  # the .app: psycopg's OpenSSL, macOS's bundle file
    ],
)
def test_the_advice_is_system_where_bwdesk_can_make_it_work(platform: str, libpq: Libpq, roots: str) -> None:
    advice = root_certificate_advice(None, libpq, roots, platform)
    assert "add sslrootcert=system" in advice
    assert "sslrootcert=PATH" in advice and "/etc/bwdesk/db-ca.pem" in advice


def test_on_windows_the_advice_is_a_file_and_says_why() -> None:
    advice = root_certificate_advice(None, WHEEL, None, "win32")
    assert "sslrootcert=system does not work here" in advice
    assert "the one bwdesk brings along, libpq 18.6" in advice
    assert "sslrootcert=PATH, e.g. sslrootcert=C:/ProgramData/bwdesk/db-ca.pem" in advice
    told = root_certificate_advice(parse_history_url(REMOTE), WHEEL, None, "win32")
    assert told.startswith("The URL says sslrootcert=system, but the PostgreSQL client library")


def test_system_with_a_weaker_sslmode_is_refused_as_libpq_16_would() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_history_url("postgresql://agent@127.0.0.1/team?sslmode=require&sslrootcert=system")
    assert "sslrootcert=system needs sslmode=verify-full" in str(caught.value)
    assert "sslmode=require" in str(caught.value)


def test_a_refused_remote_url_says_what_works_on_this_computer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(team_url, "SYSTEM_CA_FILES", ())
    monkeypatch.setattr(team_url, "current_libpq", lambda: WHEEL)
    with pytest.raises(ConfigError) as caught:
        parse_history_url("postgresql://agent@db.example.com/team?sslmode=require")
    assert "add sslmode=verify-full" in str(caught.value)
    assert "sslrootcert=system does not work here" in str(caught.value)


# --- against the real server -------------------------------------------------------------------------


def system_url(pg_server: Any, db: str) -> Any:
    return parse_history_url(pg_server.url(db, user=AGENT_USER, sslmode="verify-full", sslrootcert="system"))


def test_system_reaches_a_server_signed_by_an_authority_in_the_systems_bundle(
    pg_server: Any, team_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server's authority stands in for the system's bundle; whichever libpq the tests run with
    (psycopg's binary one here: it alone would look in its build machine's folder), `system` finds it."""
    monkeypatch.setattr(team_url, "SYSTEM_CA_FILES", (str(pg_server.ca_file),))
    with connect(system_url(pg_server, team_database), pg_server.agent_password) as conn:
        assert tls_in_use(conn) in ("TLSv1.2", "TLSv1.3")


def test_system_refuses_a_server_whose_authority_the_system_does_not_trust(
    pg_server: Any, team_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(team_url, "SYSTEM_CA_FILES", (str(pg_server.other_ca_file),))
    with pytest.raises(TeamDatabaseError) as caught:
        connect(system_url(pg_server, team_database), pg_server.agent_password).close()
    assert caught.value.problem is Problem.TLS_FAILED
    assert "certificate verify failed" in str(caught.value)
    assert "sslrootcert=PATH to its certificate" in str(caught.value)
