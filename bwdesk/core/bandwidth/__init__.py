"""Bandwidth's Messaging API v2: `BandwidthClient` and what its calls return (importing it loads requests)."""

from bwdesk.core.api import DEFAULT_API_BASE, Timeouts
from bwdesk.core.bandwidth.answers import CheckResult, ConnectionCheck, MediaItem, MessageStatus
from bwdesk.core.bandwidth.client import BandwidthClient

__all__ = [
    "DEFAULT_API_BASE",
    "BandwidthClient",
    "CheckResult",
    "ConnectionCheck",
    "MediaItem",
    "MessageStatus",
    "Timeouts",
]
