#!/usr/bin/env python3
"""Render the app icon from its one SVG source into every file the installers and the app need.

    python packaging/make_icons.py           regenerate the PNG sizes, bwdesk.ico, bwdesk.icns and the
                                             runtime copies in bwdesk/resources/
    python packaging/make_icons.py --check   exit 1 if the generated files are missing or older than the SVG

Qt renders (QtSvg) and encodes the PNGs. Qt's own ico/icns writers store a single image per file, so the
multi-size containers are assembled here; both are simple formats (a directory of entries, then the images).
The outputs are committed, so building a package never needs this script; rerun it after editing the SVG.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bwdesk.resources import ICON_SIZES as RUNTIME_SIZES  # noqa: E402  (the sizes the app loads)
from bwdesk.resources import RESOURCE_DIR as RUNTIME_DIR  # noqa: E402

SOURCE = ROOT / "resources" / "bwdesk.svg"
PNG_DIR = ROOT / "resources" / "icons"
ICO = ROOT / "resources" / "bwdesk.ico"
ICNS = ROOT / "resources" / "bwdesk.icns"
STAMP = PNG_DIR / "SOURCE.sha256"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# Entries up to this size are stored as classic 32-bit DIBs: every Windows shell code path reads those.
# Larger ones as PNG, which Windows has read inside .ico since Vista and which keeps the file small.
ICO_DIB_MAX = 48
# ICNS element types holding PNG data: (type, pixel size). The @2x types reuse the larger renderings.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"ic11", 32),  # 16x16@2x
    (b"icp5", 32),
    (b"ic12", 64),  # 32x32@2x
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic13", 256),  # 128x128@2x
    (b"ic08", 256),
    (b"ic14", 512),  # 256x256@2x
    (b"ic09", 512),
    (b"ic10", 1024),  # 512x512@2x
)


def png_path(size: int) -> Path:
    return PNG_DIR / f"bwdesk-{size}.png"


def runtime_files() -> list[Path]:
    return [RUNTIME_DIR / "bwdesk.svg", *(RUNTIME_DIR / f"bwdesk-{s}.png" for s in RUNTIME_SIZES)]


def source_digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def render(svg_data: bytes, size: int) -> object:
    """The icon as a straight-alpha ARGB32 QImage of `size` x `size` pixels."""
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg_data))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {SOURCE.name} is not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image: object) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):  # type: ignore[attr-defined]
        raise SystemExit("make_icons: Qt could not encode a PNG (is the png image format missing?)")
    buffer.close()
    return bytes(data.data())


def dib_bytes(image: object) -> bytes:
    """A 32-bit BGRA device-independent bitmap as .ico stores it: header, bottom-up pixels, AND mask."""
    width, height = image.width(), image.height()  # type: ignore[attr-defined]
    # ARGB32 is stored as B, G, R, A bytes on little-endian machines; the DIB wants exactly that order.
    if sys.byteorder != "little":
        raise SystemExit("make_icons: writing .ico entries assumes a little-endian machine")
    stride = image.bytesPerLine()  # type: ignore[attr-defined]
    raw = bytes(image.constBits())[: stride * height]  # type: ignore[attr-defined]
    rows = [raw[y * stride : y * stride + width * 4] for y in range(height)]
    pixels = b"".join(reversed(rows))
    mask_stride = ((width + 31) // 32) * 4
    mask_rows = []
    for row in reversed(rows):
        bits = bytearray(mask_stride)
        for x in range(width):
            if row[x * 4 + 3] == 0:  # fully transparent: set the AND bit
                bits[x // 8] |= 0x80 >> (x % 8)
        mask_rows.append(bytes(bits))
    mask = b"".join(mask_rows)
    header = struct.pack("<IiiHHIIiiII", 40, width, height * 2, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0)
    return header + pixels + mask


def ico_bytes(entries: list[tuple[int, bytes]]) -> bytes:
    """ICONDIR + one ICONDIRENTRY per image, then the images (a size of 256 is written as 0)."""
    out = [struct.pack("<HHH", 0, 1, len(entries))]
    offset = 6 + 16 * len(entries)
    for size, payload in entries:
        dim = 0 if size >= 256 else size
        out.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(payload), offset))
        offset += len(payload)
    out.extend(payload for _, payload in entries)
    return b"".join(out)


def icns_bytes(elements: list[tuple[bytes, bytes]]) -> bytes:
    """'icns' + total length, then (type, length including the 8-byte header, data) elements; big-endian."""
    body = b"".join(kind + struct.pack(">I", len(data) + 8) + data for kind, data in elements)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def generate() -> list[Path]:
    svg_data = SOURCE.read_bytes()
    sizes = sorted({*PNG_SIZES, *ICO_SIZES, *(s for _, s in ICNS_TYPES)})
    images = {size: render(svg_data, size) for size in sizes}
    pngs = {size: png_bytes(images[size]) for size in sizes}
    written: dict[Path, bytes] = {}
    for size in PNG_SIZES:
        written[png_path(size)] = pngs[size]
    written[ICO] = ico_bytes(
        [(s, dib_bytes(images[s]) if s <= ICO_DIB_MAX else pngs[s]) for s in ICO_SIZES],
    )
    written[ICNS] = icns_bytes([(kind, pngs[size]) for kind, size in ICNS_TYPES])
    written[RUNTIME_DIR / "bwdesk.svg"] = svg_data
    for size in RUNTIME_SIZES:
        written[RUNTIME_DIR / f"bwdesk-{size}.png"] = pngs[size]
    written[STAMP] = f"{source_digest()}  bwdesk.svg\n".encode()
    for path, data in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    return list(written)


def check() -> list[str]:
    """Problems that mean someone edited the SVG without regenerating (empty list: all good)."""
    problems = []
    expected = [*(png_path(s) for s in PNG_SIZES), ICO, ICNS, *runtime_files(), STAMP]
    problems += [f"missing {p.relative_to(ROOT)}" for p in expected if not p.exists()]
    if STAMP.exists() and STAMP.read_text().split()[:1] != [source_digest()]:
        problems.append(f"{STAMP.relative_to(ROOT)} does not match {SOURCE.relative_to(ROOT)}")
    runtime_svg = RUNTIME_DIR / "bwdesk.svg"
    if runtime_svg.exists() and runtime_svg.read_bytes() != SOURCE.read_bytes():
        problems.append(f"{runtime_svg.relative_to(ROOT)} differs from {SOURCE.relative_to(ROOT)}")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the generated files are current")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(f"make_icons: {problem} (run: python packaging/make_icons.py)", file=sys.stderr)
        return 1 if problems else 0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    for path in generate():
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
