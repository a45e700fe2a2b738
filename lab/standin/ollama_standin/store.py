"""The on-disk model store in upstream's layout (server/manifest.go, layer.go, images.go).

TEST FIXTURE. Layout under OLLAMA_MODELS:
    manifests/<host>/<namespace>/<model>/<tag>   JSON, schemaVersion 2
    blobs/sha256-<64 hex>                        content-addressed layers and config
Copying manifests/ + blobs/ between machines is the upstream-endorsed offline transfer, so the
fleet tool's sync code is tested against exactly this layout. Writes go through a temp file and
a rename so a reader never sees a half-written blob or manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import gojson, slog
from .goerrors import GoStyleError, path_error
from .names import Name

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
MEDIA_PREFIX = "application/vnd.ollama.image."
MEDIA_MODEL = MEDIA_PREFIX + "model"
MEDIA_ADAPTER = MEDIA_PREFIX + "adapter"
MEDIA_PROJECTOR = MEDIA_PREFIX + "projector"
MEDIA_TEMPLATE = MEDIA_PREFIX + "template"
MEDIA_SYSTEM = MEDIA_PREFIX + "system"
MEDIA_PARAMS = MEDIA_PREFIX + "params"
MEDIA_LICENSE = MEDIA_PREFIX + "license"
MEDIA_MESSAGES = MEDIA_PREFIX + "messages"
MEDIA_DRAFT = MEDIA_PREFIX + "draft"
_DIGEST_RE = re.compile(r"^sha256[:-][0-9a-fA-F]{64}$")
_CHUNK = 1 << 20


class Reader(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...


class InvalidDigest(GoStyleError):
    def __init__(self) -> None:
        super().__init__("invalid digest format")


@dataclass
class Layer:
    media_type: str
    digest: str
    size: int
    from_: str = ""
    status: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                               "size": self.size}
        if self.from_:
            out["from"] = self.from_
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Layer:
        return cls(d.get("mediaType", ""), d.get("digest", ""), int(d.get("size", 0)),
                   d.get("from", ""))


@dataclass
class Manifest:
    config: Layer
    layers: list[Layer]
    path: str = ""
    digest: str = ""  # hex sha256 of the manifest file: what `ollama list` shows as ID
    mtime: float = 0.0

    def all_layers(self) -> list[Layer]:
        return [*self.layers, self.config]

    def size(self) -> int:
        return sum(layer.size for layer in self.all_layers())

    def to_json(self) -> dict[str, Any]:
        return {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE,
                "config": self.config.to_json(),
                "layers": [layer.to_json() for layer in self.layers]}

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        d = json.loads(data)
        if not isinstance(d, dict):
            raise ValueError("manifest is not a JSON object")
        return cls(Layer.from_json(d.get("config") or {}),
                   [Layer.from_json(x) for x in d.get("layers") or []])


def _mkdir_all(path: str) -> str:
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
    except OSError as e:
        where = e.filename if isinstance(e.filename, str) else path
        raise GoStyleError(
            f"{path_error('mkdir', where, e)}: ensure path elements are traversable") from e
    return path


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write via a temp file in the target directory and rename over the target."""
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Store:
    def __init__(self, root: str) -> None:
        self.root = root

    # -- paths -------------------------------------------------------------------------
    def manifests_dir(self) -> str:
        return _mkdir_all(os.path.join(self.root, "manifests"))

    def blobs_dir(self) -> str:
        return _mkdir_all(os.path.join(self.root, "blobs"))

    def blob_path(self, digest: str) -> str:
        if not _DIGEST_RE.match(digest):
            raise InvalidDigest()
        return os.path.join(self.blobs_dir(), digest.replace(":", "-"))

    def manifest_path(self, name: Name) -> str:
        return os.path.join(self.manifests_dir(), name.filepath())

    # -- blobs -------------------------------------------------------------------------
    def new_layer(self, data: bytes | Reader, media_type: str) -> Layer:
        """NewLayer: hash while copying to a temp blob, then rename into place."""
        fd, tmp = tempfile.mkstemp(dir=self.blobs_dir(), prefix="sha256-")
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in _chunks(data):
                    h.update(chunk)
                    f.write(chunk)
                    size += len(chunk)
            digest = f"sha256:{h.hexdigest()}"
            blob = self.blob_path(digest)
            status = "using existing layer"
            if not os.path.exists(blob):
                status = "creating new layer"
                os.chmod(tmp, 0o644)
                os.replace(tmp, blob)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return Layer(media_type, digest, size, status=f"{status} {digest}")

    def layer_from_existing(self, digest: str, media_type: str, from_: str) -> Layer:
        size = os.stat(self.blob_path(digest)).st_size
        return Layer(media_type, digest, size, from_, f"using existing layer {digest}")

    def read_blob(self, digest: str) -> bytes:
        with open(self.blob_path(digest), "rb") as f:
            return f.read()

    # -- manifests ---------------------------------------------------------------------
    def parse_manifest(self, name: Name) -> Manifest:
        """ParseNamedManifest; FileNotFoundError when the model is absent."""
        p = self.manifest_path(name)
        with open(p, "rb") as f:
            data = f.read()
            st = os.fstat(f.fileno())
        m = Manifest.from_bytes(data)
        m.path, m.digest, m.mtime = p, hashlib.sha256(data).hexdigest(), st.st_mtime
        return m

    def write_manifest(self, name: Name, config: Layer, layers: list[Layer],
                       newline: bool = True) -> None:
        """WriteManifest (json.Encoder, trailing newline); pulls use newline=False (Marshal)."""
        p = self.manifest_path(name)
        _mkdir_all(os.path.dirname(p))
        body = Manifest(config, layers).to_json()
        atomic_write(p, gojson.dumps(body, newline=newline))

    def manifests(self, continue_on_error: bool = True) -> dict[Name, Manifest]:
        """Manifests(): every manifests/*/*/*/* file, re-read from disk on each call."""
        root = self.manifests_dir()
        out: dict[Name, Manifest] = {}
        for rel in _depth4_files(root):
            n = Name.from_filepath(rel)
            if n is None:
                if not continue_on_error:
                    raise GoStyleError(f"{rel} bad manifest name")
                slog.warn("manifest.go:149", "bad manifest name", path=rel)
                continue
            try:
                out[n] = self.parse_manifest(n)
            except (OSError, ValueError) as e:
                if not continue_on_error:
                    raise GoStyleError(f"{n} {e}") from e
                slog.warn("manifest.go:158", "bad manifest", name=str(n), error=str(e))
        return out

    def existing_name(self, n: Name) -> Name:
        """getExistingName: reuse the on-disk spelling of each part, case-insensitively."""
        host, ns, model, tag = n.host, n.namespace, n.model, n.tag
        for e in self.manifests():
            host = e.host if e.host.lower() == n.host.lower() else host
            ns = e.namespace if e.namespace.lower() == n.namespace.lower() else ns
            model = e.model if e.model.lower() == n.model.lower() else model
            tag = e.tag if e.tag.lower() == n.tag.lower() else tag
        return Name(host, ns, model, tag)

    # -- removal and pruning -----------------------------------------------------------
    def remove_manifest(self, m: Manifest) -> None:
        os.remove(m.path)
        prune_directory(self.manifests_dir())

    def referenced_digests(self) -> set[str]:
        return {layer.digest for m in self.manifests().values() for layer in m.all_layers()}

    def remove_layers(self, layers: Iterable[Layer]) -> None:
        """Delete blobs no remaining manifest references (Layer.Remove for each)."""
        used = self.referenced_digests()
        for layer in layers:
            if layer.digest and layer.digest not in used:
                try:
                    os.remove(self.blob_path(layer.digest))
                except FileNotFoundError:
                    slog.debug("manifest.go:55", "layer does not exist", digest=layer.digest)

    def delete_unused(self, candidates: set[str]) -> int:
        unused = candidates - self.referenced_digests()
        for digest in unused:
            try:
                os.remove(self.blob_path(digest))
            except OSError as e:
                slog.info("images.go:436", f"couldn't remove file '{digest}': {e}")
        return len(unused)

    def prune_layers(self) -> None:
        """PruneLayers at startup: drop partial/invalid blob files and unreferenced blobs."""
        blobs = self.blobs_dir()
        candidates: set[str] = set()
        for entry in os.listdir(blobs):
            digest = entry.replace("-", ":", 1) if entry.startswith("sha256-") else entry
            if not _DIGEST_RE.match(digest):
                try:
                    os.remove(os.path.join(blobs, entry))
                except OSError as e:
                    slog.error("images.go:468", "couldn't remove blob", blob=entry, error=str(e))
                continue
            candidates.add(digest)
        slog.info("images.go:478", f"total blobs: {len(candidates)}")
        removed = self.delete_unused(candidates)
        slog.info("images.go:485", f"total unused blobs removed: {removed}")

    def fix_blobs(self) -> None:
        """fixBlobs: old releases named blobs sha256:<hex>; rename them to sha256-<hex>."""
        for dirpath, _dirs, files in os.walk(self.blobs_dir()):
            for f in files:
                if f.startswith("sha256:"):
                    os.rename(os.path.join(dirpath, f),
                              os.path.join(dirpath, "sha256-" + f[len("sha256:"):]))


