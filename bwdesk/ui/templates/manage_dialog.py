"""Templates → Manage: list, add, edit (with the composer's live counter), duplicate, delete, import and export
JSON (core's form). Personal and team templates are the store's; IT's (the system settings file) are shown,
locked. Every store and file call runs on a worker."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from PySide6 import QtWidgets
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core.directory.store import TemplateExists
from bwdesk.core.directory.template_book import (
    Scope,
    Template,
    clean_name,
    locked_named,
    template_problems,
    templates_from_json,
    templates_to_json,
)
from bwdesk.core.errors import BwdeskError
from bwdesk.core.message import normalise_line_breaks
from bwdesk.ui.feedback import Duration, Feedback, error_message
from bwdesk.ui.message_text import MessageTextEdit, TextCounter
from bwdesk.ui.style import ProblemLabel
from bwdesk.ui.templates.popup import SCOPE_WORDS, template_line

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.directory.store import TemplateShelf
    from bwdesk.ui.tasks import BackgroundTasks

T = TypeVar("T")
_ROLE = Qt.ItemDataRole.UserRole
LOCKED_TIP = (
    "IT set this template in the system settings file: it cannot be changed or deleted here. Duplicate it to "
    "make one of your own."
)
NO_STORE_TIP = (
    "The templates' store could not be opened (see the notice above the composer); only IT's are shown."
)


class ManageTemplatesDialog(QDialog):
    """The templates of this desk. `changed` fires after each save, delete or import (the book is stale)."""

    changed = Signal()
    loaded = Signal()  # the list was (re)read

    def __init__(
        self, parent: QWidget | None, tasks: BackgroundTasks, context: Context, shelf: TemplateShelf | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Templates")
        self.setAccessibleName("Manage templates")
        self.resize(760, 520)
        self._tasks = tasks
        self._locked = context.loaded.templates
        self._shelf = shelf
        self._editing: Template | None = None  # the saved template the form shows (None: a new one)
        self._busy = False
        self.feedback = Feedback(self)
        #: Asks for a file: (title, for saving) → path ("" when cancelled). Tests answer it.
        self.choose_file: Callable[[str, bool], str] = self._file_dialog

        self.list = QListWidget(self)
        self.list.setAccessibleName("Templates")
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Template name")
        self.scope_combo = QComboBox(self)
        self.scope_combo.setAccessibleName("Who can use it")
        scopes = shelf.template_scopes if shelf is not None else frozenset()
        for scope in (Scope.PERSONAL, Scope.TEAM):
            self.scope_combo.addItem(
                "Personal: only you" if scope is Scope.PERSONAL else "Team: everyone in the team", scope.value
            )
            if scope not in scopes:
                item = self.scope_combo.model().item(self.scope_combo.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
                item.setToolTip(
                    "Team templates need a team history that keeps them (Settings → Team history)."
                )
        self.text_edit = MessageTextEdit(self)
        self.text_edit.setAccessibleName("Template text")
        self.text_edit.setPlaceholderText("Hi {first_name|there}, …")
        self.counter = TextCounter(self)
        self.counter.attach_to(self.text_edit)
        self.tag_edit = QLineEdit(self)
        self.tag_edit.setAccessibleName("Template tag")
        self.media_edit = QPlainTextEdit(self)
        self.media_edit.setAccessibleName("Template media links")
        self.media_edit.setPlaceholderText("Media links, one per line")
        self.media_edit.setTabChangesFocus(True)
        self.media_edit.setMaximumHeight(70)
        self.problem = ProblemLabel("template", "the template", self)

        self.new_button = QPushButton("N&ew", self)
        self.save_button = QPushButton("&Save", self)
        self.duplicate_button = QPushButton("D&uplicate", self)
        self.delete_button = QPushButton("&Delete", self)
        self.import_button = QPushButton("&Import…", self)
        self.export_button = QPushButton("E&xport…", self)
        self.close_button = QPushButton("Close", self)

        form = QFormLayout()
        form.addRow("&Name", self.name_edit)
        form.addRow("Wh&o", self.scope_combo)
        text_box = QWidget(self)
        text_layout = QVBoxLayout(text_box)
        text_layout.setContentsMargins(0, 0, 0, 0)
        text_layout.addWidget(self.text_edit)
        text_layout.addWidget(self.counter)
        form.addRow("&Text", text_box)
        form.addRow("T&ag", self.tag_edit)
        form.addRow("&Media", self.media_edit)
        form.addRow("", self.problem)
        text_label = form.labelForField(text_box)
        if isinstance(text_label, QtWidgets.QLabel):
            text_label.setBuddy(self.text_edit)  # Alt+T goes into the text, not its box
        editor_buttons = QHBoxLayout()
        for button in (self.new_button, self.save_button, self.duplicate_button, self.delete_button):
            editor_buttons.addWidget(button)
        editor_buttons.addStretch(1)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(editor_buttons)
        top = QHBoxLayout()
        top.addWidget(self.list, 2)
        top.addLayout(right, 3)
        bottom = QHBoxLayout()
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.export_button)
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(bottom)

        self.list.currentItemChanged.connect(self._selected)
        self.new_button.clicked.connect(self.new_template)
        self.save_button.clicked.connect(self.save)
        self.duplicate_button.clicked.connect(self.duplicate)
        self.delete_button.clicked.connect(self.delete)
        self.import_button.clicked.connect(self._import_clicked)
        self.export_button.clicked.connect(self._export_clicked)
        self.close_button.clicked.connect(self.accept)
        for edit in (self.name_edit, self.tag_edit):
            edit.textChanged.connect(lambda _t: self.problem.show_problem(""))
        self.new_template()
        self.reload()

    # --- the list -------------------------------------------------------------------------------------------

    def reload(self, select: tuple[str, Scope] | None = None) -> None:
        """Read the store's templates again (on a worker) and list them beside IT's."""
        shelf = self._shelf
        if shelf is None:
            self._listed(select, [])
            return
        self._tasks.run(
            shelf.templates,
            functools.partial(self._listed, select),
            lambda exc: self._failed("Reading the templates", exc),
            description="read the templates",
            owner=self,
        )

    def _listed(self, select: tuple[str, Scope] | None, kept: list[Template]) -> None:
        templates = sorted([*self._locked, *kept], key=lambda t: (t.key, t.scope.value))
        self.list.blockSignals(True)
        self.list.clear()
        for template in templates:
            item = QListWidgetItem(template_line(template))
            item.setData(_ROLE, template)
            if template.locked:
                item.setToolTip(LOCKED_TIP)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if select is not None:
            for row in range(self.list.count()):
                template = self.template_at(row)
                if template.key == clean_name(select[0]).casefold() and template.scope is select[1]:
                    self.list.setCurrentRow(row)
                    break
        self._update_buttons()
        self.loaded.emit()

    def template_at(self, row: int) -> Template:
        template = self.list.item(row).data(_ROLE)
        assert isinstance(template, Template)
        return template

    def names(self) -> list[str]:
        """The listed templates as `name (whose)`, in order."""
        return [
            f"{t.name} ({SCOPE_WORDS[t.scope]})"
            for t in (self.template_at(r) for r in range(self.list.count()))
        ]

    def select(self, name: str, scope: Scope | None = None) -> None:
        for row in range(self.list.count()):
            template = self.template_at(row)
            if template.name == name and (scope is None or template.scope is scope):
                self.list.setCurrentRow(row)
                return
        raise LookupError(name)

    def _selected(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is None:
            return
        template = item.data(_ROLE)
        assert isinstance(template, Template)
        self._show(template, editing=template)

    # --- the form ---------------------------------------------------------------------------------------------

    def _show(self, template: Template, *, editing: Template | None) -> None:
        self._editing = editing
        self.name_edit.setText(template.name)
        index = self.scope_combo.findData(template.scope.value)
        if index >= 0:
            self.scope_combo.setCurrentIndex(index)
        self.text_edit.set_text(template.text)
        self.tag_edit.setText(template.tag)
        self.media_edit.setPlainText("\n".join(template.media))
        self.problem.show_problem("")
        self._update_buttons()

    def form_template(self) -> Template:
        """The template as the form has it now."""
        scope = Scope(self.scope_combo.currentData() or Scope.PERSONAL.value)
        media = tuple(line.strip() for line in self.media_edit.toPlainText().splitlines() if line.strip())
        return Template(
            self.name_edit.text(),
            normalise_line_breaks(self.text_edit.text()),
            self.tag_edit.text().strip(),
            media,
            scope,
        )

    def _update_buttons(self) -> None:
        locked = self._editing is not None and self._editing.locked
        store = self._shelf is not None
        for widget in (self.name_edit, self.tag_edit):
            widget.setReadOnly(locked)
        self.text_edit.setReadOnly(locked)
        self.media_edit.setReadOnly(locked)
        self.scope_combo.setEnabled(not locked and store and self._editing is None)
        self.save_button.setEnabled(store and not locked and not self._busy)
        self.delete_button.setEnabled(store and not locked and self._editing is not None and not self._busy)
        self.duplicate_button.setEnabled(store and self._editing is not None and not self._busy)
        self.import_button.setEnabled(store and not self._busy)
        self.export_button.setEnabled(store and not self._busy)
        why = LOCKED_TIP if locked else (NO_STORE_TIP if not store else "")
        self.save_button.setToolTip(why or "Save the template (a new name saves it as a new one)")
        self.delete_button.setToolTip(why or "Delete the template")
        self.duplicate_button.setToolTip(NO_STORE_TIP if not store else "A copy to change, saved as yours")

    def new_template(self) -> None:
        """An empty form for a new personal template."""
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self._show(Template("", ""), editing=None)
        self.name_edit.setFocus()

    def duplicate(self) -> None:
        """A copy of the selected template in the form, named "… (copy)", unsaved and personal."""
        if self._editing is None:
            return
        original = self._editing
        copy = replace(original, name=f"{original.name} (copy)", scope=Scope.PERSONAL, updated=None, by=None)
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self._show(copy, editing=None)
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    # --- save, delete ----------------------------------------------------------------------------------------

    def save(self) -> None:
        """Check the form by the template rules, then save it on a worker (renaming: the old one goes)."""
        shelf = self._shelf
        original = self._editing
        if shelf is None or (original is not None and original.locked):
            return
        template = self.form_template()
        problems = [str(p) for p in template_problems(template)]
        clash = locked_named(self._locked, template.name)
        if clash is not None:
            problems.insert(0, f"name: “{clash.name}” is IT's template; choose another name for yours")
        if problems:
            self.problem.show_problem("; ".join(problems) + ". Nothing was saved.")
            return
        same = original is not None and original.key == template.key and original.scope is template.scope
        self._run(
            functools.partial(_save, shelf, template, original, same),
            lambda saved: self._done(f"Saved the template “{saved.name}”.", (saved.name, saved.scope)),
            "Saving the template",
        )

    def delete(self) -> None:
        shelf, template = self._shelf, self._editing
        if shelf is None or template is None or template.locked:
            return
        if not self.feedback.confirm(
            "Delete this template?",
            f"The {SCOPE_WORDS[template.scope]} template “{template.name}” will be deleted"
            + (" for everyone in the team." if template.scope is Scope.TEAM else "."),
            "Delete it",
        ):
            return
        self._run(
            functools.partial(shelf.remove_template, template.name, template.scope),
            lambda _removed: self._deleted(template),
            "Deleting the template",
        )

    def _deleted(self, template: Template) -> None:
        self.new_template()
        self._done(f"Deleted the template “{template.name}”.", None)

    # --- import, export ---------------------------------------------------------------------------------------

    def _import_clicked(self) -> None:
        path = self.choose_file("Import templates", False)
        if path:
            self.import_from(path)

    def _export_clicked(self) -> None:
        path = self.choose_file("Export templates", True)
        if path:
            self.export_to(path)

    def import_from(self, path: str) -> None:
        """Save the templates of a JSON file as personal ones (on a worker); those refused are named."""
        shelf = self._shelf
        if shelf is None:
            return
        self._run(
            functools.partial(_import, shelf, self._locked, path),
            self._imported,
            "Importing templates",
        )

    def _imported(self, outcome: tuple[int, list[str]]) -> None:
        saved, problems = outcome
        text = f"Imported {saved} template{'s' if saved != 1 else ''}."
        self._done(text, None)
        if problems:
            self.feedback.error(
                "Some templates were not imported",
                f"{text} These were not:\n"
                + "\n".join(f"• {p}" for p in problems[:20])
                + (f"\n… and {len(problems) - 20} more." if len(problems) > 20 else ""),
            )

    def export_to(self, path: str) -> None:
        """Write the store's templates (not IT's: they are IT's to hand out) as JSON (on a worker)."""
        shelf = self._shelf
        if shelf is None:
            return
        self._run(
            functools.partial(_export, shelf, path),
            lambda count: self._done(
                f"Wrote {count} template{'s' if count != 1 else ''} to {path}.", None, changed=False
            ),
            "Exporting templates",
        )

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _run(self, work: Callable[[], T], done: Callable[[T], object], what: str) -> None:
        self._busy = True
        self._update_buttons()
        self._tasks.run(work, done, lambda exc: self._failed(what, exc), description=what.lower(), owner=self)

    def _done(self, note: str, select: tuple[str, Scope] | None, *, changed: bool = True) -> None:
        self._busy = False
        self.feedback.notify(note, Duration.MOMENT)
        if changed:
            self.changed.emit()
        self.reload(select)

    def _failed(self, what: str, exc: BaseException) -> None:
        self._busy = False
        self._update_buttons()
        if isinstance(exc, TemplateExists):
            self.problem.show_problem(f"name: {exc} Choose another name. Nothing was saved.")
            return
        self.feedback.error("Templates", error_message(exc, what))

    def _file_dialog(self, title: str, for_saving: bool) -> str:
        files = "JSON files (*.json);;All files (*)"
        if for_saving:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, title, "templates.json", files)
        else:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, title, "", files)
        return str(path)


