"""The media list: links added, pasted, marked, reordered and removed; local files checked and uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QColor, QDropEvent, QFocusEvent, QGuiApplication, QImage
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from bwdesk.core.attachments import Attachment
from bwdesk.core.message import MAX_MEDIA, MAX_MEDIA_URL_LENGTH
from bwdesk.ui.media_list import ERROR_ROLE, ROW_MIME, MediaListWidget
from bwdesk.ui.style import Tone, tone_colour


@pytest.fixture
def media(qtbot) -> MediaListWidget:
    widget = MediaListWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def real_png(path: Path) -> Path:
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("orange"))
    assert image.save(str(path), "PNG")
    return path


def links(n: int, start: int = 0) -> list[str]:
    return [f"https://cdn.example.com/part-{i}.jpg" for i in range(start, start + n)]


def button(media: MediaListWidget, name: str) -> QPushButton:
    found = media.findChild(QPushButton, name)
    assert found is not None
    return found


def drop(target, mime: QMimeData, point) -> None:
    event = QDropEvent(
        QPointF(point),
        Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    target.dropEvent(event)


# --- links -------------------------------------------------------------------------------------------


def test_type_a_link_and_press_enter(qtbot, media) -> None:
    with qtbot.waitSignal(media.changed):
        qtbot.keyClicks(media.input(), "https://example.com/part.jpg")
        qtbot.keyClick(media.input(), Qt.Key.Key_Return)
    assert media.urls() == ["https://example.com/part.jpg"]
    assert media.input().text() == ""
    assert media.list_view().isVisible()


def test_links_typed_one_after_another_leave_only_the_last_selected(qtbot, media) -> None:
    """Delete removes the link in hand, never everything added so far."""
    for name in ("a", "b", "c"):
        qtbot.keyClicks(media.input(), f"https://example.com/{name}.jpg")
        qtbot.keyClick(media.input(), Qt.Key.Key_Return)
    view = media.list_view()
    assert [view.row(i) for i in view.selectedItems()] == [2] and view.currentRow() == 2
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert media.urls() == ["https://example.com/a.jpg", "https://example.com/b.jpg"]
    assert [view.row(i) for i in view.selectedItems()] == [1]


def test_a_link_with_a_stray_space_stays_one_marked_link(qtbot, media) -> None:
    qtbot.keyClicks(media.input(), "https://exa mple.com/4.jpg")
    qtbot.keyClick(media.input(), Qt.Key.Key_Return)
    assert media.urls() == ["https://exa mple.com/4.jpg"]
    assert "contains a space" in media.list_view().item(0).data(ERROR_ROLE)


def test_add_button_adds_the_typed_link(qtbot, media) -> None:
    media.input().setText("  https://example.com/a.png  ")
    qtbot.mouseClick(button(media, "mediaAdd"), Qt.MouseButton.LeftButton)
    assert media.urls() == ["https://example.com/a.png"]


def test_paste_several_links_at_once(qtbot, media) -> None:
    QGuiApplication.clipboard().setText(
        "https://a.example/1.png\nhttps://b.example/2.png   https://c.example/3.png\n"
    )
    media.input().setFocus()
    qtbot.keyClick(media.input(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert media.urls() == ["https://a.example/1.png", "https://b.example/2.png", "https://c.example/3.png"]
    assert media.input().text() == ""


def test_paste_of_one_link_goes_into_the_input(qtbot, media) -> None:
    QGuiApplication.clipboard().setText("https://a.example/1.png")
    qtbot.keyClick(media.input(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert media.input().text() == "https://a.example/1.png"
    assert media.urls() == []


def test_invalid_links_stay_and_are_marked_with_the_reason(media) -> None:
    too_long = "https://example.com/" + "x" * (MAX_MEDIA_URL_LENGTH - 19)
    media.add_links(["ftp://files.example.com/a.png", "https://ok.example/b.png", "https://", too_long])
    assert len(media.urls()) == 4
    errors = media.errors()
    assert set(errors) == {0, 2, 3}
    assert "only http:// and https://" in errors[0]
    assert "no host name" in errors[2]
    assert str(MAX_MEDIA_URL_LENGTH) in errors[3]
    item = media.list_view().item(0)
    assert item.toolTip().startswith("Can't be sent:")
    assert "only http:// and https://" in item.toolTip()
    assert item.foreground().color() == tone_colour(Tone.PROBLEM, media.palette())
    assert item.data(Qt.ItemDataRole.AccessibleTextRole).startswith("Invalid link")
    # The error icon, not the caution one a link with a size warning gets (outside review).
    error_icon = media.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
    assert item.icon().pixmap(16).toImage() == error_icon.pixmap(16).toImage()
    valid = media.list_view().item(1)
    assert valid.data(ERROR_ROLE) == ""
    assert valid.toolTip().splitlines()[0] == "https://ok.example/b.png"


def test_fixing_order_updates_the_marks(qtbot, media) -> None:
    media.add_links(["https://ok.example/a.png", "mailto:someone@example.com"])
    assert set(media.errors()) == {1}
    media.move_row(1, 0)
    assert set(media.errors()) == {0}


def test_duplicates_collapse(media) -> None:
    assert media.add_links("https://a.example/1.png https://a.example/1.png") == 1
    assert media.add_links(["https://a.example/1.png "]) == 0
    assert media.urls() == ["https://a.example/1.png"]
    assert media.notice() == "Already in the list."


def test_at_most_ten_and_the_rest_refused_visibly(media) -> None:
    assert media.add_links(links(12)) == MAX_MEDIA
    assert media.urls() == links(10)
    assert media.notice() == "At most 10 media can go in one message; 2 links were not added."
    assert media.findChild(QLabel, "mediaNotice").isVisible()
    assert media.add_links(["https://late.example/x.png"]) == 0
    assert "1 link was not added" in media.notice()


def test_a_typed_link_over_the_limit_joins_marked_instead_of_being_left_behind(qtbot, media) -> None:
    """A typed link is never left out quietly: one too many is in the list, marked with core's reason."""
    media.add_links(links(10))
    media.input().setText("https://late.example/x.png")
    qtbot.keyClick(media.input(), Qt.Key.Key_Return)
    assert media.input().text() == ""
    assert media.urls() == [*links(10), "https://late.example/x.png"]
    assert set(media.errors()) == {10}
    assert "at most 10 media links" in media.errors()[10] and "Remove 1" in media.errors()[10]
    media.remove_row(0)
    assert media.errors() == {}


