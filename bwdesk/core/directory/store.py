"""`DirectoryStore`, the interface every directory store implements, in three roles (`OptOutList`, `ContactBook`,
`TemplateShelf`) so that code asks for the narrowest one it needs (docs/design.md §17.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bwdesk.core.history.store import HistoryError

if TYPE_CHECKING:
    from bwdesk.core.directory.contacts import Contact
    from bwdesk.core.directory.optout import OptOut, OptOutEvent, Reason
    from bwdesk.core.directory.template_book import Scope, Template

#: Entries per page when a caller does not say; the most one page may hold.
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000


class DirectoryError(HistoryError):
    """The directory cannot be used right now, for a reason the user can act on (it lives in the history's
    store, so the history's words apply: disk full, locked, damaged, a newer bwdesk)."""


class NotListed(DirectoryError):
    """The number is not on the do-not-text list (so it cannot be removed)."""


class ReasonRequired(DirectoryError):
    """A removal from the do-not-text list was asked for without a reason."""


class TemplateExists(DirectoryError):
    """A template of that name and scope exists and the caller did not ask to replace it."""


class ScopeNotKept(DirectoryError):
    """This store does not keep templates of that scope (team templates without a team database)."""


@dataclass(frozen=True)
class NewOptOut:
    """A number to put on the list, as an import or a bulk load gives it."""

    number: str
    reason: Reason
    code: int | None = None
    note: str = ""


class OptOutList(Protocol):
    """The do-not-text list."""

    def opted_out(self, numbers: Iterable[str]) -> dict[str, OptOut]:
        """The entries of those of `numbers` that are on the list (checked before every send: fast)."""
        ...

    def add_opt_out(
        self, number: str, reason: Reason, *, code: int | None = None, note: str = ""
    ) -> tuple[OptOut, bool]:
        """Put `number` on the list; returns its entry and whether it was added (False: it already was, and
        its entry is unchanged)."""
        ...

    def add_opt_outs(self, entries: Iterable[NewOptOut]) -> int:
        """Put many numbers on the list in one go (an import); returns how many were not on it yet."""
        ...

    def remove_opt_out(self, number: str, reason: str) -> OptOut:
        """Take `number` off the list, keeping `reason` in its history; returns the entry removed. Raises
        ReasonRequired without a reason, NotListed when it is not on the list."""
        ...

    def opt_outs(
        self, *, after: str | None = None, limit: int = DEFAULT_PAGE, digits: str = ""
    ) -> list[OptOut]:
        """The list by number; the next page is `after=<last number>`; `digits` keeps numbers containing them."""
        ...

    def opt_out_history(self, number: str | None = None, limit: int = DEFAULT_PAGE) -> list[OptOutEvent]:
        """Changes to the list (of one number, or all), newest first."""
        ...


class ContactBook(Protocol):
    """Names and fields per number."""

    def contacts_for(self, numbers: Iterable[str]) -> dict[str, Contact]:
        """The contacts of those of `numbers` that have one."""
        ...

    def contacts(self, *, after: str | None = None, limit: int = DEFAULT_PAGE) -> list[Contact]:
        """All contacts by number; the next page is `after=<last number>`."""
        ...

    def save_contact(self, number: str, name: str, fields: Mapping[str, str]) -> Contact:
        """Create or replace the contact of `number` (name and fields as given, already checked)."""
        ...

    def save_contacts(self, contacts: Iterable[Contact]) -> int:
        """Create or replace many contacts in one go (an import); returns how many."""
        ...

    def remove_contact(self, number: str) -> bool:
        """Forget the contact of `number`; False when there was none."""
        ...


class TemplateShelf(Protocol):
    """Templates this store keeps (IT's locked ones are not among them)."""

    @property
    def template_scopes(self) -> frozenset[Scope]:
        """The scopes it can keep: the local file only personal ones; a team database also team ones."""
        ...

    def templates(self) -> list[Template]:
        """Every template it keeps, any scope."""
        ...

    def save_template(self, template: Template, *, replace: bool = False) -> Template:
        """Keep `template` (already checked) in its scope, stamped; raises TemplateExists when one of that
        name and scope exists and `replace` is False, ScopeNotKept for a scope this store does not keep."""
        ...

    def remove_template(self, name: str, scope: Scope) -> bool:
        """Delete the template of that name and scope; False when there was none."""
        ...


class DirectoryStore(OptOutList, ContactBook, TemplateShelf, Protocol):
    """A profile's whole directory: every role above, stamped with `agent`."""

    @property
    def agent(self) -> str:
        """Whose changes these are (the display name every change is stamped with)."""
        ...

    def close(self) -> None: ...
