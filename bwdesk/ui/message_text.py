"""The message text box (capped at what the API accepts, marking the characters that force UCS-2 and those that
cannot be sent) and the counter under it (length, encoding, segments, the smart-punctuation fix); every rule is
`core.sms_text`'s or `core.message`'s."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QMimeData, QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QGuiApplication,
    QHelpEvent,
    QInputMethodEvent,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSizePolicy, QToolTip, QWidget

from bwdesk.core.message import describe_unsendable, unsendable_characters, without_unsendable
from bwdesk.core.sms_text import (
    MAX_TEXT_LENGTH,
    Encoding,
    TextInfo,
    analyze,
    fix_smart_characters,
    non_gsm_spans,
    text_length,
    truncate_to_limit,
)
from bwdesk.ui.style import Tone, level_css, tone_colour

# QTextDocument stores paragraph breaks as U+2029, Shift+Enter as U+2028 and keeps no-break spaces;
# toPlainText() (what is sent) turns them into "\n", "\n" and " ". One character for one, so offsets hold.
_AS_SENT = str.maketrans({"\u2029": "\n", "\u2028": "\n", "\u00a0": " "})

_MIN_MARK_WIDTH = 5  # px: a character the font draws with no width still gets a box this wide


def as_sent(qt_text: str) -> str:
    """A piece of QTextDocument text as `toPlainText()` would give it (the text that is sent)."""
    return qt_text.translate(_AS_SENT)


def describe_character(cluster: str) -> str:
    """A character (grapheme cluster) with its Unicode name(s), for tooltips: `’ (RIGHT SINGLE QUOTATION MARK)`."""
    names = [unicodedata.name(ch, f"U+{ord(ch):04X}") for ch in cluster]
    return f"{visible_form(cluster)} ({' + '.join(names)})"


def visible_form(cluster: str) -> str:
    """The cluster itself, or `U+XXXX` for a space, control or invisible character nobody could see."""
    if len(cluster) == 1 and (
        cluster.isspace() or unicodedata.category(cluster) in ("Cc", "Cf", "Zs", "Zl", "Zp")
    ):
        return f"U+{ord(cluster):04X}"
    return cluster


def unsendable_colour() -> QColor:
    """The red that marks a character that cannot be sent, readable on the text box's background."""
    return tone_colour(Tone.PROBLEM, QGuiApplication.palette(), QPalette.ColorRole.Base)


def _mark_format(colour: QColor) -> QTextCharFormat:
    mark = QTextCharFormat()
    mark.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
    mark.setUnderlineColor(colour)
    background = QColor(colour)
    background.setAlpha(48)
    mark.setBackground(background)
    return mark


