"""The sandbox's demo account, its numbers and the test numbers that fail on purpose: public demo data that works
nowhere but on the sandbox (docs/design.md §11.1, §11.4)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: A recipient that acts like a landline: accepted, then FAILED with 4720 (invalid-destination-address).
LANDLINE_NUMBER = "+19195550199"
#: A recipient that has opted out (replied STOP): accepted, then FAILED with 4775 (user opt-out).
OPTED_OUT_NUMBER = "+19195550198"
#: A recipient on Bandwidth's blocklist: accepted, then FAILED with 4482 (rejected-to-number-in-blacklist).
BLOCKLISTED_NUMBER = "+19195550197"


@dataclass(frozen=True)
class TestNumber:
    """A recipient the sandbox accepts and then fails with a real Bandwidth error code."""

    __test__ = False  # not a pytest test class, despite the name

    number: str
    error_code: int
    meaning: str

    def describe(self) -> str:
        return f"{self.number} fails with {self.error_code} ({self.meaning})"


TEST_NUMBERS: tuple[TestNumber, ...] = (
    TestNumber(LANDLINE_NUMBER, 4720, "landline"),
    TestNumber(OPTED_OUT_NUMBER, 4775, "opted out"),
    TestNumber(BLOCKLISTED_NUMBER, 4482, "blocklisted"),
)


@dataclass(frozen=True)
class Identity:
    """The demo account the sandbox accepts. The numbers sit in the fictional 555-01xx range."""

    account_id: str = "9900000"
    username: str = "sandbox-user"
    password: str = field(default="sandbox-password", repr=False)
    client_id: str = "sandbox-client"
    client_secret: str = field(default="sandbox-client-secret", repr=False)
    application_id: str = "5a7d1c3e-0b2f-4e6a-9c8d-7f1e2b3a4c5d"
    numbers: tuple[str, ...] = ("+19195550100", "+19195550101", "+19195550102")
    test_numbers: tuple[TestNumber, ...] = field(default=TEST_NUMBERS)

    def failure_for(self, recipient: str) -> TestNumber | None:
        for test_number in self.test_numbers:
            if test_number.number == recipient:
                return test_number
        return None
