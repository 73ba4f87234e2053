"""The window on a team history: the table model pages the team view by team keys and merges a reload at the
top; two windows (two desks) on one database see each other's sends by name, live, and the second is asked
before repeating the first's; the agent filter; another desk's rows are left to it; the database stopped and
started again; quitting copies what waits without freezing the window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from teamdesk import add, desk, team_rows, team_url

from bwdesk.core.account import Account, Context
from bwdesk.core.api import Timeouts
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.uids import is_team_key
from bwdesk.core.outcome import SendState
from bwdesk.core.settings import FromNumber, LoadedSettings, Settings
from bwdesk.sandbox import Fault, FaultKind
from bwdesk.ui.feedback import Told
from bwdesk.ui.history.model import Column, HistoryModel
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 20_000


@pytest.fixture
def tasks(qapp: QApplication) -> Iterator[BackgroundTasks]:
    runner = BackgroundTasks(max_threads=2)
    yield runner
    runner.wait_for_threads(WAIT)


def test_the_table_pages_the_team_view_and_merges_new_rows_at_the_top(
    qtbot: Any, qtmodeltester: Any, tasks: BackgroundTasks, pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
    ):
        for i in range(30):
            add(ana if i % 3 else ben, f"+1919555{1000 + i:04d}", text=f"message {i}")
        assert ana.flush(20) and ben.flush(20)
        model = HistoryModel(tasks, ana, page_size=7, region="US")
        qtmodeltester.check(model)
        qtbot.waitUntil(lambda: model.exhausted and not model.loading, timeout=WAIT)
        rows = model.loaded_rows()
        assert [r.text for r in rows] == [f"message {i}" for i in reversed(range(30))]
        assert all(is_team_key(r.id) for r in rows) and len({r.id for r in rows}) == 30
        assert {r.agent for r in rows if not r.own} == {"Ben Ode"}
        # Ben sends; Ana's view reloads its top page (as after a send, or when `latest_change()` moved).
        add(ben, "+19195559999", text="new from ben")
        assert ben.flush(20)
        with qtbot.waitSignal(model.reloaded, timeout=WAIT):
            model.reload()
        assert model.loaded_rows()[0].text == "new from ben" and model.rowCount() == 31
        model.set_query(HistoryQuery(agent="Ben Ode"))
        qtbot.waitUntil(lambda: model.exhausted and not model.loading, timeout=WAIT)
        assert model.rowCount() == 11 and {r.agent for r in model.loaded_rows()} == {"Ben Ode"}


# --- the window on a team history: two desks (two profiles, two windows) on one database --------------------

CUSTOMER = "+19195550123"


def team_context(sandbox: Any, pg_server: Any, db: str, profile: Path, agent: str) -> Context:
    """A desk's context: the sandbox's account (as a real account: the sandbox never uses a team history),
    its own profile, and the team database in the environment (the password in libpq's PGPASSWORD)."""
    numbers = tuple(FromNumber(n, "Main") for n in sandbox.numbers)
    account = Account(
        api_base=sandbox.api_base,
        token_url=sandbox.token_url,
        account_id=sandbox.account_id,
        application_id=sandbox.application_id,
        credentials=BasicCredentials(sandbox.username, sandbox.password),
        from_numbers=numbers,
        default_from=numbers[0].number,
        region="US",
        timeouts=Timeouts(connect=2.0, read=30.0),
    )
    settings = Settings(
        account_id=account.account_id,
        application_id=account.application_id,
        from_numbers=numbers,
        default_from=account.default_from,
        region="US",
    )
    env = {
        "BWDESK_HISTORY_URL": team_url(pg_server, db),
        "BWDESK_AGENT": agent,
        "PGPASSWORD": pg_server.agent_password,
    }
    profile.mkdir(parents=True, exist_ok=True)
    return Context(profile, LoadedSettings(settings), env, None, fixed_account=account)


@pytest.fixture
def team_window(qtbot: Any, sandbox: Any, pg_server: Any, team_database: str, tmp_path: Path) -> Any:
    """`team_window(name, agent)`: a shown main window of a desk on the team database, its services open."""
    windows: list[MainWindow] = []

    def make(name: str, agent: str) -> MainWindow:
        context = team_context(sandbox, pg_server, team_database, tmp_path / name, agent)
        window = MainWindow(context, BackgroundTasks())
        qtbot.addWidget(window)
        window.session.auto_refresh_after = ()
        window.show()
        qtbot.waitUntil(lambda: window._ready and window.team_watch.state is not None, timeout=WAIT)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.tasks.wait_for_threads(WAIT)


def send(qtbot: Any, window: MainWindow, text: str, to: str = CUSTOMER) -> None:
    qtbot.keyClicks(window.composer.recipients.line_edit(), to + ",")
    window.composer.text_edit.setFocus()
    qtbot.keyClicks(window.composer.text_edit, text)
    window.session.send_draft()
    qtbot.waitUntil(lambda: not window.session.is_busy(), timeout=WAIT)


def shown(window: MainWindow) -> list[tuple[str, str]]:
    """The history table's rows as the agent reads them: (Agent cell, Text cell), top first."""
    model = window.history_view.model
    return [
        (model.index(r, Column.AGENT).data(), model.index(r, Column.TEXT).data())
        for r in range(model.rowCount())
    ]


def told(window: MainWindow) -> list[Told]:
    said: list[Told] = []
    window.feedback.told.connect(said.append)
    return said


def test_two_windows_show_each_others_sends_by_name_and_the_second_is_asked_before_repeating(
    qtbot: Any, team_window: Any, sandbox: Any
) -> None:
    ana = team_window("ana", "Ana Lima")
    ben = team_window("ben", "Ben Ode")
    ben_view = ben.history_view
    assert not ben_view.table.isColumnHidden(Column.AGENT) and ben_view.agent_filter.isVisible()
    qtbot.waitUntil(lambda: ben_view.agent_filter.findText("Ana Lima") >= 0, timeout=WAIT)
    assert [ben_view.agent_filter.itemText(i) for i in (0, 1)] == ["Everyone", "Mine"]

    send(qtbot, ana, "Your order shipped")
    # Ben's window shows it by itself (it looks for the team's changes every second or two), by name.
    qtbot.waitUntil(lambda: shown(ben) == [("Ana Lima", "Your order shipped")], timeout=WAIT)
    qtbot.waitUntil(lambda: shown(ana) == [("Ana Lima", "Your order shipped")], timeout=WAIT)
    tip = ben_view.model.index(0, Column.AGENT).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Sent by Ana Lima from another desk")

    # Ana's row in Ben's window: Ben's desk does not look up its status; sending it again is Ben's own send.
    ben_view.table.selectRow(0)
    assert not ben_view.refresh_action.isEnabled()
    assert "Sent by Ana Lima from another desk" in ben_view.refresh_action.toolTip()
    assert ben_view.resend_action.isEnabled() and ben_view.draft_action.isEnabled()
    ben_view.table.clearSelection()
    assert ben_view.refresh_action.isEnabled()  # nothing selected: Ben's own recent rows
    assert "Sent by" not in ben_view.refresh_action.toolTip()

    # The filter: mine (none of Ben's yet), one agent, everyone.
    ben_view.agent_filter.setCurrentIndex(ben_view.agent_filter.findText("Mine"))
    qtbot.waitUntil(lambda: not ben_view.model.loading, timeout=WAIT)
    assert shown(ben) == [] and ben_view.empty_text() == "No messages match these filters."
    ben_view.agent_filter.setCurrentIndex(ben_view.agent_filter.findText("Ana Lima"))
    qtbot.waitUntil(lambda: shown(ben) == [("Ana Lima", "Your order shipped")], timeout=WAIT)

    # Ben is about to send the same text to the same customer: asked first, naming Ana and when.
    questions: list[str] = []
    ben.feedback.ask = lambda title, text, accept: questions.append(text) or False  # Cancel
    send(qtbot, ben, "Your order shipped")
    [question] = questions
    assert "by Ana Lima" in question
    # Send again… on Ana's row: Ben's own new send, asked about naming Ana.
    ben_view.table.selectRow(0)
    ben_view.resend_action.trigger()
    qtbot.waitUntil(
        lambda: len(questions) == 2 and not ben.session.is_busy(), timeout=10_000
    )  # list checked first
    assert "was sent by Ana Lima to" in questions[1]
    posts = [r for r in sandbox.requests.all() if r.method == "POST" and r.path.endswith("/messages")]
    assert len(posts) == 1  # only Ana's

    # Later sends arrive too, while Ben's window stays open and untouched.
    ben_view.agent_filter.setCurrentIndex(ben_view.agent_filter.findText("Everyone"))
    qtbot.waitUntil(lambda: not ben_view.model.loading, timeout=WAIT)
    send(qtbot, ana, "Your technician is on the way", to="+19195550124")
    qtbot.waitUntil(
        lambda: (
            shown(ben) == [("Ana Lima", "Your technician is on the way"), ("Ana Lima", "Your order shipped")]
        ),
        timeout=WAIT,
    )

    # Ana's answer is lost: Ben cannot check her send; sending it again, he is told to ask her.
    sandbox.inject(Fault(FaultKind.DROP))
    send(qtbot, ana, "Parts arrived", to="+19195550125")
    qtbot.waitUntil(lambda: shown(ben)[0] == ("Ana Lima", "Parts arrived"), timeout=WAIT)
    qtbot.waitUntil(lambda: ben_view.model.row_at(0).state is SendState.UNKNOWN, timeout=WAIT)
    ben_view.table.selectRow(0)
    assert not ben_view.check_action.isEnabled() and "Sent by Ana Lima" in ben_view.check_action.toolTip()
    asked_before = len(questions)
    ben_view.resend_action.trigger()
    qtbot.waitUntil(lambda: len(questions) > asked_before and not ben.session.is_busy(), timeout=WAIT)
    assert "got no answer from Bandwidth" in questions[-1] and "ask Ana Lima" in questions[-1]
    assert (
        len([r for r in sandbox.requests.all() if r.method == "POST" and r.path.endswith("/messages")]) == 3
    )


def test_the_database_stopped_the_window_sends_on_says_offline_then_catches_up(
    qtbot: Any, team_window: Any, pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    ana = team_window("ana", "Ana Lima")
    said = told(ana)
    with desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben:
        add(ben, "+13125550198", text="from ben")
        assert ben.flush(WAIT / 1000)
    qtbot.waitUntil(lambda: ("Ben Ode", "from ben") in shown(ana), timeout=WAIT)
    assert not ana.team_label.isVisible() and not ana.banner.isVisible()

    pg_server.stop()
    send(qtbot, ana, "first while offline")
    # Nothing like it here, and the team could not be asked: no question, but the agent is told.
    assert any("only this desk's messages were checked" in t.text for t in said)
    send(qtbot, ana, "second while offline")
    qtbot.waitUntil(lambda: ana.team_label.text() == "team history offline — 2 waiting", timeout=WAIT)
    assert ana.team_label.isVisible()
    assert "showing this desk's messages only" in ana.banner.label.text() and ana.banner.isVisible()
    # Meanwhile the history is this desk's alone: its own rows, newest first; Ben's are not there.
    qtbot.waitUntil(
        lambda: shown(ana) == [("Ana Lima", "second while offline"), ("Ana Lima", "first while offline")],
        timeout=WAIT,
    )

    pg_server.start()
    qtbot.waitUntil(lambda: not ana.team_label.isVisible() and not ana.banner.isVisible(), timeout=60_000)
    qtbot.waitUntil(lambda: ("Ben Ode", "from ben") in shown(ana), timeout=WAIT)
    assert [text for _, text in shown(ana)] == ["second while offline", "first while offline", "from ben"]
    assert team_rows(pg_server, team_database, "agent, text, state") == [
        ("Ben Ode", "from ben", "sending"),
        ("Ana Lima", "first while offline", "accepted"),
        ("Ana Lima", "second while offline", "accepted"),
    ]


def test_quitting_copies_what_waits_on_a_worker_while_the_window_stays_live(
    qtbot: Any, team_window: Any, pg_server: Any, team_database: str
) -> None:
    ana = team_window("ana", "Ana Lima")
    said = told(ana)
    with pg_server.connect(team_database) as blocker:
        # IT's maintenance holds the table: reads go on, the copy waits.
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE bwdesk.messages IN EXCLUSIVE MODE")
        send(qtbot, ana, "sent just before quitting")
        qtbot.waitUntil(lambda: ana.team_label.text() == "team history: copying, 1 waiting", timeout=WAIT)
        ana.close()
        assert ana.isVisible() and ana._quit_flush == "copying"  # close() came back at once
        assert said[-1].text == "Copying 1 message to the team history, then quitting…"
        blocker.execute("ROLLBACK")
    qtbot.waitUntil(lambda: not ana.isVisible(), timeout=WAIT)
    assert team_rows(pg_server, team_database, "agent, text, state") == [
        ("Ana Lima", "sent just before quitting", "accepted")
    ]


def test_another_desks_unknown_send_is_left_to_that_desk_and_a_local_history_has_no_team_widgets(
    qtbot: Any, tasks: BackgroundTasks, pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    from bwdesk.core.history.sqlite_store import SqliteHistoryStore
    from bwdesk.core.outcome import SendResult
    from bwdesk.ui.history.view import HistoryView

    with (
        desk(pg_server, team_database, tmp_path / "ana", "Ana Lima") as ana,
        desk(pg_server, team_database, tmp_path / "ben", "Ben Ode") as ben,
        SqliteHistoryStore.open(tmp_path / "alone.sqlite3") as alone,
    ):
        theirs = add(ben, "+13125550198", text="lost answer")
        ben.settle(theirs, SendResult(SendState.UNKNOWN))
        mine = add(ana, "+13125550199", text="also lost")
        ana.settle(mine, SendResult(SendState.UNKNOWN))
        assert ana.flush(20) and ben.flush(20)
        view = HistoryView(tasks, ana, region="US")
        qtbot.addWidget(view)
        view.show()
        qtbot.waitUntil(lambda: view.model.rowCount() == 2 and not view.model.loading, timeout=WAIT)
        view.set_refresher(object())  # type: ignore[arg-type]  # a refresher is there (never asked here)
        assert [view.model.row_at(i).agent for i in (0, 1)] == ["Ana Lima", "Ben Ode"]
        view.table.selectRow(1)  # Ben's
        assert not view.check_action.isEnabled() and not view.refresh_action.isEnabled()
        assert view.check_action.toolTip() == (
            "Sent by Ben Ode from another desk: only the desk that sent a message can check it."
        )
        view.table.selectRow(0)  # Ana's own: her desk checks it
        assert view.check_action.isEnabled() and view.refresh_action.isEnabled()
        assert (
            view.check_action.toolTip() == "Ask Bandwidth whether a message whose outcome is unknown was sent"
        )
        view.table.selectAll()  # both: Ana's own is refreshed, Ben's left to his desk
        assert view.refresh_action.isEnabled()

        view.set_store(alone)  # a history of its own: no Agent column, no agent filter
        assert view.table.isColumnHidden(Column.AGENT) and not view.agent_filter.isVisible()
        assert view.current_query().agent is None
        qtbot.waitUntil(lambda: not view.model.loading, timeout=WAIT)
        view.shut_down()  # before the stores close