def _save(shelf: TemplateShelf, template: Template, original: Template | None, same: bool) -> Template:
    """On a worker: keep `template`; when it was `original` under another name or scope, that one goes."""
    saved = shelf.save_template(template, replace=same)
    if original is not None and not same:
        shelf.remove_template(original.name, original.scope)
    return saved


def _import(shelf: TemplateShelf, locked: tuple[Template, ...], path: str) -> tuple[int, list[str]]:
    """On a worker: read `path` as core's JSON and save each valid template not clashing with IT's or one kept."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        return 0, [f"{os.path.basename(path)} cannot be read as JSON: {why}"]
    found, problems = templates_from_json(data, Scope.PERSONAL)
    saved = 0
    for template in found:
        if locked_named(locked, template.name) is not None:
            problems.append(f"template {template.name!r}: IT's template has that name")
            continue
        try:
            shelf.save_template(template)
        except TemplateExists:
            problems.append(f"template {template.name!r}: you already have one of that name (it was kept)")
            continue
        saved += 1
    return saved, problems


def _export(shelf: TemplateShelf, path: str) -> int:
    """On a worker: the store's templates as JSON, owner-only like every export."""
    kept = templates_to_json(shelf.templates())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(kept, ensure_ascii=False, indent=2) + "\n")
    except OSError as exc:
        raise BwdeskError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None
    return len(kept)
