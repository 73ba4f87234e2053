"""Delivery status refresh: paced under the list API's limit, honouring Retry-After, against the sandbox."""

from __future__ import annotations

import pytest

from bwdesk.core.bandwidth import BandwidthClient, Timeouts
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.delivery import StatusRefresher
from bwdesk.core.errors import RateLimited
from bwdesk.core.message import Draft
from bwdesk.core.sending import send_draft
from bwdesk.sandbox import LANDLINE_NUMBER, OPTED_OUT_NUMBER, Fault, FaultKind


def wait_until(condition, timeout: float = 10.0) -> None:
    """Poll a condition (like qtbot.waitUntil, for code without an event loop)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def impatient(sandbox):
    """A client that gives up on an answer after 0.2 s: with a DELAY fault, its send ends `unknown` while the
    sandbox still queues the message once the delay is over (a lost answer)."""
    with BandwidthClient(
        sandbox.api_base,
        sandbox.account_id,
        BasicCredentials(sandbox.username, sandbox.password),
        timeouts=Timeouts(connect=2, read=0.2),
    ) as client:
        yield client


def send(sandbox, client, store, *numbers: str) -> list[int]:
    draft = Draft(sender=sandbox.numbers[0], recipients=numbers, text="status please")
    return [s.row_id for s in send_draft(draft, sandbox.application_id, client, store)]


def test_refresh_records_delivered_and_failed_with_codes(sandbox, client, store) -> None:
    ids = send(sandbox, client, store, "9195550123", LANDLINE_NUMBER, OPTED_OUT_NUMBER)
    clock = Clock()
    report = StatusRefresher(client, clock=clock, sleep=clock.sleep).refresh(store)
    assert report.checked == 3 and report.changed == 3
    delivered, landline, opted_out = (store.get(i) for i in ids)
    assert delivered.delivery_status == "DELIVERED" and delivered.error_code is None
    assert (landline.delivery_status, landline.error_code) == ("FAILED", 4720)
    assert (opted_out.delivery_status, opted_out.error_code) == ("FAILED", 4775)
    assert "Checked 3 messages" in report.summary()
    # The two that did not reach the phone are named, with why, for the window's notice and the CLI.
    assert sorted((u.row_id, u.error_code) for u in report.undelivered) == [(ids[1], 4720), (ids[2], 4775)]
    summary = report.summary()
    assert " Not delivered: (919) 555-0" in summary
    assert "(919) 555-0199 — 4720: the number cannot receive texts — often a landline" in summary
    assert "(919) 555-0198 — 4775: the recipient has opted out (replied STOP)" in summary
    # Paced: one list call every 0.25 s, never a burst.
    assert clock.sleeps == [0.25, 0.25]


def test_final_statuses_are_not_asked_again(sandbox, client, store) -> None:
    send(sandbox, client, store, "9195550123")
    refresher = StatusRefresher(client, clock=Clock(), sleep=lambda s: None)
    refresher.refresh(store)
    before = sandbox.requests.count("GET", "/messages")
    report = refresher.refresh(store)
    assert report.checked == 0 and sandbox.requests.count("GET", "/messages") == before


def test_a_failure_already_known_is_not_reported_again(sandbox, client, store) -> None:
    (row_id,) = send(sandbox, client, store, OPTED_OUT_NUMBER)
    refresher = StatusRefresher(client, clock=Clock(), sleep=lambda s: None)
    assert [u.row_id for u in refresher.refresh(store).undelivered] == [row_id]
    again = refresher.refresh(store, [store.get(row_id)])  # asked about by hand: checked, unchanged
    assert again.checked == 1 and again.undelivered == [] and "Not delivered" not in again.summary()


def test_retry_after_stops_the_refresh_and_blocks_until_it_passes(sandbox, client, store) -> None:
    send(sandbox, client, store, "9195550123", "9195550124")
    sandbox.inject(Fault(FaultKind.RATE_LIMIT, method="GET", retry_after=120))
    clock = Clock()
    refresher = StatusRefresher(client, clock=clock, sleep=clock.sleep)
    report = refresher.refresh(store)
    assert report.wait == 120 and report.checked == 0
    assert "try again in 2 min" in report.summary()
    gets = sandbox.requests.count("GET", "/messages")
    # While Retry-After is in force nothing is sent at all.
    assert refresher.blocked_for() == pytest.approx(120)
    with pytest.raises(RateLimited):
        refresher.status_of("anything")
    assert sandbox.requests.count("GET", "/messages") == gets
    clock.now += 121
    report = refresher.refresh(store)
    assert report.checked == 2 and report.wait is None


def test_lookups_that_fail_make_the_refresh_incomplete_and_say_so(sandbox, client, store) -> None:
    """A 502 from a proxy for every lookup is not "nothing to do": the statuses were not brought up to date."""
    send(sandbox, client, store, "9195550123", "9195550124")
    for _ in range(2):
        sandbox.inject(Fault(FaultKind.HTML_502, method="GET"))
    report = StatusRefresher(client, clock=Clock(), sleep=lambda s: None).refresh(store)
    assert report.failed == 2 and not report.complete
    summary = report.summary()
    assert "2 could not be looked up" in summary and "502" in summary
    assert "No recent messages" not in summary, summary


def test_a_retry_after_of_zero_is_not_reported_as_wait_0_s(sandbox, client, store) -> None:
    send(sandbox, client, store, "9195550123")
    sandbox.inject(Fault(FaultKind.RATE_LIMIT, method="GET", retry_after=0))
    report = StatusRefresher(client, clock=Clock(), sleep=lambda s: None).refresh(store)
    assert "try again in a moment" in report.summary() and "0 s" not in report.summary()


def test_wrong_credentials_stop_the_refresh_with_a_reason(sandbox, store, client) -> None:
    send(sandbox, client, store, "9195550123")
    with BandwidthClient(
        sandbox.api_base, sandbox.account_id, BasicCredentials(sandbox.username, "nope")
    ) as bad:
        report = StatusRefresher(bad, clock=Clock(), sleep=lambda s: None).refresh(store)
    assert report.problem and "credentials" in report.problem


def test_check_unknown_finds_a_send_that_reached_bandwidth(sandbox, client, store, impatient) -> None:
    """The answer was lost but the message was queued: the check finds it and records it as accepted."""
    sandbox.inject(Fault(FaultKind.DELAY, delay=1.0))
    [row_id] = send(sandbox, impatient, store, "9195550123")
    row = store.get(row_id)
    assert row.state.value == "unknown"
    # The sandbox queues it once the delay is over (it only held the answer back).
    wait_until(lambda: len(sandbox.accepted_messages()) == 1)
    refresher = StatusRefresher(client, clock=Clock(), sleep=lambda s: None)
    outcome = refresher.check_unknown(store, row)
    assert outcome.found is not None and "do not send it again" in outcome.message
    settled = store.get(row_id)
    assert settled.state.value == "accepted" and settled.message_id == outcome.found.message_id


def test_check_unknown_says_probably_not_sent_when_nothing_is_listed(sandbox, client, store) -> None:
    sandbox.inject(Fault(FaultKind.DROP))
    [row_id] = send(sandbox, client, store, "9195550123")
    refresher = StatusRefresher(client, clock=Clock(), sleep=lambda s: None)
    outcome = refresher.check_unknown(store, store.get(row_id))
    assert outcome.found is None and "probably not sent" in outcome.message
    assert store.get(row_id).state.value == "unknown"


def test_check_unknown_never_claims_a_message_the_history_already_holds(sandbox, client, store) -> None:
    """An earlier, accepted message to the same customer must not 'confirm' a later one whose answer was lost."""
    [first] = send(sandbox, client, store, "9195550123")
    assert store.get(first).state.value == "accepted"
    sandbox.inject(Fault(FaultKind.DROP))
    [second] = send(sandbox, client, store, "9195550123")
    refresher = StatusRefresher(client, clock=Clock(), sleep=lambda s: None)
    outcome = refresher.check_unknown(store, store.get(second))
    assert outcome.found is None and "probably not sent" in outcome.message
    assert store.get(second).state.value == "unknown"
    assert store.get(second).message_id is None


def test_two_unknown_sends_that_both_arrived_are_reported_as_not_told_apart(
    sandbox, store, client, impatient
) -> None:
    for _ in range(2):
        sandbox.inject(Fault(FaultKind.DELAY, delay=0.6))
        send(sandbox, impatient, store, "9195550123")
    wait_until(lambda: len(sandbox.accepted_messages()) == 2)
    report = StatusRefresher(client, clock=Clock(), sleep=lambda s: None).refresh(store)
    assert report.unknown_checked == 2 and report.unknown_found == 0 and report.unknown_ambiguous == 2
    assert "not told apart" in report.summary() and "0 not found" in report.summary()


def test_checking_a_row_that_was_found_meanwhile_says_found(sandbox, client, store, impatient) -> None:
    sandbox.inject(Fault(FaultKind.DELAY, delay=0.6))
    [row_id] = send(sandbox, impatient, store, "9195550123")
    wait_until(lambda: len(sandbox.accepted_messages()) == 1)
    stale = store.get(row_id)
    refresher = StatusRefresher(client, clock=Clock(), sleep=lambda s: None)
    assert refresher.check_unknown(store, stale).found is not None
    again = refresher.check_unknown(store, stale)  # the same, now out-of-date copy
    assert again.found is not None and again.found.message_id == store.get(row_id).message_id


def test_a_send_still_in_flight_makes_the_match_uncertain(sandbox, client, store, impatient) -> None:
    """Bandwidth lists one message nobody holds yet — but a resend to the same customer has no answer yet
    either, so that message may be the resend's: nothing is claimed."""
    sandbox.inject(Fault(FaultKind.DELAY, delay=0.6))
    [lost] = send(sandbox, impatient, store, "9195550123")
    wait_until(lambda: len(sandbox.accepted_messages()) == 1)
    store.record_sending(
        sender=sandbox.numbers[0], to=["+19195550123"], mode="separate", text="status please"
    )
    refresher = StatusRefresher(client, clock=Clock(), sleep=lambda s: None)
    outcome = refresher.check_unknown(store, store.get(lost))
    assert outcome.found is None and outcome.candidates > 1
    assert store.get(lost).state.value == "unknown"
