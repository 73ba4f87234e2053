"""The history store on a real SQLite file: record/settle, search and paging, filters, CSV, files, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bwdesk.core.history import schema, sqlite_store
from bwdesk.core.history.export import CSV_COLUMNS, csv_cell
from bwdesk.core.history.search import HistoryQuery, fts_query
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.history.store import HistoryError
from bwdesk.core.outcome import ApiError, FieldError, SendResult, SendState
from bwdesk.core.paths import history_file
from bwdesk.core.status_words import status_label

FROM = "+19195550100"
ALICE = "+19195550123"
BOB = "+19195550124"


class Clock:
    """An injectable UTC clock."""

    def __init__(self, start: datetime = datetime(2026, 11, 27, 10, 15, 2, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(profile: Path, clock: Clock) -> Iterator[SqliteHistoryStore]:
    opened = SqliteHistoryStore.open(history_file(profile), clock=clock)
    yield opened
    opened.close()


def accepted(message_id: str = "1589228074636lm4k2je7j7jklbn2", segments: int = 1) -> SendResult:
    return SendResult(SendState.ACCEPTED, http_status=202, message_id=message_id, segments=segments)


def add(
    store: SqliteHistoryStore,
    text: str = "hello",
    to: tuple[str, ...] = (ALICE,),
    tag: str = "",
    **kw: object,
) -> int:
    mode = "group" if len(to) > 1 else "separate"
    return store.record_sending(FROM, list(to), mode, text, [], tag, 1)


# --- record, settle, JSON ----------------------------------------------------------------------------------


def test_row_is_sending_before_the_post_and_settled_after(store: SqliteHistoryStore, clock: Clock) -> None:
    row_id = store.record_sending(
        FROM, [ALICE], "separate", "Your technician is on the way", [], "TICKET-4242", 1
    )
    before = store.get(row_id)
    assert before is not None and before.state is SendState.SENDING

    clock.advance(seconds=1)
    store.settle(row_id, accepted())
    store.update_delivery(row_id, "DELIVERED", 0)

    row = store.get(row_id)
    assert row is not None
    assert row.to_json() == {
        "id": row_id,
        "created": "2026-11-27T10:15:02Z",
        "updated": "2026-11-27T10:15:03Z",
        "from": FROM,
        "to": [ALICE],
        "mode": "separate",
        "text": "Your technician is on the way",
        "media": [],
        "tag": "TICKET-4242",
        "state": "accepted",
        "message_id": "1589228074636lm4k2je7j7jklbn2",
        "segments": 1,
        "http_status": 202,
        "error": None,
        "delivery_status": "DELIVERED",
        "error_code": None,
        "agent": None,  # a purely local row: no team, so nobody and no desk
        "desk": None,
    }
    assert list(row.to_json()) == [
        "id",
        "created",
        "updated",
        "from",
        "to",
        "mode",
        "text",
        "media",
        "tag",
        "state",
        "message_id",
        "segments",
        "http_status",
        "error",
        "delivery_status",
        "error_code",
        "agent",
        "desk",
    ]
    json.dumps(row.to_json())  # serialisable as is


def test_rejection_keeps_status_type_description_and_field_errors(store: SqliteHistoryStore) -> None:
    row_id = store.record_sending(FROM, [ALICE, BOB], "group", "", ["https://example.com/a.jpg"], "", 2)
    error = ApiError("Invalid to", "request-validation", 400, (FieldError("to", "not a number"),))
    store.settle(row_id, SendResult(SendState.REJECTED, http_status=400, error=error))
    data = store.get(row_id).to_json()  # type: ignore[union-attr]
    assert data["state"] == "rejected" and data["http_status"] == 400
    assert data["error"] == {
        "type": "request-validation",
        "description": "Invalid to",
        "field_errors": [{"field": "to", "description": "not a number"}],
    }
    assert data["text"] is None and data["tag"] is None  # no value → null
    assert data["media"] == ["https://example.com/a.jpg"] and data["mode"] == "group"
    assert data["segments"] == 2  # the estimate stays when the API gave none


def test_failed_without_api_error_keeps_the_detail_as_description(store: SqliteHistoryStore) -> None:
    row_id = add(store)
    store.settle(row_id, SendResult(SendState.FAILED, detail="could not connect to the server"))
    assert store.get(row_id).to_json()["error"] == {  # type: ignore[union-attr]
        "type": None,
        "description": "could not connect to the server",
        "field_errors": [],
    }


def test_settle_takes_the_api_segment_count_and_unknown_rows_can_be_settled_later(
    store: SqliteHistoryStore,
) -> None:
    row_id = add(store)
    store.settle(row_id, SendResult(SendState.UNKNOWN, detail="read timed out"))
    store.settle(row_id, accepted(segments=3))
    row = store.get(row_id)
    assert row is not None and row.state is SendState.ACCEPTED and row.segments == 3 and row.error is None


def test_settling_or_updating_a_missing_row_is_an_error(store: SqliteHistoryStore) -> None:
    with pytest.raises(KeyError):
        store.settle(999, accepted())
    with pytest.raises(KeyError):
        store.update_delivery(999, "DELIVERED", None)
    assert store.get(999) is None


def test_record_rejects_a_bad_mode_or_a_string_for_a_list(store: SqliteHistoryStore) -> None:
    with pytest.raises(ValueError, match="mode"):
        store.record_sending(FROM, [ALICE], "broadcast", "hi")
    with pytest.raises(TypeError):
        store.record_sending(FROM, ALICE, "separate", "hi")


def test_an_unknown_send_found_at_bandwidth_becomes_accepted(store: SqliteHistoryStore, clock: Clock) -> None:
    row_id = add(store)
    store.settle(row_id, SendResult(SendState.UNKNOWN, detail="read timed out"))
    clock.advance(minutes=5)
    store.confirm_sent(row_id, "found-id", 2, "DELIVERED", 0)
    data = store.get(row_id).to_json()  # type: ignore[union-attr]
    assert (data["state"], data["message_id"], data["segments"]) == ("accepted", "found-id", 2)
    assert (data["error"], data["delivery_status"], data["error_code"]) == (None, "DELIVERED", None)
    assert data["updated"] == "2026-11-27T10:20:02Z"
    with pytest.raises(ValueError, match="is accepted; only unknown or failed"):
        store.confirm_sent(row_id, "other", 1, None, None)
    with pytest.raises(KeyError):
        store.confirm_sent(999, "x", 1, None, None)


def test_status_label_and_local_time(store: SqliteHistoryStore) -> None:
    row_id = add(store)
    store.settle(row_id, accepted())
    store.update_delivery(row_id, "FAILED", 4720)
    row = store.get(row_id)
    assert row is not None
    assert status_label(row).startswith("accepted · FAILED 4720 · ")
    assert row.created_local() == datetime(2026, 11, 27, 10, 15, 2, tzinfo=UTC).astimezone().strftime(
        "%Y-%m-%d %H:%M"
    )


# --- search and paging -----------------------------------------------------------------------------------------


def test_search_is_newest_first_and_pages_by_id_without_gaps_or_repeats(store: SqliteHistoryStore) -> None:
    ids = [add(store, f"message number {i}") for i in range(25)]
    seen: list[int] = []
    before = None
    while page := store.search(HistoryQuery(), limit=7, before_id=before):
        seen.extend(r.id for r in page)
        before = page[-1].id
    assert seen == sorted(ids, reverse=True)
    assert store.count(HistoryQuery()) == 25


def test_text_search_matches_whole_words_in_text_or_tag_case_and_accent_insensitive(
    store: SqliteHistoryStore,
) -> None:
    technician = add(store, "Your TECHNICIAN is on the way")
    tagged = add(store, "see you", tag="TICKET-4242")
    accented = add(store, "Rendez-vous confirmé à 10h")
    add(store, "technicians are busy")  # another word: not a match for "technician"
    assert [r.id for r in store.search(HistoryQuery(text="technician"))] == [technician]
    assert [r.id for r in store.search(HistoryQuery(text="ticket-4242"))] == [tagged]
    assert [r.id for r in store.search(HistoryQuery(text="4242"))] == [tagged]
    assert [r.id for r in store.search(HistoryQuery(text="confirme"))] == [accented]
    assert [r.id for r in store.search(HistoryQuery(text="technician way"))] == [technician]
    assert store.search(HistoryQuery(text="technician see")) == []  # words are AND-ed


def test_quoted_phrase_and_prefix(store: SqliteHistoryStore) -> None:
    phrase = add(store, "the part is on the way")
    add(store, "the way is clear, the part arrived")
    assert [r.id for r in store.search(HistoryQuery(text='"on the way"'))] == [phrase]
    assert len(store.search(HistoryQuery(text="par*"))) == 2
    assert store.search(HistoryQuery(text="pa")) == []  # no prefix unless asked


@pytest.mark.parametrize(
    "typed",
    [
        'say "hi',
        '"',
        '""',
        "AND",
        "OR NOT",
        "NEAR(a b)",
        "text:hello",
        "-hello",
        "hello -",
        "^hello",
        "hel*lo",
        "*",
        "(",
        ")",
        "a + b",
        "{text tag}: hello",
        "'",
        "\\",
        "\x00",
        "🙂",
        "   ",
    ],
)
def test_fts_syntax_in_the_query_is_never_an_error(store: SqliteHistoryStore, typed: str) -> None:
    add(store, 'hello "AND" OR NOT NEAR text: say hi')
    store.search(HistoryQuery(text=typed))
    store.count(HistoryQuery(text=typed))


def test_operators_are_words(store: SqliteHistoryStore) -> None:
    both = add(store, "cats AND dogs")
    add(store, "cats and more cats")  # "and" is a word here too: both rows contain it
    add(store, "cats only")
    assert {r.id for r in store.search(HistoryQuery(text="cats AND"))} == {both, both + 1}
    assert [r.id for r in store.search(HistoryQuery(text="dogs OR"))] == []


def test_query_translation() -> None:
    assert fts_query("hello world") == '"hello" "world"'
    assert fts_query('say "hi') == '"say" """hi"'
    assert fts_query('"on the way" ticket') == '"on the way" "ticket"'
    assert fts_query("techn*") == '"techn"*'
    assert fts_query("t*") == '"t"'  # a one-letter prefix would walk the whole vocabulary
    assert fts_query("- * ( ) :") is None
    assert fts_query("") is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=40))
