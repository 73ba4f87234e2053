"""The effective account: environment over saved settings, credentials from the environment or keyring."""

from __future__ import annotations

import pytest

from bwdesk.core import secrets
from bwdesk.core.account import apply_environment, load_context, resolve_account
from bwdesk.core.credentials import AuthKind, BasicCredentials, OAuth2Credentials
from bwdesk.core.errors import ConfigError
from bwdesk.core.settings import FromNumber, Settings, save_settings

ENV = {
    "BW_ACCOUNT_ID": "9900001",
    "BW_USERNAME": "api-user",
    "BW_PASSWORD": "pw-from-env",
    "BW_MESSAGING_APPLICATION_ID": "app-env",
    "BW_NUMBER": "+19195550100",
    "BWDESK_API_BASE": "http://127.0.0.1:9/api/v2/",
}


def test_environment_overrides_saved_settings() -> None:
    saved = Settings(
        account_id="1",
        application_id="app-saved",
        region="US",
        from_numbers=(FromNumber("+19195550111", "Desk"),),
    )
    effective = apply_environment(saved, ENV | {"BWDESK_REGION": "gb"})
    assert effective.account_id == "9900001"
    assert effective.application_id == "app-env"
    assert effective.api_base == "http://127.0.0.1:9/api/v2"
    assert effective.region == "GB"
    assert effective.default_from == "+19195550100"
    assert [f.number for f in effective.from_numbers] == ["+19195550100", "+19195550111"]
    assert effective.auth_kind is AuthKind.BASIC and effective.username == "api-user"


def test_credentials_from_environment_win_over_the_keyring(memory_keyring) -> None:
    secrets.save("9900001", BasicCredentials("stored", "pw-stored"))
    account = resolve_account(Settings(), ENV, secrets.load)
    assert account.credentials == BasicCredentials("api-user", "pw-from-env")


def test_credentials_from_the_keyring_when_the_environment_has_none(memory_keyring) -> None:
    secrets.save("42", OAuth2Credentials("cid", "csecret"))
    settings = Settings(account_id="42", application_id="app", auth_kind=AuthKind.OAUTH2, client_id="cid")
    account = resolve_account(settings, {}, secrets.load)
    assert account.credentials == OAuth2Credentials("cid", "csecret")
    assert account.application_id == "app"


def test_missing_configuration_names_everything_missing_and_where_to_set_it() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_account(Settings(), {}, secrets.load)
    message = str(caught.value)
    for part in ("account ID", "BW_ACCOUNT_ID", "application ID", "BW_MESSAGING_APPLICATION_ID", "password"):
        assert part in message


def test_half_a_credential_pair_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="BW_PASSWORD"):
        resolve_account(Settings(account_id="1", application_id="a"), {"BW_USERNAME": "u"}, None)


def test_repr_of_an_account_never_shows_the_secret() -> None:
    account = resolve_account(Settings(), ENV, None)
    assert "pw-from-env" not in repr(account)


def test_load_context_reads_the_profile_settings(profile) -> None:
    save_settings(Settings(account_id="77", application_id="app-77"), profile)
    context = load_context(env={})
    assert context.is_configured()
    assert context.settings.account_id == "77"


def test_environment_cannot_extend_a_locked_list_of_numbers_or_switch_a_locked_sign_in() -> None:
    from bwdesk.core.account import apply_environment, ignored_variables

    settings = Settings(
        account_id="1",
        application_id="a",
        from_numbers=(FromNumber("+19195550100", "Desk"),),
        auth_kind=AuthKind.OAUTH2,
        client_id="it-client",
    )
    locked = frozenset({"from_numbers", "auth_kind"})
    env = {"BW_NUMBER": "+19195550199", "BW_USERNAME": "me", "BW_PASSWORD": "pw"}
    effective = apply_environment(settings, env, locked)
    assert [f.number for f in effective.from_numbers] == ["+19195550100"]
    assert effective.default_from == "" and effective.auth_kind is AuthKind.OAUTH2
    assert set(ignored_variables(env, locked, settings)) == {"BW_NUMBER", "BW_USERNAME", "BW_PASSWORD"}
    with pytest.raises(ConfigError, match="client ID and secret"):
        resolve_account(settings, env, None, locked=locked)
