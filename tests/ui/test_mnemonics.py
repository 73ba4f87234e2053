"""Alt+letter: each underlined letter reaches its control (a label its field, a button pressed, a choice made),
no two share a letter, and a letter no control claims never types into the field that has the focus."""

from __future__ import annotations

import re
import string

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QLabel,
    QPushButton,
    QRadioButton,
    QToolButton,
    QWidget,
)

from bwdesk.core import paths
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.tasks import BackgroundTasks

ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture
def window(qtbot, sandbox, profile):
    context = sandbox_context(sandbox, paths.sandbox_profile_dir(profile))
    made = MainWindow(context, BackgroundTasks())
    qtbot.addWidget(made)
    made.show()
    qtbot.waitUntil(lambda: made._ready, timeout=10_000)
    made.activateWindow()
    qtbot.waitUntil(made.isActiveWindow)
    yield made
    made.tasks.wait_for_threads(10_000)


def mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text)
    return found.group(1).lower() if found else None


def with_mnemonics(window: MainWindow) -> list[tuple[str, QWidget]]:
    """Every shown control with an underlined letter: (letter, the label or button)."""
    found: list[tuple[str, QWidget]] = []
    for label in window.findChildren(QLabel):
        letter = mnemonic(label.text())
        if letter and label.buddy() is not None and label.isVisible():
            found.append((letter, label))
    for button in window.findChildren(QAbstractButton):
        letter = mnemonic(button.text())
        if letter and button.isVisible():
            found.append((letter, button))
    return found


def everything_shown(qtbot, window: MainWindow) -> None:
    composer = window.composer
    qtbot.keyClicks(composer.recipients.line_edit(), "9195550123, 9195550124,")  # Separate/Group shows
    composer.text_edit.insertPlainText("It’s here")  # "Use plain characters" shows
    composer.advanced_button.setChecked(True)
    qtbot.waitUntil(lambda: composer.counter.tab_stops()[0].isVisible())


def press_alt(letter: str) -> None:
    key = getattr(Qt.Key, f"Key_{letter.upper()}")
    QTest.keyClick(QApplication.focusWidget(), key, ALT)


def test_every_mnemonic_reaches_its_control_and_types_nothing(window, qtbot, monkeypatch) -> None:
    composer = window.composer
    everything_shown(qtbot, window)
    chosen: list[bool] = []
    monkeypatch.setattr(composer.media_list, "file_chooser", lambda: chosen.append(True) or [])
    menu_letters = {mnemonic(a.text()) for a in window.menuBar().actions()}
    controls = with_mnemonics(window)
    letters = [letter for letter, _ in controls] + sorted(m for m in menu_letters if m)
    assert len(letters) == len(set(letters)), letters  # no two share a letter
    names = {type(c).__name__ + ":" + c.text().replace("&", "") for _, c in controls}
    for expected in ("Group MMS", "Separate messages", "Attach file", "Add URL", "Advanced", "Priority"):
        assert any(expected in n for n in names), (expected, names)

    text_before = composer.text_edit.text()
    # "Use plain characters" first (a group message is an MMS, which has no such button); Advanced last
    # (pressing it closes the section whose own mnemonics come before).
    fix = composer.counter.tab_stops()[0]
    controls.sort(key=lambda pair: (pair[1] is not fix, pair[1] is composer.advanced_button))
    for letter, control in controls:
        composer.recipients.line_edit().setFocus()
        if isinstance(control, QLabel):
            press_alt(letter)
            buddy = control.buddy()
            assert QApplication.focusWidget() in (buddy, buddy.focusProxy()), control.text()
        elif isinstance(control, QRadioButton):
            press_alt(letter)
            qtbot.waitUntil(control.isChecked)
        elif isinstance(control, QCheckBox | QToolButton):
            was = control.isChecked()
            press_alt(letter)
            qtbot.waitUntil(lambda c=control, w=was: c.isChecked() != w)
        else:
            assert isinstance(control, QPushButton)
            with qtbot.waitSignal(control.clicked, timeout=2000):
                press_alt(letter)
        assert composer.recipients.line_edit().text() == "", control.text()
        assert composer.tag_edit.tag() == ""
    assert chosen == [True]  # Alt+C opened the file chooser
    assert composer.text_edit.text() == text_before.replace("’", "'")  # Alt+L used plain characters


def test_alt_g_chooses_group_and_types_no_g(window, qtbot) -> None:
    composer = window.composer
    to = composer.recipients.line_edit()
    qtbot.keyClicks(to, "9195550123, 9195550124,")
    to.setFocus()
    press_alt("g")
    qtbot.waitUntil(composer.group_radio.isChecked)
    assert to.text() == "" and composer.mode().value == "group"
    press_alt("p")
    qtbot.waitUntil(composer.separate_radio.isChecked)


@pytest.mark.parametrize("field", ["to", "text", "media", "tag"])
def test_an_alt_letter_no_control_claims_types_nothing(window, qtbot, field) -> None:
    composer = window.composer
    target = {
        "to": composer.recipients.line_edit(),
        "text": composer.text_edit,
        "media": composer.media_list.input(),
        "tag": composer.tag_edit.line_edit(),
    }[field]
    target.setFocus()
    claimed = {letter for letter, _ in with_mnemonics(window)}
    claimed |= {mnemonic(a.text()) for a in window.menuBar().actions()}
    unclaimed = [c for c in string.ascii_lowercase if c not in claimed]
    assert "g" in unclaimed  # the Separate/Group pair is hidden with fewer than two recipients
    for letter in unclaimed:
        press_alt(letter)
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_1, ALT | Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is target
    typed = target.toPlainText() if target is composer.text_edit else target.text()
    assert typed == ""
    qtbot.keyClicks(target, "ok")  # plain typing still types
    assert (target.toPlainText() if target is composer.text_edit else target.text()) == "ok"
