#!/usr/bin/env python3
"""Build stand-in Ollama release archives. TEST FIXTURE.

    python3 lab/standin/release_build.py --version 0.13.5 --out DIR [--broken]

Writes upstream-shaped release files for one version:
    DIR/ollama-linux-amd64.tgz       gzip tarball (what releases before 0.14.0 ship)
    DIR/ollama-linux-amd64.tar.zst   zstd tarball (what 0.14.0 and later ship)
    DIR/ollama-linux-amd64-rocm.tgz, .tar.zst   the AMD add-on: lib/ollama/rocm/ only
    DIR/sha256sum.txt                `<hex>  ./<file>` lines, as upstream's release job writes
Both tarballs hold what upstream's do, with the same member paths (no leading ./, files listed
without directory entries, owner 0/0): bin/ollama (here a Python entry point) and lib/ollama/
(placeholder runtime libraries, a cuda_v12/ GPU library directory, plus the stand-in package);
the ROCm add-on holds lib/ollama/rocm/, as upstream's does. The version is baked in; --broken
builds a release whose `serve` fails at start; --pad-mb N adds N MiB of incompressible bytes
(seeded) as lib/ollama/libggml-padding.so, a release of real size for transfer benchmarks.
Same inputs give byte-identical outputs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import marshal
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "ollama_standin"
ARCHIVES = ("ollama-linux-amd64.tgz", "ollama-linux-amd64.tar.zst")
ROCM_ARCHIVES = ("ollama-linux-amd64-rocm.tgz", "ollama-linux-amd64-rocm.tar.zst")
MTIME = 1_700_000_000  # fixed, so archives are reproducible
CACHE_TAG = sys.implementation.cache_tag  # e.g. cpython-311: the hosts' python3 must match
RUNTIME_LIBS = {"libggml-base.so": 6144, "libggml-cpu-x64.so": 4096}
# GPU backends: the main archive ships CUDA (as upstream's does), the add-on ROCm. The stand-in
# reports a GPU only when its library directory is in its own install tree, like upstream.
CUDA_LIBS = {"cuda_v12/libggml-cuda.so": 8192}
ROCM_LIBS = {"rocm/libggml-hip.so": 8192}
PADDING_LIB = "libggml-padding.so"  # only in padded builds (--pad-mb)

# An absolute interpreter path, not `env python3`: upstream's binary runs whatever PATH is (even
# an empty or broken one in a unit's Environment=), and so must the fixture. Every lab host has
# /usr/bin/python3.
ENTRY = '''#!/usr/bin/python3
"""ollama: TEST FIXTURE entry point of the stand-in release (see lib/ollama/ollama_standin).

