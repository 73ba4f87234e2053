"""`bwdesk team init|status`: set up the team database, and see whether this desk can use it (docs/design.md §16.8).
Kept beside `cli.py`, which only adds the sub-command; its exit statuses and where `init`'s password comes from
(never an argument) are §16.8's."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from typing import IO, Any, Protocol, TextIO, cast

from bwdesk.core.errors import ConfigError

log = logging.getLogger("bwdesk.cli")

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_REFUSED = 3
EXIT_UNUSABLE = 4

STATUS_HELP = (
    "Check that this desk can use the team database and show what is in it: reachability, TLS, the "
    "server and schema versions, the role's rights, rows, desks and this desk's outbox. Exit status: 0 "
    "usable; 2 no or an invalid team history URL; 3 the password was refused or is missing; 4 the "
    "database cannot be used (unreachable, TLS, missing, permission denied, schema missing/older/newer)."
)
INIT_HELP = (
    "Create the team database's schema, or migrate it to this bwdesk's version, in one transaction; "
    "with --grant, give a role exactly the rights bwdesk needs (no DELETE). Connects as an administrator "
    "(--url); the password comes from PGPASSWORD, the keyring, .pgpass or a service file, or is asked "
    "for — never give it as an argument. Exit status: 0 done; 2 invalid input (a bad URL, an unknown "
    "role); 3 the password was refused; 4 the database cannot be used (unreachable, TLS, permission "
    "denied, a schema newer than this bwdesk)."
)


class TextOut(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


def add_team_parser(sub: Any) -> argparse.ArgumentParser:
    """The `team` sub-command and its own sub-commands (`init`, `status`)."""
    team = sub.add_parser(
        "team",
        help="the team history on PostgreSQL: set it up, check it",
        description="The team history: every desk of a team shares one PostgreSQL database. "
        "Point bwdesk at it with BWDESK_HISTORY_URL or Settings → Team history.",
    )
    actions = team.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status", help="check this desk's connection to the team database", description=STATUS_HELP
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    init = actions.add_parser(
        "init", help="create or migrate the team database's schema", description=INIT_HELP
    )
    init.add_argument(
        "--url",
        metavar="URL",
        help="an administrator's postgresql:// URL without a password (default: the team history URL); "
        "the role must own the database or have CREATE on it",
    )
    init.add_argument(
        "--grant",
        action="append",
        default=[],
        metavar="ROLE",
        help="give ROLE the rights bwdesk needs (SELECT, INSERT, UPDATE; never DELETE); repeat for several",
    )
    init.add_argument(
        "--no-prompt",
        action="store_true",
        help="never ask for a password on the terminal (scripts: use PGPASSWORD or .pgpass)",
    )
    init.add_argument("--json", action="store_true", help="print one JSON object")
    return team  # type: ignore[no-any-return]


def cmd_team(args: argparse.Namespace, out: TextOut, err: IO[str]) -> int:
    if args.team_command == "init":
        return _init(args, out, err)
    return _status(args, out, err)


def _exit_for(problem: Any) -> int:
    from bwdesk.core.team.connection import Problem

    if problem is None:
        return EXIT_OK
    if problem in (Problem.NO_PASSWORD, Problem.AUTHENTICATION):
        return EXIT_REFUSED
    return EXIT_UNUSABLE


def _configured(err: IO[str]) -> Any:
    from bwdesk.core.account import load_context
    from bwdesk.core.team.config import context_team_config

    context = load_context(err=err)
    config = context_team_config(context)
    if config is None:
        raise ConfigError(
            "Team history: no team database is set up. Set BWDESK_HISTORY_URL, or the team history URL in "
            "Settings (a postgresql:// URL without a password)."
        )
    return context, config


# --- status -----------------------------------------------------------------------------------------------


def _status(args: argparse.Namespace, out: TextOut, err: IO[str]) -> int:
    from bwdesk.core.team.config import load_from_keyring, team_password
    from bwdesk.core.team.status import local_outbox, team_status

    context, config = _configured(err)
    password = team_password(config.url, context.env, load_from_keyring)
    report = team_status(config, password, outbox=local_outbox(context.profile))
    log.info(
        "team status: %s (%s)",
        "usable" if report.usable else report.problem.problem.value if report.problem else "not usable",
        config.url.where,
    )
    if args.json:
        json.dump(report.to_json(), out, ensure_ascii=False)
        out.write("\n")
    else:
        _print_status(report, out)
    return _exit_for(report.problem.problem if report.problem else None)


def _print_status(report: Any, out: TextOut) -> None:
    config = report.config

    def line(label: str, value: str) -> None:
        print(f"{label + ':':<14}{value}", file=out)

    line("Team history", f"{config.url.url} (from {config.source})")
    line("This desk", f"{config.desk_id} as {config.agent}")
    line("Password", f"from {report.password_source}")
    if not report.reachable:
        line("Reachable", "no")
    elif report.server_version is None:
        line("Reachable", "yes, but bwdesk could not sign in (below)")
    else:
        line("Reachable", f"yes — PostgreSQL {report.server_version or '?'}")
        line("TLS", report.tls or ("none (this computer)" if config.url.is_local else "none"))
        if report.schema_version is None:
            line("Schema", f"none (this bwdesk knows version {report.schema_known})")
        else:
            line("Schema", f"version {report.schema_version} (this bwdesk knows {report.schema_known})")
        if report.rights is not None:
            extra = [t for t, r in report.rights.items() if r.get("delete")]
            rights = (
                "all bwdesk needs"
                if not report.missing_rights
                else "missing " + ", ".join(report.missing_rights)
            )
            if extra:
                rights += f"; also DELETE on {', '.join(extra)} (more than bwdesk needs)"
            line("Rights", rights)
        if report.rows is not None:
            line("Messages", f"{report.rows:,}")
        if report.rights is not None and report.rights.get("desks", {}).get("select"):
            line("Desks", str(len(report.desks)) if report.desks else "none has connected yet")
            for desk in report.desks:
                mark = " (this desk)" if desk.desk_id == config.desk_id else ""
                seen = desk.last_heartbeat.astimezone().strftime("%Y-%m-%d %H:%M")
                host = f" on {desk.host_name}" if desk.host_name else ""
                print(f"{'':14}{desk.agent}{host}, last seen {seen}{mark}", file=out)
    outbox = report.outbox
    if outbox is None or (outbox.waiting == 0 and outbox.last_copied is None):
        line("Outbox", "nothing waiting (nothing copied from this desk yet)")
    else:
        parts = [f"{outbox.waiting} waiting" if outbox.waiting else "nothing waiting"]
        if outbox.waiting and outbox.oldest is not None:
            parts[0] += f" since {outbox.oldest.astimezone().strftime('%Y-%m-%d %H:%M')}"
        if outbox.last_copied is not None:
            parts.append(f"last copied {outbox.last_copied.astimezone().strftime('%Y-%m-%d %H:%M')}")
        if outbox.last_error:
            parts.append(f"last problem: {outbox.last_error}")
        line("Outbox", "; ".join(parts))
    if report.problem is not None:
        print(f"Problem:      {report.problem}", file=out)
    else:
        print("OK: this desk can use the team history.", file=out)


# --- init -------------------------------------------------------------------------------------------------


def _init(args: argparse.Namespace, out: TextOut, err: IO[str]) -> int:
    from bwdesk.core.team.config import load_from_keyring, team_password
    from bwdesk.core.team.connection import Problem, TeamDatabaseError, connect
    from bwdesk.core.team.schema import init_schema
    from bwdesk.core.team.url import parse_history_url

    if args.url is not None:
        from bwdesk.core.account import load_context

        context = load_context(err=err)
        url = parse_history_url(args.url, "--url")
    else:
        context, config = _configured(err)
        url = config.url
    password = team_password(url, context.env, load_from_keyring)
    try:
        try:
            conn = connect(url, password.value, autocommit=True)
        except TeamDatabaseError as exc:
            if exc.problem is not Problem.NO_PASSWORD or args.no_prompt or not _interactive():
                raise
            try:
                typed = getpass.getpass(f"Password for {url.where}: ", stream=cast(TextIO, err))
            except EOFError:  # Ctrl+D at the prompt: nothing was typed, so there is still no password
                print(file=err)
                raise exc from None
            from bwdesk.core.logs import register_secret

            register_secret(typed)
            conn = connect(url, typed, autocommit=True)
        try:
            report = init_schema(conn, args.grant)
        finally:
            conn.close()
    except TeamDatabaseError as exc:
        print(f"bwdesk: {exc}", file=err)
        log.info("team init failed: %s", exc.problem.value)
        return _exit_for(exc.problem)
    except Exception as exc:
        import psycopg

        if not isinstance(exc, psycopg.Error):
            raise
        from bwdesk.core.team.connection import classify_exception

        problem = classify_exception(exc, url)
        print(f"bwdesk: {problem}", file=err)
        log.info("team init failed: %s", problem.problem.value)
        return _exit_for(problem.problem)
    log.info(
        "team init: schema %s -> %s, rights for %s",
        report.before,
        report.after,
        ", ".join(report.granted) or "nobody",
    )
    if args.json:
        json.dump(
            {
                "url": url.url,
                "before": report.before or None,
                "after": report.after,
                "applied": list(report.applied),
                "granted": list(report.granted),
            },
            out,
        )
        out.write("\n")
        return EXIT_OK
    print(f"Team history: {url.url}", file=out)
    if not report.applied:
        print(f"Schema: already at version {report.after}; nothing to change.", file=out)
    elif report.before == 0:
        print(f"Schema: created at version {report.after}.", file=out)
    else:
        print(f"Schema: migrated from version {report.before} to {report.after}.", file=out)
    if report.granted:
        print(
            f"Rights: {', '.join(report.granted)} may read and write messages, desks, the do-not-text list "
            "(by adding to its history), contacts and team templates (never delete).",
            file=out,
        )
    else:
        print(
            "Rights: no role has bwdesk's rights yet; run again with --grant ROLE (the role desks sign in as).",
            file=out,
        )
    return EXIT_OK


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["add_team_parser", "cmd_team"]
