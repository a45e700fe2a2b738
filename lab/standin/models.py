#!/usr/bin/env python3
"""Deterministic test models in the Ollama store layout. TEST FIXTURE.

    python3 lab/standin/models.py --store DIR --name tinyllama:1b --size 8M [--seed S]

Writes a fake model into DIR (manifests/registry.ollama.ai/<ns>/<model>/<tag>, blobs/): a
weights blob that starts with a real GGUF metadata header (so details and capabilities resolve)
followed by pseudo-random filler up to the requested size, plus template, params and config
blobs. The same name/size/seed always yields the same bytes and manifest digest, so a registry
seeded with it and a controller store built with it agree on the model ID.
Prints the manifest digest (the ID `ollama list` shows the first 12 characters of).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ollama_standin import gguf, gojson, store  # noqa: E402
from ollama_standin.names import Name  # noqa: E402

TEMPLATE = "<|system|>\n{{ .System }}</s>\n<|user|>\n{{ .Prompt }}</s>\n<|assistant|>\n"
STOP = ["<|system|>", "<|user|>", "<|assistant|>", "</s>"]
_BLOCK = 1 << 20
_Q4_0 = 2


class _Filler:
    """A reader yielding header + size-len(header) deterministic bytes.

    One 1 MiB block is hashed from the seed and repeated: fast for multi-GB models, and the
    per-model seed still makes every model's blob (and digest) distinct.
    """

    def __init__(self, header: bytes, size: int, seed: str) -> None:
        self.pending = header
        self.left = size - len(header)
        block = bytearray()
        counter = 0
        while len(block) < _BLOCK:
            block += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
            counter += 1
        self.block = bytes(block[:_BLOCK])

    def read(self, n: int = _BLOCK, /) -> bytes:
        if self.pending:
            out, self.pending = self.pending, b""
            return out
        take = min(n, _BLOCK, self.left)
        self.left -= take
        return self.block[:take]


def parse_size(text: str) -> int:
    """8M, 512K, 1G (binary multiples) or a plain byte count."""
    m = re.fullmatch(r"(\d+)([KMG]?)(i?B)?", text.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(f"invalid size {text!r}")
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[
        m.group(2).upper()]


def make_model(store_dir: str, name: str, size_bytes: int, seed: int | str = 0) -> str:
    """Write the model into store_dir; returns the manifest digest (hex)."""
    n = Name.parse(name)
    if not n.is_valid():
        raise ValueError(f"invalid model name {name!r}")
    st = store.Store(store_dir)
    header = gguf.encode_header({
        "general.architecture": "llama",
        "general.name": n.model,
        "general.parameter_count": size_bytes * 2,  # Q4_0 stores about two weights a byte
        "general.file_type": _Q4_0,
        "llama.context_length": 2048,
        "llama.embedding_length": 64,
        "llama.block_count": 2,
    })
    if size_bytes < len(header):
        raise ValueError(f"size must be at least {len(header)} bytes")
    weights = st.new_layer(_Filler(header, size_bytes, f"{n}:{seed}"), store.MEDIA_MODEL)
    layers = [weights,
              st.new_layer(TEMPLATE.encode(), store.MEDIA_TEMPLATE),
              st.new_layer(gojson.dumps({"stop": STOP}), store.MEDIA_PARAMS)]
    with open(st.blob_path(weights.digest), "rb") as f:
        d = gguf.details(gguf.read_kv(f))
    config = gojson.dumps({
        "model_format": d["model_format"], "model_family": d["model_family"],
        "model_families": [d["model_family"]], "model_type": d["model_type"],
        "file_type": d["file_type"], "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [x.digest for x in layers]}})
    cfg = st.new_layer(config, store.CONFIG_MEDIA_TYPE)
    # Compact and without a newline: byte-identical to what a pull writes, so IDs agree.
    st.write_manifest(n, cfg, layers, newline=False)
    return st.parse_manifest(n).digest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="Ollama models directory to write into")
    ap.add_argument("--name", required=True, help="model name, e.g. tinyllama:1b")
    ap.add_argument("--size", default="8M", help="weights blob size (8M, 512K, 1G, bytes)")
    ap.add_argument("--seed", default="0", help="varies the bytes for the same name")
    a = ap.parse_args(argv)
    print(make_model(a.store, a.name, parse_size(a.size), a.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
