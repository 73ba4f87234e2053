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
    with pytest.raises(ConfigError, match="the client secret of OAuth2 client “it-client”"):
        resolve_account(settings, env, None, locked=locked)


# --- a saved username whose secret is not here -------------------------------------------------------------


def test_without_a_keyring_a_saved_username_is_not_called_missing_the_password_is_asked_for_again(
    profile, monkeypatch
) -> None:
    """After a restart on a machine without a keyring, the session-only password is gone: say that plainly."""
    from keyring.backends import fail

    monkeypatch.setattr(secrets, "_default", secrets.SecretStore(fail.Keyring()))
    save_settings(Settings(account_id="9900000", application_id="app", username="api-user"), profile)
    with pytest.raises(ConfigError) as caught:
        load_context(env={}).account()
    message = str(caught.value)
    assert message.startswith("Enter the password of API user “api-user” again (Settings → Password")
    assert "saved for this session only" in message and "BW_PASSWORD" in message
    assert "username" not in message and "missing" not in message


def test_with_a_keyring_a_saved_username_whose_password_is_not_there_asks_for_the_password_only(
    profile, memory_keyring
) -> None:
    save_settings(
        Settings(account_id="9900000", application_id="app", auth_kind=AuthKind.OAUTH2, client_id="cid-7"),
        profile,
    )
    with pytest.raises(ConfigError) as caught:
        load_context(env={}).account()
    assert str(caught.value) == (
        "Enter the client secret of OAuth2 client “cid-7” (Settings → Client secret, or set BW_CLIENT_SECRET): "
        "it is not saved in your keyring."
    )


def test_with_other_things_missing_too_the_list_names_the_saved_username(profile, memory_keyring) -> None:
    save_settings(Settings(account_id="9900000", username="api-user"), profile)
    with pytest.raises(ConfigError) as caught:
        load_context(env={}).account()
    message = str(caught.value)
    assert "the application ID" in message
    assert "the password of API user “api-user” (Settings, or BW_PASSWORD)" in message
    assert "username and password" not in message


def test_a_keyring_that_cannot_say_whether_it_is_there_still_gets_the_password_asked_for() -> None:
    def broken() -> bool:
        raise RuntimeError("D-Bus went away")

    settings = Settings(account_id="1", application_id="a", username="u1")
    with pytest.raises(ConfigError) as caught:
        resolve_account(settings, {}, lambda _account: None, keyring_available=broken)
    assert str(caught.value).startswith("Enter the password of API user “u1” (Settings → Password")
    assert str(caught.value).endswith("it is not saved on this computer.")


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        (Settings(), "account_id"),
        (Settings(account_id="1"), "application_id"),
        (Settings(account_id="1", application_id="a"), "username"),
        (Settings(account_id="1", application_id="a", username="api-user"), "password"),
        (Settings(account_id="1", application_id="a", auth_kind=AuthKind.OAUTH2), "client_id"),
        (
            Settings(account_id="1", application_id="a", auth_kind=AuthKind.OAUTH2, client_id="c"),
            "client_secret",
        ),
        (Settings(account_id="1", application_id="a", api_base="ftp://x"), "api_base"),
    ],
)
def test_what_is_missing_names_the_settings_field_to_open(settings: Settings, setting: str) -> None:
    """The window opens the settings at the first thing to fix."""
    with pytest.raises(ConfigError) as raised:
        resolve_account(settings, {}, lambda _account: None, keyring_available=lambda: True)
    assert raised.value.setting == setting
