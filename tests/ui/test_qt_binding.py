"""The Qt binding itself: a release that corrupts reference counts must never be installed.

PySide6 6.12.0 drops one reference to `None` on every method call that returns nothing. The test suite
starts with tens of thousands of references, so it would pass; a real window on Python 3.11 runs out
within minutes of typing and aborts ("none_dealloc"). This test measures the leak directly.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget


def test_void_calls_do_not_leak_references_to_none(qtbot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(2000):
        widget.setToolTip("x")
    assert sys.getrefcount(None) - before > -50


def test_signal_emits_do_not_leak_references_to_true(qtbot) -> None:
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal()

    emitter = Emitter()
    before = sys.getrefcount(True)
    for _ in range(2000):
        emitter.fired.emit()
    assert sys.getrefcount(True) - before > -50
