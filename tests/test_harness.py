"""The harness itself: the rules in conftest.py hold."""

from __future__ import annotations

import logging
import socket

import pytest


def test_non_loopback_connections_are_refused() -> None:
    with socket.socket() as sock, pytest.raises(OSError, match="loopback"):
        sock.connect(("192.0.2.1", 443))


def test_declared_log_warning_is_allowed(expect_log) -> None:
    expect_log("deliberate")
    logging.getLogger("bwdesk.test").warning("a deliberate warning")


def test_profile_is_isolated(profile, monkeypatch) -> None:
    import os

    assert os.environ["BWDESK_HOME"] == str(profile)
    assert not any(profile.iterdir())
