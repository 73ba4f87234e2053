"""The result area under the composer: what happened to each POST of the last send — and, once a status
refresh has told, whether it was delivered — with Copy id, and for an unknown outcome "Check status" and
"Send again…" (the send session asks before any resend)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.phone import display_number
from bwdesk.core.status_words import describe_delivery_status, describe_error_code, is_undelivered
from bwdesk.ui.style import Tone, set_style, text_css
from bwdesk.ui.tasks import after_paint

_MARKS: dict[SendState, tuple[str, Tone | None]] = {
    SendState.ACCEPTED: ("✓", Tone.SUCCESS),
    SendState.REJECTED: ("✖", Tone.PROBLEM),
    SendState.FAILED: ("✖", Tone.PROBLEM),
    SendState.UNKNOWN: ("?", Tone.WARNING),
    SendState.SENDING: ("…", None),
}


@dataclass(frozen=True)
class ResultEntry:
    """One POST's outcome as the panel shows it, with its delivery status once a refresh has looked it up."""

    row_id: int
    recipients: tuple[str, ...]
    result: SendResult
    delivery_status: str | None = None
    error_code: int | None = None

    @property
    def delivered(self) -> bool:
        return self.result.state is SendState.ACCEPTED and self.delivery_status == "DELIVERED"

    @property
    def undelivered(self) -> bool:
        """Accepted by Bandwidth, but it did not reach the phone (FAILED, UNDELIVERED)."""
        return self.result.state is SendState.ACCEPTED and is_undelivered(self.delivery_status)

    def mark(self) -> tuple[str, Tone | None]:
        if self.undelivered:
            return "✖", Tone.PROBLEM
        if self.result.state is SendState.ACCEPTED and self.delivery_status == "DLR_EXPIRED":
            return "?", Tone.WARNING
        return _MARKS[self.result.state]


def describe_entry(entry: ResultEntry) -> str:
    """The outcome in words, its delivery included (shared by the panel and its accessible text)."""
    result, status = entry.result, entry.delivery_status
    if result.state is not SendState.ACCEPTED or not status:
        return describe_result(result)
    ident = f" · id {result.message_id}" if result.message_id else ""
    if entry.undelivered:
        why = describe_error_code(entry.error_code) if entry.error_code else describe_delivery_status(status)
        return (
            f"not delivered ({status}): {why}. Bandwidth accepted it, but it did not reach the phone{ident}"
        )
    if status == "DELIVERED":
        return f"delivered{ident}"
    return f"accepted · {status}: {describe_delivery_status(status)}{ident}"


def describe_result(result: SendResult) -> str:
    """The outcome of the POST in words (before any delivery status is known)."""
    if result.state is SendState.ACCEPTED:
        segments = ""
        if result.segments:
            segments = f" · {result.segments} segment{'s' if result.segments != 1 else ''}"
        return f"accepted · id {result.message_id}{segments}"
    if result.state is SendState.REJECTED:
        error = result.error
        parts = []
        if result.http_status:
            parts.append(f"HTTP {result.http_status}")
        if error is not None:
            parts.append(error.description or (error.type or ""))
            details = "; ".join(f"{f.field}: {f.description}" for f in error.field_errors)
            if details:
                parts.append(f"({details})")
        return "rejected by Bandwidth, not sent: " + " ".join(p for p in parts if p)
    if result.state is SendState.FAILED:
        reason = result.detail or (result.error.description if result.error else "")
        return reason if reason.startswith("not sent") else f"not sent: {reason}"  # said once, not twice
    reason = result.detail or (result.error.description if result.error else "no answer")
    return f"outcome unknown — it may have been sent ({reason}). Check its status before sending again."


#: The result lines scroll beyond this height (pixels) instead of pushing the fields further.
ROWS_MAX_HEIGHT = 150


