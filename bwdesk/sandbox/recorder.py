"""Every request the sandbox's API received, so that a test can assert "exactly one POST arrived"; credentials never
enter it, and the server's threads share it under a lock (docs/design.md §11.6)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

REDACTED = "[redacted]"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def redact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict (repeated ones joined with ", "), with credentials replaced."""
    result: dict[str, str] = {}
    for name, value in headers:
        if name.lower() in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
            value = f"{scheme} {REDACTED}" if scheme else REDACTED
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


@dataclass(frozen=True)
class RecordedRequest:
    seq: int  # 1, 2, 3… in order of arrival
    time: str  # RFC 3339, by the sandbox's clock
    method: str
    path: str  # without the query string, as sent (percent-encoding kept)
    query: dict[str, list[str]]
    headers: dict[str, str]  # Authorization redacted
    json: Any  # the parsed JSON body, or None if there was none or it was not JSON
    body_size: int
    status: int | None = None  # the HTTP status answered; None if the connection was dropped
    fault: str | None = None  # the kind of fault injected into this request, if any

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Thread-safe, append-only (until cleared) list of RecordedRequest.

    A sandbox left running for days keeps only the newest `max_entries`; `seq` keeps counting regardless.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []
        self._next_seq = 1
        self._max_entries = max_entries

    def record(self, **fields: Any) -> int:
        """Append a request as it arrives; returns its seq for `settle`."""
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            self._entries.append(RecordedRequest(seq=seq, **fields))
            if len(self._entries) > self._max_entries:
                del self._entries[: len(self._entries) - self._max_entries]
            return seq

    def settle(self, seq: int, *, status: int | None, fault: str | None = None) -> None:
        with self._lock:
            for index in range(len(self._entries) - 1, -1, -1):
                entry = self._entries[index]
                if entry.seq == seq:
                    self._entries[index] = replace(entry, status=status, fault=fault)
                    return

    def all(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def matching(self, method: str | None = None, path_suffix: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.all()
            if (method is None or r.method == method.upper())
            and (path_suffix is None or r.path.endswith(path_suffix))
        ]

    def count(self, method: str | None = None, path_suffix: str | None = None) -> int:
        return len(self.matching(method, path_suffix))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.all())

    def __getitem__(self, index: int) -> RecordedRequest:
        return self.all()[index]
