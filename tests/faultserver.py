"""A scriptable HTTP/1.1 server on 127.0.0.1, written on raw sockets so it can misbehave the way networks do.

Each test scripts what the server does with the next requests: answer (any status, headers, body), answer
late, read the whole request and then drop the connection (FIN or RST), or anything a callable decides.
It records every request (method, path, query, headers, body) so a test can assert, for example, that
exactly one POST reached it.

    with FaultServer() as server:
        server.on("POST", server.messages_path, drop(), accepted())
        ...
        assert server.count("POST", server.messages_path) == 1
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_ID = "9900000"


@dataclass(frozen=True)
class Recorded:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]  # keys lower-case
    body: bytes
    connection: int  # which accepted connection (1-based) carried it

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """Answer with this status, headers and body, optionally after `delay` seconds; `close` ends the connection."""

    status: int
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, dict | list):
            headers.setdefault("Content-Type", "application/json")
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        return body, headers


@dataclass(frozen=True)
class Drop:
    """Read the whole request, then close without a word (`reset=True`: an RST instead of a FIN)."""

    reset: bool = False
    delay: float = 0.0


Action = Reply | Drop | Callable[[Recorded], "Reply | Drop"]

# --- ready-made behaviours --------------------------------------------------------------------------


def accepted(message_id: str = "1589228074636lm4k2je7j7jklbn2", segments: int = 1, **fields: Any) -> Reply:
    body = {
        "id": message_id,
        "owner": "+19195550100",
        "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
        "time": "2026-11-27T10:15:02.123Z",
        "segmentCount": segments,
        "direction": "out",
        "to": ["+19195550123"],
        "from": "+19195550100",
        **fields,
    }
    return Reply(202, body)


def bandwidth_error(
    status: int, type_: str, description: str, field_errors: Iterable[tuple[str, str]] = ()
) -> Reply:
    body: dict[str, Any] = {"type": type_, "description": description}
    errors = [{"fieldName": name, "description": text} for name, text in field_errors]
    if errors:
        body["fieldErrors"] = errors
    return Reply(status, body)


QUEUE_FULL = (
    "The SMS queue for your account is full and cannot accept more messages right now. "
    "Your allowed rate is 60 messages per minute."
)


def too_many(retry_after: str | int | None = None, headers: Mapping[str, str] | None = None) -> Reply:
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = str(retry_after)
    return Reply(429, {"type": "max-message-queue-size-exceeded", "description": QUEUE_FULL}, extra)


def html_502() -> Reply:
    page = (
        "<html><head><title>502 Bad Gateway</title></head>"
        "<body><center><h1>502 Bad Gateway</h1></center><hr><center>corporate-proxy</center></body></html>"
    )
    return Reply(502, page, {"Content-Type": "text/html"})


def malformed_json(status: int) -> Reply:
    return Reply(status, b'{"type": "internal-error", "descrip', {"Content-Type": "application/json"})


def garbage(status: int = 202) -> Reply:
    return Reply(status, b"\x00\xffnot json at all", {"Content-Type": "application/json"})


def slow(delay: float, reply: Reply | None = None) -> Reply:
    base = reply or accepted()
    return Reply(base.status, base.body, base.headers, delay=delay, close=base.close)


def drop(*, reset: bool = False) -> Drop:
    return Drop(reset=reset)


def token(access_token: str = "token-1", expires_in: int | str = 3600) -> Reply:
    return Reply(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in})


def refused_port() -> int:
    """A loopback port with nothing listening: bound, never listened on, closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- the server -------------------------------------------------------------------------------------


class _Route:
    def __init__(self, actions: Iterable[Action], repeat_last: bool) -> None:
        self.queue: deque[Action] = deque(actions)
        self.repeat_last = repeat_last

    def next(self) -> Action | None:
        if not self.queue:
            return None
        if self.repeat_last and len(self.queue) == 1:
            return self.queue[0]
        return self.queue.popleft()