# --- text left in the input ---------------------------------------------------------------------------


@pytest.fixture
def media_and_next(qtbot) -> Iterator[tuple[MediaListWidget, QLineEdit]]:
    """The media list followed by another field, in a shown, active window (focus can really leave)."""
    host = QWidget()
    layout = QVBoxLayout(host)
    media = MediaListWidget()
    after = QLineEdit()
    layout.addWidget(media)
    layout.addWidget(after)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    media.input().setFocus()
    qtbot.waitUntil(media.input().hasFocus)
    yield media, after  # the host stays referenced while the test runs


def test_a_link_typed_but_not_confirmed_joins_the_list_when_the_field_is_left(qtbot, media_and_next) -> None:
    media, after = media_and_next
    qtbot.keyClicks(media.input(), "https://example.com/part.jpg")
    assert media.urls() == [] and media.pending_text() == "https://example.com/part.jpg"
    with qtbot.waitSignal(media.changed):
        after.setFocus()
    assert media.urls() == ["https://example.com/part.jpg"]
    assert media.pending_text() == ""


def test_an_invalid_link_left_in_the_field_joins_marked_with_its_reason(qtbot, media_and_next) -> None:
    media, _after = media_and_next
    qtbot.keyClicks(media.input(), "www.example.com/part.jpg")
    qtbot.keyClick(media.input(), Qt.Key.Key_Tab)  # Tab leaves the field too
    qtbot.waitUntil(lambda: media.urls() == ["www.example.com/part.jpg"])
    assert not media.input().hasFocus() and media.input().text() == ""
    assert "only http:// and https://" in media.errors()[0]
    assert media.list_view().item(0).foreground().color() == tone_colour(Tone.PROBLEM, media.palette())


