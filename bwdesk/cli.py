"""Command line: parse arguments and dispatch to the window, `send`, `history` or `sandbox`."""

from __future__ import annotations

import sys

from bwdesk import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--version"]:
        print(f"bwdesk {__version__}")
        return 0
    print("bwdesk: not implemented yet", file=sys.stderr)
    return 1
