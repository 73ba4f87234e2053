"""Templates in the composer: the book an agent picks from (loaded on a worker), the picker (the Templates
button, Ctrl+T), the slash list (`/` and a name at the start of the text), inserting a template, and the manage
dialog. Nothing here asks the store on the GUI thread."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QTextCursor

from bwdesk.core.directory.choice import template_book
from bwdesk.core.directory.template_book import Template, TemplateBook, book_of
from bwdesk.ui.feedback import Duration, Feedback, error_message
from bwdesk.ui.templates.popup import TemplatePopup

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.directory.store import TemplateShelf
    from bwdesk.ui.composer import ComposerWidget
    from bwdesk.ui.tasks import BackgroundTasks

#: `/` then what may be a template's name, typed at the very start of the text.
_SLASH = re.compile(r"/([^/\n]{0,60})")


class TemplatesController(QObject):
    """Inserts templates into `composer`. `book_changed` fires when a newly loaded book is in use."""

    book_changed = Signal()

    def __init__(
        self,
        composer: ComposerWidget,
        tasks: BackgroundTasks,
        feedback: Feedback,
        context: Context,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._composer = composer
        self._tasks = tasks
        self._feedback = feedback
        self._context = context
        self._locked = (
            context.loaded.templates
        )  # IT's, from the system settings file: in memory from the start
        self._shelf: TemplateShelf | None = None
        self._shelf_problem = ""
        self._book = book_of([self._locked])
        self._inserting = False
        self._slash_dismissed = False
        self.open_manager_hook: Callable[[], object] | None = None  # the window opens the dialog
        editor = composer.text_edit
        self.picker = TemplatePopup(composer, with_filter=True)
        self.slash_list = TemplatePopup(composer, with_filter=False)
        for popup in (self.picker, self.slash_list):
            popup.set_book(self._book)
        self.picker.chosen.connect(self._chosen_from_picker)
        self.picker.dismissed.connect(lambda: composer.focus_text())
        self.picker.manage_requested.connect(self._manage_from_picker)
        self.slash_list.chosen.connect(self._chosen_after_slash)
        self.slash_list.dismissed.connect(self._slash_escaped)
        editor.installEventFilter(self)
        editor.textChanged.connect(self._check_slash)
        editor.cursorPositionChanged.connect(self._check_slash)
        composer.templates_button.clicked.connect(self.open_picker)

    # --- the book ---------------------------------------------------------------------------------------

    def book(self) -> TemplateBook:
        return self._book

    def shelf(self) -> TemplateShelf | None:
        return self._shelf

    def use(self, shelf: TemplateShelf | None, problem: str = "") -> None:
        """The store's templates from now on (None: IT's alone); loads them in the background."""
        self._shelf, self._shelf_problem = shelf, problem
        self.reload()

    def reload(self) -> None:
        """Read the store's templates again (on a worker): another desk, or the manage dialog, changed them."""
        shelf = self._shelf
        if shelf is None:
            self._set_book(book_of([self._locked]))
            return
        self._tasks.run(
            functools.partial(template_book, self._context, shelf),
            functools.partial(self._loaded, shelf),
            self._load_failed,
            description="load the templates",
            owner=self,
        )

    def _loaded(self, shelf: TemplateShelf, book: TemplateBook) -> None:
        if shelf is self._shelf:
            self._set_book(book)

    def _load_failed(self, exc: BaseException) -> None:
        self._feedback.warn(
            f"Your templates could not be read: {error_message(exc)} IT's templates are still offered."
        )

    def _set_book(self, book: TemplateBook) -> None:
        self._book = book
        for popup in (self.picker, self.slash_list):
            popup.set_book(book)
        self.book_changed.emit()

    # --- the picker: Templates button, Ctrl+T ---------------------------------------------------------------------

    @Slot()
    def open_picker(self) -> None:
        """Show the filtered list with the focus in its filter; the book is read again meanwhile."""
        if self._composer.is_sending():
            return
        self.slash_list.hide()
        self.picker.filter_edit.clear()
        self.picker.set_query("")
        editor = self._composer.text_edit
        self.picker.show_at(editor.viewport().mapToGlobal(editor.cursorRect().bottomLeft() + QPoint(0, 4)))
        self.reload()

    def _chosen_from_picker(self, template: Template) -> None:
        editor = self._composer.text_edit
        cursor = editor.textCursor()
        self.insert(template, cursor.selectionStart(), cursor.selectionEnd())

    def _manage_from_picker(self) -> None:
        self.picker.hide()
        if self.open_manager_hook is not None:
            self.open_manager_hook()

    # --- the slash list: "/" and a name at the start of the text ---------------------------------------------

    def slash_query(self) -> str | None:
        """What follows a `/` typed at the start of the text, up to the cursor (None: no such thing)."""
        editor = self._composer.text_edit
        cursor = editor.textCursor()
        if cursor.hasSelection() or cursor.blockNumber() != 0:
            return None
        typed = cursor.block().text()[: cursor.positionInBlock()]
        match = _SLASH.fullmatch(typed)
        return match.group(1) if match else None

    @Slot()
    def _check_slash(self) -> None:
        if self._inserting:
            return
        editor = self._composer.text_edit
        if not editor.toPlainText().startswith("/"):
            self._slash_dismissed = False
        query = self.slash_query()
        if query is None or self._slash_dismissed or editor.isReadOnly() or not editor.hasFocus():
            self.slash_list.hide()
            return
        self.slash_list.set_query(query)
        if self.slash_list.list.count() == 0:
            self.slash_list.hide()  # nothing to offer: the agent may mean a plain "/"
            return
        if not self.slash_list.isVisible():
            rect = editor.cursorRect()
            self.slash_list.show_at(editor.viewport().mapToGlobal(rect.bottomLeft() + QPoint(0, 4)))

    def _chosen_after_slash(self, template: Template) -> None:
        editor = self._composer.text_edit
        self.insert(template, 0, editor.textCursor().position())

    def _slash_escaped(self) -> None:
        self._slash_dismissed = True  # until the text no longer starts with "/"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """While the slash list shows, Up, Down, Enter and Esc are its; every other key types on. Ctrl+Enter (Send)
        chooses too, instead of sending the "/name" typed to find a template: the agent sends with the next one."""
        if watched is self._composer.text_edit:
            if (
                event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
                and isinstance(event, QKeyEvent)
                and self.slash_list.isVisible()
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                event.accept()  # a ShortcutOverride accepted: the Send shortcut does not fire, the key comes here
                if event.type() == QEvent.Type.KeyPress:
                    self.slash_list.choose()
                return True
            if (
                event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and self.slash_list.isVisible()
            ):
                if self.slash_list.handle_key(event.key(), event.modifiers()):
                    return True
            elif event.type() == QEvent.Type.FocusOut and shiboken6.isValid(self.slash_list):
                self.slash_list.hide()
        return super().eventFilter(watched, event)

    # --- inserting ------------------------------------------------------------------------------------------------

    def insert(self, template: Template, start: int, end: int) -> None:
        """Put `template`'s text in place of the text box's `start`..`end` (document positions) as one undoable
        edit, and its tag and media links into their fields. A tag the agent already typed is kept (and they
        are told); links already in the list are not added twice. The text stays the agent's to edit."""
        composer = self._composer
        editor = composer.text_edit
        if editor.isReadOnly():
            return
        cursor = editor.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        editor.setTextCursor(cursor)
        self._inserting = True
        cursor.beginEditBlock()  # one step for Ctrl+Z, apart from the typing before it
        try:
            editor.insertPlainText(template.text)  # cut to the cap like a paste, with the same notice
        finally:
            cursor.endEditBlock()
            self._inserting = False
        self.slash_list.hide()
        notes = [f"Inserted the template “{template.name}”."]
        if template.tag:
            current = composer.tag_edit.tag()
            if not current.strip():
                composer.tag_edit.set_tag(template.tag)
            elif current != template.tag:
                notes.append(f"Your tag “{current}” is kept (the template's is “{template.tag}”).")
        if template.media:
            added = composer.media_list.add_links(list(template.media), typed=True)
            if added:
                notes.append(f"Its {added} media link{'s' if added != 1 else ''} joined Media.")
        if template.variable_names():
            notes.append("Its {variables} are filled for each recipient; a marked one needs a value.")
        self._feedback.notify(" ".join(notes), Duration.MOMENT)
        composer.focus_text()
