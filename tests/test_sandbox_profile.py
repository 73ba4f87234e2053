"""The window's `--sandbox` context: the sandbox's demo account, in a profile of its own."""

from __future__ import annotations

from bwdesk.sandbox import Sandbox
from bwdesk.sandbox_profile import sandbox_context


def test_sandbox_context_ignores_the_environment_and_the_keyring(profile, memory_keyring) -> None:
    with Sandbox(status_step=0) as server:
        context = sandbox_context(server)
        assert context.is_sandbox and context.is_configured()
        account = context.account()
        assert account.api_base == server.api_base and account.sandbox
        assert context.profile == profile / "sandbox"
        assert memory_keyring.store == {}


def test_a_new_sandbox_profile_gets_demo_templates_and_a_contact_once(tmp_path) -> None:
    """So that `/`, Ctrl+T and contact names can be tried in `bwdesk --sandbox` at once; "Ticket update" has
    variables no contact fills, which block Send until typed. Deleted, they stay deleted."""
    from bwdesk.core import paths
    from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
    from bwdesk.core.directory.template_book import Scope
    from bwdesk.core.directory.templates import fill
    from bwdesk.sandbox_profile import seed_demo_directory

    profile = tmp_path / "sandbox"
    assert seed_demo_directory(profile)
    with SqliteDirectoryStore.open(paths.history_file(profile), "Ann") as directory:
        names = [t.name for t in directory.templates()]
        assert names == ["Technician on the way", "Ticket update"]
        [ann] = directory.contacts_for(["+19195550142"]).values()
        assert (ann.name, ann.fields["first_name"]) == ("Ann Lee", "Ann")
        ticket = next(t for t in directory.templates() if t.name == "Ticket update")
        assert [v.name for v in fill(ticket.text, ann.fields).missing] == ["ticket", "ticket_url"]
        directory.remove_template("Ticket update", Scope.PERSONAL)
    assert not seed_demo_directory(profile)  # once only: what the agent deleted stays deleted
    with SqliteDirectoryStore.open(paths.history_file(profile), "Ann") as directory:
        assert [t.name for t in directory.templates()] == ["Technician on the way"]
