"""Finding rows as agents look for them: the status filter (what the Status column says) and digit runs
(the last digits a customer reads out), on a real SQLite file, checked against the rules as written."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bwdesk.core.history import schema
from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.history.search import DigitRun, HistoryQuery, SearchTerms, search_terms
from bwdesk.core.history.sqlite_query import plan
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.history.store import HistoryError
from bwdesk.core.outcome import ApiError, SendResult, SendState
from bwdesk.core.paths import history_file
from bwdesk.core.status_words import StatusFilter, Tone, status_filter_of, status_label, status_tone

FROM = "+19195550100"


@pytest.fixture
def store(profile: Path) -> Iterator[SqliteHistoryStore]:
    opened = SqliteHistoryStore.open(history_file(profile))
    yield opened
    opened.close()


def add(store: Any, *to: str, text: str = "hello", tag: str = "", sender: str = FROM) -> int:
    return store.record_sending(sender, list(to), "group" if len(to) > 1 else "separate", text, [], tag, 1)


def ids(store: Any, query: HistoryQuery, limit: int = 100) -> list[int]:
    return [r.id for r in store.search(query, limit=limit)]


# --- the status filter --------------------------------------------------------------------------------------

SETTLED = {
    SendState.ACCEPTED: SendResult(SendState.ACCEPTED, http_status=202, message_id="m", segments=1),
    SendState.REJECTED: SendResult(SendState.REJECTED, http_status=400, error=ApiError("Invalid to")),
    SendState.FAILED: SendResult(SendState.FAILED, detail="connection refused"),
    SendState.UNKNOWN: SendResult(SendState.UNKNOWN, detail="no answer"),
}
DELIVERY = (None, "RECEIVED", "QUEUED", "SENDING", "SENT", "ACCEPTED", "DELIVERED", "FAILED", "UNDELIVERED")
DELIVERY += ("DLR_EXPIRED", "SOMETHING_NEW")


def filter_the_cell_suggests(cell: str) -> StatusFilter:
    """What an agent reading the Status cell would pick in the filter (stated from the words, not the code)."""
    words = cell.replace("·", " ").split()
    if "DELIVERED" in words:
        return StatusFilter.DELIVERED
    if "FAILED" in words or "UNDELIVERED" in words:
        return StatusFilter.FAILED
    if words[0] == "unknown" or "DLR_EXPIRED" in words:
        return StatusFilter.UNKNOWN
    if words[0] == "rejected":
        return StatusFilter.REJECTED
    if cell == "not sent":
        return StatusFilter.NOT_SENT
    assert words[0] in ("sending", "accepted"), cell
    return StatusFilter.WAITING


def test_every_row_is_in_exactly_the_filter_its_status_cell_suggests(store: SqliteHistoryStore) -> None:
    """Every send state × every delivery status (those Bandwidth has, a new one, none), with and without an
    error code: the store's filter, the Python rule and the tone all agree with what the cell says."""
    expected: dict[int, StatusFilter] = {}
    for state in SendState:
        for delivery in DELIVERY:
            for code in (None, 4775):
                row_id = add(store, "+19195550123")
                if state is not SendState.SENDING:
                    store.settle(row_id, SETTLED[state])
                if delivery is not None or code is not None:
                    store.update_delivery(row_id, delivery, code)
                row = store.get(row_id)
                assert row is not None and row.state is state and row.delivery_status == delivery
                suggested = filter_the_cell_suggests(status_label(row))
                assert status_filter_of(row) is suggested, status_label(row)
                expected[row_id] = suggested
    found: dict[int, list[StatusFilter]] = {row_id: [] for row_id in expected}
    for choice in StatusFilter:
        rows = store.search(HistoryQuery(status=choice), limit=1000)
        for row in rows:
            found[row.id].append(choice)
        assert store.count(HistoryQuery(status=choice)) == len(rows)
    assert found == {row_id: [choice] for row_id, choice in expected.items()}
    assert set(expected.values()) == set(StatusFilter)  # each choice finds something in that table


def test_failed_means_not_delivered_and_the_tone_agrees(store: SqliteHistoryStore) -> None:
    """The issue as an agent met it: "accepted · FAILED 4775" is found by Failed, a send that never left by
    Not sent; red rows are failed, rejected or not sent, amber rows unknown."""
    opted_out = add(store, "+19195550123")
    store.settle(opted_out, SETTLED[SendState.ACCEPTED])
    store.update_delivery(opted_out, "FAILED", 4775)
    offline = add(store, "+19195550124")
    store.settle(offline, SETTLED[SendState.FAILED])
    assert ids(store, HistoryQuery(status=StatusFilter.FAILED)) == [opted_out]
    assert ids(store, HistoryQuery(status=StatusFilter.NOT_SENT)) == [offline]
    tones = {
        StatusFilter.FAILED: Tone.PROBLEM,
        StatusFilter.REJECTED: Tone.PROBLEM,
        StatusFilter.NOT_SENT: Tone.PROBLEM,
        StatusFilter.UNKNOWN: Tone.WARNING,
        StatusFilter.DELIVERED: None,
        StatusFilter.WAITING: None,
    }
    for row_id in (opted_out, offline):
        row = store.get(row_id)
        assert row is not None and status_tone(row) is tones[status_filter_of(row)]


