"""HTTP plumbing shaped like upstream's Go/gin server. TEST FIXTURE.

Covers what clients can observe beyond the JSON bodies: no Server header, gin's plain-text
404/405 bodies, chunked NDJSON streams flushed per line, chunked request bodies (Go clients
upload blobs that way), and gin's access log line on stdout.
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO

from .gocompat import format_duration

MAX_JSON_BODY = 64 << 20  # JSON requests are small; refuse to buffer absurd bodies


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 family: int = socket.AF_INET) -> None:
        self.address_family = family
        super().__init__(addr, handler, bind_and_activate=True)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            # Go listens dual-stack on a wildcard address; so do we.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # Skip HTTPServer.server_bind: its getfqdn() can stall on hosts without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


class BodyReader:
    """Request body from Content-Length or chunked transfer encoding."""

    def __init__(self, rfile: BinaryIO, length: int | None, chunked: bool) -> None:
        self.rfile, self.left, self.chunked = rfile, length, chunked
        self.chunk_left = 0
        self.done = not chunked and not length

    def read(self, n: int = 1 << 20) -> bytes:
        if self.done:
            return b""
        if not self.chunked:
            assert self.left is not None
            data = self.rfile.read(min(n, self.left))
            self.left -= len(data)
            self.done = self.left <= 0 or not data
            return data
        if self.chunk_left == 0:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            self.chunk_left = int(size_line or b"0", 16)
            if self.chunk_left == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self.done = True
                return b""
        data = self.rfile.read(min(n, self.chunk_left))
        self.chunk_left -= len(data)
        if self.chunk_left == 0:
            self.rfile.readline(16)
        if not data:
            self.done = True
        return data

    def read_all(self, limit: int = MAX_JSON_BODY) -> bytes:
        parts, total = [], 0
        while chunk := self.read():
            total += len(chunk)
            if total > limit:
                raise ValueError("http: request body too large")
            parts.append(chunk)
        return b"".join(parts)


class GoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self._started = time.monotonic()
        self._status = 0

    # -- response helpers ------------------------------------------------------------
    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        self.send_response_only(code, message)
        self.send_header("Date", formatdate(usegmt=True))

    def body(self) -> BodyReader:
        te = self.headers.get("Transfer-Encoding", "").lower()
        length = self.headers.get("Content-Length")
        return BodyReader(self.rfile, int(length) if length else None, te == "chunked")

    def reply(self, status: int, data: bytes, ctype: str, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in getattr(self, "extra_headers", {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(data)

    def reply_json(self, status: int, obj: Any) -> None:
        self.reply(status, json.dumps(obj, separators=(",", ":")).encode(),
                   "application/json; charset=utf-8")

    def reply_error(self, status: int, message: str) -> None:
        self.reply_json(status, {"error": message})

    def reply_text(self, status: int, text: str) -> None:
        self.reply(status, text.encode(), "text/plain; charset=utf-8")

    def reply_empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for k, v in getattr(self, "extra_headers", {}).items():
            self.send_header(k, v)
        self.end_headers()

    # -- logging ---------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # replaced by gin-style access lines in log_request

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_access(self) -> None:
        latency = format_duration(int((time.monotonic() - self._started) * 1e9))
        client = str(self.client_address[0]).removeprefix("::ffff:")  # Go unmaps IPv4
        now = time.strftime("%Y/%m/%d - %H:%M:%S")
        line = (f"[GIN] {now} | {self._status:3d} | {latency:>13} | "
                f"{client:>15} | {self.command:<7} {json.dumps(self.path)}\n")
        sys.stdout.write(line)
        sys.stdout.flush()


class NDJSONStream:
    """streamResponse: chunked NDJSON, one flushed chunk per message.

    An error before anything was written becomes a plain JSON error with its status, after
    that an `{"error": ...}` line, exactly as upstream's gin stream does.
    """

    def __init__(self, handler: GoHandler) -> None:
        self.h = handler
        self.started = False

    def _chunk(self, data: bytes) -> None:
        self.h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.h.wfile.flush()

    def send(self, obj: dict[str, Any]) -> None:
        if not self.started:
            self.h.send_response(200)
            self.h.send_header("Content-Type", "application/x-ndjson")
            self.h.send_header("Transfer-Encoding", "chunked")
            self.h.end_headers()
            self.started = True
        self._chunk(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def error(self, message: str, status: int = 500) -> None:
        if not self.started:
            self.h.reply_error(status, message)
            self.h.close_connection = True
            return
        self.send({"error": message})

    def close(self) -> None:
        if self.started:
            self.h.wfile.write(b"0\r\n\r\n")
            self.h.wfile.flush()


class Collector:
    """waitForStream (`"stream": false`): keep the last progress, answer once."""

    def __init__(self, handler: GoHandler) -> None:
        self.h = handler
        self.latest: dict[str, Any] = {}
        self.failed = False

    def send(self, obj: dict[str, Any]) -> None:
        self.latest = obj

    def error(self, message: str, status: int = 500) -> None:
        self.failed = True
        self.h.reply_error(status, message)

    def close(self) -> None:
        if not self.failed:
            self.h.reply_json(200, self.latest)
