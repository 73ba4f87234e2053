"""A failed delivery is told where the agent looks: the result line of that send turns to a failure with the
reason in words, the summary counts it, the history row says why, and when the window is not the active one a
desktop notification says it too (through the notifier the test injects, and — on Linux — through a real
D-Bus notification service on a private bus). A send whose every message arrived says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from bwdesk.core import paths
from bwdesk.sandbox import LANDLINE_NUMBER, OPTED_OUT_NUMBER, Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.feedback import FreedesktopNotifier, Kind
from bwdesk.ui.history.model import Column
from bwdesk.ui.main_window import PREFERRED_SIZE, MainWindow
from bwdesk.ui.style import Tone, text_css
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 10_000


class Notifications:
    """The injected desktop notifier: records what the desktop would have shown."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def show(self, title: str, text: str) -> None:
        self.shown.append((title, text))


@pytest.fixture
def window(qtbot: Any, sandbox: Sandbox, profile: Path) -> Iterator[MainWindow]:
    main = MainWindow(sandbox_context(sandbox, paths.sandbox_profile_dir(profile)), BackgroundTasks())
    qtbot.addWidget(main)
    main.resize(PREFERRED_SIZE)  # a desktop's screen (the offscreen one is 800×600, which shrinks the window)
    main.show()
    qtbot.waitUntil(lambda: main._ready, timeout=WAIT)
    main.session.auto_refresh_after = (0.05,)  # the sandbox's statuses are final at once
    main.feedback.desktop = Notifications()
    yield main
    main.tasks.wait_for_threads(WAIT)


def send_and_refresh(qtbot: Any, window: MainWindow, recipients: str, text: str) -> None:
    """Send, then wait for the automatic status refresh a moment later."""
    window.composer.recipients.model().add_text(recipients)
    window.composer.text_edit.set_text(text)
    window.composer.revalidate()
    actions = window.history_view.history_actions
    with qtbot.waitSignal(actions.refresh_finished, timeout=WAIT):
        window.session.send_draft()


def look_elsewhere(qtbot: Any) -> QWidget:
    """The agent works in another window meanwhile."""
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(other.isActiveWindow)
    return other


def test_a_failed_delivery_turns_its_result_line_and_tells_the_desktop(
    qtbot: Any, window: MainWindow, record_told: Any
) -> None:
    look_elsewhere(qtbot)
    told = record_told(window.feedback)
    send_and_refresh(
        qtbot, window, f"9195550123, {LANDLINE_NUMBER}, {OPTED_OUT_NUMBER}", "Your order shipped"
    )
    panel = window.composer.result_panel
    lines = {e.recipients[0]: panel.row_widget(e.row_id).label.text() for e in panel.entries()}
    assert lines["+19195550123"].startswith("✓ (919) 555-0123 — delivered · id ")
    assert lines[LANDLINE_NUMBER].startswith(
        "✖ (919) 555-0199 — not delivered (FAILED): 4720: the number cannot receive texts — often a landline."
    )
    assert "4775: the recipient has opted out (replied STOP)" in lines[OPTED_OUT_NUMBER]
    assert panel.summary.text() == "✓ 1 delivered · ✖ 2 not delivered"
    assert panel.summary.styleSheet() == text_css(Tone.PROBLEM, panel.palette())

    # The desktop was told, naming who and why, since the agent was looking elsewhere.
    [(title, text)] = window.feedback.desktop.shown
    assert title == "2 messages were not delivered"
    assert "(919) 555-0199 — 4720: the number cannot receive texts" in text
    assert "(919) 555-0198 — 4775: the recipient has opted out (replied STOP)" in text
    assert [t.title for t in told if t.kind is Kind.ALERT] == [title]

    # The history row says why in words, not only in its tooltip.
    model = window.history_view.model
    statuses = {model.index(i, Column.TO).data(): model.index(i, Column.STATUS).data() for i in range(3)}
    assert statuses["(919) 555-0198"] == "accepted · FAILED 4775 · opted out (replied STOP)"
    assert statuses["(919) 555-0199"] == "accepted · FAILED 4720 · cannot receive texts (landline?)"
    table = (
        window.history_view.table
    )  # ...and the column is wide enough to read it, not "accepted · FAILED 477…"
    needed = max(table.fontMetrics().horizontalAdvance(text) for text in statuses.values())
    assert table.columnWidth(Column.STATUS) >= needed


