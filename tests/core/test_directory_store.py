"""The directory in a real SQLite history file: the do-not-text list and its history, contacts, templates,
its own schema version beside the history's, and who and when on every change."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bwdesk.core.directory.optout import Action, Reason
from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
from bwdesk.core.directory.store import (
    DirectoryError,
    NewOptOut,
    NotListed,
    ReasonRequired,
    ScopeNotKept,
    TemplateExists,
)
from bwdesk.core.directory.template_book import Scope, Template
from bwdesk.core.history.schema import SCHEMA_MAJOR, SCHEMA_MINOR
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.history.store import HistoryError

NOW = datetime(2026, 11, 27, 10, 15, 2, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(tmp_path: Path, clock: Clock) -> Iterator[SqliteDirectoryStore]:
    store = SqliteDirectoryStore.open(tmp_path / "history.sqlite3", "Ann Lee", clock=clock)
    yield store
    store.close()


def test_a_new_file_becomes_a_history_with_the_directory_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with SqliteDirectoryStore.open(path, "Ann Lee") as directory:
        assert directory.schema_version == (1, 0)
    history = SqliteHistoryStore.open(path)  # the history's own schema is untouched and usable
    try:
        row = history.record_sending("+19195550100", ["+19195550123"], "separate", text="hi")
        assert history.get(row) is not None and history.schema_version == (SCHEMA_MAJOR, SCHEMA_MINOR)
    finally:
        history.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM directory_schema WHERE key = 'version'").fetchone() == ("1.0",)
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_an_existing_history_keeps_its_rows(tmp_path: Path, store: SqliteHistoryStore) -> None:
    row = store.record_sending("+19195550100", ["+19195550123"], "separate", text="kept")
    with SqliteDirectoryStore.open(store.path, "Ann") as directory:
        directory.add_opt_out("+19195550123", Reason.BY_HAND)
    found = store.search(HistoryQuery(text="kept"))
    assert [r.id for r in found] == [row]


def test_a_newer_directory_schema_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    SqliteDirectoryStore.open(path, "Ann").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE directory_schema SET value = '2.0' WHERE key = 'version'")
    with pytest.raises(DirectoryError, match=r"newer bwdesk \(directory schema 2\.0\).*Update bwdesk"):
        SqliteDirectoryStore.open(path, "Ann")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE directory_schema SET value = '1.7' WHERE key = 'version'")
    with SqliteDirectoryStore.open(path, "Ann") as directory:  # a newer minor opens as it is
        assert directory.schema_version == (1, 7)


def test_a_file_that_is_not_a_history_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE foreign_table (x)")
    with pytest.raises(HistoryError, match="is not a bwdesk history"):
        SqliteDirectoryStore.open(path, "Ann")


# --- the do-not-text list ------------------------------------------------------------------------------------


def test_added_numbers_are_found_with_why_when_and_by_whom(directory: SqliteDirectoryStore) -> None:
    entry, added = directory.add_opt_out("+19195550198", Reason.OPTED_OUT, code=4775, note="delivery status")
    assert added
    assert (entry.number, entry.reason, entry.code, entry.since, entry.by) == (
        "+19195550198", Reason.OPTED_OUT, 4775, "2026-11-27T10:15:02Z", "Ann Lee",
    )  # fmt: skip
    found = directory.opted_out(["+19195550123", "+19195550198", "+19195550198"])
    assert list(found) == ["+19195550198"] and found["+19195550198"] == entry
    assert entry.to_json() == {
        "number": "+19195550198", "reason": "opted-out", "code": 4775, "since": "2026-11-27T10:15:02Z",
        "by": "Ann Lee", "note": "delivery status",
    }  # fmt: skip
    assert "opted out (replied STOP, error 4775) since" in entry.describe()


def test_adding_a_listed_number_again_changes_nothing(directory: SqliteDirectoryStore, clock: Clock) -> None:
    first, _ = directory.add_opt_out("+19195550198", Reason.OPTED_OUT, code=4775)
    clock.now = NOW.replace(hour=12)
    again, added = directory.add_opt_out("+19195550198", Reason.BY_HAND, note="customer called")
    assert not added and again == first
    assert len(directory.opt_out_history("+19195550198")) == 1


def test_a_removal_needs_a_reason_and_is_kept_in_the_history(
    directory: SqliteDirectoryStore, clock: Clock
) -> None:
    directory.add_opt_out("+19195550198", Reason.OPTED_OUT, code=4775)
    with pytest.raises(ReasonRequired):
        directory.remove_opt_out("+19195550198", "   ")
    assert directory.opted_out(["+19195550198"])  # still listed
    clock.now = NOW.replace(day=28)
    removed = directory.remove_opt_out("+19195550198", "customer texted START on 28 Nov")
    assert removed.code == 4775
    assert directory.opted_out(["+19195550198"]) == {}
    history = directory.opt_out_history("+19195550198")
    assert [(e.action, e.note, e.at, e.by) for e in history] == [
        (Action.REMOVED, "customer texted START on 28 Nov", "2026-11-28T10:15:02Z", "Ann Lee"),
        (Action.ADDED, "", "2026-11-27T10:15:02Z", "Ann Lee"),
    ]
    with pytest.raises(NotListed):
        directory.remove_opt_out("+19195550198", "again")
    # Kept in the file, not only in this process: the events table refuses a removal without a reason too.
    with sqlite3.connect(directory.path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO optout_events (number, action, note, at, by) VALUES ('+1', 'removed', '', 'x', 'y')"
        )


def test_bulk_adds_count_only_new_numbers_and_pages_by_number(directory: SqliteDirectoryStore) -> None:
    directory.add_opt_out("+19195550105", Reason.BY_HAND)
    entries = [NewOptOut(f"+1919555{n:04d}", Reason.IMPORTED, note="file") for n in range(100, 112)]
    assert directory.add_opt_outs([*entries, entries[0]]) == 11
    first = directory.opt_outs(limit=5)
    assert [e.number for e in first] == [f"+1919555{n:04d}" for n in range(100, 105)]
    rest = directory.opt_outs(after=first[-1].number, limit=100)
    assert len(rest) == 7 and rest[0].reason is Reason.BY_HAND  # the earlier entry kept its reason
    assert [e.number for e in directory.opt_outs(digits="0111")] == ["+19195550111"]


# --- contacts --------------------------------------------------------------------------------------------------


def test_contacts_are_saved_replaced_stamped_and_removed(
    directory: SqliteDirectoryStore, clock: Clock
) -> None:
    directory.save_contact("+19195550123", "Ann Lee", {"first_name": "Ann", "company": "Acme"})
    clock.now = NOW.replace(hour=11)
    saved = directory.save_contact("+19195550123", "Ann Lee-Roe", {"first_name": "Ann"})
    found = directory.contacts_for(["+19195550123", "+19195550124"])
    assert found == {"+19195550123": saved}
    assert (saved.fields, saved.updated, saved.by) == (
        {"first_name": "Ann"},
        "2026-11-27T11:15:02Z",
        "Ann Lee",
    )
    assert directory.remove_contact("+19195550123") and not directory.remove_contact("+19195550123")
    assert directory.contacts() == []


# --- templates -------------------------------------------------------------------------------------------------


def test_personal_templates_are_kept_and_other_scopes_refused(directory: SqliteDirectoryStore) -> None:
    saved = directory.save_template(
        Template("On the way", "Hi {first_name|there}", tag="T", media=("https://a.example/x.png",))
    )
    assert (saved.scope, saved.by, saved.updated) == (Scope.PERSONAL, "Ann Lee", "2026-11-27T10:15:02Z")
    assert directory.templates() == [saved]
    with pytest.raises(TemplateExists):
        directory.save_template(Template("on the  WAY", "other"))
    directory.save_template(Template("on the  WAY", "other"), replace=True)
    assert [(t.name, t.text) for t in directory.templates()] == [("on the WAY", "other")]
    with pytest.raises(ScopeNotKept, match="Team templates are kept in the team history"):
        directory.save_template(Template("Team one", "x", scope=Scope.TEAM))
    with pytest.raises(ScopeNotKept, match="administrator"):
        directory.remove_template("On the way", Scope.LOCKED)
    assert directory.remove_template("ON THE WAY", Scope.PERSONAL)
    assert directory.templates() == []


def test_two_processes_worth_of_writers_do_not_lose_changes(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    SqliteDirectoryStore.open(path, "setup").close()
    stores = [SqliteDirectoryStore.open(path, f"desk {i}") for i in range(2)]
    try:

        def add(store: SqliteDirectoryStore, offset: int) -> None:
            for n in range(50):
                store.add_opt_out(f"+1919555{offset + n:04d}", Reason.BY_HAND)

        threads = [threading.Thread(target=add, args=(s, 100 * i)) for i, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(stores[0].opt_outs(limit=1000)) == 100
        assert {e.by for e in stores[1].opt_outs(limit=1000)} == {"desk 0", "desk 1"}
    finally:
        for store in stores:
            store.close()
