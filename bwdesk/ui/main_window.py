"""The main window: the composer above, the history below. It builds them, connects them to the send session,
the draft keeper and the feedback, and owns start-up (what waits for the first paint) and closing."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QMainWindow,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from bwdesk import __version__
from bwdesk.core import paths, phone
from bwdesk.core.account import Context
from bwdesk.core.errors import trouble_of
from bwdesk.ui.composer import ComposerWidget, apply_tab_order
from bwdesk.ui.draft_keeper import DraftKeeper
from bwdesk.ui.feedback import Banner, Duration, Feedback, error_message
from bwdesk.ui.keyboard import KeyboardFilter
from bwdesk.ui.services import Services, open_services
from bwdesk.ui.style import make_action
from bwdesk.ui.tasks import BackgroundTasks

if TYPE_CHECKING:  # made after the first paint (`MainWindow._make_rest`), so their modules load then
    from bwdesk.core.attachments import Attachment
    from bwdesk.core.bandwidth import BandwidthClient
    from bwdesk.core.team.state import TeamState
    from bwdesk.ui.directory.parts import DirectoryParts
    from bwdesk.ui.history.view import HistoryView
    from bwdesk.ui.media_preview import MediaPreviews
    from bwdesk.ui.send_session import SendSession
    from bwdesk.ui.team_status import TeamWatch
    from bwdesk.ui.templates.controller import TemplatesController

log = logging.getLogger(__name__)

#: The window's first size: wide enough for every history button beside the search, tall enough for the
#: composer and a screenful of history — on a screen that has room for it.
PREFERRED_SIZE = QSize(980, 860)
#: Kept free around a window that must shrink to fit: the window manager's frame and title bar.
SCREEN_MARGIN = 48


def _first_size() -> QSize:
    """The preferred size, shrunk to the screen's available area (a 768-pixel laptop, a taskbar) so that the
    bottom of the history and the status bar are never off screen."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return PREFERRED_SIZE
    room = screen.availableGeometry().size().shrunkBy(QMargins(0, 0, SCREEN_MARGIN, SCREEN_MARGIN))
    return PREFERRED_SIZE.boundedTo(room)


ABOUT_TEXT = (
    "<p><b>bwdesk {version}</b></p>"
    "<p>Send SMS and MMS by hand through Bandwidth's Messaging API v2.</p>"
    "<p><b>bwdesk sends; it does not receive.</b> Replies go wherever your Bandwidth application's "
    "callbacks point (your messaging platform or webhook), not to this window — so nobody should wait "
    "for replies in the history.</p>"
    "<p>Delivery status is looked up from Bandwidth when you refresh it in the history.</p>"
)
# A window built but not shown by then (tests, a dialog first) starts its services after this long.
UNSHOWN_START_MS = 300
# Pixels kept between a control brought into view and the edge of its scroll area.
VIEW_MARGIN = 8
#: The splitter's sizes are given in these (only their ratio counts).
SPLIT_UNIT = 1000
#: What the history pane's place says until the pane is made (as its empty table says until the store opens).
OPENING_HISTORY = "Opening the history…"


