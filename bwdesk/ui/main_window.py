"""The main window: the composer above, the history below, and the send flow that joins them.

Start-up opens the history and resolves the account (which may read the keyring) on a worker thread; the
window is usable for typing at once and Send waits until the account is known. Sending validates on the
GUI thread, asks before anything risky (many separate messages, a possible duplicate), then hands the
POSTs to `SendController`. Quitting waits for sends in flight, so no history row is left unsettled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6 import QtWidgets
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QMainWindow,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from bwdesk import __version__
from bwdesk.core import message, paths
from bwdesk.core.account import Account, Context
from bwdesk.core.delivery import RefreshReport, StatusRefresher
from bwdesk.core.drafts import SavedDraft, clear_draft, load_draft, save_draft
from bwdesk.core.errors import BwdeskError
from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.store import HistoryStore
from bwdesk.core.message import Draft, InvalidDraft, Mode
from bwdesk.core.outcome import SendState
from bwdesk.core.sending import (
    PlannedPost,
    PossibleDuplicate,
    SentPost,
    find_possible_duplicates,
    plan,
    sent_at,
)
from bwdesk.ui.composer import ComposerWidget, apply_tab_order
from bwdesk.ui.results import ResultEntry
from bwdesk.ui.send_controller import SendController
from bwdesk.ui.tasks import BackgroundTasks, error_message

if TYPE_CHECKING:
    from bwdesk.core.bandwidth import BandwidthClient

log = logging.getLogger(__name__)

ABOUT_TEXT = (
    "<p><b>bwdesk {version}</b></p>"
    "<p>Send SMS and MMS by hand through Bandwidth's Messaging API v2.</p>"
    "<p><b>bwdesk sends; it does not receive.</b> Replies go wherever your Bandwidth application's "
    "callbacks point (your messaging platform or webhook), not to this window — so nobody should wait "
    "for replies in the history.</p>"
    "<p>Delivery status is looked up from Bandwidth when you refresh it in the history.</p>"
)
AUTOSAVE_DELAY_MS = 400
# A window built but not shown (tests, a dialog first) still starts its services after this long.
UNSHOWN_START_MS = 300
# After a send, delivery statuses are looked up on their own this many seconds later (paced by the refresher).
AUTO_REFRESH_AFTER_S = (5, 30, 120)
COMPLETION_ROWS = 500


@dataclass
class Services:
    """What the window needs from the outside world, opened off the GUI thread at start-up."""

    history: HistoryStore | None = None
    account: Account | None = None
    client: BandwidthClient | None = None
    refresher: StatusRefresher | None = None
    account_problem: str = ""
    history_problem: str = ""
    past_recipients: tuple[str, ...] = ()


def open_services(context: Context) -> Services:
    """Runs on a worker thread: open the history, resolve the account, gather past recipients."""
    services = Services()
    try:
        services.history = context.history()
        rows = services.history.search(HistoryQuery(), limit=COMPLETION_ROWS)
        services.past_recipients = tuple(dict.fromkeys(n for row in rows for n in row.to))
    except BwdeskError as exc:
        services.history_problem = str(exc)
    try:
        services.account = context.account()
        services.client = services.account.client()
        services.refresher = StatusRefresher(services.client)
    except BwdeskError as exc:
        services.account_problem = str(exc)
    return services


class MainWindow(QMainWindow):
    """The composer and the history. `services_ready` fires once start-up work has finished."""

    services_ready = Signal()
    #: Once, after the first paint (or shortly after construction for a window never shown): work that
    #: need not delay the window (the log file, the background services) starts here.
    started = Signal()
    settings_requested = Signal()

    def __init__(self, context: Context, tasks: BackgroundTasks | None = None) -> None:
        super().__init__()
        self.context = context
        self.tasks = tasks if tasks is not None else BackgroundTasks(self)
        self.services = Services()
        self._ready = False
        self._quit_when_idle = False
        self._unknown: dict[int, PlannedPost] = {}  # history row id → the POST whose outcome is unknown
        self._last_posts: dict[int, PlannedPost] = {}
        self._batch: list[PlannedPost] = []
        self._preparing = False  # between Send and the first POST (the duplicate check)
        self._restart_services = False
        self._batch_from_composer = True
        self._draft_notice = ""  # why Send refused the draft, in the status bar until the draft changes
        self.auto_refresh_after: tuple[float, ...] = AUTO_REFRESH_AFTER_S
        self.setWindowTitle("bwdesk — Sandbox" if context.is_sandbox else "bwdesk — New message")
        self.setWindowIcon(app_icon())
        self.resize(980, 860)  # wide enough for every history button beside the search

        self.composer = ComposerWidget(self, region=context.settings.region)
        numbers = [(f.number, f.label) for f in context.settings.from_numbers]
        self.composer.set_from_numbers(numbers, context.settings.default_from or None)
        self.controller = SendController(self.tasks, self)

        self.banner = QLabel(self)
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: palette(alternate-base); padding: 6px;")
        self.banner.hide()
        self.banner_button = QPushButton("Settings…", self)
        self.banner_button.setAccessibleName("Open settings")
        self.banner_button.hide()
        self.banner_button.clicked.connect(self.settings_requested)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.banner)
        top_layout.addWidget(self.banner_button)
        top_layout.addWidget(self.composer)
        scroll = QScrollArea(self)
        self._composer_scroll = scroll
        scroll.setWidget(top)
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a Tab stop of its own; it scrolls to the focus
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Send and why it is (not) ready stay in view below the fields, however long the draft grows.
        composer_pane = QWidget(self)
        pane_layout = QVBoxLayout(composer_pane)
        pane_layout.setContentsMargins(0, 0, 0, 0)
        pane_layout.setSpacing(0)
        pane_layout.addWidget(scroll, 1)
        send_bar_box = QWidget(composer_pane)
        send_bar_layout = QVBoxLayout(send_bar_box)
        send_bar_layout.setContentsMargins(*self.composer.layout().getContentsMargins())
        send_bar_layout.addWidget(self.composer.send_bar)
        pane_layout.addWidget(send_bar_box)

        from bwdesk.ui.history_view import HistoryView

        self.history_view = HistoryView(self.tasks, region=context.settings.region, parent=self)
        splitter = QSplitter(self)
        splitter.setOrientation(splitter.orientation().Vertical)
        splitter.addWidget(composer_pane)
        splitter.addWidget(self.history_view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        self.account_label = QLabel(self)
        self.account_label.setAccessibleName("Account")
        self.statusBar().addPermanentWidget(self.account_label)
        self._build_menus()
        self._apply_tab_order()
        self.composer.tab_stops_changed.connect(self._apply_tab_order)
        # A new result is scrolled into view: an unknown outcome must not hide below the fold.
        self.composer.result_panel.rows_changed.connect(
            lambda: QTimer.singleShot(0, self, self._show_results)
        )

        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave.timeout.connect(self.save_draft_now)

        self.composer.draft_changed.connect(self._autosave.start)
        self.composer.draft_changed.connect(self._clear_draft_notice)
        self.composer.send_requested.connect(self.send)
        self.composer.upload_requested.connect(self._upload)
        self.composer.result_panel.check_requested.connect(self.check_unknown)
        self.composer.result_panel.resend_requested.connect(self.resend_unknown)
        self.controller.post_finished.connect(self._post_finished)
        self.controller.finished.connect(self._send_finished)
        self.history_view.use_as_draft.connect(self.use_as_draft)
        self.history_view.send_again_requested.connect(self.send_again)
        # The history's notes (a refresh's summary) are news, not a state: they go after a while.
        self.history_view.status_message.connect(lambda text: self.statusBar().showMessage(text, 20_000))
        self.history_view.refresh_finished.connect(self._refresh_finished)

        self._restore_draft()
        self._update_account_label()
        self.composer.recipients.line_edit().setFocus()
        # The services (history, account; they load the network and keyring modules) start once the window
        # has painted, so that work on a worker thread does not compete with the first paint. A window that
        # is never shown still gets them shortly.
        self._services_started = False
        QTimer.singleShot(UNSHOWN_START_MS, self, self._start_services_once)

    @Slot()
    def _clear_draft_notice(self) -> None:
        if self._draft_notice and self.statusBar().currentMessage() == self._draft_notice:
            self.statusBar().clearMessage()
        self._draft_notice = ""

    @Slot()
    def _show_results(self) -> None:
        panel = self.composer.result_panel
        if panel.isVisible():
            self._composer_scroll.ensureWidgetVisible(panel, 0, 0)

    def tab_stops(self) -> list[QWidget]:
        """Every control Tab visits, in order: the settings banner, the composer, the history."""
        return [self.banner_button, *self.composer.tab_stops(), *self.history_view.tab_stops()]

    def _apply_tab_order(self) -> None:
        apply_tab_order(self.tab_stops())

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab and Shift+Tab walk `tab_stops()` exactly.

        Qt's own focus chain also holds the compound fields' containers (which pass focus on to their
        input), and following it could jump from the tag back to the recipients; this walks the list
        instead, skipping hidden and disabled controls and, as Qt does, the unchecked radio button of a pair.
        """
        current = QApplication.focusWidget()
        stops = [w for w in self.tab_stops() if _takes_tab_focus(w) or w is current]
        if current not in stops:
            return super().focusNextPrevChild(next)
        target = stops[(stops.index(current) + (1 if next else -1)) % len(stops)]
        target.setFocus(Qt.FocusReason.TabFocusReason if next else Qt.FocusReason.BacktabFocusReason)
        # Scrolled into view in every scroll area it sits in (a result's button: the results', then the
        # composer's), innermost first.
        parent = target.parentWidget()
        while parent is not None and parent is not self:
            if isinstance(parent, QScrollArea):
                parent.ensureWidgetVisible(target)
            parent = parent.parentWidget()
        return True

    # --- start-up ----------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._services_started:
            QTimer.singleShot(0, self, self._start_services_once)

    @Slot()
    def _start_services_once(self) -> None:
        if not self._services_started:
            self._services_started = True
            self.started.emit()
            self.start_services()

    def start_services(self) -> None:
        """(Re)open the history and the account in the background (after any send in flight)."""
        if self.is_busy():
            self._restart_services = True  # never close the client or the history under a send
            return
        self._ready = False
        self.composer.setEnabled(True)
        self.tasks.run(
            lambda: open_services(self.context), self._services_opened, description="open services"
        )

    @Slot(object)
    def _services_opened(self, services: Services) -> None:
        old = self.services
        self.services = services
        if old.client is not None and old.client is not services.client:
            old.client.close()
        if old.history is not None and old.history is not services.history:
            old.history.close()
        self._ready = True
        if services.account is not None:
            account = services.account
            self.composer.set_region(account.region)
            self.composer.set_from_numbers(
                [(f.number, f.label) for f in account.from_numbers], account.default_from
            )
        self.composer.recipients.set_completion_numbers(list(services.past_recipients))
        self.history_view.set_store(services.history)
        self.history_view.set_refresher(services.refresher)
        problems = [p for p in (services.history_problem, services.account_problem) if p]
        self._show_banner(" ".join(problems))
        self._update_account_label()
        self.services_ready.emit()

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.banner_button.setVisible(bool(text) and not self.context.is_sandbox)

    def _update_account_label(self) -> None:
        account = self.services.account
        if self.context.is_sandbox:
            text = "Sandbox — nothing leaves this computer"
        elif account is not None:
            text = f"Account {account.account_id}"
        elif self._ready:
            text = "Not set up"
        else:
            text = "Opening…"
        self.account_label.setText(text)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.new_action = self._action("&New message", QKeySequence.StandardKey.New, self.new_message)
        self.send_action = self._action("&Send", QKeySequence("Ctrl+Return"), self.send)
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.settings_action = self._action(
            "Se&ttings…", QKeySequence("Ctrl+,"), self.settings_requested.emit
        )
        self.settings_action.setEnabled(not self.context.is_sandbox)
        self.quit_action = self._action("&Quit", QKeySequence("Ctrl+Q"), self.close)
        for action in (self.new_action, self.send_action, self.settings_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        history_menu = menu.addMenu("Hi&story")
        self.search_action = self._action("&Search", QKeySequence("Ctrl+F"), self.history_view.focus_search)
        history_menu.addAction(self.search_action)
        history_menu.addSeparator()
        view = self.history_view
        for action in (view.copy_action, view.draft_action, view.resend_action):
            history_menu.addAction(action)
        history_menu.addSeparator()
        for action in (view.refresh_action, view.check_action, view.export_action):
            history_menu.addAction(action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("Copy &diagnostics", None, self.copy_diagnostics))
        help_menu.addAction(self._action("&About bwdesk", None, self.show_about))

    def _action(
        self, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | None, slot: object
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    # --- the draft ------------------------------------------------------------------------------------

    def _restore_draft(self) -> None:
        saved = load_draft(paths.draft_file(self.context.profile))
        if saved is not None:
            self.composer.restore(saved)
            self.statusBar().showMessage("Your unsent message was restored.", 8000)

    @Slot()
    def save_draft_now(self) -> None:
        """Write the draft file (small; the debounce keeps it to a few writes per second at most)."""
        try:
            save_draft(paths.draft_file(self.context.profile), self.composer.saved_draft())
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save the draft: {exc.strerror or exc}", 8000)

    @Slot()
    def new_message(self) -> None:
        if self.is_busy():
            return
        if not self.composer.saved_draft().is_empty() and not self._confirm(
            "Discard this message?", "The message you are writing will be discarded.", "Discard it"
        ):
            return
        self.composer.clear_message()
        self.composer.result_panel.clear()
        clear_draft(paths.draft_file(self.context.profile))
        self.composer.recipients.line_edit().setFocus()

    @Slot(object)
    def use_as_draft(self, row: HistoryRow) -> None:
        if self.is_busy():
            return
        if not self.composer.saved_draft().is_empty() and not self._confirm(
            "Replace your message?",
            "The message you are writing will be replaced by the one from the history.",
            "Replace it",
        ):
            return
        self.composer.clear_message()
        self.composer.restore(
            SavedDraft(
                sender=row.sender,
                recipients=row.to,
                text=row.text,
                media=row.media,
                tag=row.tag,
                mode=row.mode,
            )
        )
        self.composer.result_panel.clear()
        self.composer.text_edit.setFocus()

    # --- sending --------------------------------------------------------------------------------------

    def is_busy(self) -> bool:
        """True from pressing Send until every POST has settled (including the duplicate check before)."""
        return self._preparing or self.controller.is_busy()

    def _sending_services(self) -> tuple[Account, BandwidthClient, HistoryStore] | None:
        """The account, client and history to send with, or None after telling the agent what is missing."""
        account, client, history = self.services.account, self.services.client, self.services.history
        if not self._ready:
            self.statusBar().showMessage("Still opening the account; try again in a moment.", 5000)
            return None
        if account is None or client is None or history is None:
            problem = self.services.account_problem or self.services.history_problem
            QtWidgets.QMessageBox.warning(
                self, "bwdesk is not set up", problem or "The account is not set up."
            )
            return None
        return account, client, history

    @Slot()
    def send(self) -> None:
        """Validate, plan and lock the draft; check the history for duplicates off the GUI thread; send."""
        if self.is_busy():
            return
        composer = self.composer
        composer.commit_pending_input()
        composer.revalidate()
        if not composer.can_send():
            composer.show_all_problems()
            self._draft_notice = composer.reason_label.text()
            self.statusBar().showMessage(self._draft_notice, 8000)
            return
        services = self._sending_services()
        if services is None:
            return
        account = services[0]
        draft = composer.draft()
        count = message.message_count(draft)
        if (
            draft.mode is Mode.SEPARATE
            and count > message.CONFIRM_SEPARATE_ABOVE
            and not self._confirm(
                "Send many messages?",
                f"This sends {count} separate messages, one to each recipient.",
                "Send them",
            )
        ):
            return
        try:
            posts = plan(draft, account.application_id)
        except (InvalidDraft, BwdeskError) as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot send", str(exc))
            return
        self._check_then_send(posts)

    def _check_then_send(self, posts: Sequence[PlannedPost]) -> None:
        """The draft is frozen from here; the history is asked whether this very message went out recently."""
        services = self._sending_services()
        if services is None:
            return
        history = services[2]
        self._preparing = True
        self.composer.set_sending(True)
        self._update_actions()
        self.tasks.run(
            lambda: find_possible_duplicates(history, posts),
            lambda found: self._duplicates_checked(posts, found),
            lambda exc: self._duplicates_checked(posts, None, exc),
            description="look for duplicates",
        )

    def _duplicates_checked(
        self,
        posts: Sequence[PlannedPost],
        found: list[PossibleDuplicate] | None,
        problem: BaseException | None = None,
    ) -> None:
        go = True
        self.composer.set_confirming(True)
        try:
            if problem is not None:
                go = self._confirm(
                    "Send without checking for duplicates?",
                    f"bwdesk could not check the history for an earlier copy of this message: "
                    f"{error_message(problem)}",
                    "Send anyway",
                )
            elif found:
                go = self._confirm_duplicate([d.recipient for d in found], found)
        finally:
            self.composer.set_confirming(False)
        self._preparing = False  # only now: the question above must not leave a gap where Send is free
        if not go:
            self._became_idle()
            return
        self._start(posts)

    def _start(self, posts: Sequence[PlannedPost], *, from_composer: bool = True) -> None:
        """Send `posts`. `from_composer`: they are the composer's message, whose recipients leave it when
        accepted; a resend from the history (or of a result) leaves the composer alone."""
        services = self._sending_services()
        if services is None:
            self._became_idle()
            return
        _account, client, history = services
        self._batch = list(posts)
        self._batch_from_composer = from_composer
        self.composer.result_panel.clear()
        self.composer.clear_api_errors()
        self.composer.result_panel.show_status(
            f"Sending {len(posts)} message{'s' if len(posts) != 1 else ''}…"
        )
        self.composer.set_sending(True)
        self.controller.send(posts, client, history)
        self._update_actions()

    def _update_actions(self) -> None:
        """While sending: no second Send, no New message, no settings change under the send's feet."""
        busy = self.is_busy()
        self.send_action.setEnabled(not busy)
        self.new_action.setEnabled(not busy)
        self.settings_action.setEnabled(not busy and not self.context.is_sandbox)
        self.banner_button.setEnabled(not busy)

    def _confirm(self, title: str, text: str, accept: str) -> bool:
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            title,
            text,
            QtWidgets.QMessageBox.StandardButton.Cancel,
            self,
        )
        go = box.addButton(accept, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setEscapeButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is go

    def _confirm_duplicate(self, numbers: Sequence[str], earlier: Sequence[PossibleDuplicate] = ()) -> bool:
        from bwdesk.core.phone import display_number

        who = ", ".join(display_number(n) for n in dict.fromkeys(numbers))
        if earlier and not any(d.uncertain for d in earlier):
            when = sent_at(earlier)
            text = (
                f"This same message was already sent to {who} a few minutes ago (at {when}) and Bandwidth "
                "accepted it. Sending it again means the customer receives it twice."
            )
        else:
            text = (
                f"The last attempt to send this message to {who} got no answer from Bandwidth: it may already "
                "have been sent. Sending again could make the customer receive it twice.\n\n"
                "Use “Check status” first if you are not sure."
            )
        return self._confirm("Send again? It may be a duplicate", text, "Send again anyway")

    @Slot(object)
    def _post_finished(self, sent: SentPost) -> None:
        entry = ResultEntry(sent.row_id, sent.post.recipients, sent.result)
        self.composer.result_panel.add_result(entry)
        self._last_posts[sent.row_id] = sent.post
        if sent.result.state in (SendState.UNKNOWN, SendState.FAILED):
            self._unknown[sent.row_id] = sent.post
        if sent.result.state is SendState.ACCEPTED:
            self._accepted_elsewhere_or_now(sent.post)
        if sent.history_problem:
            self.statusBar().showMessage(f"Warning: {sent.history_problem}", 30000)
        self.history_view.reload()

    def _accepted_elsewhere_or_now(self, post: PlannedPost) -> None:
        """A message went out (its 202 now, or a status check found it): if the composer still holds that very
        message for these recipients, they leave it at once and the draft is saved — a crash or a restart
        then cannot bring them back for a second send."""
        if self.composer.text_edit.text() == post.payload.get("text", ""):
            self.composer.drop_recipients(post.recipients)
            self.save_draft_now()

    def _composer_message_done(self) -> bool:
        """Every recipient of the composer's message has been dealt with (nothing left to send)."""
        model = self.composer.recipients.model()
        return model.rowCount() == 0 and not self.composer.recipients.pending_text().strip()

    def _became_idle(self) -> None:
        """Every way out of sending ends here: unlock the composer, then do what was put off meanwhile."""
        self.composer.set_sending(False)
        self._update_actions()
        if self._restart_services:
            self._restart_services = False
            self.start_services()
        if self._quit_when_idle:
            self.close()

    @Slot(list)
    def _send_finished(self, sent: list[SentPost]) -> None:
        batch, self._batch = self._batch, []
        from_composer = self._batch_from_composer
        self.composer.set_sending(False)
        self._update_actions()
        accepted = {n for s in sent if s.result.state is SendState.ACCEPTED for n in s.post.recipients}
        for row_id, unknown in list(self._unknown.items()):
            # A later accepted send to the same recipients supersedes an earlier unknown one.
            if set(unknown.recipients) <= accepted:
                del self._unknown[row_id]
        not_attempted = len(batch) - len(sent)
        everything_sent = (
            bool(sent) and not not_attempted and all(s.result.state is SendState.ACCEPTED for s in sent)
        )
        if everything_sent and from_composer and self._composer_message_done():
            self.composer.clear_message()
            clear_draft(paths.draft_file(self.context.profile))
            # Ready for the next message: the agent types its recipients next, wherever Send was pressed.
            self.composer.recipients.line_edit().setFocus()
        elif from_composer:
            rejected = [
                s for s in sent if s.result.state is SendState.REJECTED and s.result.error is not None
            ]
            if rejected:
                error = rejected[0].result.error
                assert error is not None
                self.composer.show_api_errors(error.field_errors, fallback=error.description)
            if not_attempted > 0:
                self.composer.result_panel.show_status(
                    f"{self.composer.result_panel.summary.text()} · sending stopped after an error: "
                    f"{not_attempted} message{'s were' if not_attempted != 1 else ' was'} not sent; "
                    "the recipients are still in the To field"
                )
            self.save_draft_now()
        self.composer.recipients.set_completion_numbers(
            list(dict.fromkeys([*accepted, *self.services.past_recipients]))
        )
        if accepted or any(s.result.state is SendState.UNKNOWN for s in sent):
            # Statuses move on within seconds (or a lost answer turns up): show it without a click.
            for seconds in self.auto_refresh_after:
                QTimer.singleShot(int(seconds * 1000), self, self._refresh_automatically)
        self._became_idle()

    @Slot(object)
    def _refresh_finished(self, report: RefreshReport | None) -> None:
        """A refresh in the history found unknown sends at Bandwidth: treat them as sent, here too."""
        if report is None:
            return
        for row_id in report.updated_rows:
            if row_id in self._unknown:
                self._found_at_bandwidth(row_id)

    def _found_at_bandwidth(self, row_id: int) -> None:
        post = self._unknown.pop(row_id, None)
        if post is not None:
            self._accepted_elsewhere_or_now(post)
        model = self.history_view.model
        position = model.position_of(row_id)
        entry = next((e for e in self.composer.result_panel.entries() if e.row_id == row_id), None)
        if entry is not None and position is not None:
            from bwdesk.core.outcome import SendResult

            row = model.row_at(position)
            if row.state is SendState.ACCEPTED:
                found = SendResult(SendState.ACCEPTED, message_id=row.message_id, segments=row.segments)
                note = "Bandwidth has this message: it was sent. Do not send it again."
                self.composer.result_panel.update_result(ResultEntry(row_id, entry.recipients, found), note)

    @Slot()
    def _refresh_automatically(self) -> None:
        if self._ready and not self.is_busy():
            self.history_view.refresh_status(automatic=True)

    # --- unknown outcomes -----------------------------------------------------------------------------

    @Slot(int)
    def check_unknown(self, row_id: int) -> None:
        history, refresher = self.services.history, self.services.refresher
        if history is None or refresher is None:
            return

        def check() -> tuple[HistoryRow | None, str]:
            row = history.get(row_id)
            if row is None:
                return None, "That message is no longer in the history."
            outcome = refresher.check_unknown(history, row)
            return history.get(row_id), outcome.message

        self.statusBar().showMessage("Asking Bandwidth about that message…")
        self.tasks.run(check, self._unknown_checked, self._background_failed, description="check status")

    def _unknown_checked(self, outcome: tuple[HistoryRow | None, str]) -> None:
        row, note = outcome
        self.statusBar().showMessage(note, 15000)
        if row is None:
            return
        entry = next((e for e in self.composer.result_panel.entries() if e.row_id == row.id), None)
        if entry is not None:
            from bwdesk.core.outcome import SendResult

            result = entry.result
            if row.state is SendState.ACCEPTED:
                result = SendResult(SendState.ACCEPTED, message_id=row.message_id, segments=row.segments)
                post = self._unknown.pop(row.id, None)
                if post is not None:
                    self._accepted_elsewhere_or_now(post)
            self.composer.result_panel.update_result(ResultEntry(row.id, entry.recipients, result), note)
        self.history_view.reload()

    @Slot(int)
    def resend_unknown(self, row_id: int) -> None:
        post = self._unknown.get(row_id) or self._last_posts.get(row_id)
        if post is None or self.is_busy() or self._sending_services() is None:
            return
        entry = next((e for e in self.composer.result_panel.entries() if e.row_id == row_id), None)
        if entry is not None and entry.result.state is SendState.FAILED:
            question = ("Send it now?", "This message was not sent (it never reached Bandwidth).", "Send it")
            if not self._confirm(*question):
                return
        elif not self._confirm_duplicate(post.recipients):
            return
        self._unknown.pop(row_id, None)
        self.composer.set_sending(True)
        self._start([post], from_composer=self.composer.text_edit.text() == post.payload.get("text", ""))

    @Slot(object)
    def send_again(self, row: HistoryRow) -> None:
        """From the history: resend a recorded message (after a confirmation that names the risk)."""
        if self.is_busy():
            return
        services = self._sending_services()
        if services is None:
            return
        account = services[0]
        draft = Draft(
            sender=row.sender,
            recipients=row.to,
            text=row.text,
            media=row.media,
            tag=row.tag,
            mode=Mode(row.mode),
            region=account.region,
        )
        try:
            posts = plan(draft, account.application_id)
        except (InvalidDraft, BwdeskError) as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot send again", str(exc))
            return
        from bwdesk.core.phone import display_number

        who = ", ".join(display_number(n) for n in row.to)
        if row.state in (SendState.UNKNOWN, SendState.SENDING):
            go = self._confirm_duplicate(row.to)
        elif row.state is SendState.ACCEPTED:
            go = self._confirm(
                "Send it again?",
                f"This message was sent to {who} on {row.created_local()} (Bandwidth accepted it). "
                "Sending it again means the customer receives it twice.",
                "Send again",
            )
        else:
            go = self._confirm("Send again?", f"Send this message again to {who}?", "Send again")
        if not go:
            return
        self.composer.set_sending(True)
        self._start(posts, from_composer=False)

    # --- media uploads --------------------------------------------------------------------------------

    @Slot(object)
    def _upload(self, attachment: object) -> None:
        from bwdesk.core.attachments import Attachment

        assert isinstance(attachment, Attachment)
        client = self.services.client
        media_list = self.composer.media_list
        if client is None:
            media_list.upload_failed(attachment, "bwdesk is not connected to an account yet.")
            return

        def upload() -> str:
            return client.upload_media(attachment.name, attachment.read_data(), attachment.content_type)

        self.tasks.run(
            upload,
            lambda url: media_list.upload_finished(attachment, url),
            lambda exc: media_list.upload_failed(attachment, error_message(exc)),
            description="upload media",
        )

    # --- misc -----------------------------------------------------------------------------------------

    @Slot()
    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About bwdesk", ABOUT_TEXT.format(version=__version__))

    @Slot()
    def copy_diagnostics(self) -> None:
        from bwdesk.ui.diagnostics import copy_diagnostics

        copy_diagnostics(self, self.context, self.tasks)

    def _background_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(error_message(exc), 15000)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Quitting waits for sends in flight, so every history row is settled before the app exits."""
        self._autosave.stop()
        self.save_draft_now()
        if self.is_busy():
            self._quit_when_idle = True
            self.statusBar().showMessage("Waiting for the messages being sent to finish, then quitting…")
            event.ignore()
            return
        event.accept()
        self.tasks.wait_for_threads(10_000)
        if self.services.client is not None:
            self.services.client.close()
        if self.services.history is not None:
            self.services.history.close()


def _takes_tab_focus(widget: QWidget) -> bool:
    if not (widget.isVisible() and widget.isEnabled()):
        return False
    if isinstance(widget, QRadioButton):
        # Of a pair, Tab visits the checked one (the arrow keys move within). Decided here: Qt keeps that
        # in the buttons' focus policies, which go stale when the choice is changed from code.
        group = widget.group()
        return widget.isChecked() or group is None or group.checkedButton() is None
    return bool(widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value)


def app_icon() -> QIcon:
    from bwdesk.resources import icon_pngs

    icon = QIcon()
    for png in icon_pngs():
        icon.addFile(str(png))
    return icon
