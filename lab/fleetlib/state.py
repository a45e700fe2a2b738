"""lab/state.json: the contract between the lab and everything that uses it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import config


@dataclass
class Host:
    name: str
    address: str
    ssh_user: str = "root"
    ssh_key: str = str(config.SSH_KEY)
    # PID 1 of the container as seen from the controller (for nsenter); null when stopped.
    leader_pid: int | None = None
    nspawn_pid: int | None = None
    # GPU role (lab/fleetlib/gpu.py), applied again at every boot; null: a plain host.
    gpu: str | None = None
    # Frozen by `lab/fleet freeze` (no process of it runs until `thaw`).
    frozen: bool = False


@dataclass
class Lab:
    suite: str
    image: str
    hosts: list[Host] = field(default_factory=list)
    bridge: str = config.BRIDGE
    subnet: str = config.SUBNET
    gateway: str = config.GATEWAY
    proxy: str = config.PROXY_URL
    artifacts_url: str = config.ARTIFACTS_URL
    ssh_key: str = str(config.SSH_KEY)
    proxy_pid: int | None = None
    artifacts_pid: int | None = None

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise KeyError(f"no host {name!r} in the lab (hosts: {known})")


def load(path: Path = config.STATE_FILE) -> Lab | None:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    hosts = [Host(**h) for h in raw.pop("hosts", [])]
    return Lab(hosts=hosts, **raw)


def save(lab: Lab, path: Path = config.STATE_FILE) -> None:
    # Write-then-rename so readers (inventory, tests) never see half a file.
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(lab), indent=2) + "\n")
    os.replace(tmp, path)


def remove(path: Path = config.STATE_FILE) -> None:
    path.unlink(missing_ok=True)
