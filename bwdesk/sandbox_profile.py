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
