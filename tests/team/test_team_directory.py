"""The directory in the team database on a real PostgreSQL (docs/design.md §17.9): one do-not-text list for every
desk, kept by its events; removals with their reason kept; this desk's copy standing in while the team is away,
and numbers added meanwhile reaching the team later, once; team templates and contacts shared, removed by marking;
what the app's role may not do."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pgserver import AGENT_USER
from teamdesk import admin, team_url

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
from bwdesk.core.paths import history_file
from bwdesk.core.team.config import TeamConfig, TeamPassword
from bwdesk.core.team.directory import TeamDirectoryStore, TeamDirectoryUnavailable, open_team_directory
from bwdesk.core.team.directory_cache import DirectoryCache, cache_path
from bwdesk.core.team.identity import desk_id
from bwdesk.core.team.state import TeamLink
from bwdesk.core.team.url import parse_history_url

ANN = "+19195550123"
BOB = "+19195550124"
CAL = "+19195550125"


def open_directory(pg_server: Any, db: str, profile: Path, agent: str, **options: Any) -> TeamDirectoryStore:
    """A desk's team directory over its own local file, with short waits (a stopped server is retried soon)."""
    profile.mkdir(parents=True, exist_ok=True)
    local = SqliteDirectoryStore.open(history_file(profile), agent)
    config = TeamConfig(parse_history_url(team_url(pg_server, db)), "test", agent, desk_id(profile))
    settings: dict[str, Any] = {"link": TeamLink(wait_scale=0.05), "poll": 0.05, "refresh_every": 3600.0}
    settings.update(options)
    return open_team_directory(
        local,
        config,
        TeamPassword(pg_server.agent_password, "test"),
        DirectoryCache(cache_path(profile)),
        **settings,
    )


@pytest.fixture
def desks(pg_server: Any, team_database: str, tmp_path: Path) -> Iterator[Any]:
    opened: list[TeamDirectoryStore] = []

    def make(name: str, agent: str, **options: Any) -> TeamDirectoryStore:
        store = open_directory(pg_server, team_database, tmp_path / name, agent, **options)
        opened.append(store)
        return store

    yield make
    pg_server.start()
    for store in opened:
        store.close()


def events(pg_server: Any, db: str) -> list[tuple[Any, ...]]:
    return admin(
        pg_server, db, "SELECT number, action, reason, note, agent FROM bwdesk.optout_events ORDER BY id"
    )


def test_one_desks_opt_out_is_every_desks(desks: Any, pg_server: Any, team_database: str) -> None:
    ana, ben = desks("ana", "Ana Lima"), desks("ben", "Ben Ode")
    entry, added = ana.add_opt_out(ANN, Reason.OPTED_OUT, code=4775, note="delivery status FAILED 4775")
    assert added and (entry.by, entry.code) == ("Ana Lima", 4775)
    found = ben.opted_out([ANN, BOB])
    assert list(found) == [ANN]
    assert (found[ANN].reason, found[ANN].by, found[ANN].since) == (Reason.OPTED_OUT, "Ana Lima", entry.since)
    assert ben.check_note == ""
    # Adding it again (from any desk) changes nothing, and nothing more is kept.
    again, added = ben.add_opt_out(ANN, Reason.BY_HAND, note="twice")
    assert not added and (again.reason, again.by) == (Reason.OPTED_OUT, "Ana Lima")
    assert events(pg_server, team_database) == [
        (ANN, "added", "opted-out", "delivery status FAILED 4775", "Ana Lima")
    ]


