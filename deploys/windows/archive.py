"""The Windows release file: the server zip or the desktop installer (the source and its
checksum are resolved by ..release, the same for every platform)."""

from __future__ import annotations

from .. import release
from ..release import ReleaseSource
from ..settings import OllamaSettings
from . import paths

__all__ = ["ReleaseSource", "release_filename", "release_source", "staged_path"]

SETUP_FILENAME = "OllamaSetup.exe"


def release_filename(settings: OllamaSettings, arch: str) -> str:
    if settings.windows_mode == "desktop":
        return SETUP_FILENAME
    return f"ollama-windows-{arch}.zip"


def staged_path(source: ReleaseSource) -> str:
    return rf"{paths.STAGED_DIR}\{source.filename}"


def wants_rocm(settings: OllamaSettings, state: dict) -> bool:
    """Server mode on amd64 with an AMD GPU (the gpu setting, or auto and one detected): the
    release's ROCm add-on zip is unpacked over the main one, as upstream's docs describe."""
    if state.get("arch") != "amd64":
        return False
    gpu = getattr(settings, "gpu", "auto")
    return gpu == "amd" or (gpu == "auto" and bool(state.get("amd_gpu")))


def rocm_source(settings: OllamaSettings, state: dict) -> ReleaseSource | None:
    """The ROCm add-on for this host, or None. Its digest always comes from the release's
    sha256sum.txt (the sha256 setting names the main archive)."""
    if not wants_rocm(settings, state):
        return None
    unpinned = settings.model_copy(update={"sha256": None})
    source = release.release_source(unpinned, paths.ROCM_ZIP, "amd64", verify=True)
    if source.problem:
        raise ValueError(f"AMD GPU: {source.problem}")
    return source


def release_source(settings: OllamaSettings, arch: str) -> ReleaseSource:
    """Resolve the settings; raise ValueError when the file cannot be verified and must be.
    The desktop installer is Authenticode-signed and upstream lists no digest for it: a digest
    is checked when given, never required."""
    source = release.release_source(settings, release_filename(settings, arch), arch,
                                    verify=settings.windows_mode == "server")
    if source.problem:
        raise ValueError(source.problem)
    return source
