"""A draft's text filled for its recipients: per recipient when separate, only what all share for a group;
the one rule the command line and the window share (docs/design.md §17.4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from bwdesk.core.directory.contacts import Contact, shared_values, values_for
from bwdesk.core.directory.templates import Filled, Variable, fill, missing_problem, variables
from bwdesk.core.message import Draft, Mode, recipients_e164
from bwdesk.core.sms_text import analyze, text_length


@dataclass(frozen=True)
class Fill:
    """One message's filling: whom it goes to (E.164; several for a group), their contact when one, the text."""

    numbers: tuple[str, ...]
    contact: Contact | None
    filled: Filled

    def who(self) -> str:
        """For a problem: the number and the contact's name, or the whole group."""
        if len(self.numbers) > 1:
            return "the whole group"
        if not self.numbers:
            return ""
        return f"{self.numbers[0]} ({self.contact.name})" if self.contact else self.numbers[0]


@dataclass(frozen=True)
class FilledSend:
    """What a draft becomes once filled: `drafts` are what is sent and counted; `fills` say how each was
    filled (empty when the text has no variables)."""

    draft: Draft
    fills: tuple[Fill, ...]
    drafts: tuple[Draft, ...]

    @property
    def has_variables(self) -> bool:
        return bool(self.fills)

    @property
    def complete(self) -> bool:
        return all(f.filled.complete for f in self.fills)

    def missing(self) -> list[Variable]:
        """The variables (of the draft's text, by position) left without a value for anyone, each once."""
        seen: dict[int, Variable] = {}
        for one in self.fills:
            for variable in one.filled.missing:
                seen.setdefault(variable.start, variable)
        return [seen[start] for start in sorted(seen)]

    def missing_names(self) -> list[str]:
        return list(dict.fromkeys(v.name for v in self.missing()))

    def problems(self) -> list[str]:
        """Each message that cannot be filled, naming its variables, where they are and for whom."""
        return [
            missing_problem(self.draft.text, f.filled.missing, f.who())
            for f in self.fills
            if not f.filled.complete
        ]

    def largest(self) -> str:
        """The filled text that costs most (segments, then length): what a counter shows for them all."""
        if not self.fills:
            return self.draft.text
        return max((f.filled.text for f in self.fills), key=lambda t: (analyze(t).segments, text_length(t)))


def fill_draft(
    draft: Draft, contacts: Mapping[str, Contact], explicit: Mapping[str, str] | None = None
) -> FilledSend:
    """`draft` filled for its recipients from `contacts` (by E.164; those without one simply are not in it)
    and `explicit` values: one draft per recipient for separate messages, one for a group; with no recipient
    yet, the text filled with the explicit values alone (so what is missing shows as it is written)."""
    values = dict(explicit or {})
    if not variables(draft.text):
        return FilledSend(draft, (), (draft,))
    numbers = recipients_e164(draft)
    if draft.mode is Mode.GROUP and len(numbers) > 1:
        shared = shared_values([contacts.get(n) for n in numbers], values)
        one = Fill(tuple(numbers), None, fill(draft.text, shared))
        return FilledSend(draft, (one,), (replace(draft, text=one.filled.text),))
    if not numbers:
        alone = Fill((), None, fill(draft.text, values))
        return FilledSend(draft, (alone,), (replace(draft, text=alone.filled.text),))
    fills = tuple(
        Fill((n,), contacts.get(n), fill(draft.text, values_for(contacts.get(n), values))) for n in numbers
    )
    return FilledSend(
        draft, fills, tuple(replace(draft, recipients=f.numbers, text=f.filled.text) for f in fills)
    )