def test_when_every_message_arrived_the_results_say_so_and_the_desktop_is_left_alone(
    qtbot: Any, window: MainWindow, record_told: Any
) -> None:
    look_elsewhere(qtbot)
    told = record_told(window.feedback)
    send_and_refresh(qtbot, window, "9195550123, 9195550124", "See you at 3")
    panel = window.composer.result_panel
    assert panel.summary.text() == "✓ 2 delivered"
    assert panel.summary.styleSheet() == text_css(Tone.SUCCESS, panel.palette())
    assert window.feedback.desktop.shown == [] and not [t for t in told if t.kind is Kind.ALERT]


def test_with_the_window_in_front_the_window_says_it_and_the_desktop_is_left_alone(
    qtbot: Any, window: MainWindow, record_told: Any
) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    told = record_told(window.feedback)
    send_and_refresh(qtbot, window, LANDLINE_NUMBER, "Call me back")
    [alert] = [t for t in told if t.kind is Kind.ALERT]
    assert alert.text.startswith("Not delivered: (919) 555-0199 — 4720")
    assert window.statusBar().currentMessage() == alert.text
    assert window.feedback.desktop.shown == []


# --- the Linux desktop's notification service, on a private D-Bus ----------------------------------------

needs_dbus = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("dbus-daemon") is None,
    reason="needs dbus-daemon (Debian: dbus); the notification service is Linux's",
)


@pytest.fixture
def private_bus() -> Iterator[str]:
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "DBUS_VERBOSE": "0"},
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    yield address
    daemon.terminate()
    daemon.wait(timeout=10)
    daemon.stdout.close()


# org.freedesktop.Notifications as a desktop provides it, in a process of its own, with its exact signature
# (susssasa{sv}i): a call with another signature finds no method there, as with GNOME's or KDE's service. It
# says "ready" once it owns the name, then prints each call as JSON.
FAKE_SERVICE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, Slot
    from PySide6.QtDBus import QDBusConnection

    @ClassInfo({"D-Bus Interface": "org.freedesktop.Notifications"})
    class Service(QObject):
        @Slot(str, "uint", str, str, str, "QStringList", "QVariantMap", int, result="uint")
        def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
            print(json.dumps([app, replaces, icon, summary, body, actions, hints, timeout]), flush=True)
            return 1

    app = QCoreApplication([])
    bus = QDBusConnection.connectToBus(sys.argv[1], "service")
    service = Service()
    bus.registerObject("/org/freedesktop/Notifications", service, QDBusConnection.RegisterOption.ExportAllSlots)
    print("ready" if bus.registerService("org.freedesktop.Notifications") else "taken", flush=True)
    app.exec()
    """
)


@needs_dbus
def test_the_notification_service_shows_it_with_the_types_it_expects(qtbot: Any, private_bus: str) -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", FAKE_SERVICE, private_bus],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "ready"
        fallback = Notifications()
        notifier = FreedesktopNotifier(fallback, bus_address=private_bus)
        notifier.show("A message was not delivered", "Not delivered: (919) 555-0198 — 4775: opted out.")
        call = json.loads(
            service.stdout.readline()
        )  # blocks until the call arrives (the test's timeout bounds it)
        assert call == [
            "bwdesk",
            0,
            "bwdesk",
            "A message was not delivered",
            "Not delivered: (919) 555-0198 — 4775: opted out.",
            [],
            {"desktop-entry": "bwdesk"},
            -1,
        ]
        with qtbot.assertNotEmitted(notifier.not_shown, wait=200):
            pass  # the service took it: nothing for the fallback
        assert fallback.shown == []
    finally:
        service.terminate()
        service.wait(timeout=10)
        if service.stdout is not None:
            service.stdout.close()


@needs_dbus
def test_without_a_notification_service_the_fallback_gets_it(qtbot: Any, private_bus: str) -> None:
    fallback = Notifications()
    notifier = FreedesktopNotifier(fallback, bus_address=private_bus)
    notifier.show("A message was not delivered", "Not delivered: (919) 555-0199.")
    qtbot.waitUntil(lambda: bool(fallback.shown), timeout=WAIT)
    assert fallback.shown == [("A message was not delivered", "Not delivered: (919) 555-0199.")]
