"""Errors the UI and CLI show to people, and Bandwidth's delivery error codes in words."""

from __future__ import annotations


class BwdeskError(Exception):
    """A problem the user can understand and act on; `str()` is the message to show (never a secret)."""


class ConfigError(BwdeskError):
    """The configuration is missing or invalid (the CLI exits 2; the UI opens the settings)."""
