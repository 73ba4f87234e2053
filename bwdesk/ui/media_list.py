"""The composer's media list: links to send and local files uploaded to become links, in send order, what each row
is, and the MMS warnings; nothing typed or attached is silently left out (docs/design.md §8.7)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QMimeData,
    QObject,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFocusEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core.message import MAX_MEDIA, Draft, validate
from bwdesk.ui.media_rows import (
    ATTACHMENT_ROLE,
    DETAIL_ROLE,
    ERROR_ROLE,
    FAILED_ROLE,
    ICON_SIZE,
    PENDING_ROLE,
    PREVIEW_ROLE,
    THUMBNAIL_ROLE,
    URL_ROLE,
    Preview,
    RowDelegate,
    draw_file,
    draw_link,
    is_link,
    preview_of,
    short_name,
    sized,
    target_of,
)
from bwdesk.ui.style import Tone, text_css

if TYPE_CHECKING:
    from bwdesk.core.attachments import Attachment
    from bwdesk.core.media_info import SizedMedia

ROW_MIME = "application/x-bwdesk-media-row"

ATTACH_TOOLTIP = (
    "Upload a file from this computer with Bandwidth's Media API and send its link "
    "(images, audio, video, PDF, vCard…; at most 3.5 MB). You can also drop files here."
)

_VISIBLE_ROWS = 5  # the list grows with its rows up to this many, then scrolls
# Moving the current row also moves the selection to it alone (added links must not pile up selected).
_ONLY = QItemSelectionModel.SelectionFlag.ClearAndSelect


def split_links(text: str) -> list[str]:
    """Links typed or pasted together (one per line, or separated by spaces), in order.

    Lines always separate. Within a line, spaces separate only when every piece starts like a link
    (`scheme://`): `https://exa mple.com/a.jpg` is one mistyped link, kept whole so it is marked with
    the reason, not two pieces of which one looks fine.
    """
    links: list[str] = []
    for line in text.splitlines():
        pieces = line.split()
        if len(pieces) > 1 and not all(_LINK_START.match(piece) for piece in pieces):
            links.append(line.strip())
        else:
            links.extend(pieces)
    return links


_LINK_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class _MediaListView(QListWidget):
    """The rows; drag-and-drop reordering is done here by hand so it is a plain, testable row move."""

    row_dropped = Signal(int, int)  # from row, to position (before the row now at that position)
    delete_pressed = Signal()
    move_pressed = Signal(int)  # -1 up, +1 down
    links_dropped = Signal(list)
    files_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDropIndicatorShown(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setUniformItemSizes(True)
        self.setMouseTracking(True)

    def mimeTypes(self) -> list[str]:
        return [ROW_MIME, "text/uri-list", "text/plain"]

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        item = self.currentItem()
        if item is None or item.data(PENDING_ROLE):
            return
        mime = QMimeData()
        mime.setData(ROW_MIME, str(self.row(item)).encode())
        mime.setText(str(item.data(URL_ROLE)))
        drag = QtGui.QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.MoveAction)  # the drop moved the row already; nothing to remove here

    def drop_position(self, point: QPoint) -> int:
        """The row a drop at `point` (viewport coordinates) goes before (`count()` for the end)."""
        index = self.indexAt(point)
        if not index.isValid():
            return self.count()
        rect = self.visualRect(index)
        return index.row() + (1 if point.y() > rect.center().y() else 0)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _acceptable(event.mimeData()):
            super().dragEnterEvent(event)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _acceptable(event.mimeData()):
            super().dragMoveEvent(event)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        point = event.position().toPoint()
        if mime.hasFormat(ROW_MIME):
            source = int(bytes(mime.data(ROW_MIME).data()).decode())
            self.row_dropped.emit(source, self.drop_position(point))
        elif _local_files(mime):
            self.files_dropped.emit(_local_files(mime))
        elif mime.hasUrls() or mime.hasText():
            self.links_dropped.emit(_dropped_links(mime))
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.stopAutoScroll()
        self.setState(QAbstractItemView.State.NoState)
        self.viewport().update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        alt = event.modifiers() == Qt.KeyboardModifier.AltModifier
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not event.modifiers():
            self.delete_pressed.emit()
        elif alt and event.key() == Qt.Key.Key_Up:
            self.move_pressed.emit(-1)
        elif alt and event.key() == Qt.Key.Key_Down:
            self.move_pressed.emit(1)
        else:
            super().keyPressEvent(event)


class _LinkInput(QLineEdit):
    """The link input: a paste of several links goes straight into the list; leaving it (`left`) commits
    what was typed, unless focus only went to a popup or another window (the agent is not done)."""

    links_pasted = Signal(list)
    left = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        if event.reason() not in (Qt.FocusReason.PopupFocusReason, Qt.FocusReason.ActiveWindowFocusReason):
            self.left.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste) and self._paste_several():
            return
        super().keyPressEvent(event)

    def _paste_several(self) -> bool:
        links = split_links(QGuiApplication.clipboard().text())
        if len(links) < 2:
            return False
        self.links_pasted.emit(links)
        return True


class MediaListWidget(QWidget):
    """Media links to send, in order, at most `MAX_MEDIA`; plus Attach file… and file drag-and-drop.

    Signals: `changed()` whenever the links, their order or the uploads in progress change;
    `upload_requested(Attachment)` for a checked local file; `upload_cancelled(Attachment)` when a row still
    uploading is removed (a later `upload_finished` for it is ignored; the controller may delete the file).
    """

    changed = Signal()
    upload_requested = Signal(object)
    upload_cancelled = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._read_only = False
        self._sender = ""  # the From number: a toll-free one may send much smaller MMS
        self._external_errors: dict[int, str] = {}
        self.file_chooser: Callable[[], list[str]] = self._choose_files
        self.setAcceptDrops(True)
        self.setAccessibleName("Media")

        self._list = _MediaListView(self)
        self._list.setObjectName("mediaList")
        self._list.setAccessibleName("Media links")
        self._list.setToolTip(
            "Links sent with the message (it becomes an MMS), in this order. "
            "Delete removes, Alt+Up/Alt+Down or dragging reorders; right-click for more."
        )
        self._list.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self._delegate = RowDelegate(self._list)
        self._list.setItemDelegate(self._delegate)
        self._delegate.remove_clicked.connect(self.remove_row)
        self._list.row_dropped.connect(self._on_row_dropped)
        self._list.delete_pressed.connect(self.remove_selected)
        self._list.move_pressed.connect(self._move_current)
        self._list.links_dropped.connect(self.add_links)
        self._list.files_dropped.connect(self.attach_files)
        self._list.currentRowChanged.connect(lambda _row: self._update_actions())

        self._input = _LinkInput(self)
        self._input.setObjectName("mediaInput")
        self._input.setAccessibleName("Media link")
        self._input.setPlaceholderText("Paste or type a link (https://…) and press Enter")
        self._input.setToolTip(
            f"A link to an image or file to send with the message (http:// or https://). Paste several at "
            f"once, one per line. At most {MAX_MEDIA}."
        )
        self._input.returnPressed.connect(self._add_from_input)
        self._input.links_pasted.connect(self.add_links)
        self._input.left.connect(self._on_input_left)
        self._input.textEdited.connect(lambda _text: self._show_notice(""))
        self._input.installEventFilter(self)

        self._add = QPushButton("+ Add &URL", self)
        self._add.setObjectName("mediaAdd")
        self._add.setAccessibleName("Add media link")
        self._add.setToolTip(
            "Add the link typed on the left to the media list (Enter in the field does the same)"
        )
        # The mouse's twin of Enter in the field, so not a Tab stop of its own: from the text to the tag is
        # three Tabs (link input, Attach file…, tag), not four. Alt+U still presses it.
        self._add.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._add.clicked.connect(self._add_from_input)

        self._attach = QPushButton("Atta&ch file…", self)
        self._attach.setObjectName("mediaAttach")
        self._attach.setAccessibleName("Attach file")
        self._attach.setToolTip(ATTACH_TOOLTIP)
        self._attach.clicked.connect(self._attach_chosen)

        self._busy = QProgressBar(self)
        self._busy.setObjectName("mediaUploading")
        self._busy.setRange(0, 0)
        self._busy.setTextVisible(False)
        self._busy.setMaximumWidth(80)
        self._busy.setAccessibleName("Uploading")
        self._busy.setToolTip("Uploading; the message can be sent when the upload has finished")
        self._busy.hide()

        self._notice = QLabel(self)
        self._notice.setObjectName("mediaNotice")
        self._notice.setAccessibleName("Media notice")
        self._notice.setWordWrap(True)
        self._notice.setStyleSheet(text_css(Tone.PROBLEM, self.palette()))
        self._notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._notice.hide()

        # What the looks at the rows found that may keep the message from arriving (never blocks Send).
        self._warnings = QLabel(self)
        self._warnings.setObjectName("mediaWarnings")
        self._warnings.setAccessibleName("Media warnings")
        self._warnings.setWordWrap(True)
        self._warnings.setStyleSheet(text_css(Tone.WARNING, self.palette()))
        self._warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._warnings.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._input, 1)
        row.addWidget(self._add)
        row.addWidget(self._attach)
        row.addWidget(self._busy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self._list)
        layout.addLayout(row)
        layout.addWidget(self._notice)
        layout.addWidget(self._warnings)

        self._actions = self._make_actions()
        self._refresh()

    # --- public API ---------------------------------------------------------------------------------------

    def urls(self) -> list[str]:
        """The links to send, in order (files still uploading or whose upload failed are not included;
        invalid links are)."""
        return [str(item.data(URL_ROLE)) for item in self._items() if is_link(item)]

    def set_urls(self, urls: Iterable[str]) -> None:
        """Replace the links (e.g. a restored draft); uploads in progress are kept, failed ones go.

        All of them, even past `MAX_MEDIA` (a saved draft keeps a link typed one too many): the one too
        many is marked, as it was before the draft was saved.
        """
        pending = [self._list.takeItem(i) for i in reversed(range(self._list.count())) if self._is_pending(i)]
        self._list.clear()
        for url in urls:
            url = url.strip()
            if url and url not in self.urls():
                self._list.addItem(self._new_link_item(url))
        for item in reversed(pending):
            self._list.addItem(item)
        self._changed()

    def clear(self) -> None:
        """Nothing in the list, the input or the notices (New message, a sent message): uploads still
        running are cancelled, so a discarded file does not turn up in the next message."""
        for item in self._items():
            if item.data(PENDING_ROLE):
                self.upload_cancelled.emit(item.data(ATTACHMENT_ROLE))
        self._list.clear()
        self._input.clear()
        self._changed()

    def pending_text(self) -> str:
        """Text typed in the link input and not yet in the list (for the draft autosave)."""
        return self._input.text()

    def set_pending_text(self, text: str) -> None:
        self._input.setText(text)

    def commit_pending_text(self) -> int:
        """Turn the text left in the link input into rows (on leaving it, and on Send); returns how many.

        Like typed recipients: an invalid link joins marked with its reason, and so does a link past
        `MAX_MEDIA` (core's rule marks the one too many), so Send is blocked with the reason instead of
        sending without what the agent typed.
        """
        text = self._input.text()
        if self._read_only or not text.strip():
            return 0
        self._input.clear()
        return self.add_links(text, typed=True)

    def add_links(self, links: Sequence[str] | str, *, typed: bool = False) -> int:
        """Add links (a list, or text with one per line/space); returns how many were added.

        Duplicates are skipped. Past `MAX_MEDIA` the rest of a paste or drop is refused with a visible
        message (it is still on the clipboard or in its source); `typed` links join anyway, marked.
        """
        if self._read_only:
            return 0
        if isinstance(links, str):
            links = split_links(links)
        existing = set(self.urls())
        added = duplicates = refused = 0
        for url in (link.strip() for link in links):
            if not url:
                continue
            if url in existing:
                duplicates += 1
                continue
            if self._list.count() >= MAX_MEDIA and not typed:
                refused += 1
                continue
            self._list.addItem(self._new_link_item(url))
            existing.add(url)
            added += 1
        notes = []
        if refused:
            notes.append(self._limit_message(refused, "link"))
        if duplicates:
            notes.append(
                "Already in the list." if duplicates == 1 else f"{duplicates} links were already in the list."
            )
        if added:
            self._list.setCurrentRow(self._list.count() - 1, _ONLY)
            self._changed()
        self._show_notice(" ".join(notes))  # about this addition: after the change, which clears the last
        return added

    def attach_files(self, paths: Sequence[str | Path]) -> list[Attachment]:
        """Check local files and ask for their upload; refused files are explained in the notice."""
        from bwdesk.core import attachments  # loaded when a file is first attached, not at start-up

        if self._read_only:
            return []
        accepted: list[Attachment] = []
        problems: list[str] = []
        for index, path in enumerate(paths):
            if self._list.count() >= MAX_MEDIA:
                problems.append(self._limit_message(len(paths) - index, "file"))
                break
            try:
                attachment = attachments.check_attachment(path)
            except attachments.AttachmentError as exc:
                problems.append(str(exc))
                continue
            self._list.addItem(self._new_pending_item(attachment))
            accepted.append(attachment)
        if accepted:
            self._changed()
        self._show_notice("\n".join(problems))
        for attachment in accepted:
            self.upload_requested.emit(attachment)
        return accepted

    def upload_finished(self, attachment: Attachment, url: str) -> bool:
        """The upload of `attachment` is done: its row becomes the link. False if the row was removed."""
        row = self._pending_row(attachment)
        if row is None:
            return False
        url = url.strip()
        if url in self.urls():
            self._list.takeItem(row)
        else:
            item = self._list.item(row)
            item.setData(URL_ROLE, url)
            item.setData(PENDING_ROLE, False)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
        self._changed(by_agent=False)
        return True

    def upload_failed(self, attachment: Attachment, message: str) -> bool:
        """The upload of `attachment` failed: its row stays, marked failed with the reason, until it is
        uploaded again ("Upload again") or removed; Send waits meanwhile. False if already removed."""
        row = self._pending_row(attachment)
        if row is None:
            return False
        item = self._list.item(row)
        item.setData(PENDING_ROLE, False)
        item.setData(FAILED_ROLE, message or "the upload failed")
        self._changed(by_agent=False)
        return True

    def upload_again(self, row: int) -> None:
        """A failed upload is tried again (the file is read and checked again when it is uploaded)."""
        if self._read_only or not 0 <= row < self._list.count():
            return
        item = self._list.item(row)
        if not item.data(FAILED_ROLE):
            return
        item.setData(FAILED_ROLE, "")
        item.setData(PENDING_ROLE, True)
        self._changed()
        self.upload_requested.emit(item.data(ATTACHMENT_ROLE))

    def has_pending_uploads(self) -> bool:
        return any(item.data(PENDING_ROLE) for item in self._items())

    def failed_uploads(self) -> list[tuple[Attachment, str]]:
        """Files whose upload failed, with why: the message cannot go without them until they are dealt with."""
        return [
            (item.data(ATTACHMENT_ROLE), str(item.data(FAILED_ROLE)))
            for item in self._items()
            if item.data(FAILED_ROLE)
        ]

    def pending_attachments(self) -> list[Attachment]:
        return [item.data(ATTACHMENT_ROLE) for item in self._items() if item.data(PENDING_ROLE)]

    def remove_row(self, row: int) -> None:
        if self._read_only or not 0 <= row < self._list.count():
            return
        item = self._list.takeItem(row)
        if item.data(PENDING_ROLE):
            self.upload_cancelled.emit(item.data(ATTACHMENT_ROLE))
        self._changed()

    def remove_selected(self) -> None:
        rows = sorted((self._list.row(item) for item in self._list.selectedItems()), reverse=True)
        if not rows and self._list.currentRow() >= 0:
            rows = [self._list.currentRow()]
        for row in rows:
            self.remove_row(row)
        if self._list.count():
            self._list.setCurrentRow(min(rows[-1] if rows else 0, self._list.count() - 1), _ONLY)

    def move_row(self, row: int, to: int) -> None:
        """Move the row at `row` so it ends up at position `to`."""
        count = self._list.count()
        if self._read_only or not 0 <= row < count:
            return
        to = max(0, min(to, count - 1))
        if to == row:
            return
        item = self._list.takeItem(row)
        self._list.insertItem(to, item)
        self._list.setCurrentRow(to, _ONLY)
        self._changed()

    def set_read_only(self, read_only: bool) -> None:
        """While a message is sending its media can't change (the list can still be read and scrolled)."""
        self._read_only = read_only
        self._input.setReadOnly(read_only)
        self._add.setEnabled(not read_only)
        self._attach.setEnabled(not read_only)
        self._delegate.show_remove = not read_only
        self._list.setDragEnabled(not read_only)
        self._list.setAcceptDrops(not read_only)
        self.setAcceptDrops(not read_only)
        self._update_actions()
        self._list.viewport().update()

    def is_read_only(self) -> bool:
        return self._read_only

    def set_errors(self, errors: Mapping[int, str]) -> None:
        """Mark links by their index in `urls()` (e.g. the API's rejection); cleared by the next change."""
        self._external_errors = dict(errors)
        self._refresh()

    def errors(self) -> dict[int, str]:
        """Why each link that can't be sent can't be, by index in `urls()`."""
        out: dict[int, str] = {}
        for index, item in enumerate(i for i in self._items() if is_link(i)):
            if item.data(ERROR_ROLE):
                out[index] = str(item.data(ERROR_ROLE))
        return out

    def notice(self) -> str:
        """The message shown under the list ("" when none)."""
        return self._notice.text() if not self._notice.isHidden() else ""

    def tab_stops(self) -> list[QWidget]:
        """The controls Tab visits here, in order: the link input, Attach file…, then the list (once it has
        rows). "+ Add URL" is not one: Enter in the input does what it does."""
        return [self._input, self._attach, self._list]

    def input(self) -> QLineEdit:
        return self._input

    def list_view(self) -> QListWidget:
        return self._list

    def remove_button_rect(self, row: int) -> QRect:
        """Where the × of a row is drawn (viewport coordinates)."""
        return self._delegate.button_rect(self._list.visualRect(self._list.model().index(row, 0)))

    # --- rows -------------------------------------------------------------------------------------------

    def _items(self) -> list[QListWidgetItem]:
        return [self._list.item(i) for i in range(self._list.count())]

    def _is_pending(self, row: int) -> bool:
        return bool(self._list.item(row).data(PENDING_ROLE))

    def _pending_row(self, attachment: Attachment) -> int | None:
        for row, item in enumerate(self._items()):
            if item.data(PENDING_ROLE) and item.data(ATTACHMENT_ROLE) == attachment:
                return row
        return None

    def _new_link_item(self, url: str) -> QListWidgetItem:
        item = QListWidgetItem()
        item.setData(URL_ROLE, url)
        item.setData(PENDING_ROLE, False)
        item.setData(ATTACHMENT_ROLE, None)
        return item

    def _new_pending_item(self, attachment: Attachment) -> QListWidgetItem:
        item = QListWidgetItem()
        item.setData(URL_ROLE, "")
        item.setData(PENDING_ROLE, True)
        item.setData(ATTACHMENT_ROLE, attachment)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDragEnabled)
        return item

    def _changed(self, *, by_agent: bool = True) -> None:
        """The rows changed. A change the agent made also ends the notice about what they did before (a
        notice that is no longer true is worse than none); an upload finishing in the background does not."""
        self._external_errors = {}
        if by_agent:
            self._show_notice("")
        self._refresh()
        self.changed.emit()

    # --- looks at the rows (`ui.media_preview`) ---------------------------------------------------------

    def preview_targets(self) -> list[Attachment | str]:
        """What still wants a look: each file, and each link that can be sent, that has no preview yet."""
        targets: list[Attachment | str] = []
        for item in self._items():
            target = target_of(item)
            if target is not None and item.data(PREVIEW_ROLE) is None and target not in targets:
                targets.append(target)
        return targets

    def set_preview(self, target: Attachment | str, preview: Preview) -> None:
        """What a look at `target` found (rows removed meanwhile are simply not there any more)."""
        icon = QtGui.QIcon(QtGui.QPixmap.fromImage(preview.thumbnail)) if preview.thumbnail else None
        for item in self._items():
            if target_of(item) == target:
                item.setData(PREVIEW_ROLE, preview)
                item.setData(THUMBNAIL_ROLE, icon)
        self._refresh()

    def preview(self, row: int) -> Preview | None:
        return preview_of(self._list.item(row))

    def set_sender(self, sender: str) -> None:
        """The From number (the size limits are far lower from a toll-free one)."""
        if sender != self._sender:
            self._sender = sender
            self._refresh()

    def warnings(self) -> list[str]:
        """What is shown under the list as warnings ([] when nothing is)."""
        return (
            [line for line in self._warnings.text().split("\n") if line]
            if self._warnings.isVisibleTo(self)
            else []
        )

    def detail(self, row: int) -> str:
        """A row's detail as drawn at its right end (type, size, state)."""
        return str(self._list.item(row).data(DETAIL_ROLE) or "")

    # --- drawing --------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Re-check every link with core's rules and redraw the rows, the warnings, the busy bar and the
        actions."""
        urls = self.urls()
        problems: dict[int, str] = {}
        for problem in validate(Draft(sender="", recipients=(), media=tuple(urls))):
            if problem.field == "media" and problem.index is not None:
                problems.setdefault(problem.index, problem.message)
        for index, message in self._external_errors.items():
            problems.setdefault(index, message)
        warnings: list[str] = []
        sizes: list[SizedMedia] = []
        index = 0
        for item in self._items():
            attachment: Attachment | None = item.data(ATTACHMENT_ROLE)
            error = ""
            if is_link(item):
                error = problems.get(index, "")
                index += 1
            item.setData(ERROR_ROLE, error)
            preview = preview_of(item)
            if attachment is not None:
                draw_file(item, attachment, self)
                if not item.data(FAILED_ROLE):
                    sizes.append(sized(attachment.file_name, attachment.size))
            else:
                draw_link(item, error, self)
                if not error:
                    name = short_name(str(item.data(URL_ROLE)))
                    sizes.append(sized(name, preview.size if preview else None))
                    warnings.extend(f"{name}: {w}" for w in (preview.warnings if preview else ()))
        if sizes:
            from bwdesk.core.media_info import size_warnings
            from bwdesk.core.phone import is_toll_free

            warnings.extend(size_warnings(sizes, toll_free=bool(self._sender) and is_toll_free(self._sender)))
        self._warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
        self._warnings.setVisible(bool(warnings))
        self._busy.setVisible(self.has_pending_uploads())
        self._list.setVisible(self._list.count() > 0)
        rows = min(self._list.count(), _VISIBLE_ROWS)
        if rows:
            row_height = max(self._list.sizeHintForRow(0), ICON_SIZE + 4)
            self._list.setFixedHeight(rows * row_height + 2 * self._list.frameWidth() + 2)
        full = self._list.count() >= MAX_MEDIA
        self._attach.setToolTip(ATTACH_TOOLTIP if not full else f"The list is full (at most {MAX_MEDIA}).")
        self._update_actions()

    def _limit_message(self, count: int, kind: str) -> str:
        what = f"1 {kind} was" if count == 1 else f"{count} {kind}s were"
        return f"At most {MAX_MEDIA} media can go in one message; {what} not added."

    def _show_notice(self, text: str) -> None:
        self._notice.setText(text)
        self._notice.setVisible(bool(text))

    # --- input, file dialog, drops -------------------------------------------------------------------

    def _add_from_input(self) -> None:
        """Enter and "+ Add URL": the typed link joins the list and the input is ready for the next one."""
        self.commit_pending_text()
        self._input.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_input_left(self) -> None:
        if shiboken6.isValid(self):  # focus also moves while a closing window is being torn down
            self.commit_pending_text()

    def _choose_files(self) -> list[str]:
        from bwdesk.core.attachments import allowed_extensions  # loaded when a file is attached

        patterns = " ".join(f"*{ext}" for ext in allowed_extensions())
        files, _filter = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Attach files", str(Path.home()), f"Files MMS can carry ({patterns});;All files (*)"
        )
        return list(files)

    def _attach_chosen(self) -> None:
        paths = self.file_chooser()
        if paths:
            self.attach_files(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if not self._read_only and _acceptable(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if not self._read_only and _acceptable(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        files = _local_files(mime)
        if files:
            self.attach_files(files)
        else:
            self.add_links(_dropped_links(mime))
        event.acceptProposedAction()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Files dropped on the link input are attached, not typed into it as paths."""
        if (
            watched is self._input
            and isinstance(event, QDropEvent | QDragEnterEvent | QDragMoveEvent)
            and _local_files(event.mimeData())
        ):
            if self._read_only:
                event.ignore()
            elif event.type() == QEvent.Type.Drop:
                self.attach_files(_local_files(event.mimeData()))
                event.acceptProposedAction()
            else:
                event.acceptProposedAction()
            return True
        return super().eventFilter(watched, event)

    # --- actions --------------------------------------------------------------------------------------------

    def _make_actions(self) -> dict[str, QAction]:
        specs = [
            ("up", "Move up", "Alt+Up", lambda: self._move_current(-1)),
            ("down", "Move down", "Alt+Down", lambda: self._move_current(1)),
            ("remove", "Remove", "Delete", self.remove_selected),
            ("copy", "Copy link", "", self._copy_current),
            ("again", "Upload again", "", lambda: self.upload_again(self._list.currentRow())),
        ]
        actions: dict[str, QAction] = {}
        for key, text, shortcut, slot in specs:
            action = QAction(text, self._list)
            action.setObjectName(f"media-{key}")
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
                action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            self._list.addAction(action)
            actions[key] = action
        self._list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        return actions

    def _update_actions(self) -> None:
        if not hasattr(self, "_actions"):
            return
        row = self._list.currentRow()
        count = self._list.count()
        editable = not self._read_only and 0 <= row < count
        self._actions["up"].setEnabled(editable and row > 0)
        self._actions["down"].setEnabled(editable and row < count - 1)
        self._actions["remove"].setEnabled(editable)
        link = 0 <= row < count and is_link(self._list.item(row))
        self._actions["copy"].setEnabled(link)
        failed = 0 <= row < count and bool(self._list.item(row).data(FAILED_ROLE))
        self._actions["again"].setVisible(failed)  # only a failed upload has it
        self._actions["again"].setEnabled(editable and failed)

    def _move_current(self, step: int) -> None:
        row = self._list.currentRow()
        if row >= 0:
            self.move_row(row, row + step)

    def _on_row_dropped(self, row: int, position: int) -> None:
        self.move_row(row, position - 1 if position > row else position)

    def _copy_current(self) -> None:
        item = self._list.currentItem()
        if item is not None and is_link(item):
            QGuiApplication.clipboard().setText(str(item.data(URL_ROLE)))


def _local_files(mime: QMimeData) -> list[str]:
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def _dropped_links(mime: QMimeData) -> list[str]:
    if mime.hasUrls():
        return [url.toString() for url in mime.urls() if not url.isLocalFile()]
    return split_links(mime.text())


def _acceptable(mime: QMimeData) -> bool:
    return mime.hasFormat(ROW_MIME) or mime.hasUrls() or mime.hasText()
