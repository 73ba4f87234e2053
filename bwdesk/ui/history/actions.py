"""What the history asks of Bandwidth and of files: refresh delivery statuses, check a send of unknown outcome
(for the history and the window's results alike), export CSV; each on a worker, one of a kind at a time."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from bwdesk.core.errors import format_wait, trouble_of
from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.store import HistoryStore
from bwdesk.core.outcome import SendState
from bwdesk.ui.feedback import Duration, Feedback, error_message
from bwdesk.ui.history.model import HistoryModel
from bwdesk.ui.tasks import BackgroundTasks

if TYPE_CHECKING:  # core.delivery loads after the window's first paint (docs/design.md §3.1)
    from bwdesk.core.delivery import RefreshReport, StatusRefresher, UnknownCheck


class Job(Enum):
    """Work the history has on a worker thread; `HistoryActions.running` is the set of these."""

    REFRESH = "refresh"  # asked for by the agent: says what it found
    AUTO_REFRESH = "auto refresh"  # a while after a send: quiet unless something changed or went wrong
    CHECK = "check"  # is a send of unknown outcome at Bandwidth?
    EXPORT = "export"


_REFRESHES = frozenset({Job.REFRESH, Job.AUTO_REFRESH})


def _refresh(
    refresher: StatusRefresher, store: HistoryStore, rows: list[HistoryRow] | None
) -> tuple[RefreshReport, list[HistoryRow]]:
    """On a worker: look the statuses up, then read back every row that changed (or was asked about)."""
    report = refresher.refresh(store, rows)
    ids = set(report.updated_rows) | {r.id for r in rows or ()}
    return report, [row for i in sorted(ids) if (row := store.get(i)) is not None]


def _check(
    refresher: StatusRefresher, store: HistoryStore, row_id: int
) -> tuple[UnknownCheck | None, HistoryRow | None]:
    """On a worker: look for the send at Bandwidth (by From, To and time), then read the row back."""
    row = store.get(row_id)
    if row is None:
        return None, None
    check = refresher.check_unknown(store, row)
    return check, store.get(row_id)


class HistoryActions(QObject):
    """Status refresh, Check status and export for the rows of `model`'s store.

    Signals: `refresh_finished(RefreshReport | None)` (None: it failed), `check_finished(UnknownCheck | None)`,
    `export_finished(bool ok, str message)`, `rows_learned(list[HistoryRow], str note)` (rows whose state
    Bandwidth has just told; the note is a check's answer) and `running_changed()`.
    """

    refresh_finished = Signal(object)
    check_finished = Signal(object)
    export_finished = Signal(bool, str)
    rows_learned = Signal(list, str)
    running_changed = Signal()

    def __init__(
        self,
        tasks: BackgroundTasks,
        model: HistoryModel,
        feedback: Feedback,
        refresher: StatusRefresher | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._model = model
        self._feedback = feedback
        self._refresher = refresher
        self._running: set[Job] = set()
        self._shut = False

    @property
    def running(self) -> frozenset[Job]:
        return frozenset(self._running)

    def set_refresher(self, refresher: StatusRefresher | None) -> None:
        """The window's one `StatusRefresher`, so pacing and Retry-After hold for every lookup."""
        self._refresher = refresher
        self.running_changed.emit()

    def can_refresh(self) -> bool:
        return self._usable() and not self._running & _REFRESHES

    def can_check(self) -> bool:
        return self._usable() and Job.CHECK not in self._running

    def can_export(self) -> bool:
        return not self._shut and self._model.store is not None and Job.EXPORT not in self._running

    def shut_down(self) -> None:
        """The window is closing: nothing new starts (what runs finishes; its answer changes nothing)."""
        self._shut = True
        self._refresher = None
        self.running_changed.emit()

    # -- refresh ------------------------------------------------------------------------------------------

    def refresh_status(self, selected: Sequence[HistoryRow] = ()) -> None:
        """Look up delivery statuses: of the selected rows that have one, or (none selected) every recent open row."""
        store, refresher = self._model.store, self._refresher
        if store is None or refresher is None or not self.can_refresh():
            return
        from bwdesk.core.delivery import RefreshReport

        wait = refresher.blocked_for()
        if wait > 0:
            self._feedback.notify(
                f"Bandwidth asked bwdesk to slow down: status refresh is possible again in {format_wait(wait)}."
            )
            self.refresh_finished.emit(RefreshReport(wait=wait))
            return
        rows: list[HistoryRow] | None = None
        if selected:
            rows = [
                r
                for r in selected
                if (r.state is SendState.ACCEPTED and r.message_id) or r.state is SendState.UNKNOWN
            ]
            if not rows:
                self._feedback.notify(
                    "Only messages Bandwidth accepted (or whose outcome is unknown) have a status to look up; "
                    "none is selected."
                )
                self.refresh_finished.emit(RefreshReport())
                return
        self._feedback.notify("Asking Bandwidth for delivery statuses…", Duration.UNTIL_REPLACED)
        self._start_refresh(Job.REFRESH, store, refresher, rows)

    @Slot()
    def refresh_automatically(self) -> None:
        """A while after a send: every recent open row, saying nothing unless something changed or failed."""
        store, refresher = self._model.store, self._refresher
        if store is None or refresher is None or not self.can_refresh() or refresher.blocked_for() > 0:
            return
        self._start_refresh(Job.AUTO_REFRESH, store, refresher, None)

    def _start_refresh(
        self, job: Job, store: HistoryStore, refresher: StatusRefresher, rows: list[HistoryRow] | None
    ) -> None:
        self._begin(job)
        self._tasks.run(
            functools.partial(_refresh, refresher, store, rows),
            functools.partial(self._refresh_done, job),
            functools.partial(self._refresh_failed, job),
            description="refresh delivery statuses",
            owner=self,
        )

    def _refresh_done(self, job: Job, result: tuple[RefreshReport, list[HistoryRow]]) -> None:
        report, rows = result
        for row in rows:
            self._model.update_row(row)
        self._end(job)
        if report.trouble is not None:
            outcome = "The delivery statuses could not be looked up."
            self._feedback.trouble(report.trouble, report.trouble_detail, outcome=outcome)
        elif report.undelivered:
            # Not to be missed, even with the agent in another window: the window says it and so does the desktop.
            count = len(report.undelivered)
            title = "A message was not delivered" if count == 1 else f"{count} messages were not delivered"
            failures = "Not delivered: " + "; ".join(u.describe() for u in report.undelivered) + "."
            self._feedback.alert(title, report.summary() if job is Job.REFRESH else failures)
        elif job is Job.REFRESH or report.changed or report.unknown_found or not report.complete:
            self._feedback.notify(report.summary())
        self.rows_learned.emit(rows, "")
        self.refresh_finished.emit(report)

    def _refresh_failed(self, job: Job, exc: BaseException) -> None:
        self._end(job)
        self._warn(exc, "Status refresh", "The delivery statuses could not be looked up.")
        self.refresh_finished.emit(None)

    def _warn(self, exc: BaseException, what: str, outcome: str) -> None:
        """A failed lookup: trouble with the account or the connection is said as such (with the setting to
        check), anything else as what failed."""
        trouble = trouble_of(exc)
        if trouble is not None and trouble.stops_batch:
            self._feedback.trouble(trouble, str(exc), outcome=outcome)
        else:
            self._feedback.warn(error_message(exc, what))

    # -- check status ---------------------------------------------------------------------------------------

    @Slot(int)
    def check_status(self, row_id: int) -> None:
        """Ask Bandwidth whether the send of unknown outcome in history row `row_id` went out."""
        store, refresher = self._model.store, self._refresher
        if store is None or refresher is None or not self.can_check():
            return
        self._begin(Job.CHECK)
        self._feedback.notify("Asking Bandwidth whether the message was sent…", Duration.UNTIL_REPLACED)
        self._tasks.run(
            functools.partial(_check, refresher, store, row_id),
            self._check_done,
            self._check_failed,
            description="check an unknown send",
            owner=self,
        )

    def _check_done(self, result: tuple[UnknownCheck | None, HistoryRow | None]) -> None:
        check, row = result
        self._end(Job.CHECK)
        if check is None or row is None:
            self._feedback.notify("That message is no longer in the history.")
            self.check_finished.emit(None)
            return
        self._model.update_row(row)
        self._feedback.notify(check.message)
        self.rows_learned.emit([row], check.message)
        self.check_finished.emit(check)

    def _check_failed(self, exc: BaseException) -> None:
        self._end(Job.CHECK)
        self._warn(exc, "Check status", "Whether the message was sent could not be looked up.")
        self.check_finished.emit(None)

    # -- export ----------------------------------------------------------------------------------------------

    def export_csv(self, target: Path, query: HistoryQuery) -> None:
        """Write the rows matching `query` to `target` as CSV (spreadsheet-safe)."""
        store = self._model.store
        if store is None or not self.can_export():
            return
        self._begin(Job.EXPORT)
        self._feedback.notify(f"Exporting to {target}…", Duration.UNTIL_REPLACED)
        self._tasks.run(
            functools.partial(store.export_csv, target, query),
            functools.partial(self._export_done, target),
            functools.partial(self._export_failed, target),
            description="export the history as CSV",
            owner=self,
        )

    def _export_done(self, target: Path, count: int) -> None:
        self._end(Job.EXPORT)
        message = f"Exported {count} message{'s' if count != 1 else ''} to {target}."
        self._feedback.notify(message)
        self.export_finished.emit(True, message)

    def _export_failed(self, target: Path, exc: BaseException) -> None:
        self._end(Job.EXPORT)
        if isinstance(exc, OSError):
            message = f"Could not write {target}: {exc.strerror or exc}. Choose another folder or file name."
        else:
            message = error_message(exc, "Export")
        self._feedback.warn(message)
        self.export_finished.emit(False, message)

    # -- state ------------------------------------------------------------------------------------------------

    def _usable(self) -> bool:
        return not self._shut and self._model.store is not None and self._refresher is not None

    def _begin(self, job: Job) -> None:
        self._running.add(job)
        self.running_changed.emit()

    def _end(self, job: Job) -> None:
        self._running.discard(job)
        self.running_changed.emit()
