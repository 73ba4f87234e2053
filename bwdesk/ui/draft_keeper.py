"""The message being written, kept on disk: saved a moment after each change, put back at start-up, removed
once it has been sent or discarded, so a crash or a restart never loses what the agent typed."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot

from bwdesk.core.drafts import clear_draft, load_draft, save_draft
from bwdesk.ui.composer import ComposerWidget
from bwdesk.ui.feedback import Duration, Feedback

#: How long after the last edit the draft is written (a few writes per second at most while typing).
AUTOSAVE_DELAY_MS = 400


class DraftKeeper(QObject):
    """Saves `composer`'s draft to `path` after every change (debounced), and on demand."""

    def __init__(
        self, composer: ComposerWidget, path: Path, feedback: Feedback, parent: QObject | None = None
    ):
        super().__init__(parent)
        self._composer = composer
        self._path = path
        self._feedback = feedback
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave.timeout.connect(self.save_now)
        composer.draft_changed.connect(self._autosave.start)

    def restore(self) -> None:
        """Put back the draft a previous run left (after a restart or a crash), and say so."""
        saved = load_draft(self._path)
        if saved is not None:
            self._composer.restore(saved)
            self._feedback.notify("Your unsent message was restored.", Duration.MOMENT)

    @Slot()
    def save_now(self) -> None:
        """Write the draft file now (it is small)."""
        self._autosave.stop()
        try:
            save_draft(self._path, self._composer.saved_draft())
        except OSError as exc:
            self._feedback.warn(f"Could not save the draft: {exc.strerror or exc}")

    def discard(self) -> None:
        """The message was sent or thrown away: no draft file is left to bring it back."""
        self._autosave.stop()
        clear_draft(self._path)

    def stop(self) -> None:
        """The window is closing: no autosave fires any more (the caller saves one last time)."""
        self._autosave.stop()
