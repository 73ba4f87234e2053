"""The message being written, kept on disk: saved a moment after each change, put back at start-up, removed
once it has been sent or discarded, so a crash or a restart never loses what the agent typed."""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot

from bwdesk.core.drafts import SavedDraft, clear_draft, load_draft, save_draft
from bwdesk.ui.composer import ComposerWidget
from bwdesk.ui.feedback import Duration, Feedback
from bwdesk.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: How long after the last edit the draft is written (a few writes per second at most while typing).
AUTOSAVE_DELAY_MS = 400


class DraftKeeper(QObject):
    """Saves `composer`'s draft to `path` after every change (debounced), and on demand.

    The draft is read from the composer on the GUI thread and written by `tasks` on a worker: a file written
    and synced to disk can take tens of milliseconds on a busy disk, a stall felt while typing or sending
    (docs/design.md §3.5). One write at a time; the newest draft wins (an older one still on its way is
    dropped). Once the window is closing (`stop()`), and without `tasks` (tests of the parts), the file is
    written at once.
    """

    def __init__(
        self,
        composer: ComposerWidget,
        path: Path,
        feedback: Feedback,
        parent: QObject | None = None,
        *,
        tasks: BackgroundTasks | None = None,
    ):
        super().__init__(parent)
        self._composer = composer
        self._path = path
        self._feedback = feedback
        self._tasks = tasks
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave.timeout.connect(self.save_now)
        composer.draft_changed.connect(self._autosave.start)
        # Each write has a number; the file holds the newest written (checked under the lock, so a slow older
        # write can never land after a newer one).
        self._lock = threading.Lock()
        self._requested = 0
        self._written = 0
        self._waiting: tuple[int, SavedDraft | None] | None = None  # the newest, while another is written
        self._writing = False
        self._closing = False

    def restore(self) -> None:
        """Put back the draft a previous run left (after a restart or a crash), and say so."""
        saved = load_draft(self._path)
        if saved is not None:
            self._composer.restore(saved)
            self._feedback.notify("Your unsent message was restored.", Duration.MOMENT)

    @Slot()
    def save_now(self) -> None:
        """Write the draft as it is now (it is small): an empty one removes the file."""
        self._autosave.stop()
        self._request(self._composer.saved_draft())

    def discard(self) -> None:
        """The message was sent or thrown away: no draft file is left to bring it back."""
        self._autosave.stop()
        self._request(None)

    def stop(self) -> None:
        """The window is closing: no autosave fires any more, and what is saved from now on (the caller saves
        one last time) is written at once, as nothing may be left for a worker when the process ends."""
        self._autosave.stop()
        self._closing = True

    def _request(self, draft: SavedDraft | None) -> None:
        self._requested += 1
        job = (self._requested, draft)
        if self._tasks is None or self._closing:
            self._report(self._write(job))
        elif self._writing:
            self._waiting = job
        else:
            self._start(job)

    def _start(self, job: tuple[int, SavedDraft | None]) -> None:
        assert self._tasks is not None
        self._writing = True
        self._tasks.run(
            functools.partial(self._write, job),
            self._finish,
            self._failed,
            description="save the draft",
            owner=self,
        )

    def _write(self, job: tuple[int, SavedDraft | None]) -> OSError | None:
        """On a worker (or at once without one): the file as the draft `job` says, unless a newer one is there."""
        number, draft = job
        with self._lock:
            if number <= self._written:
                return None
            try:
                if draft is None:
                    clear_draft(self._path)
                else:
                    save_draft(self._path, draft)
            except OSError as exc:
                return exc
            self._written = number
        return None

    def _finish(self, problem: OSError | None) -> None:
        """A write is over: say what went wrong, if anything, and write the newest draft asked for meanwhile."""
        self._writing = False
        self._report(problem)
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._request(waiting[1])

    def _failed(self, exc: BaseException) -> None:
        log.error("saving the draft failed", exc_info=(type(exc), exc, None))
        self._finish(None)

    def _report(self, problem: OSError | None) -> None:
        if problem is not None:
            self._feedback.warn(f"Could not save the draft: {problem.strerror or problem}")
