"""Colours come from the palette: every problem, warning and success text reads (WCAG contrast ≥ 4.5:1) on its
background, on the default light palette and on a dark one; and no other UI module names a colour."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

import bwdesk.ui
from bwdesk.core import paths
from bwdesk.core.account import load_context
from bwdesk.core.history.store import HistoryStore
from bwdesk.core.outcome import ApiError, SendResult, SendState
from bwdesk.core.secrets import SecretStore
from bwdesk.sandbox import Sandbox
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.history.model import Column, HistoryModel
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.message_text import Ucs2Highlighter
from bwdesk.ui.results import ResultEntry
from bwdesk.ui.settings_dialog import SettingsDialog
from bwdesk.ui.style import (
    MIN_CONTRAST,
    TEXT_BACKGROUNDS,
    Tone,
    contrast_ratio,
    relative_luminance,
    tone_colour,
)
from bwdesk.ui.tasks import BackgroundTasks

WAIT = 10_000
COLOUR = re.compile(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})")


def dark_palette() -> QPalette:
    """A dark theme as desktops ship them (Fusion's usual dark colours)."""
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#353535",
        QPalette.ColorRole.WindowText: "#f0f0f0",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#2b2b2b",
        QPalette.ColorRole.Text: "#f0f0f0",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#f0f0f0",
        QPalette.ColorRole.ToolTipBase: "#2b2b2b",
        QPalette.ColorRole.ToolTipText: "#f0f0f0",
        QPalette.ColorRole.PlaceholderText: "#a0a0a0",
        QPalette.ColorRole.Highlight: "#2a82da",
        QPalette.ColorRole.HighlightedText: "#000000",
    }
    for role, name in colours.items():
        palette.setColor(role, QColor(name))
    return palette


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[QPalette]:
    """The whole application on the default (light) palette or on a dark one; restored afterwards."""
    original = QApplication.palette()
    palette = original if request.param == "light" else dark_palette()
    QApplication.setPalette(palette)
    try:
        yield QApplication.palette()
    finally:
        QApplication.setPalette(original)


def test_wcag_contrast_is_computed_as_the_standard_says() -> None:
    assert relative_luminance(QColor("black")) == 0 and relative_luminance(QColor("white")) == 1
    assert contrast_ratio(QColor("black"), QColor("white")) == pytest.approx(21)
    assert contrast_ratio(QColor("#777777"), QColor("white")) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("tone", list(Tone))
def test_every_tone_reads_on_every_background_of_both_palettes(theme: QPalette, tone: Tone) -> None:
    colour = tone_colour(tone, theme)
    for role in TEXT_BACKGROUNDS:
        assert contrast_ratio(colour, theme.color(role)) >= MIN_CONTRAST, (tone, role.name)
    # A tone stays recognisably itself: red, amber, green.
    assert {Tone.PROBLEM: 0, Tone.WARNING: 30, Tone.SUCCESS: 140}[tone] == pytest.approx(
        colour.hslHue(), abs=15
    )


def toned_labels(root: QWidget) -> list[tuple[str, QColor, QColor]]:
    """Every shown label whose text is coloured: (its text, the colour, the background it is drawn on)."""
    found = []
    for label in root.findChildren(QLabel):
        match = COLOUR.search(label.styleSheet())
        if match and label.isVisibleTo(root) and label.text():
            background = label.palette().color(label.backgroundRole())
            found.append((label.text(), QColor(match.group(1)), background))
    return found


def assert_readable(texts: list[tuple[str, QColor, QColor]]) -> None:
    poor = [
        f"{text!r}: {colour.name()} on {background.name()} = {contrast_ratio(colour, background):.2f}"
        for text, colour, background in texts
        if contrast_ratio(colour, background) < MIN_CONTRAST
    ]
    assert poor == []


