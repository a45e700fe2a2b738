"""A cgroup of its own for every host.

With --keep-unit and no systemd on the controller, nspawn puts the container in
"<its own cgroup>/payload". Started from one shared cgroup, all hosts would
share that payload cgroup: their systemds then create and delete the same
system.slice/*.service groups (units fail at random during a concurrent boot),
and stopping a unit in one host could kill processes of another. Starting each
nspawn in its own group keeps the hosts apart.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from .proc import FleetError, signal_pid, wait_until

LAB_GROUP = "ollama-fleet-lab"


def hierarchies() -> list[Path]:
    """Mount points of the hierarchies systemd uses: cgroup2 and the v1 name=systemd one."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, fstype, options = line.split()[:4]
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options.split(",")):
            found.append(Path(point))
    return found


def host_groups(name: str) -> list[Path]:
    return [root / LAB_GROUP / name for root in hierarchies()]


def enter_script(name: str) -> str:
    """Shell prefix that moves the shell (then exec'd into nspawn) into the host's groups."""
    groups = host_groups(name)
    for group in groups:
        group.mkdir(parents=True, exist_ok=True)
    return "".join(f"echo $$ > {group}/cgroup.procs && " for group in groups)


def _top(root: Path, name: str | None) -> Path:
    return root / LAB_GROUP if name is None else root / LAB_GROUP / name


def processes(name: str | None = None) -> set[int]:
    """Every process of a host (of all hosts when name is None), whatever its parent."""
    found: set[int] = set()
    for root in hierarchies():
        for procs in _top(root, name).rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                found.update(int(pid) for pid in procs.read_text().split())
    return found


def kill(name: str | None = None, timeout: float = 5.0) -> bool:
    """SIGKILL everything in the groups until they are empty; True once they are.

    This catches what a dead nspawn leaves behind: a container whose init lost
    its parent keeps running (and keeps its veth) until killed here.
    """

    def empty() -> bool:
        pids = processes(name)
        for pid in pids:
            signal_pid(pid, signal.SIGKILL)
        return not pids

    return wait_until(empty, timeout, interval=0.1)


def remove(name: str | None = None) -> None:
    """Delete a stopped host's groups (all hosts' when name is None), deepest first.

    rmdir fails on a group that still has processes; those are left alone.
    """
    for root in hierarchies():
        top = _top(root, name)
        if not top.is_dir():
            continue
        for current, _dirs, _files in os.walk(top, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(current)


def set_frozen(name: str, frozen: bool, timeout: float = 10.0) -> None:
    """Freeze or thaw every process of a host (cgroup v2's freezer) and wait until it is so.

    A frozen host uses no CPU at all, timers and journald included, yet keeps its memory, disk
    and network: benchmarks freeze the hosts they do not measure so idle ones cannot skew a size.
    """
    v2 = [root for root in hierarchies() if (root / "cgroup.controllers").exists()]
    if not v2:
        raise FleetError("freezing hosts needs the cgroup v2 hierarchy")
    group = v2[0] / LAB_GROUP / name
    if not group.is_dir():
        raise FleetError(f"{name}: no cgroup (is it running?)")
    (group / "cgroup.freeze").write_text("1\n" if frozen else "0\n")
    wanted = f"frozen {int(frozen)}"

    def settled() -> bool:
        return wanted in (group / "cgroup.events").read_text().splitlines()

    if not wait_until(settled, timeout, interval=0.05):
        raise FleetError(f"{name}: still {'not ' if frozen else ''}frozen after {timeout:.0f}s")
