"""Sending from the window: the POSTs of a draft run one after another on a worker thread.

Each POST goes through `core.sending.send_one` (history row written before, settled after) as its own
background task, so results appear one by one and the GUI thread never waits. The POSTs are chained,
not parallel: Bandwidth's default rate is one message per second, and sequential sends keep the
history in the order the agent expects.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from bwdesk.core.history.store import SendLog
from bwdesk.core.outcome import ApiError, SendResult, SendState
from bwdesk.core.sending import MessageSender, NotRecorded, PlannedPost, SentPost, send_one
from bwdesk.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    posts: list[PlannedPost]
    client: MessageSender
    history: SendLog
    done: list[SentPost] = field(default_factory=list)


class SendController(QObject):
    """Signals: `started(int posts)`, `post_finished(SentPost)`, `finished(list[SentPost])`, `busy_changed(bool)`."""

    started = Signal(int)
    post_finished = Signal(object)
    finished = Signal(list)
    busy_changed = Signal(bool)

    def __init__(self, tasks: BackgroundTasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._batch: _Batch | None = None
        self._placeholder_ids = itertools.count(-1, -1)  # result rows for POSTs that have no history row

    def is_busy(self) -> bool:
        return self._batch is not None

    def send(self, posts: Sequence[PlannedPost], client: MessageSender, history: SendLog) -> None:
        """Start sending `posts` (already validated and planned on the GUI thread)."""
        if self._batch is not None:
            raise RuntimeError("a send is already in progress")
        if not posts:
            return
        self._batch = _Batch(list(posts), client, history)
        self.busy_changed.emit(True)
        self.started.emit(len(posts))
        self._next()

    def _next(self) -> None:
        batch = self._batch
        assert batch is not None
        index = len(batch.done)
        if index >= len(batch.posts):
            self._batch = None
            self.finished.emit(list(batch.done))
            self.busy_changed.emit(False)
            return
        post = batch.posts[index]
        self._tasks.run(
            _bind(send_one, post, batch.client, batch.history),
            self._post_done,
            lambda exc: self._post_crashed(post, exc),
            description="send a message",
        )

    def _post_done(self, sent: SentPost) -> None:
        assert self._batch is not None
        self._batch.done.append(sent)
        self.post_finished.emit(sent)
        self._next()

    def _post_crashed(self, post: PlannedPost, exc: BaseException) -> None:
        """The batch stops; what is left of it is not sent (its recipients stay in the composer).

        NotRecorded: the history could not write the row first, so nothing was sent. Anything else is a
        bug after the row was written: send_one recorded it as unknown before re-raising.
        """
        batch = self._batch
        assert batch is not None
        if isinstance(exc, NotRecorded):
            log.warning("not sent: %s", exc)
            result = SendResult(
                SendState.FAILED, error=ApiError(description=str(exc)), attempts=0, detail=str(exc)
            )
        else:
            log.error("sending failed unexpectedly: %s", type(exc).__name__, exc_info=(type(exc), exc, None))
            result = SendResult(
                SendState.UNKNOWN,
                error=ApiError(
                    description=f"bwdesk hit an internal error while sending ({type(exc).__name__})"
                ),
                detail="bwdesk hit an internal error while sending; the message may or may not have been sent",
            )
        row_id = getattr(exc, "history_row_id", None)  # a real row (recorded unknown) when there is one
        crashed = SentPost(
            row_id=row_id if isinstance(row_id, int) else next(self._placeholder_ids),
            post=post,
            result=result,
        )
        batch.done.append(crashed)
        self.post_finished.emit(crashed)
        # Stop here: what is left of the batch is not sent after an internal error.
        self._batch = None
        self.finished.emit(list(batch.done))
        self.busy_changed.emit(False)


def _bind(fn: Callable[..., SentPost], *args: object) -> Callable[[], SentPost]:
    def call() -> SentPost:
        return fn(*args)

    call.__name__ = getattr(fn, "__name__", "call")
    return call
