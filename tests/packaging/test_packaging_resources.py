"""The icon set, the desktop entry and the AppStream metainfo that the installers ship."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import QByteArray
from PySide6.QtGui import QImage, QImageReader
from PySide6.QtSvg import QSvgRenderer

import bwdesk
from bwdesk.resources import icon_pngs, icon_svg

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
DESKTOP = RESOURCES / "bwdesk.desktop"
METAINFO = RESOURCES / "io.github.bwdesk.bwdesk.metainfo.xml"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def load_make_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "packaging" / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_all(path: Path) -> list[QImage]:
    reader = QImageReader(str(path))
    images = []
    for index in range(reader.imageCount()):
        assert reader.jumpToImage(index), f"{path.name}: cannot seek to image {index}"
        image = reader.read()
        assert not image.isNull(), f"{path.name}: image {index} does not decode: {reader.errorString()}"
        images.append(image)
    return images


def opaque_centre(image: QImage) -> bool:
    return image.pixelColor(image.width() // 2, image.height() // 2).alpha() == 255


# --- icons -------------------------------------------------------------------------------------------


def test_svg_source_renders(qapp: object) -> None:
    renderer = QSvgRenderer(QByteArray(icon_svg().read_bytes()))
    assert renderer.isValid()
    assert (RESOURCES / "bwdesk.svg").read_bytes() == icon_svg().read_bytes()


@pytest.mark.parametrize("size", PNG_SIZES)
def test_png_sizes_exist_and_decode(qapp: object, size: int) -> None:
    image = QImage(str(RESOURCES / "icons" / f"bwdesk-{size}.png"))
    assert not image.isNull()
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()
    assert opaque_centre(image)


def test_runtime_icons_are_the_installed_ones(qapp: object) -> None:
    """The window icon the app loads (package data) is the same artwork the installers use."""
    for png in icon_pngs():
        assert png.is_file(), png
        assert png.read_bytes() == (RESOURCES / "icons" / png.name).read_bytes()
        size = int(png.stem.split("-")[1])
        assert QImage(str(png)).size().width() == size


def test_ico_holds_every_windows_size(qapp: object) -> None:
    images = read_all(RESOURCES / "bwdesk.ico")
    assert sorted(image.width() for image in images) == [16, 24, 32, 48, 64, 128, 256]
    assert all(image.width() == image.height() and opaque_centre(image) for image in images)


def test_icns_holds_every_macos_size(qapp: object) -> None:
    images = read_all(RESOURCES / "bwdesk.icns")
    assert {image.width() for image in images} == {16, 32, 64, 128, 256, 512, 1024}
    assert all(opaque_centre(image) for image in images)


def test_generated_icons_match_the_svg() -> None:
    """Editing the SVG without rerunning packaging/make_icons.py fails here."""
    assert load_make_icons().check() == []


def test_container_writers_round_trip_through_qt(qapp: object) -> None:
    """The hand-written ICO/ICNS containers are what Qt (and so Windows/macOS conventions) expect."""
    make_icons = load_make_icons()
    svg = icon_svg().read_bytes()
    images = {size: make_icons.render(svg, size) for size in (16, 32, 256)}
    ico = make_icons.ico_bytes(
        [(16, make_icons.dib_bytes(images[16])), (256, make_icons.png_bytes(images[256]))],
    )
    icns = make_icons.icns_bytes([(b"icp5", make_icons.png_bytes(images[32]))])
    assert ico[:6] == b"\0\0\1\0\2\0"
    assert icns[:4] == b"icns" and int.from_bytes(icns[4:8], "big") == len(icns)
    for data, fmt, expected in ((ico, "ico", [16, 256]), (icns, "icns", [32])):
        decoded = [QImage.fromData(data, fmt)]
        assert not decoded[0].isNull()
        assert decoded[0].width() in expected
    # The 16 px DIB keeps its transparent corners transparent.
    small = QImage.fromData(ico, "ico")
    assert small.width() == 16 and small.pixelColor(0, 0).alpha() == 0 and opaque_centre(small)


# --- desktop entry -----------------------------------------------------------------------------------


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def test_desktop_entry_launches_bwdesk_with_its_icon() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "bwdesk"
    assert entry["Icon"] == "bwdesk"
    assert entry["Terminal"] == "false"
    # Qt's xcb plugin sets WM_CLASS to the application name: the UI must call setApplicationName("bwdesk").
    assert entry["StartupWMClass"] == "bwdesk"
    assert "InstantMessaging" in entry["Categories"].split(";")


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="desktop-file-utils is not installed"
)
def test_desktop_entry_validates() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()


# --- AppStream metainfo ------------------------------------------------------------------------------


def test_metainfo_describes_this_version() -> None:
    component = ET.parse(METAINFO).getroot()
    assert component.get("type") == "desktop-application"
    assert component.findtext("id") == "io.github.bwdesk.bwdesk"
    assert component.findtext("launchable") == DESKTOP.name
    assert component.findtext("provides/binary") == "bwdesk"
    releases = component.findall("releases/release")
    assert releases, "no <release> entries"
    assert releases[0].get("version") == bwdesk.__version__, (
        f'add a <release version="{bwdesk.__version__}"> entry at the top of {METAINFO.name}'
    )


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream is not installed")
def test_metainfo_validates() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", "--pedantic", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
