"""Release archives: layout, checksums, reproducibility, version baking, --broken."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import release_build
from standin_helpers import VERSION, base_env, install, start


def _members(archive: Path) -> dict[str, tarfile.TarInfo]:
    data = archive.read_bytes()
    if archive.name.endswith(".zst"):
        data = subprocess.run(["zstd", "-d", "-c"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_both_formats_hold_bin_and_lib(release_dir: Path) -> None:
    for name in release_build.ARCHIVES:
        members = _members(release_dir / name)
        assert members["bin/ollama"].mode == 0o755
        assert "lib/ollama/libggml-base.so" in members
        assert "lib/ollama/ollama_standin/cli.py" in members
        assert not any(n.startswith("./") for n in members)  # upstream's member spelling
        assert all(m.uid == 0 and m.gid == 0 for m in members.values())
        assert "lib/ollama/cuda_v12/libggml-cuda.so" in members


def test_rocm_addon_holds_only_lib_ollama_rocm(release_dir: Path) -> None:
    for name in release_build.ROCM_ARCHIVES:
        assert list(_members(release_dir / name)) == ["lib/ollama/rocm/libggml-hip.so"]


def test_sha256sum_matches(release_dir: Path) -> None:
    lines = (release_dir / "sha256sum.txt").read_text().splitlines()
    assert len(lines) == 4  # the main archive and the ROCm add-on, each in both formats
    for line in lines:
        digest, name = line.split("  ")
        assert name.startswith("./")
        assert hashlib.sha256((release_dir / name[2:]).read_bytes()).hexdigest() == digest


def test_reproducible_and_versions_differ(tmp_path: Path, release_dir: Path) -> None:
    again = release_build.build_release(VERSION, str(tmp_path / "again"))
    for name, digest in again.items():
        assert hashlib.sha256((release_dir / name).read_bytes()).hexdigest() == digest
    other = release_build.build_release("0.14.0", str(tmp_path / "other"))
    assert set(other.values()).isdisjoint(again.values())
    old = _members(release_dir / release_build.ARCHIVES[0])
    new = _members(tmp_path / "other" / release_build.ARCHIVES[0])
    assert old["lib/ollama/libggml-base.so"].size == new["lib/ollama/libggml-base.so"].size


def test_version_is_baked_in(tmp_path: Path) -> None:
    release_build.build_release("0.14.2", str(tmp_path / "r"))
    binary = install(tmp_path / "r" / "ollama-linux-amd64.tar.zst", tmp_path / "p")
    env = base_env(tmp_path)
    out = subprocess.run([str(binary), "--version"], env=env, capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.splitlines() == ["Warning: could not connect to a running Ollama instance",
                                       "Warning: client version is 0.14.2"]


def test_broken_release_fails_at_start(tmp_path: Path) -> None:
    release_build.build_release(VERSION, str(tmp_path / "r"), broken=True)
    binary = install(tmp_path / "r" / "ollama-linux-amd64.tgz", tmp_path / "p")
    o = start(binary, base_env(tmp_path), tmp_path / "log")
    assert o.proc is not None and o.proc.wait(10) == 1
    log = (tmp_path / "log").read_text()
    assert "level=ERROR" in log and "Error: unable to load runtime library" in log
