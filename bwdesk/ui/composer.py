"""The message composer: From, recipients, Separate/Group, text with its counter, media, tag, Send. It holds
what the agent typed and shows what core's `validate` says next to each field; the send session sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import shiboken6
from PySide6.QtCore import QDateTime, QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core import message, phone
from bwdesk.core.drafts import SavedDraft
from bwdesk.core.message import Draft, Mode, Priority, Problem
from bwdesk.core.outcome import FieldError
from bwdesk.ui.fields import FromPicker, TagEdit
from bwdesk.ui.media_list import MediaListWidget, split_links
from bwdesk.ui.message_text import MessageTextEdit, TextCounter
from bwdesk.ui.recipients import RecipientEdit
from bwdesk.ui.results import ResultPanel
from bwdesk.ui.style import ProblemLabel, Tone, set_style, text_css
from bwdesk.ui.templates.filling import (
    RecipientContacts,
    filling_problems,
    may_have_variables,
    missing_message,
)
from bwdesk.ui.templates.highlight import MissingVariableMarks

GROUP_WARNING = (
    "Everyone in a group message sees every number in it, and replies go to the whole group. "
    f"At most {message.MAX_GROUP} numbers."
)
SEND_SHORTCUT_TEXT = "Ctrl+↵"

# Where each draft field's problems are shown. "priority"/"expiration" live in the Advanced section.
_FIELDS = ("from", "to", "text", "media", "tag", "priority", "expiration")


def apply_tab_order(stops: Sequence[QWidget]) -> None:
    """Chain `stops` in this order for Tab (and the reverse for Shift+Tab); hidden or disabled ones are skipped."""
    for first, second in pairwise(stops):
        QWidget.setTabOrder(first, second)


class _ExpirationEdit(QDateTimeEdit):
    """One Tab leaves the field, as from every control (Qt's own would step through the date and time
    parts first); Ctrl+Left/Right still move between the parts."""

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
            and not event.modifiers()
            & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        ):
            forward = (
                event.key() == Qt.Key.Key_Tab and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            )
            return QWidget.focusNextPrevChild(self, forward)
        return super().event(event)


class ComposerWidget(QWidget):
    """The composer. Signals: `send_requested()`, `draft_changed()` (any edit), `upload_requested(Attachment)`."""

    send_requested = Signal()
    draft_changed = Signal()
    upload_requested = Signal(object)
    tab_stops_changed = Signal()  # controls joined or left `tab_stops()` (the results' buttons)

    def __init__(self, parent: QWidget | None = None, *, region: str | None = None) -> None:
        super().__init__(parent)
        self._region = region
        self._sending = False
        self._blocking = True  # the draft has an error, or an upload is still running: Send waits
        self._confirming = False  # a question about this send is open: nothing is being sent yet
        self._sending_note = ""  # what the send bar says while another message (not this one) is sent
        self._cut_text = ""  # the text as a cut paste left it (its notice goes with the next change)
        self._displaced: tuple[QWidget, QWidget | None] | None = None  # focus pushed out by a send
        self._api_errors: dict[str, str] = {}
        self._holds: dict[str, str] = {}  # other parts of the window keeping Send back, and why
        self._problems: list[Problem] = []
        # Fields the agent has typed in (or every field, after a Send attempt): only there is a missing
        # value worth a red message; an untouched, empty form just says what it needs, calmly.
        self._touched: set[str] = set()

        self.from_picker = FromPicker(self, region=region)
        self.from_picker.setToolTip("The number (or alphanumeric sender ID) the message is sent from")
        self.recipients = RecipientEdit(self, region=region)
        self.recipients.setToolTip("Who gets the message: type or paste phone numbers")

        self.separate_radio = QRadioButton("Se&parate messages", self)
        self.separate_radio.setAccessibleName("Send separate messages")
        self.separate_radio.setToolTip(
            "One message to each recipient: customers never see each other's numbers (recommended)"
        )
        self.group_radio = QRadioButton("&Group MMS — everyone sees every number", self)
        self.group_radio.setAccessibleName("Send one group message")
        self.group_radio.setToolTip(GROUP_WARNING)
        self.separate_radio.setChecked(True)
        self._mode_group = QButtonGroup(self)
        self._mode_group.addButton(self.separate_radio)
        self._mode_group.addButton(self.group_radio)
        self.group_warning = QLabel(GROUP_WARNING, self)
        self.group_warning.setObjectName("groupWarning")
        self.group_warning.setWordWrap(True)
        self.group_warning.setStyleSheet(text_css(Tone.WARNING, self.palette()))
        self.group_warning.setAccessibleName("Group message warning")
        self.mode_row = QWidget(self)
        mode_layout = QVBoxLayout(self.mode_row)
        mode_layout.setContentsMargins(0, 0, 0, 0)
        radios = QHBoxLayout()
        radios.addWidget(self.separate_radio)
        radios.addWidget(self.group_radio)
        radios.addStretch(1)
        mode_layout.addLayout(radios)
        mode_layout.addWidget(self.group_warning)

        self.text_edit = MessageTextEdit(self)
        self.text_edit.setMinimumHeight(90)
        self.counter = TextCounter(self)
        self.counter.attach_to(self.text_edit)
        # A template's variables: filled from the recipients' contacts (fetched on a worker), counted filled,
        # and marked in the text while one has no value (docs/design.md §17.4).
        self.contacts = RecipientContacts(self)
        self.missing_marks = MissingVariableMarks(self.text_edit)
        self.counter.count_filled(self._counted_text)
        self._waiting_for_contacts = False
        # The mouse's twin of Ctrl+T (no Tab stop, as + Add URL): the keyboard has Ctrl+T and "/" + a name.
        self.templates_button = QToolButton(self)
        self.templates_button.setText("Templates…")
        self.templates_button.setObjectName("templatesButton")
        self.templates_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.templates_button.setAccessibleName("Insert a template")
        self.templates_button.setToolTip(
            "Insert a template (Ctrl+T, or type / and its name at the start of the text)"
        )
        counter_row = QWidget(self)
        counter_layout = QHBoxLayout(counter_row)
        counter_layout.setContentsMargins(0, 0, 0, 0)
        counter_layout.addWidget(self.counter, 1)
        counter_layout.addWidget(self.templates_button)
        self.text_notice = QLabel(self)
        self.text_notice.setObjectName("textNotice")
        self.text_notice.setStyleSheet(text_css(Tone.WARNING, self.palette()))
        self.text_notice.setWordWrap(True)
        self.text_notice.hide()
        # What a paste into To did that the agent should know (a merged repeat, pieces left to fix).
        self.to_notice = QLabel(self)
        self.to_notice.setObjectName("toNotice")
        self.to_notice.setAccessibleName("Recipients notice")
        self.to_notice.setStyleSheet(self.text_notice.styleSheet())
        self.to_notice.setWordWrap(True)
        self.to_notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.to_notice.hide()

        self.media_list = MediaListWidget(self)
        self.tag_edit = TagEdit(self)

        self.advanced_button = QToolButton(self)
        self.advanced_button.setText("A&dvanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setAccessibleName("Show advanced options")
        self.advanced_button.setToolTip("Priority and expiration (rarely needed)")
        self.advanced = QWidget(self)
        self.priority_combo = QComboBox(self.advanced)
        self.priority_combo.addItem("Default", None)
        self.priority_combo.addItem("High — ahead of your other queued messages", Priority.HIGH.value)
        # Its longest choice must not set the composer's width; the popup still shows it whole.
        self.priority_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.priority_combo.setMinimumContentsLength(12)
        self.priority_combo.setAccessibleName("Priority")
        self.priority_combo.setToolTip("High priority jumps ahead of this account's other queued messages")
        self.expire_check = QCheckBox("&Expire if not sent by", self.advanced)
        self.expire_check.setAccessibleName("Set an expiration time")
        self.expire_check.setToolTip(
            "Bandwidth drops the message (error 4360) if it cannot leave before this time"
        )
        self.expiration_edit = _ExpirationEdit(self.advanced)
        self.expiration_edit.setDateTime(QDateTime.currentDateTime().addSecs(3600))  # not 2000-01-01
        self.expiration_edit.setCalendarPopup(True)
        self.expiration_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.expiration_edit.setAccessibleName("Expiration time")
        self.expiration_edit.setToolTip("Local time after which the message must not be sent")
        self.expiration_edit.setEnabled(False)
        # One option a line, so that opening Advanced never makes the composer wider than a small window.
        advanced_layout = QGridLayout(self.advanced)
        advanced_layout.setContentsMargins(0, 0, 0, 0)
        priority_label = QLabel("Pr&iority", self.advanced)
        priority_label.setBuddy(self.priority_combo)
        advanced_layout.addWidget(priority_label, 0, 0)
        advanced_layout.addWidget(self.priority_combo, 0, 1)
        advanced_layout.addWidget(self.expire_check, 1, 0)
        advanced_layout.addWidget(self.expiration_edit, 1, 1)
        advanced_layout.setColumnStretch(2, 1)
        self.advanced.hide()

        self.result_panel = ResultPanel(self)

        self.reason_label = QLabel(self)
        self.reason_label.setObjectName("sendReason")
        self.reason_label.setWordWrap(True)
        self.reason_label.setAccessibleName("Why the message cannot be sent yet")
        self.reason_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(120)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Sending")
        self.progress.hide()
        self.send_button = QPushButton(f"Send  {SEND_SHORTCUT_TEXT}", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send")
        self.send_button.setToolTip("Send the message (Ctrl+Return)")
        self.send_button.setDefault(False)
        self.send_button.setAutoDefault(False)

        self._messages = {field: ProblemLabel(field, field, self) for field in _FIELDS}

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(
            self._label("F&rom", self.from_picker), self._stack(self.from_picker, self._messages["from"])
        )
        # The To field's box: other parts of the window add what they say about the recipients under it.
        self.to_box = self._stack(self.recipients, self.to_notice, self._messages["to"])
        form.addRow(self._label("&To", self.recipients.line_edit()), self.to_box)
        form.addRow("", self.mode_row)
        text_box = self._stack(self.text_edit, counter_row, self.text_notice, self._messages["text"])
        form.addRow(self._label("Te&xt", self.text_edit), text_box)
        form.addRow(
            self._label("&Media", self.media_list.input()),
            self._stack(self.media_list, self._messages["media"]),
        )
        form.addRow(
            self._label("T&ag", self.tag_edit.line_edit()), self._stack(self.tag_edit, self._messages["tag"])
        )
        advanced_box = self._stack(
            self.advanced_button, self.advanced, self._messages["priority"], self._messages["expiration"]
        )
        form.addRow("", advanced_box)

        # Why Send is (not) ready, the progress and Send: one bar the window keeps in view (`send_bar`).
        self.send_bar = QWidget(self)
        bottom = QHBoxLayout(self.send_bar)
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.reason_label, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.send_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result_panel)
        layout.addWidget(self.send_bar)

        apply_tab_order(self.tab_stops())
        self.result_panel.rows_changed.connect(self.tab_stops_changed)
        self.tab_stops_changed.connect(lambda: apply_tab_order(self.tab_stops()))

        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(0)  # coalesce a burst of edits into one validation
        self._validate_timer.timeout.connect(self.revalidate)

        self.from_picker.sender_changed.connect(lambda _s: self._touch("from"))
        self.recipients.changed.connect(lambda: self._touch("to"))
        self.media_list.changed.connect(lambda: self._touch("media"))
        self.tag_edit.tag_changed.connect(lambda _t: self._touch("tag"))
        self.from_picker.sender_changed.connect(self._edited)
        self.recipients.changed.connect(self._edited)
        # A chip marked opted out (or no longer) changes how many messages would go.
        self.recipients.model().dataChanged.connect(self._update_mode_row)
        self.recipients.line_edit().textChanged.connect(self._pending_text_changed)
        self.recipients.notice_changed.connect(self._show_to_notice)
        self.media_list.input().textChanged.connect(self._pending_media_changed)
        self._mode_group.buttonToggled.connect(self._mode_toggled)
        # textChanged also fires when only the UCS-2 marks are redrawn: react to real edits only.
        self._last_text = ""
        self.text_edit.textChanged.connect(self._text_changed)
        self.text_edit.truncated.connect(self._text_truncated)
        self.text_edit.files_dropped.connect(self.media_list.attach_files)
        self.media_list.changed.connect(self._edited)
        self.media_list.upload_requested.connect(self.upload_requested)
        self.tag_edit.tag_changed.connect(self._edited)
        self.tag_edit.truncated.connect(lambda _n: self._edited())
        self.priority_combo.currentIndexChanged.connect(self._edited)
        self.expire_check.toggled.connect(self._expiration_toggled)
        self.expiration_edit.dateTimeChanged.connect(self._edited)
        self.advanced_button.toggled.connect(self._toggle_advanced)
        self.contacts.changed.connect(self._validate_timer.start)
        self.send_button.clicked.connect(self.send_requested)
        self._update_mode_row()
        self.revalidate()

    # --- layout helpers -------------------------------------------------------------------------------

    def tab_stops(self) -> list[QWidget]:
        """Every control in Tab order (docs/design.md §8.2): From → recipients → text → media → tag → Separate/Group →
        Send, with each field's own buttons after it, the advanced options after the tag, and the last
        send's results just before Send."""
        return [
            self.from_picker,
            *self.recipients.tab_stops(),
            self.text_edit,
            *self.counter.tab_stops(),
            *self.media_list.tab_stops(),
            *self.tag_edit.tab_stops(),
            self.advanced_button,
            self.priority_combo,
            self.expire_check,
            self.expiration_edit,
            self.separate_radio,
            self.group_radio,
            *self.result_panel.tab_stops(),
            self.send_button,
        ]

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(buddy)
        return label

    def _stack(self, *widgets: QWidget) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for widget in widgets:
            layout.addWidget(widget)
        return box

    # --- the draft ------------------------------------------------------------------------------------

    def set_region(self, region: str) -> None:
        self._region = region
        self.recipients.set_region(region)
        self.revalidate()

    def set_from_numbers(self, numbers: Sequence[tuple[str, str]], default: str | None) -> None:
        current = self.from_picker.sender()
        self.from_picker.set_numbers(numbers, current or default)
        self.revalidate()

    def mode(self) -> Mode:
        return Mode.GROUP if self.group_radio.isChecked() and self._recipient_count() > 1 else Mode.SEPARATE

    def expiration(self) -> datetime | None:
        if not self.expire_check.isChecked():
            return None
        local = self.expiration_edit.dateTime().toSecsSinceEpoch()
        return datetime.fromtimestamp(local, tz=UTC)

    def priority(self) -> Priority | None:
        value = self.priority_combo.currentData()
        return Priority(value) if value else None

    def draft(self) -> Draft:
        """What is typed now, as an immutable draft (text left in the recipients or media input is not
        included: `commit_pending_input` puts it in first, as Send does)."""
        return Draft(
            sender=self.from_picker.sender(),
            recipients=tuple(self.recipients.model().raw_inputs()),
            text=self.text_edit.text(),
            media=tuple(self.media_list.urls()),
            tag=self.tag_edit.tag(),
            mode=self.mode(),
            priority=self.priority(),
            expiration=self.expiration(),
            region=self._region,
        )

    def drafts_to_send(self) -> list[Draft]:
        """What Send sends: the draft with its variables filled, one per recipient for separate messages
        (each from its contact), one for a group (what all share); the draft itself when it has none."""
        return list(self.contacts.fill(self.draft()).drafts)

    def _counted_text(self, text: str) -> tuple[str, str]:
        """What the counter counts for `text`: with variables, the filled text that costs most."""
        if not may_have_variables(text):
            return text, ""
        filled = self.contacts.fill(replace(self._as_it_would_be_sent(), text=text))
        if not filled.has_variables:
            return text, ""
        count = len(filled.fills)
        return filled.largest(), "filled" if count <= 1 else f"filled, the largest of {count}"

    def saved_draft(self) -> SavedDraft:
        expiration = self.expiration()
        priority = self.priority()
        return SavedDraft(
            sender=self.from_picker.sender(),
            recipients=tuple(self.recipients.model().raw_inputs()),
            pending_recipient_text=self.recipients.pending_text(),
            text=self.text_edit.text(),
            media=tuple(self.media_list.urls()),
            pending_media_text=self.media_list.pending_text(),
            tag=self.tag_edit.tag(),
            mode="group" if self.group_radio.isChecked() else "separate",
            priority=priority.value if priority else None,
            expiration=expiration.isoformat().replace("+00:00", "Z") if expiration else None,
        )

    def restore(self, saved: SavedDraft) -> None:
        """Put a saved draft back into the fields (after a restart or a crash)."""
        if saved.sender:
            self.from_picker.set_sender(saved.sender)
        self.recipients.model().set_inputs(list(saved.recipients))
        self.recipients.set_pending_text(saved.pending_recipient_text)
        self.text_edit.set_text(saved.text)
        self.media_list.set_urls(saved.media)
        self.media_list.set_pending_text(saved.pending_media_text)
        self.tag_edit.set_tag(saved.tag)
        (self.group_radio if saved.mode == "group" else self.separate_radio).setChecked(True)
        index = self.priority_combo.findData(saved.priority) if saved.priority else 0
        self.priority_combo.setCurrentIndex(max(0, index))
        if saved.expiration:
            try:
                moment = datetime.fromisoformat(saved.expiration.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None:
                self.expire_check.setChecked(True)
                self.expiration_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(moment.timestamp())))
                self.advanced_button.setChecked(True)
        self._update_mode_row()
        self.revalidate()

    def holds_work(self) -> bool:
        """Whether clearing would lose something the agent put here: the draft as it is saved, or a file still
        uploading or whose upload failed (those are not in the saved draft until they have a URL)."""
        media = self.media_list
        return (
            not self.saved_draft().is_empty() or media.has_pending_uploads() or bool(media.failed_uploads())
        )

    def clear_message(self) -> None:
        """Empty everything but From, ready for the next message (after everything was accepted)."""
        self.recipients.model().clear()
        self.recipients.set_pending_text("")
        self.text_edit.set_text("")
        self.media_list.clear()  # its notices and warnings too: they were about this message
        self.tag_edit.set_tag("")
        self.separate_radio.setChecked(True)
        self.priority_combo.setCurrentIndex(0)
        self.expire_check.setChecked(False)
        self._api_errors.clear()
        self.text_notice.hide()
        self._update_mode_row()
        self._touched.clear()
        self.revalidate()

    def holds_text(self, text: str) -> bool:
        """The message being written has exactly this text (a send's, whose recipients may leave it)."""
        return self.text_edit.text() == text

    def has_recipients_left(self) -> bool:
        """Someone is still in To (a chip, or a number still being typed)."""
        return self.recipients.model().rowCount() > 0 or bool(self.recipients.pending_text().strip())

    def focus_recipients(self) -> None:
        """Ready for the next message: the agent types its recipients next."""
        self.recipients.line_edit().setFocus()

    def focus_text(self) -> None:
        self.text_edit.setFocus()

    def set_completion_numbers(self, numbers: Sequence[str]) -> None:
        """Numbers To offers as the agent types (recent recipients first), each once."""
        self.recipients.set_completion_numbers(list(dict.fromkeys(numbers)))

    def offer_first(self, numbers: Sequence[str]) -> None:
        """Numbers just sent to lead what To offers; the past recipients follow in their order."""
        self.recipients.offer_first(numbers)

    def drop_recipients(self, done: Sequence[str]) -> None:
        """Remove these recipients (E.164) — their message was accepted — leaving the ones still to deal with."""
        finished = set(done)
        model = self.recipients.model()
        for row in reversed(range(model.rowCount())):
            if model.numbers()[row].e164 in finished:
                model.remove(row)
        self._update_mode_row()
        self.revalidate()

    def commit_pending_input(self) -> None:
        """Put what is still typed in the recipients and media inputs into their lists (Send does this
        first, so a number or link typed without Enter goes out with the message, or blocks it, marked)."""
        self.recipients.commit_pending_text()
        self.media_list.commit_pending_text()

    def _as_it_would_be_sent(self) -> Draft:
        """The draft with what is still typed in the recipients and media inputs, as Send would make it
        (`commit_pending_input`): what the counter, Send's state and the ready text describe, so none of
        them says SMS, "add a recipient" or ready while Send would still add a link or a number (or
        refuse it)."""
        draft = self.draft()
        numbers = self.recipients.model().parse_text(self.recipients.pending_text())
        links = split_links(self.media_list.pending_text())
        if not numbers and not links:
            return draft
        recipients = (*draft.recipients, *(n.e164 if n.ok and n.e164 else n.raw for n in numbers))
        group = (
            self.group_radio.isChecked()
            and len(message.recipients_e164(replace(draft, recipients=recipients))) > 1
        )
        return replace(
            draft,
            recipients=recipients,
            media=(*draft.media, *links),
            mode=Mode.GROUP if group else Mode.SEPARATE,
        )

    def _still_typed(self, problem: Problem) -> bool:
        """A problem with an entry still being typed (not yet a chip or a row): not shown under its field
        nor in red while the agent types it; it only keeps Send from claiming to be ready."""
        committed = {
            "to": self.recipients.model().rowCount(),
            "media": len(self.media_list.urls()),
        }.get(problem.field)
        return committed is not None and problem.index is not None and problem.index >= committed

    # --- validation and state -------------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        return list(self._problems)

    def show_all_problems(self) -> None:
        """After a Send attempt every field's problem is shown, touched or not."""
        self._touched.update(_FIELDS)
        self.revalidate()

    def _touch(self, field: str) -> None:
        self._touched.add(field)

    def hold_send(self, key: str, reason: str) -> None:
        """Another part of the window keeps Send back, saying why ("" lets go): the do-not-text list."""
        if self._holds.get(key, "") == reason:
            return  # said again as each answer arrives: judging the whole draft again would change nothing
        if reason:
            self._holds[key] = reason
        else:
            self._holds.pop(key, None)
        self.revalidate()

    def can_send(self) -> bool:
        return not self._sending and not self._blocking

    def prepare_to_send(self) -> bool:
        """Send was pressed: what is still typed in To and Media joins their lists and the draft is judged again.
        False (every field's problem now shown) when it cannot be sent as it is."""
        self.commit_pending_input()
        self.revalidate()
        if not self.can_send():
            self.show_all_problems()
            return False
        return True

    def reason(self) -> str:
        """Why Send is (not) ready, as the bar beside it says."""
        return self.reason_label.text()

    @Slot()
    def revalidate(self) -> None:
        """Judge the draft with core's rules and show the result next to each field and on Send. A number being
        typed before the phone-number library has loaded (the services load it on a worker just after the first
        paint, and judge the draft again once open) waits for it, so the first key echoes at once instead of
        after the library loads on the GUI thread (docs/design.md §3.1)."""
        if self.recipients.pending_text() and not phone.library_loaded():
            return
        draft = self._as_it_would_be_sent()
        self.media_list.set_sender(draft.sender)  # the MMS size limits depend on it
        problems = message.validate(draft)
        filled = self.contacts.fill(draft) if may_have_variables(draft.text) else None
        has_variables = filled is not None and filled.has_variables
        waiting = has_variables and not self.contacts.want(message.recipients_e164(draft))
        if filled is None:
            self.missing_marks.show(draft.text, [], "")
        else:
            if not waiting:
                problems += filling_problems(filled, problems)
            self.missing_marks.show(draft.text, [] if waiting else filled.missing(), missing_message(filled))
        if has_variables or self._waiting_for_contacts != waiting:
            self.counter.recount()
        self._waiting_for_contacts = waiting
        self._problems = problems
        by_field: dict[str, tuple[str, str]] = {}
        for problem in problems:
            if self._still_typed(problem):
                continue
            if problem.field not in by_field or (
                problem.severity == "error" and by_field[problem.field][1] != "error"
            ):
                by_field[problem.field] = (problem.message, problem.severity)
        for field, (text, _severity) in list(by_field.items()):
            extra = self._api_errors.get(field)
            if extra:
                by_field[field] = (f"{text} — {extra}", "error")
        for field, text in self._api_errors.items():
            by_field.setdefault(field, (text, "error"))
        for field, label in self._messages.items():
            if self._sending:
                # The marks stay as they were when Send was pressed: recipients leaving To as they are accepted
                # would otherwise mark To empty, and lay the composer out, just before it is cleared (§3.5).
                break
            text, severity = by_field.get(field, ("", ""))
            if field not in self._touched and field not in self._api_errors:
                text, severity = "", ""
            label.show_problem(text, severity)
        errors = [p for p in problems if p.severity == "error"]
        pending_uploads = self.media_list.has_pending_uploads()
        failed_uploads = self.media_list.failed_uploads()
        blocking = bool(errors) or pending_uploads or bool(failed_uploads) or waiting or bool(self._holds)
        if self._sending:
            reason = "Waiting for your answer…" if self._confirming else (self._sending_note or "Sending…")
        elif pending_uploads:
            reason = "Waiting for the attachment to finish uploading."
        elif waiting:
            reason = "Looking up the recipients' contacts to fill the text's variables…"
        elif failed_uploads:
            attachment, why = failed_uploads[0]
            reason = (
                f"Media: {attachment.file_name} could not be uploaded ({why}). Upload it again (right-click it) "
                "or remove it."
            )
        elif errors:
            reason = self._reason(errors[0])
        elif self._holds:
            reason = next(iter(self._holds.values()))
        else:
            count = message.message_count(draft)
            reason = self._ready_text(draft, count)
            if self.media_list.pending_text().strip():
                reason += " The link typed under Media goes with it."
            if self.recipients.pending_text().strip():
                reason += " The number typed under To goes with it."
        self.reason_label.setText(reason)
        self.reason_label.setAccessibleName(reason)  # what it says now (ready, why not, waiting, sending)
        self._blocking = blocking
        # Red only for what the agent has been at: setting up the From list at start touches nothing of theirs.
        loud = not self._sending and (
            (bool(errors) and errors[0].field in self._touched and not self._still_typed(errors[0]))
            or (not errors and bool(self._holds))
        )
        set_style(self.reason_label, text_css(Tone.PROBLEM, self.palette()) if loud else "")
        self.send_button.setEnabled(not blocking and not self._sending)
        self.send_button.setToolTip(
            "Send the message (Ctrl+Return)" if not blocking else f"Cannot send yet: {reason}"
        )
        mms = message.is_mms(draft)
        self.counter.set_mms(mms)
        self.text_edit.set_mms(mms)
        self.counter.set_recipient_count(message.message_count(draft) if draft.mode is Mode.SEPARATE else 1)

    def _reason(self, problem: Problem) -> str:
        names = {
            "from": "From",
            "to": "To",
            "text": "Text",
            "media": "Media",
            "tag": "Tag",
            "priority": "Priority",
            "expiration": "Expiration",
        }
        return f"{names.get(problem.field, problem.field)}: {problem.message}"

    def _ready_text(self, draft: Draft, count: int) -> str:
        if draft.mode is Mode.GROUP:
            return f"Ready to send 1 group message to {len(message.recipients_e164(draft))} numbers."
        if count == 1:
            return "Ready to send 1 message."
        return f"Ready to send {count} separate messages."

    def set_sending(self, sending: bool, note: str = "") -> None:
        """While a send is in flight the draft cannot change and a progress indicator shows. `note`: what the
        send bar says when the message being sent is not this one (a Send again… from the history).

        Controls that are disabled meanwhile (Send, Separate/Group) would push the keyboard focus out of the
        composer, into the history; it comes back when the send is over.
        """
        if sending == self._sending:
            return  # the send session says it again as a batch moves on (checking, sending, finished, idle)
        # The window's focus widget, not the application's: while a question box is open the window is not
        # active, but it still knows where its focus is (and gives it back there).
        focus = self.window().focusWidget()
        self._sending = sending
        self._sending_note = note if sending else ""
        self.from_picker.set_read_only(sending)
        self.recipients.set_read_only(sending)
        self.text_edit.setReadOnly(sending)
        self.media_list.set_read_only(sending)
        self.tag_edit.set_read_only(sending)
        self.separate_radio.setEnabled(not sending)
        self.group_radio.setEnabled(not sending)
        self.advanced.setEnabled(not sending)
        self.progress.setVisible(sending and not self._confirming)
        self._update_mode_row()
        self.revalidate()
        if sending:
            ours = focus is not None and (self.isAncestorOf(focus) or self.send_bar.isAncestorOf(focus))
            if ours and self.window().focusWidget() is not focus:
                self._displaced = (focus, self.window().focusWidget())
        elif self._displaced is not None:
            before, pushed_to = self._displaced
            self._displaced = None
            if self.window().focusWidget() is pushed_to:  # the agent has not gone elsewhere meanwhile
                usable = shiboken6.isValid(before) and before.isEnabled() and before.isVisible()
                (before if usable else self.recipients.line_edit()).setFocus(Qt.FocusReason.OtherFocusReason)

    def set_confirming(self, confirming: bool) -> None:
        """While the agent is asked about a send (a possible duplicate), the draft stays frozen but nothing
        claims to be sending."""
        self._confirming = confirming
        self.progress.setVisible(self._sending and not confirming)
        self.revalidate()

    def is_sending(self) -> bool:
        return self._sending

    def show_api_errors(self, field_errors: Sequence[FieldError], fallback: str = "") -> None:
        """Mark the fields the API named in a rejection (unknown field names go to the text as a note)."""
        self._api_errors.clear()
        aliases = {"from": "from", "to": "to", "text": "text", "media": "media", "tag": "tag"}
        aliases |= {"priority": "priority", "expiration": "expiration", "applicationId": "from"}
        for error in field_errors:
            field = aliases.get(error.field.split("[")[0].split(".")[0], "")
            key = field or "text"
            previous = self._api_errors.get(key)
            self._api_errors[key] = f"{previous}; {error.description}" if previous else error.description
        if not field_errors and fallback:
            self._api_errors["text"] = fallback
        self.revalidate()

    def clear_api_errors(self) -> None:
        if self._api_errors:
            self._api_errors.clear()
            self.revalidate()

    # --- reactions ------------------------------------------------------------------------------------

    def _recipient_count(self) -> int:
        """Recipients that can be sent to (distinct: the model merges repeats); an entry still to fix, or a
        number on the do-not-text list, is not one, so it never inflates "Separate messages (n)"."""
        model = self.recipients.model()
        return model.valid_count() - len(model.opted_out_numbers())

    def _update_mode_row(self) -> None:
        if self._sending:
            # Recipients leave To as their messages are accepted; the row showing how the batch is sent stays
            # until the send is over, so each result does not lay the whole composer out again (§3.5).
            return
        count = self._recipient_count()
        self.mode_row.setVisible(count > 1)
        self.separate_radio.setText(f"Se&parate messages ({count})" if count > 1 else "Se&parate messages")
        self.group_warning.setVisible(count > 1 and self.group_radio.isChecked())

    @Slot()
    def _edited(self) -> None:
        if self._api_errors and not self._sending:
            # The agent is fixing what the API rejected; the old message no longer applies.
            self._api_errors.clear()
        self._update_mode_row()
        self._validate_timer.start()
        self.draft_changed.emit()

    @Slot()
    def _text_changed(self) -> None:
        text = self.text_edit.text()
        if text == self._last_text:
            return
        self._last_text = text
        if not self.text_notice.isHidden() and text != self._cut_text:
            self.text_notice.hide()  # the notice was about that paste; the text has moved on
        self._touch("text")
        self._edited()

    @Slot(str)
    def _pending_text_changed(self, _text: str) -> None:
        self._validate_timer.start()  # Send and the ready text follow a number as it is typed
        self.draft_changed.emit()

    @Slot(str)
    def _show_to_notice(self, text: str) -> None:
        self.to_notice.setText(text)
        self.to_notice.setVisible(bool(text))

    @Slot(str)
    def _pending_media_changed(self, _text: str) -> None:
        self._validate_timer.start()  # the counter and Send follow a link as it is typed
        self.draft_changed.emit()

    @Slot()
    def _mode_toggled(self) -> None:
        self._update_mode_row()
        self._edited()

    @Slot(int)
    def _text_truncated(self, removed: int) -> None:
        self.text_notice.setText(
            f"The pasted text was cut by {removed} character{'s' if removed != 1 else ''} to fit the "
            f"{message.MAX_TEXT_LENGTH}-character limit."
        )
        self._cut_text = self.text_edit.text()
        self.text_notice.show()

    @Slot(bool)
    def _expiration_toggled(self, checked: bool) -> None:
        self.expiration_edit.setEnabled(checked)
        if checked and self.expiration_edit.dateTime() <= QDateTime.currentDateTime():
            soon = datetime.now().astimezone() + timedelta(hours=1)
            self.expiration_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(soon.timestamp())))
        self._edited()

    @Slot(bool)
    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.advanced_button.setAccessibleName("Hide advanced options" if shown else "Show advanced options")
