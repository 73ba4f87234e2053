"""Threads of the team store: one team connection per reading thread, and the duplicate guard's own thread
(docs/design.md §16.11, §16.12)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from bwdesk.core.per_thread import PerThread

log = logging.getLogger(__name__)

T = TypeVar("T")


class Readers:
    """One team connection per reading thread (`PerThread`: by the thread's id, so a pool thread keeps its own)."""

    def __init__(self, factory: Callable[[], psycopg.Connection[Any]]) -> None:
        self._connections: PerThread[psycopg.Connection[Any]] = PerThread(
            factory, close_quietly, usable=lambda conn: not conn.closed, what="the team store"
        )

    @property
    def closed(self) -> bool:
        return self._connections.closed

    def get(self) -> tuple[psycopg.Connection[Any], bool]:
        """This thread's connection, and whether it was made just now."""
        return self._connections.get()

    def drop(self) -> None:
        self._connections.drop()

    def count(self) -> int:
        """How many connections are open (one per thread that has read)."""
        return self._connections.count()

    def close_all(self) -> None:
        self._connections.close_all()


def close_quietly(conn: psycopg.Connection[Any]) -> None:
    try:
        conn.close()
    except Exception:  # closing a broken connection: nothing to save
        log.debug("team history: closing a connection failed", exc_info=True)


class GuardThread:
    """A daemon thread running one job at a time for a caller that will not wait long (the duplicate guard)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="bwdesk team guard", daemon=True).start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def run(self, work: Callable[[], T], timeout: float) -> T:
        """`work()`'s result or exception; `TimeoutError` when it takes longer than `timeout` seconds."""
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def job() -> None:
            try:
                outcome["value"] = work()
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                finished.set()

        self._jobs.put(job)
        if not finished.wait(timeout):
            raise TimeoutError
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]  # type: ignore[no-any-return]

    def retire(self) -> None:
        """End the thread once its current job (if any) is done."""
        self._jobs.put(None)


class Guard:
    """A store's guard thread, replaced after an overrun: the late job finishes alone on the old thread (which
    ends then), and the next check gets a new one, so one slow network answer never queues the next check."""

    def __init__(self) -> None:
        self._thread: GuardThread | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[], T], timeout: float) -> T:
        """`work()`'s result or exception on the guard thread; `TimeoutError` after `timeout` seconds."""
        with self._lock:
            if self._thread is None:
                self._thread = GuardThread()
            thread = self._thread
        try:
            return thread.run(work, timeout)
        except TimeoutError:
            with self._lock:
                if self._thread is thread:
                    self._thread = None
            thread.retire()
            raise

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.retire()


__all__ = ["Guard", "GuardThread", "Readers", "close_quietly"]