def test_switching_windows_or_a_menu_keeps_the_link_being_typed(qtbot, media) -> None:
    media.input().setText("https://example.com/pa")
    for reason in (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason):
        QApplication.sendEvent(media.input(), QFocusEvent(QEvent.Type.FocusOut, reason))
    assert media.urls() == [] and media.pending_text() == "https://example.com/pa"
    assert media.commit_pending_text() == 1  # what Send calls
    assert media.urls() == ["https://example.com/pa"] and media.pending_text() == ""


def test_while_sending_leaving_the_field_changes_nothing(qtbot, media) -> None:
    media.input().setText("https://example.com/a.jpg")
    media.set_read_only(True)
    QApplication.sendEvent(media.input(), QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.TabFocusReason))
    assert media.commit_pending_text() == 0
    assert media.urls() == [] and media.pending_text() == "https://example.com/a.jpg"


def test_a_restored_draft_keeps_a_link_one_too_many(media) -> None:
    media.set_urls(links(11))
    assert media.urls() == links(11)
    assert set(media.errors()) == {10}


def test_reorder_with_alt_up_and_alt_down(qtbot, media) -> None:
    media.add_links(links(3))
    view = media.list_view()
    view.setCurrentRow(2)
    with qtbot.waitSignal(media.changed):
        qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert media.urls() == [links(3)[0], links(3)[2], links(3)[1]]
    assert view.currentRow() == 1
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)  # already first: stays
    assert media.urls() == [links(3)[2], links(3)[0], links(3)[1]]
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert media.urls() == [links(3)[0], links(3)[2], links(3)[1]]


def test_move_actions_are_there_for_menus_and_assistive_tools(media) -> None:
    media.add_links(links(3))
    view = media.list_view()
    names = {action.objectName(): action for action in view.actions()}
    assert {"media-up", "media-down", "media-remove", "media-copy"} <= set(names)
    view.setCurrentRow(0)
    assert not names["media-up"].isEnabled()
    names["media-down"].trigger()
    assert media.urls()[1] == links(3)[0]
    assert names["media-up"].isEnabled()


def test_reorder_by_drag_and_drop(media) -> None:
    media.add_links(links(3))
    view = media.list_view()
    mime = QMimeData()
    mime.setData(ROW_MIME, b"2")
    top_of_first = view.visualRect(view.model().index(0, 0)).topLeft() + QPointF(5, 2).toPoint()
    drop(view, mime, top_of_first)
    assert media.urls() == [links(3)[2], links(3)[0], links(3)[1]]
    mime = QMimeData()
    mime.setData(ROW_MIME, b"0")
    drop(view, mime, view.viewport().rect().bottomLeft() + QPointF(5, -2).toPoint())  # below the rows: end
    assert media.urls() == [links(3)[0], links(3)[1], links(3)[2]]


def test_remove_with_delete_and_with_the_x(qtbot, media) -> None:
    media.add_links(links(3))
    view = media.list_view()
    view.setCurrentRow(1)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert media.urls() == [links(3)[0], links(3)[2]]
    with qtbot.waitSignal(media.changed):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=media.remove_button_rect(0).center())
    assert media.urls() == [links(3)[2]]


