"""The sandbox's HTTP side: a standard-library server that answers like Bandwidth's Messaging API v2, in the order of
checks of §11.3, plus the loopback-only `/_sandbox/` control endpoints (docs/design.md §11.2, §11.7)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import ipaddress
import json
import logging
import re
import selectors
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from bwdesk.sandbox.clock import system_clock
from bwdesk.sandbox.faults import Fault, FaultKind, FaultQueue
from bwdesk.sandbox.identity import Identity, TestNumber
from bwdesk.sandbox.recorder import RequestLog, redact_headers
from bwdesk.sandbox.rules import MalformedBody, validate_message_request
from bwdesk.sandbox.store import QueryError, SandboxState, StoredMedia, rfc3339

log = logging.getLogger(__name__)

API_PREFIX = "/api/v2"
TOKEN_PATH = "/api/v1/oauth2/token"
CONTROL_PREFIX = "/_sandbox/"
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_MEDIA_BYTES = 3_932_160  # 3.75 MB, the per-file limit of the v2 media docs
# The upload content types the contract lists (uploadMediaRequest).
MEDIA_TYPES = frozenset(
    {
        "application/json",
        "application/ogg",
        "application/pdf",
        "application/rtf",
        "application/zip",
        "application/x-tar",
        "application/xml",
        "application/gzip",
        "application/x-bzip2",
        "application/x-gzip",
        "application/smil",
        "application/javascript",
        "audio/mp4",
        "audio/mpeg",
        "audio/ogg",
        "audio/flac",
        "audio/webm",
        "audio/wav",
        "audio/amr",
        "audio/3gpp",
        "image/bmp",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/jpeg",
        "image/pjpeg",
        "image/png",
        "image/svg+xml",
        "image/tiff",
        "image/webp",
        "image/x-icon",
        "text/css",
        "text/csv",
        "text/calendar",
        "text/html",
        "text/plain",
        "text/javascript",
        "text/vcard",
        "text/vnd.wap.wml",
        "text/xml",
        "video/avi",
        "video/mp4",
        "video/mpeg",
        "video/ogg",
        "video/quicktime",
        "video/webm",
        "video/x-ms-wmv",
        "video/x-flv",
    }
)

_API_PATH = re.compile(r"/api/v2/users/(?P<account>[^/]+)/(?P<kind>messages|media)(?:/(?P<media_id>.+))?")

# Bodies as Bandwidth documents them (reference §2.2); where none is documented, the same shape.
UNAUTHORIZED = {"type": "unauthorized", "description": "Authentication Failed"}
FORBIDDEN = {"type": "forbidden", "description": "Access Denied"}
REQUEST_INVALID = {"type": "request-validation", "description": "Your request could not be accepted"}
QUEUE_FULL = {
    "type": "max-message-queue-size-exceeded",
    "description": "The SMS queue for your account is full and cannot accept more messages right now. Your allowed "
    "rate is 60 messages per minute. The capacity of this queue is 900 messages (15 minutes). Reduce your message "
    "sending rate, or contact support to increase your allowed rate.",
}
RATE_LIMITED = {
    "type": "rate_limit_exceeded",
    "description": "Rate limit exceeded. Wait for Retry-After time before sending another request.",
}
SERVER_ERROR = {"type": "internal-server-error", "description": "An internal server error occurred"}
# Error 4482 said in the answer itself: its type is the code's name in Bandwidth's table of error codes.
BLOCKLISTED = {
    "type": "rejected-to-number-in-blacklist",
    "description": "The number you are attempting to send to is blocked from receiving messages.",
}
MEDIA_NOT_FOUND = {"type": "object-not-found", "description": "The requested media was not found"}
PROXY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>"
    b"\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
MALFORMED_JSON = b'{"id":"1589228074636lm4k2je7j7jklbn2","owner":"+1919555'


def unsupported_content_type(content_type: str, supported: str = "'application/json'") -> dict[str, str]:
    return {
        "type": "unsupported-content-type",
        "description": f"Content type '{content_type}' not supported. Please use {supported}",
    }


def spring_not_found(path: str, now: datetime) -> dict[str, Any]:
    """The body a Spring application answers for a path it does not know (reference §2.2)."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
    return {"timestamp": stamp, "status": 404, "error": "Not Found", "message": "Not Found", "path": path}


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # On Windows SO_REUSEADDR would let a second server take a port that is already in use.
    allow_reuse_address = sys.platform != "win32"
    # Requests from a test burst arrive faster than the default backlog of 5 is drained.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every keep-alive connection still open, so stop() leaves no thread blocked on a socket."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bwdesk-sandbox"
    timeout = 120  # an idle keep-alive connection is closed after this long
    server: _Server
    _status: int | None = None  # what this request was answered with, for the request log
    _seq: int | None = None  # this request's entry in the request log (None for control requests)
    _fault: Fault | None = None

    # --- plumbing ---------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms a reply.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, PROPFIND…) gets the API's 404/401/405 rather than http.server's HTML 501.
        if name.startswith("do_") and name[3:].isalpha():
            return self._handle
        raise AttributeError(name)

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    def _reply(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._status = status
        self._settle(status)  # before any byte goes out: a client that has its answer sees it in the log
        self.send_response(status)
        if status != 204 and status >= 200:
            if content_type is not None:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(body)

    def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(data).encode("utf-8"), "application/json", headers)

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None after answering a framing error."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self._framing_error("malformed chunked request body")
                    return None
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailers
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    self._framing_error("request body too large", 413)
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(16)
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        if not length_header.strip().isdigit():
            self._framing_error("invalid Content-Length")
            return None
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self._framing_error("request body too large", 413)
            return None
        return self.rfile.read(length)

    def _framing_error(self, description: str, status: int = 400) -> None:
        self.close_connection = True
        self._json(status, {"type": "request-validation", "description": description})

    # --- dispatch ---------------------------------------------------------------------------------

    def _settle(self, status: int | None) -> None:
        if self._seq is not None:
            fault = str(self._fault.kind) if self._fault else None
            self.sandbox.requests.settle(self._seq, status=status, fault=fault)

    def _handle(self) -> None:
        self._status = self._seq = self._fault = None
        raw_path, _, query_string = self.path.partition("?")
        body = self._read_body()
        if body is None:
            return
        if raw_path.startswith(CONTROL_PREFIX):
            self._control(raw_path[len(CONTROL_PREFIX) :], body)
            return

        sandbox = self.sandbox
        self._seq = sandbox.requests.record(
            time=rfc3339(sandbox.state.now()),
            method=self.command,
            path=raw_path,
            query=parse_qs(query_string, keep_blank_values=True),
            headers=redact_headers(list(self.headers.items())),
            json=_json_or_none(body, self.headers.get("Content-Type")),
            body_size=len(body),
        )
        self._fault = fault = sandbox.faults.take(self.command, raw_path)
        try:
            if fault is None or not self._inject(fault):
                self._route(raw_path, query_string, body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up before the answer (its read timeout): normal for a fake API under test.
            log.info("sandbox: the client went away before the answer to %s %s", self.command, raw_path)
            self.close_connection = True
        except Exception:
            log.exception("sandbox: internal error answering %s %s", self.command, raw_path)
            if self._status is None:
                self.close_connection = True
                self._json(500, SERVER_ERROR)
        finally:
            if self._status is None:  # dropped, or the sandbox stopped during a delay
                self._settle(None)

    def _inject(self, fault: Fault) -> bool:
        """Act out a fault; True if it answered (or dropped) the request, False to go on normally."""
        if fault.delay > 0 and self.sandbox.stopping.wait(fault.delay):
            self.close_connection = True
            return True
        kind = FaultKind(fault.kind)
        status = fault.http_status
        retry_after = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if kind is FaultKind.DELAY:
            return False
        if kind is FaultKind.DROP:
            self.close_connection = True
            self._settle(None)
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        assert status is not None
        if kind is FaultKind.QUEUE_FULL:
            self._json(status, QUEUE_FULL, retry_after)
        elif kind is FaultKind.RATE_LIMIT:
            self._json(status, RATE_LIMITED, retry_after)
        elif kind is FaultKind.SERVER_ERROR:
            self._json(status, SERVER_ERROR)
        elif kind is FaultKind.HTML_502:
            self._reply(status, PROXY_502, "text/html")
        elif kind is FaultKind.MALFORMED:
            self._reply(status, MALFORMED_JSON, "application/json")
        elif kind is FaultKind.REJECT:
            body: dict[str, Any] = {
                "type": "request-validation",
                "description": "Your request could not be accepted",
            }
            if fault.field_errors:
                body["fieldErrors"] = [{"fieldName": n, "description": d} for n, d in fault.field_errors]
            self._json(status, body)
        elif kind is FaultKind.BLOCKLISTED:
            self._json(status, BLOCKLISTED)
        return True

    def _route(self, raw_path: str, query_string: str, body: bytes) -> None:
        state = self.sandbox.state
        if raw_path == TOKEN_PATH:
            self._token(body)
            return
        match = _API_PATH.fullmatch(raw_path)
        if match is None or (match["kind"] == "messages" and match["media_id"] is not None):
            self._json(404, spring_not_found(raw_path, state.now()))
            return
        if not self._authenticated():
            self._json(401, UNAUTHORIZED)
            return
        if unquote(match["account"]) != self.sandbox.account_id:
            self._json(403, FORBIDDEN)
            return
        if match["kind"] == "messages":
            if self._allowed("GET", "POST") and self._acceptable("application/json"):
                if self.command == "POST":
                    self._create_message(body)
                else:  # GET or HEAD
                    self._list_messages(query_string)
        elif match["media_id"] is None:
            if self._allowed("GET") and self._acceptable("application/json"):
                self._list_media()
        elif self._allowed("GET", "PUT", "DELETE"):
            media_id = unquote(match["media_id"])
            if self.command in ("GET", "HEAD"):
                if self._acceptable("application/octet-stream"):
                    self._get_media(media_id)
            elif self._acceptable("application/json"):
                if self.command == "PUT":
                    self._put_media(media_id, body)
                elif self.command == "DELETE":
                    self.sandbox.state.delete_media(media_id)
                    self._reply(204)

    def _authenticated(self) -> bool:
        scheme, _, credentials = self.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "basic":
            user, password = _basic_credentials(credentials)
            identity = self.sandbox.identity
            return _same(user, identity.username) & _same(password, identity.password)
        if scheme.lower() == "bearer":
            return self.sandbox.state.token_valid(credentials.strip())
        return False

    def _allowed(self, *methods: str) -> bool:
        if self.command in methods or (self.command == "HEAD" and "GET" in methods):
            return True
        allow = ", ".join(methods)
        self._json(
            405,
            {
                "type": "method-not-allowed",
                "description": f"Request method '{self.command}' is not supported",
            },
            {"Allow": allow},
        )
        return False

    def _acceptable(self, offered: str) -> bool:
        accept = self.headers.get("Accept")
        if not accept or not accept.strip():
            return True
        main = offered.split("/", 1)[0]
        # JSON is always acceptable too: error bodies are JSON, and the official SDK asks for
        # `application/json` even when it downloads media.
        for media_range in accept.split(","):
            kind, *params = (p.strip().lower() for p in media_range.split(";"))
            if "q=0" in params or "q=0.0" in params:
                continue
            if kind in ("*/*", f"{main}/*", offered, "application/json"):
                return True
        self._json(406, {"type": "not-acceptable", "description": "Could not find acceptable representation"})
        return False

    # --- messages ---------------------------------------------------------------------------------

    def _create_message(self, body: bytes) -> None:
        content_type = self.headers.get("Content-Type")
        if content_type is None or content_type.split(";", 1)[0].strip().lower() != "application/json":
            self._json(415, unsupported_content_type(content_type or "application/octet-stream"))
            return
        try:
            payload = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError):
            self._json(400, REQUEST_INVALID)
            return
        state = self.sandbox.state
        try:
            result = validate_message_request(
                payload, application_ids={self.sandbox.application_id}, now=state.now()
            )
        except MalformedBody:
            self._json(400, REQUEST_INVALID)
            return
        if isinstance(result, list):
            self._json(400, {**REQUEST_INVALID, "fieldErrors": [e.to_json() for e in result]})
            return
        self._json(202, state.accept(result).body)

    def _list_messages(self, query_string: str) -> None:
        state = self.sandbox.state
        wait = state.list_rate_check()
        if wait is not None:
            self._json(429, RATE_LIMITED, {"Retry-After": str(wait)})
            return
        query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        page_url = f"{self.sandbox.api_base}/users/{self.sandbox.account_id}/messages"
        try:
            answer = state.list_messages(query, page_url)
        except QueryError as error:
            self._json(400, {"type": "request-validation", "description": str(error)})
            return
        self._json(200, answer)

    # --- media ------------------------------------------------------------------------------------

    def _put_media(self, media_id: str, body: bytes) -> None:
        content_type = self.headers.get("Content-Type")
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        if kind not in MEDIA_TYPES:
            self._json(
                415,
                unsupported_content_type(
                    content_type or "application/octet-stream", "a supported media type such as 'image/jpeg'"
                ),
            )
            return
        if len(body) > MAX_MEDIA_BYTES:
            self._json(
                400,
                {
                    "type": "request-validation",
                    "description": f"A media file may be at most {MAX_MEDIA_BYTES} bytes (3.75 MB); "
                    f"this one has {len(body)} bytes",
                },
            )
            return
        self.sandbox.state.put_media(media_id, StoredMedia(body, kind, self.headers.get("Cache-Control")))
        self._reply(204)

    def _get_media(self, media_id: str) -> None:
        media = self.sandbox.state.get_media(media_id)
        if media is None:
            self._json(404, MEDIA_NOT_FOUND)
            return
        headers = {"Cache-Control": media.cache_control} if media.cache_control else {}
        self._reply(200, media.data, "application/octet-stream", headers)

    def _list_media(self) -> None:
        try:
            items, token = self.sandbox.state.list_media(self.headers.get("Continuation-Token"))
        except QueryError as error:
            self._json(400, {"type": "request-validation", "description": str(error)})
            return
        self._json(200, items, {"Continuation-Token": token} if token else None)

    # --- OAuth2 -----------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        """Client-credentials grant (RFC 6749 §4.4): Basic-authenticated client, form body."""
        if self.command != "POST":
            self._json(405, {"error": "invalid_request", "error_description": "use POST"}, {"Allow": "POST"})
            return
        scheme, _, credentials = self.headers.get("Authorization", "").strip().partition(" ")
        client_id, client_secret = _basic_credentials(credentials) if scheme.lower() == "basic" else ("", "")
        identity = self.sandbox.identity
        if not (_same(client_id, identity.client_id) & _same(client_secret, identity.client_secret)):
            self._json(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                {"WWW-Authenticate": 'Basic realm="oauth2"'},
            )
            return
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        form = (
            parse_qs(body.decode("utf-8", "replace"))
            if content_type == "application/x-www-form-urlencoded"
            else {}
        )
        grant_type = form.get("grant_type", [None])[0]
        if grant_type != "client_credentials":
            error = "invalid_request" if grant_type is None else "unsupported_grant_type"
            self._json(
                400,
                {"error": error, "error_description": "send grant_type=client_credentials as a form body"},
            )
            return
        token, lifetime = self.sandbox.state.issue_token()
        self._json(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": lifetime},
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    # --- control endpoints (tests in another process) ---------------------------------------------

    def _control(self, name: str, body: bytes) -> None:
        if not _is_loopback(self.client_address[0]):
            self._json(403, {"error": "the /_sandbox/ control endpoints answer loopback clients only"})
            return
        sandbox = self.sandbox

        def done(action: Callable[[], object]) -> Callable[[], None]:
            def run() -> None:
                action()
                self._reply(204)

            return run

        routes: dict[str, dict[str, Callable[[], None]]] = {
            "requests": {
                "GET": lambda: self._json(200, [r.to_json() for r in sandbox.requests.all()]),
                "DELETE": done(sandbox.requests.clear),
            },
            "faults": {
                "GET": lambda: self._json(200, [f.to_json() for f in sandbox.pending_faults()]),
                "POST": lambda: self._add_fault(body),
                "DELETE": done(sandbox.clear_faults),
            },
            "reset": {"POST": done(sandbox.reset)},
            "messages": {"GET": lambda: self._json(200, sandbox.state.status_report())},
            "expire-tokens": {"POST": lambda: self._json(200, {"expired": sandbox.expire_tokens()})},
            "identity": {"GET": lambda: self._json(200, sandbox.identity_json())},
        }
        methods = routes.get(name.rstrip("/"))
        if methods is None:
            self._json(
                404, {"error": f"no control endpoint {CONTROL_PREFIX}{name}", "endpoints": sorted(routes)}
            )
        elif self.command not in methods:
            self._json(405, {"error": f"use {' or '.join(methods)}"}, {"Allow": ", ".join(methods)})
        else:
            methods[self.command]()

    def _add_fault(self, body: bytes) -> None:
        try:
            fault = Fault.from_json(json.loads(body.decode("utf-8") or "null"))
        except (UnicodeDecodeError, ValueError, TypeError) as error:
            self._json(400, {"error": str(error)})
            return
        self._json(201, self.sandbox.inject(fault).to_json())


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_or_none(body: bytes, content_type: str | None) -> Any:
    if not body or "json" not in (content_type or "").lower():
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class Sandbox:
    """A local Bandwidth Messaging API v2 with a demo account; a context manager that starts and stops it.

    `status_step` is the seconds between status steps (0: final immediately); `clock` returns an aware
    datetime (a `ManualClock` in tests); `token_lifetime` is the OAuth2 `expires_in`; `media_page_size` the
    page size of GET /media; `list_rate_limit=(n, seconds)` makes GET /messages answer 429 past n per window.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        status_step: float = 1.0,
        clock: Callable[[], datetime] | None = None,
        identity: Identity | None = None,
        token_lifetime: int = 3600,
        media_page_size: int = 1000,
        list_rate_limit: tuple[int, float] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.identity = identity or Identity()
        self.requests = RequestLog()
        self.faults = FaultQueue()
        self.state = SandboxState(
            identity=self.identity,
            clock=clock or system_clock,
            status_step=status_step,
            media_url_prefix=lambda: f"{self.api_base}/users/{self.account_id}/media/",
            token_lifetime=token_lifetime,
            media_page_size=media_page_size,
            list_rate_limit=list_rate_limit,
        )
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.stopping.clear()
        self._server = _Server((self.host, self._requested_port), self, family)
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="bwdesk-sandbox", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        """Accept connections until stop(); a socket pair wakes the loop at once (no polling interval)."""
        server, wake = self._server, self._wake
        assert server is not None and wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(server, selectors.EVENT_READ)
            selector.register(wake[0], selectors.EVENT_READ)
            while not self.stopping.is_set():
                ready = selector.select()
                if not self.stopping.is_set() and any(key.fileobj is server for key, _ in ready):
                    server.handle_request()

    def stop(self) -> None:
        server, thread, wake = self._server, self._thread, self._wake
        if server is None:
            return
        self.stopping.set()
        if wake is not None:
            with contextlib.suppress(OSError):
                wake[1].send(b"x")
        if thread is not None:
            thread.join(timeout=5)
        server.close_connections()
        server.server_close()
        if wake is not None:
            for end in wake:
                end.close()
        self._server, self._thread, self._wake = None, None, None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- where it listens -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://host:port` — a wildcard listen address is shown as the matching loopback address."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def media_base(self) -> str:
        """Prefix of uploaded media URLs (`…/users/{accountId}/media/`); the name follows."""
        return f"{self.api_base}/users/{self.account_id}/media/"

    # --- the demo identity ------------------------------------------------------------------------

    @property
    def account_id(self) -> str:
        return self.identity.account_id

    @property
    def username(self) -> str:
        return self.identity.username

    @property
    def password(self) -> str:
        return self.identity.password

    @property
    def client_id(self) -> str:
        return self.identity.client_id

    @property
    def client_secret(self) -> str:
        return self.identity.client_secret

    @property
    def application_id(self) -> str:
        return self.identity.application_id

    @property
    def numbers(self) -> tuple[str, ...]:
        return self.identity.numbers

    @property
    def test_numbers(self) -> tuple[TestNumber, ...]:
        return self.identity.test_numbers

    def connection_lines(self) -> list[str]:
        """How to connect, as the `Label: value` lines `bwdesk sandbox` prints (docs/design.md §4.4)."""
        return [
            f"API base URL: {self.api_base}",
            f"OAuth2 token URL: {self.token_url}",
            f"Account ID: {self.account_id}",
            f"Username: {self.username}",
            f"Password: {self.password}",
            f"Client ID: {self.client_id}",
            f"Client secret: {self.client_secret}",
            f"Application ID: {self.application_id}",
            f"Numbers: {', '.join(self.numbers)}",
            f"Test numbers: {', '.join(t.describe() for t in self.test_numbers)}",
        ]

    def environment(self) -> dict[str, str]:
        """The environment variables (docs/design.md §4.8) that point `bwdesk send` at this sandbox with Basic auth."""
        return {
            "BWDESK_API_BASE": self.api_base,
            "BWDESK_OAUTH_TOKEN_URL": self.token_url,
            "BW_ACCOUNT_ID": self.account_id,
            "BW_USERNAME": self.username,
            "BW_PASSWORD": self.password,
            "BW_MESSAGING_APPLICATION_ID": self.application_id,
            "BW_NUMBER": self.numbers[0],
        }

    def identity_json(self) -> dict[str, Any]:
        return {
            "apiBase": self.api_base,
            "tokenUrl": self.token_url,
            "accountId": self.account_id,
            "username": self.username,
            "password": self.password,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "applicationId": self.application_id,
            "numbers": list(self.numbers),
            "testNumbers": [
                {"number": t.number, "errorCode": t.error_code, "meaning": t.meaning}
                for t in self.test_numbers
            ],
        }

    # --- what happened ----------------------------------------------------------------------------

    @property
    def status_step(self) -> float:
        return self.state.status_step

    @status_step.setter
    def status_step(self, seconds: float) -> None:
        self.state.status_step = seconds

    def accepted_messages(self) -> list[dict[str, Any]]:
        """The 202 `Message` bodies, in the order they were accepted."""
        return self.state.accepted_bodies()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.accepted_messages()

    def status_of(self, message_id: str) -> dict[str, tuple[str, int]]:
        """Each recipient's (messageStatus, errorCode) now; empty if there is no such message."""
        for report in self.state.status_report():
            if report["message"]["id"] == message_id:
                return {s["to"]: (s["status"], s["errorCode"]) for s in report["statuses"]}
        return {}

    def media(self, media_id: str) -> bytes | None:
        stored = self.state.get_media(media_id)
        return stored.data if stored else None

    # --- steering ---------------------------------------------------------------------------------

    def inject(self, fault: Fault | FaultKind | str, **options: Any) -> Fault:
        """Queue a fault: `inject(Fault("drop"))` or `inject("queue_full", retry_after=2, times=2)`."""
        if not isinstance(fault, Fault):
            fault = Fault(fault, **options)
        elif options:
            raise TypeError("pass options either in the Fault or as keywords, not both")
        return self.faults.add(fault)

    def pending_faults(self) -> list[Fault]:
        return self.faults.pending()

    def clear_faults(self) -> None:
        self.faults.clear()

    def expire_tokens(self) -> int:
        return self.state.expire_tokens()

    def reset(self) -> None:
        """Back to a fresh start: no messages, media, tokens, faults or recorded requests."""
        self.faults.clear()
        self.state.reset()
        self.requests.clear()
