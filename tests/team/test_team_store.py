"""The team store on a real PostgreSQL: writes to the journal, copies by the outbox, reads the team view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from teamdesk import add, admin, desk, open_desk, team_rows

from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.uids import is_team_key
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.team.state import Connection

ALICE, BOB = "+19195550123", "+13125550198"


def accepted(message_id: str) -> SendResult:
    return SendResult(SendState.ACCEPTED, http_status=202, message_id=message_id, segments=1)


def test_a_send_is_recorded_here_first_then_copied_with_every_change(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    with desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as store:
        row_id = add(store, ALICE, text="Your technician is on the way", tag="TICKET-4242")
        assert not is_team_key(row_id) and store.journal.get(row_id) is not None
        assert store.flush(10)
        assert team_rows(pg_server, team_database) == [(row_id, "Ana Lima", "sending", 1)]
        store.settle(row_id, accepted("m-1"))
        store.update_delivery(row_id, "DELIVERED", None)
        assert store.flush(10)
        assert team_rows(pg_server, team_database, "local_id, state, delivery_status, revision, status") == [
            (row_id, "accepted", "DELIVERED", 3, "delivered")
        ]
        assert store.state().online and store.state().waiting == 0 and store.state().summary() == ""
        [row] = store.search(HistoryQuery(text="technician"))
        assert is_team_key(row.id) and row.local_id == row_id and row.own
        assert (row.agent, row.desk, row.state) == ("Ana Lima", store.desk_id, SendState.ACCEPTED)
        assert row.to_json()["id"] == row_id and row.to_json()["agent"] == "Ana Lima"
        assert store.get(row.id) == row
        desks = admin(pg_server, team_database, "SELECT desk_id::text, agent FROM bwdesk.desks")
        assert desks == [(store.desk_id, "Ana Lima")]


def test_two_desks_see_each_others_messages_and_change_only_their_own(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
    ):
        a = add(ana, ALICE, text="from ana")
        b = add(ben, BOB, text="from ben")
        assert ana.flush(10) and ben.flush(10)
        rows = ana.search(HistoryQuery())
        assert [(r.text, r.agent, r.own) for r in rows] == [
            ("from ben", "Ben Ode", False),
            ("from ana", "Ana Lima", True),
        ]
        assert [r.local_id for r in rows] == [b, a]
        assert [r.text for r in ana.search(HistoryQuery(agent="Ben Ode"))] == ["from ben"]
        assert [r.text for r in ben.search(HistoryQuery(agent=ben.agent))] == ["from ben"]
        assert [r.text for r in ana.search(HistoryQuery(this_desk=True))] == ["from ana"]
        assert ana.count(HistoryQuery()) == 2 and ana.count(HistoryQuery(text="ben")) == 1
        assert ana.agents() == ["Ana Lima", "Ben Ode"]
        other = rows[0]
        from bwdesk.core.team.store import NotThisDesk

        with pytest.raises(NotThisDesk):
            ana.update_delivery(other.id, "DELIVERED", None)
        assert [r.id for r in ana.rows_to_refresh()] == []  # nothing accepted yet, and never Ben's
        ben.settle(b, accepted("m-b"))
        assert ben.flush(10)
        assert ana.get(other.id).state is SendState.ACCEPTED  # type: ignore[union-attr]
        assert ana.known_message_ids(["m-b", "m-x"]) == {"m-b"}
        # paging by team keys: every row once, newest first
        first = ana.search(HistoryQuery(), limit=1)
        second = ana.search(HistoryQuery(), limit=1, before_id=first[0].id)
        assert [r.text for r in first + second] == ["from ben", "from ana"]


def test_offline_the_desk_sends_on_reads_its_own_rows_and_catches_up_in_order(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
    ):
        add(ben, BOB, text="from ben")
        first = add(ana, ALICE, text="before")
        assert ana.flush(10) and ben.flush(10)
        pg_server.stop()
        written = [add(ana, ALICE, text=f"offline {i}") for i in range(5)]
        ana.settle(written[0], accepted("m-0"))
        page = ana.search_page(HistoryQuery())
        assert not page.from_team and page.problem and "Team history" in page.problem
        assert [r.text for r in page.rows] == [f"offline {i}" for i in reversed(range(5))] + ["before"]
        assert all(is_team_key(r.id) and r.own for r in page.rows)
        assert ana.search(HistoryQuery(agent="Ben Ode")) == []
        state = ana.state()
        assert state.connection is Connection.OFFLINE and state.waiting == 5
        assert state.summary() == "team history offline — 5 waiting"
        pg_server.start()
        assert ana.flush(30, through_offline=True)
        rows = team_rows(pg_server, team_database, "local_id, text, state, revision")
        assert [r[:2] for r in rows if r[0] != 1 or r[1] != "from ben"] == [(first, "before")] + [
            (row_id, f"offline {i}") for i, row_id in enumerate(written)
        ]
        assert rows[-5][2:] == ("accepted", 2)
        assert ana.state().online


def test_waiting_rows_show_as_they_are_here(pg_server: Any, team_database: str, tmp_path: Path) -> None:
    """Rows not yet copied (the copier is not running here) are in the team view at once, and a row changed
    since its copy shows its newer state, also under a status filter."""
    from bwdesk.core.status_words import StatusFilter

    with desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana:
        copied = add(ana, ALICE, text="copied")
        assert ana.flush(10)
    store = open_desk(pg_server, team_database, tmp_path / "ana", "Ana Lima", start=False)
    try:
        store.settle(copied, accepted("m-1"))
        store.update_delivery(copied, "DELIVERED", None)
        new = add(store, BOB, text="new")
        assert [(r.local_id, r.state) for r in store.search(HistoryQuery())] == [
            (new, SendState.SENDING),
            (copied, SendState.ACCEPTED),
        ]
        waiting = store.search(HistoryQuery(status=StatusFilter.WAITING))
        assert [r.local_id for r in waiting] == [new]  # the team's copy of `copied` still says sending
        delivered = store.search(HistoryQuery(status=StatusFilter.DELIVERED))
        assert [r.local_id for r in delivered] == [copied]
        assert team_rows(pg_server, team_database, "state") == [("sending",)]
    finally:
        store.close()


def test_another_desks_unfinished_send_shows_its_age_then_unknown_once_that_desk_is_silent(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    from bwdesk.core.status_words import (
        StatusFilter,
        Tone,
        status_details,
        status_filter_of,
        status_label,
        status_tone,
    )

    with desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben:
        add(ben, BOB, text="in flight")
        assert ben.flush(10)
        ben_desk = ben.desk_id
    with desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana:  # Ben's desk has stopped
        [row] = ana.search(HistoryQuery())
        assert row.state is SendState.SENDING and not row.own and row.desk_silent_since is None
        assert status_label(row).startswith("sending · ") and status_filter_of(row) is StatusFilter.WAITING
        assert "from Ben Ode's desk" in status_details(row)
        assert [r.text for r in ana.search(HistoryQuery(status=StatusFilter.WAITING))] == ["in flight"]
        # Ben's desk has been silent for 10 minutes: the row reads unknown, and filters so, for Ana.
        admin(
            pg_server,
            team_database,
            "UPDATE bwdesk.desks SET last_heartbeat = now() - interval '10 minutes' WHERE desk_id = %s",
            (ben_desk,),
        )
        [row] = ana.search(HistoryQuery())
        assert row.desk_silent_since is not None
        assert status_label(row).startswith("unknown — desk offline since ")
        assert status_filter_of(row) is StatusFilter.UNKNOWN and status_tone(row) is Tone.WARNING
        assert "settles it when it starts again" in status_details(row)
        assert [r.text for r in ana.search(HistoryQuery(status=StatusFilter.UNKNOWN))] == ["in flight"]
        assert ana.search(HistoryQuery(status=StatusFilter.WAITING)) == []
        assert ana.count(HistoryQuery(status=StatusFilter.UNKNOWN)) == 1
    # Its own desk still sees its own row as sending (and settles it when it starts, as without a team).
    ben = open_desk(pg_server, team_database, tmp_path / "ben", "Ben Ode", start=False)
    try:
        [own] = ben.search(HistoryQuery())
        assert own.own and own.desk_silent_since is None and status_label(own) == "sending"
    finally:
        ben.close()


def test_the_team_duplicate_guard_names_who_sent_it_and_says_when_the_team_was_not_asked(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    from bwdesk.core import sending
    from bwdesk.core.message import Draft

    def planned(text: str) -> list[sending.PlannedPost]:
        draft = Draft(sender="+19195550100", recipients=(ALICE,), text=text, region="US")
        return sending.plan(draft, "app-1")

    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
    ):
        row_id = ana.record_sending("+19195550100", [ALICE], "separate", "Your order shipped", [], "", 1)
        ana.settle(row_id, accepted("m-1"))
        assert ana.flush(10)
        found = sending.find_possible_duplicates(ben, planned("Your order shipped"))
        assert [(d.recipient, d.row.agent, d.row.own) for d in found] == [(ALICE, "Ana Lima", False)]
        assert found.team_problem is None and found.team_not_asked == ""
        assert sending.sent_at(found).endswith(" by Ana Lima")
        assert sending.find_possible_duplicates(ben, planned("Something else")) == []
        # The team cannot answer: this desk's own history is checked, and the result says so.
        pg_server.stop()
        mine = ben.record_sending("+19195550100", [ALICE], "separate", "Offline again", [], "", 1)
        ben.settle(mine, accepted("m-2"))
        offline = sending.find_possible_duplicates(ben, planned("Offline again"))
        assert [(d.recipient, d.row.own) for d in offline] == [(ALICE, True)]
        assert (
            offline.team_problem is not None
            and "only this desk's messages were checked" in offline.team_not_asked
        )
        assert sending.find_possible_duplicates(ben, planned("Your order shipped")) == []


def test_the_duplicate_guard_does_not_wait_for_a_team_database_that_never_answers(tmp_path: Path) -> None:
    """A server that takes the connection and says nothing (a network dropping packets): the guard gives up
    after its short timeout and checks this desk alone; the send is never held up longer than that."""
    import socket

    from bwdesk.core import sending
    from bwdesk.core.history.sqlite_store import SqliteHistoryStore
    from bwdesk.core.message import Draft
    from bwdesk.core.team.config import TeamConfig, TeamPassword
    from bwdesk.core.team.store import TeamHistoryStore
    from bwdesk.core.team.url import parse_history_url

    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = parse_history_url(f"postgresql://agent@127.0.0.1:{silent.getsockname()[1]}/team")
        journal = SqliteHistoryStore.open(tmp_path / "history.sqlite3")
        journal.enable_outbox(url.where)
        store = TeamHistoryStore(
            journal, TeamConfig(url, "test", "Ana Lima", "6f1c1b8e-6a53-4c2e-9a55-0f6f2d8a1b01"),
            TeamPassword("pw", "test"), guard_timeout=0.3, flush_on_close=0,
        )  # fmt: skip
        try:
            row_id = store.record_sending("+19195550100", [ALICE], "separate", "same again", [], "", 1)
            store.settle(row_id, accepted("m-1"))
            draft = Draft(sender="+19195550100", recipients=(ALICE,), text="same again", region="US")
            found = sending.find_possible_duplicates(store, sending.plan(draft, "app-1"))
            assert [d.row.local_id for d in found] == [row_id]
            assert found.team_problem == "Team history: the team database did not answer within 0.3 seconds."
        finally:
            store.close()


def test_export_writes_the_team_view_with_who_sent_each_row(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    import csv

    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
    ):
        add(ana, ALICE, text="from ana")
        add(ben, BOB, text="from ben")
        assert ana.flush(10) and ben.flush(10)
        target = tmp_path / "team.csv"
        assert ana.export_csv(target, HistoryQuery()) == 2
    rows = list(csv.DictReader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["id"], r["text"], r["agent"], r["desk"]) for r in rows] == [
        ("1", "from ben", "Ben Ode", ben.desk_id),
        ("1", "from ana", "Ana Lima", ana.desk_id),
    ]
