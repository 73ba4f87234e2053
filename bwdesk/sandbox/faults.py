"""Faults the sandbox can be told to produce, so that a client's handling of a bad network or a bad day is testable
(docs/design.md §11.5)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    DELAY = "delay"  # wait `delay` seconds, then answer normally (a slow reply; the client's read timeout)
    DROP = "drop"  # read the request, then close the connection without answering
    QUEUE_FULL = "queue_full"  # 429 max-message-queue-size-exceeded; Retry-After only if `retry_after` is set
    RATE_LIMIT = "rate_limit"  # 429 rate_limit_exceeded with Retry-After (the list endpoint's limit)
    SERVER_ERROR = "server_error"  # 5xx (`status`, default 500) with a Bandwidth-shaped JSON body
    HTML_502 = "html_502"  # 502 with an HTML page, as a proxy or load balancer sends it
    MALFORMED = "malformed"  # `status` (default 202) with Content-Type JSON and a body that is not JSON
    # 400 request-validation with `field_errors`: a server-side rule the client could not know in advance
    REJECT = "reject"
    # 400 rejected-to-number-in-blacklist: the recipient is on Bandwidth's blocklist (error 4482), said at once
    BLOCKLISTED = "blocklisted"


_DEFAULT_STATUS = {
    FaultKind.QUEUE_FULL: 429,
    FaultKind.RATE_LIMIT: 429,
    FaultKind.SERVER_ERROR: 500,
    FaultKind.HTML_502: 502,
    FaultKind.MALFORMED: 202,
    FaultKind.REJECT: 400,
    FaultKind.BLOCKLISTED: 400,
}


@dataclass(frozen=True)
class Fault:
    """One fault to inject. `method`/`path_suffix` None match any request (control endpoints never match)."""

    kind: FaultKind | str
    times: int | None = 1
    method: str | None = "POST"
    path_suffix: str | None = "/messages"
    delay: float = 0.0  # seconds to wait before acting (any kind; the whole point of DELAY)
    retry_after: int | str | None = None  # the Retry-After header value, for the 429 kinds
    status: int | None = None  # overrides the kind's HTTP status
    field_errors: tuple[tuple[str, str], ...] = ()  # (fieldName, description) pairs, for REJECT

    def __post_init__(self) -> None:
        try:
            kind = FaultKind(self.kind)
        except ValueError:
            known = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of: {known}") from None
        object.__setattr__(self, "kind", kind)
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())
        if self.times is not None and (isinstance(self.times, bool) or self.times < 1):
            raise ValueError("'times' must be a positive whole number, or None for every matching request")
        if self.delay < 0:
            raise ValueError("'delay' must not be negative")
        if kind is FaultKind.DELAY and self.delay <= 0:
            raise ValueError("a 'delay' fault needs a 'delay' in seconds greater than 0")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("'status' must be an HTTP status code")
        if kind is FaultKind.RATE_LIMIT and self.retry_after is None:
            object.__setattr__(self, "retry_after", 300)
        pairs = tuple((str(name), str(text)) for name, text in self.field_errors)
        object.__setattr__(self, "field_errors", pairs)

    @property
    def http_status(self) -> int | None:
        return self.status or _DEFAULT_STATUS.get(FaultKind(self.kind))

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_suffix is None or path.endswith(self.path_suffix)
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        data["field_errors"] = [{"fieldName": n, "description": d} for n, d in self.field_errors]
        return data

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """Build a fault from a control request's JSON; ValueError with a readable reason if it is wrong."""
        if not isinstance(data, dict):
            raise ValueError('send a JSON object such as {"kind": "drop"}')
        fields = {"kind", "times", "method", "path_suffix", "delay", "retry_after", "status", "field_errors"}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ValueError("a fault needs a 'kind'")
        checks: dict[str, tuple[type, ...]] = {
            "kind": (str,),
            "times": (int, type(None)),
            "method": (str, type(None)),
            "path_suffix": (str, type(None)),
            "delay": (int, float),
            "retry_after": (int, str, type(None)),
            "status": (int, type(None)),
            "field_errors": (list,),
        }
        for name, types in checks.items():
            if name in data and (not isinstance(data[name], types) or isinstance(data[name], bool)):
                raise ValueError(f"fault field '{name}' has the wrong type")
        if "field_errors" in data:
            errors = data["field_errors"]
            if not all(isinstance(e, dict) and {"fieldName", "description"} <= e.keys() for e in errors):
                raise ValueError('field_errors is a list of {"fieldName": ..., "description": ...} objects')
            data = {**data, "field_errors": tuple((e["fieldName"], e["description"]) for e in errors)}
        return cls(**data)


class FaultQueue:
    """The pending faults, consumed in the order they were injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[list[Any]] = []  # [fault, remaining or None]

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._pending.append([fault, fault.times])
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first pending fault that matches, counting it as used."""
        with self._lock:
            for entry in self._pending:
                fault, remaining = entry
                if fault.matches(method, path):
                    if remaining is not None:
                        entry[1] = remaining - 1
                        if entry[1] == 0:
                            self._pending.remove(entry)
                    return fault  # type: ignore[no-any-return]
            return None

    def pending(self) -> list[Fault]:
        """The faults still to fire, each with `times` set to what remains of it."""
        with self._lock:
            return [replace(fault, times=remaining) for fault, remaining in self._pending]

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
