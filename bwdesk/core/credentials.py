"""The two ways to authenticate to Bandwidth. Secrets never appear in a repr, a log or an exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AuthKind(StrEnum):
    BASIC = "basic"
    OAUTH2 = "oauth2"


@dataclass(frozen=True)
class BasicCredentials:
    """An API user's username and password (HTTP Basic)."""

    username: str
    password: str = field(repr=False)

    kind = AuthKind.BASIC

    @property
    def secret(self) -> str:
        return self.password


@dataclass(frozen=True)
class OAuth2Credentials:
    """OAuth2 client-credentials: exchanged for a bearer token at the token URL."""

    client_id: str
    client_secret: str = field(repr=False)

    kind = AuthKind.OAUTH2

    @property
    def secret(self) -> str:
        return self.client_secret


Credentials = BasicCredentials | OAuth2Credentials
