"""Just enough GGUF to read and write the metadata (key/value) header. TEST FIXTURE.

Upstream derives a model's details (family, parameter size, quantization) and capabilities from
the GGUF header. Test models carry a real GGUF header followed by filler bytes, so `show` and
`/api/tags` report plausible details. No tensors are read.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

MAGIC = b"GGUF"
_SCALARS: dict[int, str] = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
                            7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_FILE_TYPES = {1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "MXFP4", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
               10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
               16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 21: "Q2_K_S", 32: "BF16"}
MAX_KV = 4096  # refuse absurd headers instead of allocating on garbage input


class NotGGUF(ValueError):
    pass


def _read(f: BinaryIO, n: int) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise NotGGUF("unexpected EOF")
    return b


def _read_str(f: BinaryIO) -> str:
    (n,) = struct.unpack("<Q", _read(f, 8))
    return _read(f, n).decode("utf-8", "replace")


def _read_value(f: BinaryIO, typ: int) -> Any:
    if typ in _SCALARS:
        fmt = _SCALARS[typ]
        return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]
    if typ == _STRING:
        return _read_str(f)
    if typ == _ARRAY:
        (etyp,) = struct.unpack("<I", _read(f, 4))
        (count,) = struct.unpack("<Q", _read(f, 8))
        return [_read_value(f, etyp) for _ in range(count)]
    raise NotGGUF(f"invalid type {typ}")


def read_kv(f: BinaryIO) -> dict[str, Any]:
    """Metadata of a GGUF v2/v3 file; raises NotGGUF for anything else."""
    if f.read(4) != MAGIC:
        raise NotGGUF("not a GGUF file")
    (version,) = struct.unpack("<I", _read(f, 4))
    if version < 2:
        raise NotGGUF(f"unsupported GGUF version {version}")
    _tensors, count = struct.unpack("<QQ", _read(f, 16))
    if count > MAX_KV:
        raise NotGGUF("too many keys")
    kv: dict[str, Any] = {}
    for _ in range(count):
        key = _read_str(f)
        (typ,) = struct.unpack("<I", _read(f, 4))
        kv[key] = _read_value(f, typ)
    return kv


def encode_header(kv: dict[str, str | int]) -> bytes:
    """A GGUF v3 header with no tensors; str values as strings, ints as uint32/uint64."""
    out = [MAGIC, struct.pack("<IQQ", 3, 0, len(kv))]
    for key, value in kv.items():
        kb = key.encode()
        out.append(struct.pack("<Q", len(kb)) + kb)
        if isinstance(value, str):
            vb = value.encode()
            out.append(struct.pack("<IQ", _STRING, len(vb)) + vb)
        elif value < 1 << 32:
            out.append(struct.pack("<II", 4, value))
        else:
            out.append(struct.pack("<IQ", 10, value))
    return b"".join(out)


def file_type_name(kv: dict[str, Any]) -> str:
    """KV.FileType().String(): 0 or absent counts as unknown, as upstream."""
    t = kv.get("general.file_type", 0)
    return _FILE_TYPES.get(int(t), "unknown") if t else "unknown"


def human_number(n: int) -> str:
    """format.HumanNumber: 1B, 1.1B, 16.78M, 7K."""
    if n >= 1_000_000_000:
        v = n / 1_000_000_000
        return f"{v:.0f}B" if v == int(v) else f"{v:.1f}B"
    if n >= 1_000_000:
        v = n / 1_000_000
        return f"{v:.0f}M" if v == int(v) else f"{v:.2f}M"
    if n >= 1_000:
        return f"{n / 1_000:.0f}K"
    return str(n)


def details(kv: dict[str, Any]) -> dict[str, str]:
    """The ConfigV2 fields createModel derives from a model layer's GGUF header."""
    arch = str(kv.get("general.architecture", "unknown"))
    return {"model_format": "gguf", "model_family": arch,
            "model_type": human_number(int(kv.get("general.parameter_count", 0))),
            "file_type": file_type_name(kv)}
