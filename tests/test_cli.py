"""`bwdesk send`, `bwdesk history` and `bwdesk sandbox` as scripts use them: flags, environment, exit statuses.

Sends go to a real server on 127.0.0.1: the sandbox, or the fault-injecting server, which counts the POSTs
it received — the only honest way to check "never sent twice" and "nothing was sent".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from faultserver import (
    FaultServer,
    accepted,
    bandwidth_error,
    drop,
    html_502,
    refused_port,
    too_many,
)

from bwdesk.cli import EXIT_NOT_CONFIRMED, EXIT_OK, EXIT_REJECTED, build_parser, main
from bwdesk.cli_send import exit_status
from bwdesk.core import paths
from bwdesk.core.history.search import HistoryQuery
from bwdesk.core.history.sqlite_store import SqliteHistoryStore
from bwdesk.core.outcome import SendResult, SendState
from bwdesk.sandbox import LANDLINE_NUMBER, Sandbox


def use_account(
    monkeypatch: pytest.MonkeyPatch, api_base: str, account_id: str = "9900000", **extra: str
) -> None:
    env = {
        "BWDESK_API_BASE": api_base,
        "BW_ACCOUNT_ID": account_id,
        "BW_USERNAME": "sandbox-user",
        "BW_PASSWORD": "sandbox-password",
        "BW_MESSAGING_APPLICATION_ID": "5a7d1c3e-0b2f-4e6a-9c8d-7f1e2b3a4c5d",
        "BW_NUMBER": "+19195550100",
    } | extra
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def on_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Sandbox:
    use_account(
        monkeypatch,
        sandbox.api_base,
        sandbox.account_id,
        BW_USERNAME=sandbox.username,
        BW_PASSWORD=sandbox.password,
        BW_MESSAGING_APPLICATION_ID=sandbox.application_id,
        BW_NUMBER=sandbox.numbers[0],
    )
    return sandbox


def rows() -> list:
    store = SqliteHistoryStore.open(paths.history_file(paths.profile_dir()))
    try:
        return store.search(HistoryQuery(), limit=100)
    finally:
        store.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- the happy path -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "status"),
    [
        ([SendState.ACCEPTED, SendState.ACCEPTED], EXIT_OK),
        ([SendState.ACCEPTED, SendState.REJECTED], EXIT_REJECTED),
        ([SendState.REJECTED, SendState.UNKNOWN], EXIT_NOT_CONFIRMED),
        ([SendState.FAILED], EXIT_NOT_CONFIRMED),
        ([], EXIT_OK),
    ],
)
def test_exit_status(states, status) -> None:
    assert exit_status(SendResult(s) for s in states) == status


def test_send_prints_the_accepted_id_and_history_shows_it(capsys, on_sandbox) -> None:
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 0, err
    [message] = on_sandbox.accepted_messages()
    assert message["id"] in out and "accepted" in out
    status, out, _ = run(capsys, "history")
    assert status == 0 and message["id"] in out and "+19195550123" in out


def test_send_json_has_one_object_per_post_with_the_documented_names(capsys, on_sandbox) -> None:
    status, out, _ = run(
        capsys, "send", "--to", "9195550123", "--to", "9195550124", "--text", "hi", "--tag", "T-1", "--json"
    )
    assert status == 0
    objects = json.loads(out)
    assert [o["to"] for o in objects] == [["+19195550123"], ["+19195550124"]]
    assert set(objects[0]) == {
        "id", "created", "updated", "from", "to", "mode", "text", "media", "tag", "state",
        "message_id", "segments", "http_status", "error", "delivery_status", "error_code", "agent", "desk",
    }  # fmt: skip
    assert objects[0]["agent"] is None and objects[0]["desk"] is None  # no team history: purely local rows
    assert {o["state"] for o in objects} == {"accepted"} and {o["http_status"] for o in objects} == {202}
    assert objects[0]["tag"] == "T-1" and objects[0]["mode"] == "separate"


def test_group_sends_one_post(capsys, on_sandbox) -> None:
    status, _, _ = run(capsys, "send", "--to", "9195550123", "--to", "9195550124", "--group", "--text", "hi")
    assert status == 0
    [message] = on_sandbox.accepted_messages()
    assert list(message["to"]) == ["+19195550123", "+19195550124"]


def test_text_file_from_stdin_drops_one_trailing_newline(capsys, on_sandbox, monkeypatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("line one\nline two\n\n"))
    status, _, _ = run(capsys, "send", "--to", "9195550123", "--text-file", "-")
    assert status == 0
    assert on_sandbox.accepted_messages()[0]["text"] == "line one\nline two\n"


def test_a_reader_that_stops_early_does_not_cut_a_batch_short(on_sandbox, monkeypatch) -> None:
    """`bwdesk send … | head -1`: the pipe closes after the first line; every message still goes out."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone: every write to the pipe now fails with EPIPE
    closed = os.fdopen(write_end, "w", buffering=1, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", closed)
    try:
        status = main(
            ["send", "--to", "9195550123", "--to", "9195550124", "--to", "9195550125", "--text", "hi"]
        )
        assert status == 0
        assert len(on_sandbox.accepted_messages()) == 3
        assert sorted(r.to[0] for r in rows()) == ["+19195550123", "+19195550124", "+19195550125"]
        assert main(["history"]) == 0  # and listing into a closed pipe is quiet too
    finally:
        closed.close()


def posts(sandbox: Sandbox) -> int:
    return sandbox.requests.count("POST", "/messages")


def test_the_same_message_again_after_no_answer_needs_send_again(capsys, on_sandbox) -> None:
    """docs/design.md §6: an unknown send is sent again only after a confirmation that names the duplicate risk."""
    from bwdesk.sandbox import Fault, FaultKind

    on_sandbox.inject(Fault(FaultKind.DROP))
    status, _, _ = run(capsys, "send", "--to", "9195550777", "--text", "dup test")
    assert status == 4 and posts(on_sandbox) == 1
    status, out, err = run(capsys, "send", "--to", "9195550777", "--text", "dup test")
    assert status == 2 and out == "" and posts(on_sandbox) == 1
    assert "may already have been sent" in err and "twice" in err and "--send-again" in err
    assert "Nothing was sent" in err and "leave" not in err  # there is no one else to send to
    status, _, err = run(capsys, "send", "--to", "9195550777", "--text", "dup test", "--yes")
    assert status == 2 and posts(on_sandbox) == 1  # --yes confirms a large batch, not a duplicate
    status, _, err = run(capsys, "send", "--to", "9195550777", "--text", "dup test", "--send-again")
    assert status == 0, err
    assert posts(on_sandbox) == 2


def test_the_same_message_again_minutes_later_is_refused_but_another_is_not(capsys, on_sandbox) -> None:
    assert run(capsys, "send", "--to", "9195550123", "--text", "your part shipped")[0] == 0
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text", "your part shipped")
    assert status == 2 and "Bandwidth accepted it" in err and "receives it twice" in err
    assert posts(on_sandbox) == 1
    assert run(capsys, "send", "--to", "9195550123", "--text", "and it arrived")[0] == 0
    assert run(capsys, "send", "--to", "9195550124", "--text", "your part shipped")[0] == 0
    assert posts(on_sandbox) == 3


@pytest.mark.parametrize("kind", ["html_502", "malformed", "queue_full"])
def test_each_outcome_line_says_things_once_and_reads_as_sentences(capsys, on_sandbox, kind) -> None:
    from bwdesk.sandbox import Fault, FaultKind

    on_sandbox.inject(
        Fault(FaultKind(kind), retry_after=1, times=3) if kind == "queue_full" else Fault(FaultKind(kind))
    )
    _, out, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    clauses = [c.strip() for c in out.replace(".", ";").split(";") if c.strip()]
    assert len(clauses) == len(set(clauses)), out
    assert ".." not in out and ". ." not in out
    assert "full Bandwidth" not in out  # a sentence ends before the next one starts


def test_an_unknown_flag_is_exit_2_with_the_commands_own_usage(capsys, on_sandbox) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["send", "--to", "9195550123", "--text", "hi", "--bogus"])
    err = capsys.readouterr().err
    assert (
        stopped.value.code == 2 and "usage: bwdesk send" in err and "unrecognized arguments: --bogus" in err
    )
    assert posts(on_sandbox) == 0


