"""A stored model as the server sees it (server/images.go GetModel, routes.go show/list).

TEST FIXTURE. Builds the /api/show and /api/tags payloads from the on-disk store, re-reading
it on every request as upstream does, so out-of-band changes (an offline sync copying
manifests/ and blobs/) are visible without a restart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import gguf, modelfile, store
from .gocompat import format_sharp_v
from .names import Name
from .store import Manifest, Store

DEFAULT_TEMPLATE = "{{ .Prompt }}"


def go_time(ns: int) -> str:
    """time.Time JSON (RFC3339Nano, local zone): trailing zeros of the fraction trimmed."""
    dt = datetime.fromtimestamp(ns // 1_000_000_000).astimezone()
    frac = f"{ns % 1_000_000_000:09d}".rstrip("0")
    off = dt.strftime("%z")
    zone = "Z" if off in ("+0000", "-0000") else f"{off[:3]}:{off[3:]}"
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + zone


def mtime_ns(m: Manifest) -> int:
    return int(m.mtime * 1_000_000_000)


@dataclass
class Model:
    name: Name
    manifest: Manifest
    config: dict[str, Any] = field(default_factory=dict)
    model_path: str = ""
    parent_model: str = ""
    adapter_paths: list[str] = field(default_factory=list)
    projector_paths: list[str] = field(default_factory=list)
    template: str = DEFAULT_TEMPLATE
    system: str = ""
    license: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)


def load(st: Store, name: Name) -> Model:
    """GetModel: read the manifest and interpret each layer by media type."""
    m = st.parse_manifest(name)
    model = Model(name, m)
    if m.config.digest:
        model.config = json.loads(st.read_blob(m.config.digest))
    for layer in m.layers:
        path = st.blob_path(layer.digest)
        mt = layer.media_type
        if mt == store.MEDIA_MODEL:
            model.model_path, model.parent_model = path, layer.from_
        elif mt == store.MEDIA_ADAPTER:
            model.adapter_paths.append(path)
        elif mt == store.MEDIA_PROJECTOR:
            model.projector_paths.append(path)
        elif mt in (store.MEDIA_TEMPLATE, store.MEDIA_PREFIX + "prompt"):
            model.template = st.read_blob(layer.digest).decode()
        elif mt == store.MEDIA_SYSTEM:
            model.system = st.read_blob(layer.digest).decode()
        elif mt == store.MEDIA_PARAMS:
            model.options = json.loads(st.read_blob(layer.digest)) or {}
        elif mt == store.MEDIA_MESSAGES:
            model.messages = json.loads(st.read_blob(layer.digest)) or []
        elif mt == store.MEDIA_LICENSE:
            model.license.append(st.read_blob(layer.digest).decode())
    return model


def model_kv(model: Model) -> dict[str, Any]:
    if not model.model_path:
        return {}
    with open(model.model_path, "rb") as f:
        return gguf.read_kv(f)


def capabilities(model: Model, kv: dict[str, Any]) -> list[str]:
    """Model.Capabilities: from the GGUF header and the template's variables."""
    caps: list[str] = []
    arch = kv.get("general.architecture", "")
    if model.model_path:
        caps.append("embedding" if f"{arch}.pooling_type" in kv else "completion")
        if f"{arch}.vision.block_count" in kv:
            caps.append("vision")
    else:
        caps += model.config.get("capabilities") or []
    if re.search(r"\.Tools\b", model.template):
        caps.append("tools")
    if re.search(r"\.Suffix\b", model.template):
        caps.append("insert")
    if model.projector_paths:
        caps.append("vision")
    if model.config.get("model_family") in ("gptoss", "gpt-oss"):
        caps.append("thinking")
    return caps


def details(config: dict[str, Any], parent: str = "") -> dict[str, Any]:
    return {"parent_model": parent, "format": config.get("model_format", ""),
            "family": config.get("model_family", ""),
            "families": config.get("model_families"),
            "parameter_size": config.get("model_type", ""),
            "quantization_level": config.get("file_type", "")}


def generated_modelfile(model: Model) -> str:
    """The `ollama show --modelfile` text (GetModelInfo + Model.String)."""
    cmds = [modelfile.Command("model", model.model_path)]
    cmds += [modelfile.Command("adapter", p) for p in model.adapter_paths]
    cmds += [modelfile.Command("model", p) for p in model.projector_paths]
    cmds.append(modelfile.Command("template", model.template))
    if model.system:
        cmds.append(modelfile.Command("system", model.system))
    for key in ("renderer", "parser"):
        if model.config.get(key):
            cmds.append(modelfile.Command(key, model.config[key]))
    cmds += modelfile.option_commands(model.options)
    cmds += [modelfile.Command("license", text) for text in model.license]
    cmds += [modelfile.Command("message", f"{m.get('role')}: {m.get('content')}")
             for m in model.messages]
    header = ('# Modelfile generated by "ollama show"\n'
              "# To build a new Modelfile based on this, replace FROM with:\n"
              f"# FROM {model.name.display_shortest()}\n\n")
    return header + modelfile.render(cmds)


def parameters_text(options: dict[str, Any]) -> str:
    """`%-30s %#v` per option value, list values one line each."""
    lines = []
    for k in sorted(options):
        v = options[k]
        for item in v if isinstance(v, list) else [v]:
            lines.append(f"{k:<30} {format_sharp_v(item)}")
    return "\n".join(lines)


def show(st: Store, name: Name) -> dict[str, Any]:
    """GetModelInfo: the /api/show body (omitempty fields dropped as upstream does)."""
    model = load(st, name)
    kv = model_kv(model)
    resp: dict[str, Any] = {
        "license": "\n".join(model.license),
        "modelfile": generated_modelfile(model),
        "parameters": parameters_text(model.options),
        "template": model.template,
        "system": model.system,
        "details": details(model.config, model.parent_model),
        "messages": [{"role": m.get("role"), "content": m.get("content")}
                     for m in model.messages],
        "model_info": {k: v for k, v in kv.items()
                       if k not in ("general.name", "tokenizer.chat_template")},
        "capabilities": capabilities(model, kv),
        "modified_at": go_time(mtime_ns(model.manifest)),
    }
    return {k: v for k, v in resp.items() if v not in ("", [], {}, None)}


def list_models(st: Store) -> list[dict[str, Any]]:
    """ListHandler: every manifest, most recently modified first."""
    out = []
    for n, m in st.manifests().items():
        cfg: dict[str, Any] = {}
        if m.config.digest:
            try:
                cfg = json.loads(st.read_blob(m.config.digest))
            except (OSError, ValueError):
                continue  # upstream logs "bad manifest config" and skips the model
        out.append((mtime_ns(m) // 1_000_000_000, n, {
            "name": n.display_shortest(), "model": n.display_shortest(),
            "modified_at": go_time(mtime_ns(m)), "size": m.size(), "digest": m.digest,
            "details": details(cfg)}))
    out.sort(key=lambda t: (-t[0], str(t[1])))
    return [entry for _, _, entry in out]
