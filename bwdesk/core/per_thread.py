"""One resource per thread (a database connection), found by the thread's id: Qt's pool threads get a fresh
`threading.local` for every job, so one kept there was made again, and leaked, each time (docs/design.md §3.5)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerThread(Generic[T]):
    """`get()` gives the calling thread its own resource, made by `factory` the first time; `close_all()` closes
    every one. Resources of Python threads that have ended are closed as new ones are made. A pool thread of Qt's
    is not known to end (Python sees it as a placeholder that stays alive), so the pool that runs the jobs keeps
    its threads instead of replacing them (`ui/tasks.py`): one resource per pool thread, for good."""

    def __init__(
        self,
        factory: Callable[[], T],
        closer: Callable[[T], None],
        *,
        usable: Callable[[T], bool] = lambda _: True,
        what: str = "the store",
    ) -> None:
        self._factory = factory
        self._closer = closer
        self._usable = usable
        self._what = what
        self._lock = threading.Lock()
        self._by_thread: dict[int, T] = {}
        self._python_threads: dict[int, threading.Thread] = {}  # those Python started: known to end
        self.closed = False

    def get(self) -> tuple[T, bool]:
        """This thread's resource, and whether it was made just now (a broken one is replaced)."""
        ident = threading.get_ident()
        with self._lock:
            if self.closed:
                raise RuntimeError(f"{self._what} is closed")
            found = self._by_thread.get(ident)
        if found is not None and self._usable(found):
            return found, False
        made = self._factory()
        thread = threading.current_thread()
        with self._lock:
            if self.closed:
                stale = [made]
            else:
                ended = [i for i, t in self._python_threads.items() if not t.is_alive()]
                stale = [self._by_thread.pop(i) for i in ended if i in self._by_thread]
                for i in ended:
                    del self._python_threads[i]
                if found is not None:
                    stale.append(found)
                self._by_thread[ident] = made
                if not isinstance(thread, threading._DummyThread):  # not a pool thread of Qt's
                    self._python_threads[ident] = thread
        for old in stale:
            self._closer(old)
        if self.closed:
            raise RuntimeError(f"{self._what} is closed")
        return made, True

    def drop(self) -> None:
        """Forget and close this thread's resource (it broke); the next `get` makes another."""
        with self._lock:
            found = self._by_thread.pop(threading.get_ident(), None)
            self._python_threads.pop(threading.get_ident(), None)
        if found is not None:
            self._closer(found)

    def count(self) -> int:
        with self._lock:
            return len(self._by_thread)

    def close_all(self) -> None:
        with self._lock:
            self.closed = True
            resources, self._by_thread = list(self._by_thread.values()), {}
        for resource in resources:
            self._closer(resource)
