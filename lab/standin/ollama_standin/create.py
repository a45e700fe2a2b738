"""Server side of /api/create (server/create.go CreateHandler + createModel). TEST FIXTURE.

`FROM base` reuses the base's layers (marked with `from`), then new template/system/params/
license/messages layers replace the base's ones, a fresh config blob lists the layer digests,
and the manifest is written last so a reader never sees a manifest whose blobs are missing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from . import gguf, gojson, gotmpl, registry_client, store
from .gocompat import float32_shortest
from .goerrors import GoStyleError
from .modelfile import DRAFT_FILES_SINCE, played_release
from .names import INVALID_NAME, Name
from .store import Layer, Store

Progress = Callable[[dict[str, Any]], None]


class CreateError(GoStyleError):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


def valid_rel_path(p: str) -> bool:
    """io/fs.ValidPath: unrooted, slash-separated, no empty, '.' or '..' elements."""
    if p == ".":
        return True
    return all(part not in ("", ".", "..") for part in p.split("/"))


def _gguf_kv(st: Store, digest: str) -> dict[str, Any]:
    with open(st.blob_path(digest), "rb") as f:
        try:
            return gguf.read_kv(f)
        except gguf.NotGGUF as e:
            raise CreateError(str(e)) from e


def _from_model(st: Store, name: Name, fn: Progress) -> list[tuple[Layer, dict[str, Any]]]:
    """parseFromModel: base layers (pulled first when absent), GGUF kv for weight layers."""
    try:
        m = st.parse_manifest(name)
    except FileNotFoundError:
        registry_client.pull(st, name, fn)
        m = st.parse_manifest(name)
    out = []
    for layer in m.layers:
        new = st.layer_from_existing(layer.digest, layer.media_type, name.display_shortest())
        weights = layer.media_type in (store.MEDIA_MODEL, store.MEDIA_PROJECTOR,
                                       store.MEDIA_ADAPTER)
        out.append((new, _gguf_kv(st, layer.digest) if weights else {}))
    return out


def _from_files(st: Store, files: dict[str, str], adapter: bool,
                fn: Progress, media_type: str = "") -> list[tuple[Layer, dict[str, Any]]]:
    """convertModelFromFiles for GGUF uploads (safetensors conversion is out of scope)."""
    if not files:
        raise CreateError("no files provided to convert", 400)
    if adapter and len(files) > 1:
        raise CreateError("only one adapter is currently supported", 400)
    if any(k.endswith(".safetensors") for k in files):
        raise CreateError("unknown type", 400)  # the stand-in cannot convert safetensors
    out = []
    for digest in files.values():
        fn({"status": "parsing GGUF"})
        try:
            path = st.blob_path(digest)
        except store.InvalidDigest as e:
            raise CreateError(str(e)) from e
        with open(path, "rb") as f:
            if f.read(4) != gguf.MAGIC:
                raise CreateError("supplied file was not in GGUF format", 400)
        kv = _gguf_kv(st, digest)
        media = media_type or {"adapter": store.MEDIA_ADAPTER,
                               "projector": store.MEDIA_PROJECTOR}.get(
                                   str(kv.get("general.type")), store.MEDIA_MODEL)
        out.append((st.layer_from_existing(digest, media, path), kv))
    return out


def _replace(st: Store, layers: list[Layer], media: str, data: bytes | None) -> list[Layer]:
    """Drop layers of one media type (blobs only if unreferenced) and append the new one."""
    dropped = [layer for layer in layers if layer.media_type == media]
    kept = [layer for layer in layers if layer.media_type != media]
    st.remove_layers(dropped)
    if data is not None:
        kept.append(st.new_layer(data, media))
    return kept


def _go_number(v: Any) -> Any:
    # Go decodes JSON numbers to float64 and re-encodes integral ones without a fraction.
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _merged_params(st: Store, layers: list[Layer], params: dict[str, Any]) -> dict[str, Any]:
    """setParameters: request parameters win; the base's other parameters are kept."""
    merged = dict(params)
    for layer in layers:
        if layer.media_type == store.MEDIA_PARAMS:
            existing = json.loads(st.read_blob(layer.digest)) or {}
            for k, v in existing.items():
                merged.setdefault(k, _go_number(v))
    return merged


def _normalize_params(params: dict[str, Any]) -> dict[str, Any]:
    # API clients send float64s; upstream stores Options' float fields as float32.
    return {k: float32_shortest(v) if isinstance(v, float) and not v.is_integer() else v
            for k, v in params.items()}


def _config(base: list[tuple[Layer, dict[str, Any]]], req: dict[str, Any]) -> dict[str, Any]:
    cfg: dict[str, Any] = {"model_format": "", "model_family": "", "model_families": None,
                           "model_type": "", "file_type": ""}
    for layer, kv in base:
        if not kv:
            continue
        if layer.media_type == store.MEDIA_DRAFT:
            cfg["draft"] = {"model_format": "gguf",
                            "architecture": str(kv.get("general.architecture", ""))}
            continue
        d = gguf.details(kv)
        for key in ("model_format", "model_family", "model_type", "file_type"):
            cfg[key] = cfg[key] or d[key]
        cfg["model_families"] = [*(cfg["model_families"] or []), d["model_family"]]
    for key in ("renderer", "parser"):
        if req.get(key):
            cfg[key] = req[key]
    return cfg