def test_any_typed_text_searches_without_error(store: SqliteHistoryStore, typed: str) -> None:
    if not store.count(HistoryQuery()):
        add(store, 'the "quick" brown fox: NEAR(jumps) AND -over ^the * lazy dog')
    store.search(HistoryQuery(text=typed), limit=5)


def test_number_search_in_any_format_finds_every_recipient_position(store: SqliteHistoryStore) -> None:
    single = add(store, to=(ALICE,))
    group = add(store, to=(BOB, ALICE))
    add(store, to=(BOB,))
    for typed in ("+19195550123", "(919) 555-0123", "919.555.0123", "1 919 555 0123"):
        query = HistoryQuery.from_text(typed)
        assert query.number == ALICE and query.text == ""
        assert [r.id for r in store.search(query)] == [group, single]
    assert store.count(HistoryQuery(number="919-555-0123")) == 2
    assert store.search(HistoryQuery(number="not a number")) == []


def test_short_digit_runs_are_words_not_numbers(store: SqliteHistoryStore) -> None:
    tagged = add(store, tag="TICKET-4242")
    assert HistoryQuery.from_text("4242") == HistoryQuery(text="4242")
    assert HistoryQuery.from_text("555-0123").number is None  # the local part alone is not a full number
    assert [r.id for r in store.search(HistoryQuery.from_text("4242"))] == [tagged]


