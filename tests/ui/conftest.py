"""Fixtures of the window's tests: a recorder of what the agent was told (status bar, banner, boxes, questions)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bwdesk.ui.feedback import Feedback, Told


@pytest.fixture
def record_told() -> Callable[[Feedback], list[Told]]:
    """`told = record_told(window.feedback)`: from then on, everything the agent is told lands in `told`."""

    def record(feedback: Feedback) -> list[Told]:
        told: list[Told] = []
        feedback.told.connect(told.append)
        return told

    return record
