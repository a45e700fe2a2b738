"""One fact, one round trip: everything the Linux deploy needs to know about a host.

The frame here reports the host itself (architecture, systemd, tools) and the shared digests
and unit states; everything else comes from the features' probes (probe.py), each printing and
parsing its own lines. The dataclass's named fields belong to the features that exist; a new
feature keeps what its probe finds in ``found[probe name]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pyinfra.api import FactBase

from ..render import Safe, render
from .probe import Probe, Shared

# Commands every deploy may use; probes add their own (nft, nginx).
CORE_TOOLS = ("curl", "wget", "zstd", "tar", "flock", "sha256sum", "journalctl", "systemctl")


@dataclass
class PathOwner:
    user: str
    group: str
    mode: int  # permission bits


@dataclass
class LinuxHostState:
    arch: str = ""
    systemd: bool = False
    tools: set[str] = field(default_factory=set)
    files: dict[str, str] = field(default_factory=dict)  # key -> sha256 or "absent"
    # probe "account" (operations.py)
    user: dict[str, str] | None = None  # name, uid, gid, home, shell
    user_groups: set[str] = field(default_factory=set)
    group_exists: bool = False
    groups_present: set[str] = field(default_factory=set)
    extra_groups: set[str] = field(default_factory=set)
    paths: dict[str, PathOwner] = field(default_factory=dict)  # directories asked about
    # probe "release" (release.py)
    versions: dict[str, bool] = field(default_factory=dict)  # version -> complete
    current: str | None = None
    # probe "service" (operations.py)
    applied: str | None = None
    applied_models_dir: str | None = None
    active: str = "unknown"
    enabled: str = "unknown"
    old_models: int = 0
    api_version: str | None = None
    # probe "models" (models.py)
    manifests: dict[str, str] = field(default_factory=dict)  # path under manifests/ -> sha256
    blobs: dict[str, int] = field(default_factory=dict)  # sha256-<hex> -> size
    records: dict[str, str] = field(default_factory=dict)  # model -> digest of last create
    # probes "firewall" and "proxy", and the digests of their files (security.state_probes)
    security: dict[str, str] = field(default_factory=dict)
    # what the probes of newer features found, by probe name
    found: dict[str, Any] = field(default_factory=dict)

    def owner(self, path: str) -> PathOwner | None:
        return self.paths.get(path)

    @property
    def arch_name(self) -> str:
        """Upstream's archive naming: x86_64 -> amd64, aarch64 -> arm64."""
        return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(self.arch, self.arch)


def registered_probes() -> tuple[Probe, ...]:
    """Every feature's probe, in the order their fragments run."""
    # Imported here: the feature modules import this one for LinuxHostState.
    from . import firewall, gpu, models, operations, proxy, release  # noqa: PLC0415

    return (operations.ACCOUNT_PROBE, release.PROBE, operations.SERVICE_PROBE, models.PROBE,
            firewall.PROBE, proxy.PROBE, gpu.PROBE)


class LinuxOllamaState(FactBase[LinuxHostState]):
    """Release, service, configuration, model store and API state of one host."""

    def command(  # type: ignore[override]
        self,
        user: str,
        group: str,
        install_dir: str,
        unit: str,
        files: tuple[tuple[str, str], ...],
        state_dir: str,
        models_dir: str,
        api_url: str,
        dirs: tuple[str, ...] = (),
        list_blobs: bool = False,
        security: tuple[tuple[str, str], ...] = (),
        compute: bool = False,
    ) -> str:
        paths = dict.fromkeys([*dirs, models_dir, *map(str, PurePosixPath(models_dir).parents)])
        context = {
            "user": user, "group": group, "install_dir": install_dir, "unit": unit,
            "state_dir": state_dir, "models_dir": models_dir, "api_url": api_url,
            "paths": list(paths), "list_blobs": list_blobs,
            "compute": compute,  # the server's own compute report (status reads it)
        }
        probes = registered_probes()
        fragments = [Safe(render(p.template, **context, **p.context)) for p in probes]
        tools = list(dict.fromkeys([*CORE_TOOLS, *(t for p in probes for t in p.tools)]))
        return render("linux/state.sh.j2", fragments=fragments, tools=tools,
                      files=dict(files), security=dict(security))

    def default(self) -> LinuxHostState:
        return LinuxHostState()

    def process(self, output: list[str]) -> LinuxHostState:  # type: ignore[override]
        return parse_state(output)


def parse_state(lines: list[str]) -> LinuxHostState:
    state = LinuxHostState()
    shared = Shared()
    probes = registered_probes()
    by_key = {key: p for p in probes for key in p.keys}
    by_section = {name: p for p in probes for name in p.sections}
    file_keys: dict[str, str] = {}  # path -> key
    sec_keys: dict[str, str] = {}
    section = ""  # inside "@name" ... "@end": raw output of one command
    unit_id = ""
    for line in lines:
        if line.startswith("@"):
            section = "" if line == "@end" else line[1:]
            continue
        if section == "hash":  # sha256sum: "<digest>  <path>"
            digest, _, path = line.partition("  ")
            shared.hashes[path] = digest
        elif section == "units":  # systemctl show: "Key=value" blocks, one per unit
            prop, _, detail = line.partition("=")
            if prop == "Id":
                unit_id = detail
            if prop:
                shared.units.setdefault(unit_id, {})[prop] = detail
        elif section:
            if section in by_section:
                by_section[section].parse(state, section, line)
        else:
            key, _, value = line.partition("\t")
            if key == "arch":
                state.arch = value
            elif key == "systemd":
                state.systemd = value == "yes"
            elif key == "tool":
                state.tools.add(value)
            elif key in ("filekey", "seckey"):
                name, _, path = value.partition(" ")
                (file_keys if key == "filekey" else sec_keys)[path] = name
            elif key in by_key:
                by_key[key].parse(state, key, value)
    state.files = {name: shared.hashes.get(path, "absent") for path, name in file_keys.items()}
    for path, name in sec_keys.items():
        state.security[name] = shared.hashes.get(path, "absent")
    for probe in probes:
        if probe.finish is not None:
            probe.finish(state, shared)
    return state
