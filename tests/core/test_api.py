"""The API's fixed rules that do not need the HTTP stack: URLs that would leak credentials are refused."""

from __future__ import annotations

import pytest

from bwdesk.core.api import check_api_url
from bwdesk.core.errors import ConfigError


@pytest.mark.parametrize(
    "url",
    [
        "https://[",  # broken IPv6 literal
        "https://messaging.bandwidth.com:443x/api/v2",  # port that is not a number
        "https://messaging.bandwidth.com:99999/api/v2",  # port out of range
        "http://messaging.bandwidth.com/api/v2",  # plain http to another machine
        "ftp://example.com",
        "https://user:pw@example.com/api",
        "https://example.com/api?x=1",
        "garbage",
    ],
)
def test_unusable_urls_are_configuration_errors_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="API base URL"):
        check_api_url(url, "API base URL")


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://messaging.bandwidth.com/api/v2/", "https://messaging.bandwidth.com/api/v2"),
        ("http://127.0.0.1:8080/api/v2", "http://127.0.0.1:8080/api/v2"),
        ("http://localhost/api/v2", "http://localhost/api/v2"),
        ("http://[::1]:9/api/v2", "http://[::1]:9/api/v2"),
    ],
)
def test_usable_urls_are_kept(url: str, kept: str) -> None:
    assert check_api_url(url, "API base URL") == kept