def _chunks(data: bytes | Reader) -> Iterable[bytes]:
    if isinstance(data, (bytes, bytearray)):  # noqa: UP038 - hosts may run Python < 3.10
        yield bytes(data)
        return
    while chunk := data.read(_CHUNK):
        yield chunk


def _depth4_files(root: str) -> list[str]:
    """Paths exactly four levels below root (Go's Glob(*/*/*/*) also matches dot-names)."""
    out: list[str] = []

    def walk(rel: str, depth: int) -> None:
        full = os.path.join(root, rel) if rel else root
        try:
            entries = sorted(os.listdir(full))
        except (NotADirectoryError, FileNotFoundError):
            return
        for e in entries:
            if e.startswith(".tmp-"):
                continue  # an atomic write in progress, not a manifest
            child = os.path.join(rel, e) if rel else e
            if depth == 3:
                if os.path.isfile(os.path.join(root, child)):
                    out.append(child)
            else:
                walk(child, depth + 1)

    walk("", 0)
    return out


def prune_directory(path: str) -> None:
    """Remove empty directories bottom-up (PruneDirectory), never following symlinks."""
    if os.path.islink(path) or not os.path.isdir(path):
        return
    for e in os.listdir(path):
        prune_directory(os.path.join(path, e))
    if not os.listdir(path):
        os.rmdir(path)
