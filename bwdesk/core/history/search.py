"""What a history search means: `HistoryQuery`, typed search text, and its FTS5 form that cannot fail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bwdesk.core.outcome import SendState
from bwdesk.core.phone import parse_number


@dataclass(frozen=True)
class HistoryQuery:
    """What to look for. All given filters must hold; an empty query matches every row.

    `text`: words typed by a person, matched as whole words (case- and accent-insensitive) in the text
    or the tag; `"quoted words"` are a phrase, a trailing `*` makes a prefix (`techn*`); FTS syntax is
    never interpreted. `number`: a recipient, in any format (normalised with `region`).
    `since`/`until`: creation time, `since <= created < until`.
    """

    text: str = ""
    number: str | None = None
    state: SendState | None = None
    since: datetime | None = None
    until: datetime | None = None
    region: str | None = None

    @classmethod
    def from_text(cls, text: str, region: str | None = None) -> HistoryQuery:
        """What a search box typed means: a full phone number searches that recipient, anything else words."""
        number = number_in_query(text, region)
        if number is not None:
            return cls(number=number, region=region)
        return cls(text=text, region=region)


def number_in_query(text: str, region: str | None) -> str | None:
    """E.164 if `text` is one complete phone number (not a 4-digit ticket, not the last 7 digits)."""
    stripped = text.strip()
    if not re.fullmatch(r"\+?[\d\s().\-/]+", stripped) or sum(c.isdigit() for c in stripped) < 8:
        return None
    return normalise_number(stripped, region)


def normalise_number(text: str, region: str | None) -> str | None:
    """A recipient typed in any format as E.164, or None when it is not a valid number."""
    parsed = parse_number(text, region)
    return parsed.e164 if parsed.ok else None


_TERM = re.compile(r'"([^"]*)"|(\S+)')


def fts_query(text: str) -> str | None:
    """Turn typed words into an FTS5 query that cannot be a syntax error; None when nothing is searchable.

    Every term becomes a quoted FTS5 string (so `AND`, `NEAR`, `-`, `:`, `(`, `^` are plain words), terms are
    AND-ed, and terms with no letter or digit are dropped (the tokenizer would drop them anyway).
    """
    terms: list[str] = []
    text = text.replace("\x00", " ")  # FTS5 reads its query as a C string: a NUL would cut a quoted term
    for match in _TERM.finditer(text):
        phrase, word = match.group(1), match.group(2)
        prefix = False
        if word is not None:
            phrase = word
            if word.endswith("*"):
                phrase = word.rstrip("*")
                prefix = sum(c.isalnum() for c in phrase) >= 2
        if not any(c.isalnum() for c in phrase):
            continue
        quoted = '"' + phrase.replace('"', '""') + '"'
        terms.append(quoted + ("*" if prefix else ""))
    return " ".join(terms) if terms else None