def _base_config_extras(st: Store, name: Name, cfg: dict[str, Any]) -> None:
    """Renderer/parser are inherited from the base model's config when not given."""
    try:
        m = st.parse_manifest(name)
        base_cfg = json.loads(st.read_blob(m.config.digest)) if m.config.digest else {}
    except (OSError, ValueError):
        return
    for key in ("renderer", "parser"):
        if not cfg.get(key) and base_cfg.get(key):
            cfg[key] = base_cfg[key]


def _ordered_config(cfg: dict[str, Any], digests: list[str]) -> dict[str, Any]:
    """model.ConfigV2 field order, omitempty fields dropped."""
    out: dict[str, Any] = {"model_format": cfg.get("model_format", ""),
                           "model_family": cfg.get("model_family", ""),
                           "model_families": cfg.get("model_families"),
                           "model_type": cfg.get("model_type", ""),
                           "file_type": cfg.get("file_type", "")}
    for k in ("renderer", "parser", "draft"):
        if cfg.get(k):
            out[k] = cfg[k]
    out.update({"architecture": "amd64", "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": digests}})
    return out


def create(st: Store, req: dict[str, Any], name: Name, fn: Progress, no_prune: bool) -> None:
    """Everything after request validation; progress via fn, failures as CreateError."""
    try:
        old = st.parse_manifest(name)
    except (OSError, ValueError):
        old = None
    base: list[tuple[Layer, dict[str, Any]]]
    from_name = None
    if req.get("from"):
        from_name = Name.parse(req["from"])
        if not from_name.is_valid():
            raise CreateError(INVALID_NAME, 400)
        base = _from_model(st, from_name, fn)
    elif req.get("files") is not None:
        base = _from_files(st, req["files"], False, fn)
    else:
        raise CreateError("neither 'from' or 'files' was specified", 400)
    drafts: list[tuple[Layer, dict[str, Any]]] = []
    if req.get("draft_files") is not None and played_release() >= DRAFT_FILES_SINCE:
        # convertDraftModelFromFiles: converted before the adapters, stored after them, and
        # every failure is the client's (400).
        try:
            drafts = _from_files(st, req["draft_files"], False, fn, store.MEDIA_DRAFT)
        except CreateError as e:
            raise CreateError(str(e), 400) from None
    if req.get("adapters"):
        base += _from_files(st, req["adapters"], True, fn)
    base += drafts
    if req.get("quantize") or req.get("quantization"):
        raise CreateError("quantization is only supported for F16 and F32 models")
    cfg = _config(base, req)
    if from_name is not None:
        _base_config_extras(st, from_name, cfg)
    layers = [layer for layer, _ in base]
    if req.get("template"):
        # setTemplate: the old template layer goes first, then Go's parser has its say.
        layers = _replace(st, layers, store.MEDIA_TEMPLATE, None)
        try:
            gotmpl.check(req["template"], played_release())
        except gotmpl.TemplateError as e:
            raise CreateError(f"template error: {e}", 400) from None
        layers.append(st.new_layer(req["template"].encode(), store.MEDIA_TEMPLATE))
    if req.get("system"):
        layers = _replace(st, layers, store.MEDIA_SYSTEM, req["system"].encode())
    lic = req.get("license")
    for text in ([lic] if isinstance(lic, str) else lic or []):
        if text:
            layers.append(st.new_layer(str(text).encode(), store.MEDIA_LICENSE))
    params = _merged_params(st, layers, _normalize_params(req.get("parameters") or {}))
    if params:
        layers = _replace(st, layers, store.MEDIA_PARAMS, gojson.dumps(gojson.sorted_map(params)))
    if req.get("messages"):
        msgs = [{"role": m.get("role", ""), "content": m.get("content", "")}
                for m in req["messages"]]
        layers = _replace(st, layers, store.MEDIA_MESSAGES, gojson.dumps(msgs))
    config_blob = gojson.dumps(_ordered_config(cfg, [layer.digest for layer in layers]))
    config = st.new_layer(config_blob, store.CONFIG_MEDIA_TYPE)
    for layer in layers:
        if layer.status:
            fn({"status": layer.status})
    fn({"status": "writing manifest"})
    st.write_manifest(name, config, layers)
    if not no_prune and old is not None:
        st.remove_layers(old.all_layers())
    fn({"status": "success"})


def request_files_valid(req: dict[str, Any]) -> bool:
    return all(valid_rel_path(k) for key in ("files", "draft_files")
               for k in (req.get(key) or {}))


def blob_exists(st: Store, digest: str) -> bool:
    return os.path.exists(st.blob_path(digest))