Like upstream's binary it finds its libraries relative to its real location: ../lib/ollama,
and it does not depend on PATH.
"""
import os
import sys

sys.dont_write_bytecode = True  # keep the install prefix exactly as unpacked
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))),
                                "lib", "ollama"))
from ollama_standin.cli import main  # noqa: E402

sys.exit(main())
'''


def _buildinfo(version: str, broken: bool) -> bytes:
    return (f'"""Build-time constants baked in by release_build.py. TEST FIXTURE."""\n\n'
            f"VERSION = {version!r}\nBROKEN = {broken!r}\n").encode()


def _placeholder_lib(name: str, size: int, version: str) -> bytes:
    """Deterministic bytes that differ per version, so upgrades visibly swap lib/ollama."""
    head = (b"\x7fELF placeholder runtime library for the ollama stand-in (test fixture): "
            + f"{name} {version}\n".encode())
    out = bytearray(head)
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}:{version}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def _padding(version: str, size: int) -> bytes:
    """size bytes that neither gzip nor zstd can shrink (seeded, so reproducible): a release of
    real size (upstream's is hundreds of MB, mostly GPU libraries) for transfer benchmarks."""
    rng = random.Random(f"padding:{version}")
    return b"".join(rng.randbytes(min(1 << 20, size - at)) for at in range(0, size, 1 << 20))


def _members(version: str, broken: bool,
             pad_bytes: int = 0) -> list[tuple[str, bytes | None, int]]:
    """(path, content or None for a directory, mode), in archive order."""
    members: list[tuple[str, bytes | None, int]] = [("bin/ollama", ENTRY.encode(), 0o755)]
    for lib, size in sorted({**RUNTIME_LIBS, **CUDA_LIBS}.items()):
        members.append((f"lib/ollama/{lib}", _placeholder_lib(lib, size, version), 0o755))
    if pad_bytes:
        members.append((f"lib/ollama/{PADDING_LIB}", _padding(version, pad_bytes), 0o755))
    pkg_dir = os.path.join(HERE, PACKAGE)
    sources: dict[str, bytes] = {}
    for f in sorted(os.listdir(pkg_dir)):
        if not f.endswith(".py"):
            continue
        if f == "buildinfo.py":
            sources[f] = _buildinfo(version, broken)
        else:
            with open(os.path.join(pkg_dir, f), "rb") as fh:
                sources[f] = fh.read()
    members.append((f"lib/ollama/{PACKAGE}", None, 0o755))
    members += [(f"lib/ollama/{PACKAGE}/{f}", data, 0o644) for f, data in sources.items()]
    members.append((f"lib/ollama/{PACKAGE}/__pycache__", None, 0o755))
    compiled = [(f"lib/ollama/{PACKAGE}/__pycache__/{f[:-3]}.{CACHE_TAG}.pyc", pyc, 0o644)
                for f, pyc in _pycs(sources).items()]
    return members + compiled


# Compiles in a fresh interpreter with a fixed hash seed: marshal's output depends on reference
# counts (shared constants get back-references) and on set ordering (hash seed), so compiling in
# a long-lived process that has imported other code gives different bytes for the same source.
_COMPILER = """
import importlib.util, marshal, sys
sources = marshal.loads(sys.stdin.buffer.read())
out = {}
for name, (source, filename) in sources.items():
    code = compile(source, filename, "exec", dont_inherit=True)
    out[name] = (importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")
                 + importlib.util.source_hash(source) + marshal.dumps(code))
sys.stdout.buffer.write(marshal.dumps(out))
"""


def _pycs(sources: dict[str, bytes]) -> dict[str, bytes]:
    """Bytecode for each module, so the fixture starts about as fast as upstream's binary
    instead of compiling ~3000 lines on every call. Hash-based and checked (PEP 552, flags
    0b11): the interpreter uses it only while the source beside it is unchanged, and the bytes
    do not depend on file times, so archives stay reproducible. An interpreter of another
    version ignores it (the file name carries the version) and compiles as before."""
    request = {name: (data, f"{PACKAGE}/{name}") for name, data in sources.items()}
    done = subprocess.run([sys.executable, "-I", "-c", _COMPILER], input=marshal.dumps(request),
                          stdout=subprocess.PIPE, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    return marshal.loads(done.stdout)


def _rocm_members(version: str) -> list[tuple[str, bytes | None, int]]:
    return [(f"lib/ollama/{lib}", _placeholder_lib(lib, size, version), 0o755)
            for lib, size in sorted(ROCM_LIBS.items())]


def _tar(version: str, broken: bool, rocm: bool = False, pad_bytes: int = 0) -> bytes:
    buf = io.BytesIO()
    members = _rocm_members(version) if rocm else _members(version, broken, pad_bytes)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, data, mode in members:
            info = tarfile.TarInfo(path)
            info.mtime, info.mode = MTIME, mode
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of build-specific fields.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def _zstd(data: bytes) -> bytes:
    exe = shutil.which("zstd")
    if exe is None:
        raise RuntimeError("the zstd command is required to build .tar.zst archives")
    # Single-threaded at a fixed level so the output bytes are reproducible.
    return subprocess.run([exe, "-9", "-T1", "-q", "-c", "--no-progress"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def build_release(version: str, out_dir: str, broken: bool = False,
                  pad_mb: int = 0) -> dict[str, str]:
    """Write the release files into out_dir; returns {file name: sha256 hex}. pad_mb adds an
    incompressible lib/ollama/libggml-padding.so of that many MiB to the main archives."""
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
        raise ValueError(f"invalid version {version!r}")
    os.makedirs(out_dir, exist_ok=True)
    tar = _tar(version, broken, pad_bytes=pad_mb << 20)
    rocm = _tar(version, broken, rocm=True)
    sums: dict[str, str] = {}
    for name, data in ((ARCHIVES[0], _gzip(tar)), (ARCHIVES[1], _zstd(tar)),
                       (ROCM_ARCHIVES[0], _gzip(rocm)), (ROCM_ARCHIVES[1], _zstd(rocm))):
        tmp = os.path.join(out_dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(out_dir, name))
        sums[name] = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out_dir, "sha256sum.txt"), "w") as f:
        f.writelines(f"{sums[n]}  ./{n}\n" for n in sorted(sums))
    return sums


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build stand-in Ollama release archives "
                                             "(test fixture).")
    ap.add_argument("--version", required=True, help="release version, e.g. 0.13.5")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--broken", action="store_true",
                    help="build a release whose `ollama serve` exits 1 at start")
    ap.add_argument("--pad-mb", type=int, default=0,
                    help="add an incompressible library of this many MiB (a release of real "
                         "size, for transfer benchmarks)")
    a = ap.parse_args(argv)
    for name, digest in build_release(a.version, a.out, a.broken, a.pad_mb).items():
        print(f"{digest}  {os.path.join(a.out, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
