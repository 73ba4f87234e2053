"""Local files attached to an MMS, checked before upload (type, size, media name) so that the Media API and the
carriers won't refuse them (docs/design.md §8.7)."""

from __future__ import annotations

import functools
import mimetypes
import re
import stat
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bwdesk.core.errors import BwdeskError

MAX_ATTACHMENT_BYTES = 3_500_000
"""The largest file bwdesk uploads: 3.5 MB in decimal units, the strictest reading (docs/design.md §8.7)."""

MEDIA_NAME_PREFIX = "bwdesk-"
_MAX_NAME_PART = 60  # characters of the sanitised file name kept in the media name

# The content types the Media API accepts (`requestBodies.uploadMediaRequest` in the contract), each with
# the short word people know it by. The order is the order the allowed types are listed in messages.
_ALLOWED: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
    "image/svg+xml": "SVG",
    "image/x-icon": "ICO",
    "image/pjpeg": "JPEG",
    "video/mp4": "MP4",
    "video/quicktime": "MOV",
    "video/mpeg": "MPEG",
    "video/webm": "WebM",
    "video/ogg": "Ogg",
    "video/avi": "AVI",
    "video/x-ms-wmv": "WMV",
    "video/x-flv": "FLV",
    "audio/mpeg": "MP3",
    "audio/mp4": "M4A",
    "audio/ogg": "Ogg",
    "audio/wav": "WAV",
    "audio/amr": "AMR",
    "audio/3gpp": "3GP",
    "audio/flac": "FLAC",
    "audio/webm": "WebM",
    "application/pdf": "PDF",
    "text/vcard": "vCard",
    "text/calendar": "iCalendar",
    "text/plain": "text",
    "text/csv": "CSV",
    "text/html": "HTML",
    "text/css": "CSS",
    "text/xml": "XML",
    "text/javascript": "JavaScript",
    "text/vnd.wap.wml": "WML",
    "application/rtf": "RTF",
    "application/json": "JSON",
    "application/xml": "XML",
    "application/javascript": "JavaScript",
    "application/smil": "SMIL",
    "application/ogg": "Ogg",
    "application/zip": "ZIP",
    "application/x-tar": "TAR",
    "application/gzip": "gzip",
    "application/x-gzip": "gzip",
    "application/x-bzip2": "bzip2",
}
ALLOWED_CONTENT_TYPES: frozenset[str] = frozenset(_ALLOWED)

# Extensions whose type Python's built-in table lacks or names differently from the contract (and which
# differ between Python versions), so detection gives the same answer everywhere.
_EXTENSIONS: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".avi": "video/avi",
    ".wmv": "video/x-ms-wmv",
    ".flv": "video/x-flv",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".amr": "audio/amr",
    ".3gp": "audio/3gpp",
    ".3ga": "audio/3gpp",
    ".flac": "audio/flac",
    ".weba": "audio/webm",
    ".pdf": "application/pdf",
    ".vcf": "text/vcard",
    ".vcard": "text/vcard",
    ".ics": "text/calendar",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".htm": "text/html",
    ".html": "text/html",
    ".css": "text/css",
    ".xml": "text/xml",
    ".js": "text/javascript",
    ".wml": "text/vnd.wap.wml",
    ".rtf": "application/rtf",
    ".json": "application/json",
    ".smil": "application/smil",
    ".smi": "application/smil",
    ".zip": "application/zip",
    ".tar": "application/x-tar",
}
# Compressed files: mimetypes reports these as an "encoding"; what is uploaded is the compressed bytes.
_ENCODINGS = {"gzip": "application/gzip", "bzip2": "application/x-bzip2"}


@functools.cache
def _mime() -> mimetypes.MimeTypes:
    """Python's built-in table only (the user's system files don't change the answer); built on first use."""
    table = mimetypes.MimeTypes()
    for ext, content_type in _EXTENSIONS.items():
        table.add_type(content_type, ext, strict=True)
    return table


_SNIFF_BYTES = 32


class AttachmentError(BwdeskError):
    """A file that can't be attached; the message names the file and says what is wrong."""


