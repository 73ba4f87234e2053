"""The history's "Send again…" question says what became of the earlier message (outside review: a message that
failed delivery was described as sent, inviting a resend bound to fail the same way)."""

from __future__ import annotations

from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.outcome import SendState
from bwdesk.ui.send_questions import send_again_question


def row(state: SendState, **fields: object) -> HistoryRow:
    values: dict[str, object] = {
        "id": 1,
        "created": "2026-11-27T10:15:02Z",
        "updated": "2026-11-27T10:15:03Z",
        "sender": "+19195550100",
        "to": ("+19195550199",),
        "mode": "separate",
        "text": "Your technician is on the way",
        "media": (),
        "tag": "",
        "state": state,
    }
    values.update(fields)
    return HistoryRow(**values)  # type: ignore[arg-type]


def test_a_message_that_was_not_delivered_is_not_called_sent_and_the_reason_is_named() -> None:
    question = send_again_question(row(SendState.ACCEPTED, delivery_status="FAILED", error_code=4720))
    assert question.title == "Send it again? It was not delivered"
    assert "accepted by Bandwidth but not delivered: 4720" in question.text
    assert "landline" in question.text and "fail the same way" in question.text
    assert "receives it twice" not in question.text


def test_a_delivered_or_accepted_message_warns_of_a_duplicate_and_an_unknown_one_of_a_possible_one() -> None:
    delivered = send_again_question(row(SendState.ACCEPTED, delivery_status="DELIVERED"))
    assert "(Bandwidth accepted it)" in delivered.text and "receives it twice" in delivered.text
    assert "may already have been sent" in send_again_question(row(SendState.UNKNOWN)).text
    assert send_again_question(row(SendState.REJECTED)).text.startswith("Send the message “Your technician")
