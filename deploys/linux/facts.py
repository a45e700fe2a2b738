"""One fact, one round trip: everything the Linux deploy needs to know about a host."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pyinfra.api import FactBase

from ..render import render

# Units whose state the one `systemctl show` also reports, for the security operations.
FIREWALL_UNIT = "ollama-fleet-firewall.service"
NGINX_UNIT = "nginx.service"


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
    user: dict[str, str] | None = None  # name, uid, gid, home, shell
    user_groups: set[str] = field(default_factory=set)
    group_exists: bool = False
    groups_present: set[str] = field(default_factory=set)
    extra_groups: set[str] = field(default_factory=set)
    versions: dict[str, bool] = field(default_factory=dict)  # version -> complete
    current: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # key -> sha256 or "absent"
    applied: str | None = None
    applied_models_dir: str | None = None
    active: str = "unknown"
    enabled: str = "unknown"
    paths: dict[str, PathOwner] = field(default_factory=dict)  # directories asked about
    manifests: dict[str, str] = field(default_factory=dict)  # path under manifests/ -> sha256
    blobs: dict[str, int] = field(default_factory=dict)  # sha256-<hex> -> size
    records: dict[str, str] = field(default_factory=dict)  # model -> digest of last create
    security: dict[str, str] = field(default_factory=dict)  # see security_state.sh.j2
    old_models: int = 0
    api_version: str | None = None

    def owner(self, path: str) -> PathOwner | None:
        return self.paths.get(path)

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
        unit: str,
        files: tuple[tuple[str, str], ...],
        state_dir: str,
        models_dir: str,
        api_url: str,
        dirs: tuple[str, ...] = (),
        list_blobs: bool = False,
        security: tuple[tuple[str, str], ...] = (),
    ) -> str:
        paths = dict.fromkeys([*dirs, models_dir, *map(str, PurePosixPath(models_dir).parents)])
        return render(
            "linux/state.sh.j2",
            user=user, group=group, install_dir=install_dir, unit=unit,
            files=dict(files), state_dir=state_dir, models_dir=models_dir, api_url=api_url,
            paths=list(paths), list_blobs=list_blobs, security=dict(security),
            firewall_unit=FIREWALL_UNIT, nginx_unit=NGINX_UNIT,
        )

    def default(self) -> LinuxHostState:
        return LinuxHostState()

    def process(self, output: list[str]) -> LinuxHostState:  # type: ignore[override]
        return parse_state(output)


def parse_state(lines: list[str]) -> LinuxHostState:
    state = LinuxHostState()
    file_keys: dict[str, str] = {}  # path -> key
    sec_keys: dict[str, str] = {}
    hashes: dict[str, str] = {}
    units: dict[str, dict[str, str]] = {}
    section = ""  # inside "@name" ... "@end": raw output of one command
    unit_id = ""
    for line in lines:
        if line.startswith("@"):
            section = "" if line == "@end" else line[1:]
            continue
        if section:
            unit_id = _raw_line(state, section, line, hashes, units, unit_id)
            continue
        key, _, value = line.partition("\t")
        if key == "arch":
            state.arch = value
        elif key == "systemd":
            state.systemd = value == "yes"
        elif key == "tool":
            state.tools.add(value)
        elif key == "version_dir":
            version, _, status = value.partition(" ")
            state.versions[version] = status == "complete"
        elif key == "current":
            state.current = value
        elif key in ("filekey", "seckey"):
            name, _, path = value.partition(" ")
            (file_keys if key == "filekey" else sec_keys)[path] = name
        elif key == "applied":
            state.applied = value.strip() or None
        elif key == "applied_models_dir":
            state.applied_models_dir = value.strip() or None
        elif key == "blob":
            name, _, size = value.partition(" ")
            state.blobs[name] = int(size)
        elif key == "sec":
            name, _, detail = value.partition(" ")
            state.security[name] = detail
        elif key == "fw_live_applied_raw":
            state.security["fw_live_applied"] = value
        elif key == "old_models":
            state.old_models = int(value) if value.isdigit() else 0
        elif key == "api":
            state.api_version = _api_version(value)
    state.extra_groups = state.groups_present & {"render", "video"}
    state.group_exists = bool(state.groups_present - {"render", "video"})
    state.files = {name: hashes.get(path, "absent") for path, name in file_keys.items()}
    for path, name in sec_keys.items():
        state.security[name] = hashes.get(path, "absent")
    _apply_units(state, units)
    return state


def _raw_line(state: LinuxHostState, section: str, line: str, hashes: dict[str, str],
              units: dict[str, dict[str, str]], unit_id: str) -> str:
    """One line of a command's own output; returns the `systemctl show` unit it belongs to."""
    if section == "hash":  # sha256sum: "<digest>  <path>"
        digest, _, path = line.partition("  ")
        hashes[path] = digest
    elif section == "manifests":  # sha256sum run in manifests/: "<digest>  ./<relpath>"
        digest, _, path = line.partition("  ")
        state.manifests[path.removeprefix("./")] = digest
    elif section == "units":  # systemctl show: "Key=value" blocks, one per unit
        prop, _, detail = line.partition("=")
        if prop == "Id":
            unit_id = detail
        if prop:
            units.setdefault(unit_id, {})[prop] = detail
    elif section == "paths":  # stat: "<user> <group> <octal mode> <path>"
        parts = line.split(" ", 3)
        if len(parts) == 4:
            state.paths[parts[3]] = PathOwner(parts[0], parts[1], int(parts[2], 8))
    elif section == "records":  # create records: "<model> <digest>"
        name, _, digest = line.partition(" ")
        state.records[name] = digest
    elif section == "passwd" and line:
        name, _, uid, gid, _gecos, home, shell = (line.split(":") + [""] * 7)[:7]
        state.user = {"name": name, "uid": uid, "gid": gid, "home": home, "shell": shell}
    elif section == "user_groups":
        state.user_groups = set(line.split())
    elif section == "groups" and line:
        state.groups_present.add(line.split(":", 1)[0])
    return unit_id


def _apply_units(state: LinuxHostState, units: dict[str, dict[str, str]]) -> None:
    """Fold `systemctl show` blocks into the service state and the security keys."""
    for unit_id, props in units.items():
        active = props.get("ActiveState") or "unknown"
        enabled = props.get("UnitFileState") or "not-found"
        if unit_id == FIREWALL_UNIT:
            state.security["fw_enabled"] = enabled
        elif unit_id == NGINX_UNIT:
            if "nginx" in state.tools:
                state.security["nginx_active"] = active
                state.security["nginx_enabled"] = enabled
        elif unit_id:
            state.active = active
            state.enabled = enabled


def _api_version(text: str) -> str | None:
    if text == "down":
        return None
    try:
        return str(json.loads(text)["version"])
    except (ValueError, KeyError, TypeError):
        return None
