"""The context the window runs in with `--sandbox`: the sandbox's demo account in a profile of its own.

Outside `bwdesk.core` (which never knows the sandbox) and outside `bwdesk.sandbox` (which knows no core).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bwdesk.core import paths
from bwdesk.core.account import Account, Context
from bwdesk.core.api import Timeouts
from bwdesk.core.credentials import BasicCredentials
from bwdesk.core.settings import FromNumber, LoadedSettings, Settings

if TYPE_CHECKING:
    from bwdesk.sandbox import Sandbox


def sandbox_context(sandbox: Sandbox, profile: Path | None = None) -> Context:
    """A context around a running sandbox: its demo account, a separate profile, no keyring, no BW_* variables."""
    profile = profile if profile is not None else paths.sandbox_profile_dir()
    numbers = tuple(FromNumber(n, "Sandbox") for n in sandbox.numbers)
    account = Account(
        api_base=sandbox.api_base,
        token_url=sandbox.token_url,
        account_id=sandbox.account_id,
        application_id=sandbox.application_id,
        credentials=BasicCredentials(sandbox.username, sandbox.password),
        from_numbers=numbers,
        default_from=numbers[0].number if numbers else "",
        region="US",
        timeouts=Timeouts(connect=2.0, read=30.0),
        sandbox=True,
    )
    settings = Settings(
        account_id=account.account_id,
        application_id=account.application_id,
        from_numbers=numbers,
        default_from=account.default_from,
        username=sandbox.username,
        api_base=account.api_base,
        token_url=account.token_url,
    )
    loaded = LoadedSettings(settings, (), frozenset(), Settings(), None)
    return Context(profile, loaded, {}, None, fixed_account=account)


#: Written once the demo templates and contact are in a sandbox profile, so that deleting them sticks.
DEMO_MARK = "demo-directory"
DEMO_CONTACT = ("+19195550142", "Ann Lee", {"first_name": "Ann", "company": "Lee Plumbing"})
DEMO_TEMPLATES = (
    (
        "Technician on the way",
        "Hi {first_name|there}, your technician is on the way and should arrive within the hour.",
    ),
    ("Ticket update", "Hi {first_name|there}, your ticket {ticket} has been updated: {ticket_url}"),
)


def seed_demo_directory(profile: Path) -> bool:
    """A sandbox profile's first start gets two templates and one contact to try `/`, Ctrl+T and names with
    (docs/design.md §11): "Ticket update" has variables no contact fills, which block Send until typed. Runs on
    a worker; True when it seeded."""
    from bwdesk.core.directory.contacts import make_contact
    from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
    from bwdesk.core.directory.template_book import Template

    mark = profile / DEMO_MARK
    if mark.exists():
        return False
    profile.mkdir(parents=True, exist_ok=True)
    with SqliteDirectoryStore.open(paths.history_file(profile), "Sandbox") as directory:
        number, name, fields = DEMO_CONTACT
        contact = make_contact(number, name, fields)
        directory.save_contact(contact.number, contact.name, contact.fields)
        for template_name, text in DEMO_TEMPLATES:
            directory.save_template(Template(template_name, text), replace=True)
    mark.write_text("The demo templates and contact were added once; delete this file to add them again.\n")
    return True
