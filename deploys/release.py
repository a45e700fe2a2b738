"""Where a host gets its Ollama release file from, and the SHA-256 it must have, whatever the
platform (linux/release.py and windows/archive.py only name the file).

The release's ``sha256sum.txt`` is read here, on the controller, for an archive on the
controller. When the host downloads the release itself and no digest is known, the host reads
the list it downloads: install.sh.j2 (awk) and install_zip.ps1.j2 (PowerShell) each carry a
few lines for that, following the same rule as :func:`parse_sha256sums` (a Linux host has no
PowerShell and a Windows host no awk, so the rule is written once per host language;
tests/unit/test_release.py runs the shell one against this one).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .settings import OllamaSettings

SUMS_NAME = "sha256sum.txt"
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ReleaseSource:
    version: str
    filename: str
    url: str | None = None  # the host downloads from here ...
    checksums_url: str | None = None  # ... and reads the digest from here when none is known
    sha256: str | None = None  # the digest the host checks (lower case)
    local_file: Path | None = None  # or the controller uploads this (already checked here)
    problem: str | None = None  # why this host cannot be installed


def parse_sha256sums(text: str, filename: str) -> str | None:
    """The digest ``sha256sum.txt`` lists for ``filename``, lower case; None if not listed.

    The rule (the same on the hosts): a line is ``<digest> <name>`` (two whitespace-separated
    fields; any other line is skipped); the name may carry sha256sum's binary-mode ``*`` and a
    leading ``./`` (upstream's release job writes ``./<file>``); the last matching line wins.
    """
    found = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2 or not _DIGEST.fullmatch(parts[0]):
            continue
        if parts[1].removeprefix("*").removeprefix("./") == filename:
            found = parts[0].lower()
    return found


def listed_digest(archive: Path) -> str | None:
    """The digest of a controller file from the sha256sum.txt beside it, if there is one."""
    listing = archive.parent / SUMS_NAME
    if not listing.is_file():
        return None
    return parse_sha256sums(listing.read_text(encoding="utf-8", errors="replace"), archive.name)


def file_sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256(str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    """Hash a local archive once per run, however many hosts install it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def release_source(settings: OllamaSettings, filename: str, arch: str, *,
                   verify: bool = True, addon: bool = False) -> ReleaseSource:
    """Resolve the settings for one release file.

    ``verify``: a checksum is wanted (unless allow_unverified_archive says otherwise); False
    for files that carry their own signature (the Windows desktop installer). A controller file
    is checked here, before any host is touched; its digest then guards the upload.
    ``addon``: a file installed beside the main archive (the GPU archives): ``sha256`` is the
    main archive's digest, so an add-on's comes from the release's sha256sum.txt, and a
    controller ``archive_file`` that names the main archive is looked beside.
    """
    version = settings.version
    required = verify and not settings.allow_unverified_archive
    given = settings.sha256.lower() if settings.sha256 and not addon else None
    if settings.archive_file is None:
        fill = {"version": version, "filename": filename, "arch": arch}
        checksums = (settings.checksums_url.format(**fill)
                     if given is None and required else None)
        return ReleaseSource(version, filename, url=settings.archive_url.format(**fill),
                             checksums_url=checksums, sha256=given)

    path = Path(settings.archive_file).expanduser()
    if path.is_dir():
        path = path / filename
    elif addon:
        path = path.parent / filename
    if not path.is_file():
        return ReleaseSource(version, filename, problem=f"archive_file {path} does not exist "
                             "on the controller")
    expected = given or listed_digest(path)
    if expected is None and required:
        return ReleaseSource(version, filename, problem=f"no checksum for {path}: set sha256, "
                             f"put the release's {SUMS_NAME} beside it, or set "
                             "allow_unverified_archive")
    actual = file_sha256(path)
    if expected is not None and actual != expected:
        return ReleaseSource(version, filename, problem=f"checksum mismatch for {path}: "
                             f"expected {expected}, got {actual}; nothing was installed")
    return ReleaseSource(version, filename, local_file=path, sha256=actual)
