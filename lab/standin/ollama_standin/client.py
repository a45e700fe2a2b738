"""The CLI's HTTP client (api/client.go ClientFromEnvironment, do, stream). TEST FIXTURE.

Error texts follow upstream so `ollama` output seen by the fleet tool matches: a JSON
`{"error": ...}` body becomes the message, a streamed error after a 4xx/5xx status is prefixed
with the status line ("400 Bad Request: ..."), and network failures read like Go's url.Error.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import IO, Any

from . import envconfig
from .buildinfo import VERSION
from .goerrors import errno_text

_CONNECT_AS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class APIError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Client:
    def __init__(self) -> None:
        h = envconfig.host()
        self.host = _CONNECT_AS.get(h.host, h.host)
        self.port = int(h.port)
        self.https = h.scheme == "https"
        self.base_path = f"/{h.path}".rstrip("/") if h.path else ""
        self.display = str(h)

    def _url(self, path: str) -> str:
        return f"{self.display}{path}"

    def _open(self, method: str, path: str, body: bytes | IO[bytes] | None,
              headers: dict[str, str], timeout: float | None) -> http.client.HTTPResponse:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=timeout)
        hdrs = {"User-Agent": f"ollama/{VERSION} (amd64 linux) Go/go1.24.1", **headers}
        try:
            conn.request(method, self.base_path + path, body=body, headers=hdrs)
            return conn.getresponse()
        except OSError as e:
            hostport = f"[{self.host}]:{self.port}" if ":" in self.host else \
                f"{self.host}:{self.port}"
            detail = errno_text(e) if e.errno else str(e)
            raise APIError(f'{method.capitalize()} "{self._url(path)}": dial tcp {hostport}: '
                           f"connect: {detail}") from e

    def do(self, method: str, path: str, body: Any = None,
           raw: bytes | IO[bytes] | None = None, timeout: float | None = None) -> Any:
        """Client.do: JSON in, JSON out, error body -> APIError(message)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        resp = self._open(method, path, data, headers, timeout)
        payload = resp.read()
        if resp.status >= 400:
            try:
                msg = json.loads(payload).get("error", "")
            except (ValueError, AttributeError):
                msg = payload.decode(errors="replace")
            raise APIError(msg or f"{resp.status} {resp.reason}", resp.status)
        return json.loads(payload) if payload.strip() and method != "HEAD" else None

    def stream(self, path: str, body: dict[str, Any],
               fn: Callable[[dict[str, Any]], None]) -> None:
        """Client.stream: NDJSON lines to fn; errors as upstream's StatusError/plain error."""
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        resp = self._open("POST", path, json.dumps(body).encode(), headers, None)
        status_line = f"{resp.status} {resp.reason}"
        for line in resp:
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                text = line.decode(errors="replace").rstrip("\n")
                if resp.status >= 400:
                    raise APIError(f"{status_line}: {text}", resp.status) from None
                raise APIError(text) from None
            if resp.status >= 400:
                raise APIError(f"{status_line}: {msg.get('error', '')}", resp.status)
            if msg.get("error"):
                raise APIError(msg["error"])
            fn(msg)

    def heartbeat(self) -> None:
        self.do("HEAD", "/", timeout=10)

    def version(self) -> str:
        return str(self.do("GET", "/api/version", timeout=10).get("version", ""))
