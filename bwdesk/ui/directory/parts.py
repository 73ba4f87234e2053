"""The directory's parts of the main window, built and connected in one place: the chips' marks and names, the
history's menu and names, what the recorder put on the list told to the agent, and the list dialog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from bwdesk.core.directory.optout import OptOut
from bwdesk.core.phone import display_number
from bwdesk.ui.directory.actions import DirectoryActions
from bwdesk.ui.directory.checker import WindowDirectory
from bwdesk.ui.directory.marks import ComposerMarks
from bwdesk.ui.feedback import Duration

if TYPE_CHECKING:
    from bwdesk.ui.directory.contacts_dialog import ContactsDialog
    from bwdesk.ui.directory.optout_dialog import OptOutDialog
    from bwdesk.ui.main_window import MainWindow
    from bwdesk.ui.services import Services


def added_notice(entry: OptOut) -> str:
    """What the agent is told when an answer from Bandwidth put a number on the list."""
    return (
        f"{display_number(entry.number)} is now on the do-not-text list: {entry.describe()}. Messages to it are "
        "refused from now on."
    )


class DirectoryParts(QObject):
    """Owns the window's directory (`directory`), its actions and the composer's marks."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._services: Services | None = None
        self.directory = WindowDirectory(window.tasks, self)
        self.actions = DirectoryActions(self.directory, window.feedback, self)
        self.marks = ComposerMarks(window.composer, self.directory, self)
        self.dialog: OptOutDialog | None = None
        self.contacts_dialog: ContactsDialog | None = None
        window.composer.recipients.set_chip_menu(self.actions.fill_chip_menu)
        window.history_view.menu_extender = self.actions.fill_history_menu
        self.directory.contacts_changed.connect(self._show_names)
        # A contact added or edited here changes what a template's variables fill with.
        self.directory.contacts_changed.connect(window.composer.contacts.forget)
        session, history = window.session, window.history_view.history_actions
        session.opted_out_refused.connect(self.directory.learn)
        session.answers_recorded.connect(self.tell_news)
        history.refresh_finished.connect(self.tell_news)
        history.check_finished.connect(self.tell_news)

    def use_services(self, services: Services | None) -> None:
        self._services = services
        if services is None:
            self.directory.set_store(None)
        else:
            self.directory.set_store(services.directory, services.directory_problem)

    def tell_news(self, *_answer: object) -> None:
        """What the recorder put on the list since it was last asked (a send's answer, a status): the agent
        is told, and every chip is checked again."""
        recorder = self._services.recorder if self._services is not None else None
        if recorder is None:
            return
        news, problems = recorder.take_news()
        if news:
            self._window.feedback.notify(" ".join(added_notice(n.entry) for n in news), Duration.WARNING)
            self.directory.changed()
        for problem in problems:
            self._window.feedback.warn(problem)

    @Slot()
    def open_list(self) -> None:
        """Tools → Do-not-text list: one dialog, raised when already open."""
        from bwdesk.ui.directory.optout_dialog import OptOutDialog

        if self.dialog is None:
            self.dialog = OptOutDialog(
                self.directory,
                self.actions,
                self._window.feedback,
                self._window.context.settings.region,
                self._window,
            )
        if self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
        else:
            self.dialog.show()
        self.dialog.reload()

    @Slot()
    def open_contacts(self) -> None:
        """Tools → Contacts: one dialog, raised when already open."""
        from bwdesk.ui.directory.contacts_dialog import ContactsDialog

        if self.contacts_dialog is None:
            window = self._window
            self.contacts_dialog = ContactsDialog(
                self.directory, self.actions, window.feedback, window.context.settings.region, window
            )
        if self.contacts_dialog.isVisible():
            self.contacts_dialog.raise_()
            self.contacts_dialog.activateWindow()
        else:
            self.contacts_dialog.show()
        self.directory.reload_contacts()

    @Slot()
    def _show_names(self) -> None:
        directory = self.directory
        self._window.history_view.model.set_names(directory.name_of if directory.has_contacts() else None)