def test_the_choices_have_labels_descriptions_and_the_command_line_names() -> None:
    assert [c.value for c in StatusFilter] == [
        "delivered",
        "waiting",
        "failed",
        "rejected",
        "unknown",
        "not-sent",
    ]
    assert [c.label for c in StatusFilter] == [
        "Delivered",
        "Waiting",
        "Failed",
        "Rejected",
        "Unknown",
        "Not sent",
    ]
    assert all(c.description and c.description[0].isupper() for c in StatusFilter)


def test_the_status_filter_combines_with_text_numbers_digits_and_dates(store: SqliteHistoryStore) -> None:
    delivered = add(store, "+19195550123", text="order shipped")
    store.settle(delivered, SETTLED[SendState.ACCEPTED])
    store.update_delivery(delivered, "DELIVERED", None)
    failed = add(store, "+19195550123", text="order shipped")
    store.settle(failed, SETTLED[SendState.ACCEPTED])
    store.update_delivery(failed, "UNDELIVERED", 4720)
    other = add(store, "+13125557301", text="invoice")
    store.settle(other, SETTLED[SendState.ACCEPTED])
    store.update_delivery(other, "FAILED", 4720)
    failures = StatusFilter.FAILED
    assert ids(store, HistoryQuery(status=failures)) == [other, failed]
    assert ids(store, HistoryQuery(text="order", status=failures)) == [failed]
    assert ids(store, HistoryQuery(number="919-555-0123", status=failures)) == [failed]
    assert ids(store, HistoryQuery(text="7301", status=failures)) == [other]
    assert ids(store, HistoryQuery(text="0123", status=StatusFilter.DELIVERED)) == [delivered]
    assert ids(store, HistoryQuery(status=failures, state=SendState.ACCEPTED)) == [other, failed]
    assert store.count(HistoryQuery(text="order", status=failures)) == 1


def test_status_filters_walk_their_index_newest_first(store: SqliteHistoryStore) -> None:
    for _ in range(3):
        add(store, "+19195550123")
    conn = store._connections.get()[0]
    for choice in StatusFilter:
        planned = plan(conn, HistoryQuery(status=choice), None)
        assert planned is not None and len(planned) == 1
        sql, params = planned[0]
        steps = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "USING INDEX history_status (status=?)" in steps
        assert "TEMP B-TREE" not in steps  # already in id order: the first page never sorts


# --- digit runs ---------------------------------------------------------------------------------------------


def test_typed_text_splits_into_words_and_digit_runs() -> None:
    def runs(typed: str, region: str | None = "US") -> tuple[str, ...]:
        return tuple(run.digits for run in search_terms(typed, region).digit_runs)

    for typed in ("0198", "0198*"):
        assert runs(typed) == ("0198",)
    for typed in ("555-0198", "5550198", "(555) 0198", "555.0198", "555 0198*"):
        assert runs(typed) == ("5550198",)
    assert runs("919-555-0198") == ("19195550198",)  # a complete number is matched as E.164
    assert runs("07700 900123", "GB") == ("447700900123",)  # the trunk 0 is not in the E.164 number
    assert search_terms("ticket 0198") == SearchTerms('"ticket"', (DigitRun("0198", '"0198"'),))
    assert search_terms("(555) 0198*") == SearchTerms(None, (DigitRun("5550198", '"555 0198"*'),))
    # Three digits, letters attached, or a quoted phrase: words, as before.
    assert search_terms("919") == SearchTerms('"919"')
    assert search_terms("TICKET-4242") == SearchTerms('"TICKET-4242"')
    assert search_terms('"555 0198"') == SearchTerms('"555 0198"')
    assert search_terms("12*") == SearchTerms('"12"*')
    assert search_terms("- ( )").empty


