"""Contacts: a name and fields per number, matched as a name is typed (`ContactIndex`), and the values they give a
template (docs/design.md §17.5)."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bwdesk.core.directory.words import Lines, fold, split_folded, words

MAX_NAME_LENGTH = 100
MAX_VALUE_LENGTH = 500
MAX_FIELDS = 30
#: Field keys, as template variables name them.
FIELD_KEY = re.compile(r"[a-z_][a-z0-9_]{0,39}")
#: Keys a field cannot have: the contact's own parts.
RESERVED_KEYS = frozenset({"name", "number"})


def field_key(raw: str) -> str:
    """A column heading or a typed key as a field key: `First name` and `first-name` are `first_name`."""
    return re.sub(r"[\s\-.]+", "_", raw.strip()).lower()


def clean_value(value: str) -> str:
    """A name or field value as kept: one line, runs of whitespace made one space."""
    return " ".join(value.split())


@dataclass(frozen=True)
class Contact:
    """A number (E.164) and who it is."""

    number: str
    name: str
    fields: Mapping[str, str] = field(default_factory=dict)
    updated: str | None = None  # RFC 3339 UTC, stamped by the store
    by: str | None = None  # the agent who saved it last

    def variables(self) -> dict[str, str]:
        """What this contact gives a template: its fields and `name`."""
        return {**self.fields, "name": self.name}

    def to_json(self) -> dict[str, Any]:
        """The object `contacts list --json` prints."""
        return {
            "number": self.number,
            "name": self.name,
            "fields": dict(self.fields),
            "updated": self.updated,
            "by": self.by,
        }


def contact_problems(name: str, fields: Mapping[str, str]) -> list[str]:
    """What keeps a name and fields from being saved, in words naming the part."""
    problems: list[str] = []
    if not clean_value(name):
        problems.append("name: a contact needs a name")
    elif len(clean_value(name)) > MAX_NAME_LENGTH:
        problems.append(f"name: at most {MAX_NAME_LENGTH} characters")
    if len(fields) > MAX_FIELDS:
        problems.append(f"fields: at most {MAX_FIELDS} per contact")
    for key, value in fields.items():
        if key in RESERVED_KEYS:
            problems.append(f"field {key!r}: '{key}' is the contact's own; use another key")
        elif not FIELD_KEY.fullmatch(key):
            problems.append(
                f"field {key!r}: a key is letters, digits and _ (at most 40), as a template's variable "
                "names it (for example first_name)"
            )
        elif len(clean_value(value)) > MAX_VALUE_LENGTH:
            problems.append(f"field {key!r}: at most {MAX_VALUE_LENGTH} characters")
    for part in (name, *fields.values()):
        if any((ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F for c in part):
            problems.append("control characters cannot be kept (only text)")
            break
    return problems


def make_contact(number: str, name: str, fields: Mapping[str, str]) -> Contact:
    """A contact with its name and fields cleaned (`contact_problems` first); empty fields are dropped."""
    cleaned = {field_key(k): clean_value(v) for k, v in fields.items() if clean_value(v)}
    return Contact(number, clean_value(name), dict(sorted(cleaned.items())))


# --- template values ---------------------------------------------------------------------------------------


def values_for(contact: Contact | None, explicit: Mapping[str, str]) -> dict[str, str]:
    """What fills a message to one person: their contact's variables, with explicit values winning."""
    return {**(contact.variables() if contact else {}), **explicit}


def shared_values(contacts: Sequence[Contact | None], explicit: Mapping[str, str]) -> dict[str, str]:
    """What fills one group message: only what every recipient's contact has with the same value (a group
    sees one text), with explicit values winning. A recipient with no contact shares nothing."""
    shared: dict[str, str] | None = None
    for contact in contacts:
        mine = contact.variables() if contact else {}
        shared = dict(mine) if shared is None else {k: v for k, v in shared.items() if mine.get(k) == v}
    return {**(shared or {}), **explicit}


# --- matching as a name is typed ------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d")
_NUMBER_TYPING = re.compile(r"[\d\s+()\-./]+")


class ContactIndex:
    """Contacts matched as they are typed, for autocomplete: a name from the start of any of its words, case
    and accents aside ("ann" finds Ann Lee, "lee a" too); or three or more digits found in the number.

    Built once (on a worker) from all contacts; `match` then costs a binary search per typed word and a pass
    over the contacts having the rarest of them, so it can run per keystroke on 100,000 contacts.
    """

    def __init__(self, contacts: Iterable[Contact]) -> None:
        keyed = sorted(((fold(c.name), c.number), c) for c in contacts)
        self._contacts = [contact for _, contact in keyed]
        folded_words = [split_folded(key[0]) for key, _ in keyed]
        self._starts = [" " + " ".join(ws) for ws in folded_words]
        pairs = sorted((word, i) for i, ws in enumerate(folded_words) for word in set(ws))
        self._keys = [word for word, _ in pairs]
        self._owners = [i for _, i in pairs]
        self._digits = Lines(c.number.lstrip("+") for c in self._contacts)

    def __len__(self) -> int:
        return len(self._contacts)

    def all(self) -> list[Contact]:
        """Every contact, by name."""
        return list(self._contacts)

    def match(self, typed: str, limit: int = 10) -> list[Contact]:
        """Contacts whose name or number fits what was typed, by name."""
        typed = typed.strip()
        if not typed:
            return []
        if _NUMBER_TYPING.fullmatch(typed):
            digits = "".join(_DIGITS.findall(typed))
            return self._by_digits(digits, limit) if len(digits) >= 3 else []
        query = words(typed)
        if not query:
            return []
        # The contacts having a word that starts with the rarest typed word; the other words checked on each.
        ranges = [self._range(word) for word in query]
        rarest = min(range(len(query)), key=lambda n: ranges[n][1] - ranges[n][0])
        low, high = ranges[rarest]
        candidates: Iterable[int] = set(self._owners[low:high])
        for word in query[:rarest] + query[rarest + 1 :]:
            needle = f" {word}"
            candidates = [i for i in candidates if needle in self._starts[i]]
        return [self._contacts[i] for i in sorted(candidates)[:limit]]  # sorted by name already

    def _range(self, prefix: str) -> tuple[int, int]:
        low = bisect.bisect_left(self._keys, prefix)
        high = bisect.bisect_left(self._keys, prefix + "\U0010ffff", low)
        return low, high

    def _by_digits(self, digits: str, limit: int) -> list[Contact]:
        return [self._contacts[i] for i in itertools.islice(self._digits.containing(digits), limit)]
