"""A local stand-in for the Bandwidth Messaging API v2, for demos and tests, judging requests on its own from the
contract (docs/design.md §11): `Sandbox` runs it in-process, `run_forever` is `bwdesk sandbox`."""

from bwdesk.sandbox.clock import ManualClock
from bwdesk.sandbox.faults import Fault, FaultKind
from bwdesk.sandbox.identity import (
    BLOCKLISTED_NUMBER,
    LANDLINE_NUMBER,
    OPTED_OUT_NUMBER,
    TEST_NUMBERS,
    Identity,
    TestNumber,
)
from bwdesk.sandbox.recorder import RecordedRequest, RequestLog
from bwdesk.sandbox.runner import run_forever
from bwdesk.sandbox.server import Sandbox

__all__ = [
    "BLOCKLISTED_NUMBER",
    "LANDLINE_NUMBER",
    "OPTED_OUT_NUMBER",
    "TEST_NUMBERS",
    "Fault",
    "FaultKind",
    "Identity",
    "ManualClock",
    "RecordedRequest",
    "RequestLog",
    "Sandbox",
    "TestNumber",
    "run_forever",
]
