"""Templates as records: who keeps them (personal, team, IT's locked ones), their rules, their JSON, and the
book an agent picks from (by exact name for `--template`, filtered by what is typed for the window's popup).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bwdesk.core import message
from bwdesk.core.directory.templates import syntax_problems, variable_names
from bwdesk.core.directory.words import Lines, fold, needles, word_starts

MAX_NAME_LENGTH = 60


class Scope(StrEnum):
    """Who keeps a template, and so who sees it and who may change it."""

    PERSONAL = "personal"  # the agent's own (the local file, or the agent's rows of the team database)
    TEAM = "team"  # everyone's, in the team database
    LOCKED = "locked"  # IT's, from the system-wide settings file: read-only


#: When two templates have the same name, the one `find` gives: IT's cannot be overridden; an agent's own
#: wording wins over the team's.
PRECEDENCE = (Scope.LOCKED, Scope.PERSONAL, Scope.TEAM)


def clean_name(name: str) -> str:
    """A name as kept: runs of whitespace made one space, none at the ends."""
    return " ".join(name.split())


def name_key(name: str) -> str:
    """Names are the same when they differ only in case and spacing."""
    return clean_name(name).casefold()


@dataclass(frozen=True)
class Template:
    """A named message body with `{variables}`, and an optional tag and media links."""

    name: str
    text: str
    tag: str = ""
    media: tuple[str, ...] = ()
    scope: Scope = Scope.PERSONAL
    updated: str | None = None  # RFC 3339 UTC, stamped by the store
    by: str | None = None  # the agent who saved it last (IT's: None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", clean_name(self.name))
        object.__setattr__(self, "media", tuple(self.media))
        object.__setattr__(self, "scope", Scope(self.scope))

    @property
    def key(self) -> str:
        return name_key(self.name)

    @property
    def locked(self) -> bool:
        return self.scope is Scope.LOCKED

    def variable_names(self) -> list[str]:
        return variable_names(self.text)

    def to_json(self) -> dict[str, Any]:
        """The object `templates list --json` prints and `templates export` writes."""
        return {
            "name": self.name,
            "text": self.text,
            "tag": self.tag or None,
            "media": list(self.media),
            "scope": self.scope.value,
            "variables": self.variable_names(),
            "updated": self.updated,
            "by": self.by,
        }


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template: which field (`name`, `text`, `tag`, `media`) and what, in words."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def template_problems(template: Template) -> list[TemplateProblem]:
    """Everything that keeps `template` from being saved: the message rules for its text, tag and media, and
    braces that look like a mistyped variable."""
    problems: list[TemplateProblem] = []
    if not template.name:
        problems.append(TemplateProblem("name", "a template needs a name"))
    elif len(template.name) > MAX_NAME_LENGTH:
        problems.append(
            TemplateProblem(
                "name", f"is {len(template.name)} characters long; a name can have at most {MAX_NAME_LENGTH}"
            )
        )
    elif any(not c.isprintable() for c in template.name):
        problems.append(TemplateProblem("name", "must not contain control characters"))
    draft = message.Draft(
        sender="", recipients=(), text=template.text, media=template.media, tag=template.tag
    )
    problems += [
        TemplateProblem(p.field, p.message.replace("the message", "the template", 1))
        for p in message.validate(draft)
        if p.field in ("text", "tag", "media") and p.severity == "error"
    ]
    problems += [TemplateProblem("text", p.message) for p in syntax_problems(template.text)]
    return problems


def template_from_json(data: object, scope: Scope = Scope.PERSONAL) -> Template:
    """A template from its JSON object (`name`, `text`, optional `tag`, `media`); ValueError saying what is
    wrong. The object's own `scope`, `updated` and `by` are not taken: whoever keeps it now stamps it."""
    if not isinstance(data, Mapping):
        raise ValueError('must be an object such as {"name": "…", "text": "…"}')
    unknown = set(data) - {"name", "text", "tag", "media", "scope", "variables", "updated", "by"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    name, text, tag = data.get("name"), data.get("text"), data.get("tag") or ""
    media = data.get("media") or []
    if not isinstance(name, str):
        raise ValueError('needs a "name" (text)')
    if text is None:
        text = ""
    if not isinstance(text, str) or not isinstance(tag, str):
        raise ValueError('"text" and "tag" must be text')
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        raise ValueError('"media" must be a list of links')
    return Template(name, message.normalise_line_breaks(text), tag, tuple(media), scope)


def templates_from_json(data: object, scope: Scope = Scope.PERSONAL) -> tuple[list[Template], list[str]]:
    """The valid templates of a JSON array (or `{"templates": [...]}`), and a problem per invalid entry,
    named by its place in the list and its name ("template 3 ('Refund'): text: …")."""
    if isinstance(data, Mapping) and "templates" in data:
        data = data["templates"]
    if not isinstance(data, list):
        return [], ['expected a JSON array of templates ([{"name": …, "text": …}, …])']
    found: list[Template] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, item in enumerate(data, 1):
        label = f"template {number}"
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            label += f" ({clean_name(item['name'])!r})"
        try:
            template = template_from_json(item, scope)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
            continue
        wrong = template_problems(template)
        if wrong:
            problems.append(f"{label}: {'; '.join(str(p) for p in wrong)}")
        elif template.key in seen:
            problems.append(
                f"{label}: the same name as template {seen[template.key]}; only the first is used"
            )
        else:
            seen[template.key] = number
            found.append(template)
    return found, problems


def locked_named(locked: Iterable[Template], name: str) -> Template | None:
    """IT's template of that name, if any: a name no personal or team template may take (nor change, nor
    delete), so that what IT ships means the same on every desk."""
    key = name_key(name)
    return next((t for t in locked if t.key == key), None)


def templates_to_json(templates: Iterable[Template]) -> list[dict[str, Any]]:
    """The JSON array `templates export` writes and `import` reads back."""
    return [{k: v for k, v in t.to_json().items() if k != "variables"} for t in templates]


class TemplateBook:
    """The templates one agent can use: IT's locked ones, their own and the team's.

    Where names clash, `PRECEDENCE` decides which one the name means; the others are not offered. Built once
    per change of the templates, then asked per keystroke (`matching`), so the folding is done up front.
    """

    def __init__(self, templates: Iterable[Template]) -> None:
        chosen: dict[str, Template] = {}
        rank = {scope: i for i, scope in enumerate(PRECEDENCE)}
        for template in templates:
            current = chosen.get(template.key)
            if current is None or rank[template.scope] < rank[current.scope]:
                chosen[template.key] = template
        keyed = sorted(((fold(t.name), t.name), t) for t in chosen.values())
        self._templates = [template for _, template in keyed]
        self._folded = [key[0] for key, _ in keyed]
        self._name_words = Lines(word_starts(t.name) for t in self._templates)
        self._tag_words = Lines(word_starts(t.tag) for t in self._templates)

    def __len__(self) -> int:
        return len(self._templates)

    def all(self) -> list[Template]:
        """Every template the agent can use, by name."""
        return list(self._templates)

    def find(self, name: str) -> Template | None:
        """The template called `name` (case and spacing do not matter)."""
        key = name_key(name)
        return next((t for t in self._templates if t.key == key), None)

    def matching(self, typed: str, limit: int = 20) -> list[Template]:
        """The templates for what was typed after `/` (or in the popup's filter), best first: names that start
        with it, then names with words that start with its words, then tags that do; each group by name."""
        query = fold(clean_name(typed))
        if not query:
            return self.all()[:limit]
        low = bisect.bisect_left(self._folded, query)
        high = bisect.bisect_left(self._folded, query + "\U0010ffff", low)
        chosen = list(range(low, min(high, low + limit)))
        wanted = needles(typed)
        for lines in (self._name_words, self._tag_words):
            if len(chosen) >= limit or not wanted:
                break
            found = set(chosen)
            longest = max(wanted, key=len)
            matches = [
                i for i in lines.containing(longest) if i not in found and all(n in lines[i] for n in wanted)
            ]
            chosen += matches[: limit - len(chosen)]
        return [self._templates[i] for i in chosen]


def book_of(sources: Sequence[Iterable[Template]]) -> TemplateBook:
    """One book from several sources (IT's settings, a store's personal and team templates)."""
    return TemplateBook(template for source in sources for template in source)
