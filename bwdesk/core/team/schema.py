"""The team database's schema: versioned, created and migrated only by `bwdesk team init`, least privilege for the
app's role, and the search columns that keep search equal on both stores (docs/design.md §16.5, §16.6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from bwdesk import __version__
from bwdesk.core.errors import ConfigError
from bwdesk.core.team.connection import Problem, TeamDatabaseError

NAMESPACE = "bwdesk"
#: The schema version this bwdesk writes and understands.
SCHEMA_VERSION = 3
#: Any number unique to bwdesk: `team init` holds this advisory lock while it migrates.
_INIT_LOCK = 0x62776465736B  # "bwdesk"

STATES = ("sending", "accepted", "rejected", "failed", "unknown")


@dataclass(frozen=True)
class Migration:
    """One schema version: the statements that reach it from the one before."""

    version: int
    compatible_from: int
    description: str
    statements: tuple[str, ...]  # `{trgm}` stands for the schema pg_trgm is installed in


_V1 = (
    """CREATE TABLE bwdesk.desks (
        desk_id uuid PRIMARY KEY,
        agent text NOT NULL,
        host_name text NOT NULL DEFAULT '',
        bwdesk_version text NOT NULL DEFAULT '',
        first_seen timestamptz NOT NULL DEFAULT statement_timestamp(),
        last_heartbeat timestamptz NOT NULL DEFAULT statement_timestamp()
    )""",
    """CREATE FUNCTION bwdesk.digits_of(numbers text[]) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT pg_catalog.regexp_replace(pg_catalog.array_to_string(numbers, ' '), '[^0-9 ]', '', 'g') $$""",
    # The words bwdesk wrote, word for word, with their positions (for phrases); `|` separates the text's
    # words from the tag's and keeps a gap, so that no phrase runs from one into the other.
    r"""CREATE FUNCTION bwdesk.terms_vector(terms text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$
        SELECT coalesce(pg_catalog.string_agg(
                   '''' || pg_catalog.replace(pg_catalog.replace(word, '\', '\\'), '''', '''''') || ''':' || n,
                   ' '), '')::pg_catalog.tsvector
        FROM pg_catalog.unnest(pg_catalog.string_to_array(terms, ' ')) WITH ORDINALITY AS t (word, n)
        WHERE word NOT IN ('', '|')
        $$""",
    f"""CREATE TABLE bwdesk.messages (
        row_uid uuid PRIMARY KEY,
        desk_id uuid NOT NULL REFERENCES bwdesk.desks (desk_id),
        local_id bigint NOT NULL,
        revision bigint NOT NULL CHECK (revision > 0),
        agent text NOT NULL,
        created timestamptz NOT NULL,
        updated timestamptz NOT NULL,
        sender text NOT NULL,
        recipients text[] NOT NULL CHECK (cardinality(recipients) > 0),
        mode text NOT NULL CHECK (mode IN ('separate', 'group')),
        text text NOT NULL DEFAULT '',
        media text[] NOT NULL DEFAULT '{{}}',
        tag text NOT NULL DEFAULT '',
        state text NOT NULL CHECK (state IN ({", ".join(f"'{s}'" for s in STATES)})),
        message_id text,
        segments integer,
        http_status integer,
        error_type text,
        error_description text,
        field_errors jsonb CHECK (field_errors IS NULL OR jsonb_typeof(field_errors) = 'array'),
        delivery_status text,
        error_code integer,
        delivery_checked timestamptz,
        search_terms text NOT NULL DEFAULT '',
        search tsvector GENERATED ALWAYS AS (bwdesk.terms_vector(search_terms)) STORED,
        digits text GENERATED ALWAYS AS (bwdesk.digits_of(recipients)) STORED,
        stored timestamptz NOT NULL DEFAULT statement_timestamp()
    )""",
    "CREATE INDEX messages_page ON bwdesk.messages (created DESC, row_uid DESC)",
    "CREATE INDEX messages_agent_page ON bwdesk.messages (agent, created DESC, row_uid DESC)",
    "CREATE INDEX messages_search ON bwdesk.messages USING gin (search)",
    "CREATE INDEX messages_digits ON bwdesk.messages USING gin (digits {trgm}.gin_trgm_ops)",
    "CREATE INDEX messages_message_id ON bwdesk.messages (message_id) WHERE message_id IS NOT NULL",
    "CREATE INDEX messages_desk_state ON bwdesk.messages (desk_id, state)",
    """CREATE TABLE bwdesk.message_recipients (
        number text NOT NULL,
        created timestamptz NOT NULL,
        row_uid uuid NOT NULL REFERENCES bwdesk.messages (row_uid) ON DELETE CASCADE,
        PRIMARY KEY (number, created, row_uid)
    )""",
    "CREATE INDEX message_recipients_row ON bwdesk.message_recipients (row_uid)",
    """CREATE FUNCTION bwdesk.messages_recipients() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $$
        BEGIN
            INSERT INTO bwdesk.message_recipients (number, created, row_uid)
            SELECT DISTINCT number, NEW.created, NEW.row_uid FROM unnest(NEW.recipients) AS number;
            RETURN NULL;
        END
        $$""",
    """CREATE TRIGGER messages_recipients AFTER INSERT ON bwdesk.messages
        FOR EACH ROW EXECUTE FUNCTION bwdesk.messages_recipients()""",
    # A change older than (or the same as) the row's is dropped, whoever sends it; what a row *is*
    # (its desk, local id, creation, sender, recipients, mode) never changes after it was written.
    """CREATE FUNCTION bwdesk.messages_newer_only() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
        AS $$
        BEGIN
            IF NEW.revision <= OLD.revision THEN
                RETURN NULL;
            END IF;
            NEW.desk_id := OLD.desk_id;
            NEW.local_id := OLD.local_id;
            NEW.created := OLD.created;
            NEW.sender := OLD.sender;
            NEW.recipients := OLD.recipients;
            NEW.mode := OLD.mode;
            NEW.stored := statement_timestamp();
            RETURN NEW;
        END
        $$""",
    """CREATE TRIGGER messages_newer_only BEFORE UPDATE ON bwdesk.messages
        FOR EACH ROW EXECUTE FUNCTION bwdesk.messages_newer_only()""",
)

# Version 2: what the Status column says, as an indexed column (the rule of `status_words.status_filter_of`
# and of the local history's `status` column, written once more here; a test holds all three together), and
# an index on `stored` so a desk can ask cheaply whether anything changed since it last looked. Only adds:
# a desk that knows version 1 goes on working (the column fills itself).
_V2 = (
    """ALTER TABLE bwdesk.messages ADD COLUMN status text GENERATED ALWAYS AS (
        CASE state
            WHEN 'accepted' THEN CASE delivery_status
                WHEN 'DELIVERED' THEN 'delivered'
                WHEN 'FAILED' THEN 'failed'
                WHEN 'UNDELIVERED' THEN 'failed'
                WHEN 'DLR_EXPIRED' THEN 'unknown'
                ELSE 'waiting' END
            WHEN 'sending' THEN 'waiting'
            WHEN 'failed' THEN 'not-sent'
            ELSE state END
    ) STORED""",
    "CREATE INDEX messages_status_page ON bwdesk.messages (status, created DESC, row_uid DESC)",
    "CREATE INDEX messages_stored ON bwdesk.messages (stored)",
)

_REASONS = "('opted-out', 'blocklisted', 'by-hand', 'imported')"

# Version 3: the directory (docs/design.md §17.9): the do-not-text list and its history, team templates and
# contacts. Only adds: a desk that knows versions 1 or 2 goes on with its history.
#
# The list changes only by an event: the app's role may INSERT into `optout_events` and SELECT both tables, never
# write `optouts` itself, never UPDATE or DELETE an event. The trigger (running as the schema's owner) keeps
# `optouts` in step: an addition of a number already listed, a removal of one not listed, or an event already
# stored (the same `event_uid`, sent again by a desk's outbox after a crash) changes nothing and is not stored.
# `txid` (the writing transaction, set by the trigger) lets a desk keep a copy of the list up to date without
# missing an event that committed late (`core/team/directory_cache.py`).
_V3 = (
    f"""CREATE TABLE bwdesk.optouts (
        number text PRIMARY KEY,
        reason text NOT NULL CHECK (reason IN {_REASONS}),
        code integer,
        note text NOT NULL DEFAULT '',
        since timestamptz NOT NULL,
        agent text NOT NULL,
        event_id bigint NOT NULL
    )""",
    f"""CREATE TABLE bwdesk.optout_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_uid uuid NOT NULL UNIQUE,
        number text NOT NULL,
        action text NOT NULL CHECK (action IN ('added', 'removed')),
        reason text CHECK (reason IN {_REASONS}),
        code integer,
        note text NOT NULL DEFAULT '',
        at timestamptz NOT NULL,
        agent text NOT NULL,
        desk_id uuid NOT NULL,
        stored timestamptz NOT NULL DEFAULT statement_timestamp(),
        txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        CHECK (action = 'added' AND reason IS NOT NULL OR action = 'removed' AND btrim(note) <> '')
    )""",
    "CREATE INDEX optout_events_number ON bwdesk.optout_events (number, id)",
    "CREATE INDEX optout_events_txid ON bwdesk.optout_events (txid)",
    """CREATE FUNCTION bwdesk.optout_event() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM bwdesk.optout_events WHERE event_uid = NEW.event_uid) THEN
                RETURN NULL;
            END IF;
            NEW.stored := statement_timestamp();
            NEW.txid := pg_current_xact_id();
            IF NEW.action = 'added' THEN
                INSERT INTO bwdesk.optouts (number, reason, code, note, since, agent, event_id)
                VALUES (NEW.number, NEW.reason, NEW.code, NEW.note, NEW.at, NEW.agent, NEW.id)
                ON CONFLICT (number) DO NOTHING;
            ELSE
                IF btrim(NEW.note) = '' THEN
                    RAISE EXCEPTION USING ERRCODE = 'check_violation',
                        MESSAGE = 'a removal from the do-not-text list needs a reason';
                END IF;
                DELETE FROM bwdesk.optouts WHERE number = NEW.number;
            END IF;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
            RETURN NEW;
        END
        $$""",
    """CREATE TRIGGER optout_event BEFORE INSERT ON bwdesk.optout_events
        FOR EACH ROW EXECUTE FUNCTION bwdesk.optout_event()""",
    # Contacts and team templates are removed by marking them (`removed`), never by DELETE: who removed what
    # and when stays, and saving the same number or name again brings the row back.
    """CREATE TABLE bwdesk.contacts (
        number text PRIMARY KEY,
        name text NOT NULL CHECK (name <> ''),
        fields jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fields) = 'object'),
        updated timestamptz NOT NULL,
        agent text NOT NULL,
        removed boolean NOT NULL DEFAULT false,
        stored timestamptz NOT NULL DEFAULT statement_timestamp()
    )""",
    """CREATE TABLE bwdesk.templates (
        key text PRIMARY KEY,
        name text NOT NULL CHECK (name <> ''),
        text text NOT NULL DEFAULT '',
        tag text NOT NULL DEFAULT '',
        media text[] NOT NULL DEFAULT '{}',
        updated timestamptz NOT NULL,
        agent text NOT NULL,
        removed boolean NOT NULL DEFAULT false,
        stored timestamptz NOT NULL DEFAULT statement_timestamp()
    )""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, 1, "messages, desks, recipients; full-text and digit search", _V1),
    Migration(2, 1, "the status filter's column; changes by time stored", _V2),
    Migration(3, 1, "the directory: do-not-text list and its history, team templates, contacts", _V3),
)

