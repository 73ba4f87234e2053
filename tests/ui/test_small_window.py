"""The window at 700×600 (a small laptop screen, half a big one): every control can be reached and is then in
view (scrolling up and down is fine, sideways is not), and the history's Status column is always on screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from bwdesk.core import paths
from bwdesk.core.outcome import ApiError, SendResult, SendState
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.history.model import Column
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.results import ResultEntry
from bwdesk.ui.tasks import BackgroundTasks

SMALL = QSize(700, 600)


@pytest.fixture
def small_window(qtbot, sandbox, profile):
    context = sandbox_context(sandbox, paths.sandbox_profile_dir(profile))
    window = MainWindow(context, BackgroundTasks())
    qtbot.addWidget(window)
    window.resize(SMALL)
    window.show()
    qtbot.waitUntil(lambda: window._ready, timeout=10_000)
    yield window
    window.tasks.wait_for_threads(10_000)


def in_window(widget: QWidget) -> QRect:
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


def clipped_by(widget: QWidget) -> list[str]:
    """The ancestors that cut off part of `widget` (a scroll area's viewport, the window): [] when it is
    wholly in view."""
    rect = in_window(widget)
    cut = []
    parent = widget.parentWidget()
    while parent is not None:
        if not in_window(parent).contains(rect):
            cut.append(parent.objectName() or type(parent).__name__)
        if parent.isWindow():
            break
        parent = parent.parentWidget()
    return cut


def fill_every_part_of_the_composer(qtbot, window: MainWindow) -> None:
    """Every row the composer can show at once: the Separate/Group pair with the group warning, the text's
    "Use plain characters", a notice, media rows (one invalid), the tag, Advanced with an expiration, results
    with all their buttons and long lines."""
    composer = window.composer
    qtbot.keyClicks(composer.recipients.line_edit(), "9195550123, 9195550124, 9195550125,")
    composer.group_radio.setChecked(True)
    composer.text_edit.insertPlainText("It’s on the way — " + "a long line of text " * 20)
    composer.media_list.add_links(
        [
            "https://example.com/a/very/long/path/to/a/picture/of/the/part/that/was/ordered/part-0042.jpg",
            "ftp://example.com/not-a-web-link.png",
        ]
    )
    composer.tag_edit.set_tag("TICKET-4242 " * 10)
    composer.advanced_button.click()
    composer.expire_check.setChecked(True)
    composer.priority_combo.setCurrentIndex(1)
    panel = composer.result_panel
    panel.add_result(
        ResultEntry(
            1,
            ("+19195550126",),
            SendResult(SendState.ACCEPTED, 202, "1589228074636lm4k2je7j7jklbn2-long-message-id", segments=3),
        )
    )
    panel.add_result(
        ResultEntry(2, ("+19195550127",), SendResult(SendState.UNKNOWN, detail="no answer within 30 s"))
    )
    panel.add_result(
        ResultEntry(
            3,
            ("+19195550128",),
            SendResult(
                SendState.REJECTED,
                400,
                error=ApiError("Something is wrong with the request: " + "a long reason " * 10),
            ),
        )
    )
    qtbot.waitUntil(lambda: composer.counter.tab_stops()[0].isVisible())  # "Use plain characters"
    QApplication.processEvents()  # the new results scroll into view first


def test_at_700_by_600_tab_reaches_every_control_and_each_is_then_wholly_in_view(small_window, qtbot) -> None:
    window = small_window
    assert window.size() == SMALL  # the window can be that small: nothing demands more
    fill_every_part_of_the_composer(qtbot, window)
    composer = window.composer
    assert composer.mode_row.isVisible() and composer.group_warning.isVisible()

    stops = [w for w in window.tab_stops() if w.isVisible() and w.isEnabled()]
    assert len(stops) >= 20
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    composer.from_picker.setFocus(Qt.FocusReason.TabFocusReason)
    reached = []
    for _ in range(len(stops) + 1):
        focus = QApplication.focusWidget()
        reached.append(focus)
        QApplication.processEvents()
        assert clipped_by(focus) == [], f"{focus.accessibleName()} is not wholly in view: {in_window(focus)}"
        QTest.keyClick(focus, Qt.Key.Key_Tab)
    for stop in stops:
        if stop is composer.group_radio or stop is composer.separate_radio:
            continue  # Tab visits the checked one of the pair
        assert stop in reached, stop.accessibleName()
    assert composer.group_radio in reached

    scroll = window._composer_scroll
    # Nothing is wider than the window: no sideways scrolling.
    assert not scroll.horizontalScrollBar().isVisible()


def test_controls_that_take_no_tab_stop_are_not_cut_off_at_the_side(small_window, qtbot) -> None:
    window = small_window
    fill_every_part_of_the_composer(qtbot, window)
    media = window.composer.media_list
    for name in ("mediaAdd", "mediaAttach"):
        button = media.findChild(QWidget, name)
        scroll = window._composer_scroll
        scroll.ensureWidgetVisible(button)
        QApplication.processEvents()
        assert clipped_by(button) == [], name
    tag_row = [w for w in window.composer.tag_edit.findChildren(QWidget) if w.isVisible()]
    window.composer.tag_edit.line_edit().setFocus()
    QApplication.processEvents()
    assert tag_row and all(clipped_by(w) == [] for w in tag_row)  # the counter "n / 1024" too


def status_in_view(window: MainWindow) -> bool:
    table = window.history_view.table
    header = table.horizontalHeader()
    left = header.sectionViewportPosition(Column.STATUS)
    return left >= 0 and left + header.sectionSize(Column.STATUS) <= table.viewport().width()


def test_the_history_status_column_stays_in_view_in_a_small_window_and_after_shrinking(
    small_window, qtbot
) -> None:
    window = small_window
    header = window.history_view.table.horizontalHeader()
    assert header.visualIndex(Column.STATUS) < header.visualIndex(Column.TEXT)
    assert status_in_view(window)
    window.resize(1400, 800)
    QApplication.processEvents()
    wide_text = header.sectionSize(Column.TEXT)
    assert status_in_view(window)
    window.resize(SMALL)
    QApplication.processEvents()
    assert status_in_view(window)
    assert header.sectionSize(Column.TEXT) < wide_text  # Text gave the width back, eliding

    window.history_view.reload()
    QApplication.processEvents()
    assert header.visualIndex(Column.STATUS) < header.visualIndex(Column.TEXT)  # a reload keeps the order
    assert status_in_view(window)


def test_from_the_text_to_the_tag_is_three_tabs(small_window, qtbot) -> None:
    window = small_window
    composer = window.composer
    composer.text_edit.setFocus()
    walked = []
    for _ in range(3):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget().accessibleName())
    assert walked == ["Media link", "Attach file", "Tag"]


def tab_cycle(window: MainWindow, start: QWidget) -> list[QWidget]:
    """Every control Tab visits from `start` until it comes back round."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    seen: list[QWidget] = []
    for _ in range(80):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        if focus is start:
            return seen
        seen.append(focus)
    raise AssertionError(f"Tab never came back: {[w.accessibleName() for w in seen]}")


def test_separate_or_group_is_a_tab_stop_whichever_way_it_was_chosen(
    small_window, qtbot, monkeypatch
) -> None:
    from bwdesk.core.drafts import SavedDraft

    window = small_window
    composer = window.composer
    to = composer.recipients.line_edit()
    qtbot.keyClicks(to, "9195550123, 9195550124,")
    assert composer.separate_radio in tab_cycle(window, to)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    to.setFocus()
    QTest.keyClick(to, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(composer.group_radio.isChecked)
    assert composer.group_radio in tab_cycle(window, to)
    composer.separate_radio.click()
    assert composer.separate_radio in tab_cycle(window, to)
    monkeypatch.setattr(window.feedback, "ask", lambda *args: True)
    window.session.new_message()
    composer.restore(SavedDraft(recipients=("+19195550123", "+19195550124"), text="hi", mode="group"))
    assert composer.group_radio in tab_cycle(window, to)
    composer.advanced_button.setChecked(True)
    composer.expire_check.setChecked(True)
    cycle = tab_cycle(window, composer.expiration_edit)
    assert cycle[0] is composer.group_radio  # straight on from the expiration time
