"""A small real HTTP/1.1 server on 127.0.0.1 for looking at media links: pages by path, HEAD without a body,
`Range: bytes=0-N` honoured (206 with Content-Range), bodies sent at once or dribbled, every request kept.

    with MediaServer() as server:
        server.pages["/part.png"] = Page(body=PNG, headers={"Content-Type": "image/png"})
        ...
        assert server.methods("/part.png") == ["HEAD", "GET"]
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"x" * 5000


@dataclass
class Page:
    """What a path answers: status, headers, body; `head` overrides the status HEAD gets; `dribble` sends the
    body a byte at a time that many seconds apart."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    head: int | None = None
    ranges: bool = True
    dribble: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class MediaServer:
    """A small real HTTP/1.1 server: pages by path, HEAD without a body, Range honoured, every request kept."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.seen: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.seen.append(
                    Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                page = owner.pages.get(self.path.split("?")[0], Page(404, b"not here"))
                status, body = page.status, page.body
                if self.command == "HEAD" and page.head is not None:
                    status = page.head
                headers = {"Content-Length": str(len(body)), **page.headers}
                wanted = self.headers.get("Range", "")
                if self.command == "GET" and status == 200 and page.ranges and wanted.startswith("bytes=0-"):
                    end = min(int(wanted.removeprefix("bytes=0-")), len(body) - 1)
                    headers["Content-Range"] = f"bytes 0-{end}/{len(body)}"
                    body = body[: end + 1]
                    headers["Content-Length"] = str(len(body))
                    status = 206
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if page.dribble:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(page.dribble)
                    else:
                        self.wfile.write(body)
                except OSError:
                    pass  # the probe stopped reading: as it should

            do_HEAD = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def methods(self, path: str) -> list[str]:
        return [s.method for s in self.seen if s.path == path]

    def __enter__(self) -> MediaServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
