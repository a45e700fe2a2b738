"""Failure injection on single hosts, for the fault tests."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from . import config, gpu, hosts, network, ssh, state
from .proc import FleetError, run
from .state import Lab


def stop_host(lab: Lab, name: str) -> None:
    """Power the host off; its overlay (disk) stays for `start`."""
    hosts.stop([lab.host(name)])
    state.save(lab)


def start_host(lab: Lab, name: str) -> None:
    host = lab.host(name)
    if hosts.is_running(host):
        return
    pubkey = ssh.ensure_key()
    hosts.prepare(host, Path(lab.image), pubkey)
    hosts.boot(host)
    try:
        hosts.find_leader(host)
    finally:
        state.save(lab)
    if not ssh.wait_ready([host], config.BOOT_TIMEOUT):
        raise FleetError(f"{name} did not come back; see {hosts.console_log(name)}")
    gpu.apply(host)  # its recorded GPU role, if any


def set_gpu(lab: Lab, name: str, role: str) -> None:
    """Give a host a GPU role now and at every later boot (lab/fleetlib/gpu.py)."""
    gpu.apply(lab.host(name), role)
    state.save(lab)


def cut(lab: Lab, name: str) -> None:
    network.set_cable(lab.host(name).name, connected=False)


def restore(lab: Lab, name: str) -> None:
    network.set_cable(lab.host(name).name, connected=True)


def small_disk(lab: Lab, name: str, path: str, size: str) -> None:
    """Mount a tmpfs of `size` at `path` inside the host.

    Mounted from the controller inside the host's mount namespace, so it does
    not depend on the host's own capabilities. It disappears when the host stops.
    """
    host = lab.host(name)
    if not hosts.is_running(host) or not host.leader_pid:
        raise FleetError(f"{name} is not running")
    if not path.startswith("/"):
        raise FleetError(f"PATH must be absolute: {path}")
    if not re.fullmatch(r"\d+[kKmMgG]?", size):
        raise FleetError(f"SIZE must look like 64M, 512k or 1G: {size}")
    script = (
        f"mkdir -p {shlex.quote(path)} && "
        f"mount -t tmpfs -o size={size},mode=0755 lab-small-disk {shlex.quote(path)}"
    )
    run(["nsenter", "-t", str(host.leader_pid), "-m", "--", "sh", "-c", script])
