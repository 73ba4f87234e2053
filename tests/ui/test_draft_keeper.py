"""The draft keeper writes on a worker, one write at a time, and the newest draft always wins; once the window
is closing it writes at once, so nothing is left for a worker when the process ends."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget

from bwdesk.core import drafts as core_drafts
from bwdesk.core.drafts import load_draft
from bwdesk.ui.composer import ComposerWidget
from bwdesk.ui.draft_keeper import DraftKeeper
from bwdesk.ui.feedback import Feedback
from bwdesk.ui.tasks import BackgroundTasks


def make_keeper(qtbot: Any, path: Path) -> tuple[ComposerWidget, DraftKeeper, BackgroundTasks]:
    host = QWidget()
    qtbot.addWidget(host)
    composer = ComposerWidget(host, region="US")
    tasks = BackgroundTasks(host)
    return composer, DraftKeeper(composer, path, Feedback(host), host, tasks=tasks), tasks


def test_the_file_is_written_off_the_gui_thread_and_the_newest_draft_wins(
    qtbot, tmp_path, monkeypatch
) -> None:
    path = tmp_path / "draft.json"
    composer, keeper, tasks = make_keeper(qtbot, path)
    writers: list[str] = []
    first_write_may_end = threading.Event()
    real_save = core_drafts.save_draft

    def slow_save(target: Path, draft: core_drafts.SavedDraft) -> None:
        writers.append(threading.current_thread().name)
        if len(writers) == 1:
            first_write_may_end.wait(5)  # the first write takes long: later ones queue behind it
        real_save(target, draft)

    monkeypatch.setattr("bwdesk.ui.draft_keeper.save_draft", slow_save)
    for text in ("one", "two", "three"):
        composer.text_edit.set_text(text)
        keeper.save_now()  # returns at once: the GUI thread does not wait for the disk
    first_write_may_end.set()
    qtbot.waitUntil(
        lambda: tasks.pending() == 0 and (d := load_draft(path)) is not None and d.text == "three"
    )
    assert threading.main_thread().name not in writers
    assert len(writers) == 2  # "two" was superseded by "three" while "one" was being written


def test_a_discard_after_a_save_leaves_no_file(qtbot, tmp_path) -> None:
    path = tmp_path / "draft.json"
    composer, keeper, tasks = make_keeper(qtbot, path)
    composer.text_edit.set_text("sent a moment later")
    keeper.save_now()
    keeper.discard()
    qtbot.waitUntil(lambda: tasks.pending() == 0)
    assert not path.exists()


def test_once_the_window_is_closing_the_last_save_is_written_at_once(qtbot, tmp_path) -> None:
    path = tmp_path / "draft.json"
    composer, keeper, _tasks = make_keeper(qtbot, path)
    composer.text_edit.set_text("typed just before quitting")
    keeper.stop()
    keeper.save_now()
    saved = load_draft(path)  # no waiting: the process may end right after closeEvent
    assert saved is not None and saved.text == "typed just before quitting"
