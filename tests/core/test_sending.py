"""Sending a draft: the history row exists before the POST and is settled after it."""

from __future__ import annotations

import pytest

from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.message import Draft, InvalidDraft, Mode
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.core.sending import plan, send_draft, send_one
from bwdesk.sandbox import Fault, FaultKind


def draft(sandbox, *to: str, **kw) -> Draft:
    return Draft(sender=sandbox.numbers[0], recipients=to, text=kw.pop("text", "hello"), **kw)


def test_separate_recipients_make_one_row_and_one_post_each(sandbox, client, store) -> None:
    sent = send_draft(draft(sandbox, "9195550123", "+1 919 555 0124"), sandbox.application_id, client, store)
    assert [s.result.state for s in sent] == [SendState.ACCEPTED, SendState.ACCEPTED]
    rows = store.search(HistoryQuery(), limit=10)
    assert sorted(r.to for r in rows) == [("+19195550123",), ("+19195550124",)]
    assert {r.message_id for r in rows} == {s.result.message_id for s in sent}
    assert all(r.segments == 1 and r.mode == "separate" for r in rows)
    assert len(sandbox.accepted_messages()) == 2


def test_a_group_of_one_is_an_ordinary_message_and_recorded_as_one() -> None:
    from bwdesk.core.message import Draft, Mode
    from bwdesk.core.sending import plan

    [post] = plan(Draft(sender="+19195550100", recipients=("9195550123",), text="hi", mode=Mode.GROUP), "app")
    assert post.mode is Mode.SEPARATE and post.payload["to"] == ["+19195550123"] and post.segments == 1


def test_group_is_one_post_and_one_row(sandbox, client, store) -> None:
    sent = send_draft(
        draft(sandbox, "9195550123", "9195550124", mode=Mode.GROUP), sandbox.application_id, client, store
    )
    assert len(sent) == 1
    [row] = store.search(HistoryQuery(), limit=10)
    assert row.to == ("+19195550123", "+19195550124") and row.mode == "group"


def test_invalid_draft_sends_nothing_and_records_nothing(sandbox, client, store) -> None:
    with pytest.raises(InvalidDraft):
        send_draft(draft(sandbox, "12"), sandbox.application_id, client, store)
    assert store.search(HistoryQuery(), limit=10) == []
    assert sandbox.requests.all() == []


def test_row_is_sending_while_the_post_is_in_flight(sandbox, store) -> None:
    seen: list[SendState] = []

    class Watching:
        def send(self, payload):
            [row] = store.search(HistoryQuery(), limit=1)
            seen.append(row.state)
            return SendResult(SendState.ACCEPTED, http_status=202, message_id="m1", segments=1)

    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    send_one(post, Watching(), store)
    assert seen == [SendState.SENDING]
    assert store.search(HistoryQuery(), limit=1)[0].state is SendState.ACCEPTED


def test_a_crash_inside_the_client_leaves_the_row_unknown_not_sent(sandbox, store) -> None:
    class Exploding:
        def send(self, payload):
            raise RuntimeError("boom")

    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    with pytest.raises(RuntimeError):
        send_one(post, Exploding(), store)
    [row] = store.search(HistoryQuery(), limit=1)
    assert row.state is SendState.UNKNOWN


def test_dropped_connection_is_unknown_and_recorded(sandbox, client, store) -> None:
    sandbox.inject(Fault(FaultKind.DROP))
    [sent] = send_draft(draft(sandbox, "9195550123"), sandbox.application_id, client, store)
    assert sent.result.state is SendState.UNKNOWN
    assert store.get(sent.row_id).state is SendState.UNKNOWN


class FlakyHistory:
    """A real store whose settle fails the first `failures` times (a locked or briefly full disk)."""

    def __init__(self, store, failures: int) -> None:
        self.store = store
        self.failures = failures

    def record_sending(self, **fields):
        return self.store.record_sending(**fields)

    def settle(self, row_id, result):
        if self.failures:
            self.failures -= 1
            from bwdesk.core.history.store import HistoryError

            raise HistoryError("the history is locked by another program")
        self.store.settle(row_id, result)


def test_a_briefly_failing_history_is_retried_after_the_post(sandbox, client, store) -> None:
    from bwdesk.core.sending import SETTLE_RETRY_DELAYS

    waits: list[float] = []
    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    sent = send_one(post, client, FlakyHistory(store, failures=2), sleep=waits.append)
    assert sent.history_problem is None
    assert waits == list(SETTLE_RETRY_DELAYS[:2])
    assert store.get(sent.row_id).state is SendState.ACCEPTED


def test_an_accepted_send_is_never_lost_when_the_history_cannot_save_it(
    sandbox, client, store, expect_log
) -> None:
    expect_log("could not be saved as accepted")
    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    sent = send_one(post, client, FlakyHistory(store, failures=99), sleep=lambda s: None)
    assert sent.result.state is SendState.ACCEPTED and sent.result.message_id
    assert sent.history_problem and sent.result.message_id in sent.history_problem
    assert len(sandbox.accepted_messages()) == 1


def test_a_history_that_cannot_record_first_means_not_sent(sandbox, client) -> None:
    from bwdesk.core.sending import NotRecorded

    class Broken:
        def record_sending(self, **fields):
            raise OSError("disk full")

        def settle(self, row_id, result):  # pragma: no cover - never reached
            raise AssertionError

    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    with pytest.raises(NotRecorded, match="Not sent"):
        send_one(post, client, Broken())
    assert sandbox.requests.all() == []


def test_possible_duplicates_come_from_the_history(sandbox, client, store) -> None:
    from bwdesk.core.sending import find_possible_duplicates

    sandbox.inject(Fault(FaultKind.DROP))
    send_draft(draft(sandbox, "9195550123", "9195550124"), sandbox.application_id, client, store)
    again = plan(draft(sandbox, "9195550123", "9195550124", "9195550125"), sandbox.application_id)
    found = find_possible_duplicates(store, again)
    by_number = {d.recipient: d for d in found}
    assert set(by_number) == {"+19195550123", "+19195550124"}
    assert by_number["+19195550123"].uncertain  # dropped: unknown
    assert not by_number["+19195550124"].uncertain  # accepted a moment ago
    other_text = plan(draft(sandbox, "9195550124", text="a different message"), sandbox.application_id)
    assert find_possible_duplicates(store, other_text) == []


def test_only_the_newest_earlier_send_counts_as_a_possible_duplicate(sandbox, client, store) -> None:
    from datetime import UTC, datetime, timedelta

    from bwdesk.core.sending import find_possible_duplicates

    sandbox.inject(Fault(FaultKind.DROP))
    send_draft(draft(sandbox, "9195550123"), sandbox.application_id, client, store)  # unknown
    send_draft(draft(sandbox, "9195550123"), sandbox.application_id, client, store)  # then accepted
    later = datetime.now(UTC) + timedelta(hours=1)  # beyond the few minutes of "just sent"
    posts = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    assert find_possible_duplicates(store, posts, now=later) == []  # the accepted resend covers it