def test_read_only_refuses_every_change(qtbot, media) -> None:
    media.add_links(links(2))
    media.set_read_only(True)
    view = media.list_view()
    view.setCurrentRow(1)
    with qtbot.assertNotEmitted(media.changed):
        qtbot.keyClick(view, Qt.Key.Key_Delete)
        qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=media.remove_button_rect(0).center())
        assert media.add_links(["https://new.example/x.png"]) == 0
    assert media.urls() == links(2)
    assert media.input().isReadOnly()
    assert not button(media, "mediaAdd").isEnabled()
    assert not button(media, "mediaAttach").isEnabled()
    media.set_read_only(False)
    assert media.add_links(["https://new.example/x.png"]) == 1


def test_set_urls_replaces_the_list(qtbot, media) -> None:
    media.add_links(links(2))
    with qtbot.waitSignal(media.changed):
        media.set_urls(["https://restored.example/a.png", "https://restored.example/a.png", " "])
    assert media.urls() == ["https://restored.example/a.png"]


def test_set_errors_marks_a_link_until_the_next_change(media) -> None:
    media.add_links(links(2))
    media.set_errors({1: "the API could not fetch this file (4410)"})
    assert media.errors() == {1: "the API could not fetch this file (4410)"}
    media.add_links(links(1, start=5))
    assert media.errors() == {}


def test_accessible_names_and_tooltips(media) -> None:
    for widget in (media.input(), media.list_view(), button(media, "mediaAdd"), button(media, "mediaAttach")):
        assert widget.accessibleName()
        assert widget.toolTip()


# --- attachments ---------------------------------------------------------------------------------------


def test_attach_a_real_png_uploads_then_shows_the_file_name(qtbot, media, tmp_path: Path) -> None:
    photo = real_png(tmp_path / "photo.png")
    media.file_chooser = lambda: [str(photo)]
    with qtbot.waitSignal(media.upload_requested) as requested:
        qtbot.mouseClick(button(media, "mediaAttach"), Qt.MouseButton.LeftButton)
    attachment = requested.args[0]
    assert isinstance(attachment, Attachment)
    assert (attachment.content_type, attachment.size, attachment.path) == (
        "image/png",
        photo.stat().st_size,
        photo,
    )
    assert media.has_pending_uploads()
    assert media.urls() == []
    size = f"{photo.stat().st_size} bytes"
    assert media.list_view().item(0).text() == "photo.png"
    assert media.detail(0) == f"PNG image · {size} · uploading…"  # what it is, and how its upload goes
    assert media.findChild(QProgressBar, "mediaUploading").isVisible()

    url = f"https://messaging.bandwidth.com/api/v2/users/1/media/{attachment.name}"
    with qtbot.waitSignal(media.changed):
        assert media.upload_finished(attachment, url)
    assert not media.has_pending_uploads()
    assert media.urls() == [url]
    item = media.list_view().item(0)
    assert item.text() == "photo.png" and media.detail(0) == f"PNG image · {size} · uploaded"
    assert url in item.toolTip()
    assert item.data(Qt.ItemDataRole.AccessibleTextRole) == f"photo.png, PNG image · {size} · uploaded"
    assert not media.findChild(QProgressBar, "mediaUploading").isVisible()


def test_files_that_cannot_be_sent_are_explained_and_not_uploaded(qtbot, media, tmp_path: Path) -> None:
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ" + b"\x00" * 100)
    big = tmp_path / "scan.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(5_200_000)
    with qtbot.assertNotEmitted(media.upload_requested):
        assert media.attach_files([exe, big]) == []
    notice = media.notice()
    assert "setup.exe: this file type (.exe) can't be sent by MMS" in notice
    assert "scan.pdf is 5.2 MB; MMS attachments can be at most 3.5 MB" in notice
    assert media.urls() == []
    assert not media.has_pending_uploads()


