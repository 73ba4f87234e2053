"""A write to one of bwdesk's SQLite files: one writer at a time in this process, `BEGIN IMMEDIATE` so another
process waits its turn, everything rolled back on any error (docs/design.md §9.4)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection, lock: threading.Lock) -> Iterator[sqlite3.Connection]:
    """`conn` inside one immediate transaction, committed when the block ends, rolled back if it raises."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
