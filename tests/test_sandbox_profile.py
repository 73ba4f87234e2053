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