def test_a_failed_upload_stays_marked_with_why_until_uploaded_again_or_removed(
    qtbot, media, tmp_path: Path
) -> None:
    """Not a notice that outlives it: the row itself says it failed, for as long as it has."""
    photo = real_png(tmp_path / "photo.png")
    [attachment] = media.attach_files([photo])
    assert media.upload_failed(attachment, "the server said 415 (unsupported media type)")
    assert media.list_view().count() == 1 and media.urls() == []
    assert media.detail(0).endswith("upload failed")
    assert "the server said 415" in media.list_view().item(0).toolTip()
    assert media.failed_uploads() == [(attachment, "the server said 415 (unsupported media type)")]
    assert media.notice() == ""
    media.list_view().setCurrentRow(0)
    again = media.list_view().findChild(QAction, "media-again")
    assert again.isVisible() and again.isEnabled()
    with qtbot.waitSignal(media.upload_requested) as requested:
        again.trigger()
    assert requested.args == [attachment] and media.has_pending_uploads() and not media.failed_uploads()
    assert media.detail(0).endswith("uploading…")
    media.upload_failed(attachment, "no connection")
    media.remove_row(0)
    assert media.failed_uploads() == [] and media.list_view().count() == 0


def test_removing_an_upload_in_progress_cancels_it(qtbot, media, tmp_path: Path) -> None:
    [attachment] = media.attach_files([real_png(tmp_path / "photo.png")])
    media.list_view().setCurrentRow(0)
    with qtbot.waitSignal(media.upload_cancelled) as cancelled:
        qtbot.keyClick(media.list_view(), Qt.Key.Key_Delete)
    assert cancelled.args == [attachment]
    assert not media.upload_finished(attachment, "https://late.example/x.png")
    assert media.urls() == []


def test_files_dropped_on_the_widget_are_attached(qtbot, media, tmp_path: Path) -> None:
    photo = real_png(tmp_path / "dropped.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    with qtbot.waitSignal(media.upload_requested) as requested:
        drop(media, mime, media.rect().center())
    assert requested.args[0].file_name == "dropped.png"
    mime = QMimeData()
    mime.setUrls([QUrl("https://web.example/pic.jpg")])
    drop(media.list_view(), mime, media.list_view().viewport().rect().center())
    assert media.urls() == ["https://web.example/pic.jpg"]


def test_uploads_in_progress_count_toward_the_limit(qtbot, media, tmp_path: Path) -> None:
    media.add_links(links(9))
    first = real_png(tmp_path / "a.png")
    second = real_png(tmp_path / "b.png")
    accepted = media.attach_files([first, second])
    assert [a.file_name for a in accepted] == ["a.png"]
    assert media.notice() == "At most 10 media can go in one message; 1 file was not added."


def test_size_warnings_follow_the_rows_and_the_from_number(qtbot, media) -> None:
    """Warnings are recomputed from what is there now: they go as soon as they are no longer true."""
    from bwdesk.ui.media_rows import Preview

    media.add_links(["https://cdn.example.com/a.jpg"])
    assert media.warnings() == []
    media.set_preview("https://cdn.example.com/a.jpg", Preview("JPEG image", 600_000))
    assert media.detail(0) == "JPEG image · 600 KB" and media.warnings() == []
    media.set_sender("+18005550100")  # toll-free: 525 KB in all
    assert len(media.warnings()) == 1 and "525 KB" in media.warnings()[0]
    media.set_sender("+19195550100")
    assert media.warnings() == []
    media.set_preview(
        "https://cdn.example.com/a.jpg", Preview("JPEG image", 600_000, warnings=("It moved.",))
    )
    assert media.warnings() == ["⚠ a.jpg: It moved."] and media.detail(0).startswith("⚠")
    media.remove_row(0)
    assert media.warnings() == []


def test_the_attach_button_says_the_list_is_full_only_while_it_is(qtbot, media) -> None:
    attach = button(media, "mediaAttach")
    usual = attach.toolTip()
    media.add_links(links(MAX_MEDIA))
    assert attach.toolTip() == f"The list is full (at most {MAX_MEDIA})."
    media.remove_row(0)
    assert attach.toolTip() == usual
