"""What is known of a message's media (type, size, how a link answered) and the warnings Bandwidth's MMS limits give:
warnings, never refusals, since Bandwidth or a carrier decides (docs/design.md §8.7). No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from bwdesk.core.attachments import (
    ALLOWED_CONTENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    format_size,
    guess_type_from_name,
    type_label,
)

MAX_FILE_BYTES = MAX_ATTACHMENT_BYTES
MAX_MESSAGE_BYTES = 3_750_000
TOLL_FREE_MESSAGE_BYTES = 525_000
CARRIER_SAFE_BYTES = 1_000_000

# What servers say for "some bytes" (no type): the type is then read from the bytes or the link's name.
NO_TYPE = frozenset({"application/octet-stream", "binary/octet-stream", "application/unknown"})
# Common spellings of allowed types that are not the contract's own.
_ALIASES = {"image/jpg": "image/jpeg", "audio/mp3": "audio/mpeg", "audio/x-wav": "audio/wav"}


@dataclass(frozen=True)
class MediaInfo:
    """What a look at a media link found.

    `status` is the HTTP status of the final answer (None: no answer, `problem` says why); `content_type`
    is the type the server named (lower case, no parameters); `sniffed_type` the image type its first bytes
    show; `image` the whole file when it is an image within the look's read cap (for a thumbnail), else b"".
    """

    url: str
    status: int | None = None
    content_type: str | None = None
    size: int | None = None
    sniffed_type: str | None = None
    image: bytes = b""
    problem: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def found(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def media_type(self) -> str | None:
        """The type the customer's phone will be told: the server's, unless it named none (then what the
        bytes or, failing those, the link's name show)."""
        named = _ALIASES.get(self.content_type or "", self.content_type)
        if named and named not in NO_TYPE:
            return named
        return self.sniffed_type or guess_type_from_name(_last_segment(self.url))


def link_warnings(info: MediaInfo) -> list[str]:
    """What the agent should know about a link before sending it (each a sentence, no link in it)."""
    if not info.answered:
        return (
            [f"Could not be checked ({info.problem}); make sure Bandwidth can fetch it."]
            if info.problem
            else []
        )
    if info.status in (404, 410):
        return [
            f"The link answers {info.status} (not found): Bandwidth would fail to fetch it and the message "
            "would fail (error 4410)."
        ]
    if not info.found:
        return [
            f"The link answers HTTP {info.status}: Bandwidth may not be able to fetch it, and the message "
            "would then fail (error 4410)."
        ]
    media_type = info.media_type
    named = _ALIASES.get(info.content_type or "", info.content_type)
    if media_type == "text/html":
        return [
            "The link is a web page, not a picture or a file: the customer would get the page's code, not "
            "what it shows. Use the link of the picture itself."
        ]
    if named and named not in NO_TYPE and named not in ALLOWED_CONTENT_TYPES:
        return [f"The link is {named}, which MMS cannot carry: the message would fail (error 4412)."]
    return []


@dataclass(frozen=True)
class SizedMedia:
    """One media item's name as the agent sees it (a file name or a link) and its size in bytes, if known."""

    name: str
    size: int | None


def size_warnings(media: Sequence[SizedMedia], *, toll_free: bool = False) -> list[str]:
    """Warnings about the media's sizes against the limits of docs/design.md §8.7: each file too large, and
    then the strictest limit the total is over (one sentence, not three)."""
    warnings = [
        f"{item.name} is {format_size(item.size)}; one MMS file can be at most {_limit(MAX_FILE_BYTES)}: "
        "Bandwidth would refuse the message (error 4411)."
        for item in media
        if item.size is not None and item.size > MAX_FILE_BYTES
    ]
    total = sum(item.size for item in media if item.size is not None)
    together = f"Together the media are {format_size(total)}"
    if toll_free and total > TOLL_FREE_MESSAGE_BYTES:
        warnings.append(
            f"{together}; from a toll-free number one message can carry at most "
            f"{_limit(TOLL_FREE_MESSAGE_BYTES)} (error 4411)."
        )
    elif total > MAX_MESSAGE_BYTES:
        warnings.append(f"{together}; one MMS can carry at most {_limit(MAX_MESSAGE_BYTES)} (error 4411).")
    elif total > CARRIER_SAFE_BYTES:
        warnings.append(
            f"{together}; some carriers (AT&T, T-Mobile) refuse MMS over {_limit(CARRIER_SAFE_BYTES)}, "
            "so it may not arrive. 500 KB or less in total is safest."
        )
    return warnings


def describe_type(content_type: str | None) -> str:
    """A type as people say it: "JPEG image", "PDF", "MP4 video"; "" when unknown."""
    if not content_type:
        return ""
    label = type_label(content_type)
    if label is None:
        return content_type
    major = content_type.split("/", 1)[0]
    return f"{label} {major}" if major in ("image", "video", "audio") else label


def _limit(size: int) -> str:
    """A limit as the sources write it: 3.75 MB, 1 MB, 525 KB (not rounded like a measured size)."""
    return f"{size / 1_000_000:g} MB" if size >= 1_000_000 else f"{size / 1000:g} KB"


def _last_segment(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return PurePosixPath(unquote(path)).name
