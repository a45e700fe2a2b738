"""The Linux release files: upstream's archive name for the host's architecture, plus the GPU
add-on archives a host needs (``-rocm``, ``-jetpack5``, ``-jetpack6``), all unpacked into one
versions/<version> tree (the source and checksum of each are resolved by ..release, the same
for every platform). The tree records which add-ons it holds, so a GPU change reinstalls it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import release
from ..release import ReleaseSource
from ..settings import OllamaSettings
from .probe import Probe

if TYPE_CHECKING:
    from .facts import LinuxHostState

__all__ = ["PROBE", "ReleaseSource", "addon_filename", "installed_addons", "release_source",
           "release_sources"]

MARKER = ".installed"  # in versions/<v>: written last, holds the add-ons unpacked into the tree


def release_source(settings: OllamaSettings, arch: str) -> ReleaseSource:
    return release.release_source(settings, settings.archive_filename(arch), arch)


def addon_filename(settings: OllamaSettings, arch: str, addon: str) -> str:
    """Upstream's name: ollama-linux-amd64-rocm.tgz (before 0.14.0) / .tar.zst (from 0.14.0)."""
    return f"ollama-linux-{arch}-{addon}.{settings.archive_ext}"


def release_sources(settings: OllamaSettings, arch: str,
                    addons: tuple[str, ...] = ()) -> tuple[ReleaseSource, ...]:
    """The main archive first, then each add-on, every one verified on its own."""
    return (release_source(settings, arch), *(
        release.release_source(settings, addon_filename(settings, arch, a), arch, addon=True)
        for a in addons))


def installed_addons(state: LinuxHostState, version: str) -> tuple[str, ...]:
    return state.found.get("release_addons", {}).get(version, ())


def _parse(state: LinuxHostState, key: str, value: str) -> None:
    if key == "version_dir":  # "<version> complete|partial [add-on ...]"
        version, status, *addons = value.split()
        state.versions[version] = status == "complete"
        state.found.setdefault("release_addons", {})[version] = tuple(sorted(addons))
    else:
        state.current = value


# Installed versions (with their add-ons) and the current link, for the state fact.
PROBE = Probe("release", "linux/probe_release.sh.j2", keys=("version_dir", "current"),
              parse=_parse)
