"""GPU hosts on the lab: detection in the state fact, the archive set, the GPU groups, the
driver warnings and `status`'s compute column, on an NVIDIA-like (lab06), an AMD-like (lab07)
and a CPU-only (lab08) host. The GPU roles are bind mounts over the real /sys and /proc paths
(lab/fleetlib/gpu.py); the stand-in reports compute from the same paths, as upstream does.
These three hosts are this module's own: other tests use lab01..lab05."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from .conftest import LAB_DATA, ROOT, deploy, lab_state, run, sh, wipe

pytestmark = pytest.mark.lab

ROLES = {"lab06": "nvidia", "lab07": "amd", "lab08": "cpu"}
HOSTS: dict[str, dict[str, Any]] = {name: {} for name in ROLES}
TREE = "/opt/ollama/versions/0.13.5"


def fleet(*args: str) -> None:
    result = run([str(ROOT / "lab" / "fleet"), *args], timeout=900)
    assert result.returncode == 0, f"lab/fleet {' '.join(args)}:\n{result.stdout}{result.stderr}"


def status(hosts: dict[str, dict[str, Any]]) -> tuple[int, dict[str, dict[str, Any]]]:
    path = ROOT / "lab" / ".state" / "status-gpu-hostdata.json"
    path.write_text(json.dumps({n: {**LAB_DATA, **d} for n, d in hosts.items()}))
    result = run([str(ROOT / ".venv" / "bin" / "python"), "-m", "ollama_fleet.status",
                  "inventory/lab_selected.py", "--json"], cwd=ROOT,
                 env={**os.environ, "OLLAMA_FLEET_LAB_HOSTDATA": str(path)}, timeout=120)
    return result.returncode, {row["host"]: row for row in json.loads(result.stdout)}


def compute_lines(name: str) -> list[str]:
    return sh(name, "journalctl -u ollama -b -o cat --no-pager | "
                    "grep -F 'msg=\"inference compute\"' || true").splitlines()


@pytest.fixture(scope="module")
def gpu_hosts(lab: dict[str, Any], artifacts: Any) -> dict[str, Any]:
    """lab06..lab08 up with their GPU roles, bare, then deployed with gpu: auto."""
    present = len(lab_state()["hosts"])
    if present < 8:
        fleet("up", "--hosts", "8")
    for name, role in ROLES.items():
        fleet("gpu", name, role)
    wipe(list(ROLES))
    result = deploy(HOSTS)
    assert result.returncode == 0, result.output
    return {"first": result}


def test_detection_picks_the_archives_and_a_second_run_changes_nothing(gpu_hosts) -> None:  # noqa: ANN001
    first = gpu_hosts["first"]
    # Only the AMD host gets the ROCm add-on, unpacked into the one versions/<v> tree.
    assert sh("lab07", f"cat {TREE}/.installed").strip() == "rocm"
    assert sh("lab07", f"ls {TREE}/lib/ollama/rocm").split() == ["libggml-hip.so"]
    for name in ("lab06", "lab08"):
        assert sh(name, f"cat {TREE}/.installed").strip() == ""
        assert sh(name, f"test -d {TREE}/lib/ollama/rocm && echo yes || echo no").strip() == "no"
        assert sh(name, f"ls {TREE}/lib/ollama/cuda_v12").split() == ["libggml-cuda.so"]
    assert "(+rocm)" in first.output  # the install operation names its add-ons
    again = deploy(HOSTS)
    assert again.returncode == 0, again.output
    for name in ROLES:
        assert again.changed(name) == [], (name, again.changed(name))


def test_service_user_is_in_the_gpu_groups_present(gpu_hosts) -> None:  # noqa: ANN001
    for name in ROLES:
        present = {line.split(":")[0] for line in
                   sh(name, "getent group render video || true").splitlines()}
        assert present, f"{name}: the base image has neither render nor video"
        assert present <= set(sh(name, "id -Gn ollama").split()), name


def test_the_server_reports_the_compute_the_host_has(gpu_hosts) -> None:  # noqa: ANN001
    (nvidia,) = compute_lines("lab06")[-1:]
    assert " library=CUDA " in nvidia and 'description="NVIDIA GeForce RTX 3090"' in nvidia
    (amd,) = compute_lines("lab07")[-1:]
    assert " library=ROCm " in amd and 'total="16.0 GiB"' in amd
    (cpu,) = compute_lines("lab08")[-1:]
    assert " library=cpu " in cpu


def test_status_shows_gpu_and_compute_per_host(gpu_hosts) -> None:  # noqa: ANN001
    code, rows = status(HOSTS)
    assert code == 0, rows
    assert rows["lab06"]["gpu"] == "nvidia"
    assert rows["lab06"]["compute"] == "CUDA NVIDIA GeForce RTX 3090 24.0 GiB"
    assert rows["lab07"]["gpu"] == "amd"
    assert rows["lab07"]["compute"] == "ROCm AMD Radeon RX 6800 16.0 GiB"
    assert rows["lab08"]["gpu"] == "none" and rows["lab08"]["compute"] == "cpu"
    assert all(row["ok"] for row in rows.values())


def test_a_gpu_without_driver_is_warned_strict_fails_and_status_is_unhealthy(
        gpu_hosts) -> None:  # noqa: ANN001
    fleet("gpu", "lab06", "nvidia-nodriver")
    try:
        result = deploy({"lab06": {}})
        assert result.returncode == 0, result.output
        assert "lab06: NVIDIA GPU (NVIDIA 0000:65:00.0 [2204]) but no NVIDIA driver" \
            in result.stderr
        # sha256 given: the lab's plain-HTTP mirror is otherwise a warning of its own.
        sums = (ROOT / "lab/.state/artifacts/files/releases/v0.13.5/sha256sum.txt").read_text()
        digest = next(line.split()[0] for line in sums.splitlines()
                      if line.endswith("/ollama-linux-amd64.tgz"))
        strict = deploy({"lab06": {"ollama_strict": True, "ollama_sha256": digest}})
        assert strict.returncode != 0
        assert "no NVIDIA driver is loaded" in strict.stderr and "Check GPU" in strict.output
        # The server discovers at start: restarted without a driver, it runs on the CPU.
        sh("lab06", "systemctl restart ollama && sleep 1")
        code, rows = status({"lab06": {}})
        assert code == 1 and not rows["lab06"]["healthy"]
        assert rows["lab06"]["compute"] == "cpu"
        assert "but Ollama runs on the CPU" in rows["lab06"]["compute_problem"]
    finally:
        fleet("gpu", "lab06", "nvidia")
        sh("lab06", "systemctl restart ollama")
    code, rows = status({"lab06": {}})
    assert code == 0 and rows["lab06"]["compute"].startswith("CUDA "), rows


def test_a_gpu_change_reinstalls_the_tree_and_restarts(gpu_hosts) -> None:  # noqa: ANN001
    """Declaring amd on the CPU-only host adds the ROCm archive (with a warning: no such GPU
    here); going back to auto takes it out again. Both restart into the new tree."""
    before = sh("lab08", "systemctl show -p InvocationID --value ollama").strip()
    result = deploy({"lab08": {"ollama_gpu": "amd"}})
    assert result.returncode == 0, result.output
    assert "gpu: amd is declared but the host shows no such GPU" in result.stderr
    assert sh("lab08", f"cat {TREE}/.installed").strip() == "rocm"
    middle = sh("lab08", "systemctl show -p InvocationID --value ollama").strip()
    assert middle != before
    back = deploy({"lab08": {}})
    assert back.returncode == 0, back.output
    assert sh("lab08", f"cat {TREE}/.installed").strip() == ""
    assert sh("lab08", "systemctl show -p InvocationID --value ollama").strip() != middle
    assert deploy({"lab08": {}}).changed("lab08") == []