def test_a_removal_needs_a_reason_and_both_changes_stay(
    desks: Any, pg_server: Any, team_database: str
) -> None:
    ana, ben = desks("ana", "Ana Lima"), desks("ben", "Ben Ode")
    ana.add_opt_out(ANN, Reason.BY_HAND, note="asked on the phone")
    with pytest.raises(ReasonRequired):
        ben.remove_opt_out(ANN, "   ")
    assert ana.opted_out([ANN])
    removed = ben.remove_opt_out(ANN, "customer texted  START on 3 March")
    assert (removed.number, removed.by) == (ANN, "Ana Lima")
    assert ana.opted_out([ANN]) == {}
    with pytest.raises(NotListed):
        ana.remove_opt_out(ANN, "again")
    history = ana.opt_out_history(ANN)
    assert [(e.action, e.note, e.by) for e in history] == [
        (Action.REMOVED, "customer texted START on 3 March", "Ben Ode"),
        (Action.ADDED, "asked on the phone", "Ana Lima"),
    ]
    assert len(events(pg_server, team_database)) == 2
    assert admin(pg_server, team_database, "SELECT count(*) FROM bwdesk.optouts") == [(0,)]


def test_the_app_role_cannot_delete_or_rewrite_the_lists_history(
    desks: Any, pg_server: Any, team_database: str
) -> None:
    desks("ana", "Ana Lima").add_opt_out(ANN, Reason.BY_HAND)
    desk = str(uuid.uuid4())
    with pg_server.connect(team_database, user=AGENT_USER) as conn:
        conn.autocommit = True
        for statement in (
            "DELETE FROM bwdesk.optout_events",
            "UPDATE bwdesk.optout_events SET note = 'changed'",
            "DELETE FROM bwdesk.optouts",  # off the list without a removal (and its reason) in the history
            "UPDATE bwdesk.optouts SET reason = 'imported'",
            f"INSERT INTO bwdesk.optouts VALUES ('{BOB}', 'by-hand', NULL, '', now(), 'x', 1)",
            "DELETE FROM bwdesk.contacts",
            "DELETE FROM bwdesk.templates",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # A removal without a reason is refused by the database itself, whoever writes it.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO bwdesk.optout_events (event_uid, number, action, note, at, agent, desk_id) "
                "VALUES (gen_random_uuid(), %s, 'removed', ' ', now(), 'x', %s)",
                (ANN, desk),
            )
    assert admin(pg_server, team_database, "SELECT number FROM bwdesk.optouts") == [(ANN,)]
    assert len(events(pg_server, team_database)) == 1


def test_an_import_adds_each_number_once(desks: Any, pg_server: Any, team_database: str) -> None:
    ana, ben = desks("ana", "Ana Lima"), desks("ben", "Ben Ode")
    ana.add_opt_out(ANN, Reason.BY_HAND)
    added = ben.add_opt_outs(
        [
            NewOptOut(ANN, Reason.IMPORTED),
            NewOptOut(BOB, Reason.IMPORTED, 4775, "from the old tool"),
            NewOptOut(BOB, Reason.IMPORTED),
        ]
    )
    assert added == 1
    assert [(e.number, e.reason, e.note) for e in ana.opt_outs()] == [
        (ANN, Reason.BY_HAND, ""),
        (BOB, Reason.IMPORTED, "from the old tool"),
    ]
    assert [e.number for e in ana.opt_outs(after=ANN)] == [BOB]
    assert [e.number for e in ana.opt_outs(digits="0124")] == [BOB]


def test_offline_the_check_uses_this_desks_copy_and_says_so(desks: Any, pg_server: Any) -> None:
    ana, ben = desks("ana", "Ana Lima"), desks("ben", "Ben Ode")
    ana.add_opt_out(ANN, Reason.OPTED_OUT, code=4775)
    ana.add_opt_out(CAL, Reason.BY_HAND)
    ben.refresh_copy()  # the first refresh: the whole list
    ana.remove_opt_out(CAL, "texted START")
    ana.add_opt_out(BOB, Reason.BLOCKLISTED, code=4482)
    ben.refresh_copy()  # then the events since
    pg_server.stop()
    found = ben.opted_out([ANN, BOB, CAL])
    assert {n: e.reason for n, e in found.items()} == {ANN: Reason.OPTED_OUT, BOB: Reason.BLOCKLISTED}
    assert ben.check_note.startswith("Checked against this desk's copy of the team's do-not-text list from ")


