"""A row's status in words and in tone: what the CLI prints and the window's Status column says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.outcome import ApiError, FieldError, SendState
from bwdesk.core.status_words import Tone, describe_error_code, status_details, status_label, status_tone


def row(state: SendState, **fields: object) -> HistoryRow:
    values: dict[str, object] = {
        "id": 1,
        "created": "2026-11-27T10:15:02Z",
        "updated": "2026-11-27T10:15:03Z",
        "sender": "+19195550100",
        "to": ("+19195550123",),
        "mode": "separate",
        "text": "hello",
        "media": (),
        "tag": "",
        "state": state,
    }
    values.update(fields)
    return HistoryRow(**values)  # type: ignore[arg-type]


def test_an_accepted_row_explains_its_delivery_status_and_error_code() -> None:
    failed = row(
        SendState.ACCEPTED,
        message_id="m1",
        delivery_status="FAILED",
        error_code=4720,
        delivery_checked="2026-11-27T10:20:00Z",
    )
    details = status_details(failed).splitlines()
    checked = datetime(2026, 11, 27, 10, 20, tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    assert details == [
        "Accepted by Bandwidth.",
        "Delivery: FAILED — could not be sent or delivered — see the error code.",
        f"Error {describe_error_code(4720)}.",
        f"Last checked {checked}.",
    ]
    assert status_label(failed) == "accepted · FAILED 4720 · cannot receive texts (landline?)"
    assert status_tone(failed) is Tone.PROBLEM


def test_an_accepted_row_not_looked_up_yet_says_how_to_ask() -> None:
    fresh = row(SendState.ACCEPTED, message_id="m1")
    assert status_details(fresh) == (
        "Accepted by Bandwidth.\nDelivery status not looked up yet: Refresh status asks Bandwidth."
    )
    assert status_label(fresh) == "accepted" and status_tone(fresh) is None


def test_a_rejected_row_gives_bandwidths_reason_and_each_field() -> None:
    error = ApiError(
        "Something is wrong", "request-validation", 400, (FieldError("to", "not a valid number"),)
    )
    rejected = row(SendState.REJECTED, http_status=400, error=error)
    assert status_details(rejected).splitlines() == [
        "Rejected by Bandwidth (HTTP 400): not sent.",
        "Something is wrong",
        "Error type: request-validation",
        "to: not a valid number",
    ]
    assert status_label(rejected) == "rejected · HTTP 400"
    assert status_tone(rejected) is Tone.PROBLEM


@pytest.mark.parametrize(
    ("state", "label", "first_line", "tone"),
    [
        (SendState.FAILED, "not sent", "Not sent: the request never reached Bandwidth.", Tone.PROBLEM),
        (SendState.UNKNOWN, "unknown", "Unknown: the request may have reached Bandwidth", Tone.WARNING),
        (SendState.SENDING, "sending", "Being sent now.", None),
    ],
)
def test_rows_that_were_not_accepted_say_whether_they_went_out(
    state: SendState, label: str, first_line: str, tone: Tone | None
) -> None:
    assert status_details(row(state)).startswith(first_line)
    assert status_label(row(state)) == label
    assert status_tone(row(state)) is tone


@pytest.mark.parametrize(
    ("status", "tone"),
    [("DELIVERED", None), ("SENT", None), ("UNDELIVERED", Tone.PROBLEM), ("DLR_EXPIRED", Tone.WARNING)],
)
def test_the_delivery_status_sets_the_tone_of_an_accepted_row(status: str, tone: Tone | None) -> None:
    assert status_tone(row(SendState.ACCEPTED, message_id="m1", delivery_status=status)) is tone


def test_the_reason_of_a_delivery_failure_is_in_the_label_in_a_few_words() -> None:
    """The table and `bwdesk history` show why, not only a code (the tooltip has the whole explanation)."""
    opted_out = row(SendState.ACCEPTED, message_id="m1", delivery_status="FAILED", error_code=4775)
    assert status_label(opted_out) == "accepted · FAILED 4775 · opted out (replied STOP)"
    from_number = row(SendState.ACCEPTED, message_id="m1", delivery_status="UNDELIVERED", error_code=4407)
    assert status_label(from_number) == "accepted · UNDELIVERED 4407 · From number not on this account"
    odd = row(SendState.ACCEPTED, message_id="m1", delivery_status="FAILED", error_code=4799)
    assert status_label(odd) == "accepted · FAILED 4799 · refused by the carrier"
    assert status_label(row(SendState.ACCEPTED, message_id="m1", delivery_status="DELIVERED")) == (
        "accepted · DELIVERED"
    )
