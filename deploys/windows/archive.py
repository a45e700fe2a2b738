"""Where a Windows host gets its release file from, and which SHA-256 it must have."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..settings import OllamaSettings
from . import paths

SETUP_FILENAME = "OllamaSetup.exe"


@dataclass(frozen=True)
class ReleaseSource:
    filename: str
    local_path: str | None  # on the controller, uploaded over SFTP
    url: str | None  # downloaded by the host
    checksums_url: str | None  # read by the host when no digest is known here
    sha256: str | None

    @property
    def staged_path(self) -> str:
        return rf"{paths.STAGED_DIR}\{self.filename}"


def release_filename(settings: OllamaSettings, arch: str) -> str:
    if settings.windows_mode == "desktop":
        return SETUP_FILENAME
    return f"ollama-windows-{arch}.zip"


def release_source(settings: OllamaSettings, arch: str) -> ReleaseSource:
    """Resolve the settings; raise ValueError when the file cannot be verified and must be."""
    filename = release_filename(settings, arch)
    if settings.archive_file:
        local = Path(settings.archive_file).expanduser()
        if local.is_dir():
            local = local / filename
        if not local.is_file():
            raise ValueError(f"ollama_archive_file: {local} is not a file")
        digest = settings.sha256 or _digest_from_sums(local.parent / "sha256sum.txt", filename)
        if (digest is None and settings.windows_mode == "server"
                and not settings.allow_unverified_archive):
            raise ValueError(f"no SHA-256 for {local}: set ollama_sha256, put the release's "
                             "sha256sum.txt beside it, or set ollama_allow_unverified_archive")
        return ReleaseSource(filename, str(local), None, None, digest)
    fill = {"version": settings.version, "filename": filename, "arch": arch}
    url = settings.archive_url.format(**fill)
    checks = None
    if settings.sha256 is None and settings.windows_mode == "server":
        checks = settings.checksums_url.format(**fill)
    return ReleaseSource(filename, None, url, checks, settings.sha256)


def _digest_from_sums(sums: Path, filename: str) -> str | None:
    if not sums.is_file():
        return None
    for line in sums.read_text(encoding="utf-8", errors="replace").splitlines():
        match = re.fullmatch(r"([0-9a-fA-F]{64})\s+\*?(?:\./)?(\S+)", line.strip())
        if match and match.group(2) == filename:
            return match.group(1).lower()
    return None