class FaultServer:
    """The server; a context manager. Bandwidth-like paths are available as `api_base`, `token_url`, ...."""

    def __init__(self, default: Action | None = None, *, port: int = 0) -> None:
        self.default: Action = default or Reply(
            404, {"type": "not-found", "description": "nothing scripted for this request"}
        )
        self.requests: list[Recorded] = []
        self.connections = 0
        self.unreadable = 0  # connections that sent something that is not HTTP (e.g. a TLS hello)
        self._routes: dict[tuple[str, str], _Route] = {}
        self._script: deque[Action] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._clients: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self._accepter: threading.Thread | None = None

    # --- addresses ---
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v2"

    @property
    def token_url(self) -> str:
        return f"{self.url}/api/v1/oauth2/token"

    token_path = "/api/v1/oauth2/token"
    messages_path = f"/api/v2/users/{ACCOUNT_ID}/messages"
    media_list_path = f"/api/v2/users/{ACCOUNT_ID}/media"

    @staticmethod
    def media_path(name: str) -> str:
        return f"/api/v2/users/{ACCOUNT_ID}/media/{name}"

    # --- scripting ---
    def on(self, method: str, path: str, *actions: Action, repeat_last: bool = False) -> FaultServer:
        """What to do, in order, with the next requests to `method path` (the last repeats if asked)."""
        with self._lock:
            self._routes[(method.upper(), path)] = _Route(actions, repeat_last)
        return self

    def script(self, *actions: Action) -> FaultServer:
        """What to do with the next requests that no route matches."""
        with self._lock:
            self._script.extend(actions)
        return self

    def count(self, method: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper()) and (path is None or r.path == path)
            )

    def received(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper()) and (path is None or r.path == path)
            ]

    # --- lifecycle ---
    def __enter__(self) -> FaultServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._listener.listen(64)
        self._accepter = threading.Thread(target=self._accept_loop, name="faultserver-accept", daemon=True)
        self._accepter.start()

    def stop(self) -> None:
        self._stop.set()
        # Wake accept() portably: connect to ourselves, then close the listener.
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
            pass
        self._listener.close()
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            _close_quietly(sock)
        for thread in [self._accepter, *self._threads]:
            if thread is not None:
                thread.join(timeout=5)

    # --- internals ---
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self._stop.is_set():
                _close_quietly(sock)
                return
            with self._lock:
                self.connections += 1
                index = self.connections
                self._clients.add(sock)
            thread = threading.Thread(
                target=self._serve, args=(sock, index), name=f"faultserver-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _next_action(self, request: Recorded) -> Action:
        with self._lock:
            route = self._routes.get((request.method, request.path))
            action = route.next() if route is not None else None
            if action is None and route is None and self._script:
                action = self._script.popleft()
        return action if action is not None else self.default

    def _serve(self, sock: socket.socket, index: int) -> None:
        sock.settimeout(30)
        reader = sock.makefile("rb")
        try:
            first = sock.recv(1, socket.MSG_PEEK)
            if first == b"\x16":  # a TLS ClientHello: this server speaks plain HTTP only
                with self._lock:
                    self.unreadable += 1
                return
            while not self._stop.is_set():
                request = _read_request(reader, index)
                if request is None:
                    return
                if request is _UNREADABLE:
                    with self._lock:
                        self.unreadable += 1
                    return
                assert isinstance(request, Recorded)
                with self._lock:
                    self.requests.append(request)
                action = self._next_action(request)
                if callable(action) and not isinstance(action, Reply | Drop):
                    action = action(request)
                if isinstance(action, Drop):
                    if action.delay and self._stop.wait(action.delay):
                        return
                    if action.reset:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if action.delay and self._stop.wait(action.delay):
                    return
                body, headers = action.encoded()
                close = action.close or request.headers.get("connection", "").lower() == "close"
                sock.sendall(_response_bytes(action.status, headers, body, close))
                if close:
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(sock)
            _close_quietly(reader)
            _close_quietly(sock)


_UNREADABLE = object()


def _read_request(reader: Any, index: int) -> Recorded | object | None:
    line = reader.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = reader.readline(65537)
    if not line:
        return None
    try:
        method, target, version = line.decode("ascii").split()
    except (UnicodeDecodeError, ValueError):
        return _UNREADABLE
    if not version.startswith("HTTP/1."):
        return _UNREADABLE
    headers: dict[str, str] = {}
    while True:
        raw = reader.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(reader.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                reader.readline()
                break
            chunks.append(reader.read(size))
            reader.readline()
        body = b"".join(chunks)
    else:
        body = reader.read(int(headers.get("content-length", "0") or 0))
    return Recorded(method.upper(), target, headers, body, index)


def _response_bytes(status: int, headers: Mapping[str, str], body: bytes, close: bool) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lower = {k.lower() for k in headers}
    for name, value in headers.items():
        lines.append(f"{name}: {value}")
    if "content-length" not in lower and status not in (204, 304):
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _close_quietly(thing: Any) -> None:
    if isinstance(thing, socket.socket):
        with contextlib.suppress(OSError):
            thing.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it; close() alone does not
    with contextlib.suppress(OSError):
        thing.close()


class FakeTime:
    """An injectable clock, sleep and random: sleeping only moves the clock, and every sleep is recorded."""

    def __init__(self, random_value: float = 0.0, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.random_value = random_value

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def random(self) -> float:
        return self.random_value

    def advance(self, seconds: float) -> None:
        self.now += seconds
