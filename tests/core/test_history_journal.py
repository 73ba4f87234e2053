"""The local history as this desk's journal for a team history (schema 2.2): uids, revisions and the outbox,
on real files, including files migrated from 2.1 and 2.0 and rows written by a bwdesk that knows none of it."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_history_migration import V2_ROWS, user_version, write_v2_0

from bwdesk.core.history import schema
from bwdesk.core.history.rows import format_time
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.history.uids import is_team_key, new_row_uid, split_team_key, team_key, uid_second
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.paths import history_file

FROM, ALICE = "+19195550100", "+19195550123"
TARGET = "bwdesk_agent@db.example.com:5432/bwdesk"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 10, 15, 2, 250_000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(profile: Path, clock: Clock) -> SqliteHistoryStore:
    opened = SqliteHistoryStore.open(history_file(profile), clock=clock)
    yield opened  # type: ignore[misc]
    opened.close()


def add(store: SqliteHistoryStore, text: str = "hello") -> int:
    return store.record_sending(FROM, [ALICE], "separate", text, [], "", 1)


def revision(profile: Path, row_id: int) -> int:
    conn = sqlite3.connect(history_file(profile))
    try:
        return int(conn.execute("SELECT revision FROM history WHERE id = ?", (row_id,)).fetchone()[0])
    finally:
        conn.close()


def queued(store: SqliteHistoryStore) -> list[tuple[int, int]]:
    return [(q.row.id, q.revision) for q in store.outbox_batch(1000)]


# --- uids ---------------------------------------------------------------------------------------------------


def test_every_row_gets_a_time_ordered_uid_from_its_creation_time(
    store: SqliteHistoryStore, clock: Clock
) -> None:
    ids = [add(store) for _ in range(5)]  # five rows in one millisecond: uids still grow with ids
    clock.now += timedelta(seconds=3)
    ids.append(add(store))
    rows = [store.get(i) for i in ids]
    uids = [r.row_uid for r in rows if r is not None]
    assert len(uids) == 6 and uids == sorted(uids) and len(set(uids)) == 6
    for row in rows:
        assert row is not None and row.row_uid is not None
        assert uuid.UUID(row.row_uid).version == 7
        assert uid_second(row.row_uid) == int(datetime.fromisoformat(row.created).timestamp())


def test_team_keys_sort_as_the_team_view_and_never_meet_local_ids() -> None:
    moment = datetime(2026, 11, 27, 10, 15, 2, tzinfo=UTC)
    first = new_row_uid(moment)
    second = new_row_uid(moment, after=first)
    later = new_row_uid(moment + timedelta(seconds=1))
    keys = [team_key(moment, first), team_key(moment, second), team_key(moment + timedelta(seconds=1), later)]
    assert keys == sorted(keys) and all(is_team_key(k) for k in keys) and not is_team_key(2**63)
    assert split_team_key(keys[1]) == (moment, second)


# --- revisions ----------------------------------------------------------------------------------------------


def test_every_change_bumps_the_revision(store: SqliteHistoryStore, profile: Path) -> None:
    row_id = add(store)
    assert revision(profile, row_id) == 1
    store.settle(row_id, SendResult(SendState.UNKNOWN, detail="no answer"))
    assert revision(profile, row_id) == 2
    store.confirm_sent(row_id, "m-1", 1, "SENT", None)
    assert revision(profile, row_id) == 3
    store.update_delivery(row_id, "DELIVERED", None)
    assert revision(profile, row_id) == 4
    other = add(store)
    conn = sqlite3.connect(history_file(profile))
    conn.execute("UPDATE history SET owner_pid = 2147483000, owner_start = 'gone' WHERE id = ?", (other,))
    conn.commit()
    conn.close()
    assert revision(profile, other) == 2
    assert store.recover_interrupted() == 1
    assert revision(profile, other) == 3 and revision(profile, row_id) == 4


# --- the outbox ---------------------------------------------------------------------------------------------


def test_nothing_is_queued_until_a_team_is_set_up_then_everything_in_order(
    store: SqliteHistoryStore, profile: Path
) -> None:
    first, second = add(store, "one"), add(store, "two")
    store.settle(first, SendResult(SendState.ACCEPTED, http_status=202, message_id="m-1"))
    assert queued(store) == [] and store.outbox_counts().waiting == 0
    assert store.enable_outbox(TARGET) == 2
    assert queued(store) == [(first, 2), (second, 1)]
    assert store.enable_outbox(TARGET) == 0  # the same team database: nothing queued again
    third = add(store, "three")
    store.update_delivery(first, "DELIVERED", None)  # keeps its place in line, with its newest revision
    assert queued(store) == [(first, 3), (second, 1), (third, 1)]
    counts = store.outbox_counts()
    assert counts.waiting == 3 and counts.oldest is not None and counts.problem is None


def test_a_copied_row_leaves_the_line_unless_it_changed_meanwhile(store: SqliteHistoryStore) -> None:
    store.enable_outbox(TARGET)
    first, second = add(store, "one"), add(store, "two")
    batch = store.outbox_batch(10)
    store.settle(second, SendResult(SendState.ACCEPTED, http_status=202, message_id="m-2"))  # after the read
    store.outbox_done([(q.row.id, q.revision) for q in batch])
    assert queued(store) == [(second, 2)]
    store.outbox_problem("Team history: the server is down")
    assert store.outbox_counts().problem == "Team history: the server is down"
    store.outbox_done([(second, 2)])
    counts = store.outbox_counts()
    assert (counts.waiting, counts.problem) == (0, None) and counts.last_copied is not None
    assert first < second


def test_another_team_database_gets_every_row_again(store: SqliteHistoryStore) -> None:
    store.enable_outbox(TARGET)
    row_id = add(store)
    store.outbox_done([(row_id, 1)])
    assert store.enable_outbox("someone@elsewhere:5432/other") == 1
    assert queued(store) == [(row_id, 1)]


def test_rows_deleted_by_retention_leave_the_line(store: SqliteHistoryStore, clock: Clock) -> None:
    store.enable_outbox(TARGET)
    old = add(store)
    store.settle(old, SendResult(SendState.REJECTED, http_status=400))
    clock.now += timedelta(days=40)
    new = add(store)
    assert store.apply_retention(30) == 1
    assert queued(store) == [(new, 1)]


def test_queued_rows_can_be_searched_alone(store: SqliteHistoryStore) -> None:
    from bwdesk.core.history.search import HistoryQuery

    store.enable_outbox(TARGET)
    done_id, waiting_id = add(store, "ticket done"), add(store, "ticket waiting")
    add(store, "other")
    store.outbox_done([(done_id, 1)])
    assert [r.id for r in store.search_queued(HistoryQuery(text="ticket"), 10)] == [waiting_id]
    assert store.queued_uids() == {store.get(i).row_uid for i in (waiting_id, waiting_id + 1)}  # type: ignore[union-attr]


# --- files from before 2.2, and a bwdesk that knows only 2.1 -----------------------------------------------


def write_v2_1(path: Path) -> None:
    write_v2_0(path)
    conn = sqlite3.connect(path)
    schema._migrate_2_0_to_2_1(conn)
    conn.execute(f"PRAGMA user_version = {(2 << 16) | 1}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("writer, label", [(write_v2_1, "v2.1"), (write_v2_0, "v2.0")])
def test_older_files_get_uids_and_are_queued_when_a_team_is_set_up(
    profile: Path, writer: object, label: str
) -> None:
    path = history_file(profile)
    writer(path)  # type: ignore[operator]
    with SqliteHistoryStore.open(path) as store:
        assert user_version(path) == (schema.SCHEMA_MAJOR << 16) | schema.SCHEMA_MINOR
        rows = sorted((store.get(row_id) for row_id, *_ in V2_ROWS), key=lambda r: r.id)  # type: ignore[union-attr,return-value]
        uids = [r.row_uid for r in rows if r is not None]
        assert len(set(uids)) == len(V2_ROWS) and uids == sorted(uids)
        for row in rows:
            assert row is not None and row.row_uid is not None
            assert uid_second(row.row_uid) == int(datetime.fromisoformat(row.created).timestamp())
        assert queued(store) == []
        assert store.enable_outbox(TARGET) == len(V2_ROWS)
        assert queued(store) == [(row_id, 1) for row_id, *_ in V2_ROWS]
        new = add(store)
        assert queued(store)[-1] == (new, 1)
    assert path.with_name(f"history.sqlite3.{label}.bak").exists()


def test_a_bwdesk_that_knows_only_2_1_keeps_a_2_2_file_consistent(profile: Path) -> None:
    """Rows it inserts (no uid) get one made from their creation second, and its changes are counted and
    queued: the reason 2.2 is a minor version."""
    path = history_file(profile)
    with SqliteHistoryStore.open(path) as store:
        store.enable_outbox(TARGET)
    conn = sqlite3.connect(path)
    created = format_time(datetime(2026, 1, 1, 9, 30, 5, tzinfo=UTC))
    conn.execute(  # the columns 2.1's record_sending wrote, and nothing else
        "INSERT INTO history (created, updated, sender, recipients, mode, text, media, tag, state) "
        "VALUES (?, ?, '+19195550100', '[\"+19195550198\"]', 'separate', 'older', '[]', '', 'sending')",
        (created, created),
    )
    conn.execute("UPDATE history SET state = 'accepted', message_id = 'm-9'")
    conn.commit()
    conn.close()
    with SqliteHistoryStore.open(path) as store:
        [entry] = store.outbox_batch(10)
        assert entry.row.text == "older" and entry.row.state is SendState.ACCEPTED and entry.revision == 2
        assert entry.row.row_uid is not None and uuid.UUID(entry.row.row_uid).version == 7
        assert uid_second(entry.row.row_uid) == int(datetime(2026, 1, 1, 9, 30, 5, tzinfo=UTC).timestamp())
