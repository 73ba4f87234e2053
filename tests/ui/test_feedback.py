"""The one feedback path: what the agent is told lands in the status bar, the banner or a box, each recorded;
questions default to Cancel; and no other UI module talks to the agent around it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

import bwdesk.ui
from bwdesk.core.errors import ConfigError
from bwdesk.core.outcome import Trouble
from bwdesk.ui.feedback import (
    Banner,
    Duration,
    Feedback,
    Kind,
    NoNotifier,
    Told,
    TrayNotifier,
    error_message,
    system_notifier,
)


class Changes(QObject):
    changed = Signal()


@pytest.fixture
def window(qtbot: Any) -> QMainWindow:
    main = QMainWindow()
    qtbot.addWidget(main)
    return main


def test_notes_and_warnings_go_to_the_status_bar_for_their_named_time(
    window: QMainWindow, record_told: Callable[[Feedback], list[Told]]
) -> None:
    feedback = Feedback(window)
    told = record_told(feedback)
    feedback.notify("Copied message id m-1.")
    assert window.statusBar().currentMessage() == "Copied message id m-1."
    feedback.warn("Warning: the history could not be written")
    assert window.statusBar().currentMessage() == "Warning: the history could not be written"
    feedback.notify("Asking Bandwidth…", Duration.UNTIL_REPLACED)
    assert [(t.kind, t.duration) for t in told] == [
        (Kind.NOTE, Duration.NEWS),
        (Kind.WARNING, Duration.WARNING),
        (Kind.NOTE, Duration.UNTIL_REPLACED),
    ]


def test_a_note_about_the_draft_goes_once_the_draft_changes_unless_something_replaced_it(
    window: QMainWindow,
) -> None:
    feedback, draft = Feedback(window), Changes()
    feedback.notify("To: a number is missing", Duration.MOMENT, withdrawn_by=draft.changed)
    draft.changed.emit()
    assert window.statusBar().currentMessage() == ""
    feedback.notify("To: a number is missing", Duration.MOMENT, withdrawn_by=draft.changed)
    feedback.notify("Copied message id m-1.")
    draft.changed.emit()
    assert window.statusBar().currentMessage() == "Copied message id m-1."  # news is not withdrawn


def test_the_banner_stays_until_replaced_and_offers_the_settings(
    qtbot: Any, window: QMainWindow, record_told: Callable[[Feedback], list[Told]]
) -> None:
    banner = Banner(window)
    window.setCentralWidget(banner)
    window.show()
    feedback = Feedback(window, banner)
    told = record_told(feedback)
    feedback.set_banner("The account is not set up.")
    assert banner.isVisible() and banner.label.text() == "The account is not set up."
    assert banner.button.isVisible()
    feedback.set_banner("The sandbox could not start.", offer_settings=False)
    assert not banner.button.isVisible()
    feedback.set_banner("")
    assert not banner.isVisible()
    assert [t.kind for t in told] == [Kind.BANNER, Kind.BANNER]


def test_trouble_takes_the_banner_until_it_is_over_then_the_standing_notice_returns(
    qtbot: Any, window: QMainWindow, record_told: Callable[[Feedback], list[Told]]
) -> None:
    banner = Banner(window)
    window.setCentralWidget(banner)
    window.show()
    feedback = Feedback(window, banner)
    told = record_told(feedback)
    feedback.set_banner("The history could not be opened.", setting="")
    feedback.trouble(Trouble.SIGN_IN, "HTTP 401: Authentication Failed", outcome="Nothing was sent.")
    assert banner.label.text() == (
        "Bandwidth did not accept the credentials: HTTP 401: Authentication Failed. Check the password or client "
        "secret in Settings (an API user's, not the dashboard login). Nothing was sent."
    )
    assert banner.setting == "password" and banner.button.isVisible()
    assert banner.button.accessibleName() == "Open settings at password"
    feedback.clear_trouble()
    assert banner.label.text() == "The history could not be opened." and banner.setting == ""
    feedback.trouble(Trouble.CONNECTION, "Could not reach 127.0.0.1: connection refused.")
    assert banner.setting == "api_base" and banner.label.text().startswith("bwdesk could not reach Bandwidth")
    feedback.set_banner("")  # new services (new settings): the trouble met with the old ones is over
    assert not banner.isVisible()
    assert [t.kind for t in told] == [Kind.BANNER, Kind.TROUBLE, Kind.TROUBLE]


def test_questions_go_through_ask_and_default_to_cancel(
    qtbot: Any, window: QMainWindow, record_told: Callable[[Feedback], list[Told]]
) -> None:
    feedback = Feedback(window)
    told = record_told(feedback)
    seen: dict[str, object] = {}

    def press_enter() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen["title"], seen["text"] = box.windowTitle(), box.text()
        box.defaultButton().click()  # what Enter does

    QTimer.singleShot(0, press_enter)
    assert feedback.confirm("Discard this message?", "It will be discarded.", "Discard it") is False
    assert seen == {"title": "Discard this message?", "text": "It will be discarded."}
    feedback.ask = lambda title, text, accept: accept == "Send them"  # a test answers instead of a person
    assert feedback.confirm("Send many messages?", "This sends 12 messages.", "Send them") is True
    assert [(t.kind, t.title) for t in told] == [
        (Kind.QUESTION, "Discard this message?"),
        (Kind.QUESTION, "Send many messages?"),
    ]


def test_an_error_box_is_recorded_and_shown(
    qtbot: Any, window: QMainWindow, record_told: Callable[[Feedback], list[Told]]
) -> None:
    feedback = Feedback(window)
    told = record_told(feedback)
    shown: list[str] = []

    def acknowledge() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        shown.append(box.text())
        box.accept()

    QTimer.singleShot(0, acknowledge)
    feedback.error("Cannot send", "The From number is not one of yours.")
    assert shown == ["The From number is not one of yours."]
    assert told == [Told(Kind.ERROR, "The From number is not one of yours.", "Cannot send")]


def test_exceptions_are_put_into_words_in_one_place(expect_log: Any) -> None:
    assert error_message(ConfigError("The account id is empty.")) == "The account id is empty."
    expect_log("unexpected KeyError")
    assert error_message(KeyError("x"), "Export") == "Export failed (KeyError); the log has the details."


def test_no_ui_module_but_feedback_talks_to_the_agent_around_it() -> None:
    """Message boxes and status-bar notes only through feedback.py (so they are recorded and look alike)."""
    folder = Path(bwdesk.ui.__file__).parent
    direct = re.compile(r"QMessageBox|showMessage\(|statusBar\(\)")
    offenders = [
        f"{path.relative_to(folder)}:{number}: {line.strip()}"
        for path in folder.rglob("*.py")
        if path.name != "feedback.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if direct.search(line) and "addPermanentWidget" not in line
    ]
    assert offenders == []


def test_where_the_desktop_has_no_way_to_notify_it_quietly_does_nothing(
    qtbot: Any, window: QMainWindow, record_told: Callable[[Feedback], list[Told]]
) -> None:
    """Offscreen there is neither a tray nor a notification service: the alert is still said in the window,
    and nothing fails or warns."""
    assert isinstance(system_notifier(), NoNotifier)
    tray = TrayNotifier(window)
    tray.show("A message was not delivered", "Not delivered: (919) 555-0199.")  # no tray here: nothing
    feedback = Feedback(window)
    told = record_told(feedback)
    other = QMainWindow()
    qtbot.addWidget(other)
    window.show()
    other.show()
    other.activateWindow()
    qtbot.waitUntil(other.isActiveWindow)
    feedback.alert("A message was not delivered", "Not delivered: (919) 555-0199.")
    assert [(t.kind, t.title) for t in told] == [(Kind.ALERT, "A message was not delivered")]
    assert isinstance(feedback.desktop, NoNotifier)  # made when first needed: the system's way, here none
    assert window.statusBar().currentMessage() == "Not delivered: (919) 555-0199."