def test_state_filter_alone_and_with_text_and_number(store: SqliteHistoryStore) -> None:
    ok = add(store, "order shipped", to=(ALICE,))
    store.settle(ok, accepted())
    bad = add(store, "order shipped", to=(ALICE,))
    store.settle(bad, SendResult(SendState.REJECTED, http_status=400, error=ApiError("no")))
    other = add(store, "invoice", to=(BOB,))
    store.settle(other, SendResult(SendState.REJECTED, http_status=403, error=ApiError("no")))
    rejected = HistoryQuery(state=SendState.REJECTED)
    assert [r.id for r in store.search(rejected)] == [other, bad]
    assert [r.id for r in store.search(HistoryQuery(text="order", state=SendState.REJECTED))] == [bad]
    assert [r.id for r in store.search(HistoryQuery(number=ALICE, state=SendState.ACCEPTED))] == [ok]
    assert [
        r.id for r in store.search(HistoryQuery(number=ALICE, text="order", state=SendState.REJECTED))
    ] == [bad]
    assert store.count(HistoryQuery(text="order", state=SendState.REJECTED)) == 1


def test_date_filters(store: SqliteHistoryStore, clock: Clock) -> None:
    day1 = add(store, "order")
    clock.advance(days=1)
    day2 = add(store, "order")
    clock.advance(days=1)
    day3 = add(store, "order")
    start = datetime(2026, 11, 28, tzinfo=UTC)
    assert [r.id for r in store.search(HistoryQuery(since=start))] == [day3, day2]
    assert [r.id for r in store.search(HistoryQuery(until=start))] == [day1]
    one_day = HistoryQuery(text="order", since=start, until=start + timedelta(days=1))
    assert [r.id for r in store.search(one_day)] == [day2]
    assert store.count(one_day) == 1
    assert store.search(HistoryQuery(since=start + timedelta(days=5))) == []
    assert store.search(HistoryQuery(since=start, until=start)) == []