class MainWindow(QMainWindow):
    """The composer and the history. `services_ready` fires each time the services have (re)opened."""

    services_ready = Signal()
    #: Once, after the first paint (or shortly after construction for a window never shown): work that
    #: need not delay the window (the log file, the background services) starts here.
    started = Signal()
    settings_requested = Signal(str)  # the settings field to open at ("": the top)

    def __init__(self, context: Context, tasks: BackgroundTasks | None = None) -> None:
        super().__init__()
        self.context = context
        self.tasks = tasks if tasks is not None else BackgroundTasks(self)
        self.services = Services()
        self._ready = False  # the services have opened (Send can use them)
        self._services_started = False
        self._restart_services = False  # asked for while sending: done once the send is over
        self._quit_when_idle = False  # asked to close while sending: done once the send is over
        self._closed = False
        self._quit_flush = ""  # "": not yet; "copying": waiting for the team copy on quitting; "done"
        self.setWindowTitle("bwdesk — Sandbox" if context.is_sandbox else "bwdesk — New message")
        self.resize(_first_size())

        self.composer = ComposerWidget(self, region=context.settings.region)
        numbers = [(f.number, f.label) for f in context.settings.from_numbers]
        self.composer.set_from_numbers(numbers, context.settings.default_from or None)
        self.banner = Banner(self)
        self.feedback = Feedback(self, self.banner)
        self.drafts = DraftKeeper(
            self.composer, paths.draft_file(context.profile), self.feedback, self, tasks=self.tasks
        )
        self._rest: _Rest | None = None  # made by `_make_rest` once the window has painted, or at first use
        self._templates: TemplatesController | None = None
        self._directory_parts: DirectoryParts | None = None
        self._keyboard = KeyboardFilter(self)
        self._keyboard.focus_arrived.connect(self._focus_arrived)
        self._lay_out()
        self._build_menus()
        self._connect()
        self._apply_tab_order()

        self.drafts.restore()
        self._update_account_label()
        self.composer.focus_recipients()
        # The services (history, account; they load the network and keyring modules) start once the window
        # has painted, so that work on a worker thread does not compete with the first paint.
        self.installEventFilter(self)
        QTimer.singleShot(UNSHOWN_START_MS, self, self._start_services_if_unshown)

    def _lay_out(self) -> None:
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
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
        # The banner (account or connection trouble) stays in view above the fields, wherever they scroll.
        pane_layout.addWidget(self.banner)
        pane_layout.addWidget(scroll, 1)
        send_bar_box = QWidget(composer_pane)
        send_bar_layout = QVBoxLayout(send_bar_box)
        composer_layout = self.composer.layout()
        assert composer_layout is not None
        send_bar_layout.setContentsMargins(composer_layout.contentsMargins())
        send_bar_layout.addWidget(self.composer.send_bar)
        pane_layout.addWidget(send_bar_box)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self._splitter = splitter
        splitter.addWidget(composer_pane)
        # The history pane's place, until `_make_rest` puts the pane there a moment after the first paint.
        placeholder = QLabel(OPENING_HISTORY, splitter)
        placeholder.setObjectName("historyPlaceholder")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setFrameShape(QFrame.Shape.StyledPanel)
        placeholder.setEnabled(False)  # drawn in the disabled colour, as the empty table's text is
        splitter.addWidget(placeholder)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        # Seven tenths of the height for the composer, three for the history (about what their size hints gave
        # when the pane was made before the first paint), whatever the stand-in's hint: the pane made later then
        # gets exactly the place its stand-in had, and nothing moves when it comes.
        splitter.setSizes([7 * SPLIT_UNIT, 3 * SPLIT_UNIT])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        self.team_label = QLabel(self)  # "team history offline — 3 waiting"; empty (hidden) when all is well
        self.team_label.setAccessibleName("Team history")
        self.team_label.hide()
        self.statusBar().addPermanentWidget(self.team_label)
        self.account_label = QLabel(self)
        self.account_label.setAccessibleName("Account")
        self.statusBar().addPermanentWidget(self.account_label)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.new_action = make_action(self, "&New message", self._new_message, QKeySequence.StandardKey.New)
        # Until the session is made, Send makes it first; then `_make_rest` hands Send to it directly.
        self.send_action = make_action(self, "&Send", self._send_draft, QKeySequence("Ctrl+Return"))
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.settings_action = make_action(self, "Se&ttings…", self._ask_for_settings, QKeySequence("Ctrl+,"))
        self.settings_action.setEnabled(not self.context.is_sandbox)
        self.quit_action = make_action(self, "&Quit", self.close, QKeySequence("Ctrl+Q"))
        for action in (self.new_action, self.send_action, self.settings_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        self.template_action = make_action(
            self, "&Insert template…", self._open_template_picker, QKeySequence("Ctrl+T")
        )
        self.manage_templates_action = make_action(self, "&Manage templates…", self.manage_templates)
        file_menu.addAction(self.template_action)
        file_menu.addAction(self.manage_templates_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self._history_menu = menu.addMenu("Hi&story")  # the pane's actions join it when it is made
        self.search_action = make_action(self, "&Search", self._focus_history_search, QKeySequence("Ctrl+F"))
        self._history_menu.addAction(self.search_action)
        tools_menu = menu.addMenu("T&ools")
        self.optout_list_action = make_action(self, "&Do-not-text list…", self._open_optout_list)
        tools_menu.addAction(self.optout_list_action)
        self.contacts_action = make_action(self, "&Contacts…", self._open_contacts)
        tools_menu.addAction(self.contacts_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(make_action(self, "Copy &diagnostics", self.copy_diagnostics))
        help_menu.addAction(make_action(self, "&About bwdesk", self.show_about))

    def _connect(self) -> None:
        """The composer's own wiring; what joins it to the session and the history is `_connect_rest`."""
        composer = self.composer
        composer.send_requested.connect(self._send_draft)
        composer.upload_requested.connect(self._upload)
        composer.tab_stops_changed.connect(self._apply_tab_order)
        composer.result_panel.rows_changed.connect(self._results_changed)
        self.banner.button.clicked.connect(self._open_banner_setting)

    # --- what is made after the first paint ---------------------------------------------------------------

    @property
    def history_view(self) -> HistoryView:
        """The history pane (its search, filters, actions and table)."""
        return self._make_rest().history_view

    @property
    def session(self) -> SendSession:
        """The send session (docs/design.md §3.2)."""
        return self._make_rest().session

    @property
    def previews(self) -> MediaPreviews:
        """The media rows' previews, fetched on workers."""
        return self._make_rest().previews

    @property
    def team_watch(self) -> TeamWatch:
        """The team history's state, followed for the status bar and the banner."""
        return self._make_rest().team_watch

    def _make_rest(self) -> _Rest:
        """The history pane, the send session, the media previews and the team watch, made once: a moment after
        the first paint (`_start_services_once`), or earlier at first use (a Send, a test). Painting and typing
        into the composer need none of them, and their modules (the history's queries, the send path) load
        here instead of on the way to the first paint (docs/design.md §3.1). The pane takes the place kept for
        it, with the same size."""
        if self._rest is not None:
            return self._rest
        from bwdesk.ui.history.view import HistoryView
        from bwdesk.ui.media_preview import MediaPreviews
        from bwdesk.ui.send_session import SendSession
        from bwdesk.ui.team_status import TeamWatch

        context = self.context
        history = HistoryView(self.tasks, region=context.settings.region, feedback=self.feedback, parent=self)
        self._rest = rest = _Rest(
            history,
            SendSession(self.composer, self.tasks, self.drafts, self.feedback, self.feedback.confirm, self),
            MediaPreviews(self.composer.media_list, self.tasks, self, local_only=context.is_sandbox),
            TeamWatch(self.tasks, self),
        )
        placeholder = self._splitter.replaceWidget(1, history)
        self._splitter.setStretchFactor(1, 2)
        if placeholder is not None:
            placeholder.deleteLater()
        self._history_menu.addSeparator()
        for action in (history.copy_action, history.draft_action, history.resend_action):
            self._history_menu.addAction(action)
        self._history_menu.addSeparator()
        for action in (history.refresh_action, history.check_action, history.export_action):
            self._history_menu.addAction(action)
        self._connect_rest()
        self._apply_tab_order()
        return rest

    def _connect_rest(self) -> None:
        """Who tells whom: the session drives the results and the history; the history's answers reach it."""
        composer, session, history = self.composer, self.session, self.history_view
        team_watch = self.team_watch
        results = composer.result_panel
        # From now on Send goes straight to the session (the four hops of docs/design.md §3.2).
        for signal in (self.send_action.triggered, composer.send_requested):
            signal.disconnect(self._send_draft)
            signal.connect(session.send_draft)
        results.check_requested.connect(history.history_actions.check_status)
        results.resend_requested.connect(session.resend_result)
        session.results_cleared.connect(results.clear)
        session.results_titled.connect(results.set_title)
        session.results_expected.connect(results.make_room)
        # The results' room scrolls into view when it is made, before they come.
        session.results_expected.connect(self._results_changed)
        session.status_changed.connect(results.show_status)
        session.result_added.connect(results.add_result)
        session.result_updated.connect(results.update_result)
        session.history_changed.connect(history.reload)
        session.refresh_due.connect(history.history_actions.refresh_automatically)
        session.busy_changed.connect(self._busy_changed)
        history.use_as_draft.connect(session.use_as_draft)
        history.send_again_requested.connect(session.send_again)
        history.history_actions.rows_learned.connect(session.rows_learned)
        session.history_changed.connect(team_watch.refresh_state)
        team_watch.state_changed.connect(self._team_state_changed)
        team_watch.team_changed.connect(history.reload)
        team_watch.agents_changed.connect(history.set_agents)

    @Slot()
    def _send_draft(self) -> None:
        """Send pressed before the session was made (in the moment after the first paint)."""
        self.session.send_draft()

    @Slot()
    def _new_message(self) -> None:
        self.session.new_message()

    @Slot()
    def _focus_history_search(self) -> None:
        self.history_view.focus_search()

    @property
    def templates(self) -> TemplatesController:
        """Templates in the composer (Ctrl+T, "/" and a name, the Templates… button)."""
        self._make_features()
        assert self._templates is not None
        return self._templates

    @property
    def directory_parts(self) -> DirectoryParts:
        """The do-not-text list and contacts: the composer's marks, the chip and history menus, the dialogs."""
        self._make_features()
        assert self._directory_parts is not None
        return self._directory_parts

    def _make_features(self) -> None:
        """The templates and the directory's parts, made once: when the services have opened (they need the
        directory; the history fills at the same moment), or earlier at first use (Ctrl+T, the Tools menu). Their
        modules and the template engine are not needed to paint and type into the composer, so they load once it
        is typeable, not between the agent's first key and its echo (docs/design.md §3.1)."""
        if self._templates is not None:
            return
        from bwdesk.ui.directory.parts import DirectoryParts
        from bwdesk.ui.templates.controller import TemplatesController

        self._templates = TemplatesController(self.composer, self.tasks, self.feedback, self.context, self)
        self._templates.open_manager_hook = self.manage_templates
        self._directory_parts = DirectoryParts(self)

    @Slot()
    def _open_template_picker(self) -> None:
        self.templates.open_picker()

    @Slot()
    def _open_optout_list(self) -> None:
        self.directory_parts.open_list()

    @Slot()
    def _open_contacts(self) -> None:
        self.directory_parts.open_contacts()

    # --- keyboard -------------------------------------------------------------------------------------

    def tab_stops(self) -> list[QWidget]:
        """Every control Tab visits, in order: the settings banner, the composer, the history."""
        history = self._rest.history_view.tab_stops() if self._rest is not None else []
        return [self.banner.button, *self.composer.tab_stops(), *history]

    @Slot()
    def _apply_tab_order(self) -> None:
        stops = self.tab_stops()
        apply_tab_order(stops)
        self._keyboard.watch(stops)

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
        self._bring_into_view(target)
        return True

    @Slot(QWidget)
    def _focus_arrived(self, widget: QWidget) -> None:
        """Focus that arrives by keyboard or from code (Tab, a mnemonic, New message) brings its control into
        view; a click needs nothing (what was clicked is in view). Again once the layout has settled: the
        control just left may change size as it loses the focus (typed numbers becoming chips)."""
        if widget.window() is self:
            self._bring_into_view(widget)
            QTimer.singleShot(0, self, functools.partial(self._bring_into_view_if_focused, widget))

    def _bring_into_view_if_focused(self, target: QWidget) -> None:
        if shiboken6.isValid(target) and target.hasFocus():
            self._bring_into_view(target)

    def _bring_into_view(self, target: QWidget) -> None:
        """Scroll `target` wholly into view in every scroll area it sits in (a result's button: the results',
        then the composer's), innermost first. Qt's `ensureWidgetVisible` shows only a text field's cursor,
        which leaves a field half below the fold; only a field taller than the view is left to it."""
        parent = target.parentWidget()
        while parent is not None and parent is not self:
            content = parent.widget() if isinstance(parent, QScrollArea) else None
            if isinstance(parent, QScrollArea) and content is not None:
                area = QRect(target.mapTo(content, QPoint(0, 0)), target.size())
                room = parent.viewport().size()
                if area.height() + 2 * VIEW_MARGIN <= room.height() and area.width() <= room.width():
                    half_width, half_height = area.width() // 2, area.height() // 2 + VIEW_MARGIN
                    parent.ensureVisible(area.center().x(), area.center().y(), half_width, half_height)
                else:
                    parent.ensureWidgetVisible(target)
            parent = parent.parentWidget()

    @Slot()
    def _results_changed(self) -> None:
        QTimer.singleShot(0, self, self._show_results)

    @Slot()
    def _show_results(self) -> None:
        """A new result is scrolled into view: an unknown outcome must not hide below the fold."""
        panel = self.composer.result_panel
        if panel.isVisible():
            self._composer_scroll.ensureWidgetVisible(panel, 0, 0)

    # --- start-up ----------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Watches only its own first paint (then stops): a `paintEvent` override would bring every repaint of
        the window, a busy indicator's included, through Python and the GIL (docs/design.md §3.5)."""
        if watched is self and event.type() == QEvent.Type.Paint:
            self.removeEventFilter(self)
            phone.first_frame_painted()
            QTimer.singleShot(0, self, self._start_services_once)
        return super().eventFilter(watched, event)

    @Slot()
    def _start_services_if_unshown(self) -> None:
        """A window never shown (tests, a dialog first) starts its services without a paint. A shown one waits
        for its first paint however long that takes (a slow machine, a profiler), so that they never compete
        with it; a window shown minimized starts them when it is first restored and painted."""
        if not self.isVisible():
            self._start_services_once()

    @Slot()
    def _start_services_once(self) -> None:
        """The services' worker first (it has the longest way to go), then the rest of the window, in a turn of
        the event loop of its own so that a key typed meanwhile is not kept waiting behind both. Not for a window
        already closed (before its first paint)."""
        if not self._services_started and not self._closed:
            self._services_started = True
            self.started.emit()
            self.start_services()
            QTimer.singleShot(0, self, self._make_rest)

    def start_services(self) -> None:
        """(Re)open the history and the account in the background (after any send in flight). What is not made
        yet (the session, the previews: the first start) has no services to give back."""
        rest = self._rest
        if rest is not None and rest.session.uses_services():
            self._restart_services = True  # never close the client or the history under a send
            return
        self._ready = False
        if rest is not None:
            rest.session.use_services(None)
            rest.previews.use_client(None)
        if self._directory_parts is not None:  # made with the first services (below) or at first use
            self._directory_parts.use_services(None)
        self.tasks.run(
            functools.partial(open_services, self.context),
            self._services_opened,
            self._services_failed,
            description="open services",
        )

    def _services_failed(self, exc: BaseException) -> None:
        """Not a problem bwdesk knows (those come back inside `Services`): the window still becomes ready, with
        the reason in the banner, so a Send waiting for the account is answered instead of waiting forever."""
        log.error("opening the account and history failed", exc_info=exc)
        self._services_opened(Services(account_problem=f"bwdesk could not open the account: {exc}"))

    @Slot(object)
    def _services_opened(self, services: Services) -> None:
        if self._closed:
            services.close()  # opened while the window was closing: nobody will use them
            return
        old, self.services = self.services, services
        self.directory_parts.use_services(services)
        old.close(keep=services)
        self._ready = True
        if services.account is not None:
            account = services.account
            self.composer.set_region(account.region)
            self.composer.set_from_numbers(
                [(f.number, f.label) for f in account.from_numbers], account.default_from
            )
        self.session.use_services(services)
        self.composer.hold_send("services", _why_not_ready(services))
        self.composer.revalidate()  # a number typed while the phone-number library loaded is judged now
        self.composer.contacts.use(self.tasks, services.directory)
        self.templates.use(services.directory, services.directory_problem)
        self.previews.use_client(services.client, ready=True)
        self.history_view.set_store(services.history)
        self.history_view.set_refresher(services.refresher)
        self.feedback.set_banner(
            services.problems(), offer_settings=not self.context.is_sandbox, setting=services.account_setting
        )
        self._team_state_changed(services.team_state)
        self.team_watch.watch(services.history)
        self._update_account_label()
        self.services_ready.emit()

    @Slot(object)
    def _team_state_changed(self, state: TeamState | None) -> None:
        """The team history's line in the status bar, and the banner's note while the history shows this desk's
        messages alone (docs/design.md §16.16)."""
        summary = "" if state is None else state.summary()
        self.team_label.setText(summary)
        self.team_label.setToolTip((state.problem or "") if state is not None else "")
        self.team_label.setVisible(bool(summary))
        from bwdesk.ui.team_status import banner_note  # loaded with the team watch, after the first paint

        self.feedback.set_team_notice(banner_note(state))
        self.history_view.set_team_state(state)

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

    # --- while sending ------------------------------------------------------------------------------------

    @Slot(bool)
    def _busy_changed(self, busy: bool) -> None:
        """While sending: no second Send, no New message, no settings change under the send's feet. After it,
        what was put off meanwhile (new settings, quitting) happens."""
        self.send_action.setEnabled(not busy)
        self.new_action.setEnabled(not busy)
        self.settings_action.setEnabled(not busy and not self.context.is_sandbox)
        self.banner.button.setEnabled(not busy)
        if busy:
            self.composer.result_panel.build_ahead()  # while the history is checked for duplicates
            return
        if self._restart_services:
            self._restart_services = False
            self.start_services()
        if self._quit_when_idle:
            self.close()

    @Slot(object)
    def _upload(self, attachment: Attachment) -> None:
        """A file attached in the composer goes to Bandwidth's media store on a worker."""
        client, media_list = self.services.client, self.composer.media_list
        if client is None:
            media_list.upload_failed(attachment, "bwdesk is not connected to an account yet.")
            return
        self.tasks.run(
            functools.partial(_upload_media, client, attachment),
            functools.partial(media_list.upload_finished, attachment),
            functools.partial(self._upload_failed, attachment),
            description="upload media",
        )

    def _upload_failed(self, attachment: Attachment, exc: BaseException) -> None:
        """The file's row goes, saying why; refused credentials or no connection are said as such too (the
        file itself is not at fault), with the setting to check."""
        trouble = trouble_of(exc)
        if trouble is not None and trouble.stops_batch:
            outcome = f"{attachment.file_name} was not uploaded; attach it again once this is fixed."
            self.feedback.trouble(trouble, str(exc), outcome=outcome)
        self.composer.media_list.upload_failed(attachment, error_message(exc))

    # --- menus --------------------------------------------------------------------------------------------

    @Slot()
    def _ask_for_settings(self) -> None:
        self.settings_requested.emit("")

    @Slot()
    def _open_banner_setting(self) -> None:
        self.settings_requested.emit(self.banner.setting)

    @Slot()
    def manage_templates(self) -> None:
        """The templates dialog (add, edit, duplicate, delete, import, export); the book is read again after."""
        from bwdesk.ui.templates.manage_dialog import ManageTemplatesDialog

        dialog = ManageTemplatesDialog(self, self.tasks, self.context, self.templates.shelf())
        dialog.changed.connect(self.templates.reload)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    @Slot()
    def show_about(self) -> None:
        self.feedback.about("About bwdesk", ABOUT_TEXT.format(version=__version__))

    @Slot()
    def copy_diagnostics(self) -> None:
        from bwdesk.ui.diagnostics import copy_diagnostics

        copy_diagnostics(self.feedback, self.context, self.tasks)

    # --- closing ------------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Quitting waits for sends in flight, so every history row is settled before the app exits. A Send still
        waiting for the services has nothing in flight: the window quits, and the saved draft holds the message."""
        self.drafts.stop()
        self.drafts.save_now()
        if self._rest is not None and self._rest.session.uses_services():
            self._quit_when_idle = True
            self.feedback.notify(
                "Waiting for the messages being sent to finish, then quitting…", Duration.UNTIL_REPLACED
            )
            event.ignore()
            return
        if self._copy_before_quitting():
            event.ignore()
            return
        event.accept()
        self._shut_down()

    def _copy_before_quitting(self) -> bool:
        """This desk's rows waiting for the team history get a moment (`QUIT_FLUSH`) to be copied, on a worker
        while the window stays live; True while that goes on. Whatever still waits is copied next time."""
        if self._rest is None:
            return False
        from bwdesk.ui.team_status import QUIT_FLUSH

        store, state = self._rest.team_watch.store, self._rest.team_watch.state
        if self._quit_flush == "copying":
            return True
        if (
            self._quit_flush == "done"
            or store is None
            or state is None
            or not state.online
            or not state.waiting
        ):
            return False
        self._quit_flush = "copying"
        self.feedback.notify(
            f"Copying {state.waiting} message{'s' if state.waiting != 1 else ''} to the team history, then "
            "quitting…",
            Duration.UNTIL_REPLACED,
        )
        self.tasks.run(
            functools.partial(store.flush, QUIT_FLUSH),
            self._copied_before_quitting,
            self._copied_before_quitting,
            description="copy to the team history before quitting",
        )
        return True

    def _copied_before_quitting(self, _result: object) -> None:
        self._quit_flush = "done"
        self.close()

    def _shut_down(self) -> None:
        """Timers and background work stop before the client and the history close (never the other way)."""
        self._closed = True
        rest = self._rest  # None for a window closed before its first paint
        if rest is not None:
            rest.team_watch.shut_down()
            rest.session.shut_down()
        # A chip check or a template's contacts still due ask nothing of a closing directory.
        self.composer.contacts.use(None, None)
        if self._directory_parts is not None:  # never made for a window closed before its services opened
            self._directory_parts.use_services(None)
        if rest is not None:
            rest.history_view.shut_down()
        self.hide()  # closing the history may still copy for a moment (a team history): not on screen
        self.tasks.wait_for_threads(10_000)
        if rest is not None:
            rest.previews.shut_down()
        self.services.close()
        self.services = Services()


class _Rest:
    """What `MainWindow._make_rest` makes after the first paint: all of it at once, or none of it yet."""

    __slots__ = ("history_view", "previews", "session", "team_watch")

    def __init__(
        self, history_view: HistoryView, session: SendSession, previews: MediaPreviews, team_watch: TeamWatch
    ) -> None:
        self.history_view = history_view
        self.session = session
        self.previews = previews
        self.team_watch = team_watch


def _upload_media(client: BandwidthClient, attachment: Attachment) -> str:
    """On a worker: the file's bytes to Bandwidth; returns the media URL to send."""
    return client.upload_media(attachment.name, attachment.read_data(), attachment.content_type)


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


def _why_not_ready(services: Services) -> str:
    """What the send bar says instead of "Ready to send" when the account or the history could not be opened
    ("" when they are): the banner says why and what to do."""
    if services.account is None or services.client is None:
        return "Cannot send yet: bwdesk is not set up to send (see the notice above)."
    if services.history is None:
        return "Cannot send: the history could not be opened (see the notice above)."
    return ""
