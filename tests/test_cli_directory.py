"""`bwdesk optout|templates|contacts` and what `bwdesk send` does with them, through `cli.main`, against the
sandbox: its opted-out test number fails with 4775 at delivery, its blocklisted one with 4482, and its
`blocklisted` fault answers a POST with 4482. The sandbox counts what arrives, so "nothing was sent" is checked
where it happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bwdesk.cli import main
from bwdesk.core import paths
from bwdesk.sandbox import BLOCKLISTED_NUMBER, OPTED_OUT_NUMBER, Fault, FaultKind, Sandbox

AGENT = "Ann Agent"


@pytest.fixture
def on_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Sandbox:
    env = {
        "BWDESK_API_BASE": sandbox.api_base,
        "BW_ACCOUNT_ID": sandbox.account_id,
        "BW_USERNAME": sandbox.username,
        "BW_PASSWORD": sandbox.password,
        "BW_MESSAGING_APPLICATION_ID": sandbox.application_id,
        "BW_NUMBER": sandbox.numbers[0],
        "BWDESK_AGENT": AGENT,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return sandbox


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def posts(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests.all() if r.method == "POST" and r.path.endswith("/messages"))


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    status, out, err = run(capsys, "optout", "list", "--json")
    assert status == 0, err
    return {entry["number"]: entry for entry in json.loads(out)}


# --- the do-not-text list fills itself, and refuses ----------------------------------------------------------


def test_a_send_answer_with_4482_lists_the_number_and_the_next_batch_is_refused(capsys, on_sandbox) -> None:
    on_sandbox.inject(Fault(FaultKind.BLOCKLISTED))
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "Your part shipped")
    assert status == 3 and out.startswith("rejected  +19195550123  HTTP 400 rejected-to-number-in-blacklist")
    assert "bwdesk: +19195550123 is now on the do-not-text list: blocklisted" in err
    entry = listed(capsys)["+19195550123"]
    assert (entry["reason"], entry["code"], entry["by"]) == ("blocklisted", 4482, AGENT)
    assert set(entry) == {"number", "reason", "code", "since", "by", "note"}

    before = posts(on_sandbox)
    status, out, err = run(capsys, "send", "--to", "9195550123", "--to", "9195550124", "--text", "Again")
    assert status == 2 and out == ""
    assert "to: 1 of the recipients is on the do-not-text list, so nothing was sent:" in err
    assert "+19195550123: blocklisted (Bandwidth blocks texts to it, error 4482) since" in err
    assert "Leave +19195550123 out of --to to send to the others." in err
    assert "--send-again" not in err and "anyway" not in err  # there is no way round it
    assert posts(on_sandbox) == before  # nothing left the machine
    status, _, err = run(capsys, "send", "--to", "9195550124", "--text", "Again")
    assert status == 0, err


def test_a_refresh_lists_4775_and_4482_and_says_so(capsys, on_sandbox) -> None:
    status, _, err = run(capsys, "send", "--to", OPTED_OUT_NUMBER, "--to", BLOCKLISTED_NUMBER, "--text", "Hi")
    assert status == 0, err  # accepted: the failure comes later, as a delivery status
    assert listed(capsys) == {}
    status, _, err = run(capsys, "history", "--refresh")
    assert status == 0, err
    assert (
        f"bwdesk: {OPTED_OUT_NUMBER} is now on the do-not-text list: opted out (replied STOP, error 4775)"
        in err
    )
    assert f"bwdesk: {BLOCKLISTED_NUMBER} is now on the do-not-text list: blocklisted" in err
    entries = listed(capsys)
    assert {n: (e["reason"], e["code"]) for n, e in entries.items()} == {
        OPTED_OUT_NUMBER: ("opted-out", 4775),
        BLOCKLISTED_NUMBER: ("blocklisted", 4482),
    }
    before = posts(on_sandbox)
    status, out, err = run(capsys, "send", "--to", OPTED_OUT_NUMBER, "--text", "Hi again")
    assert (status, out, posts(on_sandbox)) == (2, "", before)
    assert "Leave" not in err  # nobody else to send to
    assert "bwdesk optout remove NUMBER --reason TEXT" in err


def test_a_removal_needs_a_reason_and_stays_in_the_history(capsys, on_sandbox) -> None:
    status, out, _ = run(capsys, "optout", "add", "(919) 555-0123", "--reason", "asked on the phone")
    assert status == 0 and "+19195550123 is on the do-not-text list now" in out
    status, out, _ = run(capsys, "optout", "add", "9195550123")
    assert status == 0 and "was already on the do-not-text list" in out and "asked on the phone" in out

    status, out, err = run(capsys, "optout", "remove", "9195550123")
    assert (status, out) == (2, "") and "a number comes off the do-not-text list only with a reason" in err
    status, _, err = run(capsys, "optout", "remove", "9195550123", "--reason", "  ")
    assert status == 2
    assert "+19195550123" in listed(capsys)

    status, out, _ = run(
        capsys, "optout", "remove", "9195550123", "--reason", "customer texted START on 3 March"
    )
    assert status == 0 and "is off the do-not-text list" in out
    assert listed(capsys) == {}
    status, out, _ = run(capsys, "optout", "history", "9195550123", "--json")
    events = json.loads(out)
    assert [(e["action"], e["reason"], e["note"], e["by"]) for e in events] == [
        ("removed", None, "customer texted START on 3 March", AGENT),
        ("added", "by-hand", "asked on the phone", AGENT),
    ]
    status, out, _ = run(capsys, "optout", "history")
    assert "removed: customer texted START on 3 March (by Ann Agent)" in out
    status, _, err = run(capsys, "optout", "remove", "9195550123", "--reason", "again")
    assert status == 2 and "is not on the do-not-text list" in err
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text", "Welcome back")
    assert status == 0, err


def test_optout_import_of_a_messy_file_and_a_formula_safe_export(capsys, on_sandbox, tmp_path: Path) -> None:
    source = tmp_path / "stop.csv"
    source.write_text(
        "Phone;Note\n(919) 555-0150;replied STOP by email\n919.555.0151;\nnot a number;x\n"
        "+1 919 555 0150;twice\n\n;no number\n",
        encoding="utf-8",
    )
    status, out, err = run(capsys, "optout", "import", str(source))
    assert status == 3
    assert out == "Put 2 numbers on the do-not-text list; 3 lines not used (below).\n"
    assert err.splitlines()[0].startswith("bwdesk: line 4: 'not a number' is not a phone number")
    assert err.splitlines()[1:] == [
        "bwdesk: line 5: +19195550150 is already on line 2; this line is skipped",
        "bwdesk: line 7: no number",
    ]
    entries = listed(capsys)
    assert (
        entries["+19195550150"]["reason"] == "imported"
        and entries["+19195550150"]["note"] == "replied STOP by email"
    )

    target = tmp_path / "out.csv"
    status, out, _ = run(capsys, "optout", "export", str(target))
    assert status == 0 and out == f"Wrote 2 numbers to {target}.\n"
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "number,reason,code,since,by,note"
    assert lines[1].startswith("'+19195550150,imported,,")
    status, out, _ = run(capsys, "optout", "import", str(target))  # its own export reads back
    assert status == 0 and "Put 0 numbers on the do-not-text list (2 already on it)." in out

    status, out, err = run(capsys, "optout", "import", str(tmp_path / "missing.csv"))
    assert (status, out) == (2, "") and "cannot read" in err and "Nothing was imported" in err


# --- contacts ---------------------------------------------------------------------------------------------------


def test_contacts_add_list_search_remove(capsys, on_sandbox) -> None:
    status, out, _ = run(
        capsys, "contacts", "add", "919-555-0123", "--name", "Ann Lee", "--field", "first_name=Ann"
    )
    assert status == 0 and out == "Saved +19195550123: Ann Lee, first_name=Ann.\n"
    run(capsys, "contacts", "add", "9195550123", "--name", "Ann Lee", "--field", "Company=Acme")
    run(capsys, "contacts", "add", "9195550124", "--name", "Bob Roe")
    status, out, _ = run(capsys, "contacts", "list", "--search", "ann", "--json")
    [ann] = json.loads(out)
    assert (ann["number"], ann["fields"], ann["by"]) == (
        "+19195550123",
        {"company": "Acme", "first_name": "Ann"},
        AGENT,
    )
    status, out, _ = run(capsys, "contacts", "list", "--search", "LEE")
    assert "Ann Lee" in out and "Bob" not in out
    status, _, err = run(capsys, "contacts", "add", "9195550125", "--name", " ")
    assert status == 2 and "a contact needs a name" in err
    status, _, err = run(capsys, "contacts", "add", "12", "--name", "Short")
    assert status == 2 and "number: '12' is not a phone number" in err
    assert run(capsys, "contacts", "remove", "9195550124")[0] == 0
    status, _, err = run(capsys, "contacts", "remove", "9195550124")
    assert status == 2 and "has no contact" in err


def test_a_messy_contacts_file_is_imported_except_its_bad_lines(capsys, on_sandbox, tmp_path: Path) -> None:
    source = tmp_path / "crm.csv"
    source.write_bytes(
        "Full Name,Mobile,First Name,Ticket URL\r\n"
        "Ann Lee,(919) 555-0123,Ann,https://t.example/1\r\n"
        "Bob Roe,9195550124,,\r\n"
        "Carla,12,,\r\n"
        "Ann Lee (old),919 555 0123,Ann,\r\n"
        ",9195550125,,\r\n".encode("cp1252")
    )
    status, out, err = run(capsys, "contacts", "import", str(source))
    assert status == 3 and out == "Saved 2 contacts; 3 lines not used (below).\n"
    lines = err.splitlines()
    assert [line.split(":")[1] for line in lines] == [" line 4", " line 5", " line 6"]
    assert "is already on line 2" in lines[1] and "a contact needs a name" in lines[2]
    status, out, _ = run(capsys, "contacts", "export", "-")
    assert out.splitlines() == [
        "\ufeffnumber,name,first_name,ticket_url",
        "'+19195550123,Ann Lee,Ann,https://t.example/1",
        "'+19195550124,Bob Roe,,",
    ]


# --- templates ----------------------------------------------------------------------------------------------------


def sent_texts(sandbox: Sandbox) -> dict[str, str]:
    return {message["to"][0]: message["text"] for message in sandbox.accepted_messages()}


def test_a_template_fills_per_recipient_from_contacts_and_falls_back(capsys, on_sandbox) -> None:
    status, out, _ = run(
        capsys, "templates", "add", "On the way", "--text", "Hi {first_name|there}, {who} is coming."
    )
    assert status == 0 and out == "Saved the personal template 'On the way'.\n"
    run(capsys, "contacts", "add", "9195550123", "--name", "Ann Lee", "--field", "first_name=Ann")
    status, _, err = run(
        capsys,
        "send",
        "--template",
        "on the way",
        "--var",
        "who=Your technician",
        "--to",
        "9195550123,9195550124",
    )
    assert status == 0, err
    assert sent_texts(on_sandbox) == {
        "+19195550123": "Hi Ann, Your technician is coming.",
        "+19195550124": "Hi there, Your technician is coming.",
    }


def test_a_variable_with_no_value_and_no_fallback_blocks_the_send(capsys, on_sandbox) -> None:
    run(
        capsys,
        "templates",
        "add",
        "Ticket",
        "--text",
        "Hi {first_name|there},\nsee {ticket_url}",
        "--tag",
        "TICKET",
    )
    run(
        capsys,
        "contacts",
        "add",
        "9195550123",
        "--name",
        "Ann Lee",
        "--field",
        "ticket_url=https://t.example/1",
    )
    status, out, err = run(capsys, "send", "--template", "Ticket", "--to", "9195550123", "--to", "9195550124")
    assert (status, out, posts(on_sandbox)) == (2, "", 0)
    assert (
        "text: the template 'Ticket' cannot be filled:\n"
        "  {ticket_url} at position 28, line 2, column 5 has no value for +19195550124 and no fallback\n"
    ) in err
    assert "--var KEY=VALUE" in err and "Nothing was sent." in err
    status, _, err = run(
        capsys,
        "send",
        "--template",
        "Ticket",
        "--to",
        "9195550124",
        "--var",
        "Ticket_URL=https://t.example/2",
    )
    assert status == 0, err
    [message] = on_sandbox.accepted_messages()
    assert (message["text"], message["tag"]) == ("Hi there,\nsee https://t.example/2", "TICKET")


def test_a_group_fills_only_what_everyone_shares(capsys, on_sandbox) -> None:
    run(
        capsys, "templates", "add", "Outage", "--text", "Hi {first_name|all}, {company|your company} is back."
    )
    run(
        capsys,
        "contacts",
        "add",
        "9195550123",
        "--name",
        "Ann",
        "--field",
        "first_name=Ann",
        "--field",
        "company=Acme",
    )
    run(
        capsys,
        "contacts",
        "add",
        "9195550124",
        "--name",
        "Bob",
        "--field",
        "first_name=Bob",
        "--field",
        "company=Acme",
    )
    status, _, err = run(
        capsys, "send", "--template", "Outage", "--group", "--to", "9195550123", "--to", "9195550124"
    )
    assert status == 0, err
    [message] = on_sandbox.accepted_messages()
    assert message["text"] == "Hi all, Acme is back."


def test_template_flags_are_checked_before_anything_is_sent(capsys, on_sandbox) -> None:
    run(capsys, "templates", "add", "On the way", "--text", "Hi {first_name|there}")
    status, _, err = run(capsys, "send", "--to", "9195550123", "--text", "hi", "--var", "first_name=Ann")
    assert status == 2 and "--var fills a template's variables" in err
    status, _, err = run(capsys, "send", "--to", "9195550123", "--template", "on the")
    assert status == 2 and "there is no template called 'on the'. Did you mean 'On the way'?" in err
    with pytest.raises(SystemExit) as exited:
        main(["send", "--to", "9195550123", "--template", "On the way", "--text", "x"])
    assert exited.value.code == 2 and "not allowed with argument --template" in capsys.readouterr().err
    status, _, err = run(
        capsys, "send", "--to", "9195550123", "--template", "On the way", "--var", "ticket=1"
    )
    assert status == 0 and "the template 'On the way' has no {ticket}" in err
    assert posts(on_sandbox) == 1


def test_templates_add_remove_rules_team_and_json(capsys, on_sandbox, tmp_path: Path) -> None:
    status, _, err = run(capsys, "templates", "add", "Bad", "--text", "Hi {first name}")
    assert status == 2 and "text: {first name} at position 4 is not a variable" in err
    status, _, err = run(capsys, "templates", "add", "Team one", "--text", "x", "--team")
    assert status == 2 and "team: Team templates are kept in the team history" in err
    run(
        capsys,
        "templates",
        "add",
        "Refund",
        "--text",
        "Refund of {amount|the amount} sent",
        "--media",
        "https://a.example/r.pdf",
    )
    status, _, err = run(capsys, "templates", "add", "refund", "--text", "other")
    assert status == 2 and "add --replace to change it" in err.lower()
    status, out, _ = run(capsys, "templates", "list", "--json")
    [refund] = json.loads(out)
    assert (refund["scope"], refund["variables"], refund["media"], refund["by"]) == (
        "personal", ["amount"], ["https://a.example/r.pdf"], AGENT,
    )  # fmt: skip
    target = tmp_path / "templates.json"
    assert run(capsys, "templates", "export", str(target))[0] == 0
    status, out, _ = run(capsys, "templates", "remove", "REFUND")
    assert (
        status == 0 and out == f"Deleted the personal template {refund['name']!r}.\n"
    )  # as stored, not typed
    assert run(capsys, "templates", "remove", "refund")[0] == 2
    exported = json.loads(target.read_text(encoding="utf-8"))
    exported.append({"name": "Broken", "text": "{oops"})
    target.write_text(json.dumps(exported), encoding="utf-8")
    status, out, err = run(capsys, "templates", "import", str(target))
    assert status == 3 and out == "Saved 1 template; 1 not (below).\n"
    assert err.startswith("bwdesk: template 2 ('Broken'): text: the { at position 1 is not closed")
    assert [t["name"] for t in json.loads(run(capsys, "templates", "list", "--json")[1])] == ["Refund"]


def test_it_templates_are_locked(capsys, on_sandbox) -> None:
    paths.system_settings_file().write_text(
        json.dumps(
            {"templates": [{"name": "Closed today", "text": "Hi {first_name|there}, we are closed today."}]}
        ),
        encoding="utf-8",
    )
    status, out, _ = run(capsys, "templates", "list", "--json")
    assert [(t["name"], t["scope"], t["by"]) for t in json.loads(out)] == [("Closed today", "locked", None)]
    for attempt in (
        ("templates", "add", "closed TODAY", "--text", "mine", "--replace"),
        ("templates", "remove", "Closed today"),
    ):
        status, out, err = run(capsys, *attempt)
        assert (status, out) == (2, "")
        assert "'Closed today' is a template your administrator set in the system settings file" in err
    target = Path(paths.profile_dir()) / "t.json"
    target.write_text(json.dumps([{"name": "Closed today", "text": "overridden"}]), encoding="utf-8")
    status, _, err = run(capsys, "templates", "import", str(target))
    assert status == 3 and "your administrator set in the system settings file" in err
    status, _, err = run(capsys, "send", "--template", "closed today", "--to", "9195550123")
    assert status == 0, err
    assert sent_texts(on_sandbox) == {"+19195550123": "Hi there, we are closed today."}


def test_team_templates_say_what_they_need(capsys, on_sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, err = run(capsys, "templates", "remove", "Anything", "--team")
    assert (status, out) == (2, "") and "set one up in Settings → Team history" in err
    # A team history URL that cannot be used (a remote host without verify-full): the local directory, saying so.
    monkeypatch.setenv("BWDESK_HISTORY_URL", "postgresql://bwdesk_agent@db.example.com/bwdesk")
    status, out, err = run(capsys, "templates", "add", "Team one", "--text", "Hi", "--team")
    assert (status, out) == (2, "")
    assert "This desk's team history URL cannot be used (`bwdesk team status` says why)" in err
    assert json.loads(run(capsys, "templates", "list", "--json")[1]) == []


def test_nothing_is_sent_when_the_list_cannot_be_read(capsys, on_sandbox) -> None:
    import sqlite3

    assert run(capsys, "optout", "list")[0] == 0  # makes the file
    with sqlite3.connect(paths.history_file(paths.profile_dir())) as conn:
        conn.execute("UPDATE directory_schema SET value = '2.0' WHERE key = 'version'")
    status, out, err = run(capsys, "send", "--to", "9195550123", "--text", "hi")
    assert (status, out, posts(on_sandbox)) == (1, "", 0)
    assert "written by a newer bwdesk (directory schema 2.0)" in err