def test_history_shows_control_characters_instead_of_sending_them_to_the_terminal(capsys, on_sandbox) -> None:
    # `send` refuses such a text now (see below); a row from before that rule, or from another tool, is shown.
    store = SqliteHistoryStore.open(paths.history_file(paths.profile_dir()))
    try:
        store.record_sending(
            "+19195550100", ["+19195550123"], "separate", "red \x1b[31malert\x1b[0m 👨\u200d👩", (), "", 1
        )
    finally:
        store.close()
    _, out, _ = run(capsys, "history")
    assert "\x1b" not in out and "\\x1b[31malert" in out
    assert "👨\u200d👩" in out  # a joiner inside an emoji is text, not a control character


def test_history_shows_the_tag_with_its_control_characters_shown_not_obeyed(capsys, on_sandbox) -> None:
    assert run(capsys, "send", "--to", "9195550123", "--text", "hi", "--tag", "ticket 4711")[0] == 0
    # `send` refuses a tag with a control character; a row from before that rule, or another tool, is shown.
    assert run(capsys, "send", "--to", "9195550124", "--text", "hi", "--tag", "evil\x1b[2J")[0] == 2
    store = SqliteHistoryStore.open(paths.history_file(paths.profile_dir()))
    try:
        store.record_sending("+19195550100", ["+19195550124"], "separate", "hi", (), "evil\x1b[2J", 1)
    finally:
        store.close()
    assert run(capsys, "send", "--to", "9195550125", "--text", "no tag")[0] == 0
    _, out, _ = run(capsys, "history")
    lines = out.splitlines()
    assert any("+19195550123" in line and "hi  tag: ticket 4711  " in line for line in lines), out
    assert "tag: evil\\x1b[2J" in out and "\x1b" not in out
    assert [line for line in lines if "+19195550125" in line and "tag:" in line] == []
    status, out, _ = run(capsys, "history", "--search", "4711")
    assert status == 0 and "tag: ticket 4711" in out and "+19195550124" not in out