def test_date_filters_stay_exact_after_the_clock_went_back(store: SqliteHistoryStore, clock: Clock) -> None:
    first = add(store, "a")
    clock.advance(hours=-5)  # e.g. a wrong clock corrected: a newer row with an older time
    second = add(store, "b")
    cut = datetime(2026, 11, 27, 8, tzinfo=UTC)
    assert [r.id for r in store.search(HistoryQuery(until=cut))] == [second]
    assert [r.id for r in store.search(HistoryQuery(since=cut))] == [first]


def test_limit_is_bounded(store: SqliteHistoryStore) -> None:
    with pytest.raises(ValueError):
        store.search(HistoryQuery(), limit=0)


# --- delivery refresh and retention ---------------------------------------------------------------------------


def test_rows_to_refresh_are_recent_accepted_non_final(store: SqliteHistoryStore, clock: Clock) -> None:
    old = add(store)
    store.settle(old, accepted("old"))
    clock.advance(days=5)
    pending = add(store)
    store.settle(pending, accepted("pending"))
    delivered = add(store)
    store.settle(delivered, accepted("delivered"))
    store.update_delivery(delivered, "DELIVERED", None)
    sent = add(store)
    store.settle(sent, accepted("sent"))
    store.update_delivery(sent, "SENT", None)
    rejected = add(store)
    store.settle(rejected, SendResult(SendState.REJECTED, http_status=400, error=ApiError("no")))
    add(store)  # still sending

    assert [r.id for r in store.rows_to_refresh(max_age=timedelta(days=3))] == [pending, sent]
    clock.advance(seconds=30)
    assert [
        r.id for r in store.rows_to_refresh(max_age=timedelta(days=3), min_interval=timedelta(minutes=1))
    ] == [pending]
    assert len(store.rows_to_refresh(max_age=timedelta(days=30), limit=1)) == 1


def test_retention_deletes_old_rows_with_their_search_entries(
    store: SqliteHistoryStore, clock: Clock
) -> None:
    for _ in range(3):
        store.settle(add(store, "ancient words", to=(BOB,)), accepted())
    clock.advance(days=10)
    recent = add(store, "recent words", to=(ALICE,))
    assert store.apply_retention(None) == 0
    assert store.apply_retention(7) == 3
    assert [r.id for r in store.search(HistoryQuery())] == [recent]
    assert store.search(HistoryQuery(text="ancient")) == []
    assert store.search(HistoryQuery(number=BOB)) == []
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM history_numbers").fetchone() == (1,)
    conn.close()


# --- CSV ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", "  =HYPERLINK(1)"])
def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised(cell: str) -> None:
    assert csv_cell(cell) == "'" + cell
    assert csv_cell("plain text") == "plain text"
    assert csv_cell(None) == "" and csv_cell(42) == "42"


def test_csv_export_is_safe_text_for_spreadsheets(store: SqliteHistoryStore, profile: Path) -> None:
    evil = store.record_sending(FROM, [ALICE], "separate", '=HYPERLINK("http://x","y")', [], "@SUM(1)", 1)
    store.settle(evil, SendResult(SendState.REJECTED, 400, error=ApiError("-bad", "request-validation")))
    nice = store.record_sending(
        FROM, [ALICE, BOB], "group", "Merci 🙂, à bientôt\nline 2", ["https://e.x/a"], "T-1", 1
    )
    store.settle(nice, accepted("id-1"))

    target = profile / "export.csv"
    assert store.export_csv(target, HistoryQuery()) == 2
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    newest, oldest = rows
    assert newest["text"] == "Merci 🙂, à bientôt\nline 2"
    assert newest["from"] == "'+19195550100"  # text, never a number or a formula
    assert newest["to"] == "'+19195550123; +19195550124"
    assert newest["message_id"] == "id-1" and newest["state"] == "accepted"
    assert oldest["text"] == '\'=HYPERLINK("http://x","y")'
    assert oldest["tag"] == "'@SUM(1)"
    assert oldest["error_description"] == "'-bad"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_csv_export_to_a_stream_with_a_filter(store: SqliteHistoryStore) -> None:
    add(store, "order one")
    add(store, "invoice")
    out = io.StringIO(newline="")
    assert store.export_csv(out, HistoryQuery(text="order")) == 1
    assert out.getvalue().startswith("\ufeffid,created")
    assert "order one" in out.getvalue() and "invoice" not in out.getvalue()


