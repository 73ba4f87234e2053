"""Media in the real window: each row shows what it is (a thumbnail, its type and size, an attachment's upload
state), looked at in the background against real servers (links on 127.0.0.1, uploads in the sandbox), with
warnings that never block Send; and notices about the media go once they are no longer true."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from bwdesk.core import paths
from bwdesk.core.media_probe import MediaProbe
from bwdesk.sandbox import Fault, FaultKind
from bwdesk.sandbox_profile import sandbox_context
from bwdesk.ui.main_window import MainWindow
from bwdesk.ui.media_rows import THUMBNAIL_ROLE
from bwdesk.ui.tasks import BackgroundTasks
from tests.mediaserver import PDF, MediaServer, Page


@pytest.fixture
def window(qtbot, sandbox, profile):
    context = sandbox_context(sandbox, paths.sandbox_profile_dir(profile))
    made = MainWindow(context, BackgroundTasks())
    qtbot.addWidget(made)
    made.show()
    qtbot.waitUntil(lambda: made._ready, timeout=10_000)
    yield made
    made.tasks.wait_for_threads(10_000)


@pytest.fixture
def server():
    with MediaServer() as running:
        yield running


def photo(path: Path, size: int = 64) -> Path:
    image = QImage(size, size // 2, QImage.Format.Format_RGB32)
    image.fill(QColor("orange"))
    assert image.save(str(path), "PNG")
    return path


def ready_to_send(qtbot, window: MainWindow) -> None:
    qtbot.keyClicks(window.composer.recipients.line_edit(), "9195550123,")
    window.composer.text_edit.set_text("Your part")


def test_an_attached_image_shows_a_thumbnail_its_type_size_and_upload_state(qtbot, window, tmp_path) -> None:
    media = window.composer.media_list
    picture = photo(tmp_path / "part.png")
    media.attach_files([picture])
    size = f"{picture.stat().st_size} bytes"
    assert media.detail(0) in (f"PNG image · {size} · uploading…", f"PNG image · {size} · uploaded")
    qtbot.waitUntil(lambda: media.detail(0) == f"PNG image · {size} · uploaded", timeout=10_000)
    qtbot.waitUntil(lambda: media.list_view().item(0).data(THUMBNAIL_ROLE) is not None, timeout=10_000)
    thumbnail = media.list_view().item(0).data(THUMBNAIL_ROLE).pixmap(64, 64)
    assert max(thumbnail.width(), thumbnail.height()) <= 28  # made small, on a worker, from the file itself
    assert len(media.urls()) == 1 and window.services.client.owns_media(media.urls()[0])


def test_a_link_is_looked_at_in_the_background_and_warned_about_without_blocking_send(
    qtbot, window, server, monkeypatch
) -> None:
    server.pages["/guide.pdf"] = Page(body=PDF, headers={"Content-Type": "application/pdf"})
    server.pages["/poster.jpg"] = Page(
        body=b"\xff\xd8\xff" + b"j" * 4_000_000, headers={"Content-Type": "image/jpeg"}
    )
    threads: list[threading.Thread] = []
    real_probe = MediaProbe.probe

    def probe_and_note_the_thread(self: MediaProbe, url: str):
        threads.append(threading.current_thread())
        return real_probe(self, url)

    monkeypatch.setattr(MediaProbe, "probe", probe_and_note_the_thread)
    ready_to_send(qtbot, window)
    media = window.composer.media_list
    media.add_links([f"{server.url}/guide.pdf", f"{server.url}/gone.jpg", f"{server.url}/poster.jpg"])
    assert media.detail(0) == "checking…"
    qtbot.waitUntil(lambda: media.detail(0) == f"PDF · {len(PDF) / 1000:.0f} KB", timeout=10_000)
    qtbot.waitUntil(lambda: media.detail(2).startswith("JPEG image · 4.0 MB"), timeout=10_000)
    assert media.detail(1).startswith("⚠")
    warnings = media.warnings()
    assert any(w.startswith("⚠ gone.jpg: The link answers 404") and "4410" in w for w in warnings), warnings
    assert any(w.startswith("⚠ poster.jpg is 4.0 MB") for w in warnings), warnings
    assert any("Together the media are 4.0 MB" in w for w in warnings), warnings
    assert threads and all(t is not threading.main_thread() for t in threads)
    qtbot.waitUntil(window.composer.send_button.isEnabled)  # warnings, not refusals: the agent decides
    assert window.composer.reason().startswith("Ready to send")

    # A link seen a moment ago is not fetched again; and its warning goes with it.
    asked = len(server.seen)
    media.remove_row(1)
    media.add_links([f"{server.url}/gone.jpg"])
    assert media.detail(2).startswith("⚠") and len(server.seen) == asked
    media.set_urls([f"{server.url}/guide.pdf"])
    assert media.warnings() == []


def test_an_upload_of_the_account_is_looked_at_with_its_client(qtbot, window) -> None:
    """A draft restored after a restart holds the uploaded file's link, not the file: its preview comes from
    Bandwidth's media store, which only the account's credentials open."""
    client = window.services.client
    image = QImage(40, 20, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    url = client.upload_media("bwdesk-0000abcd-part.png", bytes(data.data()), "image/png")
    media = window.composer.media_list
    media.set_urls([url])
    qtbot.waitUntil(lambda: media.detail(0).startswith("PNG image"), timeout=10_000)
    assert media.warnings() == []
    qtbot.waitUntil(lambda: media.list_view().item(0).data(THUMBNAIL_ROLE) is not None)


def test_media_notices_go_after_the_send_and_after_a_new_message(qtbot, window, sandbox, monkeypatch) -> None:
    composer = window.composer
    media = composer.media_list
    ready_to_send(qtbot, window)
    link = "https://cdn.example.com/part.jpg"
    media.add_links([link])
    assert "nothing leaves this computer" in media.list_view().item(0).toolTip()  # the sandbox looks locally
    media.add_links([link])
    assert media.notice() == "Already in the list."
    window.session.send_draft()
    qtbot.waitUntil(
        lambda: composer.recipients.model().rowCount() == 0 and not window.session.is_busy(), timeout=10_000
    )
    assert media.notice() == "" and media.warnings() == []  # about the message that went

    media.add_links([link, link])
    assert media.notice() == "Already in the list."
    monkeypatch.setattr(window.feedback, "ask", lambda *args: True)
    window.session.new_message()
    assert media.notice() == ""


def test_a_failed_upload_blocks_send_with_why_and_goes_with_a_new_message(
    qtbot, window, sandbox, tmp_path, monkeypatch
) -> None:
    sandbox.inject(Fault(FaultKind.SERVER_ERROR, times=None, method="PUT", path_suffix=".png"))
    composer = window.composer
    media = composer.media_list
    ready_to_send(qtbot, window)
    media.attach_files([photo(tmp_path / "part.png")])
    qtbot.waitUntil(lambda: media.detail(0).endswith("upload failed"), timeout=10_000)
    assert not composer.send_button.isEnabled()
    assert composer.reason().startswith("Media: part.png could not be uploaded (")
    monkeypatch.setattr(window.feedback, "ask", lambda *args: True)
    window.session.new_message()
    assert media.list_view().count() == 0 and media.failed_uploads() == []
    assert "could not be uploaded" not in composer.reason()


def png_header(width: int, height: int) -> bytes:
    """The start of a PNG that says how large it is (all a reader needs to refuse it)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def test_thumbnails_only_of_images_of_a_sane_size(tmp_path) -> None:
    from bwdesk.ui.media_preview import thumbnail_of

    data = photo(tmp_path / "wide.png", size=200).read_bytes()
    small = thumbnail_of(data, "image/png")
    assert small is not None and (small.width(), small.height()) == (28, 14)
    assert thumbnail_of(png_header(20_000, 20_000), "image/png") is None  # 400 megapixels: not decoded
    assert thumbnail_of(data, "image/svg+xml") is None and thumbnail_of(data, None) is None


