"""The team schema on a real PostgreSQL: created and migrated by `team init`, checked by the app."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import psycopg
import pytest
from pgserver import ADMIN_USER, AGENT_USER

from bwdesk.core.errors import ConfigError
from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.team.connection import Problem, TeamDatabaseError
from bwdesk.core.team.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    check_schema,
    init_schema,
    missing_rights,
    read_state,
    rights,
)

#: A later version as a future bwdesk might add it: only additions, so older desks keep working.
LATER = Migration(
    SCHEMA_VERSION + 1,
    1,
    "test: a note per desk",
    ("ALTER TABLE bwdesk.desks ADD COLUMN note text NOT NULL DEFAULT ''",),
)
#: A later version older desks cannot use.
INCOMPATIBLE = Migration(
    SCHEMA_VERSION + 2,
    SCHEMA_VERSION + 2,
    "test: rows mean something else",
    ("ALTER TABLE bwdesk.desks ADD COLUMN other text",),
)
NEW, NEWER = SCHEMA_VERSION + 1, SCHEMA_VERSION + 2


def agent(pg_server: Any, db: str) -> psycopg.Connection[Any]:
    return pg_server.connect(db, user=AGENT_USER)


def insert_message(conn: psycopg.Connection[Any], **overrides: Any) -> uuid.UUID:
    desk = overrides.pop("desk_id", uuid.uuid4())
    conn.execute(
        "INSERT INTO bwdesk.desks (desk_id, agent) VALUES (%s, 'Ana') ON CONFLICT DO NOTHING", (desk,)
    )
    row: dict[str, Any] = {
        "row_uid": uuid.uuid4(),
        "desk_id": desk,
        "local_id": 1,
        "revision": 1,
        "agent": "Ana",
        "created": "2026-12-01T10:00:00Z",
        "updated": "2026-12-01T10:00:00Z",
        "sender": "+19195550100",
        "recipients": ["+19195550123"],
        "mode": "separate",
        "text": "Your technician is on the way",
        "tag": "TICKET-4242",
        "state": "sending",
        "search_terms": "your technician is on the way ticket 4242",
    }
    row.update(overrides)
    columns = ", ".join(row)
    conn.execute(
        f"INSERT INTO bwdesk.messages ({columns}) VALUES ({', '.join(['%s'] * len(row))})",  # type: ignore[arg-type]
        list(row.values()),
    )
    return uuid.UUID(str(row["row_uid"]))


def test_init_on_an_empty_database_creates_the_schema_and_grants_the_app_role(
    pg_server: Any, pg_database: str
) -> None:
    with pg_server.connect(pg_database) as conn:
        assert read_state(conn) is None
        report = init_schema(conn, [AGENT_USER])
        assert (report.before, report.after, report.applied, report.granted) == (
            0,
            SCHEMA_VERSION,
            tuple(m.version for m in MIGRATIONS),
            (AGENT_USER,),
        )
        rows = conn.execute(
            "SELECT version, compatible_from, applied_by, bwdesk_version FROM bwdesk.schema_version ORDER BY 1"
        ).fetchall()
        assert [row[:3] for row in rows] == [(1, 1, ADMIN_USER), (2, 1, ADMIN_USER), (3, 1, ADMIN_USER)]
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'bwdesk'")}
    assert {
        "messages_page",
        "messages_agent_page",
        "messages_search",
        "messages_digits",
        "messages_message_id",
        "messages_desk_state",
        "message_recipients_pkey",
        "messages_status_page",
        "messages_stored",
        "optout_events_number",
        "optout_events_txid",
    } <= indexes
    with agent(pg_server, pg_database) as conn:
        assert check_schema(conn).version == SCHEMA_VERSION
        have = rights(conn)
        assert missing_rights(have) == []
        assert not any(table["delete"] for table in have.values())


def test_the_app_role_may_write_rows_but_never_delete_them(pg_server: Any, team_database: str) -> None:
    with agent(pg_server, team_database) as conn:
        row_uid = insert_message(conn)
        conn.execute(
            "UPDATE bwdesk.messages SET state = 'accepted', revision = 2 WHERE row_uid = %s", (row_uid,)
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM bwdesk.messages WHERE row_uid = %s", (row_uid,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM bwdesk.desks")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE bwdesk.schema_version SET version = 99")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE bwdesk.mine (x int)")
        assert conn.execute("SELECT state FROM bwdesk.messages").fetchall() == [("accepted",)]


def test_every_field_of_a_history_row_has_a_column(pg_server: Any, team_database: str) -> None:
    """The team row is the local row plus who, where and which change (docs/design.md §16.6)."""
    columns = {
        r[0]
        for r in pg_server.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'bwdesk' AND table_name = 'messages'",
            dbname=team_database,
        )
    }
    named = {
        "id": "local_id",
        "sender": "sender",
        "to": "recipients",
        "error": "error_type",
        "desk": "desk_id",
    }
    read_time = {"own", "desk_silent_since"}  # what the reading desk works out, not stored
    fields = {named.get(f.name, f.name) for f in dataclasses.fields(HistoryRow) if f.name not in read_time}
    assert fields <= columns, fields - columns
    assert {"error_description", "field_errors", "row_uid", "desk_id", "agent", "revision"} <= columns


def test_an_older_or_repeated_change_never_overwrites_a_newer_one(pg_server: Any, team_database: str) -> None:
    with agent(pg_server, team_database) as conn:
        row_uid = insert_message(conn)
        conn.execute(
            "UPDATE bwdesk.messages SET state = 'accepted', message_id = 'm-1', revision = 3 WHERE row_uid = %s",
            (row_uid,),
        )
        stale = conn.execute(
            "UPDATE bwdesk.messages SET state = 'unknown', revision = 2 WHERE row_uid = %s", (row_uid,)
        )
        assert stale.rowcount == 0
        again = conn.execute(
            "UPDATE bwdesk.messages SET state = 'failed', revision = 3 WHERE row_uid = %s", (row_uid,)
        )
        assert again.rowcount == 0
        # What a row is never changes, even with a newer revision.
        conn.execute(
            "UPDATE bwdesk.messages SET delivery_status = 'DELIVERED', revision = 4, "
            "recipients = ARRAY['+10000000000'], created = now(), local_id = 99 WHERE row_uid = %s",
            (row_uid,),
        )
        row = conn.execute(
            "SELECT state, message_id, delivery_status, revision, recipients, local_id, created "
            "FROM bwdesk.messages WHERE row_uid = %s",
            (row_uid,),
        ).fetchone()
        assert row is not None
        assert row[:6] == ("accepted", "m-1", "DELIVERED", 4, ["+19195550123"], 1)
        assert row[6].isoformat().startswith("2026-12-01T10:00:00")


def test_an_upsert_keyed_by_the_row_id_is_idempotent(pg_server: Any, team_database: str) -> None:
    """What the outbox will send: the same change twice, or an old one late, leaves one row, newest."""
    with agent(pg_server, team_database) as conn:
        row_uid = insert_message(conn)
        desk = conn.execute("SELECT desk_id FROM bwdesk.messages").fetchone()[0]  # type: ignore[index]
        upsert = (
            "INSERT INTO bwdesk.messages (row_uid, desk_id, local_id, revision, agent, created, updated, sender, "
            "recipients, mode, state) VALUES (%s, %s, 1, %s, 'Ana', '2026-12-01T10:00:00Z', now(), "
            "'+19195550100', ARRAY['+19195550123'], 'separate', %s) ON CONFLICT (row_uid) DO UPDATE SET "
            "state = EXCLUDED.state, revision = EXCLUDED.revision WHERE messages.revision < EXCLUDED.revision"
        )
        for revision, state in (
            (2, "accepted"),
            (2, "accepted"),
            (1, "sending"),
            (3, "unknown"),
            (2, "failed"),
        ):
            conn.execute(upsert, (row_uid, desk, revision, state))
        assert conn.execute("SELECT state, revision FROM bwdesk.messages").fetchall() == [("unknown", 3)]
        assert conn.execute("SELECT count(*) FROM bwdesk.message_recipients").fetchone() == (1,)


def test_search_terms_and_digits_are_indexed_word_for_word(pg_server: Any, team_database: str) -> None:
    with agent(pg_server, team_database) as conn:
        group = insert_message(
            conn,
            recipients=["+19195550123", "+442079460958"],
            mode="group",
            search_terms="café crème straße 中文 e mail example com | ticket 4242",
        )
        insert_message(conn, search_terms="other words")

        def words(query: str) -> list[Any]:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT row_uid FROM bwdesk.messages WHERE search @@ %s::tsquery", (query,)
                )
            ]

        # No parser, no dictionary, no server locale: the words are what bwdesk wrote.
        assert words("'café'") == [group]
        assert words("'cafe'") == []
        assert words("'straße'") == [group] and words("'strasse'") == []
        assert words("'example' & 'com'") == [group]
        assert words("'cr':*") == [group]
        assert words("'e' <-> 'mail'") == [group]
        assert words("'mail' <-> 'e'") == []
        assert words("'com' <-> 'ticket'") == []  # no phrase runs from the text into the tag
        assert words("'ticket' <-> '4242'") == [group]

        def digits(run: str) -> list[Any]:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT row_uid FROM bwdesk.messages WHERE digits LIKE %s ORDER BY created", (f"%{run}%",)
                )
            ]

        assert digits("2079460958") == [group]
        assert len(digits("5550123")) == 2
        assert digits("0123 1919") == []  # a run never spans two numbers
        recipients = conn.execute(
            "SELECT number FROM bwdesk.message_recipients WHERE row_uid = %s ORDER BY number", (group,)
        ).fetchall()
        assert recipients == [("+19195550123",), ("+442079460958",)]


def test_an_empty_search_text_makes_an_empty_vector(pg_server: Any, team_database: str) -> None:
    with agent(pg_server, team_database) as conn:
        row_uid = insert_message(conn, search_terms="", text="", tag="")
        assert conn.execute(
            "SELECT search::text FROM bwdesk.messages WHERE row_uid = %s", (row_uid,)
        ).fetchone() == ("",)


def test_field_errors_must_be_a_list(pg_server: Any, team_database: str) -> None:
    with agent(pg_server, team_database) as conn:
        insert_message(conn, field_errors=json.dumps([{"field": "to", "description": "bad"}]))
        with pytest.raises(psycopg.errors.CheckViolation):
            insert_message(conn, field_errors=json.dumps({"field": "to"}))


def test_init_again_changes_nothing(pg_server: Any, team_database: str) -> None:
    with pg_server.connect(team_database) as conn:
        report = init_schema(conn)
        assert (report.before, report.after, report.applied) == (SCHEMA_VERSION, SCHEMA_VERSION, ())
        assert report.granted == (AGENT_USER,)  # already had the rights: kept
        assert conn.execute("SELECT count(*) FROM bwdesk.schema_version").fetchone() == (len(MIGRATIONS),)


def test_init_migrates_an_older_schema_and_keeps_rows_and_rights(pg_server: Any, team_database: str) -> None:
    with agent(pg_server, team_database) as conn:
        row_uid = insert_message(conn)
        with pytest.raises(TeamDatabaseError) as caught:
            check_schema(conn, (*MIGRATIONS, LATER))
        assert caught.value.problem is Problem.SCHEMA_OLDER
        assert str(caught.value) == (
            f"Team history: the team database has schema version {SCHEMA_VERSION}, older than this bwdesk's "
            f"{NEW}. Ask IT to run `bwdesk team init` to bring it up to date (bwdesk never changes the team "
            "database's schema by itself)."
        )
    with pg_server.connect(team_database) as conn:
        report = init_schema(conn, (), (*MIGRATIONS, LATER))
    assert (report.before, report.after, report.applied, report.granted) == (
        SCHEMA_VERSION,
        NEW,
        (NEW,),
        (AGENT_USER,),
    )
    with agent(pg_server, team_database) as conn:
        assert check_schema(conn, (*MIGRATIONS, LATER)).version == NEW
        # A desk that knows only the current version goes on working: the next one only added.
        assert check_schema(conn).version == NEW
        assert conn.execute("SELECT note FROM bwdesk.desks").fetchall() == [("",)]
        assert conn.execute("SELECT row_uid FROM bwdesk.messages").fetchall() == [(row_uid,)]


def test_a_desk_is_told_to_update_when_the_schema_is_newer_than_it_understands(
    pg_server: Any, team_database: str
) -> None:
    with pg_server.connect(team_database) as conn:
        init_schema(conn, (), (*MIGRATIONS, LATER, INCOMPATIBLE))
    with agent(pg_server, team_database) as conn, pytest.raises(TeamDatabaseError) as caught:
        check_schema(conn)
    assert caught.value.problem is Problem.SCHEMA_NEWER
    assert (
        f"schema version {NEWER}, made by a newer bwdesk; this one understands up to version "
        f"{SCHEMA_VERSION}. Update bwdesk" in str(caught.value)
    )
    with pg_server.connect(team_database) as conn, pytest.raises(TeamDatabaseError) as refused:
        init_schema(conn)
    assert refused.value.problem is Problem.SCHEMA_NEWER and "nothing was changed" in str(refused.value)


def test_a_missing_schema_says_to_run_team_init(pg_server: Any, pg_database: str) -> None:
    pg_server.execute(f'GRANT CONNECT ON DATABASE "{pg_database}" TO {AGENT_USER}')
    with agent(pg_server, pg_database) as conn, pytest.raises(TeamDatabaseError) as caught:
        check_schema(conn)
    assert caught.value.problem is Problem.SCHEMA_MISSING
    assert "no bwdesk tables yet. Ask IT to run `bwdesk team init`" in str(caught.value)


def test_init_as_the_databases_owner_without_superuser_rights(pg_server: Any) -> None:
    """What IT usually has: a role that owns the database (pg_trgm is a trusted extension)."""
    owner = pg_server.unique_name("owner")
    pg_server.create_role(owner, "owner-password")
    db = pg_server.create_database(owner=owner)
    try:
        with pg_server.connect(db, user=owner, password="owner-password") as conn:
            report = init_schema(conn, [AGENT_USER])
        assert report.after == SCHEMA_VERSION
        with agent(pg_server, db) as conn:
            insert_message(conn)
            assert missing_rights(rights(conn)) == []
    finally:
        pg_server.drop_database(db)


def test_an_existing_pg_trgm_is_used_where_it_is(pg_server: Any, pg_database: str) -> None:
    pg_server.execute("CREATE EXTENSION pg_trgm", dbname=pg_database)
    with pg_server.connect(pg_database) as conn:
        init_schema(conn, [AGENT_USER])
        (where,) = conn.execute(
            "SELECT n.nspname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_opclass o ON o.oid = i.indclass[0] JOIN pg_namespace n ON n.oid = o.opcnamespace "
            "WHERE c.relname = 'messages_digits'"
        ).fetchone()  # type: ignore[misc]
    assert where == "public"


def test_an_unknown_role_to_grant_changes_nothing(pg_server: Any, pg_database: str) -> None:
    with pg_server.connect(pg_database) as conn:
        with pytest.raises(ConfigError, match="there is no role 'nobody_here' in this PostgreSQL server"):
            init_schema(conn, ["nobody_here"])
        assert read_state(conn) is None
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'bwdesk'").fetchone() == (0,)


def test_a_schema_named_bwdesk_that_is_not_ours_is_left_alone(pg_server: Any, pg_database: str) -> None:
    pg_server.execute("CREATE SCHEMA bwdesk; CREATE TABLE bwdesk.theirs (x int)", dbname=pg_database)
    with pg_server.connect(pg_database) as conn, pytest.raises(TeamDatabaseError) as caught:
        init_schema(conn, [AGENT_USER])
    assert caught.value.problem is Problem.NOT_BWDESK
    assert pg_server.execute("SELECT count(*) FROM bwdesk.theirs", dbname=pg_database) == [(0,)]


def test_version_1_databases_are_migrated_to_2_and_their_rows_get_a_status(
    pg_server: Any, pg_database: str
) -> None:
    """The real step from version 1 (as the first team release made it) to 2, with rows already there."""
    with pg_server.connect(pg_database) as conn:
        init_schema(conn, [AGENT_USER], MIGRATIONS[:1])
    with agent(pg_server, pg_database) as conn:
        delivered = insert_message(conn, state="accepted", delivery_status="DELIVERED", message_id="m-1")
        sending = insert_message(conn, local_id=2)
        with pytest.raises(TeamDatabaseError) as caught:
            check_schema(conn)
        assert caught.value.problem is Problem.SCHEMA_OLDER
    with pg_server.connect(pg_database) as conn:
        report = init_schema(conn)
    assert (report.before, report.after, report.applied) == (1, SCHEMA_VERSION, (2, 3))
    with agent(pg_server, pg_database) as conn:
        assert check_schema(conn).version == SCHEMA_VERSION
        assert (
            check_schema(conn, MIGRATIONS[:1]).version == SCHEMA_VERSION
        )  # a desk that knows only 1 goes on
        found = dict(conn.execute("SELECT row_uid, status FROM bwdesk.messages").fetchall())
        assert found == {delivered: "delivered", sending: "waiting"}
        assert missing_rights(rights(conn)) == []


def test_the_status_column_says_what_the_status_filter_says(pg_server: Any, team_database: str) -> None:
    """Every send state × delivery status: the team column, the Python rule (and, in the history's own
    tests, the SQLite column) put each row in the same status filter choice."""
    from bwdesk.core.outcome import SendState
    from bwdesk.core.status_words import status_filter_of

    deliveries = (None, "RECEIVED", "SENT", "DELIVERED", "FAILED", "UNDELIVERED", "DLR_EXPIRED", "NEW_ONE")
    expected = {}
    with agent(pg_server, team_database) as conn:
        for state in SendState:
            for delivery in deliveries:
                row_uid = insert_message(conn, state=state.value, delivery_status=delivery)
                row = HistoryRow(1, "", "", "", (), "separate", "", (), "", state, delivery_status=delivery)
                expected[row_uid] = status_filter_of(row).value
        found = dict(conn.execute("SELECT row_uid, status FROM bwdesk.messages").fetchall())
    assert found == expected


def test_version_2_databases_are_migrated_to_3_keeping_their_rows_and_get_the_directory(
    pg_server: Any, pg_database: str
) -> None:
    """The real step from version 2 to 3 with rows there: the messages stay, the directory's tables arrive with
    the app's rights (and no DELETE), and a desk that knows only version 2 goes on with its history."""
    with pg_server.connect(pg_database) as conn:
        init_schema(conn, [AGENT_USER], MIGRATIONS[:2])
    with agent(pg_server, pg_database) as conn:
        row_uid = insert_message(conn, state="accepted", delivery_status="DELIVERED", message_id="m-1")
        with pytest.raises(TeamDatabaseError) as caught:
            check_schema(conn)
        assert caught.value.problem is Problem.SCHEMA_OLDER
    with pg_server.connect(pg_database) as conn:
        report = init_schema(conn)
    assert (report.before, report.after, report.applied, report.granted) == (2, 3, (3,), (AGENT_USER,))
    with agent(pg_server, pg_database) as conn:
        assert check_schema(conn).version == 3
        assert check_schema(conn, MIGRATIONS[:2]).version == 3
        assert conn.execute("SELECT row_uid, status FROM bwdesk.messages").fetchall() == [
            (row_uid, "delivered")
        ]
        have = rights(conn)
        assert missing_rights(have) == []
        assert {t for t, r in have.items() if r["delete"]} == set()
        assert have["optouts"] == {"select": True, "insert": False, "update": False, "delete": False}
        conn.execute(
            "INSERT INTO bwdesk.optout_events (event_uid, number, action, reason, at, agent, desk_id) "
            "VALUES (gen_random_uuid(), '+19195550123', 'added', 'by-hand', now(), 'Ana', gen_random_uuid())"
        )
        assert conn.execute("SELECT number, agent FROM bwdesk.optouts").fetchall() == [
            ("+19195550123", "Ana")
        ]