#: What the app's role may do, per table of the current schema (never DELETE).
APP_RIGHTS: tuple[tuple[str, str], ...] = (
    ("schema_version", "SELECT"),
    ("desks", "SELECT, INSERT, UPDATE"),
    ("messages", "SELECT, INSERT, UPDATE"),
    ("message_recipients", "SELECT, INSERT"),
    ("optouts", "SELECT"),  # changed only through optout_events' trigger
    ("optout_events", "SELECT, INSERT"),  # the list's history: never UPDATE or DELETE
    ("contacts", "SELECT, INSERT, UPDATE"),  # removed by marking, never DELETE
    ("templates", "SELECT, INSERT, UPDATE"),
)


@dataclass(frozen=True)
class SchemaState:
    """The version a database is at, and the oldest version a bwdesk must know to use it."""

    version: int
    compatible_from: int


@dataclass(frozen=True)
class InitReport:
    """What `init_schema` did."""

    before: int  # 0: there was no schema
    after: int
    applied: tuple[int, ...]
    granted: tuple[str, ...]


Conn = psycopg.Connection[Any]


def known_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return migrations[-1].version if migrations else 0


def read_state(conn: Conn) -> SchemaState | None:
    """The database's schema version, None when there is no bwdesk schema at all.

    Raises `TeamDatabaseError` when there is something the connected role may not read (PERMISSION),
    or a `bwdesk` namespace that is not bwdesk's (NOT_BWDESK).
    """
    row = conn.execute(
        "SELECT has_schema_privilege(n.oid, 'USAGE'), "
        "EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid) "
        "FROM pg_namespace n WHERE n.nspname = %s",
        (NAMESPACE,),
    ).fetchone()
    if row is None:
        return None
    usage, has_relations = row
    if not usage:  # asked first: looking into the schema without USAGE is itself an error
        raise _permission(conn, f"USAGE on the schema {NAMESPACE}")
    has_version_table = conn.execute("SELECT to_regclass('bwdesk.schema_version') IS NOT NULL").fetchone()
    if not (has_version_table and has_version_table[0]):
        if has_relations:
            raise TeamDatabaseError(
                Problem.NOT_BWDESK,
                f"Team history: the database has a schema named {NAMESPACE} that bwdesk did not make (no "
                "version table). Use another database, or ask IT to move that schema aside.",
            )
        return None
    if not conn.execute("SELECT has_table_privilege('bwdesk.schema_version', 'SELECT')").fetchone()[0]:  # type: ignore[index]
        raise _permission(conn, "SELECT on bwdesk.schema_version")
    latest = conn.execute(
        "SELECT version, compatible_from FROM bwdesk.schema_version ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if latest is None:
        return None
    return SchemaState(int(latest[0]), int(latest[1]))


def _permission(conn: Conn, what: str) -> TeamDatabaseError:
    user = conn.info.user
    return TeamDatabaseError(
        Problem.PERMISSION,
        f"Team history: {user} may not use bwdesk's tables (permission denied: it lacks {what}). Ask IT to "
        f"run `bwdesk team init --grant {user}`.",
    )


def check_schema(conn: Conn, migrations: Sequence[Migration] = MIGRATIONS) -> SchemaState:
    """What the app calls on connecting: the state when this bwdesk can use it, else a clear error."""
    known = known_version(migrations)
    state = read_state(conn)
    if state is None:
        raise TeamDatabaseError(
            Problem.SCHEMA_MISSING,
            "Team history: the team database has no bwdesk tables yet. Ask IT to run `bwdesk team init` "
            "(and `--grant` the role bwdesk signs in as).",
        )
    if state.version < known:
        raise TeamDatabaseError(
            Problem.SCHEMA_OLDER,
            f"Team history: the team database has schema version {state.version}, older than this bwdesk's "
            f"{known}. Ask IT to run `bwdesk team init` to bring it up to date (bwdesk never changes the "
            "team database's schema by itself).",
        )
    if state.compatible_from > known:
        raise TeamDatabaseError(
            Problem.SCHEMA_NEWER,
            f"Team history: the team database has schema version {state.version}, made by a newer bwdesk; "
            f"this one understands up to version {known}. Update bwdesk on this computer.",
        )
    return state


def rights(conn: Conn) -> dict[str, dict[str, bool]]:
    """What the connected role may do to each of bwdesk's tables (for status and Test connection)."""
    result: dict[str, dict[str, bool]] = {}
    for table, _ in APP_RIGHTS:
        qualified = f"{NAMESPACE}.{table}"
        if conn.execute("SELECT to_regclass(%s) IS NULL", (qualified,)).fetchone()[0]:  # type: ignore[index]
            continue
        row = conn.execute(
            "SELECT has_table_privilege(%s, 'SELECT'), has_table_privilege(%s, 'INSERT'), "
            "has_table_privilege(%s, 'UPDATE'), has_table_privilege(%s, 'DELETE')",
            (qualified,) * 4,
        ).fetchone()
        assert row is not None
        result[table] = dict(zip(("select", "insert", "update", "delete"), map(bool, row), strict=True))
    return result


def missing_rights(have: dict[str, dict[str, bool]]) -> list[str]:
    """The rights bwdesk needs that the role lacks, as `INSERT on messages`."""
    missing = []
    for table, needed in APP_RIGHTS:
        for right in (r.strip().lower() for r in needed.split(",")):
            if not have.get(table, {}).get(right, False):
                missing.append(f"{right.upper()} on {table}")
    return missing


def _trgm_schema(conn: Conn) -> str:
    """Where pg_trgm is (installed into `bwdesk` if the database does not have it yet)."""
    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    ).fetchone()
    if row is not None:
        return str(row[0])
    conn.execute("CREATE EXTENSION pg_trgm WITH SCHEMA bwdesk")
    return NAMESPACE