def test_no_standard_output_at_all_still_sends_the_whole_batch(on_sandbox, monkeypatch) -> None:
    """A windowed program on Windows (or pythonw) has no standard output: sys.stdout is None."""
    monkeypatch.setattr(sys, "stdout", None)
    status = main(["send", "--to", "9195550123", "--to", "9195550124", "--to", "9195550125", "--text", "hi"])
    assert status == 0 and len(on_sandbox.accepted_messages()) == 3


def test_a_partly_failed_batch_is_retried_by_leaving_out_who_got_it(capsys, on_sandbox) -> None:
    from bwdesk.sandbox import Fault, FaultKind

    on_sandbox.inject(Fault(FaultKind.REJECT, field_errors=(("to", "not allowed"),)))
    status, _, _ = run(capsys, "send", "--to", "9195550123", "--to", "9195550124", "--text", "parts in")
    assert status == 3 and posts(on_sandbox) == 2  # the first rejected, the second accepted
    status, _, err = run(capsys, "send", "--to", "9195550123", "--to", "9195550124", "--text", "parts in")
    assert status == 2 and "leave +19195550124 out of --to" in err and posts(on_sandbox) == 2
    assert run(capsys, "send", "--to", "9195550123", "--text", "parts in")[0] == 0
    assert posts(on_sandbox) == 3


def test_history_search_and_refresh(capsys, on_sandbox) -> None:
    run(capsys, "send", "--to", "9195550123", "--text", "parts arrived", "--tag", "TICKET-4242")
    run(capsys, "send", "--to", LANDLINE_NUMBER, "--text", "other thing")
    status, out, err = run(capsys, "history", "--refresh", "--json")
    assert status == 0, err
    by_to = {o["to"][0]: o for o in json.loads(out)}
    assert by_to["+19195550123"]["delivery_status"] == "DELIVERED"
    assert by_to[LANDLINE_NUMBER]["delivery_status"] == "FAILED"
    assert by_to[LANDLINE_NUMBER]["error_code"] == 4720
    status, out, _ = run(capsys, "history", "--search", "TICKET-4242", "--json")
    assert [o["text"] for o in json.loads(out)] == ["parts arrived"]
    status, out, _ = run(capsys, "history", "--search", "(919) 555-0123", "--json")
    assert [o["to"] for o in json.loads(out)] == [["+19195550123"]]


def test_history_state_filters_what_the_status_column_says(capsys, on_sandbox, monkeypatch) -> None:
    run(capsys, "send", "--to", "9195550123", "--text", "parts arrived")
    run(capsys, "send", "--to", LANDLINE_NUMBER, "--text", "parts arrived")
    assert run(capsys, "history", "--refresh")[0] == 0
    use_account(monkeypatch, f"http://127.0.0.1:{refused_port()}/api/v2")
    run(capsys, "send", "--to", "9195550124", "--text", "parts arrived")  # never reaches Bandwidth

    def listed(*args: str) -> list[list[str]]:
        status, out, err = run(capsys, "history", *args, "--json")
        assert status == 0, err
        return [o["to"] for o in json.loads(out)]

    assert listed("--state", "failed") == [[LANDLINE_NUMBER]]  # accepted · FAILED 4720: not delivered
    assert listed("--state", "delivered") == [["+19195550123"]]
    assert listed("--state", "not-sent") == [["+19195550124"]]
    assert listed("--state", "Not-Sent", "--search", "parts") == [["+19195550124"]]
    assert listed("--state", "rejected") == []
    _, out, _ = run(capsys, "history", "--state", "not-sent")
    assert " not sent " in out and "+19195550124" in out
    _, out, _ = run(capsys, "history", "--state", "waiting")
    assert out.strip() == "No messages with status waiting."
    _, out, _ = run(capsys, "history", "--state", "failed", "--search", "0123")
    assert out.strip() == "No messages with status failed match '0123'."