class _ResultRow(QFrame):
    check_requested = Signal(int)
    resend_requested = Signal(int)

    def __init__(self, entry: ResultEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.note = ""
        self.setObjectName(f"result_{entry.row_id}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.copy_button = QPushButton("Copy id", self)
        self.copy_button.setAccessibleName("Copy message id")
        self.copy_button.setToolTip("Copy the message id to the clipboard")
        self.copy_button.clicked.connect(self._copy)
        self.check_button = QPushButton("Check status", self)
        self.check_button.setAccessibleName("Check status")
        self.check_button.setToolTip("Ask Bandwidth whether this message arrived there")
        self.check_button.clicked.connect(self._check)
        self.resend_button = QPushButton("Send again…", self)
        self.resend_button.setAccessibleName("Send again")
        self.resend_button.setToolTip(
            "Send this message again (you will be asked to confirm: it may be a duplicate)"
        )
        self.resend_button.clicked.connect(self._resend)
        for button in (self.copy_button, self.check_button, self.resend_button):
            layout.addWidget(button)
        self.update_entry(entry)

    def update_entry(self, entry: ResultEntry, note: str = "") -> None:
        """Show `entry`; a note (a check's answer) stays until another replaces it."""
        self.entry = entry
        self.note = note or self.note
        state = entry.result.state
        mark, tone = entry.mark()
        who = ", ".join(display_number(n) for n in entry.recipients)
        # Each row's buttons say whose message they act on: a screen reader hears them one by one.
        self.copy_button.setAccessibleName(f"Copy message id for {who}")
        self.check_button.setAccessibleName(f"Check status of the message to {who}")
        self.resend_button.setAccessibleName(f"Send again to {who}")
        text = f"{mark} {who} — {describe_entry(entry)}"
        if self.note:
            text += f"\n{self.note}"
        self.label.setText(text)
        set_style(self.label, text_css(tone, self.palette()) if tone is not None else "")
        if state is SendState.ACCEPTED and not entry.delivery_status:
            self.label.setToolTip(
                "Accepted means Bandwidth queued the message. Whether it reached the phone shows in the "
                "history once its status is refreshed."
            )
        self.setAccessibleName(text)
        self.copy_button.setVisible(bool(entry.result.message_id))
        unknown = state in (SendState.UNKNOWN,)
        self.check_button.setVisible(unknown)
        self.resend_button.setVisible(unknown or state is SendState.FAILED)

    @Slot()
    def _check(self) -> None:
        self.check_requested.emit(self.entry.row_id)

    @Slot()
    def _resend(self) -> None:
        self.resend_requested.emit(self.entry.row_id)

    @Slot()
    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None and self.entry.result.message_id:
            clipboard.setText(self.entry.result.message_id)


class ResultPanel(QWidget):
    """Outcomes of the last send. Signals carry history row ids: `check_requested`, `resend_requested`."""

    check_requested = Signal(int)
    resend_requested = Signal(int)
    rows_changed = Signal()  # results were added or cleared (their buttons join or leave the Tab order)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Send result")
        # Where the results come from when it is not the composer ("From the history: sent again to …").
        self.title = QLabel(self)
        self.title.setObjectName("resultTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.summary = QLabel(self)
        self.summary.setObjectName("resultSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._rows: dict[int, _ResultRow] = {}
        self._spare: _ResultRow | None = None  # built when room was made, used by the next result
        self._row_height = 0  # one row's height, measured once
        self._room = 0  # results the running send will show
        self._ahead = QTimer(self)
        self._ahead.setSingleShot(True)
        self._ahead.setInterval(0)
        self._ahead.timeout.connect(self._build_spare)
        self._list = QWidget(self)
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(2)
        self._list_layout.addStretch(1)
        self._scroll = QScrollArea(self)
        self._scroll.setWidget(self._list)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its buttons are the stops
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self._scroll)
        self.clear()

    @Slot()
    def clear(self) -> None:
        for row in self._rows.values():
            row.deleteLater()
        had_rows = bool(self._rows)
        self._rows.clear()
        if had_rows:
            self.rows_changed.emit()
        self.summary.clear()
        self.set_title("")
        self._room = 0
        self._scroll.hide()
        self.hide()

    @Slot(int)
    def make_room(self, count: int) -> None:
        """Room for `count` results, made before the first arrives: each result then fills its line without
        moving the fields around it, so the window is laid out and painted once per send, not once per result
        (docs/design.md §3.5). Said again with fewer when a batch stops early."""
        if self._row_height == 0:
            self._build_spare()
        self._room = count
        self._fit_rows()

    def build_ahead(self) -> None:
        """The next result's line is built in an idle moment (while a POST is answered), not when it comes."""
        if self._spare is None:
            after_paint(self._ahead)

    @Slot()
    def _build_spare(self) -> None:
        if self._spare is None:
            self._spare = self._new_row(ResultEntry(0, (), SendResult(SendState.ACCEPTED)))
            self._spare.ensurePolished()  # styled now, not when its result shows it
        if self._row_height == 0:
            self._row_height = self._spare.sizeHint().height()

    def _fit_rows(self) -> None:
        """The result lines' area: the room made for the send, taller only when the lines need it (a long
        outcome wraps), up to `ROWS_MAX_HEIGHT`; its height never follows each line as it comes."""
        count = max(self._room, len(self._rows))
        spacing = self._list_layout.spacing()
        height = count * self._row_height + max(0, count - 1) * spacing
        if self._rows:
            # Before the area is first shown its viewport has no width of its own yet: the panel's is near it.
            width = self._scroll.viewport().width() if self._scroll.isVisible() else self.width()
            height = max(height, self._list.heightForWidth(width))
        height = min(height, ROWS_MAX_HEIGHT)
        if self._scroll.minimumHeight() != height or self._scroll.maximumHeight() != height:
            self._scroll.setFixedHeight(height)
        self._scroll.setVisible(count > 0)

    @Slot(str)
    def set_title(self, text: str) -> None:
        """Where the results below come from, when it is not the composer (empty: the composer's send)."""
        self.title.setText(text)
        self.title.setVisible(bool(text))
        self.setAccessibleName(f"Send result: {text}" if text else "Send result")

    @Slot(str)
    def show_status(self, text: str) -> None:
        """A line such as "Sending 2 messages…" (the rows come as results arrive)."""
        self.summary.setText(text)
        set_style(self.summary, "")
        self.show()

    @Slot(object)
    def add_result(self, entry: ResultEntry) -> None:
        row = self._rows.get(entry.row_id)
        if row is None:
            row, self._spare = self._spare, None
            if row is None:
                row = self._new_row(entry)
            else:
                row.update_entry(entry)
            row.setObjectName(f"result_{entry.row_id}")
            self._list_layout.insertWidget(self._list_layout.count() - 1, row)
            row.show()
            self._rows[entry.row_id] = row
            self.rows_changed.emit()
            if len(self._rows) < self._room:
                self.build_ahead()
        else:
            row.update_entry(entry)
        self._fit_rows()
        self.show()
        self._update_summary()

    @Slot(object, str)
    def update_result(self, entry: ResultEntry, note: str = "") -> None:
        row = self._rows.get(entry.row_id)
        if row is not None:
            row.update_entry(entry, note)
            self._fit_rows()
            self._update_summary()

    def _new_row(self, entry: ResultEntry) -> _ResultRow:
        row = _ResultRow(entry, self._list)
        row.hide()  # until it is in the list
        row.check_requested.connect(self.check_requested)
        row.resend_requested.connect(self.resend_requested)
        return row

    def entries(self) -> list[ResultEntry]:
        return [row.entry for row in self._rows.values()]

    def tab_stops(self) -> list[QWidget]:
        """Each result's buttons, in the order the results are listed."""
        return [
            b for row in self._rows.values() for b in (row.copy_button, row.check_button, row.resend_button)
        ]

    def row_widget(self, row_id: int) -> _ResultRow | None:
        return self._rows.get(row_id)

    def _update_summary(self) -> None:
        entries = [row.entry for row in self._rows.values()]
        self.summary.setText(summarise(entries))
        tone = summary_tone(entries)
        set_style(self.summary, text_css(tone, self.palette()) if tone is not None else "")


def summary_tone(entries: Sequence[ResultEntry]) -> Tone | None:
    """Red when anything did not go out or did not arrive, amber when something is in doubt, green when every
    message was delivered; no colour while they are on their way."""
    if any(e.undelivered or e.result.state in (SendState.REJECTED, SendState.FAILED) for e in entries):
        return Tone.PROBLEM
    if any(e.mark()[1] is Tone.WARNING for e in entries):
        return Tone.WARNING
    if entries and all(e.delivered for e in entries):
        return Tone.SUCCESS
    return None


def summarise(entries: Sequence[ResultEntry]) -> str:
    """One line for a send: "✓ 2 delivered", "✓ 1 accepted · id … · ✖ 1 not delivered", ...; messages whose
    delivery is known count as delivered or not delivered, the others by what Bandwidth answered."""
    delivered = sum(e.delivered for e in entries)
    undelivered = sum(e.undelivered for e in entries)
    counts: dict[SendState, int] = {}
    for entry in entries:
        if not (entry.delivered or entry.undelivered):
            counts[entry.result.state] = counts.get(entry.result.state, 0) + 1
    parts = []
    if delivered:
        parts.append(f"✓ {delivered} delivered")
    if counts.get(SendState.ACCEPTED):
        accepted = counts[SendState.ACCEPTED]
        ids = [
            e.result.message_id
            for e in entries
            if e.result.state is SendState.ACCEPTED
            and not (e.delivered or e.undelivered)
            and e.result.message_id
        ]
        parts.append(f"✓ {accepted} accepted" + (f" · id {ids[0]}" if accepted == 1 and ids else ""))
    if undelivered:
        parts.append(f"✖ {undelivered} not delivered")
    if counts.get(SendState.REJECTED):
        parts.append(f"✖ {counts[SendState.REJECTED]} rejected")
    if counts.get(SendState.FAILED):
        parts.append(f"✖ {counts[SendState.FAILED]} not sent")
    if counts.get(SendState.UNKNOWN):
        parts.append(f"? {counts[SendState.UNKNOWN]} unknown — check before sending again")
    return " · ".join(parts)
