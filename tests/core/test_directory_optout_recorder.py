"""The do-not-text list fills itself: a send answer or a delivery status with 4775 or 4482 puts the number on
it, through the listeners of the send path and the status refresh, against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bwdesk.core.delivery import StatusRefresher, refresh_statuses
from bwdesk.core.directory.optout import OptOutRecorder, Reason
from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
from bwdesk.core.directory.store import DirectoryError
from bwdesk.core.message import Draft, Mode
from bwdesk.core.outcome import SendState
from bwdesk.core.sending import plan, send_draft, send_one
from bwdesk.sandbox import BLOCKLISTED_NUMBER, OPTED_OUT_NUMBER, Fault, FaultKind


@pytest.fixture
def directory(store) -> Iterator[SqliteDirectoryStore]:
    """The directory in the same history file as `store`, as a profile has it."""
    opened = SqliteDirectoryStore.open(store.path, "Ann Lee")
    yield opened
    opened.close()


def draft(sandbox, *to: str, mode: Mode = Mode.SEPARATE) -> Draft:
    return Draft(sender=sandbox.numbers[0], recipients=to, text="Your technician is on the way", mode=mode)


def test_a_send_answer_with_4482_puts_the_number_on_the_list_and_says_so(
    sandbox, client, store, directory
) -> None:
    recorder = OptOutRecorder(directory)
    sandbox.inject(Fault(FaultKind.BLOCKLISTED))
    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    sent = send_one(post, client, store, on_settled=recorder.after_send)
    assert sent.result.state is SendState.REJECTED
    entry = directory.opted_out(["+19195550123"])["+19195550123"]
    assert (entry.reason, entry.code, entry.by) == (Reason.BLOCKLISTED, 4482, "Ann Lee")
    assert "rejected-to-number-in-blacklist" in entry.note
    news, problems = recorder.take_news()
    assert problems == [] and [n.entry for n in news] == [entry]
    assert news[0].notice().startswith("+19195550123 is now on the do-not-text list: blocklisted")
    assert recorder.take_news() == ([], [])  # told once


def test_other_rejections_and_group_answers_put_no_one_on_the_list(sandbox, client, store, directory) -> None:
    recorder = OptOutRecorder(directory)
    sandbox.inject(Fault(FaultKind.REJECT, field_errors=(("to", "nope"),)))
    sandbox.inject(Fault(FaultKind.BLOCKLISTED))
    send_draft(
        draft(sandbox, "9195550123"), sandbox.application_id, client, store, on_settled=recorder.after_send
    )
    group = draft(sandbox, "9195550124", "9195550125", mode=Mode.GROUP)
    send_draft(group, sandbox.application_id, client, store, on_settled=recorder.after_send)
    assert directory.opt_outs() == []  # a group's answer does not say whom it is about


def test_a_refresh_puts_4775_and_4482_numbers_on_the_list(sandbox, client, store, directory) -> None:
    recorder = OptOutRecorder(directory)
    to = ("9195550123", OPTED_OUT_NUMBER, BLOCKLISTED_NUMBER)
    send_draft(draft(sandbox, *to), sandbox.application_id, client, store, on_settled=recorder.after_send)
    assert directory.opt_outs() == []  # accepted: the answer said nothing yet
    report = StatusRefresher(client, sleep=lambda _s: None, on_status=recorder.after_status).refresh(store)
    assert report.changed == 3
    listed = {e.number: (e.reason, e.code) for e in directory.opt_outs()}
    assert listed == {
        OPTED_OUT_NUMBER: (Reason.OPTED_OUT, 4775),
        BLOCKLISTED_NUMBER: (Reason.BLOCKLISTED, 4482),
    }
    news, _ = recorder.take_news()
    assert sorted(n.entry.number for n in news) == sorted([OPTED_OUT_NUMBER, BLOCKLISTED_NUMBER])
    refresh_statuses(store, client, on_status=recorder.after_status)  # statuses already final: nothing new
    assert recorder.take_news() == ([], [])


def test_a_group_delivery_status_names_its_recipient(sandbox, client, store, directory) -> None:
    recorder = OptOutRecorder(directory)
    send_draft(
        draft(sandbox, OPTED_OUT_NUMBER, "9195550123", mode=Mode.GROUP), sandbox.application_id, client, store
    )
    StatusRefresher(client, sleep=lambda _s: None, on_status=recorder.after_status).refresh(store)
    # The list API gives one status per recipient, each naming its destination: only that one is listed.
    assert [e.number for e in directory.opt_outs()] == [OPTED_OUT_NUMBER]


def test_a_failing_listener_never_costs_the_outcome(sandbox, client, store, expect_log) -> None:
    expect_log("a listener failed")

    def explode(_sent: object) -> None:
        raise RuntimeError("boom")

    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    sent = send_one(post, client, store, on_settled=explode)
    assert sent.result.state is SendState.ACCEPTED and store.get(sent.row_id).state is SendState.ACCEPTED


class FullDisk:
    """A list whose every write fails as a full disk does (what `SqliteDirectoryStore` raises then)."""

    def add_opt_out(self, number: str, reason: Reason, *, code: int | None = None, note: str = "") -> None:
        raise DirectoryError("Could not put the number on the do-not-text list: the disk is full.")


def test_a_list_that_cannot_be_written_is_reported_not_raised(sandbox, client, store, expect_log) -> None:
    expect_log("could not be put on the do-not-text list")
    recorder = OptOutRecorder(FullDisk())  # type: ignore[arg-type]
    sandbox.inject(Fault(FaultKind.BLOCKLISTED))
    [post] = plan(draft(sandbox, "9195550123"), sandbox.application_id)
    sent = send_one(post, client, store, on_settled=recorder.after_send)
    assert sent.result.state is SendState.REJECTED
    assert recorder.take_news() == (
        [],
        [
            "+19195550123 should go on the do-not-text list (error 4482) but could not: Could not put the number "
            "on the do-not-text list: the disk is full."
        ],
    )
