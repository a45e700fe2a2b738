"""The Linux release file: upstream's archive name for the host's architecture (the source and
its checksum are resolved by ..release, the same for every platform)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import release
from ..release import ReleaseSource
from ..settings import OllamaSettings
from .probe import Probe

if TYPE_CHECKING:
    from .facts import LinuxHostState

__all__ = ["PROBE", "ReleaseSource", "release_source"]


def release_source(settings: OllamaSettings, arch: str) -> ReleaseSource:
    return release.release_source(settings, settings.archive_filename(arch), arch)


def _parse(state: LinuxHostState, key: str, value: str) -> None:
    if key == "version_dir":  # "<version> complete|partial"
        version, _, status = value.partition(" ")
        state.versions[version] = status == "complete"
    else:
        state.current = value


# Installed versions and the current link, for the state fact.
PROBE = Probe("release", "linux/probe_release.sh.j2", keys=("version_dir", "current"),
              parse=_parse)