def test_history_search_finds_the_last_digits_a_customer_reads_out(capsys, on_sandbox) -> None:
    run(capsys, "send", "--to", "9195550123", "--text", "first")
    run(capsys, "send", "--to", "3125550124", "--text", "second")
    for typed in ("0123", "555-0123", "(555) 0123", "5550123", "919 555 0123"):
        status, out, _ = run(capsys, "history", "--search", typed, "--json")
        assert status == 0 and [o["text"] for o in json.loads(out)] == ["first"], typed
    _, out, _ = run(capsys, "history", "--search", "555-012")
    assert [line.split()[-2] for line in out.splitlines()] == ["second", "first"]


def test_a_wrong_state_is_exit_2_naming_the_choices(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["history", "--state", "faild"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "--state: 'faild' is not a status" in err
    assert "delivered, waiting, failed, rejected, unknown, not-sent" in err


def test_history_refresh_names_what_was_not_delivered_and_the_table_says_why(capsys, on_sandbox) -> None:
    run(capsys, "send", "--to", LANDLINE_NUMBER, "--text", "are you there?")
    status, out, err = run(capsys, "history", "--refresh")
    assert status == 0, err
    assert "Not delivered: (919) 555-0199 — 4720: the number cannot receive texts" in err
    # The code in the status column, its reason in words once, on the line below (the window's cell has both).
    lines = out.splitlines()
    status_line = next(i for i, line in enumerate(lines) if "accepted · FAILED 4720" in line)
    assert "4720: the number cannot receive texts" in lines[status_line + 1]
    assert sum("cannot receive texts" in line for line in lines) == 1


# --- invalid input: exit 2, a message naming the field, nothing sent -------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--to", "12", "--text", "hi"], "to:"),
        (["--to", "9195550123", "--text", "x" * 2049], "text:"),
        (["--to", "9195550123", "--text", "hi", "--tag", "t" * 1025], "tag:"),
        (["--to", "9195550123", "--media", "ftp://example.com/a.jpg"], "media:"),
        (
            [*(a for n in range(110, 121) for a in ("--to", f"919555{n:04d}")), "--group", "--text", "hi"],
            "to:",
        ),
        (["--to", "9195550123"], "text:"),
        (["--to", "9195550123", "--text", "hi", "--from", "not a sender!"], "from:"),
    ],
)
def test_invalid_input_exits_2_names_the_field_and_sends_nothing(capsys, on_sandbox, args, field) -> None:
    status, out, err = run(capsys, "send", *args)
    assert status == 2
    assert out == ""
    assert field in err and "Traceback" not in err
    assert on_sandbox.requests.all() == []
    assert rows() == []


def test_a_control_character_in_a_text_file_is_exit_2_naming_the_field_and_position(
    capsys, on_sandbox, tmp_path
) -> None:
    text_file = tmp_path / "reply.txt"
    text_file.write_bytes(b"Your part\nhas ar\x00rived.\n")
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text-file", str(text_file))
    assert status == 2 and out == ""
    assert "text: the message has a null character (U+0000) at position 17, line 2, column 7" in err
    assert "\x00" not in err
    assert on_sandbox.requests.all() == [] and rows() == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--text", "page\x0cbreak"],
            "text: the message has a form feed (page break) (U+000C) at position 5",
        ),
        (["--text", "bell\x07"], "text: the message has a bell character (U+0007) at position 5"),
        (["--text", "del\x7f"], "text: the message has a delete character (DEL) (U+007F) at position 4"),
        (["--text", "c1 \x9b31m"], "text: the message has a control character (U+009B) at position 4"),
        (["--text", "hi", "--tag", "T-1\t2"], "tag: the tag has a tab (U+0009) at position 4"),
        (
            ["--text", "hi", "--media", "https://example.com/a\u200b.jpg"],
            "media: link 1 has an invisible ZERO WIDTH SPACE (U+200B) at position 22",
        ),
        (["--to", "\x1b[31m9195550124", "--text", "hi"], 'to: "U+001B[31m9195550124" cannot be used'),
    ],
)
def test_invisible_characters_are_refused_in_every_field_and_shown_not_obeyed(
    capsys, on_sandbox, args, expected
) -> None:
    status, out, err = run(capsys, "send", *(["--to", "9195550123"] if "--to" not in args else []), *args)
    assert status == 2 and out == "", err
    assert expected in err and "Nothing was sent" in err
    assert not any(c in err for c in "\x00\x07\x0c\x1b\x7f\x9b\u200b")  # named, never written out raw
    assert on_sandbox.requests.all() == []


