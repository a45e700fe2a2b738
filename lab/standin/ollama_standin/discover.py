"""GPU discovery as the server reports it at start (discover/, ml/device.go). TEST FIXTURE.

Like upstream, a GPU is reported only when three things hold: the host shows the device (PCI
display class, NVIDIA 0x10de or AMD 0x1002 vendor, read from /sys/bus/pci/devices), its driver
is there (NVIDIA: /proc/driver/nvidia/version or the nvidia module; AMD: /dev/kfd and the
amdgpu module), and the
install tree has the matching backend (lib/ollama/cuda_v*/, lib/ollama/rocm/: the ROCm add-on
archive). Otherwise the server reports the CPU. No inference happens either way.

Test-only switch (never present upstream): OLLAMA_STANDIN_SYSROOT=DIR prefixes every host path
read here, for the fixture's own tests; lab hosts are made to look like GPU hosts at the real
paths instead (lab/fleetlib/gpu.py).
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass

SYSROOT_ENV = "OLLAMA_STANDIN_SYSROOT"
GIB = 1 << 30
# PCI ids the lab uses -> (name, VRAM bytes, compute capability / gfx target, driver).
KNOWN = {
    ("0x10de", "0x2204"): ("NVIDIA GeForce RTX 3090", 24 * GIB, "8.6", "12.4"),
    ("0x1002", "0x73bf"): ("AMD Radeon RX 6800", 16 * GIB, "gfx1030", "6.3"),
}
DEFAULT = {"0x10de": ("NVIDIA GPU", 8 * GIB, "7.5", "12.4"),
           "0x1002": ("AMD Radeon Graphics", 8 * GIB, "gfx1100", "6.3")}


@dataclass
class Device:
    id: str
    library: str  # CUDA or ROCm
    index: int
    description: str
    libdir: str
    compute: str
    driver: str
    pci_id: str
    total: int


def _root() -> str:
    return os.environ.get(SYSROOT_ENV, "").rstrip("/")


def _first_line(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().strip()
    except OSError:
        return None


def _module_loaded(root: str, name: str) -> bool:
    if os.path.isdir(f"{root}/sys/module/{name}"):
        return True
    try:
        with open(f"{root}/proc/modules", encoding="utf-8", errors="replace") as f:
            return any(line.split(" ", 1)[0] == name for line in f)
    except OSError:
        return False


def human_bytes(n: int) -> str:
    """format.HumanBytes2: binary units, one decimal."""
    for unit, size in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def gpus(lib_dir: str) -> list[Device]:
    root = _root()
    cuda = sorted(glob.glob(os.path.join(lib_dir, "cuda_v*", "libggml-cuda*")))
    rocm = sorted(glob.glob(os.path.join(lib_dir, "rocm", "libggml-hip*")))
    nvidia_driver = (_first_line(f"{root}/proc/driver/nvidia/version") is not None
                     or _module_loaded(root, "nvidia"))
    amd_driver = os.path.exists(f"{root}/dev/kfd") and _module_loaded(root, "amdgpu")
    found: list[Device] = []
    counts = {"CUDA": 0, "ROCm": 0}
    for dev in sorted(glob.glob(f"{root}/sys/bus/pci/devices/*")):
        klass, vendor = _first_line(f"{dev}/class"), _first_line(f"{dev}/vendor")
        if not klass or not klass.startswith("0x03") or vendor not in DEFAULT:
            continue
        device = _first_line(f"{dev}/device") or ""
        name, total, compute, driver = KNOWN.get((vendor, device), DEFAULT[vendor])
        slot = os.path.basename(dev)
        if vendor == "0x10de" and nvidia_driver and cuda:
            library, libdir = "CUDA", os.path.basename(os.path.dirname(cuda[-1]))
        elif vendor == "0x1002" and amd_driver and rocm:
            library, libdir = "ROCm", "rocm"
            vram = _first_line(f"{dev}/mem_info_vram_total")
            total = int(vram) if vram and vram.isdigit() else total
        else:
            continue
        digest = hashlib.sha256(f"{slot}:{vendor}:{device}".encode()).hexdigest()
        ident = (f"GPU-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
                 if library == "CUDA" else f"GPU-{digest[:16]}")
        found.append(Device(ident, library, counts[library], name, libdir, compute, driver,
                            slot, total))
        counts[library] += 1
    return found


def cpu_memory() -> tuple[int, int]:
    total = available = 0
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                key, _, rest = line.partition(":")
                value = int(rest.split()[0]) * 1024 if rest.split() else 0
                if key == "MemTotal":
                    total = value
                elif key == "MemAvailable":
                    available = value
    except (OSError, ValueError):
        pass
    return total, available
