"""The team database's `postgresql://` URL, checked before use: no password in it, TLS verified for any other host,
only the options people need (docs/design.md §16.2). Plain Python, so settings check it before the first paint."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote

from bwdesk.core.api import is_loopback
from bwdesk.core.errors import ConfigError
from bwdesk.core.logs import register_secret

EXAMPLE = "postgresql://bwdesk_agent@db.example.com:5432/bwdesk?sslmode=verify-full"
DEFAULT_PORT = 5432

PASSWORD_ADVICE = (
    "remove the password from the URL; save it in Settings → Team history, which keeps it in the "
    "keyring, or use libpq's PGPASSWORD, .pgpass or service file"
)

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

#: libpq URI options a team may need (TLS, failover, Kerberos, keepalives, where libpq finds things).
ALLOWED_OPTIONS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "sslnegotiation",
        "sslcertmode",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "channel_binding",
        "require_auth",
        "requirepeer",
        "gssencmode",
        "krbsrvname",
        "gsslib",
        "target_session_attrs",
        "load_balance_hosts",
        "hostaddr",
        "service",
        "passfile",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
    }
)
#: Options bwdesk sets itself on every connection (docs/design.md §16.4).
OWN_OPTIONS = frozenset({"connect_timeout", "application_name", "fallback_application_name", "options"})

#: `sslrootcert=system`: the system's certificate authorities (libpq 16 and newer know the word).
SYSTEM_ROOTS = "system"
LIBPQ_KNOWS_SYSTEM = 160000
#: Where systems keep all their certificate authorities in one PEM file: Debian and Ubuntu; Fedora and Red Hat;
#: openSUSE; macOS, Alpine and the BSDs. Windows keeps them in its certificate store, which OpenSSL does not read.
SYSTEM_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


@dataclass(frozen=True)
class TeamUrl:
    """A checked team database URL (never with a password). `str()` is the normalised URL."""

    user: str
    hosts: tuple[tuple[str, int | None], ...]  # empty: libpq's default (the local socket) or the service's
    dbname: str
    options: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.url

    @property
    def url(self) -> str:
        user = quote(self.user, safe="") + "@" if self.user else ""
        hosts = ",".join(_host_text(host, port) for host, port in self.hosts)
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='/:')}" for k, v in self.options)
        return f"postgresql://{user}{hosts}/{quote(self.dbname, safe='')}" + (f"?{query}" if query else "")

    def option(self, name: str) -> str | None:
        return next((value for key, value in self.options if key == name), None)

    @property
    def sslmode(self) -> str | None:
        return self.option("sslmode")

    @property
    def service(self) -> str | None:
        return self.option("service")

    @property
    def is_local(self) -> bool:
        """Every host is this machine (or a unix socket), so plain connections are acceptable."""
        return all(is_local_host(host) for host, _ in self.hosts)

    @property
    def where(self) -> str:
        """`user@host:port/db` (or the service's name): what the password belongs to, in words."""
        hosts = ",".join(_host_text(host, port or DEFAULT_PORT) for host, port in self.hosts)
        if not hosts and self.service:
            return f"service {self.service}" + (f" ({self.user}@…/{self.dbname})" if self.user else "")
        return f"{self.user}@{hosts or 'localhost'}/{self.dbname}"

    @property
    def keyring_key(self) -> str:
        """The name of this URL's password in the keyring: user, host(s), port and database."""
        return self.where


@dataclass(frozen=True)
class Libpq:
    """The PostgreSQL client library psycopg uses on this computer, as far as certificate authorities go."""

    version: int  # as libpq says it: 150014 for 15.14
    bundled: bool  # psycopg's binary package: its own libpq and OpenSSL, not the system's

    @property
    def knows_system_roots(self) -> bool:
        """libpq itself turns sslrootcert=system into the system's authorities.

        libpq 16+ loads OpenSSL's default authorities. A system OpenSSL's are the system's (Debian: the
        ca-certificates bundle); a bundled OpenSSL's are a folder of the machine it was built on, unless
        `SSL_CERT_FILE` or `SSL_CERT_DIR` name others, which every OpenSSL reads instead.
        """
        if self.version < LIBPQ_KNOWS_SYSTEM:
            return False
        return not self.bundled or bool(os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"))

    @property
    def described(self) -> str:
        whose = "the one bwdesk brings along" if self.bundled else "this computer's"
        return f"{whose}, libpq {self.version // 10000}.{self.version % 100}"


def current_libpq() -> Libpq | None:
    """The libpq psycopg loaded here, or None when psycopg cannot load one at all."""
    try:
        import psycopg
    except ImportError:
        return None
    return Libpq(psycopg.pq.version(), psycopg.pq.__impl__ == "binary")


def system_roots_file(
    platform: str = sys.platform, exists: Callable[[str], bool] = os.path.isfile
) -> str | None:
    """The system's certificate authorities as one PEM file (`SSL_CERT_FILE` first, as OpenSSL), if there is one."""
    chosen = os.environ.get("SSL_CERT_FILE")
    if chosen and exists(chosen):
        return chosen
    if platform == "win32":
        return None
    return next((path for path in SYSTEM_CA_FILES if exists(path)), None)


def for_libpq(url: TeamUrl, libpq: Libpq | None, roots_file: str | None) -> TeamUrl:
    """The URL as libpq gets it: `sslrootcert=system` becomes the system's bundle file (`roots_file`) where
    libpq cannot find the system's authorities itself, with verify-full as libpq 16 implies it."""
    if url.option("sslrootcert") != SYSTEM_ROOTS or roots_file is None:
        return url
    if libpq is not None and libpq.knows_system_roots:
        return url
    options = [(k, roots_file if k == "sslrootcert" else v) for k, v in url.options]
    if url.sslmode is None:
        options.append(("sslmode", "verify-full"))
    return replace(url, options=tuple(options))


def company_ca_example(platform: str = sys.platform) -> str:
    return "C:/ProgramData/bwdesk/db-ca.pem" if platform == "win32" else "/etc/bwdesk/db-ca.pem"


def root_certificate_advice(
    url: TeamUrl | None, libpq: Libpq | None, roots_file: str | None, platform: str = sys.platform
) -> str:
    """Which `sslrootcert` to add so the server's certificate is checked, in words true on this computer."""
    example = company_ca_example(platform)
    if (libpq is not None and libpq.knows_system_roots) or roots_file is not None:
        return (
            "With a certificate from a public authority add sslrootcert=system to the URL; with your "
            f"company's own authority, sslrootcert=PATH to its certificate (e.g. sslrootcert={example})."
        )
    why = (
        f"the PostgreSQL client library ({libpq.described}) cannot find this computer's authorities"
        if libpq is not None
        else "bwdesk cannot find this computer's authorities as a file"
    )
    said = url is not None and url.option("sslrootcert") == SYSTEM_ROOTS
    return (
        f"{'The URL says sslrootcert=system, but' if said else 'sslrootcert=system does not work here:'} {why}. "
        "Save the certificate of the authority that signed the server's certificate (your company's, or the "
        f"public one's) as a PEM file on this computer and name it: sslrootcert=PATH, e.g. sslrootcert={example}."
    )


def is_local_host(host: str) -> bool:
    """Loopback addresses, `localhost`, and unix sockets (a path) never leave this machine."""
    return host.startswith("/") or host.startswith("@") or is_loopback(host.strip("[]"))


def _host_text(host: str, port: int | None) -> str:
    if host.startswith("/") or host.startswith("@"):
        shown = quote(host, safe="")
    elif ":" in host:  # IPv6
        shown = f"[{host}]"
    else:
        shown = host
    return shown + (f":{port}" if port is not None else "")


def parse_history_url(text: str, source: str = "Settings") -> TeamUrl:
    """Check a team database URL; a `ConfigError` naming `source` says what is wrong and what to do."""
    what = f"Team history URL ({source})"
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres"):
        shown = f"{scheme}://…" if sep else "it"
        raise ConfigError(
            f"{what}: must be a postgresql:// URL (e.g. {EXAMPLE}), not {shown}. "
            "Leave it empty to keep the history on this computer only."
        )
    authority, _, tail = _split_authority(rest)
    userinfo, at, hostlist = authority.rpartition("@")
    if not at:
        userinfo, hostlist = "", authority
    path, _, query = tail.partition("?")
    user, colon, password = userinfo.partition(":")
    options = _parse_query(query, what)
    if (colon and password) or any(key == "password" for key, _ in options):
        register_secret(unquote(password) if password else dict(options).get("password"))
        raise ConfigError(f"{what}: {PASSWORD_ADVICE}.")
    if "#" in text:
        raise ConfigError(f"{what}: {text!r} must not have a #fragment.")
    for key, value in options:
        if key in OWN_OPTIONS:
            raise ConfigError(f"{what}: leave out {key}={value}; bwdesk sets it itself.")
        if key not in ALLOWED_OPTIONS:
            raise ConfigError(
                f"{what}: {key!r} is not an option bwdesk passes to PostgreSQL; use only "
                f"{', '.join(sorted(ALLOWED_OPTIONS))}."
            )
    hosts = tuple(_parse_host(part, what) for part in hostlist.split(",")) if hostlist else ()
    url = TeamUrl(unquote(user), hosts, unquote(path.lstrip("/")), options)
    if url.sslmode is not None and url.sslmode not in SSLMODES:
        raise ConfigError(f"{what}: sslmode={url.sslmode} is not one of {', '.join(SSLMODES)}.")
    if url.option("sslrootcert") == SYSTEM_ROOTS and url.sslmode not in (None, "verify-full"):
        # PostgreSQL's own rule (libpq 16+): anyone can get a public authority's certificate for a name they own.
        raise ConfigError(
            f"{what}: sslrootcert=system needs sslmode=verify-full (the server's name checked too), not "
            f"sslmode={url.sslmode}."
        )
    if not url.service:
        if not url.user:
            raise ConfigError(f"{what}: add the user name bwdesk signs in as, e.g. {EXAMPLE}.")
        if not url.dbname:
            raise ConfigError(f"{what}: add the database name after the host, e.g. {EXAMPLE}.")
    check_tls(url, what)
    return url


def check_tls(url: TeamUrl, what: str) -> None:
    """Anything but this machine must be reached with TLS and a verified certificate (verify-full)."""
    remote = [host for host, _ in url.hosts if not is_local_host(host)]
    if remote and url.sslmode != "verify-full":
        now = f" (it says sslmode={url.sslmode})" if url.sslmode else ""
        raise ConfigError(
            f"{what}: {', '.join(remote)} is another computer, so the connection must be encrypted and the "
            f"server's certificate checked: add sslmode=verify-full to the URL{now}, e.g. {EXAMPLE}. "
            + root_certificate_advice(url, current_libpq(), system_roots_file())
        )


def _split_authority(rest: str) -> tuple[str, str, str]:
    """`user@hosts` and the rest (`/db?…`), splitting at the first `/` or `?` after the authority."""
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    return rest[:cut], "", rest[cut:]


def _parse_query(query: str, what: str) -> tuple[tuple[str, str], ...]:
    options: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq:
            raise ConfigError(f"{what}: the option {unquote(key)!r} needs a value (name=value).")
        options.append((unquote(key).strip(), unquote(value).strip()))
    return tuple(options)


def _parse_host(part: str, what: str) -> tuple[str, int | None]:
    part = unquote(part)
    if part.startswith("["):  # [IPv6]:port
        host, bracket, after = part[1:].partition("]")
        if not bracket:
            raise ConfigError(f"{what}: the address {part!r} is missing its closing ].")
        port_text = after.removeprefix(":") if after else ""
    elif part.startswith("/"):
        host, port_text = part, ""
    else:
        host, _, port_text = part.partition(":")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(f"{what}: the port {port_text!r} is not a number from 1 to 65535.")
        port = int(port_text)
    if not host:
        raise ConfigError(f"{what}: a host name is missing before :{port_text}.")
    return host, port


__all__ = [
    "EXAMPLE",
    "PASSWORD_ADVICE",
    "SYSTEM_CA_FILES",
    "Libpq",
    "TeamUrl",
    "check_tls",
    "current_libpq",
    "for_libpq",
    "is_local_host",
    "parse_history_url",
    "root_certificate_advice",
    "system_roots_file",
]
