"""GPU roles: make a lab host look like an NVIDIA or AMD GPU host to anything that reads the
real paths (the deploy's state fact, the stand-in's compute discovery). TEST FIXTURE.

A container has no GPU, and its /sys and /proc are the kernel's, read-only. So the role is a
set of bind mounts made from the controller inside the host's mount namespace (as
`small-disk` does), over the real paths:

| role | /sys/bus/pci/devices | /proc/driver | /sys/module | /dev/kfd |
|---|---|---|---|---|
| nvidia | fake tree with an RTX 3090 (10de:2204) | nvidia/version | nvidia/ | - |
| nvidia-nodriver | the same device | - | - | - |
| amd | fake tree with an RX 6800 (1002:73bf, 16 GiB) | - | + amdgpu/ | /dev/null |
| amd-nodriver | the same device | - | - | - |
| cpu | fake tree without a GPU | - | - | - |

(/sys/module, not /proc/modules: the lab's kernel may have no /proc/modules to mount over.
A hardened ollama.service gets a procfs of its own (ProtectProc=), without the /proc/driver
mount, so the stand-in also takes /sys/module/nvidia as the loaded driver, as a real host shows.
nspawn gives a container a /sys without module/, so these roles make that directory first
(a remount of the container's /sys tmpfs) and mounts a tree holding amdgpu/initstate there.)
Mounts are made with `nsenter -m -p`: mount(8) resolves paths through /proc/self, which only
exists inside the host's PID namespace.

The fake files live inside the host (/var/lib/lab-gpu), since a bind source must be visible in
its mount namespace. The role is recorded in lab/state.json and applied again whenever the
host boots (`up`, `start`); mounts end with the host.
"""

from __future__ import annotations

from pathlib import Path

from . import hosts
from .proc import FleetError, run
from .state import Host

ROLES = ("nvidia", "nvidia-nodriver", "amd", "amd-nodriver", "cpu", "none")
IN_HOST = "/var/lib/lab-gpu"
GPU_SLOT = "0000:65:00.0"
DEVICES = {"nvidia": ("0x10de", "0x2204"), "amd": ("0x1002", "0x73bf")}
TARGETS = ("/sys/bus/pci/devices", "/proc/driver", "/sys/module", "/dev/kfd")
NVIDIA_VERSION = ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  "
                  "Thu Feb 22 01:44:30 UTC 2024\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_tree(host: Host, role: str) -> None:
    """The fake sysfs/procfs files of a role, inside the host's disk."""
    base = hosts.root_dir(host.name) / IN_HOST.lstrip("/")
    run(["rm", "-rf", str(base)])
    bridge = base / "pci" / "0000:00:00.0"  # a host bridge: every PCI tree has one
    for name, value in (("vendor", "0x8086"), ("device", "0x29c0"), ("class", "0x060000")):
        _write(bridge / name, value + "\n")
    kind = role.split("-")[0]
    if kind in DEVICES:
        vendor, device = DEVICES[kind]
        gpu = base / "pci" / GPU_SLOT
        for name, value in (("vendor", vendor), ("device", device), ("class", "0x030000")):
            _write(gpu / name, value + "\n")
        if kind == "amd":
            _write(gpu / "mem_info_vram_total", f"{16 << 30}\n")
    if role == "nvidia":
        _write(base / "driver" / "nvidia" / "version", NVIDIA_VERSION)
        _write(base / "module" / "nvidia" / "initstate", "live\n")
    if role == "amd":
        _write(base / "module" / "amdgpu" / "initstate", "live\n")


UNMOUNT = (f"for t in {' '.join(TARGETS)}; do while umount \"$t\" 2>/dev/null; do :; done; "
           "done\nif [ -f /dev/kfd ]; then rm -f /dev/kfd; fi\n")


def script(role: str) -> str:
    """Mount this role (run inside the host's namespaces, after UNMOUNT)."""
    lines = []
    if role != "none":
        lines.append(f"mount --bind {IN_HOST}/pci /sys/bus/pci/devices")
    if role == "nvidia":
        lines.append(f"mount --bind {IN_HOST}/driver /proc/driver")
    if role in ("nvidia", "amd"):
        lines += ["if [ ! -d /sys/module ]; then mount -o remount,rw /sys && mkdir /sys/module "
                  "&& mount -o remount,ro /sys; fi",
                  f"mount --bind {IN_HOST}/module /sys/module"]
    if role == "amd":
        lines += ["touch /dev/kfd", "mount --bind /dev/null /dev/kfd"]
    return "set -e\n" + "\n".join(lines) + "\n"


def _inside(host: Host, text: str) -> None:
    run(["nsenter", "-t", str(host.leader_pid), "-m", "-p", "--", "sh", "-c", text])


def apply(host: Host, role: str | None = None) -> None:
    """Give a running host its role (the recorded one when none is given)."""
    role = role or host.gpu
    if not role:
        return
    if role not in ROLES:
        raise FleetError(f"unknown GPU role {role!r}; one of {', '.join(ROLES)}")
    if not hosts.is_running(host) or not host.leader_pid:
        raise FleetError(f"{host.name} is not running")
    _inside(host, UNMOUNT)  # the earlier role's files may be replaced only once unmounted
    write_tree(host, role)
    _inside(host, script(role))
    host.gpu = None if role == "none" else role
    print(f"{host.name}: GPU role {role}")
