"""A controller-side Ollama model store (OLLAMA_MODELS layout) used to seed air-gapped hosts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .model_names import model_key_or_none, parse_model_name


@dataclass(frozen=True)
class Blob:
    name: str  # sha256-<hex>, as on disk
    path: Path
    size: int

    @property
    def hexdigest(self) -> str:
        return self.name.removeprefix("sha256-")


@dataclass(frozen=True)
class StoredModel:
    name: str
    manifest_relpath: str  # under manifests/
    manifest: bytes
    blobs: tuple[Blob, ...]

    @property
    def key(self) -> str:
        """Ollama's identity for the model (see model_names.model_key)."""
        return parse_model_name(self.name).key

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest).hexdigest()


class ModelSourceError(ValueError):
    pass


def load_model(store: Path, name: str) -> StoredModel | None:
    """The model as the store holds it, or None when the store does not have it."""
    parsed = parse_model_name(name)
    relpath = parsed.manifest_path.removeprefix("manifests/")
    manifest_path = store / "manifests" / relpath
    if not manifest_path.is_file():
        # Ollama matches names without case, and a manifest path keeps the case of whoever
        # wrote it first: `Qwen2.5:0.5B` is the store's qwen2.5/0.5b.
        found = _find_manifest(store, parsed.key)
        if found is None:
            return None
        relpath = found
        manifest_path = store / "manifests" / relpath
        parsed = parse_model_name("{}/{}/{}:{}".format(*relpath.split("/")))
    raw = manifest_path.read_bytes()
    try:
        document = json.loads(raw)
        layers = [document["config"], *document["layers"]]
        digests = [str(layer["digest"]) for layer in layers]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelSourceError(f"{manifest_path}: not an Ollama manifest ({exc})") from None
    blobs = []
    for digest in dict.fromkeys(digests):
        blob_name = digest.replace(":", "-")
        path = store / "blobs" / blob_name
        if not path.is_file():
            raise ModelSourceError(f"{name}: blob {blob_name} is missing from {store}/blobs")
        blobs.append(Blob(blob_name, path, path.stat().st_size))
    return StoredModel(parsed.short, relpath, raw, tuple(blobs))


def _find_manifest(store: Path, key: str) -> str | None:
    """The manifest path (under manifests/) of the model with this identity, if any."""
    root = store / "manifests"
    if not root.is_dir():
        return None
    for path in sorted(root.glob("*/*/*/*")):
        relpath = path.relative_to(root).as_posix()
        if path.is_file() and model_key_or_none("{}/{}/{}:{}".format(*relpath.split("/"))) == key:
            return relpath
    return None


@cache
def _load_cached(store: str, name: str, mtime_ns: int) -> StoredModel | None:
    return load_model(Path(store), name)


def models_in_store(store: Path, names: tuple[str, ...]) -> list[StoredModel]:
    """Those of the named models that the store holds (read once per run, not per host)."""
    found = []
    manifests = store / "manifests"
    stamp = manifests.stat().st_mtime_ns if manifests.exists() else 0
    for name in names:
        model = _load_cached(str(store), name, stamp)
        if model is not None:
            found.append(model)
    return found
