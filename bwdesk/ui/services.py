"""What the window needs from the outside world (the history, its directory, the account and its client), opened on a
worker thread at start-up and after the settings change, and closed last when the window goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bwdesk.core import paths, phone
from bwdesk.core.account import Account, Context
from bwdesk.core.errors import BwdeskError, ConfigError
from bwdesk.core.send_size import CONFIRM_SEGMENTS_ABOVE

if TYPE_CHECKING:  # the history's queries and the team's state load on the worker that opens the services
    from bwdesk.core.bandwidth import BandwidthClient
    from bwdesk.core.delivery import StatusRefresher
    from bwdesk.core.directory.optout import OptOutRecorder
    from bwdesk.core.directory.store import DirectoryStore
    from bwdesk.core.history.store import HistoryStore
    from bwdesk.core.team.state import TeamState

#: How many recent history rows give the recipients field its completions.
COMPLETION_ROWS = 500
#: How long opening the services waits for the team database's first answer, so the banner can say at once
#: that it cannot be used (the history itself works without it).
TEAM_CONTACT_WAIT = 3.0


@dataclass
class Services:
    """The open history and account; what could not be opened says why in `*_problem`."""

    history: HistoryStore | None = None
    account: Account | None = None
    client: BandwidthClient | None = None
    refresher: StatusRefresher | None = None
    directory: DirectoryStore | None = None  # the do-not-text list, contacts (docs/design.md §17)
    recorder: OptOutRecorder | None = None  # puts numbers on the list when an answer says 4775 or 4482
    directory_problem: str = ""
    account_problem: str = ""
    account_setting: str = ""  # the settings field to fix first for the account problem, when one is named
    history_problem: str = ""
    #: A team history's state once its database first answered (or the wait ran out); None without a team.
    #: What the window shows of it from then on follows the store (`ui.team_status`).
    team_state: TeamState | None = None
    past_recipients: tuple[str, ...] = ()
    segment_limit: int = CONFIRM_SEGMENTS_ABOVE  # a send billing more segments than this asks first

    def problems(self) -> str:
        """What could not be opened, in words ("" when everything is open)."""
        return " ".join(p for p in (self.history_problem, self.account_problem) if p)

    def close(self, keep: Services | None = None) -> None:
        """Close the client and the history, except those `keep` (the services replacing these) still uses."""
        if self.client is not None and (keep is None or keep.client is not self.client):
            self.client.close()
        if self.history is not None and (keep is None or keep.history is not self.history):
            self.history.close()
        if self.directory is not None and (keep is None or keep.directory is not self.directory):
            self.directory.close()


def open_services(context: Context) -> Services:
    """On a worker thread: open the history and its directory, resolve the account (it may read the keyring),
    gather completions."""
    from bwdesk.core.delivery import StatusRefresher
    from bwdesk.core.directory.choice import open_directory
    from bwdesk.core.directory.optout import OptOutRecorder
    from bwdesk.core.history.search import HistoryQuery

    services = Services(segment_limit=context.settings.confirm_segments_above)
    phone.remember_startup_numbers(
        paths.startup_numbers_file(context.profile)
    )  # for the next start's first frame
    try:
        services.history = context.history()
        services.history_problem = context.history_notice
        rows = services.history.search(HistoryQuery(this_desk=True), limit=COMPLETION_ROWS)
        services.past_recipients = tuple(dict.fromkeys(n for row in rows for n in row.to))
        services.team_state = _first_team_state(services.history)
    except BwdeskError as exc:
        services.history_problem = str(exc)
    try:
        services.directory = open_directory(context)
        services.recorder = OptOutRecorder(services.directory)
    except BwdeskError as exc:
        services.directory_problem = str(exc)
    try:
        services.account = context.account()
        services.client = services.account.client()
        recorder = services.recorder
        services.refresher = StatusRefresher(
            services.client, on_status=recorder.after_status if recorder is not None else None
        )
    except BwdeskError as exc:
        services.account_problem = str(exc)
        if isinstance(exc, ConfigError):
            services.account_setting = exc.setting or ""
    return services


def _first_team_state(history: HistoryStore) -> TeamState | None:
    """A team history's state once its database has answered once (at most `TEAM_CONTACT_WAIT`), so the window
    can say at once that the history shows this desk's messages alone; None for a history of its own."""
    from bwdesk.core.team.state import TeamStateSource

    if not isinstance(history, TeamStateSource):
        return None
    return history.wait_for_contact(TEAM_CONTACT_WAIT)
