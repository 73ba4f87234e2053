"""The template engine: `{name}` and `{name|fallback}` variables with their positions, the text filled in, and what is
missing or mistyped (docs/design.md §17.4)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bwdesk.core.message import describe_position

MAX_NAME_LENGTH = 40

_NAME = rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME_LENGTH - 1}}}"
# A `{`, then anything but braces and line breaks up to the `}` (or to where a `}` should have been).
_CANDIDATE = re.compile(r"\{([^{}\n]*)(\}?)")
_VARIABLE = re.compile(rf"[ \t]*({_NAME})[ \t]*(?:\|([^{{}}\n]*))?")


@dataclass(frozen=True)
class Variable:
    """One `{name}` or `{name|fallback}` in a text: its name (lower case), fallback and where it is (code point
    indexes, `start` inclusive, `end` exclusive)."""

    name: str
    fallback: str | None
    start: int
    end: int

    def written(self, text: str) -> str:
        """The variable as it is written in `text` (`{first_name|there}`)."""
        return text[self.start : self.end]


@dataclass(frozen=True)
class SyntaxProblem:
    """A brace in a template that looks meant as a variable but is not one."""

    start: int
    end: int
    message: str


def variables(text: str) -> list[Variable]:
    """The variables of `text`, in order (the same name may occur more than once)."""
    return [v for v in _scan(text) if isinstance(v, Variable)]


def variable_names(text: str) -> list[str]:
    """The names the variables of `text` use, each once, in order of first use."""
    return list(dict.fromkeys(v.name for v in variables(text)))


def syntax_problems(text: str) -> list[SyntaxProblem]:
    """Braces that look like a mistyped variable: a template must not be saved with them."""
    return [p for p in _scan(text) if isinstance(p, SyntaxProblem)]


def _scan(text: str) -> Iterator[Variable | SyntaxProblem]:
    for candidate in _CANDIDATE.finditer(text):
        inside, closed = candidate.group(1), candidate.group(2)
        variable = _VARIABLE.fullmatch(inside)
        if closed and variable is not None:
            yield Variable(variable.group(1).lower(), variable.group(2), candidate.start(), candidate.end())
        elif closed and _looks_like_a_name(inside):
            yield SyntaxProblem(
                candidate.start(),
                candidate.end(),
                f"{candidate.group(0)} at {describe_position(text, candidate.start())} is not a variable: a "
                "variable's name is one word of letters, digits and _ (for example {first_name}), with an "
                "optional fallback after | ({first_name|there})",
            )
        elif not closed and re.match(rf"[ \t]*{_NAME}", inside):
            yield SyntaxProblem(
                candidate.start(),
                candidate.end(),
                f"the {{ at {describe_position(text, candidate.start())} is not closed: end the variable with }}",
            )


def _looks_like_a_name(inside: str) -> bool:
    """`{first name}`, `{first-name}`, `{first_name|}}`-like slips; not `{1}` or `{ :) }`."""
    name = inside.partition("|")[0].strip()
    return bool(name) and (name[0].isalpha() or name[0] == "_")


@dataclass(frozen=True)
class Filled:
    """A text with its variables filled: what is sent, counted and shown.

    `missing` are the variables that had neither a value nor a fallback; they stay in `text` as written, and
    a message with any of them must not be sent (`missing_problem` says why, naming them and where).
    """

    text: str
    missing: tuple[Variable, ...] = ()
    used: tuple[str, ...] = ()  # the names whose values went into the text

    @property
    def complete(self) -> bool:
        return not self.missing


def fill(text: str, values: Mapping[str, str]) -> Filled:
    """`text` with each variable replaced by its value, else its fallback; `values` are keyed by lower-case name."""
    parts: list[str] = []
    missing: list[Variable] = []
    used: dict[str, None] = {}
    position = 0
    for variable in variables(text):
        parts.append(text[position : variable.start])
        value = values.get(variable.name)
        if value is not None and value.strip():
            parts.append(value)
            used[variable.name] = None
        elif variable.fallback is not None:
            parts.append(variable.fallback)
        else:
            parts.append(variable.written(text))
            missing.append(variable)
        position = variable.end
    parts.append(text[position:])
    return Filled("".join(parts), tuple(missing), tuple(used))


def missing_problem(text: str, missing: tuple[Variable, ...], who: str = "") -> str:
    """Why a message with unfilled variables cannot be sent, naming each and where it is in `text`; the
    caller adds what to do in its own terms (type it, `--var`, a contact field)."""
    listed = ", ".join(f"{{{v.name}}} at {describe_position(text, v.start)}" for v in missing)
    for_whom = f" for {who}" if who else ""
    has = "have" if len(missing) > 1 else "has"
    return f"{listed} {has} no value{for_whom} and no fallback"
