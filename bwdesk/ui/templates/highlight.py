"""Variables left without a value, marked in the text box: a tinted background in the problem tone and a
dashed underline in bold (a mark that does not rely on colour alone), with a tooltip saying for whom and what to
do. Extra selections, so the text box's own highlighter (UCS-2 and unsendable characters) keeps its marks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QFont, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit

from bwdesk.ui.style import Tone, mix, tone_colour

if TYPE_CHECKING:
    from bwdesk.core.directory.templates import Variable
    from bwdesk.ui.message_text import MessageTextEdit


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class MissingVariableMarks(QObject):
    """Marks `Variable`s of the editor's text (positions in code points, as core gives them)."""

    def __init__(self, editor: MessageTextEdit) -> None:
        super().__init__(editor)
        self._editor = editor
        self._marked: list[tuple[int, int, str]] = []  # document start, end (UTF-16), tooltip
        editor.add_tip_source(self.tip_at)

    def show(self, text: str, missing: Sequence[Variable], tip: str) -> None:
        """Mark `missing` in `text` (the editor's text they were found in); `tip` is shown on each."""
        marked = [(_utf16_len(text[: v.start]), _utf16_len(text[: v.end]), tip) for v in missing]
        if marked == self._marked:
            return
        self._marked = marked
        palette = self._editor.palette()
        colour = tone_colour(Tone.PROBLEM, palette, QPalette.ColorRole.Base)
        mark = QTextCharFormat()
        mark.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DashUnderline)
        mark.setUnderlineColor(colour)
        mark.setFontWeight(QFont.Weight.Bold)
        mark.setBackground(mix(palette.color(QPalette.ColorRole.Base), colour, 0.18))
        selections = []
        for start, end, _tip in marked:
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self._editor.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            selection.format = mark
            selections.append(selection)
        self._editor.setExtraSelections(selections)

    def marked(self) -> list[str]:
        """The marked variables as written in the text now (for tests and screen readers)."""
        text = self._editor.toPlainText()
        units = text.encode("utf-16-le", "surrogatepass")
        return [units[2 * s : 2 * e].decode("utf-16-le", "surrogatepass") for s, e, _ in self._marked]

    def formats(self) -> list[QTextCharFormat]:
        """The formats the marks are drawn with (each: underlined, bold, tinted)."""
        return [QTextCharFormat(s.format) for s in self._editor.extraSelections()]

    def tip_at(self, point: QPoint) -> str | None:
        """The tooltip of the mark under a viewport point, if any."""
        if not self._marked:
            return None
        position = self._editor.cursorForPosition(point).position()
        return next((tip for start, end, tip in self._marked if start <= position <= end), None)
