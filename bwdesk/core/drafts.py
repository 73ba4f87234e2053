"""The unsent draft, saved in the profile as the agent types so that a crash or a closed window loses nothing
(docs/design.md §8.12)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class SavedDraft:
    """What the composer holds, as typed (recipients as entered; invalid ones included so nothing is lost)."""

    sender: str = ""
    recipients: tuple[str, ...] = ()
    pending_recipient_text: str = ""
    text: str = ""
    media: tuple[str, ...] = ()
    pending_media_text: str = ""  # a link typed in the media input, not yet in the list
    tag: str = ""
    mode: str = "separate"
    priority: str | None = None
    expiration: str | None = None  # RFC 3339
    extra: dict[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (
            self.recipients
            or self.pending_recipient_text.strip()
            or self.text
            or self.media
            or self.pending_media_text.strip()
            or self.tag
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["recipients"] = list(self.recipients)
        data["media"] = list(self.media)
        data["version"] = FORMAT_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SavedDraft:
        def text(key: str) -> str:
            value = data.get(key, "")
            return value if isinstance(value, str) else ""

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key, [])
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

        def optional(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        extra = data.get("extra")
        return cls(
            sender=text("sender"),
            recipients=strings("recipients"),
            pending_recipient_text=text("pending_recipient_text"),
            text=text("text"),
            media=strings("media"),
            pending_media_text=text("pending_media_text"),
            tag=text("tag"),
            mode="group" if data.get("mode") == "group" else "separate",
            priority=optional("priority"),
            expiration=optional("expiration"),
            extra=extra if isinstance(extra, dict) else {},
        )


def save_draft(path: Path, draft: SavedDraft) -> None:
    """Write the draft atomically; an empty draft removes the file."""
    if draft.is_empty():
        clear_draft(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".draft-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(draft.to_json(), handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_draft(path: Path) -> SavedDraft | None:
    """The saved draft, or None. A damaged file is kept aside (never deleted) and logged."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("could not read the saved draft (%s); starting with an empty message", exc.strerror)
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        log.warning(
            "the saved draft was damaged; it was kept as %s and an empty message was opened", aside.name
        )
        return None
    draft = SavedDraft.from_json(data)
    return None if draft.is_empty() else draft


def clear_draft(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
