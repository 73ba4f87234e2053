"""Looks at the composer's media in the background, one at a time, remembered for a while: a file's thumbnail, a
link's type, size and answer (docs/design.md §8.7)."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QSize, Qt, Slot
from PySide6.QtGui import QImage, QImageReader

from bwdesk.core.api import is_loopback
from bwdesk.ui.media_list import MediaListWidget
from bwdesk.ui.media_rows import ICON_SIZE, Preview
from bwdesk.ui.tasks import BackgroundTasks

if TYPE_CHECKING:
    from bwdesk.core.attachments import Attachment
    from bwdesk.core.bandwidth import BandwidthClient
    from bwdesk.core.media_probe import MediaProbe

    Target = Attachment | str  # a row is looked at as its file, or as its link

log = logging.getLogger(__name__)

CACHE_ENTRIES = 64  # looks remembered (links and files); the oldest go first
LINK_FRESH_SECONDS = 300.0  # a link is looked at again after this long (a 404 may have been fixed)
MAX_PIXELS = 16_000_000  # larger images get no thumbnail (decoding one would take a lot of memory)
# The image formats a thumbnail is decoded from, by the type their first bytes show (never by what a
# server claims), and only those Qt can read without extra plugins.
_DECODABLE = {"image/jpeg": b"jpeg", "image/png": b"png", "image/gif": b"gif", "image/bmp": b"bmp"}
SANDBOX_NOTE = "Not looked at: in the sandbox nothing leaves this computer."


class MediaPreviews(QObject):
    """Keeps `media_list`'s rows looked at: each new file or link is looked at once (then from the cache)."""

    def __init__(
        self,
        media_list: MediaListWidget,
        tasks: BackgroundTasks,
        parent: QObject | None = None,
        *,
        local_only: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._list = media_list
        self._local_only = local_only
        self._tasks = tasks
        self._clock = clock
        self._client: BandwidthClient | None = None
        # Links wait for the services: an uploaded file's link can only be fetched with the account's client.
        self._links_allowed = False
        self._probe = _ProbeHolder()
        self._cache: OrderedDict[Target, tuple[float, Preview]] = OrderedDict()
        self._queue: deque[Target] = deque()
        self._looking: Target | None = None
        self._closed = False
        media_list.changed.connect(self.look)

    def use_client(self, client: BandwidthClient | None, *, ready: bool = False) -> None:
        """The account's client for its own uploads. Links wait until the services are `ready` (the client
        may then be None: no account); with a new client (new settings) links are looked at afresh."""
        if client is not self._client:
            for target in [t for t in self._cache if isinstance(t, str)]:
                del self._cache[target]
        self._client = client
        self._links_allowed = ready
        if ready:
            self.look()

    def shut_down(self) -> None:
        """No more looks; the probe's connections close (call after the workers are done)."""
        self._closed = True
        self._queue.clear()
        self._probe.close()

    def cached(self) -> int:
        return len(self._cache)

    @Slot()
    def look(self) -> None:
        """Give every row without a preview what is known, and queue a look at the rest."""
        if self._closed:
            return
        for target in self._list.preview_targets():
            known = self._remembered(target)
            if known is not None:
                self._list.set_preview(target, known)
            elif isinstance(target, str) and self._local_only and not _to_this_computer(target):
                self._seen(target, Preview(note=SANDBOX_NOTE), next_look=False)
            elif (
                target != self._looking
                and target not in self._queue
                and (not isinstance(target, str) or self._links_allowed)
            ):
                self._queue.append(target)
        self._next()

    def _remembered(self, target: Target) -> Preview | None:
        entry = self._cache.get(target)
        if entry is None:
            return None
        seen, preview = entry
        if isinstance(target, str) and self._clock() - seen > LINK_FRESH_SECONDS:
            del self._cache[target]
            return None
        self._cache.move_to_end(target)
        return preview

    def _next(self) -> None:
        if self._looking is not None or not self._queue or self._closed:
            return
        target = self._queue.popleft()
        self._looking = target
        if isinstance(target, str):
            work: Callable[[], Preview] = functools.partial(look_at_link, target, self._probe, self._client)
        else:
            work = functools.partial(look_at_file, target)
        self._tasks.run(
            work,
            functools.partial(self._seen, target),
            functools.partial(self._failed, target),
            description="look at media",
            owner=self,
        )

    def _seen(self, target: Target, preview: Preview, *, next_look: bool = True) -> None:
        if next_look:
            self._looking = None
        self._cache[target] = (self._clock(), preview)
        self._cache.move_to_end(target)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        self._list.set_preview(target, preview)
        if next_look:
            self._next()

    def _failed(self, target: Target, exc: BaseException) -> None:
        """A look is a courtesy: a bug in it is logged, and the row says it could not be looked at."""
        log.error("looking at media failed: %s", type(exc).__name__, exc_info=(type(exc), exc, None))
        self._seen(target, Preview(note=f"It could not be looked at ({type(exc).__name__})."))


def _to_this_computer(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return is_loopback(host)


class _ProbeHolder:
    """The probe (and its connections), made on a worker the first time a link is looked at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._probe: MediaProbe | None = None

    def get(self) -> MediaProbe:
        with self._lock:
            if self._probe is None:
                from bwdesk.core.media_probe import MediaProbe  # the network stack, on a worker only

                self._probe = MediaProbe()
            return self._probe

    def close(self) -> None:
        with self._lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None


# --- on a worker ------------------------------------------------------------------------------------------


def look_at_file(attachment: Attachment) -> Preview:
    """A local file: its type and size as checked, and a thumbnail when its bytes are an image."""
    from bwdesk.core.attachments import sniff_image_type
    from bwdesk.core.media_info import describe_type

    thumbnail = None
    if attachment.content_type in _DECODABLE:
        try:
            data = attachment.read_data()
        except Exception:
            data = b""
        thumbnail = thumbnail_of(data, sniff_image_type(data[:64]))
    return Preview(describe_type(attachment.content_type), attachment.size, thumbnail)


def look_at_link(url: str, probe: _ProbeHolder, client: BandwidthClient | None) -> Preview:
    """A link: the account's own upload through its client, any other with the anonymous probe."""
    from bwdesk.core.media_info import describe_type, link_warnings
    from bwdesk.core.media_probe import READ_CAP

    if client is not None and client.owns_media(url):
        info = client.look_at_media(url, READ_CAP)
    else:
        info = probe.get().probe(url)
    found = info.found
    return Preview(
        describe_type(info.media_type) if found else "",
        info.size if found else None,
        thumbnail_of(info.image, info.sniffed_type),
        tuple(link_warnings(info)),
        f"It could not be looked at: {info.problem}." if info.problem else "",
    )


def thumbnail_of(data: bytes, image_type: str | None) -> QImage | None:
    """A small image of `data` (decoded as the type its bytes show, and only a few common ones), or None."""
    image_format = _DECODABLE.get(image_type or "")
    if not data or image_format is None or image_format not in QImageReader.supportedImageFormats():
        return None
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(image_format))
    size = reader.size()
    if not size.isValid() or size.width() * size.height() > MAX_PIXELS:
        return None
    reader.setScaledSize(size.scaled(QSize(ICON_SIZE, ICON_SIZE), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    buffer.close()
    return None if image.isNull() else image
