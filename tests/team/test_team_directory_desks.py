"""The team's directory seen from desks as separate `bwdesk` processes (their own BWDESK_HOME and agent) on one
team database, sending through a sandbox (docs/design.md §17.9): one desk's opt-out, from a 4482 answer, a 4775
delivery status or by hand, stops another desk's `bwdesk send` with nothing sent; a removal keeps its reason; a
team template and contacts added on one desk are used from another; IT's templates stay locked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from teamdesk import admin, team_url
from test_team_desks import bwdesk, desk_env, finish

from bwdesk.sandbox import BLOCKLISTED_NUMBER, OPTED_OUT_NUMBER, Fault, FaultKind

ANN = "+19195550123"
BOB = "+19195550124"


@pytest.fixture
def team(pg_server: Any, team_database: str, sandbox: Any, tmp_path: Path) -> Any:
    """`team(name, agent)` → (profile, env): a desk of its own on the team database and the sandbox."""
    url = team_url(pg_server, team_database)

    def make(name: str, agent: str) -> tuple[Path, dict[str, str]]:
        profile = tmp_path / name
        profile.mkdir()
        return profile, desk_env(profile, agent, sandbox.environment(), url, pg_server.agent_password)

    return make


def posts(sandbox: Any) -> int:
    return sum(1 for r in sandbox.requests.all() if r.method == "POST" and r.path.endswith("/messages"))


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return finish(bwdesk(env, *args))


def refused(env: dict[str, str], sandbox: Any, *to: str) -> str:
    """`bwdesk send` to `to` from the desk of `env` is refused with nothing sent; its standard error."""
    before = posts(sandbox)
    status, out, err = run(env, "send", *(a for n in to for a in ("--to", n)), "--text", "Hello again")
    assert (status, out) == (2, ""), err
    assert posts(sandbox) == before  # nothing left the machine
    return err


def test_a_4482_answer_on_one_desk_stops_the_next_desks_send(team: Any, sandbox: Any) -> None:
    _, ana = team("ana", "Ana Lima")
    _, ben = team("ben", "Ben Ode")
    sandbox.inject(Fault(FaultKind.BLOCKLISTED))
    status, out, err = run(ana, "send", "--to", ANN, "--text", "Your part shipped")
    assert status == 3 and out.startswith("rejected"), err
    assert f"bwdesk: {ANN} is now on the do-not-text list: blocklisted" in err
    err = refused(ben, sandbox, ANN, BOB)
    assert "to: 1 of the recipients is on the do-not-text list, so nothing was sent:" in err
    assert f"{ANN}: blocklisted (Bandwidth blocks texts to it, error 4482) since" in err
    assert "added by Ana Lima" in err and f"Leave {ANN} out of --to" in err
    status, out, err = run(ben, "send", "--to", BOB, "--text", "Hello again")
    assert (status, out.split()[:2]) == (0, ["accepted", BOB]), err


def test_a_4775_delivery_status_refreshed_on_one_desk_stops_the_next_desks_send(
    team: Any, sandbox: Any, pg_server: Any, team_database: str
) -> None:
    _, ana = team("ana", "Ana Lima")
    _, ben = team("ben", "Ben Ode")
    assert run(ana, "send", "--to", OPTED_OUT_NUMBER, "--to", BLOCKLISTED_NUMBER, "--text", "Hi")[0] == 0
    status, _, err = run(ana, "history", "--refresh")
    assert status == 0, err
    assert (
        f"bwdesk: {OPTED_OUT_NUMBER} is now on the do-not-text list: opted out (replied STOP, error 4775)"
        in err
    )
    err = refused(ben, sandbox, OPTED_OUT_NUMBER)
    assert "opted out (replied STOP, error 4775) since" in err and "added by Ana Lima" in err
    assert admin(
        pg_server, team_database, "SELECT number, reason, code, agent FROM bwdesk.optouts ORDER BY number"
    ) == [
        (BLOCKLISTED_NUMBER, "blocklisted", 4482, "Ana Lima"),
        (OPTED_OUT_NUMBER, "opted-out", 4775, "Ana Lima"),
    ]


def test_by_hand_on_one_desk_and_taken_off_with_a_reason_on_another(
    team: Any, sandbox: Any, pg_server: Any, team_database: str
) -> None:
    _, ana = team("ana", "Ana Lima")
    _, ben = team("ben", "Ben Ode")
    status, _, err = run(ana, "optout", "add", "(919) 555-0123", "--reason", "asked on the phone")
    assert status == 0, err
    refused(ben, sandbox, ANN)
    status, _, err = run(ben, "optout", "remove", ANN)
    assert status == 2  # no reason, nothing changed
    refused(ana, sandbox, ANN)
    status, _, err = run(ben, "optout", "remove", ANN, "--reason", "customer texted START on 3 March")
    assert status == 0, err
    status, out, err = run(ana, "send", "--to", ANN, "--text", "Welcome back")
    assert status == 0 and out.startswith("accepted"), err
    status, out, _ = run(ana, "optout", "history", ANN, "--json")
    assert [(e["action"], e["note"], e["by"]) for e in json.loads(out)] == [
        ("removed", "customer texted START on 3 March", "Ben Ode"),
        ("added", "asked on the phone", "Ana Lima"),
    ]
    assert admin(pg_server, team_database, "SELECT action, note FROM bwdesk.optout_events ORDER BY id") == [
        ("added", "asked on the phone"),
        ("removed", "customer texted START on 3 March"),
    ]


def test_a_team_template_and_contacts_from_one_desk_are_used_from_another(team: Any, sandbox: Any) -> None:
    _, ana = team("ana", "Ana Lima")
    _, ben = team("ben", "Ben Ode")
    text = "Hi {first_name|there}, your order {order} shipped"
    assert run(ana, "templates", "add", "Shipped", "--text", text, "--tag", "ship", "--team")[0] == 0
    assert run(ana, "contacts", "add", ANN, "--name", "Ann Lee", "--field", "first_name=Ann")[0] == 0
    status, out, err = run(ben, "templates", "list", "--json")
    assert status == 0, err
    assert [(t["name"], t["scope"], t["by"]) for t in json.loads(out)] == [("Shipped", "team", "Ana Lima")]
    status, out, _ = run(ben, "contacts", "list", "--json")
    assert [(c["number"], c["name"]) for c in json.loads(out)] == [(ANN, "Ann Lee")]
    status, out, err = run(
        ben, "send", "--template", "shipped", "--var", "order=4242", "--to", ANN, "--to", BOB
    )
    assert status == 0, err
    texts = {m["to"][0]: m["text"] for m in sandbox.accepted_messages()}
    assert texts == {ANN: "Hi Ann, your order 4242 shipped", BOB: "Hi there, your order 4242 shipped"}
    assert {m["tag"] for m in sandbox.accepted_messages()} == {"ship"}
    assert run(ben, "templates", "remove", "Shipped", "--team")[0] == 0
    status, out, _ = run(ana, "templates", "list", "--json")
    assert json.loads(out) == []


def test_it_templates_stay_locked_with_a_team(team: Any, pg_server: Any, team_database: str) -> None:
    profile, ana = team("ana", "Ana Lima")
    Path(ana["BWDESK_SYSTEM_SETTINGS"]).write_text(
        json.dumps({"templates": [{"name": "Closed today", "text": "We are closed today."}]}),
        encoding="utf-8",
    )
    for attempt in (
        ("templates", "add", "closed TODAY", "--text", "mine", "--team", "--replace"),
        ("templates", "remove", "Closed today", "--team"),
    ):
        status, out, err = run(ana, *attempt)
        assert (status, out) == (2, ""), err
        assert "'Closed today' is a template your administrator set in the system settings file" in err
    status, out, _ = run(ana, "templates", "list", "--json")
    assert [(t["name"], t["scope"]) for t in json.loads(out)] == [("Closed today", "locked")]
    assert admin(pg_server, team_database, "SELECT count(*) FROM bwdesk.templates") == [(0,)]
    assert profile.is_dir()


def test_with_the_team_away_a_desks_copy_still_refuses_and_its_own_opt_outs_reach_the_team_later(
    team: Any, sandbox: Any, pg_server: Any, team_database: str
) -> None:
    _, ana = team("ana", "Ana Lima")
    _, ben = team("ben", "Ben Ode")
    _, cat = team("cat", "Cat Roy")
    assert run(ana, "optout", "add", ANN, "--reason", "asked on the phone")[0] == 0
    assert run(ben, "optout", "list")[0] == 0  # any command: Ben's desk copies the team's list
    pg_server.stop()
    err = refused(ben, sandbox, ANN)  # from Ben's copy, and said so
    assert "bwdesk: warning: Checked against this desk's copy of the team's do-not-text list from " in err
    assert "added by Ana Lima" in err
    # Cat's desk never had a copy: nothing is sent, and the reason is given.
    before = posts(sandbox)
    status, out, err = run(cat, "send", "--to", BOB, "--text", "Hello")
    assert (status, out, posts(sandbox)) == (1, "", before)
    assert "The team's do-not-text list cannot be checked" in err and "no copy of the team's list yet" in err
    # Ben lists a number while the team is away: it blocks Ben's desk at once ...
    status, _, err = run(ben, "optout", "add", BOB, "--reason", "asked by e-mail")
    assert status == 0, err
    refused(ben, sandbox, BOB)
    pg_server.start()
    # ... and reaches the team with Ben's next command, once; then it blocks every desk.
    assert run(ben, "optout", "list")[0] == 0
    assert admin(pg_server, team_database, "SELECT number, agent, note FROM bwdesk.optouts ORDER BY 1") == [
        (ANN, "Ana Lima", "asked on the phone"),
        (BOB, "Ben Ode", "asked by e-mail"),
    ]
    refused(cat, sandbox, BOB)
    assert admin(pg_server, team_database, "SELECT count(*) FROM bwdesk.optout_events") == [(2,)]
