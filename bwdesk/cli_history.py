"""`bwdesk history`: this computer's messages, or the team view, as a table or JSON (docs/design.md §4.3)."""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any

from bwdesk.cli import (
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    EXIT_REJECTED,
    TextOut,
    close_history,
    open_history,
)
from bwdesk.core.errors import ConfigError
from bwdesk.core.message import BIDI_CONTROLS

if TYPE_CHECKING:
    from bwdesk.core.status_words import StatusFilter


def cmd_history(args: argparse.Namespace, out: TextOut, err: IO[str]) -> int:
    """List (after a refresh, with `--refresh`) what the filters find; the exit status says whether it is complete."""
    from bwdesk.core.account import load_context
    from bwdesk.core.history.search import HistoryQuery

    context = load_context(err=err)
    team = bool(args.team or args.agent is not None or args.mine)
    store = open_history(context, err)
    try:
        if team and not hasattr(store, "search_page"):
            raise ConfigError(
                context.history_notice
                or "--team: no team history is set up. Set BWDESK_HISTORY_URL, or the team history URL in "
                "Settings (a postgresql:// URL without a password); without --team, this computer's "
                "messages are listed."
            )
        status = EXIT_OK
        if args.refresh:
            from bwdesk.cli_directory_send import refresh_filling_the_list

            client = context.client(for_sending=False)
            try:
                report = refresh_filling_the_list(context, store, client, err)
            finally:
                client.close()
            if not report.complete:
                # The list below may be stale; a script must be able to tell.
                status = EXIT_REJECTED if report.refused else EXIT_NOT_CONFIRMED
        query = replace(HistoryQuery.from_text(args.search or "", context.settings.region), status=args.state)
        if not team:
            rows = store.search(replace(query, this_desk=True), limit=args.limit)
        else:
            agent = args.agent.strip() if args.agent is not None else None
            if args.mine:
                agent = store.agent  # type: ignore[attr-defined]
            page = store.search_page(replace(query, agent=agent or None), limit=args.limit)  # type: ignore[attr-defined]
            rows = page.rows
            if page.problem is not None:
                # The list is this computer's part only: a script must be able to tell.
                print(f"bwdesk: warning: {page.problem} Listing this computer's messages only.", file=err)
                status = EXIT_NOT_CONFIRMED
        if args.json:
            json.dump([row.to_json() for row in rows], out, ensure_ascii=False)
            out.write("\n")
        else:
            _print_history_table(rows, out, args.search, args.state, team=team)
        return status
    finally:
        close_history(store, err)


def _print_history_table(
    rows: Sequence[Any],
    out: TextOut,
    search: str | None = None,
    state: StatusFilter | None = None,
    *,
    team: bool = False,
) -> None:
    from bwdesk.core.status_words import describe_error_code, status_label

    if not rows:
        which = f" with status {state.value}" if state is not None else ""
        if search:
            print(f"No messages{which} match {search!r}.", file=out)
        else:
            print(f"No messages{which}." if which else "No messages in the history yet.", file=out)
        return
    for row in rows:
        text = _shown(row.text or "", 40)
        media = f" +{len(row.media)} media" if row.media else ""
        tag = f"  tag: {_shown(row.tag, 30)}" if row.tag else ""
        who = f"{_shown(row.agent or '', 16):<16}  " if team else ""
        print(
            f"{row.created_local()}  {who}{status_label(row, with_reason=False):<22} {row.sender:>14} → {', '.join(row.to):<14}  "
            f"{text}{media}{tag}  {row.message_id or ''}".rstrip(),
            file=out,
        )
        if row.error_code:
            print(f"{'':18}{describe_error_code(row.error_code)}", file=out)


def _shown(value: str, width: int) -> str:
    """One line of at most `width` characters, for the terminal: whitespace runs become one space, control
    characters (an ESC from a pasted terminal sequence) are shown as \\xNN and direction controls as \\uNNNN,
    not obeyed by the terminal (a right-to-left override would reverse the rest of the line)."""
    line = "".join(_for_terminal(c) for c in " ".join(value.split()))
    return line[: width - 1] + "…" if len(line) > width else line


def _for_terminal(c: str) -> str:
    if unicodedata.category(c) == "Cc":
        return f"\\x{ord(c):02x}"
    return f"\\u{ord(c):04x}" if c in BIDI_CONTROLS else c
