"""The one way the GUI runs slow work: a function on a worker thread, its result or exception delivered to
callbacks on the GUI thread (looked up there by task id, so nothing made on a worker is ever connected)."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Callbacks(Generic[T]):
    on_success: Callable[[T], object] | None
    on_error: Callable[[BaseException], object] | None
    description: str
    owner: QObject | None = None


class _Job(QRunnable):
    """Runs on a pool thread; touches no widget, only emits the relay's signal."""

    def __init__(self, task_id: int, fn: Callable[[], Any], relay: BackgroundTasks) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task_id = task_id
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # delivered to the GUI thread; nothing may escape a pool thread
            self._deliver(False, exc)
        else:
            self._deliver(True, result)

    def _deliver(self, ok: bool, payload: object) -> None:
        # The application may be shutting down while this job ran; there is nobody left to tell then.
        if not shiboken6.isValid(self._relay):
            log.info("background task finished after its owner was destroyed; result dropped")
            return
        try:
            self._relay._finished.emit(self._task_id, ok, payload)
        except RuntimeError:
            log.info("background task finished while its owner was being destroyed; result dropped")


class BackgroundTasks(QObject):
    """Runs functions off the GUI thread; `busy_changed` tells the window when work starts and ends."""

    busy_changed = Signal(bool)
    _finished = Signal(int, bool, object)

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        # The threads stay for good: stores keep one connection per thread (core/per_thread.py), and a thread
        # replaced after Qt's idle timeout would leave its connection behind.
        self._pool.setExpiryTimeout(-1)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Callbacks[Any]] = {}
        self._lock = threading.Lock()
        self._finished.connect(self._deliver)

    def run(
        self,
        fn: Callable[[], T],
        on_success: Callable[[T], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        *,
        description: str = "",
        owner: QObject | None = None,
    ) -> int:
        """Start `fn` on a worker thread; the callbacks run later on the GUI thread. Returns a task id.

        With an `owner` (usually the widget that asked), the callbacks are dropped if it has been destroyed
        by the time the result arrives — a closed dialog must not be updated.
        """
        task_id = next(self._ids)
        with self._lock:
            was_idle = not self._pending
            self._pending[task_id] = _Callbacks(
                on_success, on_error, description or getattr(fn, "__name__", "task"), owner
            )
        if was_idle:
            self.busy_changed.emit(True)
        self._pool.start(_Job(task_id, fn, self))
        return task_id

    def pending(self) -> int:
        """How many tasks have been started and not yet delivered."""
        with self._lock:
            return len(self._pending)

    def wait_for_threads(self, timeout_ms: int = -1) -> bool:
        """Block until the worker threads are idle (only for shutdown, after the user chose to quit)."""
        return bool(self._pool.waitForDone(timeout_ms))

    @Slot(int, bool, object)
    def _deliver(self, task_id: int, ok: bool, payload: object) -> None:
        with self._lock:
            callbacks = self._pending.pop(task_id, None)
            now_idle = not self._pending
        if callbacks is not None and callbacks.owner is not None and not shiboken6.isValid(callbacks.owner):
            callbacks = None  # whoever asked is gone
        if callbacks is not None:
            try:
                if ok:
                    if callbacks.on_success is not None:
                        callbacks.on_success(payload)
                elif callbacks.on_error is not None:
                    assert isinstance(payload, BaseException)
                    callbacks.on_error(payload)
                else:
                    assert isinstance(payload, BaseException)
                    log.error(
                        "background task %r failed",
                        callbacks.description,
                        exc_info=(type(payload), payload, None),
                    )
            finally:
                if now_idle:
                    # Emitted after the callback so a listener sees the callback's effects.
                    QTimer.singleShot(0, self._emit_idle_if_still_idle)

    @Slot()
    def _emit_idle_if_still_idle(self) -> None:
        if not self.pending():
            self.busy_changed.emit(False)


def after_paint(timer: QTimer) -> None:
    """Start `timer` (single shot, interval 0) once what changed so far has been painted: a posted call runs
    before the pending paint (Qt posts paints at low priority) and starts the timer, and timers run after posted
    events. Its work is then a stretch of its own, with the paint and any input before it (docs/design.md §3.5)."""
    QTimer.singleShot(0, timer, timer.start)
