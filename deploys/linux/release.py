"""Where a host gets its Ollama release from, and the digest it must have (worked out locally)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..settings import OllamaSettings


@dataclass(frozen=True)
class ReleaseSource:
    filename: str
    url: str | None = None  # hosts download from here ...
    local_file: Path | None = None  # ... or the controller uploads this
    sha256: str | None = None  # known digest
    checksums_url: str | None = None  # else the host reads it from sha256sum.txt
    problem: str | None = None  # why this host cannot be installed


def release_source(settings: OllamaSettings, arch: str) -> ReleaseSource:
    filename = settings.archive_filename(arch)
    fields = {"version": settings.version, "filename": filename, "arch": arch}
    if settings.archive_file is None:
        sha = settings.sha256.lower() if settings.sha256 else None
        checksums = None
        if sha is None and not settings.allow_unverified_archive:
            checksums = settings.checksums_url.format(**fields)
        return ReleaseSource(filename, url=settings.archive_url.format(**fields), sha256=sha,
                             checksums_url=checksums)

    path = Path(settings.archive_file).expanduser()
    if path.is_dir():
        path = path / filename
    if not path.is_file():
        return ReleaseSource(filename, problem=f"archive_file {path} does not exist on the "
                             "controller")
    expected = settings.sha256.lower() if settings.sha256 else _listed_digest(path)
    actual = _sha256(str(path), path.stat().st_mtime_ns, path.stat().st_size)
    if expected is None and not settings.allow_unverified_archive:
        return ReleaseSource(filename, problem=f"no checksum for {path}: set sha256, put the "
                             "release's sha256sum.txt beside it, or set allow_unverified_archive")
    if expected is not None and actual != expected:
        return ReleaseSource(filename, problem=f"checksum mismatch for {path}: expected "
                             f"{expected}, got {actual}; nothing was installed")
    return ReleaseSource(filename, local_file=path, sha256=actual)


def _listed_digest(archive: Path) -> str | None:
    listing = archive.parent / "sha256sum.txt"
    if not listing.is_file():
        return None
    for line in listing.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*").removeprefix("./") == archive.name:
            return parts[0].lower()
    return None


@cache
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    """Hash a local archive once per run, however many hosts install it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
