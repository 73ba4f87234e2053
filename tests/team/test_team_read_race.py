"""A read of the team view while the copier copies: whenever a copy lands during a read, the page still shows
every row of this desk once, as it is here. (A desk restarted on a loaded machine once listed an empty team
history: the copier took its settled row out of the outbox between the store's two looks at the outbox, so the
team's older copy was dropped and the row as it is here was not found either.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from teamdesk import add, open_desk, team_rows

from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.team.store import TeamHistoryStore

ALICE = "+19195550123"


class _CopyDuringRead:
    """Stands in for the store's journal and its team reads: before the `at`-th call of any of them (counted
    from 0), the copier makes one round, as if its thread had run just then."""

    def __init__(self, store: TeamHistoryStore, at: int) -> None:
        self._journal = store.journal
        self._copy = store.copier._step
        self._at = at
        self.calls = 0
        self.copied = False

    def before_call(self) -> None:
        if self.calls == self._at:
            self._copy()
            self.copied = True
        self.calls += 1

    def wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def called(*args: Any, **kwargs: Any) -> Any:
            self.before_call()
            return method(*args, **kwargs)

        return called

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._journal, name)
        return self.wrap(value) if callable(value) else value


def test_a_copy_landing_at_any_moment_of_a_read_never_hides_or_doubles_a_row(
    pg_server: Any, team_database: str, tmp_path: Path
) -> None:
    store = open_desk(pg_server, team_database, tmp_path / "ana", "Ana Lima", start=False)
    journal, ask = store.journal, store._ask
    try:
        at = 0
        while True:
            # A row the team has an older copy of (sending), settled here since (waiting to be copied).
            row_id = add(store, ALICE, text=f"message {at}")
            store.copier._step()
            assert team_rows(pg_server, team_database, "local_id, state")[-1] == (row_id, "sending")
            store.settle(row_id, SendResult(SendState.ACCEPTED, http_status=202, message_id=f"m-{at}"))
            race = _CopyDuringRead(store, at)
            store.journal = race  # type: ignore[assignment]
            store._ask = race.wrap(ask)  # type: ignore[method-assign]
            try:
                page = store.search_page(HistoryQuery())
            finally:
                store.journal = journal
                store._ask = ask  # type: ignore[method-assign]
            assert page.from_team
            assert [(r.local_id, r.state) for r in page.rows] == [
                (i, SendState.ACCEPTED) for i in range(row_id, 0, -1)
            ], f"a copy before read step {at}"
            if not race.copied:
                break  # the copy came after the read's last step: every moment has been tried
            assert team_rows(pg_server, team_database, "local_id, state")[-1] == (row_id, "accepted")
            at += 1
        assert at >= 2  # the read has several steps (the outbox, the team), each tried
    finally:
        store.copier._disconnect()  # its thread never ran: the rounds made here left a connection open
        store.close()
