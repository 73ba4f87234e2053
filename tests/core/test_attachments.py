"""Attachments: size and type are checked on real files before anything is uploaded."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bwdesk.core.attachments import (
    ALLOWED_CONTENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    Attachment,
    AttachmentError,
    allowed_extensions,
    check_attachment,
    format_size,
    guess_type_from_name,
    sanitise_file_name,
)
from bwdesk.core.errors import BwdeskError

URL_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG (greyscale), built by hand so this Qt-free test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def sized_file(tmp_path: Path, name: str, size: int) -> Path:
    """A file of exactly `size` bytes (sparse where the file system allows: fast)."""
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(size)
    return path


def test_png_is_accepted_with_its_type_size_and_a_url_safe_unique_name(tmp_path: Path) -> None:
    data = png_bytes()
    path = write(tmp_path, "Part photo (1).png", data)
    first = check_attachment(path)
    second = check_attachment(path)
    assert isinstance(first, Attachment)
    assert first.content_type == "image/png"
    assert first.size == len(data)
    assert first.path == path
    assert first.file_name == "Part photo (1).png"
    assert re.fullmatch(r"bwdesk-[0-9a-f]{8}-Part-photo-1\.png", first.name)
    assert first.name != second.name
    assert first.read_data() == data


def test_make_id_gives_a_predictable_name(tmp_path: Path) -> None:
    path = write(tmp_path, "a.png", png_bytes())
    assert check_attachment(path, make_id=lambda: "0123abcd").name == "bwdesk-0123abcd-a.png"


def test_image_bytes_decide_over_a_wrong_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "photo.png", JPEG_HEAD + b"\x00" * 100)
    assert check_attachment(path).content_type == "image/jpeg"


def test_image_without_extension_is_recognised_by_its_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "IMG_0042", png_bytes())
    assert check_attachment(path).content_type == "image/png"


def test_a_file_named_as_an_image_that_is_not_one_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "photo.jpg", b"this is not a picture at all")
    with pytest.raises(AttachmentError, match=r"photo\.jpg is named like a JPEG image but its contents"):
        check_attachment(path)


def test_text_that_starts_like_a_bitmap_stays_text(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", b"BM BMW parts list\n" + b"x" * 40)
    assert check_attachment(path).content_type == "text/plain"


def test_executable_is_refused_with_the_allowed_types_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "setup.exe", b"MZ\x90\x00" + b"\x00" * 60)
    with pytest.raises(AttachmentError) as caught:
        check_attachment(path)
    message = str(caught.value)
    assert message.startswith("setup.exe: this file type (.exe) can't be sent by MMS.")
    assert "Allowed: images (JPEG, PNG, GIF" in message
    assert "PDF" in message
    assert isinstance(caught.value, BwdeskError)


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match=r"data\.xyz: this file type \(\.xyz\) can't be sent"):
        check_attachment(write(tmp_path, "data.xyz", b"123"))


def test_file_over_the_limit_is_refused_with_both_sizes(tmp_path: Path) -> None:
    path = sized_file(tmp_path, "scan.pdf", 5_200_000)
    with pytest.raises(
        AttachmentError, match=r"^scan\.pdf is 5\.2 MB; MMS attachments can be at most 3\.5 MB$"
    ):
        check_attachment(path)


def test_a_file_just_over_the_limit_says_so_in_bytes(tmp_path: Path) -> None:
    path = sized_file(tmp_path, "scan.pdf", MAX_ATTACHMENT_BYTES + 1)
    with pytest.raises(AttachmentError, match=r"is 3,500,001 bytes; .* at most 3,500,000 bytes \(3\.5 MB\)"):
        check_attachment(path)


def test_a_file_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    attachment = check_attachment(sized_file(tmp_path, "scan.pdf", MAX_ATTACHMENT_BYTES))
    assert (attachment.size, attachment.content_type) == (3_500_000, "application/pdf")


def test_limit_is_decimal_megabytes() -> None:
    assert MAX_ATTACHMENT_BYTES == 3_500_000


def test_file_that_grew_after_the_check_is_refused_at_upload(tmp_path: Path) -> None:
    path = sized_file(tmp_path, "scan.pdf", 1000)
    attachment = check_attachment(path)
    with path.open("r+b") as handle:
        handle.truncate(MAX_ATTACHMENT_BYTES + 10)
    with pytest.raises(AttachmentError, match="at most"):
        attachment.read_data()


def test_empty_missing_and_folder_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match=r"^empty\.png is empty"):
        check_attachment(write(tmp_path, "empty.png", b""))
    with pytest.raises(
        AttachmentError, match=r"^gone\.png: there is no such file; check its name and folder$"
    ):
        check_attachment(tmp_path / "gone.png")
    folder = tmp_path / "Photos"
    folder.mkdir()
    with pytest.raises(AttachmentError, match=r"^Photos is a folder"):
        check_attachment(folder)


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("card.vcf", b"BEGIN:VCARD\r\n", "text/vcard"),
        ("invite.ics", b"BEGIN:VCALENDAR\r\n", "text/calendar"),
        ("clip.mov", b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        ("clip.avi", b"RIFF\x00\x00\x00\x00AVI ", "video/avi"),
        ("voice.wav", b"RIFF\x00\x00\x00\x00WAVE", "audio/wav"),
        ("voice.amr", b"#!AMR\n", "audio/amr"),
        ("logs.tar.gz", b"\x1f\x8b\x08\x00", "application/gzip"),
        ("logs.bz2", b"BZh9", "application/x-bzip2"),
        ("IMG_1234.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        ("icon.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_types_follow_the_contract_spelling(tmp_path: Path, name: str, head: bytes, expected: str) -> None:
    assert check_attachment(write(tmp_path, name, head + b"\x00" * 32)).content_type == expected


def test_every_listed_extension_maps_to_an_allowed_type() -> None:
    extensions = allowed_extensions()
    assert {".jpg", ".png", ".gif", ".pdf", ".vcf", ".mp4"} <= set(extensions)
    for ext in extensions:
        assert guess_type_from_name(f"x{ext}") in ALLOWED_CONTENT_TYPES, ext


def test_sanitise_keeps_readable_ascii() -> None:
    assert sanitise_file_name("Fotó de la pieza (1).JPG") == "Foto-de-la-pieza-1.JPG"
    assert sanitise_file_name("../../etc/passwd") == "passwd"
    assert sanitise_file_name("照片.png") == "file.png"
    assert sanitise_file_name("...") == "file"
    assert sanitise_file_name("C:\\Users\\ana\\my photo.jpeg") == "my-photo.jpeg"


@given(st.text(max_size=300))
def test_sanitised_names_are_always_url_safe_and_short(name: str) -> None:
    cleaned = sanitise_file_name(name)
    assert URL_SAFE.fullmatch(cleaned)
    assert len(cleaned) <= 60
    assert not cleaned.startswith((".", "-"))


def test_format_size() -> None:
    assert [format_size(n) for n in (999, 1500, 5_240_000)] == ["999 bytes", "2 KB", "5.2 MB"]
