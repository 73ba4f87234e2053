"""Fixtures for the sandbox tests: a running sandbox on a hand-moved clock and an authenticated session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from bwdesk.sandbox import ManualClock, Sandbox


@pytest.fixture
def clock() -> ManualClock:
    """Starts on a whole second, so times the tests compute match the millisecond times the API shows."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    """Status moves one step per (manual) second, so a test decides exactly when it changes."""
    with Sandbox(status_step=1.0, clock=clock) as running:
        yield running


@pytest.fixture
def session(sandbox: Sandbox) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.auth = (sandbox.username, sandbox.password)
        yield s


@pytest.fixture
def messages_url(sandbox: Sandbox) -> str:
    return f"{sandbox.api_base}/users/{sandbox.account_id}/messages"


@pytest.fixture
def media_url(sandbox: Sandbox) -> str:
    return f"{sandbox.api_base}/users/{sandbox.account_id}/media"


@pytest.fixture
def payload(sandbox: Sandbox) -> dict[str, Any]:
    """A valid request body; tests change one thing at a time."""
    return {
        "applicationId": sandbox.application_id,
        "to": ["+19195550123"],
        "from": sandbox.numbers[0],
        "text": "Your technician is on the way",
    }