def test_four_or_more_digits_in_any_punctuation_find_recipients_containing_them(
    store: SqliteHistoryStore,
) -> None:
    alice = add(store, "+19195550198")
    group = add(store, "+13125550111", "+16175550198")  # the match is not the first recipient
    add(store, "+19195550123", sender="+19195550198")  # only the From has the digits: not a match
    add(store, "+19195550199")
    add(store, "+13120195198")  # holds 019 and 198, the trigrams of 0198, but not 0198 itself
    for typed in ("0198", "555-0198", "5550198", "(555) 0198", "555 0198", "0198*", "  0198  "):
        assert ids(store, HistoryQuery.from_text(typed, "US")) == [group, alice], typed
        assert store.count(HistoryQuery.from_text(typed, "US")) == 2
    assert ids(store, HistoryQuery.from_text("919-555-0198", "US")) == [alice]  # complete: exact
    assert ids(store, HistoryQuery.from_text("617 555", "US")) == [group]
    assert ids(store, HistoryQuery.from_text("019", "US")) == []  # three digits are a word, not a number


def test_a_digit_run_also_finds_the_same_digits_as_words_in_text_or_tag(store: SqliteHistoryStore) -> None:
    number = add(store, "+19195554242")
    tagged = add(store, "+13125550100", tag="TICKET-4242")
    texted = add(store, "+13125550100", text="your code is 4242")
    longer = add(store, "+13125550100", text="your code is 42424")
    assert ids(store, HistoryQuery.from_text("4242")) == [texted, tagged, number]  # whole words in text
    assert ids(store, HistoryQuery.from_text("4242*")) == [longer, texted, tagged, number]  # as you type


def test_words_and_digits_must_all_match(store: SqliteHistoryStore) -> None:
    both = add(store, "+19195550198", text="your ticket is ready")
    add(store, "+19195550198", text="your order is ready")
    add(store, "+19195550123", text="your ticket is ready")
    assert ids(store, HistoryQuery.from_text("ticket 0198")) == [both]
    assert ids(store, HistoryQuery.from_text("0198 ticket")) == [both]
    assert ids(store, HistoryQuery.from_text("ticket (555) 0198")) == [both]


def test_a_complete_national_number_inside_a_search_still_matches(store: SqliteHistoryStore) -> None:
    london = add(store, "+447700900123", text="refund approved")
    add(store, "+447700900124", text="refund approved")
    assert ids(store, HistoryQuery.from_text("refund 07700 900123", "GB")) == [london]


def test_pages_of_a_digit_search_have_no_gaps_or_repeats(store: SqliteHistoryStore) -> None:
    """A digit run is walked as two streams (numbers, words) merged newest first; paging must still work."""
    matching = []
    for i in range(30):
        if i % 3 == 0:
            matching.append(add(store, "+19195550198"))
        elif i % 3 == 1:
            matching.append(add(store, "+19195550100", tag=f"case 0198 {i}"))
        else:
            add(store, "+19195550100", text="no match")
    both = add(store, "+19195550198", tag="TICKET-0198")  # in both streams: listed once
    matching.append(both)
    seen: list[int] = []
    before = None
    while page := store.search(HistoryQuery.from_text("0198"), limit=4, before_id=before):
        seen.extend(r.id for r in page)
        before = page[-1].id
    assert seen == sorted(matching, reverse=True)
    assert store.count(HistoryQuery.from_text("0198")) == len(matching)


def test_digit_searches_walk_the_digits_index(store: SqliteHistoryStore) -> None:
    for i in range(20):
        add(store, f"+1919555{i:04d}", text="order")
    conn = store._connections.get()[0]
    for typed in ("0198", "555-0198 order", "9195550198 order"):
        planned = plan(conn, HistoryQuery(text=typed), None)
        assert planned is not None
        plans = [" | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {s}", p)) for s, p in planned]
        assert any("history_digits VIRTUAL TABLE" in steps for steps in plans), plans
        assert not any("TEMP B-TREE" in steps for steps in plans)


def test_deleted_rows_leave_the_digits_index(store: SqliteHistoryStore, profile: Path) -> None:
    add(store, "+19195550198")
    store.close()
    conn = sqlite3.connect(history_file(profile))
    conn.execute("DELETE FROM history")
    conn.commit()
    conn.execute("INSERT INTO history_digits (history_digits) VALUES ('integrity-check')")
    conn.close()
    with SqliteHistoryStore.open(history_file(profile)) as reopened:
        assert reopened.search(HistoryQuery.from_text("0198")) == []


# --- the rule as written (what a PostgreSQL store must answer the same way) ----------------------------------


def matches(row: HistoryRow, typed: str, region: str = "US") -> bool:
    """docs/design.md §9.5 in plain Python: every word in the text or tag (whole words), every digit run in a
    recipient's digits or as consecutive words of the text or tag."""
    terms = search_terms(typed, region)
    tokens = re.findall(r"\w+", f"{row.text} {row.tag}".lower())
    joined = " " + " ".join(tokens) + " "
    for run in terms.digit_runs:
        groups = re.findall(r"\d+", run.phrase)
        in_text = f" {' '.join(groups)} " in joined or (
            run.phrase.endswith("*") and f" {' '.join(groups)}" in joined
        )
        if not in_text and not any(run.digits in number.lstrip("+") for number in row.to):
            return False
    for word in re.findall(r'"((?:[^"]|"")*)"(\*?)', terms.words or ""):
        phrase = " ".join(re.findall(r"\w+", word[0].lower()))
        if f" {phrase}{'' if word[1] else ' '}" not in joined:
            return False
    return True


