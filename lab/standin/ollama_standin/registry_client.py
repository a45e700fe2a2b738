"""Model pulls over the Docker-registry-style API upstream uses (server/images.go PullModel).

TEST FIXTURE. The lab has no route to registry.ollama.ai, so names on the default registry are
fetched from the base URL in OLLAMA_STANDIN_REGISTRY (test-only, e.g. http://10.231.0.1:8080).
Paths, progress messages and error texts follow upstream:
    GET  /v2/<namespace>/<model>/manifests/<tag>
    HEAD /v2/<namespace>/<model>/blobs/sha256:<hex>   (size), then GET (bytes)
Without the variable a default-registry pull fails the way an offline host does. Names with an
explicit host (host:port/ns/model:tag) go to that host, https unless --insecure, as upstream.
Every blob is hashed while it streams into a `-partial` file and renamed into place only when
its sha256 matches.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from . import envconfig, slog
from .buildinfo import VERSION
from .goerrors import GoStyleError, errno_text
from .names import DEFAULT_HOST, Name
from .store import Layer, Manifest, Store

REGISTRY_ENV = "OLLAMA_STANDIN_REGISTRY"
Progress = Callable[[dict[str, Any]], None]
_CHUNK = 256 * 1024
_TICK = 0.06  # upstream reports download progress on a 60ms ticker
_BLOB_TRIES = 3


class PullError(GoStyleError):
    pass


def _base_url(name: Name, insecure: bool) -> tuple[str, str]:
    """(base URL, URL upstream would have used): the override applies to the default host."""
    real = f"https://{name.host}"
    if name.host == DEFAULT_HOST:
        override = envconfig.var(REGISTRY_ENV)
        return (override.rstrip("/") if override else ""), real
    return (f"http://{name.host}" if insecure else real), real


def _request(method: str, url: str, headers: dict[str, str] | None = None
             ) -> http.client.HTTPResponse:
    """One request; network errors rendered like Go's *url.Error."""
    u = urllib.parse.urlsplit(url)
    conn_cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(u.hostname or "", u.port, timeout=30)
    path = u.path + (f"?{u.query}" if u.query else "")
    hdrs = {"User-Agent": f"ollama/{VERSION} (amd64 linux) Go/go1.24.1", **(headers or {})}
    try:
        conn.request(method, path, headers=hdrs)
        return conn.getresponse()
    except socket.gaierror as e:
        raise PullError(f'{method.capitalize()} "{url}": dial tcp: lookup {u.hostname}: '
                        "no such host") from e
    except OSError as e:
        where = f"{u.hostname}:{u.port or (443 if u.scheme == 'https' else 80)}"
        detail = errno_text(e) if e.errno else str(e)
        raise PullError(f'{method.capitalize()} "{url}": dial tcp {where}: connect: {detail}'
                        ) from e


def _checked(resp: http.client.HTTPResponse) -> http.client.HTTPResponse:
    """makeRequestWithRetry's status handling: 404 -> not exist, >=400 -> `<code>: <body>`."""
    if resp.status == 404:
        resp.read()
        raise PullError("file does not exist")
    if resp.status >= 400:
        body = resp.read().decode(errors="replace")
        raise PullError(f"{resp.status}: {body}")
    return resp


def fetch_manifest(name: Name, insecure: bool) -> Manifest:
    base, real = _base_url(name, insecure)
    path = f"/v2/{name.namespace}/{name.model}/manifests/{name.tag}"
    if not base:
        raise PullError(f'Get "{real}{path}": dial tcp: lookup {name.host}: no such host')
    resp = _checked(_request("GET", base + path,
                             {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}))
    try:
        return Manifest.from_bytes(resp.read())
    except (ValueError, json.JSONDecodeError) as e:
        raise PullError(str(e)) from e


def _download(st: Store, name: Name, layer: Layer, insecure: bool, fn: Progress) -> bool:
    """downloadBlob: True on a cache hit. Streams to <blob>-partial, verifies, renames."""
    blob = st.blob_path(layer.digest)
    status = f"pulling {layer.digest[7:19]}"
    if os.path.exists(blob):
        size = os.path.getsize(blob)
        fn({"status": status, "digest": layer.digest, "total": size, "completed": size})
        return True
    base, _ = _base_url(name, insecure)
    url = f"{base}/v2/{name.namespace}/{name.model}/blobs/{layer.digest}"
    head = _checked(_request("HEAD", url))
    head.read()
    total = int(head.headers.get("Content-Length") or layer.size)
    fn({"status": status, "digest": layer.digest, "total": total})
    err: Exception | None = None
    for attempt in range(_BLOB_TRIES):
        try:
            _stream_blob(url, blob, layer.digest, total, status, fn)
            return False
        except PullError as e:
            err = e
            slog.info("download.go:295", f"{layer.digest[7:19]} part 0 attempt {attempt} "
                      f"failed: {e}, retrying in {0.2 * 2 ** attempt:.1f}s")
            time.sleep(0.2 * 2**attempt)
    raise PullError(f"max retries exceeded: {err}")


def _stream_blob(url: str, blob: str, digest: str, total: int, status: str,
                 fn: Progress) -> None:
    resp = _request("GET", url)
    if resp.status != 200:
        resp.read()
        raise PullError(f"unexpected status code {resp.status}")
    partial = blob + "-partial"
    h, done, last = hashlib.sha256(), 0, 0.0
    try:
        with open(partial, "wb") as f:
            while chunk := resp.read(_CHUNK):
                f.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if time.monotonic() - last >= _TICK:
                    last = time.monotonic()
                    fn({"status": status, "digest": digest, "total": total, "completed": done})
        got = f"sha256:{h.hexdigest()}"
        if got != digest:
            raise PullError(f"digest mismatch, file must be downloaded again: "
                            f"want {digest}, got {got}")
        os.chmod(partial, 0o644)
        os.replace(partial, blob)
    except OSError as e:
        raise PullError(f"{e.strerror or e}") from e
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    fn({"status": status, "digest": digest, "total": total, "completed": done})


def pull(st: Store, name: Name, fn: Progress, insecure: bool = False,
         no_prune: bool = False) -> None:
    """PullModel: manifest, each layer, verify, write manifest, prune replaced layers."""
    delete: set[str] = set()
    try:
        old = st.parse_manifest(name)
        delete = {layer.digest for layer in old.all_layers() if layer.digest}
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        slog.warn("images.go:557", "pulling model with bad existing manifest",
                  name=str(name), error=str(e))
    fn({"status": "pulling manifest"})
    try:
        manifest = fetch_manifest(name, insecure)
    except PullError as e:
        raise PullError(f"pull model manifest: {e}") from e
    layers = list(manifest.layers) + ([manifest.config] if manifest.config.digest else [])
    for layer in layers:
        if not layer.digest:
            raise PullError(f"{name.namespace}/{name.model}: digest is empty")
        _download(st, name, layer, insecure, fn)
        delete.discard(layer.digest)
    fn({"status": "verifying sha256 digest"})  # blobs were verified while streaming
    fn({"status": "writing manifest"})
    st.write_manifest(name, manifest.config, manifest.layers, newline=False)
    if not no_prune and delete:
        fn({"status": "removing unused layers"})
        st.delete_unused(delete)
    fn({"status": "success"})
