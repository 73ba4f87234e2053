"""Choosing the store at start: the team store when a team history URL is set up, the local history (saying
why) when it cannot be used; never stopping the app; the window's services, and status refresh per desk."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pgserver import AGENT_USER
from teamdesk import add, admin, desk, team_rows, team_url

from bwdesk.core import secrets
from bwdesk.core.account import load_context
from bwdesk.core.delivery import StatusRefresher
from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.paths import history_file
from bwdesk.core.team.schema import MIGRATIONS, SCHEMA_VERSION, init_schema
from bwdesk.core.team.state import Connection
from bwdesk.core.team.store import TeamHistoryStore
from bwdesk.core.team.url import parse_history_url
from bwdesk.ui.services import open_services
from bwdesk.ui.team_status import banner_note

ALICE = "+19195550123"


@pytest.fixture
def configured(pg_server: Any, team_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This profile pointed at the team database, the password saved in the keyring as Settings saves it."""
    url = team_url(pg_server, team_database)
    monkeypatch.setenv("BWDESK_HISTORY_URL", url)
    monkeypatch.setenv("BWDESK_AGENT", "Ana Lima")
    secrets.default_store().save_team_password(parse_history_url(url).keyring_key, pg_server.agent_password)
    return url


def test_a_team_url_gives_the_team_store_and_rows_from_before_are_copied(
    pg_server: Any, team_database: str, configured: str, profile: Path
) -> None:
    with SqliteHistoryStore.open(history_file(profile)) as local:  # a desk that had no team until now
        before = add(local, ALICE, text="from before the team")
        local.settle(before, SendResult(SendState.ACCEPTED, http_status=202, message_id="m-0"))
    context = load_context()
    store = context.history()
    try:
        assert isinstance(store, TeamHistoryStore) and context.history_notice == ""
        assert store.agent == "Ana Lima"
        assert store.flush(10)
        assert team_rows(pg_server, team_database, "local_id, agent, text, state") == [
            (before, "Ana Lima", "from before the team", "accepted")
        ]
        assert store.wait_for_contact(5).online
    finally:
        store.close()


def test_a_url_that_cannot_be_used_leaves_the_local_history_and_says_why(
    monkeypatch: pytest.MonkeyPatch, profile: Path
) -> None:
    monkeypatch.setenv("BWDESK_HISTORY_URL", "postgresql://agent:Leaked-pw-2@db.example.com/team")
    context = load_context()
    store = context.history()
    try:
        assert isinstance(store, SqliteHistoryStore)
        assert "remove the password from the URL" in context.history_notice
        assert "Leaked-pw-2" not in context.history_notice
        assert "shows this computer's messages only" in context.history_notice
        add(store, ALICE)  # the history works as ever
    finally:
        store.close()
    services = open_services(load_context())
    try:
        assert "remove the password from the URL" in services.history_problem
        assert services.history is not None
    finally:
        services.close()


def test_the_sandbox_never_uses_the_team_history(configured: str, profile: Path) -> None:
    from bwdesk.sandbox import Sandbox
    from bwdesk.sandbox_profile import sandbox_context

    with Sandbox(status_step=0) as sandbox:
        context = sandbox_context(sandbox, profile / "sandbox")
        store = context.history()
        try:
            assert isinstance(store, SqliteHistoryStore)
        finally:
            store.close()


def test_a_database_bwdesk_cannot_use_never_stops_the_app(
    pg_server: Any, pg_database: str, monkeypatch: pytest.MonkeyPatch, profile: Path
) -> None:
    """An older schema: the app does not migrate it, says so, reads this desk's rows and keeps sending."""
    with pg_server.connect(pg_database) as conn:
        init_schema(conn, [AGENT_USER], MIGRATIONS[:1])
    url = team_url(pg_server, pg_database)
    monkeypatch.setenv("BWDESK_HISTORY_URL", url)
    monkeypatch.setenv("PGPASSWORD", pg_server.agent_password)
    services = open_services(load_context())
    try:
        store = services.history
        assert isinstance(store, TeamHistoryStore)
        assert services.history_problem == ""  # the history works; the team part is the window's banner
        note = banner_note(services.team_state)
        assert f"older than this bwdesk's {SCHEMA_VERSION}" in note and "bwdesk team init" in note
        assert "Sending works as usual" in note and "showing this desk's messages only" in note
        state = store.state()
        assert state.connection is Connection.UNUSABLE and state.problem_kind == "schema-older"
        row_id = add(store, ALICE, text="still sent")
        page = store.search_page(HistoryQuery())
        assert not page.from_team and [r.local_id for r in page.rows] == [row_id]
        assert store.state().waiting == 1
    finally:
        services.close()
    version = admin(pg_server, pg_database, "SELECT max(version) FROM bwdesk.schema_version")
    assert version == [(1,)]  # never migrated by the app


def test_the_window_completes_numbers_from_this_desk_only(
    pg_server: Any, team_database: str, configured: str, tmp_path: Path
) -> None:
    with desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben:
        add(ben, "+13125550198")
        assert ben.flush(10)
    services = open_services(load_context())
    try:
        assert services.history_problem == "" and banner_note(services.team_state) == ""
        assert services.team_state is not None and services.team_state.online
        add(services.history, ALICE)
        assert services.past_recipients == ()  # opened before that row; and never Ben's customers
    finally:
        services.close()


def test_each_desk_refreshes_its_own_rows_and_the_results_reach_everyone(
    pg_server: Any, team_database: str, tmp_path: Path, sandbox: Any, client: Any
) -> None:
    from bwdesk.core import sending
    from bwdesk.core.message import Draft

    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
    ):
        draft = Draft(sender=sandbox.numbers[0], recipients=(ALICE,), text="status please", region="US")
        [sent] = sending.send_draft(draft, sandbox.application_id, client, ana)
        assert sent.result.state is SendState.ACCEPTED
        assert ana.flush(10)
        [theirs] = ben.search(HistoryQuery())
        assert not theirs.own and ben.rows_to_refresh() == []
        report = StatusRefresher(client).refresh(ben, [theirs])  # Ben selected Ana's row: left to Ana
        assert (report.checked, report.other_desks) == (0, 1)
        assert "sent from other desks was left to those desks" in report.summary()
        with pytest.raises(BwdeskError, match="only that desk can check it"):
            StatusRefresher(client).check_unknown(ben, theirs)
        [mine] = ana.rows_to_refresh()
        report = StatusRefresher(client).refresh(ana)
        assert report.checked == 1 and report.changed == 1
        assert ana.flush(10)
        [seen] = ben.search(HistoryQuery())
        assert seen.delivery_status == "DELIVERED" and seen.local_id == mine.id
        assert ana.rows_to_refresh(min_interval=timedelta(0)) == []  # final: never asked again