_numbers = st.builds(
    lambda area, line: f"+1{area}555{line:04d}",
    st.sampled_from([919, 312, 617]),
    st.integers(0, 9999),
)


class _Kind:
    """A store the rule-as-written test runs against, and how it starts over between examples."""

    def __init__(self, store: object, reset: object) -> None:
        self.store, self.reset = store, reset


@pytest.fixture(params=["sqlite", "team"])
def any_store(request: pytest.FixtureRequest, profile: Path) -> Iterator[_Kind]:
    """The local history, and the team store of a desk on a real PostgreSQL (its team view)."""
    if request.param == "sqlite":
        opened = SqliteHistoryStore.open(history_file(profile))
        # Durability is not what this test is about; speed is (one connection per thread: the writes' too).
        opened._connections.get()[0].execute("PRAGMA synchronous = OFF")

        def reset_local() -> None:
            with opened._write("start over") as conn:
                conn.execute("DELETE FROM history")

        yield _Kind(opened, reset_local)
        opened.close()
        return
    from teamdesk import open_desk

    pg_server = request.getfixturevalue("pg_server")
    database = request.getfixturevalue("team_database")
    team = open_desk(pg_server, database, profile / "desk", "Ana Lima")
    team.journal._connections.get()[0].execute("PRAGMA synchronous = OFF")

    def reset_team() -> None:
        with team.journal._write("start over") as conn:
            conn.execute("DELETE FROM history")
        pg_server.execute("TRUNCATE bwdesk.messages CASCADE", dbname=database)

    yield _Kind(team, reset_team)
    team.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.lists(_numbers, min_size=1, max_size=3, unique=True),
            st.sampled_from(["", "call 555 0198", "ticket 4242", "order 0198 ready"]),
        ),
        min_size=1,
        max_size=12,
    ),
    typed=st.one_of(
        st.sampled_from(["0198", "555-0198", "(555) 0198", "4242", "ticket 0198", "order 555", "9195"]),
        st.from_regex(r"\(?[0-9]{1,3}\)?[ .\-]?[0-9]{1,4}\*?", fullmatch=True),
    ),
)
def test_the_store_answers_the_rule_as_written(
    any_store: _Kind, rows: list[tuple[list[str], str]], typed: str
) -> None:
    """Both stores: the local history, and the team view of the team database (search parity)."""
    store: Any = any_store.store
    any_store.reset()  # type: ignore[operator]
    for to, text in rows:
        add(store, *to, text=text)
    if hasattr(store, "flush"):
        assert store.flush(30)  # every row in the team database (the view would show waiting rows anyway)
    everything = store.search(HistoryQuery(), limit=100)
    assert len(everything) == len(rows)
    expected = [r.id for r in everything if matches(r, typed)]
    query = HistoryQuery.from_text(typed, "US")
    if query.number is not None:  # a complete number: exactly that recipient
        expected = [r.id for r in everything if query.number in r.to]
    assert ids(store, query) == expected
    assert store.count(query) == len(expected)


# --- SQLite without the trigram tokenizer ------------------------------------------------------------------


def test_an_sqlite_without_trigrams_fails_clearly(monkeypatch: pytest.MonkeyPatch, profile: Path) -> None:
    real_connect = sqlite3.connect

    class NoTrigrams:
        def __init__(self) -> None:
            self.conn = real_connect(":memory:")

        def execute(self, sql: str) -> sqlite3.Cursor:
            if "trigram" in sql:
                raise sqlite3.OperationalError("parse error in tokenize directive")
            return self.conn.execute(sql)

        def close(self) -> None:
            self.conn.close()

    monkeypatch.setattr(schema.sqlite3, "connect", lambda *a, **k: NoTrigrams())
    with pytest.raises(HistoryError, match=r"needs SQLite 3\.34 or newer"):
        SqliteHistoryStore.open(history_file(profile))


def test_recipients_are_stored_as_the_digits_index_expects(store: SqliteHistoryStore, profile: Path) -> None:
    """instr() on the stored JSON is exact only while it holds nothing but quoted E.164 numbers."""
    add(store, "+19195550198", "+13125550111")
    conn = sqlite3.connect(history_file(profile))
    (stored,) = conn.execute("SELECT recipients FROM history").fetchone()
    conn.close()
    assert json.loads(stored) == ["+19195550198", "+13125550111"]
    assert re.fullmatch(r'\["\+\d+"(, "\+\d+")*\]', stored)
