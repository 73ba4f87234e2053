"""Schema versions: an older file is copied aside and migrated; a newer major is refused."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bwdesk.core.history import schema
from bwdesk.core.history.schema import SCHEMA_MAJOR, SCHEMA_MINOR
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.history.store import HistoryError
from bwdesk.core.outcome import SendState
from bwdesk.core.paths import history_file
from bwdesk.core.status_words import StatusFilter

# The first store's shape (schema 1.0), written here by hand as a file from that version would be.
V1_SCHEMA = """
CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL, updated TEXT NOT NULL,
    sender TEXT NOT NULL, recipients TEXT NOT NULL, mode TEXT NOT NULL,
    text TEXT, media TEXT, tag TEXT,
    state TEXT NOT NULL, message_id TEXT, segments INTEGER, http_status INTEGER,
    error TEXT, delivery_status TEXT, error_code INTEGER, owner_pid INTEGER
);
CREATE INDEX history_created ON history (created);
PRAGMA user_version = 65536;
"""

V1_ROWS = [
    # id, created, recipients, mode, text, media, tag, state, message_id, segments, status, error, delivery, pid
    (
        1,
        "2025-01-02T03:04:05Z",
        ["+19195550123"],
        "separate",
        "Your technician is on the way",
        [],
        "TICKET-4242",
        "accepted",
        "m-1",
        1,
        202,
        None,
        "DELIVERED",
        None,
    ),
    (
        2,
        "2025-01-02T03:05:00Z",
        ["+19195550124", "+19195550123"],
        "group",
        None,
        ["https://e.x/a.jpg"],
        None,
        "rejected",
        None,
        1,
        400,
        {
            "type": "request-validation",
            "description": "Invalid to",
            "field_errors": [{"field": "to", "description": "bad number"}],
        },
        None,
        None,
    ),
    (
        3,
        "2025-01-01T00:00:00Z",
        ["+19195550125"],
        "separate",
        "clock went back",
        [],
        "",
        "sending",
        None,
        1,
        None,
        None,
        None,
        2**22 + 99,
    ),
]


def write_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    for row_id, created, to, mode, text, media, tag, state, mid, seg, status, error, delivery, pid in V1_ROWS:
        conn.execute(
            "INSERT INTO history VALUES (?, ?, ?, '+19195550100', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (
                row_id,
                created,
                created,
                json.dumps(to),
                mode,
                text,
                json.dumps(media),
                tag,
                state,
                mid,
                seg,
                status,
                json.dumps(error) if error else None,
                delivery,
                pid,
            ),
        )
    conn.commit()
    conn.close()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def v1(profile: Path) -> Path:
    path = history_file(profile)
    write_v1(path)
    return path


def test_a_v1_file_is_copied_aside_then_migrated(v1: Path) -> None:
    with SqliteHistoryStore.open(v1) as store:
        assert store.schema_version == (SCHEMA_MAJOR, SCHEMA_MINOR)
        rows = {r.id: r for r in store.search(HistoryQuery())}
        assert sorted(rows) == [1, 2, 3]
        assert rows[1].to_json() | {"updated": None} == {
            "id": 1,
            "created": "2025-01-02T03:04:05Z",
            "updated": None,
            "from": "+19195550100",
            "to": ["+19195550123"],
            "mode": "separate",
            "text": "Your technician is on the way",
            "media": [],
            "tag": "TICKET-4242",
            "state": "accepted",
            "message_id": "m-1",
            "segments": 1,
            "http_status": 202,
            "error": None,
            "delivery_status": "DELIVERED",
            "error_code": None,
            "agent": None,
            "desk": None,
        }
        assert rows[2].to_json()["error"] == {
            "type": "request-validation",
            "description": "Invalid to",
            "field_errors": [{"field": "to", "description": "bad number"}],
        }
        assert rows[2].text == "" and rows[2].media == ("https://e.x/a.jpg",)
        # The new indexes are filled in: words, tags and every recipient are searchable.
        assert [r.id for r in store.search(HistoryQuery(text="technician"))] == [1]
        assert [r.id for r in store.search(HistoryQuery.from_text("TICKET-4242"))] == [1]
        assert [r.id for r in store.search(HistoryQuery(number="+19195550123"))] == [2, 1]
        # The v1 sending row's owner (a bare pid) no longer runs.
        assert store.recover_interrupted() == 1
        assert store.get(3).state is SendState.UNKNOWN  # type: ignore[union-attr]
        # Creation times went backwards in that file, so date filters stay exact without id ranges.
        since = datetime(2025, 1, 2, tzinfo=UTC)
        assert [r.id for r in store.search(HistoryQuery(since=since))] == [2, 1]
        # New rows continue after the old ids.
        assert store.record_sending("+19195550100", ["+19195550123"], "separate", "new") == 4

    backup = v1.with_name("history.sqlite3.v1.bak")
    assert backup.exists()
    assert user_version(backup) == 1 << 16
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT count(*), max(error IS NOT NULL) FROM history").fetchone() == (3, 1)
    conn.close()
    if os.name == "posix":
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert user_version(v1) == (SCHEMA_MAJOR << 16) | SCHEMA_MINOR


def test_a_second_open_neither_migrates_nor_copies_again(v1: Path) -> None:
    SqliteHistoryStore.open(v1).close()
    SqliteHistoryStore.open(v1).close()
    assert sorted(p.name for p in v1.parent.glob("*.bak")) == ["history.sqlite3.v1.bak"]


def test_an_existing_backup_is_never_overwritten(v1: Path) -> None:
    first = v1.with_name("history.sqlite3.v1.bak")
    first.write_bytes(b"an older copy the user kept")
    SqliteHistoryStore.open(v1).close()
    assert first.read_bytes() == b"an older copy the user kept"
    assert len(list(v1.parent.glob("history.sqlite3.v1.*.bak"))) == 1


def test_a_failed_migration_leaves_the_file_as_it_was(v1: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("simulated bug in a migration")

    monkeypatch.setitem(schema._MIGRATIONS, (1, 0), ((2, 0), broken))
    with pytest.raises(RuntimeError, match="simulated"):
        SqliteHistoryStore.open(v1)
    assert user_version(v1) == 1 << 16
    conn = sqlite3.connect(v1)
    assert conn.execute("SELECT count(*) FROM history").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone() == (0,)
    conn.close()


def test_a_newer_major_version_is_refused_with_a_clear_message(profile: Path) -> None:
    path = history_file(profile)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {(SCHEMA_MAJOR + 1) << 16 | 2}")
    conn.close()
    with pytest.raises(HistoryError, match=rf"newer bwdesk \(schema {SCHEMA_MAJOR + 1}\.2\).*Update bwdesk"):
        SqliteHistoryStore.open(path)
    assert user_version(path) == (SCHEMA_MAJOR + 1) << 16 | 2


def test_a_newer_minor_version_opens_and_is_kept(profile: Path) -> None:
    path = history_file(profile)
    SqliteHistoryStore.open(path).close()
    newer = (SCHEMA_MAJOR << 16) | (SCHEMA_MINOR + 3)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.close()
    with SqliteHistoryStore.open(path) as store:
        assert store.schema_version == (SCHEMA_MAJOR, SCHEMA_MINOR + 3)
        store.record_sending("+19195550100", ["+19195550123"], "separate", "still works")
    assert user_version(path) == newer
    assert not list(path.parent.glob("*.bak"))


def test_an_empty_file_becomes_a_new_history(profile: Path) -> None:
    path = history_file(profile)
    path.touch()
    with SqliteHistoryStore.open(path) as store:
        assert store.search(HistoryQuery()) == []
    assert user_version(path) == (SCHEMA_MAJOR << 16) | SCHEMA_MINOR


# --- 2.0 → 2.1: the status column and the digits index ----------------------------------------------------

V2_ROWS = [
    # id, recipients, text, tag, state, delivery status, error code
    (1, ["+19195550198"], "Your technician is on the way", "TICKET-4242", "accepted", "DELIVERED", None),
    (2, ["+13125557301", "+19195550123"], "Group update", "", "accepted", "FAILED", 4775),
    (3, ["+16175550100"], "never left", "", "failed", None, None),
    (4, ["+19195550199"], "no answer", "", "unknown", None, None),
]


def write_v2_0(path: Path) -> None:
    """A file as bwdesk with schema 2.0 left it (its table and side tables, kept as the 1 → 2 step makes
    them; rows and the numbers table written as its `record_sending` did)."""
    conn = sqlite3.connect(path)
    conn.execute(schema._HISTORY_TABLE_V2.format(name="history"))
    for statement in schema._AUX_V2:
        conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('created_monotonic', '1')")
    for row_id, to, text, tag, state, delivery, code in V2_ROWS:
        conn.execute(
            "INSERT INTO history (id, created, updated, sender, recipients, mode, text, tag, state, "
            "message_id, delivery_status, error_code) VALUES (?, ?, ?, '+19195550100', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row_id,
                f"2026-01-0{row_id}T10:00:00Z",
                f"2026-01-0{row_id}T10:00:00Z",
                json.dumps(to),
                "group" if len(to) > 1 else "separate",
                text,
                tag,
                state,
                f"m-{row_id}" if state == "accepted" else None,
                delivery,
                code,
            ),
        )
        conn.executemany(
            "INSERT INTO history_numbers (number, row_id) VALUES (?, ?)", [(n, row_id) for n in to]
        )
    conn.execute(f"PRAGMA user_version = {2 << 16}")
    conn.commit()
    conn.close()


@pytest.fixture
def v2_0(profile: Path) -> Path:
    path = history_file(profile)
    write_v2_0(path)
    return path


def test_a_2_0_file_is_copied_aside_and_its_rows_become_searchable_by_digits_and_status(v2_0: Path) -> None:
    with SqliteHistoryStore.open(v2_0) as store:
        assert store.schema_version == (SCHEMA_MAJOR, SCHEMA_MINOR)
        found = {choice: [r.id for r in store.search(HistoryQuery(status=choice))] for choice in StatusFilter}
        assert found == {
            StatusFilter.DELIVERED: [1],
            StatusFilter.WAITING: [],
            StatusFilter.FAILED: [2],
            StatusFilter.REJECTED: [],
            StatusFilter.UNKNOWN: [4],
            StatusFilter.NOT_SENT: [3],
        }
        assert [r.id for r in store.search(HistoryQuery.from_text("0198"))] == [1]
        assert [r.id for r in store.search(HistoryQuery.from_text("555-7301"))] == [2]
        assert [r.id for r in store.search(HistoryQuery.from_text("(555) 01"))] == [4, 3, 2, 1]
        assert [r.id for r in store.search(HistoryQuery.from_text("4242"))] == [1]  # the tag, as before
        assert [r.id for r in store.search(HistoryQuery(number="+19195550123"))] == [2]
        assert [r.id for r in store.search(HistoryQuery(text="technician"))] == [1]
        new = store.record_sending("+19195550100", ["+19195550198"], "separate", "again")
        assert [r.id for r in store.search(HistoryQuery.from_text("0198"))] == [new, 1]
    backup = v2_0.with_name("history.sqlite3.v2.0.bak")
    assert user_version(backup) == 2 << 16
    assert user_version(v2_0) == (SCHEMA_MAJOR << 16) | SCHEMA_MINOR
    conn = sqlite3.connect(v2_0)
    conn.execute("INSERT INTO history_digits (history_digits) VALUES ('integrity-check')")
    conn.close()


def test_a_failed_2_1_step_leaves_the_2_0_file_as_it_was(v2_0: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        schema._migrate_2_0_to_2_1(conn)
        raise RuntimeError("simulated bug after the step")

    monkeypatch.setitem(schema._MIGRATIONS, (2, 0), ((2, 1), broken))
    with pytest.raises(RuntimeError, match="simulated"):
        SqliteHistoryStore.open(v2_0)
    assert user_version(v2_0) == 2 << 16
    conn = sqlite3.connect(v2_0)
    names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    columns = {row[1] for row in conn.execute("PRAGMA table_xinfo(history)")}
    conn.close()
    assert "history_digits" not in names and "history_status" not in names and "status" not in columns


def test_a_2_0_bwdesk_writing_to_a_2_1_file_keeps_it_consistent(profile: Path) -> None:
    """The reason 2.1 is a minor version: the status column and the digits index look after themselves,
    so rows written by code that knows neither (an older bwdesk beside this one) are found like any other."""
    path = history_file(profile)
    SqliteHistoryStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(  # exactly the columns 2.0's record_sending wrote, and nothing about digits or status
        "INSERT INTO history (created, updated, sender, recipients, mode, text, media, tag, state) "
        "VALUES ('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '+19195550100', '[\"+19195550198\"]', "
        "'separate', 'from an older bwdesk', '[]', '', 'accepted')"
    )
    conn.execute("UPDATE history SET delivery_status = 'UNDELIVERED', error_code = 4720")
    conn.commit()
    conn.close()
    with SqliteHistoryStore.open(path) as store:
        query = HistoryQuery(text="0198", status=StatusFilter.FAILED)
        assert [r.text for r in store.search(query)] == ["from an older bwdesk"]
