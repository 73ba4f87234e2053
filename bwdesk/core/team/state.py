"""Whether this desk can use the team database right now: `TeamLink`, the wait after a failure that every reader
shares, and `TeamState`, what the window and `team status` show (docs/design.md §16.11, §16.16). No psycopg."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

#: Waits after consecutive failures that pass by themselves (seconds), then the last one again.
OFFLINE_WAITS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0)
#: Waits after a failure that needs a person (a password, the schema): IT may fix it while bwdesk runs.
UNUSABLE_WAITS = (60.0, 120.0, 300.0)


class Connection(enum.Enum):
    """How the team database answered last; the value is what `--json` and the logs say."""

    STARTING = "starting"  # not asked yet
    ONLINE = "online"
    OFFLINE = "offline"  # unreachable for now (the network, a restart); tried again by itself
    UNUSABLE = "unusable"  # reached, but it cannot be used until someone acts (schema, rights, password)


@dataclass(frozen=True)
class TeamState:
    """The team history as this desk sees it now.

    `waiting`: this desk's rows not yet copied. `problem`: the last failure in words (None while online).
    `reads_local`: reads come from this desk's own journal for now (offline or unusable).
    """

    connection: Connection
    waiting: int = 0
    problem: str | None = None
    problem_kind: str | None = None

    @property
    def online(self) -> bool:
        return self.connection is Connection.ONLINE

    @property
    def reads_local(self) -> bool:
        return self.connection in (Connection.OFFLINE, Connection.UNUSABLE)

    def summary(self) -> str:
        """One line for a status bar: '' when all is well, else what is going on ("team history offline —
        3 waiting")."""
        waiting = f"{self.waiting} waiting" if self.waiting else "nothing waiting"
        if self.connection is Connection.OFFLINE:
            return f"team history offline — {waiting}"
        if self.connection is Connection.UNUSABLE:
            return f"team history unavailable — {waiting}"
        if self.waiting and self.connection is Connection.ONLINE:
            return f"team history: copying, {waiting}"
        return ""

    def fallback_note(self) -> str:
        """What a view read from this desk's journal says about it."""
        reason = f" ({self.problem})" if self.problem else ""
        return f"The team history cannot be reached{reason}; showing this desk's messages only."


Listener = Callable[[], None]


@runtime_checkable
class TeamStateSource(Protocol):
    """What the window asks of a team store (`core.team.store.TeamHistoryStore`) without importing it, so
    psycopg stays out of the window's start: its state now, a listener for changes, its agent."""

    @property
    def agent(self) -> str: ...

    def state(self) -> TeamState: ...

    def subscribe(self, listener: Listener) -> Callable[[], None]: ...

    def wait_for_contact(self, timeout: float) -> TeamState: ...


class TeamLink:
    """The shared verdict on the team database, and when to try it again after a failure."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, wait_scale: float = 1.0) -> None:
        self._clock = clock
        self._scale = wait_scale  # tests shorten the waits
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._connection = Connection.STARTING
        self._problem: str | None = None
        self._kind: str | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._listeners: list[Listener] = []

    # -- the verdict ------------------------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        with self._lock:
            return self._connection

    @property
    def problem(self) -> str | None:
        with self._lock:
            return self._problem

    @property
    def problem_kind(self) -> str | None:
        with self._lock:
            return self._kind

    def may_try(self) -> bool:
        """True when the team database may be asked now (online, or the wait after a failure is over)."""
        with self._lock:
            return (
                self._connection in (Connection.STARTING, Connection.ONLINE)
                or self._clock() >= self._retry_at
            )

    def wait_left(self) -> float:
        """Seconds until the team database may be asked again (0: now)."""
        with self._lock:
            if self._connection in (Connection.STARTING, Connection.ONLINE):
                return 0.0
            return max(0.0, self._retry_at - self._clock())

    def succeeded(self) -> None:
        with self._lock:
            changed = self._connection is not Connection.ONLINE
            if changed:
                log.info("team history: online")
            self._connection, self._problem, self._kind, self._failures = Connection.ONLINE, None, None, 0
            self._changed.notify_all()
        if changed:
            self.notify()

    def failed(self, offline: bool, kind: str, message: str) -> None:
        """The team database could not be used: `offline` when it passes by itself, else it needs a person."""
        with self._lock:
            connection = Connection.OFFLINE if offline else Connection.UNUSABLE
            changed = (connection, message) != (self._connection, self._problem)
            if changed:
                log.info("team history: %s (%s)", connection.value, kind)
            waits = OFFLINE_WAITS if offline else UNUSABLE_WAITS
            wait = waits[min(self._failures, len(waits) - 1)] * self._scale
            self._failures += 1
            self._connection, self._problem, self._kind = connection, message, kind
            self._retry_at = self._clock() + wait
            self._changed.notify_all()
        if changed:
            self.notify()

    def wait_for_verdict(self, timeout: float) -> Connection:
        """Wait (at most `timeout` seconds) until the team database has been asked once; the verdict."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._connection is Connection.STARTING:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self._connection

    # -- listeners ---------------------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener()` whenever the state may have changed (on the thread that changed it); returns a
        function that unsubscribes it. A listener must be quick and must not raise."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:  # a broken listener must not stop the copier
                log.exception("team history: a state listener failed")


__all__ = ["Connection", "Listener", "TeamLink", "TeamState", "TeamStateSource"]