class Ucs2Highlighter(QSyntaxHighlighter):
    """Underlines every character that forces the message into UCS-2 (positions from core's `non_gsm_spans`)
    in amber, and every character that cannot be sent at all (core's `unsendable_characters`) in red."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._enabled = True
        palette = QGuiApplication.palette()
        # amber: "costs more", not "wrong" (red is the spell checker's); red: this cannot be sent
        self._format = _mark_format(tone_colour(Tone.WARNING, palette, QPalette.ColorRole.Base))
        self._unsendable_format = _mark_format(unsendable_colour())

    @property
    def mark_format(self) -> QTextCharFormat:
        return QTextCharFormat(self._format)

    @property
    def unsendable_format(self) -> QTextCharFormat:
        return QTextCharFormat(self._unsendable_format)

    def set_enabled(self, enabled: bool) -> None:
        """The UCS-2 marks are off for MMS, where the encoding costs nothing (the red ones always show)."""
        if enabled != self._enabled:
            self._enabled = enabled
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        if self._enabled:
            self._mark_ucs2(text)
        sent = as_sent(text)
        for index in unsendable_characters(sent, "text"):  # drawn over a UCS-2 mark: it matters more
            self.setFormat(_utf16_len(sent[:index]), _utf16_len(sent[index]), self._unsendable_format)

    def _mark_ucs2(self, text: str) -> None:
        # Adjacent marks are merged: one format range per run of UCS-2 characters (a Cyrillic word is one).
        run_start = run_end = -1
        for start, end in non_gsm_spans(as_sent(text)):
            if start != run_end:
                if run_end > run_start:
                    self.setFormat(run_start, run_end - run_start, self._format)
                run_start = start
            run_end = end
        if run_end > run_start:
            self.setFormat(run_start, run_end - run_start, self._format)


class MessageTextEdit(QPlainTextEdit):
    """Plain-text message editor, hard-capped at `max_length` as core's `text_length` measures it.

    Signals: `truncated(int)` — a paste, drop, input-method commit or `set_text` was cut to fit; the number
    is how much was cut, in the counter's units. `files_dropped(list[str])` — local files were dropped on the
    box (they are not inserted as text; the composer hands them to the media list).
    """

    truncated = Signal(int)
    files_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None, *, max_length: int = MAX_TEXT_LENGTH) -> None:
        super().__init__(parent)
        self._max_length = max_length
        self._enforcing = False
        self.setTabChangesFocus(True)
        self.setAccessibleName("Message text")
        self.setPlaceholderText("Type the message…")
        self.setToolTip(
            f"The message text (at most {max_length} characters). Characters underlined in amber switch the "
            "message to Unicode (UCS-2), which fits fewer characters per segment; hover one to see why."
        )
        self._highlighter = Ucs2Highlighter(self.document())
        self._unsendable: list[tuple[int, int]] = []  # (document position, length) in UTF-16 units
        self._tip_sources: list[Callable[[QPoint], str | None]] = []
        self.textChanged.connect(self._enforce_cap)
        self.textChanged.connect(self._find_unsendable)

    # --- public API ---------------------------------------------------------------------------------------

    @property
    def max_length(self) -> int:
        return self._max_length

    @property
    def highlighter(self) -> Ucs2Highlighter:
        return self._highlighter

    def text(self) -> str:
        """The text that is sent (`toPlainText()`)."""
        return self.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the whole text (e.g. a restored draft), cut to the cap; resets undo."""
        self.setPlainText(text)

    def setPlainText(self, text: str) -> None:
        text = as_sent(text.replace("\r\n", "\n").replace("\r", "\n"))
        fit = truncate_to_limit(text, self._max_length)
        super().setPlainText(fit)
        if fit != text:
            self.truncated.emit(text_length(text) - text_length(fit))

    def insertPlainText(self, text: str) -> None:
        self._insert_fitting(text)

    def set_read_only(self, read_only: bool) -> None:
        """While sending the text can't change (the smart fix and pastes are refused too)."""
        self.setReadOnly(read_only)

    def set_mms(self, mms: bool) -> None:
        """In MMS mode the encoding costs nothing, so the UCS-2 marks are hidden."""
        self._highlighter.set_enabled(not mms)

    def apply_smart_fix(self) -> bool:
        """Replace smart punctuation with plain characters in one undoable edit; False if nothing changed.

        The cursor stays where it was relative to the text before it.
        """
        if self.isReadOnly():
            return False
        old = self.toPlainText()
        new = fix_smart_characters(old)
        if new == old:
            return False
        cursor = self.textCursor()
        before_cursor = as_sent(_text_between(self.document(), 0, cursor.position()))
        fixed_before = fix_smart_characters(before_cursor)
        fit = truncate_to_limit(new, self._max_length)
        edit = QTextCursor(self.document())
        edit.beginEditBlock()
        edit.select(QTextCursor.SelectionType.Document)
        edit.insertText(fit)
        edit.endEditBlock()
        if fit.startswith(fixed_before):
            position = _utf16_len(fixed_before)
        else:
            position = min(cursor.position(), _utf16_len(fit))
        cursor = self.textCursor()
        cursor.setPosition(position)
        self.setTextCursor(cursor)
        if fit != new:
            self.truncated.emit(text_length(new) - text_length(fit))
        return True

    def unsendable_positions(self) -> list[int]:
        """Where the characters that cannot be sent are (document positions, UTF-16 units)."""
        return [position for position, _length in self._unsendable]

    def unsendable_rects(self) -> list[QRect]:
        """The red boxes drawn around them (viewport coordinates), never narrower than a few pixels."""
        rects: list[QRect] = []
        for position, length in self._unsendable:
            cursor = QTextCursor(self.document())
            cursor.setPosition(position)
            start = self.cursorRect(cursor)
            cursor.setPosition(position + length)
            end = self.cursorRect(cursor)
            width = end.left() - start.left() if end.top() == start.top() else 0
            rects.append(QRect(start.left(), start.top(), max(width, _MIN_MARK_WIDTH), start.height()))
        return rects

    def unsendable_at(self, point: QPoint) -> str | None:
        """The character that cannot be sent under a viewport point, if any."""
        for (position, length), rect in zip(self._unsendable, self.unsendable_rects(), strict=True):
            if rect.adjusted(-1, 0, 1, 0).contains(point):
                cursor = QTextCursor(self.document())
                cursor.setPosition(position)
                cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
                return as_sent(cursor.selectedText())
        return None

    def remove_unsendable(self) -> bool:
        """Delete every character that cannot be sent, in one undoable edit; False if there was none."""
        if self.isReadOnly() or not self._unsendable:
            return False
        edit = QTextCursor(self.document())
        edit.beginEditBlock()
        for position, length in reversed(self._unsendable):
            edit.setPosition(position)
            edit.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
            edit.removeSelectedText()
        edit.endEditBlock()
        return True

    def _find_unsendable(self) -> None:
        text = self.toPlainText()
        found = [(_utf16_len(text[:i]), _utf16_len(text[i])) for i in unsendable_characters(text, "text")]
        if found or self._unsendable:
            self._unsendable = found
            self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._unsendable:
            return
        # The red format marks a character that has a glyph; a box makes one the font draws with no width
        # (a form feed, a NUL in some fonts) as visible as the rest.
        painter = QPainter(self.viewport())
        colour = unsendable_colour()
        fill = QColor(colour)
        fill.setAlpha(90)
        painter.setPen(colour)
        painter.setBrush(fill)
        for rect in self.unsendable_rects():
            if rect.intersects(event.rect()):
                painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()

    def ucs2_mark_at(self, point: QPoint) -> str | None:
        """The marked (UCS-2-forcing) character under a viewport point, if any."""
        cursor = self.cursorForPosition(point)
        block = cursor.block()
        layout = block.layout()
        if layout is None:
            return None
        offset = cursor.positionInBlock()
        rect = self.cursorRect(cursor)
        # cursorForPosition gives the nearest gap: the character is to its right or to its left.
        candidates = (offset, offset - 1) if point.x() >= rect.x() else (offset - 1, offset)
        for fmt_range in layout.formats():
            for index in candidates:
                if fmt_range.start <= index < fmt_range.start + fmt_range.length:
                    return _utf16_slice(block.text(), fmt_range.start, fmt_range.length)
        return None

    # --- the cap --------------------------------------------------------------------------------------------

    def _room_check(self, inserted: str) -> bool:
        before, after = self._around_selection()
        return text_length(before + inserted + after) <= self._max_length

    def _around_selection(self) -> tuple[str, str]:
        cursor = self.textCursor()
        doc = self.document()
        end = doc.characterCount() - 1  # the document always ends with one paragraph separator
        before = _text_between(doc, 0, cursor.selectionStart())
        after = _text_between(doc, cursor.selectionEnd(), end)
        return as_sent(before), as_sent(after)

    def _fit(self, inserted: str) -> tuple[str, int]:
        """The longest prefix of `inserted` that fits in place of the selection, and how much was cut."""
        before, after = self._around_selection()
        total = text_length(before + inserted + after)
        if total <= self._max_length:
            return inserted, 0
        budget = self._max_length - text_length(before + after)
        fit = truncate_to_limit(inserted, budget) if budget > 0 else ""
        while fit and text_length(before + fit + after) > self._max_length:
            fit = truncate_to_limit(fit, text_length(fit) - 1)
        return fit, text_length(inserted) - text_length(fit)

    def _insert_fitting(self, text: str) -> None:
        text = _normalise_newlines(text)
        fit, removed = self._fit(text)
        if fit:
            cursor = self.textCursor()
            cursor.insertText(fit)
            self.setTextCursor(cursor)
            self.ensureCursorVisible()
        if removed:
            self.truncated.emit(removed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        typed = _typed_text(event)
        if typed and not self._room_check(typed):
            event.accept()  # at the cap: nothing is inserted (the counter already shows the limit)
            return
        super().keyPressEvent(event)

    def inputMethodEvent(self, event: QInputMethodEvent) -> None:
        commit = event.commitString()
        if commit:
            fit, removed = self._fit(_normalise_newlines(commit))
            if removed:
                event.setCommitString(fit, event.replacementStart(), event.replacementLength())
                super().inputMethodEvent(event)
                self.truncated.emit(removed)
                return
        super().inputMethodEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasText() or source.hasHtml() or bool(_local_files(source))

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Paste and drop: local files go to `files_dropped`; anything else is inserted as plain text, cut to fit."""
        files = _local_files(source)
        if files:
            self.files_dropped.emit(files)
            return
        if self.isReadOnly():
            return
        if source.hasText():
            text = source.text()
        elif source.hasHtml():
            text = QTextDocumentFragment.fromHtml(source.html()).toPlainText()
        else:
            return
        self._insert_fitting(text)

    def _enforce_cap(self) -> None:
        """Last line of defence for any path the checks above don't see: cut the excess from the end."""
        if self._enforcing:
            return
        text = self.toPlainText()
        if text_length(text) <= self._max_length:
            return
        fit = truncate_to_limit(text, self._max_length)
        self._enforcing = True
        try:
            cursor = QTextCursor(self.document())
            cursor.joinPreviousEditBlock()
            cursor.setPosition(_utf16_len(fit))
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.endEditBlock()
        finally:
            self._enforcing = False
        self.truncated.emit(text_length(text) - text_length(fit))

    # --- tooltips on marked characters ---------------------------------------------------------------------

    def add_tip_source(self, tip_at: Callable[[QPoint], str | None]) -> None:
        """Ask `tip_at` first for the tooltip at a viewport point (other marks on the text, such as a template's
        missing variables). Not an event filter on the viewport: asking Qt for the viewport it made costs
        PySide6 a search through every QWidget class on the way to the first paint (docs/design.md §3.1)."""
        self._tip_sources.append(tip_at)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            for tip_at in self._tip_sources:
                tip = tip_at(event.pos())
                if tip is not None:
                    QToolTip.showText(event.globalPos(), tip, self.viewport())
                    return True
            unsendable = self.unsendable_at(event.pos())
            if unsendable is not None:
                QToolTip.showText(event.globalPos(), unsendable_explanation(unsendable), self.viewport())
                return True
            mark = self.ucs2_mark_at(event.pos())
            if mark is not None:
                QToolTip.showText(event.globalPos(), ucs2_explanation(mark), self.viewport())
                return True
        return super().viewportEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.createStandardContextMenu(event.pos())
        if self._unsendable and not self.isReadOnly():
            menu.addSeparator()
            remove = menu.addAction("Delete characters that can't be sent")
            remove.setToolTip(
                "Delete the control characters marked in red (they are invisible to the customer)"
            )
            remove.triggered.connect(self.remove_unsendable)
        if fix_smart_characters(self.toPlainText()) != self.toPlainText():
            menu.addSeparator()
            action = menu.addAction("Use plain characters")
            action.setToolTip(SMART_FIX_TOOLTIP)
            action.triggered.connect(self.apply_smart_fix)
        menu.exec(event.globalPos())
        menu.deleteLater()


SMART_FIX_TOOLTIP = (
    "Replace smart quotes (‘ ’ “ ”), dashes (– —), the ellipsis (…), odd spaces and invisible characters "
    "with plain ones ( ' \" - ... ) that fit the GSM-7 alphabet, so the message needs fewer segments. "
    "Ctrl+Z undoes it."
)

SEGMENT_TOOLTIP = (
    "An SMS is sent in segments. Plain GSM-7 text fits 160 characters in one segment; one character outside "
    "GSM-7 (a curly quote, an emoji) switches the whole message to Unicode (UCS-2), which fits only 70. "
    "Longer messages are split into slightly shorter parts. Every segment is billed, for every recipient. "
    "With media the message is an MMS, billed as one message whatever the text. "
    "Bandwidth's own count (shown after sending) is the final word."
)


def unsendable_explanation(character: str) -> str:
    """The tooltip for a character marked in red."""
    what = describe_unsendable(character)
    return (
        f"{what[:1].upper()}{what[1:]}: it cannot be sent "
        "(the customer would see nothing, or garbage). Delete it; right-click offers to delete them all."
    )


def ucs2_explanation(cluster: str) -> str:
    """The tooltip for a marked character: what it is and why it matters."""
    return (
        f"{describe_character(cluster)} is not in the GSM-7 alphabet, so the whole message is sent as "
        "Unicode (UCS-2), which fits fewer characters in each segment."
    )


_UNSET = object()


class TextCounter(QWidget):
    """`29 / 2048 · GSM-7 · 1 segment`, the characters that force Unicode, and the fix button.

    Feed it with `update_for(text)` or `attach_to(editor)`. `fix_requested` is emitted by the button.
    """

    fix_requested = Signal()

    NEAR_FRACTION = 0.9  # the counter warns from 90 % of the cap

    def __init__(self, parent: QWidget | None = None, *, max_length: int = MAX_TEXT_LENGTH) -> None:
        super().__init__(parent)
        self._max_length = max_length
        self._text = ""
        self._info: TextInfo = analyze("")
        self._recipients = 1
        self._mms = False
        self._level = ""
        self._fix_available = False
        self._shown: dict[str, Any] = {}
        self._typed = ""
        # What is counted instead of the typed text (a template's variables filled) and a word saying so.
        self._counted: Callable[[str], tuple[str, str]] | None = None
        self._filled_note = ""

        self._count = QLabel(self)
        self._count.setObjectName("textCounter")
        self._count.setAccessibleName("Message length")
        self._count.setToolTip(SEGMENT_TOOLTIP)
        self._count.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._unicode = QLabel(self)
        self._unicode.setObjectName("unicodeNotice")
        self._unicode.setAccessibleName("Characters that force Unicode")
        self._unicode.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._unicode.setWordWrap(True)  # a long list of characters wraps instead of widening the window

        self._fix = QPushButton("Use p&lain characters", self)
        self._fix.setObjectName("useplainCharacters")
        self._fix.setAccessibleName("Use plain characters")
        self._fix.setAccessibleDescription(SMART_FIX_TOOLTIP)
        self._fix.setToolTip(SMART_FIX_TOOLTIP)
        self._fix.clicked.connect(self.fix_requested)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._count)
        layout.addStretch(1)
        layout.addWidget(self._unicode)
        layout.addWidget(self._fix)
        self._render()

    # --- public API ---------------------------------------------------------------------------------------

    def tab_stops(self) -> list[QWidget]:
        return [self._fix]

    def attach_to(self, editor: MessageTextEdit) -> None:
        """Follow `editor` (updated synchronously on every change) and fix its text on request."""
        editor.textChanged.connect(lambda: self.update_for(editor.text()))
        self.fix_requested.connect(editor.apply_smart_fix)
        self.update_for(editor.text())

    def set_read_only(self, read_only: bool) -> None:
        """While sending the fix button is disabled (the editor refuses the fix anyway)."""
        self._fix.setEnabled(not read_only)

    def update_for(self, text: str) -> None:
        self._typed = text
        counted, self._filled_note = self._counted(text) if self._counted is not None else (text, "")
        self._text = counted
        self._info = analyze(counted)
        self._fix_available = bool(self._info.non_gsm) and fix_smart_characters(text) != text
        self._render()

    def count_filled(self, counted: Callable[[str], tuple[str, str]] | None) -> None:
        """Count what `counted(typed text)` gives (the text with its variables filled, and a note such as
        "filled") instead of the typed text; call again (or `recount`) when what fills it changes."""
        self._counted = counted
        self.update_for(self._typed)

    def recount(self) -> None:
        """What fills the text changed (recipients, their contacts): count it again."""
        self.update_for(self._typed)

    def set_recipient_count(self, count: int) -> None:
        """How many separate messages the text goes out as ("… · 3 segments each")."""
        self._recipients = max(1, count)
        self._render()

    def set_mms(self, mms: bool) -> None:
        self._mms = mms
        self._render()

    def summary(self) -> str:
        """The counter line as shown."""
        return self._count.text()

    def unicode_notice(self) -> str:
        """The "n characters force Unicode (…)" text, or "" when it is hidden."""
        return self._unicode.text() if not self._unicode.isHidden() else ""

    def fix_available(self) -> bool:
        """True when the fix button is offered (it would change something)."""
        return not self._fix.isHidden()

    def level(self) -> str:
        """`ok`, `near` (from 90 % of the cap) or `full` (at the cap) — also the label's `level` property."""
        return self._level

    def info(self) -> TextInfo:
        return self._info

    # --- drawing ---------------------------------------------------------------------------------------

    def _render(self) -> None:
        info = self._info
        parts = [f"{info.length} / {self._max_length}"]
        if self._mms:
            parts.append("MMS")
        elif info.length:
            segments = f"{info.segments} segment" + ("" if info.segments == 1 else "s")
            if self._recipients > 1:
                segments += " each"
            parts += [info.encoding.value, segments]
        if self._filled_note:
            parts.append(self._filled_note)
        if info.length >= self._max_length:
            level = "full"
        elif info.length >= self.NEAR_FRACTION * self._max_length:
            level = "near"
        else:
            level = "ok"
        description = self._description() + (f"; {self._filled_note}" if self._filled_note else "")
        show_unicode = not self._mms and info.encoding is Encoding.UCS2 and bool(self._forcing_unicode())

        # Runs on every keystroke: only touch what changed (each Qt call costs, and repaints).
        self._apply("count", " · ".join(parts), self._count.setText)
        if level != self._level:
            self._level = level
            self._count.setProperty("level", level)
            self._count.setStyleSheet(level_css(level, self._count.palette()))
        self._apply("description", description, self._count.setAccessibleDescription)
        self._apply("count_tip", description + "\n\n" + SEGMENT_TOOLTIP, self._count.setToolTip)
        self._apply("show_unicode", show_unicode, self._unicode.setVisible)
        self._apply("show_fix", show_unicode and self._fix_available, self._fix.setVisible)
        if show_unicode:
            self._apply("unicode", self._unicode_text(), self._unicode.setText)
            self._apply(
                "unicode_tip",
                "These characters are not in the GSM-7 alphabet and switch the message to Unicode (UCS-2):\n"
                + "\n".join(describe_character(c) for c in self._forcing_unicode()[:20])
                + (
                    f"\nand {len(self._forcing_unicode()) - 20} more"
                    if len(self._forcing_unicode()) > 20
                    else ""
                ),
                self._unicode.setToolTip,
            )

    def _apply(self, key: str, value: Any, setter: Callable[[Any], None]) -> None:
        if self._shown.get(key, _UNSET) != value:
            self._shown[key] = value
            setter(value)

    def _forcing_unicode(self) -> list[str]:
        """The characters that switch the text to UCS-2, each kind once — not those that cannot be sent at
        all: they are an error of their own, which the fix button does not touch."""
        return [c for c in self._info.non_gsm if not unsendable_characters(c, "text")]

    def _unicode_text(self) -> str:
        clusters = self._forcing_unicode()  # each kind once, for the list
        count = len(non_gsm_spans(without_unsendable(as_sent(self._text), "text")))  # every one
        shown = " ".join(visible_form(c) for c in clusters[:6]) + (
            f" and {len(clusters) - 6} more" if len(clusters) > 6 else ""
        )
        text = (
            f"{count} character{'s' if count != 1 else ''} force{'s' if count == 1 else ''} Unicode ({shown})"
        )
        if self._fix_available:
            fixed = analyze(fix_smart_characters(self._text))
            if fixed.segments < self._info.segments:
                text += f": {self._info.segments} segments instead of {fixed.segments}"
        return text

    def _description(self) -> str:
        info = self._info
        text = f"{info.length} of {self._max_length} characters"
        if self._mms:
            return text + "; sent as MMS (one message per recipient, however long the text)"
        if not info.length:
            return text
        text += f"; {info.encoding.value}; {info.segments} segment{'s' if info.segments != 1 else ''}"
        if self._recipients > 1:
            total = info.segments * self._recipients
            text += f" per message, {total} in all for {self._recipients} recipients"
        return text