# --- the file ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_files_are_owner_only_and_in_wal_mode(store: SqliteHistoryStore) -> None:
    old = os.umask(0o022)
    try:
        add(store)
    finally:
        os.umask(old)
    path = store.path
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert candidate.exists(), candidate
        assert stat.S_IMODE(candidate.stat().st_mode) == 0o600, candidate
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_an_existing_readable_file_is_tightened(profile: Path) -> None:
    path = history_file(profile)
    SqliteHistoryStore.open(path).close()
    os.chmod(path, 0o644)
    SqliteHistoryStore.open(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reopening_keeps_rows_and_schema(profile: Path) -> None:
    path = history_file(profile)
    with SqliteHistoryStore.open(path) as first:
        row_id = first.record_sending(FROM, [ALICE], "separate", "kept", [], "", 1)
    with SqliteHistoryStore.open(path) as second:
        assert second.get(row_id).text == "kept"  # type: ignore[union-attr]
        assert second.schema_version == (schema.SCHEMA_MAJOR, schema.SCHEMA_MINOR)


def test_closed_store_refuses_work(profile: Path) -> None:
    opened = SqliteHistoryStore.open(history_file(profile))
    opened.close()
    with pytest.raises(RuntimeError, match="closed"):
        opened.search()


# --- errors the user can act on ----------------------------------------------------------------------------


def test_disk_full_is_a_history_error_that_says_what_to_do(store: SqliteHistoryStore) -> None:
    add(store)
    conn = store._connections.get()[0]
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(HistoryError, match=r"full\. Free some disk space"):
        for _ in range(200):
            store.record_sending(FROM, [ALICE], "separate", "x" * 4000, [], "", 1)


def test_read_only_is_a_history_error(store: SqliteHistoryStore) -> None:
    store._connections.get()[0].execute("PRAGMA query_only = 1")
    with pytest.raises(HistoryError, match="cannot be written"):
        add(store)


def test_locked_is_a_history_error(
    store: SqliteHistoryStore, monkeypatch: pytest.MonkeyPatch, profile: Path
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 50)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        fresh = SqliteHistoryStore.open(store.path)  # a new store: its connections use the short timeout
        with pytest.raises(HistoryError, match="locked by another bwdesk"):
            add(fresh)
        fresh.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_damaged_file_is_a_history_error(profile: Path) -> None:
    path = history_file(profile)
    path.write_bytes(b"this is not a database, just some bytes " * 100)
    with pytest.raises(HistoryError, match="damaged or is not a bwdesk history"):
        SqliteHistoryStore.open(path)


def test_a_foreign_database_is_refused(profile: Path) -> None:
    path = history_file(profile)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="not a bwdesk history"):
        SqliteHistoryStore.open(path)


def test_an_unopenable_path_is_a_history_error(profile: Path) -> None:
    blocker = profile / "file-not-folder"
    blocker.write_text("x")
    with pytest.raises(HistoryError, match="Could not open the history"):
        SqliteHistoryStore.open(blocker / "history.sqlite3")


def test_missing_fts5_fails_clearly(monkeypatch: pytest.MonkeyPatch, profile: Path) -> None:
    real_connect = sqlite3.connect

    class NoFts:
        def __init__(self) -> None:
            self.conn = real_connect(":memory:")

        def execute(self, sql: str) -> None:
            raise sqlite3.OperationalError("no such module: fts5")

        def close(self) -> None:
            self.conn.close()

    monkeypatch.setattr(schema.sqlite3, "connect", lambda *a, **k: NoFts())
    with pytest.raises(HistoryError, match="without FTS5"):
        SqliteHistoryStore.open(history_file(profile))


def test_programming_errors_are_not_disguised(store: SqliteHistoryStore) -> None:
    with pytest.raises(sqlite3.OperationalError), store._read("read") as conn:
        conn.execute("SELECT no_such_column FROM history")


@pytest.mark.skipif(sys.platform == "win32", reason="umask")
def test_opening_does_not_change_the_process_umask(profile: Path) -> None:
    old = os.umask(0o022)
    try:
        SqliteHistoryStore.open(history_file(profile)).close()
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(old)