def test_every_problem_warning_and_success_text_of_the_window_reads(
    theme: QPalette, qtbot: Any, sandbox: Sandbox, profile: Path
) -> None:
    tasks = BackgroundTasks()
    window = MainWindow(sandbox_context(sandbox, paths.sandbox_profile_dir(profile)), tasks)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window._ready, timeout=WAIT)
    composer = window.composer
    # Problems and warnings next to the fields, and the reason Send waits.
    qtbot.keyClicks(composer.recipients.line_edit(), "919 555 01, 9195550123, 9195550124,")
    composer.group_radio.setChecked(True)
    long_text = QMimeData()
    long_text.setText("x" * 2100)
    composer.text_edit.insertFromMimeData(long_text)
    composer.tag_edit.set_tag("t" * 1024)
    composer.media_list.add_links(["ftp://example.com/a.jpg"])
    composer.show_all_problems()
    # Outcomes of a send: accepted, rejected and unknown.
    panel = composer.result_panel
    rejected = SendResult(SendState.REJECTED, 400, error=ApiError("The 'to' number is invalid"))
    for row_id, result in enumerate(
        (
            SendResult(SendState.ACCEPTED, 202, "m-1", 1),
            rejected,
            SendResult(SendState.UNKNOWN, detail="no answer"),
        ),
        start=1,
    ):
        panel.add_result(ResultEntry(row_id, ("+19195550123",), result))
    qtbot.waitUntil(lambda: all(panel.row_widget(i).isVisible() for i in (1, 2, 3)))  # type: ignore[union-attr]

    texts = toned_labels(window)
    shown = " ".join(text for text, _colour, _background in texts)
    for expected in ("✖", "✓", "?", "group", "was cut", "2048", "1024", "only http", "cannot be used"):
        assert expected in shown, expected
    tones = {tone for tone in Tone for _t, colour, _b in texts if colour == tone_colour(tone, theme)}
    assert tones == set(Tone)
    assert_readable(texts)

    # The media list marks the bad link in its rows, on the list's base colours.
    media = composer.media_list
    item = media.list_view().item(0)
    for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
        assert contrast_ratio(item.foreground().color(), media.palette().color(role)) >= MIN_CONTRAST
    # Characters that cost more are underlined amber, on the text box's base colour.
    mark = Ucs2Highlighter(composer.text_edit.document()).mark_format.underlineColor()
    assert contrast_ratio(mark, composer.text_edit.palette().color(QPalette.ColorRole.Base)) >= MIN_CONTRAST
    window.close()
    tasks.wait_for_threads(WAIT)


def test_the_history_status_colours_read_on_the_table(
    theme: QPalette, qtbot: Any, store: HistoryStore
) -> None:
    unknown = store.record_sending("+19195550100", ["+19195550123"], "separate", "lost", (), "", 1)
    store.settle(unknown, SendResult(SendState.UNKNOWN, detail="connection reset"))
    rejected = store.record_sending("+19195550100", ["+19195550124"], "separate", "no", (), "", 1)
    store.settle(rejected, SendResult(SendState.REJECTED, 400, error=ApiError("invalid", "x", 400)))
    tasks = BackgroundTasks()
    model = HistoryModel(tasks, store, region="US")
    qtbot.waitUntil(lambda: model.rowCount() == 2 and not model.loading, timeout=WAIT)
    colours = [model.index(row, Column.STATUS).data(Qt.ItemDataRole.ForegroundRole) for row in range(2)]
    assert all(isinstance(c, QColor) for c in colours)
    for colour in colours:
        for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
            assert contrast_ratio(colour, theme.color(role)) >= MIN_CONTRAST
    tasks.wait_for_threads(WAIT)


def test_the_settings_dialogs_results_and_problems_read(
    theme: QPalette, qtbot: Any, sandbox: Sandbox, profile: Path
) -> None:
    tasks = BackgroundTasks()
    dialog = SettingsDialog(load_context(profile=profile, env={}), tasks, secret_store=SecretStore())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=WAIT)
    dialog.account_id_edit.setText("acct-1")
    dialog.api_base_edit.setText("http://bandwidth.example.com/api/v2")
    dialog.save_button.click()  # each field says what is wrong with it
    problems = toned_labels(dialog)
    assert problems and all(text.startswith("✖") for text, _c, _b in problems)
    assert_readable(problems)

    dialog.account_id_edit.setText(sandbox.account_id)
    dialog.application_id_edit.setText(sandbox.application_id)
    dialog.token_url_edit.setText(sandbox.token_url)
    dialog.basic_radio.setChecked(True)
    dialog.username_edit.setText(sandbox.username)
    dialog.api_base_edit.setText(sandbox.api_base)
    for password in (sandbox.password, "wrong password"):
        dialog.password_edit.setText(password)
        with qtbot.waitSignal(dialog.test_finished, timeout=WAIT):
            dialog.test_connection()
        label = dialog.test_result_label
        assert label.text().startswith("✓" if password == sandbox.password else "✖")
        assert_readable([t for t in toned_labels(dialog) if t[0] == label.text()])
    tasks.wait_for_threads(WAIT)


def test_no_ui_module_but_style_names_a_colour() -> None:
    """Hex colours and named QColors are wrong on some palette; only style.py derives colours."""
    folder = Path(bwdesk.ui.__file__).parent
    literal = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b|QColor\(\s*[\"']")
    offenders = [
        f"{path.relative_to(folder)}:{number}"
        for path in folder.rglob("*.py")
        if path.name != "style.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []
