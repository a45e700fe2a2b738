"""The stand-in's start-up compute report: a GPU only with device, driver and backend library."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from standin_helpers import base_env, free_port, install, start


def fake_host(root: Path, vendor: str, device: str, driver: bool) -> Path:
    pci = root / "sys/bus/pci/devices/0000:65:00.0"
    pci.mkdir(parents=True)
    for name, value in (("vendor", vendor), ("device", device), ("class", "0x030000")):
        (pci / name).write_text(value + "\n")
    other = root / "sys/bus/pci/devices/0000:00:1f.0"  # an ISA bridge: never a GPU
    other.mkdir(parents=True)
    (other / "vendor").write_text("0x8086\n")
    (other / "class").write_text("0x060100\n")
    if driver and vendor == "0x10de":
        (root / "proc/driver/nvidia").mkdir(parents=True)
        (root / "proc/driver/nvidia/version").write_text("NVRM version: 550.54.14\n")
    if driver and vendor == "0x1002":
        (root / "dev").mkdir()
        (root / "dev/kfd").write_text("")
        (root / "proc").mkdir()
        (root / "proc/modules").write_text("amdgpu 15000000 0 - Live 0x0\n")
    return root


def compute_lines(binary: Path, tmp: Path, root: Path) -> list[str]:
    env = base_env(tmp, OLLAMA_HOST=f"127.0.0.1:{free_port()}",
                   OLLAMA_STANDIN_SYSROOT=str(root))
    server = start(binary, env, tmp / "serve.log")
    try:
        for _ in range(50):
            lines = [line for line in (tmp / "serve.log").read_text().splitlines()
                     if 'msg="inference compute"' in line]
            if lines:
                return lines
            time.sleep(0.1)
        return []
    finally:
        server.stop()


@pytest.mark.parametrize(("vendor", "device", "driver", "addon", "library"), [
    ("0x10de", "0x2204", True, False, "CUDA"),
    ("0x10de", "0x2204", False, False, "cpu"),  # no driver: CPU, as upstream
    ("0x1002", "0x73bf", True, True, "ROCm"),
    ("0x1002", "0x73bf", True, False, "cpu"),  # no ROCm add-on in the tree: CPU
    ("0x1002", "0x73bf", False, True, "cpu"),  # no /dev/kfd, no amdgpu: CPU
])
def test_compute_follows_device_driver_and_library(
        tmp_path: Path, release_dir: Path, vendor: str, device: str, driver: bool, addon: bool,
        library: str) -> None:
    binary = install(release_dir / "ollama-linux-amd64.tgz", tmp_path / "p")
    if addon:
        install(release_dir / "ollama-linux-amd64-rocm.tgz", tmp_path / "p")
    root = fake_host(tmp_path / "root", vendor, device, driver)
    (line,) = compute_lines(binary, tmp_path, root)
    assert f" library={library} " in line
    if library == "CUDA":
        assert 'description="NVIDIA GeForce RTX 3090"' in line and 'total="24.0 GiB"' in line
        assert re.search(r" id=GPU-[0-9a-f]{8}-", line) and " pci_id=0000:65:00.0 " in line
    elif library == "ROCm":
        assert 'description="AMD Radeon RX 6800"' in line and "libdirs=ollama,rocm" in line
    else:
        assert " id=cpu " in line and "libdirs=ollama" in line
