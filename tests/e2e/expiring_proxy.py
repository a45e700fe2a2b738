"""An HTTPS pass-through to a token-auth registry that makes a client's token run out.

Hosts fetch through it as if it were the registry. For a repository it is told to spoil, it
forwards a blob GET with a token of the realm's issued ten minutes ago (so expired, beyond
the registry's clock-skew leeway) in place of the client's own: the registry itself then
answers 401 with its Bearer challenge, exactly as when a token expires in the middle of a
model. `first` spoils only the first such blob GET of each client, `always` every one.
Everything else passes unchanged. Every request is recorded with the client's address, the
token the client sent and whether it was spoiled."""

from __future__ import annotations

import http.client
import re
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from .token_service import TokenService, tls_server

BLOB = re.compile(r"^/v2/(.+)/blobs/sha256:[0-9a-f]{64}$")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


@dataclass
class ProxiedRequest:
    client: str
    method: str
    path: str
    status: int
    token: str | None  # the bearer token the client sent
    spoiled: bool  # forwarded with an expired token instead


class ExpiringProxy:
    def __init__(self, *, host: str, port: int, upstream_port: int, ca: Path, tls_cert: Path,
                 tls_key: Path, tokens: TokenService, spoil: dict[str, str]) -> None:
        """spoil: repository -> "first" or "always"."""
        self.upstream = (host, upstream_port)
        self.upstream_context = ssl.create_default_context(cafile=str(ca))
        self.tokens = tokens
        self.spoil = spoil
        self.requests: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self.server = tls_server(host, port, self._handler(), tls_cert, tls_key)
        self.url = f"https://{host}:{port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ExpiringProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def log(self) -> list[ProxiedRequest]:
        with self._lock:
            return list(self.requests)

    def _spoils(self, client: str, path: str, token: str | None) -> str | None:
        """The repository whose expired token replaces the client's on this request, if any."""
        match = BLOB.match(path)
        if not token or not match or match.group(1) not in self.spoil:
            return None
        repository = match.group(1)
        if self.spoil[repository] == "first" and any(
                r.spoiled and r.client == client and BLOB.match(r.path).group(1) == repository
                for r in self.requests):
            return None
        return repository

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                client = self.client_address[0]
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                token = token if scheme.lower() == "bearer" else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP | {"host"}}
                with proxy._lock:
                    repository = proxy._spoils(client, self.path, token)
                    entry = ProxiedRequest(client, "GET", self.path, 0, token,
                                           repository is not None)
                    proxy.requests.append(entry)
                if repository is not None:
                    expired, _ = proxy.tokens.token("fleet", [f"repository:{repository}:pull"],
                                                    issued=time.time() - 600)
                    headers["Authorization"] = f"Bearer {expired}"
                upstream = http.client.HTTPSConnection(*proxy.upstream, timeout=60,
                                                       context=proxy.upstream_context)
                try:
                    upstream.request("GET", self.path, headers=headers)
                    response = upstream.getresponse()
                    entry.status = response.status
                    self.send_response_only(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP:
                            self.send_header(key, value)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    while chunk := response.read(1 << 16):
                        self.wfile.write(chunk)
                finally:
                    upstream.close()

        return Handler
