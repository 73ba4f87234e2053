"""Settings: layering over system defaults with locked keys, damaged files kept aside, atomic save, validation."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bwdesk.core import settings as settings_module
from bwdesk.core.bandwidth import DEFAULT_API_BASE
from bwdesk.core.credentials import AuthKind
from bwdesk.core.errors import ConfigError
from bwdesk.core.paths import settings_file, system_settings_file
from bwdesk.core.settings import (
    FromNumber,
    Settings,
    SettingsError,
    load_settings,
    normalized,
    save_settings,
    validate_settings,
)

FULL = Settings(
    account_id="9900000",
    application_id="5a7d1c3e-0b2f-4e6a-9c8d-7f1e2b3a4c5d",
    from_numbers=(FromNumber("+19195550100", "Support line"), FromNumber("+19195550101")),
    default_from="+19195550100",
    region="CA",
    auth_kind=AuthKind.OAUTH2,
    username="",
    client_id="sandbox-client",
    api_base="http://127.0.0.1:8080/api/v2",
    token_url="http://127.0.0.1:8080/api/v1/oauth2/token",
    connect_timeout=2.5,
    read_timeout=12,
    retention_days=365,
    confirm_segments_above=25,
)


def write_system(data: object) -> Path:
    path = system_settings_file()  # the test profile's BWDESK_SYSTEM_SETTINGS
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_nothing_saved_gives_the_built_in_defaults(profile: Path) -> None:
    loaded = load_settings(profile)
    assert loaded.settings == Settings()
    assert loaded.settings.api_base == DEFAULT_API_BASE
    assert loaded.warnings == () and loaded.locked == frozenset()
    assert loaded.path == settings_file(profile)


def test_save_then_load_round_trips_every_field(profile: Path) -> None:
    saved = save_settings(FULL, profile)
    assert saved.settings == FULL
    assert load_settings(profile).settings == FULL
    path = settings_file(profile)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert data["from_numbers"] == [
        {"number": "+19195550100", "label": "Support line"},
        {"number": "+19195550101", "label": ""},
    ]
    assert "username" not in data  # equal to the default: not written, so a later default still applies


def test_values_are_normalised_on_save(profile: Path) -> None:
    typed = Settings(
        from_numbers=(
            FromNumber(" (919) 555-0100 ", "Desk"),
            FromNumber("+1 919 555 0100"),
            FromNumber("ACME"),
        ),
        default_from="919.555.0100",
        region="us",
        api_base="https://messaging.bandwidth.com/api/v2/",
    )
    result = save_settings(typed, profile).settings
    assert result.from_numbers == (FromNumber("+19195550100", "Desk"), FromNumber("ACME"))
    assert result.default_from == "+19195550100"
    assert result.region == "US"
    assert result.api_base == "https://messaging.bandwidth.com/api/v2"


def test_system_defaults_apply_and_the_user_overrides_them(profile: Path) -> None:
    write_system({"defaults": {"region": "GB", "read_timeout": 60, "account_id": "1234567"}})
    assert load_settings(profile).settings.region == "GB"
    save_settings(Settings(region="GB", read_timeout=10, account_id="1234567"), profile)
    loaded = load_settings(profile)
    assert (loaded.settings.region, loaded.settings.read_timeout) == ("GB", 10)
    assert loaded.defaults.read_timeout == 60
    # Only what differs from the layered defaults was written: IT can still move the region later.
    assert set(json.loads(settings_file(profile).read_text())) == {"version", "read_timeout"}
    write_system({"defaults": {"region": "IE"}})
    assert load_settings(profile).settings.region == "IE"


def test_locked_keys_ignore_the_user_value_and_say_so(profile: Path, expect_log) -> None:
    expect_log("set by your administrator")
    settings_file(profile).write_text(
        json.dumps({"api_base": "https://proxy.example.com/bw", "region": "CA"})
    )
    write_system(
        {"defaults": {"api_base": "https://gateway.example.com/v2"}, "locked": ["api_base", "token_url"]}
    )
    loaded = load_settings(profile)
    assert loaded.settings.api_base == "https://gateway.example.com/v2"
    assert loaded.settings.region == "CA"
    assert loaded.locked == {"api_base", "token_url"}
    assert any("API base URL is set by your administrator" in w for w in loaded.warnings)

    # Saving never writes a locked key, so the warning goes away.
    save_settings(replace_api(loaded.settings, "https://elsewhere.example.com"), profile)
    assert "api_base" not in json.loads(settings_file(profile).read_text())
    again = load_settings(profile)
    assert again.settings.api_base == "https://gateway.example.com/v2" and again.warnings == ()


def replace_api(settings: Settings, url: str) -> Settings:
    from dataclasses import replace

    return replace(settings, api_base=url)


def test_a_locked_key_without_a_default_locks_the_built_in_one(profile: Path, expect_log) -> None:
    expect_log("set by your administrator")
    settings_file(profile).write_text(json.dumps({"token_url": "https://other.example.com/token"}))
    write_system({"locked": ["token_url"]})
    assert load_settings(profile).settings.token_url == Settings().token_url


def test_a_damaged_user_file_is_kept_aside_and_defaults_are_used(profile: Path, expect_log) -> None:
    expect_log("could not be read")
    path = settings_file(profile)
    path.write_text('{"account_id": "99', encoding="utf-8")
    loaded = load_settings(profile)
    assert loaded.settings == Settings()
    assert len(loaded.warnings) == 1 and "defaults are used" in loaded.warnings[0]
    assert not path.exists()
    (aside,) = profile.glob("settings.json.corrupt-*")
    assert aside.read_text(encoding="utf-8") == '{"account_id": "99'  # kept, byte for byte
    assert aside.name in loaded.warnings[0]
    # The next load is clean, and saving works again.
    assert load_settings(profile).warnings == ()
    save_settings(FULL, profile)
    assert load_settings(profile).settings == FULL


@pytest.mark.parametrize("content", ["[1, 2]", "null", "\xff\xfe not utf-8"])
def test_other_damage_is_handled_the_same_way(profile: Path, expect_log, content: str) -> None:
    expect_log("could not be read")
    settings_file(profile).write_bytes(content.encode("latin-1"))
    loaded = load_settings(profile)
    assert loaded.settings == Settings() and len(loaded.warnings) == 1
    assert len(list(profile.glob("settings.json.corrupt-*"))) == 1


def test_an_unreadable_user_file_is_kept_aside(profile: Path, expect_log) -> None:
    expect_log("could not be read")
    settings_file(profile).mkdir()  # reading it fails with an OSError, whoever runs the test
    loaded = load_settings(profile)
    assert loaded.settings == Settings() and "could not be read" in loaded.warnings[0]
    assert [p.is_dir() for p in profile.glob("settings.json.corrupt-*")] == [True]


def test_one_bad_value_falls_back_alone_with_a_warning_naming_it(profile: Path, expect_log) -> None:
    expect_log("Read timeout", "Default region")
    settings_file(profile).write_text(
        json.dumps({"read_timeout": -5, "region": "XX", "account_id": "9900000"})
    )
    loaded = load_settings(profile)
    assert loaded.settings.account_id == "9900000"
    assert loaded.settings.read_timeout == Settings().read_timeout
    assert loaded.settings.region == "US"
    assert any(
        w.startswith("Your settings: Read timeout: must be more than 0 seconds") for w in loaded.warnings
    )
    assert any("Default region: 'XX' is not a two-letter country code" in w for w in loaded.warnings)
    assert settings_file(profile).exists()  # a readable file with one bad value is not moved


def test_a_broken_system_file_is_ignored_with_a_warning(profile: Path, expect_log) -> None:
    expect_log("System settings")
    write_system("{not json")
    loaded = load_settings(profile)
    assert loaded.settings == Settings() and "not valid JSON" in loaded.warnings[0]
    write_system({"defaults": {"regoin": "GB", "read_timeout": "slow"}, "locked": "api_base", "extra": 1})
    warnings = load_settings(profile).warnings
    assert any("unknown setting 'regoin'" in w for w in warnings)
    assert any("Read timeout: must be a number of seconds" in w for w in warnings)
    assert any('"locked" must be a list' in w for w in warnings)
    assert any("unknown entry 'extra'" in w for w in warnings)


def test_unknown_keys_from_a_newer_version_survive_a_save(profile: Path, expect_log) -> None:
    expect_log("newer bwdesk")
    settings_file(profile).write_text(json.dumps({"version": 7, "theme": "dark", "account_id": "9900000"}))
    loaded = load_settings(profile)
    assert loaded.settings.account_id == "9900000" and "newer bwdesk" in loaded.warnings[0]
    save_settings(loaded.settings, profile)
    data = json.loads(settings_file(profile).read_text())
    assert data["theme"] == "dark" and data["version"] == 1


def test_save_is_atomic(profile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_settings(FULL, profile)
    before = settings_file(profile).read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(settings_module.os, "replace", crash)
    with pytest.raises(ConfigError, match=r"Could not save the settings.*No space left on device"):
        save_settings(Settings(account_id="1111111"), profile)
    monkeypatch.undo()
    assert settings_file(profile).read_bytes() == before
    assert sorted(p.name for p in profile.iterdir()) == ["settings.json"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"region": "XX"}, "region", "'XX' is not a two-letter country code"),
        ({"api_base": "ftp://example.com/api"}, "api_base", "is not an http(s) URL"),
        ({"api_base": "http://example.com/api"}, "api_base", "plain http to another machine"),
        (
            {"token_url": "https://user:pw@example.com/t"},
            "token_url",
            "must not contain a user name or password",
        ),
        ({"connect_timeout": -1}, "connect_timeout", "must be more than 0 seconds"),
        ({"read_timeout": 0}, "read_timeout", "must be more than 0 seconds"),
        ({"read_timeout": 10_000}, "read_timeout", "at most 600 seconds"),
        ({"read_timeout": True}, "read_timeout", "must be a number of seconds"),
        ({"connect_timeout": float("nan")}, "connect_timeout", "must be more than 0 seconds"),
        ({"retention_days": 0}, "retention_days", "between 1 and"),
        ({"retention_days": 1.5}, "retention_days", "whole number of days"),
        ({"confirm_segments_above": 0}, "confirm_segments_above", "between 1 and"),
        ({"confirm_segments_above": "10"}, "confirm_segments_above", "whole number of segments"),
        ({"account_id": "acct-1"}, "account_id", "digits only"),
        ({"application_id": "has space"}, "application_id", "must not contain spaces"),
        ({"username": "a:b"}, "username", "cannot contain ':'"),
        ({"client_id": "line\nbreak"}, "client_id", "control characters"),
        ({"auth_kind": "digest"}, "auth_kind", "'basic' or 'oauth2'"),
        (
            {"from_numbers": (FromNumber("12345"),)},
            "from_numbers",
            "entry 1 ('12345'): \"12345\" cannot be used",
        ),
        ({"from_numbers": (FromNumber("BAD!!"),)}, "from_numbers", "a sender ID may only use"),
        (
            {"from_numbers": (FromNumber("+19195550100"),), "default_from": "+19195550199"},
            "default_from",
            "not one of the From numbers",
        ),
    ],
)
def test_bad_values_are_refused_with_field_specific_messages(
    profile: Path, changes: dict[str, object], field: str, message: str
) -> None:
    from dataclasses import replace

    bad = replace(Settings(), **changes)  # type: ignore[arg-type]
    problems = validate_settings(bad)
    assert [p.field for p in problems] == [field]
    assert message in problems[0].message
    with pytest.raises(SettingsError) as caught:
        save_settings(bad, profile)
    assert caught.value.problems == problems
    assert str(caught.value).startswith(settings_module.LABELS[field] + ": ")
    assert not settings_file(profile).exists()


def test_several_problems_are_all_reported() -> None:
    from dataclasses import replace

    problems = validate_settings(replace(Settings(), region="XX", read_timeout=-1, account_id="x"))
    assert [p.field for p in problems] == ["account_id", "region", "read_timeout"]


def test_normalized_and_helpers() -> None:
    settings = normalized(Settings(from_numbers=(FromNumber("919 555 0100", "Desk"),), username="alice"))
    assert settings.from_numbers == (FromNumber("+19195550100", "Desk"),)
    assert settings.label_for("+19195550100") == "Desk" and settings.label_for("+1") == ""
    assert settings.credential_id == "alice"
    assert settings.timeouts.as_tuple() == (5.0, 30.0)
    assert settings.to_json()["auth_kind"] == "basic"
    assert settings.to_json()["from_numbers"] == [{"number": "+19195550100", "label": "Desk"}]


def test_it_can_lock_the_segment_limit_that_asks_before_costly_sends(profile: Path, expect_log) -> None:
    """The limit is a setting like the others: IT may set it for everybody and lock it."""
    assert load_settings(profile).settings.confirm_segments_above == 10
    expect_log("set by your administrator")
    settings_file(profile).write_text(json.dumps({"confirm_segments_above": 500}))
    write_system({"defaults": {"confirm_segments_above": 4}, "locked": ["confirm_segments_above"]})
    loaded = load_settings(profile)
    assert loaded.settings.confirm_segments_above == 4 and "confirm_segments_above" in loaded.locked


def test_it_templates_come_from_the_system_file_locked_and_checked(profile: Path, expect_log) -> None:
    from bwdesk.core.directory.template_book import Scope

    expect_log("System settings")
    write_system(
        {
            "templates": [
                {"name": "On the way", "text": "Hi {first_name|there}, your technician is on the way."},
                {"name": "Broken", "text": "Hi {first name}"},
                {"name": "Photo", "media": ["https://example.com/part.png"], "tag": "PARTS"},
            ]
        }
    )
    loaded = load_settings(profile)
    assert [(t.name, t.scope) for t in loaded.templates] == [
        ("On the way", Scope.LOCKED),
        ("Photo", Scope.LOCKED),
    ]
    assert loaded.templates[1].media == ("https://example.com/part.png",)
    assert len(loaded.warnings) == 1
    assert loaded.warnings[0].endswith(
        "\"templates\": template 2 ('Broken'): text: {first name} at position 4 is not a variable: a variable's "
        "name is one word of letters, digits and _ (for example {first_name}), with an optional fallback after | "
        "({first_name|there}); ignoring it."
    )
    write_system({"templates": {"name": "not a list"}})
    assert load_settings(profile).templates == ()
    assert "expected a JSON array of templates" in load_settings(profile).warnings[0]
