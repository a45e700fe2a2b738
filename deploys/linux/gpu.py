"""GPU hosts: what a host has (its part of the state fact), which release archives it needs,
and what Ollama itself reports it computes on.

Detection follows upstream's installer: display-class PCI devices by vendor (NVIDIA 0x10de,
AMD 0x1002), /etc/nv_tegra_release for Jetson boards (R35 = JetPack 5, R36 = JetPack 6). The
driver checks are the ones Ollama's own discovery depends on: the NVIDIA kernel driver
(/proc/driver/nvidia/version, or nvidia-smi), and for AMD the amdgpu module with its /dev/kfd
compute node. Installing drivers is out of scope (docs/gpu.md); a GPU that Ollama cannot use is
reported, never left to a silent CPU fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..settings import OllamaSettings, version_tuple
from .probe import Probe, Shared

if TYPE_CHECKING:
    from .facts import LinuxHostState

VENDORS = {"0x10de": "nvidia", "0x1002": "amd"}
VENDOR_NAMES = {"nvidia": "NVIDIA", "amd": "AMD", "jetson": "Jetson"}
# Upstream release archives beside ollama-linux-<arch>: first release that ships each.
ROCM_SINCE = (0, 3, 7)  # ollama-linux-amd64-rocm (amd64 only)
JETPACK_SINCE = (0, 4, 3)  # ollama-linux-arm64-jetpack5 / -jetpack6 (arm64 only)
JETPACK_BY_L4T = {"R35": "jetpack5", "R36": "jetpack6"}
COMPUTE_LINE = 'msg="inference compute"'
_LOGFMT = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)')


@dataclass(frozen=True)
class PciGpu:
    slot: str  # 0000:65:00.0
    vendor: str  # nvidia | amd
    device: str  # PCI device id, e.g. 2204

    def __str__(self) -> str:
        return f"{VENDOR_NAMES[self.vendor]} {self.slot}" + (f" [{self.device}]"
                                                              if self.device else "")


@dataclass(frozen=True)
class Compute:
    """One `inference compute` line of the running server."""

    library: str  # cpu, CUDA/cuda, ROCm/rocm, Vulkan, ...
    name: str = ""
    total: str = ""
    device_id: str = ""

    @property
    def is_cpu(self) -> bool:
        return self.library.lower() == "cpu"

    def __str__(self) -> str:
        if self.is_cpu:
            return "cpu"
        return " ".join(p for p in (self.library, self.name, self.total) if p)


@dataclass
class GpuFacts:
    devices: list[PciGpu] = field(default_factory=list)
    nvidia_driver: str | None = None  # first line of /proc/driver/nvidia/version
    nvidia_smi: bool = False
    kfd: bool = False  # /dev/kfd
    amdgpu: bool = False  # the amdgpu kernel module is loaded
    tegra: str | None = None  # first line of /etc/nv_tegra_release
    compute: list[Compute] | None = None  # None: not read (or no server start on record)

    def vendors(self) -> set[str]:
        return {d.vendor for d in self.devices}


def facts_of(state: LinuxHostState) -> GpuFacts:
    return state.found.get("gpu") or GpuFacts()


def parse_compute(line: str) -> Compute | None:
    """A `msg="inference compute"` log line (any release's layout) -> Compute."""
    if COMPUTE_LINE not in line:
        return None
    attrs = {}
    for key, raw in _LOGFMT.findall(line):
        value = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\") if raw.startswith('"') \
            else raw
        attrs[key] = value
    library = attrs.get("library", "")
    if not library:
        return None
    # 0.12+ logs name=CUDA0 plus description="NVIDIA ..."; older releases name="NVIDIA ...".
    name = attrs.get("description") or attrs.get("name", "")
    if library.lower() == "cpu":
        name = ""
    return Compute(library, name, attrs.get("total", ""), attrs.get("id", ""))


def _parse(state: LinuxHostState, key: str, value: str) -> None:
    gpu = state.found.setdefault("gpu", GpuFacts())
    if key == "gpu_pci":  # "<slot> <vendor> <device>"
        slot, vendor, device = (value.split() + ["", "", ""])[:3]
        if vendor in VENDORS:
            gpu.devices.append(PciGpu(slot, VENDORS[vendor], device.removeprefix("0x")))
    elif key == "gpu_nvidia_driver":
        gpu.nvidia_driver = value.strip()
    elif key == "gpu_kfd":
        gpu.kfd = True
    elif key == "gpu_amdgpu":
        gpu.amdgpu = True
    elif key == "gpu_tegra":
        gpu.tegra = value.strip()
    elif key == "compute":  # the "@compute" section: journal lines of the current start
        found = parse_compute(value)
        gpu.compute = gpu.compute or []
        if found is not None:
            gpu.compute.append(found)


def _finish(state: LinuxHostState, shared: Shared) -> None:
    gpu = state.found.setdefault("gpu", GpuFacts())
    gpu.nvidia_smi = "nvidia-smi" in state.tools


PROBE = Probe("gpu", "linux/probe_gpu.sh.j2",
              keys=("gpu_pci", "gpu_nvidia_driver", "gpu_kfd", "gpu_amdgpu", "gpu_tegra"),
              sections=("compute",), parse=_parse, finish=_finish, tools=("nvidia-smi",))


# --- what a host needs ----------------------------------------------------------------------

@dataclass(frozen=True)
class GpuPlan:
    kinds: tuple[str, ...]  # the GPUs the install is for: nvidia, amd, jetson (none: empty)
    addons: tuple[str, ...] = ()  # extra archives: rocm, jetpack5, jetpack6
    warnings: tuple[str, ...] = ()  # Ollama will not use a GPU the host has, or was told of
    problems: tuple[str, ...] = ()  # the install cannot be done as declared

    @property
    def summary(self) -> str:
        return ",".join(self.kinds) or "none"


def detected_kinds(gpu: GpuFacts) -> tuple[str, ...]:
    if gpu.tegra is not None:
        return ("jetson",)
    return tuple(k for k in ("nvidia", "amd") if k in gpu.vendors())


def _devices(gpu: GpuFacts, kind: str) -> str:
    return ", ".join(str(d) for d in gpu.devices if d.vendor == kind) or "none"


def plan(settings: OllamaSettings, gpu: GpuFacts, arch: str) -> GpuPlan:
    """Archives and findings for one host: `arch` is upstream's name (amd64, arm64)."""
    detected = detected_kinds(gpu)
    declared = settings.gpu
    kinds = detected if declared == "auto" else (() if declared == "none" else (declared,))
    version = version_tuple(settings.version)
    addons: list[str] = []
    warnings: list[str] = []
    problems: list[str] = []
    cpu = "Ollama will run on the CPU"
    if declared not in ("auto", "none") and declared not in detected:
        found = ", ".join(str(d) for d in gpu.devices) or "no NVIDIA or AMD display device"
        if gpu.tegra is not None:
            found = f"a Jetson board ({gpu.tegra[:40]})"
        warnings.append(f"gpu: {declared} is declared but the host shows no such GPU "
                        f"(found: {found}); {cpu} unless the declaration is right")
    if "nvidia" in kinds and gpu.nvidia_driver is None and not gpu.nvidia_smi:
        warnings.append(f"NVIDIA GPU ({_devices(gpu, 'nvidia')}) but no NVIDIA driver is "
                        "loaded (no /proc/driver/nvidia/version, no nvidia-smi): "
                        f"{cpu}; install the driver (docs/gpu.md)")
    if "amd" in kinds:
        missing = [what for what, ok in (("the amdgpu kernel module", gpu.amdgpu),
                                         ("/dev/kfd", gpu.kfd)) if not ok]
        if missing:
            warnings.append(f"AMD GPU ({_devices(gpu, 'amd')}) but {' and '.join(missing)} "
                            f"{'is' if len(missing) == 1 else 'are'} missing: {cpu}; install "
                            "the amdgpu driver with ROCm support (docs/gpu.md)")
        if arch != "amd64":
            warnings.append(f"AMD GPU on {arch}: upstream publishes ROCm builds for amd64 "
                            f"only; {cpu}")
        elif version < ROCM_SINCE:
            warnings.append(f"AMD GPU, but Ollama {settings.version} has no ROCm archive "
                            f"(from 0.3.7 on); {cpu}")
        else:
            addons.append("rocm")
    if "jetson" in kinds:
        l4t = (gpu.tegra or "").split()
        release = next((JETPACK_BY_L4T[w] for w in l4t if w in JETPACK_BY_L4T), None)
        if gpu.tegra is None:
            problems.append("gpu: jetson is declared, but /etc/nv_tegra_release is missing, so "
                            "JetPack 5 cannot be told from JetPack 6")
        elif release is None:
            warnings.append(f"unsupported JetPack release ({gpu.tegra[:60]}): only L4T R35 "
                            f"(JetPack 5) and R36 (JetPack 6) have Ollama builds; {cpu}")
        elif arch != "arm64":
            problems.append(f"a Jetson board reports architecture {arch}; JetPack builds are "
                            "arm64 only")
        elif version < JETPACK_SINCE:
            warnings.append(f"Jetson board, but Ollama {settings.version} has no JetPack "
                            f"archive (from 0.4.3 on); {cpu}")
        else:
            addons.append(release)
    return GpuPlan(tuple(kinds), tuple(addons), tuple(warnings), tuple(problems))


def host_plan(settings: OllamaSettings, current: LinuxHostState) -> GpuPlan:
    return plan(settings, facts_of(current), current.arch_name)


def compute_problem(gpu_plan: GpuPlan, gpu: GpuFacts) -> str | None:
    """`status`: a GPU host whose server computes on the CPU only is not healthy."""
    if not gpu_plan.kinds or not gpu.compute:
        return None
    if all(c.is_cpu for c in gpu.compute):
        what = "; ".join(_devices(gpu, k) if k != "jetson" else "Jetson" for k in gpu_plan.kinds)
        return f"GPU present ({what}) but Ollama runs on the CPU"
    return None
