"""The Ollama HTTP API routes (server/routes.go GenerateRoutes). TEST FIXTURE.

Only model management and liveness are real; /api/generate and /api/chat answer load/unload
requests and return a fixed text, because the stand-in performs no inference.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import create, envconfig, model, registry_client, slog
from .buildinfo import VERSION
from .goerrors import GoStyleError
from .httpd import Collector, GoHandler, NDJSONStream
from .names import INVALID_NAME, Name
from .store import InvalidDigest, Store, atomic_write

_EXTENSION_SCHEMES = ("chrome-extension://", "safari-extension://", "moz-extension://",
                      "ms-browser-extension://")
CANNED_RESPONSE = "This is the Ollama stand-in test fixture; it does not run models."


def _local_ips() -> set[str]:
    ips = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            ips.add(str(info[4][0]).split("%")[0])
    except OSError:
        pass
    return ips


def allowed_host(host: str) -> bool:
    """allowedHost: localhost, this hostname, *.localhost / *.local / *.internal."""
    host = host.lower()
    if host in ("", "localhost", socket.gethostname().lower()):
        return True
    return host.endswith((".localhost", ".local", ".internal"))


def host_permitted(server_loopback: bool, host_header: str) -> bool:
    """allowedHostsMiddleware: only a loopback-bound server checks the Host header."""
    if not server_loopback:
        return True
    try:
        host, _ = envconfig.split_host_port(host_header)
    except ValueError:
        host = host_header
    try:
        ip = ipaddress.ip_address(host)
        if ip.is_loopback or ip.is_private or ip.is_unspecified or str(ip) in _local_ips():
            return True
    except ValueError:
        pass
    return allowed_host(host)


def origin_allowed(origin: str, patterns: list[str]) -> bool:
    """gin-contrib/cors with AllowWildcard and browser extensions enabled."""
    if origin.startswith(_EXTENSION_SCHEMES):
        return True
    for p in patterns:
        if "*" in p:
            pre, _, suf = p.partition("*")
            if origin.startswith(pre) and origin.endswith(suf) and len(origin) >= len(p) - 1:
                return True
        elif origin == p:
            return True
    return False


class OllamaHandler(GoHandler):
    store: Store
    loopback: bool
    origins: list[str]
    no_prune: bool

    # -- dispatch --------------------------------------------------------------------
    def _dispatch(self) -> None:
        self.extra_headers: dict[str, str] = {}
        try:
            if self._precheck():
                path = self.path.split("?", 1)[0]
                handler = self._route(self.command, path)
                if handler is not None:
                    handler()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.log_access()

    def _precheck(self) -> bool:
        origin = self.headers.get("Origin")
        if origin:
            if not origin_allowed(origin, self.origins):
                self.reply_empty(403)
                return False
            self.extra_headers["Access-Control-Allow-Origin"] = origin
            self.extra_headers["Vary"] = "Origin"
        if not host_permitted(self.loopback, self.headers.get("Host", "")):
            self.reply_empty(403)
            return False
        if self.command == "OPTIONS":
            self.reply_empty(204)
            return False
        return True

    def _route(self, method: str, path: str) -> Callable[[], None] | None:
        routes: dict[str, dict[str, Callable[[], None]]] = {
            "/": {"GET": self.h_root, "HEAD": self.h_root},
            "/api/version": {"GET": self.h_version, "HEAD": self.h_version},
            "/api/tags": {"GET": self.h_tags, "HEAD": self.h_tags},
            "/api/show": {"POST": self.h_show},
            "/api/create": {"POST": self.h_create},
            "/api/pull": {"POST": self.h_pull},
            "/api/delete": {"DELETE": self.h_delete},
            "/api/copy": {"POST": self.h_copy},
            "/api/ps": {"GET": self.h_ps},
            "/api/generate": {"POST": self.h_generate},
            "/api/chat": {"POST": self.h_chat},
        }
        methods = routes.get(path)
        if methods is None and path.startswith("/api/blobs/") and path.count("/") == 3:
            methods = {"HEAD": self.h_blob_head, "POST": self.h_blob_post}
        if methods is None:
            self.reply_text(404, "404 page not found")
            return None
        if method not in methods:
            self.reply_text(405, "405 method not allowed")
            return None
        return methods[method]

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = do_OPTIONS = do_PATCH = _dispatch

    # -- helpers ---------------------------------------------------------------------
    def _json_body(self) -> dict[str, Any] | None:
        """ShouldBindJSON: empty body and malformed JSON are 400s with gin's messages."""
        try:
            raw = self.body().read_all()
        except ValueError as e:
            self.reply_error(400, str(e))
            return None
        if not raw.strip():
            self.reply_error(400, "missing request body")
            return None
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as e:
            self.reply_error(400, f"invalid character at offset {e.pos}: {e.msg}")
            return None
        if not isinstance(body, dict):
            self.reply_error(400, "json: cannot unmarshal into Go value of type api.Request")
            return None
        return body

    def _sink(self, body: dict[str, Any]) -> NDJSONStream | Collector:
        return Collector(self) if body.get("stream") is False else NDJSONStream(self)

    def _name(self, body: dict[str, Any]) -> Name | None:
        n = Name.parse(body.get("model") or body.get("name") or "")
        return n if n.is_valid() else None

    # -- routes ----------------------------------------------------------------------
    def h_root(self) -> None:
        self.reply_text(200, "Ollama is running")

    def h_version(self) -> None:
        self.reply_json(200, {"version": VERSION})

    def h_tags(self) -> None:
        try:
            self.reply_json(200, {"models": model.list_models(self.store)})
        except (OSError, GoStyleError) as e:
            self.reply_error(500, str(e))

    def h_ps(self) -> None:
        self.reply_json(200, {"models": []})  # nothing is ever loaded

    def h_show(self) -> None:
        body = self._json_body()
        if body is None:
            return
        raw = body.get("model") or body.get("name") or ""
        if not raw:
            self.reply_error(400, "model is required")
            return
        n = Name.parse(raw)
        if not n.is_valid():
            self.reply_error(400, INVALID_NAME)
            return
        try:
            self.reply_json(200, model.show(self.store, self.store.existing_name(n)))
        except FileNotFoundError:
            self.reply_error(404, f"model '{raw}' not found")
        except (OSError, ValueError, GoStyleError) as e:
            self.reply_error(500, str(e))

    def h_delete(self) -> None:
        body = self._json_body()
        if body is None:
            return
        raw = body.get("model") or body.get("name") or ""
        n = Name.parse(raw)
        if not n.is_valid():
            self.reply_error(400, f'name "{raw}" is invalid')
            return
        try:
            m = self.store.parse_manifest(self.store.existing_name(n))
            self.store.remove_manifest(m)
            self.store.remove_layers(m.all_layers())
        except FileNotFoundError:
            self.reply_error(404, f"model '{raw}' not found")
            return
        except (OSError, ValueError, GoStyleError) as e:
            self.reply_error(500, str(e))
            return
        self.reply(200, b"", "text/plain; charset=utf-8")

    def h_copy(self) -> None:
        body = self._json_body()
        if body is None:
            return
        src, dst = Name.parse(body.get("source", "")), Name.parse(body.get("destination", ""))
        if not src.is_valid() or not dst.is_valid():
            bad = "source" if not src.is_valid() else "destination"
            self.reply_error(400, f'{bad} "{body.get(bad, "")}" is invalid')
            return
        try:
            with open(self.store.manifest_path(self.store.existing_name(src)), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            self.reply_error(404, f'model "{body.get("source")}" not found')
            return
        target = self.store.manifest_path(self.store.existing_name(dst))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        atomic_write(target, data)
        self.reply(200, b"", "text/plain; charset=utf-8")

    def h_blob_head(self) -> None:
        digest = self.path.split("?", 1)[0].rsplit("/", 1)[1]
        try:
            exists = create.blob_exists(self.store, digest)
        except InvalidDigest as e:
            self.reply_error(400, str(e))
            return
        if exists:
            self.reply_empty(200)
        else:
            self.reply_error(404, f'blob "{digest}" not found')

    def h_blob_post(self) -> None:
        digest = self.path.split("?", 1)[0].rsplit("/", 1)[1]
        try:
            if create.blob_exists(self.store, digest):
                reader = self.body()
                while reader.read():
                    pass  # drain without buffering so the connection stays usable
                self.reply_empty(200)
                return
            layer = self.store.new_layer(self.body(), "")
        except InvalidDigest as e:
            self.reply_error(400, str(e))
            return
        except (OSError, GoStyleError) as e:
            self.reply_error(500, str(e))
            return
        if layer.digest != digest:
            self.reply_error(400, f'digest mismatch, expected "{digest}", got "{layer.digest}"')
            return
        self.reply_empty(201)

    def h_create(self) -> None:
        body = self._json_body()
        if body is None:
            return
        if not create.request_files_valid(body):
            self.reply_error(400, "file path must be relative")
            return
        n = self._name(body)
        if n is None:
            self.reply_error(400, INVALID_NAME)
            return
        sink = self._sink(body)
        try:
            create.create(self.store, body, self.store.existing_name(n), sink.send,
                          self.no_prune)
        except create.CreateError as e:
            sink.error(str(e), e.status)
        except (OSError, ValueError, GoStyleError) as e:
            sink.error(str(e))
        sink.close()

    def h_pull(self) -> None:
        body = self._json_body()
        if body is None:
            return
        n = self._name(body)
        if n is None:
            self.reply_error(400, INVALID_NAME)
            return
        sink = self._sink(body)
        try:
            registry_client.pull(self.store, self.store.existing_name(n), sink.send,
                                 insecure=bool(body.get("insecure")), no_prune=self.no_prune)
        except (OSError, ValueError, GoStyleError) as e:
            slog.info("images.go:640", f"pull failed: {e}")
            sink.error(str(e))
        sink.close()

    def _infer(self, chat: bool) -> None:
        body = self._json_body()
        if body is None:
            return
        raw = body.get("model", "")
        n = Name.parse(raw)
        if not n.is_valid():
            self.reply_error(400, f"model '{raw}' not found")
            return
        try:
            self.store.parse_manifest(self.store.existing_name(n))
        except FileNotFoundError:
            self.reply_error(404, f"model '{raw}' not found")
            return
        now = datetime.now().astimezone().isoformat()
        empty = not (body.get("messages") if chat else body.get("prompt"))
        base = {"model": raw, "created_at": now}
        if empty:
            reason = "unload" if body.get("keep_alive") in (0, "0", "0s") else "load"
            msg = {"message": {"role": "assistant", "content": ""}} if chat else {"response": ""}
            self.reply_json(200, {**base, **msg, "done": True, "done_reason": reason})
            return
        part = ({"message": {"role": "assistant", "content": CANNED_RESPONSE}} if chat
                else {"response": CANNED_RESPONSE})
        final = {**base, **({"message": {"role": "assistant", "content": ""}} if chat
                            else {"response": ""}), "done": True, "done_reason": "stop"}
        if body.get("stream") is False:
            self.reply_json(200, {**base, **part, "done": True, "done_reason": "stop"})
            return
        stream = NDJSONStream(self)
        stream.send({**base, **part, "done": False})
        time.sleep(0)
        stream.send(final)
        stream.close()

    def h_generate(self) -> None:
        self._infer(chat=False)

    def h_chat(self) -> None:
        self._infer(chat=True)


def make_handler(st: Store, loopback: bool, no_prune: bool) -> type[OllamaHandler]:
    """A handler class bound to this server's store and settings."""
    attrs = {"store": st, "loopback": loopback, "origins": envconfig.allowed_origins(),
             "no_prune": no_prune}
    return type("BoundOllamaHandler", (OllamaHandler,), attrs)
