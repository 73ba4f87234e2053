"""What a history search means: `HistoryQuery`, typed search text split into words and digit runs, and the
FTS5 form of words that cannot fail. Every store answers the same `SearchTerms` the same way (docs/design.md §9.5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bwdesk.core.outcome import SendState
from bwdesk.core.phone import parse_number
from bwdesk.core.status_words import StatusFilter

#: A run of at least this many digits in a search matches the numbers that contain it.
MIN_RUN_DIGITS = 4


@dataclass(frozen=True)
class HistoryQuery:
    """What to look for. All given filters must hold; an empty query matches every row.

    `text`: words typed by a person, matched as whole words (case- and accent-insensitive) in the text
    or the tag; `"quoted words"` are a phrase, a trailing `*` makes a prefix (`techn*`); FTS syntax is
    never interpreted; a run of four or more digits (`0198`, `555-0198`, `(555) 0198`) also matches the
    recipients whose number contains those digits (`search_terms`). `number`: one recipient, exactly, in any
    format (normalised with `region`). `status`: what the Status column says (the status filter);
    `state`: the send state alone (for code that needs exactly that, such as finding `unknown` sends).
    `since`/`until`: creation time, `since <= created < until`.

    In a team history (docs/design.md §16.11): `agent`, only the rows this agent sent (the team view's
    scope: None for everyone, the store's own agent for "mine"); `this_desk`, only this desk's own rows,
    read from its local journal without asking the team database (what a status refresh works on). A
    local-only store holds nothing but this desk's rows, so `this_desk` changes nothing there.
    """

    text: str = ""
    number: str | None = None
    state: SendState | None = None
    status: StatusFilter | None = None
    since: datetime | None = None
    until: datetime | None = None
    region: str | None = None
    agent: str | None = None
    this_desk: bool = False

    @classmethod
    def from_text(cls, text: str, region: str | None = None) -> HistoryQuery:
        """What a search box typed means: a full phone number searches that recipient exactly; anything else is
        text (words, and digit runs that also match numbers containing them)."""
        number = number_in_query(text, region)
        if number is not None:
            return cls(number=number, region=region)
        return cls(text=text, region=region)


def number_in_query(text: str, region: str | None) -> str | None:
    """E.164 if `text` is one complete phone number (not a 4-digit ticket, not the last 7 digits: those are
    digit runs, matched as parts of numbers)."""
    stripped = text.strip()
    if not re.fullmatch(r"\+?[\d\s().\-/]+", stripped) or sum(c.isdigit() for c in stripped) < 8:
        return None
    return normalise_number(stripped, region)


def normalise_number(text: str, region: str | None) -> str | None:
    """A recipient typed in any format as E.164, or None when it is not a valid number."""
    parsed = parse_number(text, region)
    return parsed.e164 if parsed.ok else None


_TERM = re.compile(r'"([^"]*)"|(\S+)')
# A piece of a number as people type it: digits with `+ ( ) . - /`, perhaps ending in `*` (search as you type).
_NUMERIC_PIECE = re.compile(r"([\d+().\-/]*\d[\d+().\-/]*)(\**)")


@dataclass(frozen=True)
class DigitRun:
    """Four or more digits typed together, punctuation and spaces between them ignored ("(555) 0198").

    It matches a row when `digits` occur in the digits of one of its recipients (E.164), or when its digit
    groups occur as consecutive words in the text or the tag (`phrase`, so `4242` still finds TICKET-4242).
    """

    digits: str
    phrase: str


@dataclass(frozen=True)
class SearchTerms:
    """Typed search text, split: every part must match (AND). `words` is an FTS5 query (None: no words)."""

    words: str | None
    digit_runs: tuple[DigitRun, ...] = ()

    @property
    def empty(self) -> bool:
        return self.words is None and not self.digit_runs


def search_terms(text: str, region: str | None = None) -> SearchTerms:
    """Split what a person typed into words and digit runs.

    Whitespace-separated pieces made only of digits and `+ ( ) . - /` that follow each other form one run;
    a run with at least `MIN_RUN_DIGITS` digits is a `DigitRun`, a shorter one stays words. A run that is a
    complete number in `region` is first written as E.164 (`07700 900123` in GB is `447700900123`), so a
    full number in national format still matches. A trailing `*` ends a run (it adds nothing to "contains"
    on the number side; on the text side it makes the last group a prefix).
    """
    words: list[str] = []
    runs: list[DigitRun] = []
    pending: list[str] = []  # the numeric pieces of the run being read

    def end_run(prefix: bool = False) -> None:
        if not pending:
            return
        typed = " ".join(pending)
        groups = re.findall(r"\d+", typed)
        digits = "".join(groups)
        if len(digits) < MIN_RUN_DIGITS:  # too short to be part of a number: words, as typed
            last = len(pending) - 1
            words.extend(
                t for i, piece in enumerate(pending) if (t := _fts_term(piece, prefix and i == last))
            )
        else:
            if len(digits) >= 8 and (e164 := normalise_number(typed, region)) is not None:
                digits = e164.lstrip("+")
            runs.append(DigitRun(digits, '"' + " ".join(groups) + '"' + ("*" if prefix else "")))
        pending.clear()

    for match in _TERM.finditer(text.replace("\x00", " ")):
        phrase, word = match.group(1), match.group(2)
        numeric = _NUMERIC_PIECE.fullmatch(word) if word is not None else None
        if numeric is not None:
            pending.append(numeric.group(1))
            if numeric.group(2):
                end_run(prefix=True)
            continue
        end_run()
        if word is not None:
            term = _fts_term(word.rstrip("*"), word.endswith("*"))
        else:
            term = _fts_term(phrase, False)
        if term is not None:
            words.append(term)
    end_run()
    return SearchTerms(" ".join(words) if words else None, tuple(dict.fromkeys(runs)))


def fts_query(text: str) -> str | None:
    """Turn typed words into an FTS5 query that cannot be a syntax error; None when nothing is searchable.

    Every term becomes a quoted FTS5 string (so `AND`, `NEAR`, `-`, `:`, `(`, `^` are plain words), terms are
    AND-ed, and terms with no letter or digit are dropped (the tokenizer would drop them anyway).
    """
    terms: list[str] = []
    text = text.replace("\x00", " ")  # FTS5 reads its query as a C string: a NUL would cut a quoted term
    for match in _TERM.finditer(text):
        phrase, word = match.group(1), match.group(2)
        term = (
            _fts_term(word.rstrip("*"), word.endswith("*")) if word is not None else _fts_term(phrase, False)
        )
        if term is not None:
            terms.append(term)
    return " ".join(terms) if terms else None


def _fts_term(phrase: str, prefix: bool) -> str | None:
    """One quoted FTS5 term; a prefix needs two letters or digits (one would walk the whole vocabulary)."""
    if not any(c.isalnum() for c in phrase):
        return None
    prefix = prefix and sum(c.isalnum() for c in phrase) >= 2
    return '"' + phrase.replace('"', '""') + '"' + ("*" if prefix else "")
