"""A layout that places items left to right and wraps them onto new rows, like words in a paragraph: the
recipient chips grow downwards, not sideways (it answers `heightForWidth`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6 import QtWidgets
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


@dataclass
class _Row:
    """Items of one row with their widths, and the row's height (the tallest item)."""

    items: list[tuple[QLayoutItem, int]] = field(default_factory=list)
    height: int = 0


class FlowLayout(QLayout):
    """Wrapping left-to-right layout with height-for-width; items keep their size hints."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        horizontal_spacing: int = -1,
        vertical_spacing: int = -1,
        stretch_last: bool = False,
        last_min_width: int = 0,
    ) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._h_spacing = horizontal_spacing
        self._v_spacing = vertical_spacing
        self._stretch_last = stretch_last
        self._last_min_width = last_min_width
        self._hfw_cache: tuple[int, int] | None = None

    # --- the QLayout item protocol ----------------------------------------------------------------

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)
        self.invalidate()

    def insertWidget(self, index: int, widget: QWidget) -> None:
        """Add `widget` at position `index` (0 = first; out of range = last)."""
        self.addWidget(widget)  # Qt creates the item and hands it to addItem, which appends it
        item = self._items.pop()
        index = max(0, min(index, len(self._items)))
        self._items.insert(index, item)
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        if 0 <= index < len(self._items):
            return self._items[index]
        return None

    def takeAt(self, index: int) -> QLayoutItem | None:
        if 0 <= index < len(self._items):
            item = self._items.pop(index)
            self.invalidate()
            return item
        return None

    def indexOf(self, target: QWidget | QLayoutItem) -> int:
        for i, item in enumerate(self._items):
            if item is target or item.widget() is target:
                return i
        return -1

    def invalidate(self) -> None:
        self._hfw_cache = None
        super().invalidate()

    # --- spacing ----------------------------------------------------------------------------------

    def horizontalSpacing(self) -> int:
        if self._h_spacing >= 0:
            return self._h_spacing
        return self._style_spacing(QtWidgets.QStyle.PixelMetric.PM_LayoutHorizontalSpacing)

    def verticalSpacing(self) -> int:
        if self._v_spacing >= 0:
            return self._v_spacing
        return self._style_spacing(QtWidgets.QStyle.PixelMetric.PM_LayoutVerticalSpacing)

    def _style_spacing(self, metric: QtWidgets.QStyle.PixelMetric) -> int:
        parent = self.parentWidget()
        if parent is None:
            return 4
        value = parent.style().pixelMetric(metric, None, parent)
        return value if value >= 0 else 4

    # --- geometry ---------------------------------------------------------------------------------

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self._hfw_cache is not None and self._hfw_cache[0] == width:
            return self._hfw_cache[1]
        height = self._do_layout(QRect(0, 0, width, 0), apply=False)
        self._hfw_cache = (width, height)
        return height

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._visible_items():
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def sizeHint(self) -> QSize:
        """The widest item's width, and the height the items need at that width."""
        margins = self.contentsMargins()
        width = 0
        for item in self._visible_items():
            width = max(width, item.sizeHint().width())
        width += margins.left() + margins.right()
        return QSize(width, self.heightForWidth(width))

    def _visible_items(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _rows(self, available: int) -> list[_Row]:
        """Break the visible items into rows that fit `available` pixels."""
        spacing = self.horizontalSpacing()
        items = self._visible_items()
        rows: list[_Row] = [_Row()]
        used = 0
        for i, item in enumerate(items):
            hint = item.sizeHint()
            last = self._stretch_last and i == len(items) - 1
            if last:
                want = min(max(self._last_min_width, item.minimumSize().width()), available)
            else:
                want = min(hint.width(), available)
            row = rows[-1]
            start = used + spacing if row.items else 0
            if row.items and start + want > available:
                row = _Row()
                rows.append(row)
                start = 0
            width = max(available - start, want) if last else want
            row.items.append((item, width))
            row.height = max(row.height, hint.height())
            used = start + width
        return [row for row in rows if row.items]

    def _do_layout(self, rect: QRect, *, apply: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        available = max(area.width(), 1)
        rows = self._rows(available)
        y = area.y()
        h_spacing = self.horizontalSpacing()
        v_spacing = self.verticalSpacing()
        for index, row in enumerate(rows):
            if index:
                y += v_spacing
            if apply:
                x = area.x()
                for item, width in row.items:
                    height = min(item.sizeHint().height(), row.height)
                    if item.hasHeightForWidth():
                        height = min(item.heightForWidth(width), row.height)
                    top = y + (row.height - height) // 2  # chips sit centred against the taller input
                    item.setGeometry(QRect(QPoint(x, top), QSize(width, height)))
                    x += width + h_spacing
            y += row.height
        return y - rect.y() + margins.bottom()