def test_looks_are_remembered_for_a_while_and_only_so_many(qtbot, server, monkeypatch) -> None:
    from bwdesk.ui import media_preview
    from bwdesk.ui.media_list import MediaListWidget
    from bwdesk.ui.media_preview import LINK_FRESH_SECONDS, MediaPreviews

    monkeypatch.setattr(media_preview, "CACHE_ENTRIES", 2)
    for name in ("a", "b", "c"):
        server.pages[f"/{name}.pdf"] = Page(body=PDF, headers={"Content-Type": "application/pdf"})
    now = [1000.0]
    media = MediaListWidget()
    qtbot.addWidget(media)
    tasks = BackgroundTasks()
    previews = MediaPreviews(media, tasks, clock=lambda: now[0])
    previews.use_client(None, ready=True)

    def look_at(name: str) -> None:
        media.set_urls([f"{server.url}/{name}.pdf"])
        qtbot.waitUntil(lambda: media.detail(0).startswith("PDF"), timeout=10_000)

    look_at("a")
    look_at("a")
    assert server.methods("/a.pdf") == ["HEAD"]  # the second time from memory
    now[0] += LINK_FRESH_SECONDS + 1
    look_at("a")
    assert server.methods("/a.pdf") == ["HEAD", "HEAD"]  # a while later, looked at again
    look_at("b")
    look_at("c")
    assert previews.cached() == 2  # "a" went first
    look_at("a")
    assert server.methods("/a.pdf") == ["HEAD", "HEAD", "HEAD"]
    previews.shut_down()
    tasks.wait_for_threads(10_000)