def test_line_breaks_of_any_kind_go_out_as_newlines_and_emoji_joiners_are_kept(
    capsys, on_sandbox, tmp_path
) -> None:
    text_file = tmp_path / "windows.txt"
    text_file.write_bytes("Line one\r\nLine two\rLine three\u2028family 👨\u200d👩\u200d👧\tok\r\n".encode())
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text-file", str(text_file))
    assert status == 0, err
    (sent,) = on_sandbox.accepted_messages()
    assert sent["text"] == "Line one\nLine two\nLine three\nfamily 👨\u200d👩\u200d👧\tok"


def test_more_than_twenty_separate_messages_need_yes(capsys, on_sandbox) -> None:
    numbers = [a for n in range(100, 121) for a in ("--to", f"919555{n:04d}")]
    status, out, err = run(capsys, "send", *numbers, "--text", "hi")
    assert status == 2 and "--yes" in err and out == "" and err.startswith("bwdesk: to: ")
    assert on_sandbox.requests.all() == []
    status, _, _ = run(capsys, "send", *numbers, "--text", "hi", "--yes")
    assert status == 0 and len(on_sandbox.accepted_messages()) == 21


def test_a_send_over_the_segment_limit_needs_yes_naming_the_total_and_the_limit(capsys, on_sandbox) -> None:
    numbers = [a for n in range(100, 106) for a in ("--to", f"919555{n:04d}")]
    text = "x" * 400  # 3 segments each: 18 in total, over the default limit of 10
    status, out, err = run(capsys, "send", *numbers, "--text", text)
    assert status == 2 and out == "" and on_sandbox.requests.all() == []
    assert "18 segments in total" in err and "limit of 10 segments" in err and "--yes" in err
    assert err.startswith("bwdesk: text: ")  # the text's length is what costs, not a recipient
    status, _, err = run(capsys, "send", *numbers[:4], "--text", "y" * 400)  # 2 × 3 = 6: no question
    assert status == 0, err
    status, _, _ = run(capsys, "send", *numbers, "--text", text, "--yes")
    assert status == 0 and len(on_sandbox.accepted_messages()) == 8


def test_the_segment_limit_comes_from_the_settings(capsys, on_sandbox, profile) -> None:
    (profile / "settings.json").write_text('{"version": 1, "confirm_segments_above": 2}', encoding="utf-8")
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text", "x" * 400)
    assert status == 2 and "3 segments" in err and "limit of 2 segments" in err
    # A group MMS is asked about in the window only: on the command line --group is the explicit choice.
    status, _, err = run(
        capsys, "send", "--to", "9195550123", "--to", "9195550124", "--group", "--text", "hi"
    )
    assert status == 0, err


def test_missing_configuration_is_exit_2_with_what_to_set(capsys) -> None:
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 2 and out == ""
    assert "BW_ACCOUNT_ID" in err and "BW_MESSAGING_APPLICATION_ID" in err