def app_roles(conn: Conn) -> list[str]:
    """Roles already given the app's rights (USAGE on the schema), besides its owner."""
    rows = conn.execute(
        "SELECT DISTINCT pg_get_userbyid(a.grantee) FROM pg_namespace n, aclexplode(n.nspacl) a "
        "WHERE n.nspname = %s AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner AND a.grantee <> 0 "
        "ORDER BY 1",
        (NAMESPACE,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _require_role(conn: Conn, role: str) -> None:
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
        raise ConfigError(
            f"Team history: there is no role {role!r} in this PostgreSQL server; nothing was changed. Create "
            f"it first (CREATE ROLE {role} LOGIN PASSWORD …), then run `bwdesk team init --grant {role}` again."
        )


def grant(conn: Conn, role: str) -> None:
    """Give `role` exactly the app's rights on the current schema (never DELETE)."""
    _require_role(conn, role)
    who = sql.Identifier(role)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA bwdesk TO {}").format(who))
    for table, needed in APP_RIGHTS:
        if conn.execute("SELECT to_regclass(%s) IS NULL", (f"{NAMESPACE}.{table}",)).fetchone()[0]:  # type: ignore[index]
            continue  # a table of a later version than the one migrated to
        conn.execute(
            sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(needed), sql.Identifier(NAMESPACE, table), who)
        )


def init_schema(
    conn: Conn, grant_to: Iterable[str] = (), migrations: Sequence[Migration] = MIGRATIONS
) -> InitReport:
    """Create or migrate the schema and grant the app's rights, all in one transaction.

    `conn` is an administrator's (the database's owner, or a role with CREATE on it). Roles that already
    have the app's rights get those of any new table too. Refuses a database newer than this bwdesk.
    """
    known = known_version(migrations)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK,))
        for role in grant_to:  # before anything changes: a typo must not leave half a job done
            _require_role(conn, role)
        state = read_state(conn)
        before = state.version if state else 0
        if before > known:
            raise TeamDatabaseError(
                Problem.SCHEMA_NEWER,
                f"Team history: the team database has schema version {before}, newer than this bwdesk's "
                f"{known}; nothing was changed. Run `bwdesk team init` from an up-to-date bwdesk.",
            )
        applied: list[int] = []
        if before < known:
            conn.execute("CREATE SCHEMA IF NOT EXISTS bwdesk")
            conn.execute(
                """CREATE TABLE IF NOT EXISTS bwdesk.schema_version (
                    version integer PRIMARY KEY,
                    compatible_from integer NOT NULL,
                    description text NOT NULL,
                    bwdesk_version text NOT NULL,
                    applied timestamptz NOT NULL DEFAULT statement_timestamp(),
                    applied_by text NOT NULL DEFAULT current_user
                )"""
            )
            trgm = sql.Identifier(_trgm_schema(conn)).as_string(conn)
            for migration in migrations:
                if migration.version <= before:
                    continue
                for statement in migration.statements:
                    conn.execute(statement.replace("{trgm}", trgm).encode())
                conn.execute(
                    "INSERT INTO bwdesk.schema_version (version, compatible_from, description, bwdesk_version) "
                    "VALUES (%s, %s, %s, %s)",
                    (migration.version, migration.compatible_from, migration.description, __version__),
                )
                applied.append(migration.version)
        roles = list(dict.fromkeys([*app_roles(conn), *grant_to]))
        for role in roles:
            grant(conn, role)
    return InitReport(before, known, tuple(applied), tuple(roles))


__all__ = [
    "APP_RIGHTS",
    "MIGRATIONS",
    "NAMESPACE",
    "SCHEMA_VERSION",
    "InitReport",
    "Migration",
    "SchemaState",
    "app_roles",
    "check_schema",
    "grant",
    "init_schema",
    "known_version",
    "missing_rights",
    "read_state",
    "rights",
]