# --- helpers -------------------------------------------------------------------------------------------------


def _typed_text(event: QKeyEvent) -> str:
    """What a key press would insert (as QWidgetTextControl decides), or "" for keys that insert nothing."""
    if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        return "\n"
    text = event.text()
    if not text:
        return ""
    mods = event.modifiers()
    if mods & Qt.KeyboardModifier.ControlModifier and not mods & Qt.KeyboardModifier.AltModifier:
        return ""
    first = text[0]
    if first.isprintable() or unicodedata.category(first) in ("Cf", "Co"):
        return text
    return ""


def _normalise_newlines(text: str) -> str:
    return as_sent(text.replace("\r\n", "\n").replace("\r", "\n"))


def _text_between(doc: QTextDocument, start: int, end: int) -> str:
    if end <= start:
        return ""
    cursor = QTextCursor(doc)
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    return cursor.selectedText()


def _utf16_len(text: str) -> int:
    """Length in UTF-16 units: the unit of QTextCursor positions."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_slice(text: str, start: int, length: int) -> str:
    data = text.encode("utf-16-le", "surrogatepass")
    return data[2 * start : 2 * (start + length)].decode("utf-16-le", "surrogatepass")


def _local_files(source: QMimeData) -> list[str]:
    if not source.hasUrls():
        return []
    return [url.toLocalFile() for url in source.urls() if url.isLocalFile()]


__all__ = [
    "MessageTextEdit",
    "TextCounter",
    "Ucs2Highlighter",
    "as_sent",
    "ucs2_explanation",
    "unsendable_explanation",
]