def test_a_locked_keyring_is_a_configuration_problem_with_what_to_do_on_the_command_line(
    capsys, monkeypatch, profile
) -> None:
    """Exit 2 (nothing sent), not 1 "internal error"; and no advice only the window can follow."""
    import keyring
    from keyring.backend import KeyringBackend
    from keyring.errors import KeyringLocked

    class Locked(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            raise KeyringLocked("Failed to unlock the collection!")

        def set_password(self, service: str, username: str, password: str) -> None:
            raise KeyringLocked("Failed to unlock the collection!")

        def delete_password(self, service: str, username: str) -> None:
            raise KeyringLocked("Failed to unlock the collection!")

    keyring.set_keyring(Locked())  # the autouse memory keyring fixture puts its own back afterwards
    (profile / "settings.json").write_text(
        json.dumps({"version": 1, "account_id": "9900000", "application_id": "app", "username": "api-user"})
    )
    for command in (
        ("send", "--to", "9195550123", "--text", "hi", "--from", "+19195550100"),
        ("history", "--refresh"),
    ):
        status, out, err = run(capsys, *command)
        assert status == 2 and out == "", command
        assert "Unlock your keyring" in err and "BW_PASSWORD" in err
        assert "session only" not in err and "Traceback" not in err
    assert rows() == []


def test_unreadable_text_file_is_exit_2(capsys, on_sandbox, tmp_path) -> None:
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text-file", str(tmp_path / "missing.txt"))
    assert status == 2 and "text:" in err and "missing.txt" in err


def test_text_and_text_file_together_are_refused(capsys, on_sandbox, tmp_path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["send", "--to", "9195550123", "--text", "a", "--text-file", "-"])
    assert caught.value.code == 2


# --- outcomes against a misbehaving server: count the POSTs ------------------------------------------------


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def state_of_only_row() -> str:
    [row] = rows()
    return row.state.value


def test_dropped_after_reading_is_exit_4_one_post_unknown(capsys, monkeypatch, fault_server) -> None:
    use_account(monkeypatch, fault_server.api_base)
    fault_server.on("POST", fault_server.messages_path, drop())
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 4
    assert fault_server.count("POST", fault_server.messages_path) == 1
    assert state_of_only_row() == "unknown"
    assert "may have been sent" in out


def test_429_then_202_is_exit_0_two_posts(capsys, monkeypatch, fault_server) -> None:
    use_account(monkeypatch, fault_server.api_base)
    fault_server.on("POST", fault_server.messages_path, too_many(retry_after=0), accepted())
    status, _, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 0
    assert fault_server.count("POST", fault_server.messages_path) == 2
    assert state_of_only_row() == "accepted"


def test_bandwidth_500_is_exit_3_one_post_rejected(capsys, monkeypatch, fault_server) -> None:
    use_account(monkeypatch, fault_server.api_base)
    fault_server.on(
        "POST", fault_server.messages_path, bandwidth_error(500, "internal-error", "Something broke")
    )
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 3
    assert fault_server.count("POST", fault_server.messages_path) == 1
    assert state_of_only_row() == "rejected"
    assert "HTTP 500" in out and "internal-error" in out and "Something broke" in out


def test_400_prints_the_field_errors(capsys, monkeypatch, fault_server) -> None:
    use_account(monkeypatch, fault_server.api_base)
    fault_server.on(
        "POST",
        fault_server.messages_path,
        bandwidth_error(
            400,
            "request-validation",
            "Your request could not be accepted",
            field_errors=[("to", "'+19195550123' is blocked")],
        ),
    )
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 3
    assert "to: '+19195550123' is blocked" in out


def test_proxy_html_502_is_exit_4_one_post_unknown(capsys, monkeypatch, fault_server) -> None:
    use_account(monkeypatch, fault_server.api_base)
    fault_server.on("POST", fault_server.messages_path, html_502())
    status, _, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 4
    assert fault_server.count("POST", fault_server.messages_path) == 1
    assert state_of_only_row() == "unknown"


def test_nothing_listening_is_exit_4_failed(capsys, monkeypatch) -> None:
    use_account(monkeypatch, f"http://127.0.0.1:{refused_port()}/api/v2")
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 4
    assert state_of_only_row() == "failed"
    assert "not sent" in out


def test_401_is_a_rejection_exit_3(capsys, on_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("BW_PASSWORD", "wrong")
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 3 and "HTTP 401" in out and "check BW_USERNAME and BW_PASSWORD" in out


def test_refused_credentials_stop_the_batch_saying_how_many_were_not_sent(
    capsys, on_sandbox, monkeypatch
) -> None:
    """The other messages would be refused the same way: one POST, and the rest said to be not sent."""
    monkeypatch.setenv("BW_PASSWORD", "wrong")
    to = ["--to", "9195550123", "--to", "9195550124", "--to", "9195550125"]
    status, out, err = run(capsys, "send", *to, "--text", "hi")
    assert status == 3 and out.count("rejected") == 1
    assert len(on_sandbox.requests.all()) == 1
    assert "sending stopped: Bandwidth did not accept the credentials" in err
    assert "the other 2 messages would fail the same way; they were not sent" in err


def test_no_connection_says_what_to_check(capsys, monkeypatch) -> None:
    use_account(monkeypatch, f"http://127.0.0.1:{refused_port()}/api/v2")
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--to", "9195550124", "--text", "hi")
    assert status == 4 and out.count("failed") == 1  # the second would not get through either
    assert "Check the network connection, a proxy (HTTPS_PROXY), and the API base URL" in out


# --- the program as scripts start it ----------------------------------------------------------------------


def _bwdesk(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bwdesk", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        **kw,
    )


def test_text_from_stdin_is_utf_8_whatever_the_terminal_encoding(on_sandbox) -> None:
    """A reply piped in as UTF-8 on a machine whose console code page is not (Windows' cp1252) keeps its
    accents and emoji instead of arriving as mojibake."""
    sent = subprocess.run(
        [sys.executable, "-m", "bwdesk", "send", "--to", "9195550123", "--text-file", "-"],
        input="Café ☕ ok\n".encode(),
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "cp1252"},
    )
    assert sent.returncode == 0, sent.stderr
    assert on_sandbox.accepted_messages()[0]["text"] == "Café ☕ ok"


def test_version_and_help() -> None:
    from bwdesk import __version__

    version = _bwdesk("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"bwdesk {__version__}"
    for command in ([], ["send"], ["history"], ["sandbox"]):
        shown = _bwdesk(*command, "--help")
        assert shown.returncode == 0 and "usage: bwdesk" in shown.stdout


def test_every_command_says_what_it_does_in_its_help() -> None:
    parser = build_parser()
    for name, command in parser.commands.items():
        assert command.description and len(command.description) > 60, name
        assert command.description.split(".")[0] in " ".join(command.format_help().split()), name
    for name in ("optout", "templates", "contacts"):  # and each of their actions (outside review)
        [actions] = [a for a in parser.commands[name]._actions if isinstance(a, argparse._SubParsersAction)]
        for action, command in actions.choices.items():
            assert command.description and len(command.description) > 15, (name, action)
            assert command.description in " ".join(command.format_help().split()), (name, action)
    import_help = " ".join(parser.commands["optout"].format_help().split())
    assert "a CSV file with a 'number' column" in import_help
    send_help = " ".join(parser.commands["send"].format_help().split())
    assert "--attach PATH" in send_help and "5 an --attach file could not be uploaded" in send_help


def test_invalid_input_in_a_real_process_prints_nothing_on_stdout() -> None:
    result = _bwdesk("send", "--to", "12", "--text", "hi")
    assert result.returncode == 2 and result.stdout == "" and result.stderr.startswith("bwdesk:")


def test_sandbox_command_prints_how_to_connect_as_soon_as_it_listens() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bwdesk", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = {}
        while "Test numbers" not in lines:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            if ": " in line:
                label, value = line.rstrip("\n").split(": ", 1)
                lines[label] = value
        for label in ("API base URL", "OAuth2 token URL", "Account ID", "Username", "Password", "Client ID",
                      "Client secret", "Application ID", "Numbers"):  # fmt: skip
            assert lines.get(label), label
        assert lines["API base URL"].startswith("http://127.0.0.1:")
    finally:
        process.terminate()
        process.communicate(timeout=10)  # also closes the pipes


def test_limit_beyond_a_page_is_refused_with_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["history", "--limit", "20000"])
    assert caught.value.code == 2


def test_an_unusable_profile_folder_is_exit_2_with_what_to_do(capsys, monkeypatch, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BWDESK_HOME", str(blocker / "profile"))
    status, out, err = run(capsys, "history")
    assert status == 2 and out == ""
    assert "profile folder" in err and "BWDESK_HOME" in err and "Traceback" not in err


def test_a_malformed_api_base_is_exit_2_not_a_traceback(capsys, on_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("BWDESK_API_BASE", "https://messaging.bandwidth.com:443x/api/v2")
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 2 and out == "" and "API base URL" in err and "Traceback" not in err
    assert rows() == []


def test_refresh_finds_an_unknown_send_that_reached_bandwidth(capsys, on_sandbox, profile) -> None:
    """The answer was lost but Bandwidth queued it: `history --refresh` says so (the CLI's Check status)."""
    import time as _time

    from bwdesk.sandbox import Fault, FaultKind

    (profile / "settings.json").write_text('{"version": 1, "read_timeout": 0.3}', encoding="utf-8")
    on_sandbox.inject(Fault(FaultKind.DELAY, delay=1.0))
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--text", "lost answer")
    assert status == 4 and "--refresh" in out
    deadline = _time.monotonic() + 10
    while not on_sandbox.accepted_messages():  # the sandbox queues it once its delay is over
        assert _time.monotonic() < deadline
        _time.sleep(0.01)
    status, out, err = run(capsys, "history", "--refresh", "--json")
    assert status == 0, err
    [row] = json.loads(out)
    assert row["state"] == "accepted" and row["message_id"] == on_sandbox.accepted_messages()[0]["id"]
    assert "1 found (sent)" in err


def test_refresh_whose_lookups_all_fail_exits_4_and_says_so(capsys, on_sandbox) -> None:
    from bwdesk.sandbox import Fault, FaultKind

    run(capsys, "send", "--to", "9195550123", "--text", "hi")
    on_sandbox.inject(Fault(FaultKind.HTML_502, method="GET", times=None))
    status, out, err = run(capsys, "history", "--refresh")
    assert status == 4 and "1 could not be looked up" in err and "502" in err
    assert "No recent messages" not in err
    assert "+19195550123" in out  # the list is still shown, with the status it had


def test_refresh_with_refused_credentials_exits_3_and_needs_no_application_id(
    capsys, on_sandbox, monkeypatch
) -> None:
    run(capsys, "send", "--to", "9195550123", "--text", "hi")
    password = on_sandbox.password
    monkeypatch.setenv("BW_PASSWORD", "wrong")
    status, out, err = run(capsys, "history", "--refresh")
    assert status == 3 and "credentials were refused" in err
    assert "+19195550123" in out  # the list is still shown
    monkeypatch.setenv("BW_PASSWORD", password)
    monkeypatch.delenv("BW_MESSAGING_APPLICATION_ID")
    status, out, err = run(capsys, "history", "--refresh")
    assert status == 0, err  # looking statuses up needs no application ID
    assert "DELIVERED" in out


def test_one_to_may_hold_a_comma_separated_list(capsys, on_sandbox) -> None:
    status, _, err = run(capsys, "send", "--to", "9195550123, 9195550124; +1 919 555 0125", "--text", "hi")
    assert status == 0, err
    assert sorted(m["to"][0] for m in on_sandbox.accepted_messages()) == [
        "+19195550123",
        "+19195550124",
        "+19195550125",
    ]


def test_a_byte_order_mark_is_not_part_of_the_message(capsys, on_sandbox, tmp_path) -> None:
    text_file = tmp_path / "notepad.txt"
    text_file.write_bytes("\ufeff".encode() + b"a" * 160 + b"\r\n")
    status, out, _ = run(capsys, "send", "--to", "9195550123", "--text-file", str(text_file))
    assert status == 0 and "(1 segment)" in out
    assert on_sandbox.accepted_messages()[0]["text"] == "a" * 160


def test_a_search_of_only_symbols_finds_nothing_and_says_so(capsys, on_sandbox) -> None:
    run(capsys, "send", "--to", "9195550123", "--text", "hello")
    status, out, _ = run(capsys, "history", "--search", "😀")
    assert status == 0 and out.strip() == "No messages match '😀'."


def test_locked_settings_win_over_the_environment(capsys, on_sandbox, profile, monkeypatch) -> None:
    system = profile / "system-settings.json"
    system.write_text(
        json.dumps({"defaults": {"api_base": on_sandbox.api_base}, "locked": ["api_base"]}), encoding="utf-8"
    )
    monkeypatch.setenv("BWDESK_SYSTEM_SETTINGS", str(system))
    monkeypatch.setenv("BWDESK_API_BASE", "http://127.0.0.1:9/elsewhere")
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 0, err
    assert "BWDESK_API_BASE is ignored" in err
    assert len(on_sandbox.accepted_messages()) == 1


def test_an_unknown_region_code_is_exit_2_naming_the_variable(capsys, on_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("BWDESK_REGION", "UK")
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert status == 2 and out == "" and "BWDESK_REGION" in err and "GB" in err


def test_window_without_a_display_says_so_instead_of_aborting() -> None:
    from bwdesk.ui.app import display_problem

    assert display_problem({}, "linux") is not None
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "win32") is None


def test_json_keeps_an_accepted_post_whose_outcome_the_history_could_not_save(
    capsys, on_sandbox, monkeypatch, expect_log
) -> None:
    from bwdesk.core.history.store import HistoryError

    expect_log("could not be saved as accepted")
    monkeypatch.setattr("bwdesk.core.sending.SETTLE_RETRY_DELAYS", ())

    def broken(self, row_id, result):
        raise HistoryError("the disk is full")

    monkeypatch.setattr(SqliteHistoryStore, "settle", broken)
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi", "--json")
    assert status == 0
    [obj] = json.loads(out)
    assert obj["state"] == "accepted" and obj["message_id"] == on_sandbox.accepted_messages()[0]["id"]
    assert "could not be saved" in err


def test_the_window_starts_without_building_the_command_line_parser(monkeypatch) -> None:
    """`bwdesk` and `bwdesk --sandbox` open the window at once: every command's parser would only delay it."""
    from bwdesk import cli
    from bwdesk.ui import app as app_module

    def no_parser() -> None:
        raise AssertionError("the parser was built on the way to the window")

    opened: list[bool] = []
    monkeypatch.setattr(cli, "build_parser", no_parser)
    monkeypatch.setattr(app_module, "run_gui", lambda *, sandbox=False: opened.append(sandbox) or 0)
    assert cli.main([]) == 0
    assert cli.main(["--sandbox"]) == 0
    assert opened == [False, True]


def test_a_direction_override_is_sent_with_a_warning_and_never_obeyed_by_the_terminal(
    capsys, on_sandbox
) -> None:
    text = "bidi \u202eevil"
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text", text)
    assert status == 0 and "bwdesk: warning: text: " in err and "U+202E" in err
    status, out, _ = run(capsys, "history")
    assert status == 0 and "\u202e" not in out and "bidi \\u202eevil" in out