def test_offline_without_a_recent_copy_nothing_can_be_checked(desks: Any, pg_server: Any) -> None:
    pg_server.stop()  # before the desks open: their first refresh cannot happen
    never = desks("ana", "Ana Lima")
    stale = desks("ben", "Ben Ode", max_copy_age=timedelta(hours=24))
    stale.cache.set_meta("horizon", "1")
    stale.cache.set_meta("refreshed", "2000-01-01T00:00:00Z")
    with pytest.raises(DirectoryError) as caught:
        never.opted_out([ANN])
    assert "The team's do-not-text list cannot be checked:" in str(caught.value)
    assert "this desk has no copy of the team's list yet" in str(caught.value)
    assert "Nothing is sent until the team database can be reached again" in str(caught.value)
    with pytest.raises(
        DirectoryError, match="copy of the team's list is from 2000-01-01T00:00:00Z, older than 24 hours"
    ):
        stale.opted_out([ANN])


def test_numbers_added_offline_block_here_at_once_and_reach_the_team_once(
    desks: Any, pg_server: Any, team_database: str
) -> None:
    ana = desks("ana", "Ana Lima")
    ana.refresh_copy()
    pg_server.stop()
    entry, added = ana.add_opt_out(ANN, Reason.OPTED_OUT, code=4775, note="delivery status FAILED 4775")
    assert added and ana.cache.waiting() == 1
    assert ana.opted_out([ANN]) == {ANN: entry}  # blocked on this desk already
    assert ana.add_opt_out(ANN, Reason.BY_HAND) == (entry, False)
    assert ana.add_opt_outs([NewOptOut(BOB, Reason.IMPORTED), NewOptOut(ANN, Reason.IMPORTED)]) == 1
    with pytest.raises(TeamDirectoryUnavailable, match="only while the team database can be reached"):
        ana.remove_opt_out(ANN, "texted START")
    pg_server.start()
    assert ana.flush(20, through_offline=True)
    assert ana.cache.waiting() == 0
    ben = desks("ben", "Ben Ode")
    assert {n: e.by for n, e in ben.opted_out([ANN, BOB]).items()} == {ANN: "Ana Lima", BOB: "Ana Lima"}
    [(since,)] = admin(pg_server, team_database, "SELECT since FROM bwdesk.optouts WHERE number = %s", (ANN,))
    assert since.strftime("%Y-%m-%dT%H:%M:%SZ") == entry.since  # when it happened, not when it arrived
    # An outbox entry sent again (a crash between the team's commit and the local removal) is stored once.
    ana.cache.queue([entry])
    [pending] = ana.cache.pending()
    with pg_server.connect(team_database, user=AGENT_USER) as conn:
        conn.autocommit = True
        uid = conn.execute("SELECT event_uid FROM bwdesk.optout_events WHERE number = %s", (ANN,)).fetchone()
    assert uid is not None
    with contextlib.closing(ana.cache._conn.cursor()) as cur:
        cur.execute("UPDATE pending SET event_uid = ? WHERE seq = ?", (str(uid[0]), pending.seq))
    assert ana.flush(20, through_offline=True)
    assert len(events(pg_server, team_database)) == 2


