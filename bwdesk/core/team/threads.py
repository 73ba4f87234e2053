"""Threads of the team store: one team connection per reading thread, and the duplicate guard's own thread
(docs/design.md §16.11, §16.12)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

log = logging.getLogger(__name__)

T = TypeVar("T")


class Readers:
    """One team connection per reading thread; those of finished threads are closed as new ones open."""

    def __init__(self, factory: Callable[[], psycopg.Connection[Any]]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[threading.Thread, psycopg.Connection[Any]]] = []
        self.closed = False

    def get(self) -> tuple[psycopg.Connection[Any], bool]:
        """This thread's connection, and whether it was made just now."""
        if self.closed:
            raise RuntimeError("the team store is closed")
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            return conn, False
        conn = self._factory()
        with self._lock:
            finished = [c for t, c in self._open if not t.is_alive()]
            self._open = [(t, c) for t, c in self._open if t.is_alive() and c is not conn]
            self._open.append((threading.current_thread(), conn))
        for old in finished:
            close_quietly(old)
        self._local.conn = conn
        return conn, True

    def drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            close_quietly(conn)

    def close_all(self) -> None:
        with self._lock:
            self.closed = True
            connections, self._open = self._open, []
        for _, conn in connections:
            close_quietly(conn)


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


__all__ = ["GuardThread", "Readers", "close_quietly"]
