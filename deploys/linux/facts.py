"""One fact, one round trip: everything the Linux deploy needs to know about a host."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pyinfra.api import FactBase

from ..render import render


@dataclass
class PathOwner:
    user: str
    group: str
    mode: int  # permission bits

    @classmethod
    def parse(cls, text: str) -> PathOwner:
        user, group, mode = text.split()[:3]
        return cls(user, group, int(mode, 8))


@dataclass
class LinuxHostState:
    arch: str = ""
    systemd: bool = False
    tools: set[str] = field(default_factory=set)
    user: dict[str, str] | None = None  # name, uid, gid, home, shell
    user_groups: set[str] = field(default_factory=set)
    group_exists: bool = False
    extra_groups: set[str] = field(default_factory=set)
    versions: dict[str, bool] = field(default_factory=dict)  # version -> complete
    current: str | None = None
    bin_link: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # key -> sha256 or "absent"
    applied: str | None = None
    applied_models_dir: str | None = None
    active: str = "unknown"
    enabled: str = "unknown"
    main_pid: int = 0
    models_dir: PathOwner | None = None
    parents: dict[str, PathOwner] = field(default_factory=dict)
    manifests: dict[str, str] = field(default_factory=dict)  # path under manifests/ -> sha256
    blobs: dict[str, int] = field(default_factory=dict)  # sha256-<hex> -> size
    records: dict[str, str] = field(default_factory=dict)  # model -> digest of last create
    dirs: dict[str, str] = field(default_factory=dict)  # path -> owner:group
    security: dict[str, str] = field(default_factory=dict)  # see security_state.sh.j2
    old_models: int = 0
    api_version: str | None = None

    @property
    def arch_name(self) -> str:
        """Upstream's archive naming: x86_64 -> amd64, aarch64 -> arm64."""
        return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(self.arch, self.arch)


class LinuxOllamaState(FactBase[LinuxHostState]):
    """Release, service, configuration, model store and API state of one host."""

    def command(  # type: ignore[override]
        self,
        user: str,
        group: str,
        install_dir: str,
        bin_link: str,
        unit: str,
        files: tuple[tuple[str, str], ...],
        state_dir: str,
        models_dir: str,
        api_url: str,
        dirs: tuple[str, ...] = (),
        list_blobs: bool = False,
        security: tuple[tuple[str, str], ...] = (),
    ) -> str:
        return render(
            "linux/state.sh.j2",
            user=user, group=group, install_dir=install_dir, bin_link=bin_link, unit=unit,
            files=dict(files), state_dir=state_dir, models_dir=models_dir, api_url=api_url,
            dirs=dirs, list_blobs=list_blobs, security=dict(security),
        )

    def default(self) -> LinuxHostState:
        return LinuxHostState()

    def process(self, output: list[str]) -> LinuxHostState:  # type: ignore[override]
        return parse_state(output)


def parse_state(lines: list[str]) -> LinuxHostState:
    state = LinuxHostState()
    for line in lines:
        key, _, value = line.partition("\t")
        if key == "arch":
            state.arch = value
        elif key == "systemd":
            state.systemd = value == "yes"
        elif key == "tool":
            state.tools.add(value)
        elif key == "user":
            name, _, uid, gid, _gecos, home, shell = (value.split(":") + [""] * 7)[:7]
            state.user = {"name": name, "uid": uid, "gid": gid, "home": home, "shell": shell}
        elif key == "user_groups":
            state.user_groups = set(filter(None, value.split(",")))
        elif key == "group":
            state.group_exists = True
        elif key == "extra_group":
            state.extra_groups.add(value)
        elif key == "version_dir":
            version, _, status = value.partition(" ")
            state.versions[version] = status == "complete"
        elif key == "current":
            state.current = value
        elif key == "bin_link":
            state.bin_link = value
        elif key == "file":
            name, _, digest = value.partition(" ")
            state.files[name] = digest
        elif key == "applied":
            state.applied = value.strip() or None
        elif key == "applied_models_dir":
            state.applied_models_dir = value.strip() or None
        elif key == "active":
            state.active = value or "unknown"
        elif key == "enabled":
            state.enabled = value or "unknown"
        elif key == "mainpid":
            state.main_pid = int(value) if value.isdigit() else 0
        elif key == "models_dir":
            state.models_dir = None if value == "absent" else PathOwner.parse(value)
        elif key == "parent":
            owner, path = value.rsplit(" ", 1)
            state.parents[path] = PathOwner.parse(owner)
        elif key == "manifest":
            path, _, digest = value.rpartition(" ")
            state.manifests[path] = digest
        elif key == "blob":
            name, _, size = value.partition(" ")
            state.blobs[name] = int(size)
        elif key == "record":
            name, _, digest = value.partition(" ")
            state.records[name] = digest
        elif key == "dir":
            owner, _, path = value.partition(" ")
            state.dirs[path] = owner
        elif key == "sec":
            name, _, detail = value.partition(" ")
            state.security[name] = detail
        elif key == "old_models":
            state.old_models = int(value) if value.isdigit() else 0
        elif key == "api":
            state.api_version = _api_version(value)
    return state


def _api_version(text: str) -> str | None:
    if text == "down":
        return None
    try:
        return str(json.loads(text)["version"])
    except (ValueError, KeyError, TypeError):
        return None
