#!/usr/bin/env python3
"""Lab artifact server and model registry. TEST FIXTURE.

    python3 lab/standin/artifacts.py --bind ADDR --port PORT --root DIR

Serves, with the standard library only:
  GET  /                               200 "lab artifacts"
  GET  /files/<path>                   static files under DIR/files/ (single Range supported)
  GET  /files/releases/download/v<V>/<file>
                                       alias of DIR/files/releases/v<V>/<file>, shaped like
                                       GitHub release download URLs
  GET  /v2/                            registry API root
  GET|HEAD /v2/<ns>/<model>/manifests/<tag>
  GET|HEAD /v2/<ns>/<model>/blobs/sha256:<hex>
                                       from an Ollama-layout store at DIR/registry/
                                       (manifests/registry.ollama.ai/<ns>/<model>/<tag>, blobs/)
Fault injection for tests (answers only on /_control/):
  POST /_control/fail?count=N&status=503   the next N /v2/ requests answer that status
  POST /_control/reset                     clear injected faults
Requests are logged to stderr, one line each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
_RELEASE_ALIAS = re.compile(r"^releases/download/(v[^/]+)/([^/]+)$")
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$")
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
_COPY_CHUNK = 1 << 20


class Faults:
    """Thread-safe countdown of injected failures for /v2/ requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.remaining = 0
        self.status = 503

    def arm(self, count: int, status: int) -> None:
        with self._lock:
            self.remaining, self.status = max(0, count), status

    def take(self) -> int | None:
        with self._lock:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
            return self.status


class ArtifactHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle or stalled clients must not pin a thread forever
    root: str
    faults: Faults

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self.client_address[0]} "
                         f"{format % args}\n")

    # -- responses -------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _registry_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._send(status, body, "application/json")

    def _send_file(self, path: str, ctype: str, extra: dict[str, str] | None = None) -> None:
        size = os.path.getsize(path)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range", "")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start = max(0, size - int(m.group(2)))
            if start > end or start >= size:
                self._send(416, b"", headers={"Content-Range": f"bytes */{size}"})
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(_COPY_CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    # -- routing ---------------------------------------------------------------------
    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/":
            self._send(200, b"lab artifacts")
        elif path.startswith("/files/"):
            self._files(urllib.parse.unquote(path[len("/files/"):]))
        elif path == "/v2" or path.startswith("/v2/"):
            self._registry(path)
        else:
            self._send(404, b"404 page not found")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        u = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 16))  # control bodies are ignored
        if u.path == "/_control/fail":
            q = urllib.parse.parse_qs(u.query)
            try:
                count = int(q.get("count", ["1"])[0])
                status = int(q.get("status", ["503"])[0])
            except ValueError:
                self._send(400, b"count and status must be integers")
                return
            self.faults.arm(count, status)
            self._send(200, json.dumps({"count": count, "status": status}).encode(),
                       "application/json")
        elif u.path == "/_control/reset":
            self.faults.arm(0, 503)
            self._send(200, b'{"count":0}', "application/json")
        else:
            self._send(404, b"404 page not found")

    # -- /files ----------------------------------------------------------------------
    def _files(self, rel: str) -> None:
        m = _RELEASE_ALIAS.match(rel)
        if m:
            rel = f"releases/{m.group(1)}/{m.group(2)}"
        base = os.path.realpath(os.path.join(self.root, "files"))
        full = os.path.realpath(os.path.join(base, rel))
        if not full.startswith(base + os.sep) or not os.path.isfile(full):
            self._send(404, b"404 page not found")
            return
        self._send_file(full, "application/octet-stream")

    # -- /v2 -------------------------------------------------------------------------
    def _registry(self, path: str) -> None:
        status = self.faults.take()
        if status is not None:
            self._send(status, f"injected fault: {status}".encode())
            return
        parts = path.strip("/").split("/")
        if parts == ["v2"]:
            self._send(200, b"{}", "application/json")
            return
        if len(parts) != 5 or not all(_PART.match(p) for p in parts[1:3]):
            self._registry_error(404, "NAME_UNKNOWN", "repository name not known")
            return
        _, ns, model, kind, ref = parts
        store = os.path.join(self.root, "registry")
        if kind == "manifests" and _PART.match(ref):
            p = os.path.join(store, "manifests", "registry.ollama.ai", ns, model, ref)
            if os.path.isfile(p):
                self._send_file(p, MANIFEST_TYPE)
                return
            self._registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return
        m = _DIGEST.match(ref)
        if kind == "blobs" and m:
            p = os.path.join(store, "blobs", f"sha256-{m.group(1)}")
            if os.path.isfile(p):
                self._send_file(p, "application/octet-stream",
                                {"Docker-Content-Digest": ref})
                return
            self._registry_error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return
        self._registry_error(404, "NAME_UNKNOWN", "repository name not known")


class ArtifactServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, bind: str, port: int, handler: type[ArtifactHandler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        super().__init__((bind, port), handler)

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's getfqdn(), which can stall on hosts without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


def make_server(bind: str, port: int, root: str) -> ArtifactServer:
    """A bound (not yet serving) server; port 0 picks a free port."""
    handler = type("BoundArtifactHandler", (ArtifactHandler,),
                   {"root": os.path.abspath(root), "faults": Faults()})
    return ArtifactServer(bind, port, handler)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Lab artifact server and model registry "
                                             "(test fixture).")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--root", required=True, help="holds files/ and registry/")
    a = ap.parse_args(argv)
    os.makedirs(os.path.join(a.root, "files"), exist_ok=True)
    os.makedirs(os.path.join(a.root, "registry"), exist_ok=True)
    srv = make_server(a.bind, a.port, a.root)
    sys.stderr.write(f"lab artifacts serving {a.root} on {a.bind}:{srv.server_address[1]}\n")
    with contextlib.suppress(KeyboardInterrupt):
        srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