@dataclass(frozen=True)
class Attachment:
    """A checked local file, ready to upload: `name` is the media name to upload it under."""

    path: Path
    name: str
    content_type: str
    size: int

    @property
    def file_name(self) -> str:
        """The file's own name, for showing to people (the media name is for the API)."""
        return self.path.name

    def read_data(self) -> bytes:
        """The bytes to upload, re-checked: the file may have changed since it was attached."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise AttachmentError(f"{self.file_name} can't be read any more: {_os_reason(exc)}") from None
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise AttachmentError(_too_big_message(self.file_name, len(data)))
        if not data:
            raise AttachmentError(f"{self.file_name} is empty now; there is nothing to send")
        return data


def check_attachment(path: Path | str, *, make_id: Callable[[], str] | None = None) -> Attachment:
    """Check a local file for sending by MMS; raise `AttachmentError` with a readable reason if it can't be.

    `make_id` gives the unique part of the media name (tests pass a fixed one).
    """
    path = Path(path)
    file_name = path.name or str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AttachmentError(f"{file_name}: there is no such file; check its name and folder") from None
    except OSError as exc:
        raise AttachmentError(f"{file_name} can't be read: {_os_reason(exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise AttachmentError(f"{file_name} is a folder; attach the files inside it one by one")
    if not stat.S_ISREG(info.st_mode):
        raise AttachmentError(f"{file_name} is not a regular file")
    if info.st_size == 0:
        raise AttachmentError(f"{file_name} is empty; there is nothing to send")
    if info.st_size > MAX_ATTACHMENT_BYTES:
        raise AttachmentError(_too_big_message(file_name, info.st_size))
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise AttachmentError(f"{file_name} can't be read: {_os_reason(exc)}") from None

    content_type = detect_content_type(file_name, head)
    unique = (make_id or _random_id)()
    return Attachment(
        path=path, name=media_name(file_name, unique), content_type=content_type, size=info.st_size
    )


def detect_content_type(file_name: str, head: bytes) -> str:
    """The content type to upload with, from the name and the first bytes; raise if it isn't allowed.

    For a file named as an image (or with no known type) the bytes decide; one named as an image whose
    bytes are no image is refused, because it would arrive broken. Other names are trusted: a `.txt`
    that happens to start like a bitmap is still text.
    """
    by_name = guess_type_from_name(file_name)
    names_image = by_name is not None and by_name.startswith("image/")
    if by_name is None or names_image:
        sniffed = sniff_image_type(head)
        if sniffed is not None:
            return sniffed
    if by_name in ALLOWED_CONTENT_TYPES and names_image and by_name != "image/svg+xml":  # SVG is text
        raise AttachmentError(
            f"{file_name} is named like a {_ALLOWED[by_name]} image but its contents are not an image; "
            "it may be damaged or misnamed"
        )
    if by_name is None or by_name not in ALLOWED_CONTENT_TYPES:
        suffix = Path(file_name).suffix.lower()
        kind = f" ({suffix})" if suffix else ""
        raise AttachmentError(
            f"{file_name}: this file type{kind} can't be sent by MMS. {allowed_types_text()}"
        )
    return by_name


def guess_type_from_name(file_name: str) -> str | None:
    """The content type a file name suggests (normalised to the contract's spelling), or None."""
    content_type, encoding = _mime().guess_type(file_name, strict=True)
    if encoding is not None:
        return _ENCODINGS.get(encoding, f"application/x-{encoding}")
    return content_type


def sniff_image_type(head: bytes) -> str | None:
    """The image type the first bytes of a file show, for the image formats MMS accepts, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"BM") and len(head) >= 18 and head[6:10] == b"\x00" * 4:
        header_size = int.from_bytes(head[14:18], "little")
        if header_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "image/bmp"
    if head[:4] == b"\x00\x00\x01\x00":
        return "image/x-icon"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"mif1", b"msf1"):
            return "image/heif"
    return None


def type_label(content_type: str) -> str | None:
    """The short word people know an allowed type by ("JPEG", "PDF"), or None for a type MMS cannot carry."""
    return _ALLOWED.get(content_type)


def allowed_types_text() -> str:
    """One sentence listing what can be sent, grouped the way people think of files."""
    groups: dict[str, list[str]] = {"image": [], "video": [], "audio": [], "other": []}
    for content_type, label in _ALLOWED.items():
        major = content_type.split("/", 1)[0]
        bucket = groups[major] if major in groups else groups["other"]
        if label not in bucket:
            bucket.append(label)
    return (
        f"Allowed: images ({', '.join(groups['image'])}); video ({', '.join(groups['video'])}); "
        f"audio ({', '.join(groups['audio'])}); documents and archives ({', '.join(groups['other'])})."
    )


def allowed_extensions() -> list[str]:
    """The file name extensions of allowed types (lower case, with the dot), e.g. for a file dialog filter."""
    extensions = {ext for ext, content_type in _EXTENSIONS.items() if content_type in ALLOWED_CONTENT_TYPES}
    extensions.update({".gz", ".tgz", ".bz2"})
    return sorted(extensions)


def media_name(file_name: str, unique: str) -> str:
    """A media name that is unique (`unique`) and safe in a URL path: `bwdesk-<unique>-<sanitised name>`."""
    return f"{MEDIA_NAME_PREFIX}{unique}-{sanitise_file_name(file_name)}"


def sanitise_file_name(file_name: str) -> str:
    """The file name reduced to ASCII letters, digits, `.`, `_` and `-` (accents dropped, the rest `-`)."""
    base = re.split(r"[\\/]", file_name)[-1]  # a name, never a path
    decomposed = unicodedata.normalize("NFKD", base)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stem, dot, ext = ascii_only.rpartition(".")
    if not dot:
        stem, ext = ascii_only, ""
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)[:10]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)
    stem = re.sub(r"-{2,}", "-", stem).strip("-.")
    stem = stem[: _MAX_NAME_PART - len(ext) - 1].rstrip("-.") or "file"
    return f"{stem}.{ext}" if ext else stem


def format_size(size: int) -> str:
    """A byte count the way people read it (decimal units, like the limit)."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def _too_big_message(file_name: str, size: int) -> str:
    shown, limit = format_size(size), format_size(MAX_ATTACHMENT_BYTES)
    if shown == limit:  # just over: rounding would make the two figures look equal
        shown, limit = f"{size:,} bytes", f"{MAX_ATTACHMENT_BYTES:,} bytes ({limit})"
    return f"{file_name} is {shown}; MMS attachments can be at most {limit}"


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _random_id() -> str:
    return uuid.uuid4().hex[:8]