def test_the_desks_own_list_goes_to_the_team_the_first_time(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    profile = tmp_path / "ana"
    profile.mkdir()
    with SqliteDirectoryStore.open(history_file(profile), "Ana Lima") as local:
        local.add_opt_out(ANN, Reason.BY_HAND, note="before the team")
    store = open_directory(pg_server, team_database, profile, "Ana Lima")
    try:
        assert store.flush(20)
        assert admin(pg_server, team_database, "SELECT number, note FROM bwdesk.optouts") == [
            (ANN, "before the team")
        ]
    finally:
        store.close()
    again = open_directory(pg_server, team_database, profile, "Ana Lima")
    try:
        assert again.cache.waiting() == 0  # once only
    finally:
        again.close()


def test_team_templates_are_shared_and_personal_ones_stay_here(
    desks: Any, pg_server: Any, team_database: str
) -> None:
    ana, ben = desks("ana", "Ana Lima"), desks("ben", "Ben Ode")
    assert ana.template_scopes == {Scope.PERSONAL, Scope.TEAM}
    saved = ana.save_template(
        Template(
            "Shipped", "Hi {first_name|there}, it shipped", "ship", ("https://x.test/a.png",), Scope.TEAM
        )
    )
    ana.save_template(Template("Mine", "Only mine", scope=Scope.PERSONAL))
    [team] = [t for t in ben.templates() if t.scope is Scope.TEAM]
    assert (team.name, team.text, team.tag, team.media, team.by) == (
        "Shipped",
        "Hi {first_name|there}, it shipped",
        "ship",
        ("https://x.test/a.png",),
        "Ana Lima",
    )
    assert team.updated == saved.updated
    assert [t.name for t in ana.templates()] == ["Mine", "Shipped"]
    assert [t.name for t in ben.templates()] == ["Shipped"]
    with pytest.raises(TemplateExists, match="already a team template called 'shipped'"):
        ben.save_template(Template("  shipped ", "other", scope=Scope.TEAM))
    ben.save_template(Template("shipped", "Replaced", scope=Scope.TEAM), replace=True)
    assert [t.text for t in ana.templates() if t.scope is Scope.TEAM] == ["Replaced"]
    assert ben.remove_template("SHIPPED", Scope.TEAM)
    assert not ben.remove_template("Shipped", Scope.TEAM)
    assert [t.name for t in ana.templates()] == ["Mine"]
    assert admin(pg_server, team_database, "SELECT name, removed, agent FROM bwdesk.templates") == [
        ("shipped", True, "Ben Ode")
    ]
    ana.save_template(Template("Shipped", "Back again", scope=Scope.TEAM))  # a removed name can be used again
    assert [t.text for t in ben.templates()] == ["Back again"]
    for scope in (Scope.LOCKED,):
        with pytest.raises(ScopeNotKept, match="locked by your administrator"):
            ana.save_template(Template("IT", "x", scope=scope))
        with pytest.raises(ScopeNotKept):
            ana.remove_template("IT", scope)


def test_contacts_are_shared_and_removed_by_marking(desks: Any, pg_server: Any, team_database: str) -> None:
    ana, ben = desks("ana", "Ana Lima"), desks("ben", "Ben Ode")
    ana.save_contact(ANN, "Ann Lee", {"first_name": "Ann", "ticket_url": "https://t.test/1"})
    assert (
        ben.save_contacts(
            [
                *(c for c in [ana.contacts_for([ANN])[ANN]]),
                type(ana.contacts_for([ANN])[ANN])(BOB, "Bob Ray", {"first_name": "Bob"}),
            ]
        )
        == 2
    )
    found = ana.contacts_for([ANN, BOB, CAL])
    assert {n: (c.name, dict(c.fields), c.by) for n, c in found.items()} == {
        ANN: ("Ann Lee", {"first_name": "Ann", "ticket_url": "https://t.test/1"}, "Ben Ode"),
        BOB: ("Bob Ray", {"first_name": "Bob"}, "Ben Ode"),
    }
    assert [c.number for c in ana.contacts(after=ANN)] == [BOB]
    assert ana.remove_contact(BOB) and not ana.remove_contact(BOB)
    assert list(ben.contacts_for([ANN, BOB])) == [ANN]
    assert admin(
        pg_server, team_database, "SELECT number, removed, agent FROM bwdesk.contacts ORDER BY 1"
    ) == [
        (ANN, False, "Ben Ode"),
        (BOB, True, "Ana Lima"),
    ]
    ben.save_contact(BOB, "Bob Ray", {})
    assert list(ana.contacts_for([BOB])) == [BOB]


def test_offline_templates_and_contacts_say_why_and_change_nothing(desks: Any, pg_server: Any) -> None:
    ana = desks("ana", "Ana Lima")
    pg_server.stop()
    with pytest.raises(TeamDirectoryUnavailable, match=r"^Could not read the team's templates: "):
        ana.templates()
    with pytest.raises(TeamDirectoryUnavailable, match=r"Nothing changed; try again later\."):
        ana.save_contact(ANN, "Ann Lee", {})
    ana.save_template(Template("Mine", "Personal ones work", scope=Scope.PERSONAL))
    assert [t.name for t in ana.local.templates()] == ["Mine"]
