"""The rows of the media list: what each holds (item data roles), what a look at it found (`Preview`), and how it
is drawn: icon or thumbnail, name, detail (type, size, upload state) and the × that removes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QListWidgetItem, QStyledItemDelegate, QWidget

from bwdesk.ui.style import Tone, tone_colour

if TYPE_CHECKING:
    from bwdesk.core.attachments import Attachment
    from bwdesk.core.media_info import SizedMedia

URL_ROLE = Qt.ItemDataRole.UserRole + 1  # str: the link ("" while uploading)
ATTACHMENT_ROLE = Qt.ItemDataRole.UserRole + 2  # Attachment | None: the file the link was uploaded from
PENDING_ROLE = Qt.ItemDataRole.UserRole + 3  # bool: still uploading, not sendable yet
ERROR_ROLE = Qt.ItemDataRole.UserRole + 4  # str: why the link can't be sent ("" when it can)
FAILED_ROLE = Qt.ItemDataRole.UserRole + 5  # str: why the file's upload failed ("" unless it did)
PREVIEW_ROLE = Qt.ItemDataRole.UserRole + 6  # Preview | None: what a look at the row found
DETAIL_ROLE = Qt.ItemDataRole.UserRole + 7  # str: type, size and state, drawn at the row's right end
THUMBNAIL_ROLE = Qt.ItemDataRole.UserRole + 8  # QIcon | None: the preview's thumbnail, made once

_REMOVE_WIDTH = 24
ICON_SIZE = 28  # a thumbnail's side, in pixels


@dataclass(frozen=True)
class Preview:
    """What a look at a row found (`ui.media_preview`): its type in words ("JPEG image"), its size, a small
    image of it, warnings about it (each a sentence), and why it could not be looked at ("" when it could)."""

    type_text: str = ""
    size: int | None = None
    thumbnail: QtGui.QImage | None = None
    warnings: tuple[str, ...] = ()
    note: str = ""


class RowDelegate(QStyledItemDelegate):
    """Draws each row: its icon and name, its detail at the right, then a × whose clicks it reports."""

    remove_clicked = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.show_remove = True

    def button_rect(self, row_rect: QRect) -> QRect:
        return QRect(row_rect.right() - _REMOVE_WIDTH + 1, row_rect.top(), _REMOVE_WIDTH, row_rect.height())

    def sizeHint(
        self, option: QtWidgets.QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + _REMOVE_WIDTH, max(size.height(), ICON_SIZE + 4))  # room for a thumbnail

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """The row (icon and name, elided), its detail (type, size, state) at the right, then the ×."""
        detail = str(index.data(DETAIL_ROLE) or "")
        right = _REMOVE_WIDTH if self.show_remove else 0
        detail_width = 0
        if detail:
            detail_width = min(option.fontMetrics.horizontalAdvance(detail) + 12, option.rect.width() // 2)
        text_option = QtWidgets.QStyleOptionViewItem(option)
        text_option.rect = option.rect.adjusted(0, 0, -right - detail_width, 0)
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawPrimitive(
                QtWidgets.QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget
            )
        super().paint(painter, text_option, index)
        painter.save()
        selected = bool(option.state & QtWidgets.QStyle.StateFlag.State_Selected)
        role = QtGui.QPalette.ColorRole.HighlightedText if selected else QtGui.QPalette.ColorRole.Text
        painter.setPen(option.palette.color(role))
        if detail:
            area = QRect(
                text_option.rect.right() + 1, option.rect.top(), detail_width - 6, option.rect.height()
            )
            shown = option.fontMetrics.elidedText(detail, Qt.TextElideMode.ElideRight, area.width())
            painter.drawText(area, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shown)
        if self.show_remove:
            painter.drawText(self.button_rect(option.rect), Qt.AlignmentFlag.AlignCenter, "×")
        painter.restore()

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QtWidgets.QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        if (
            self.show_remove
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
            and self.button_rect(option.rect).contains(event.position().toPoint())
        ):
            if event.type() == QEvent.Type.MouseButtonRelease:
                self.remove_clicked.emit(index.row())
            return event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease)
        return super().editorEvent(event, model, option, index)


def draw_file(item: QListWidgetItem, attachment: Attachment, widget: QWidget) -> None:
    """A local file: its type and size (known from the file), its thumbnail, and how its upload goes."""
    from bwdesk.core.attachments import format_size  # loaded with the first file, not at start-up
    from bwdesk.core.media_info import describe_type

    name = attachment.file_name
    what = " · ".join(p for p in (describe_type(attachment.content_type), format_size(attachment.size)) if p)
    failed = str(item.data(FAILED_ROLE) or "")
    thumbnail = item.data(THUMBNAIL_ROLE)
    style = widget.style()
    if item.data(PENDING_ROLE):
        state, colour = (
            "uploading…",
            widget.palette().color(QtGui.QPalette.ColorGroup.Disabled, QtGui.QPalette.ColorRole.Text),
        )
        icon = thumbnail or style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_BrowserReload)
        tip = f"Uploading {name} ({what}). The message can be sent when the upload has finished."
    elif failed:
        state, colour = "upload failed", tone_colour(Tone.PROBLEM, widget.palette())
        icon = style.standardIcon(
            QtWidgets.QStyle.StandardPixmap.SP_MessageBoxCritical
        )  # an error, not a caution
        tip = (
            f"{name} could not be uploaded: {failed}. Upload it again (right-click) or remove it; the "
            "message cannot be sent without it until then."
        )
    else:
        state, colour = "uploaded", widget.palette().color(QtGui.QPalette.ColorRole.Text)
        icon = thumbnail or style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_FileIcon)
        tip = f"{name} ({what}), uploaded: {item.data(URL_ROLE)}"
    detail = f"{what} · {state}"
    item.setText(name)
    item.setData(DETAIL_ROLE, detail)
    item.setIcon(icon)
    item.setForeground(colour)
    item.setToolTip(tip)
    item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{name}, {detail}")


def draw_link(item: QListWidgetItem, error: str, widget: QWidget) -> None:
    """A link: marked when it cannot be sent; else what the look found (type, size, thumbnail, warnings)."""
    url = str(item.data(URL_ROLE))
    style = widget.style()
    item.setText(url)
    if error:
        item.setData(DETAIL_ROLE, "")
        item.setIcon(style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxCritical))  # blocks Send
        item.setForeground(tone_colour(Tone.PROBLEM, widget.palette()))
        item.setToolTip(f"Can't be sent: {error}")
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"Invalid link: {url}. {error}")
        return
    preview = preview_of(item)
    if preview is None:
        detail, lines = "checking…", []
    else:
        from bwdesk.core.attachments import format_size

        size = format_size(preview.size) if preview.size is not None else ""
        detail = " · ".join(p for p in (preview.type_text, size) if p)
        if preview.warnings:
            detail = f"⚠ {detail}" if detail else "⚠"
        lines = [*preview.warnings, preview.note]
    thumbnail = item.data(THUMBNAIL_ROLE)
    warned = preview is not None and bool(preview.warnings)
    standard = (
        QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning
        if warned
        else QtWidgets.QStyle.StandardPixmap.SP_FileIcon
    )
    item.setData(DETAIL_ROLE, detail)
    item.setIcon(thumbnail or style.standardIcon(standard))
    item.setForeground(widget.palette().color(QtGui.QPalette.ColorRole.Text))
    item.setToolTip("\n".join(line for line in (url, detail, *lines) if line))
    item.setData(Qt.ItemDataRole.AccessibleTextRole, ", ".join(p for p in (url, detail, *lines) if p))


def preview_of(item: QListWidgetItem) -> Preview | None:
    value = item.data(PREVIEW_ROLE)
    return value if isinstance(value, Preview) else None


def is_link(item: QListWidgetItem) -> bool:
    """A row that goes into the message as a link (not a file still uploading or whose upload failed)."""
    return not item.data(PENDING_ROLE) and not item.data(FAILED_ROLE)


def target_of(item: QListWidgetItem) -> Attachment | str | None:
    """What a row is looked at as: its file, or its link when that can be sent (None otherwise)."""
    attachment = item.data(ATTACHMENT_ROLE)
    if attachment is not None:
        return attachment  # type: ignore[no-any-return]
    if item.data(ERROR_ROLE):
        return None
    return str(item.data(URL_ROLE))


def sized(name: str, size: int | None) -> SizedMedia:
    """A row's name and size for the size warnings (`core.media_info`, loaded with the first row)."""
    from bwdesk.core.media_info import SizedMedia

    return SizedMedia(name, size)


def short_name(url: str) -> str:
    """A link as a warning names it: its file name, else its host."""
    parts = urlsplit(url)
    return PurePosixPath(unquote(parts.path)).name or parts.hostname or url
