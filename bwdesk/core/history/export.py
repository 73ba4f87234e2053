"""History rows as CSV that a spreadsheet opens as text and never runs as formulas (OWASP "CSV injection")."""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from bwdesk.core.history.rows import HistoryRow
    from bwdesk.core.history.search import HistoryQuery
    from bwdesk.core.history.store import HistoryReader

#: A CSV cell starting with one of these is a formula to Excel/LibreOffice/Sheets.
CSV_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")

CSV_COLUMNS = (
    "id",
    "created",
    "updated",
    "from",
    "to",
    "mode",
    "text",
    "media",
    "tag",
    "state",
    "message_id",
    "segments",
    "http_status",
    "error_type",
    "error_description",
    "field_errors",
    "delivery_status",
    "error_code",
    "agent",
    "desk",
)


def export_csv(store: HistoryReader, target: str | os.PathLike[str] | IO[str], query: HistoryQuery) -> int:
    """Write the rows of `store` matching `query` (newest first) as CSV; returns how many.

    UTF-8 with a byte-order mark (so Excel reads accents and emoji correctly; LibreOffice and
    Python's `utf-8-sig` accept it), CRLF line ends, one header row. Every cell that a spreadsheet
    would run as a formula (starting with `= + - @`, tab or a line break, also after spaces) gets a
    leading `'`: E.164 numbers therefore read `'+19195550123`, which also keeps them text, never a
    number in scientific notation. A path is created owner-only; a text stream is written as given
    (open it with `encoding="utf-8", newline=""`).
    """
    if isinstance(target, (str, os.PathLike)):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            return _write_csv(store, handle, query)
    return _write_csv(store, target, query)


def _write_csv(store: HistoryReader, handle: IO[str], query: HistoryQuery) -> int:
    handle.write("\ufeff")
    import csv  # only when exporting

    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    written = 0
    before: int | None = None
    while page := store.search(query, limit=1000, before_id=before):
        writer.writerows([csv_cell(v) for v in _csv_values(row)] for row in page)
        written += len(page)
        before = page[-1].id
    return written


def _csv_values(row: HistoryRow) -> list[object]:
    error = row.error
    return [
        row.local_id if row.local_id is not None else row.id,
        row.created,
        row.updated,
        row.sender,
        "; ".join(row.to),
        row.mode,
        row.text,
        " ".join(row.media),
        row.tag,
        row.state.value,
        row.message_id,
        row.segments,
        row.http_status,
        error.type if error else None,
        error.description if error else None,
        "; ".join(f"{f.field}: {f.description}" for f in error.field_errors) if error else None,
        row.delivery_status,
        row.error_code,
        row.agent,
        row.desk,
    ]


def csv_cell(value: object) -> str:
    """One cell as text that no spreadsheet will evaluate."""
    text = "" if value is None else str(value)
    if text[:1] in CSV_FORMULA_TRIGGERS or text.lstrip(" ")[:1] in CSV_FORMULA_TRIGGERS:
        return "'" + text
    return text
