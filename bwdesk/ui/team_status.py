"""The team history as the window follows it: state for the status bar and banner, agents for the filter, other
desks' sends arriving live; every store call on a worker (docs/design.md §16.16, §16.18)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from bwdesk.core.team.state import TeamState, TeamStateSource
from bwdesk.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: How often the team database is asked whether anything changed (only while it answers).
POLL_MS = 1500
#: How long quitting waits for this desk's waiting rows to be copied (on a worker; the window stays live).
QUIT_FLUSH = 1.5

_NOT_YET = object()  # no answer from `latest_change()` yet


@runtime_checkable
class TeamView(TeamStateSource, Protocol):
    """What the window asks of a team store beyond its state (`core.team.store.TeamHistoryStore`, which the
    window never imports: psycopg stays out of its start)."""

    def agents(self) -> list[str]: ...

    def latest_change(self) -> datetime | None: ...

    def flush(self, timeout: float) -> bool: ...


def banner_note(state: TeamState | None) -> str:
    """The banner's sentence while the history shows this desk's rows alone ('' otherwise)."""
    if state is None or not state.reads_local:
        return ""
    return (
        f"{state.fallback_note()} Sending works as usual; what is sent is copied to the team history once it "
        "can be reached."
    )


class TeamWatch(QObject):
    """Follows one team store (or none): `watch(store)`.

    Signals: `state_changed(TeamState | None)` (None: no team history), `team_changed()` (the team database
    stored a change since the last look: reload the top of the history), `agents_changed(list[str])`.
    """

    state_changed = Signal(object)
    team_changed = Signal()
    agents_changed = Signal(list)
    _poked = Signal()

    def __init__(
        self, tasks: BackgroundTasks, parent: QObject | None = None, *, poll_ms: int = POLL_MS
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._store: TeamView | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._state: TeamState | None = None
        self._reading = False  # a read of the state is on its way
        self._read_again = False  # the state may have changed again meanwhile
        self._asking = False  # a look at `latest_change()` is on its way
        self._latest: object = _NOT_YET
        self._poked.connect(self._read_state)  # queued: the listener runs on the copier's thread
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)

    @property
    def store(self) -> TeamView | None:
        return self._store

    @property
    def state(self) -> TeamState | None:
        """The last state read (None before the first, or without a team)."""
        return self._state

    def watch(self, store: object) -> None:
        """Follow `store` if it is a team store; stop following the one before."""
        self._stop()
        if not isinstance(store, TeamView):
            self.state_changed.emit(None)
            return
        self._store = store
        self._unsubscribe = store.subscribe(self._listener)
        self._read_state()
        self.read_agents()
        self._timer.start()

    def shut_down(self) -> None:
        self._stop()

    @Slot()
    def refresh_state(self) -> None:
        """Read the state again (after a send from this window: one more row waits while the team is away)."""
        self._read_state()

    def read_agents(self) -> None:
        """Ask the team for its agents (the filter's choices); the answer comes as `agents_changed`."""
        store = self._store
        if store is not None:
            self._tasks.run(
                store.agents,
                functools.partial(self._agents_read, store),
                functools.partial(self._failed, "read the team's agents"),
                description="read the team's agents",
                owner=self,
            )

    # -- plumbing ----------------------------------------------------------------------------------------

    def _stop(self) -> None:
        self._timer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = None
        self._store = None
        self._state = None
        self._latest = _NOT_YET

    def _listener(self) -> None:
        """On a background thread: only a poke; the state is read on a worker (it reads this desk's outbox)."""
        if shiboken6.isValid(self):
            self._poked.emit()

    @Slot()
    def _read_state(self) -> None:
        store = self._store
        if store is None:
            return
        if self._reading:
            self._read_again = True
            return
        self._reading = True
        self._tasks.run(
            store.state,
            functools.partial(self._state_read, store),
            functools.partial(self._state_failed, store),
            description="read the team history's state",
            owner=self,
        )

    def _state_read(self, store: TeamView, state: TeamState) -> None:
        self._reading = False
        if store is not self._store:
            return
        came_back = self._state is not None and self._state.reads_local and not state.reads_local
        self._state = state
        self.state_changed.emit(state)
        if came_back:
            self.read_agents()
        if self._read_again:
            self._read_again = False
            self._read_state()

    def _state_failed(self, store: TeamView, exc: BaseException) -> None:
        self._reading = False
        self._failed("read the team history's state", exc)

    @Slot()
    def _poll(self) -> None:
        """Every second or two, while the team database answers: has it stored anything since the last look?"""
        store = self._store
        if store is None or self._asking or self._state is None:
            return
        if self._state.reads_local:
            # The team is not asked (the copier finds out when it is back, and tells); this desk's waiting
            # rows are counted again, for sends of another process of this profile (`bwdesk send`).
            self._read_state()
            return
        self._asking = True
        self._tasks.run(
            store.latest_change,
            functools.partial(self._change_read, store),
            functools.partial(self._change_failed, store),
            description="look for the team's changes",
            owner=self,
        )

    def _change_read(self, store: TeamView, latest: datetime | None) -> None:
        self._asking = False
        if store is not self._store:
            return
        before, self._latest = self._latest, latest
        if latest != before:
            # The first answer counts as a change too: what was stored between the view's first page and this
            # first look would otherwise wait for the next change.
            self.team_changed.emit()

    def _change_failed(self, store: TeamView, exc: BaseException) -> None:
        """The team could not answer: the store has told its link, so the state says offline and polling
        pauses until the team is back."""
        self._asking = False
        log.info("team history: no answer to the look for changes (%s)", exc)

    def _agents_read(self, store: TeamView, agents: list[str]) -> None:
        if store is self._store:
            self.agents_changed.emit(agents)

    def _failed(self, what: str, exc: BaseException) -> None:
        log.info("team history: could not %s (%s)", what, exc)
