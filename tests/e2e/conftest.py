"""End-to-end fixtures: the lab fleet, stand-in releases on the lab's artifact server, and a
`deploy()` helper that runs the real pyinfra CLI against named lab hosts."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB_STATE = ROOT / "lab" / "state.json"
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
LAB_HOSTS = int(os.environ.get("OLLAMA_FLEET_TEST_LAB_HOSTS", "5"))

GATEWAY = "10.231.0.1"
FILES_URL = f"http://{GATEWAY}:8080/files/releases/download/v{{version}}"
REGISTRY_URL = f"http://{GATEWAY}:8080"

# Data every lab host gets: releases and pulls come from the lab's own artifact server.
LAB_DATA: dict[str, Any] = {
    "ollama_version": "0.13.5",
    "ollama_archive_url": FILES_URL + "/{filename}",
    "ollama_checksums_url": FILES_URL + "/sha256sum.txt",
    "ollama_extra_env": {"OLLAMA_STANDIN_REGISTRY": REGISTRY_URL},
    "ollama_health_timeout": 30,
    "ollama_rollout_batch": "100%",
    # Tests declare their own models; group_data/lab.py's demo models do not apply.
    "ollama_models": [],
    "ollama_custom_models": [],
}


@dataclass
class DeployResult:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def operations(self) -> list[dict[str, Any]]:
        return (self.report.get("results") or {}).get("operations", [])

    def changed(self, host: str) -> list[str]:
        """Names of operations that ran commands on this host."""
        return [op["name"] for op in self.operations() if host in op["success"]]

    def failed(self, host: str) -> list[str]:
        return [op["name"] for op in self.operations() if host in op["error"]]


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def lab_state() -> dict[str, Any]:
    return json.loads(LAB_STATE.read_text())


def address(name: str) -> str:
    return next(h["address"] for h in lab_state()["hosts"] if h["name"] == name)


def ssh(name: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    entry = next(h for h in lab_state()["hosts"] if h["name"] == name)
    return run(
        ["ssh", "-i", entry["ssh_key"], "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", f"{entry['ssh_user']}@{entry['address']}", command],
        timeout=timeout,
    )


def sh(name: str, command: str) -> str:
    """Run on a lab host and return stdout; fail the test with stderr if it fails."""
    result = ssh(name, command)
    assert result.returncode == 0, f"{name}: {command!r} failed: {result.stderr}"
    return result.stdout


def deploy(
    hosts: dict[str, dict[str, Any]],
    *args: str,
    deploy_file: str = "deploy.py",
    env: dict[str, str] | None = None,
    timeout: float = 600,
    yes: bool = True,
) -> DeployResult:
    """Run `pyinfra -y --json` on exactly these hosts, each with LAB_DATA plus its own data.

    yes=False leaves out -y, so pyinfra detects changes (what --dry needs to report a plan)."""
    data = {name: {**LAB_DATA, **extra} for name, extra in hosts.items()}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(data, handle)
    try:
        result = run(
            [PYINFRA, *(["-y"] if yes else []), "--json", "-v", *args, "inventory/lab_selected.py",
             deploy_file],
            cwd=ROOT, timeout=timeout,
            env={**os.environ, **(env or {}), "OLLAMA_FLEET_LAB_HOSTDATA": handle.name,
                 "PYINFRA_PROGRESS": "off"},
        )
    finally:
        os.unlink(handle.name)
    try:
        report = json.loads(result.stdout) if result.stdout.strip() else {}
    except json.JSONDecodeError:
        report = {}
    return DeployResult(result.returncode, result.stdout, result.stderr, report)


def main_pid(name: str) -> int:
    return int(sh(name, "systemctl show -p MainPID --value ollama").strip() or 0)


def server_environ(name: str) -> dict[str, str]:
    pid = main_pid(name)
    raw = sh(name, f"tr '\\0' '\\n' < /proc/{pid}/environ")
    return dict(line.split("=", 1) for line in raw.splitlines() if "=" in line)


def wipe(names: list[str]) -> None:
    """Return hosts to bare: everything a deploy creates is removed (test setup only)."""
    script = (
        "systemctl stop ollama ollama-fleet-firewall nginx >/dev/null 2>&1; "
        "systemctl disable ollama >/dev/null 2>&1; "
        "rm -rf /opt/ollama /etc/systemd/system/ollama.service "
        "/etc/systemd/system/ollama.service.d /var/lib/ollama-fleet /etc/ollama-fleet "
        "/usr/share/ollama /usr/local/bin/ollama /srv/models /srv/models2; "
        "nft delete table inet ollama_fleet >/dev/null 2>&1; "
        "userdel ollama >/dev/null 2>&1; groupdel ollama >/dev/null 2>&1; "
        "systemctl daemon-reload; systemctl reset-failed >/dev/null 2>&1; true"
    )
    for name in names:
        sh(name, script)


@pytest.fixture(scope="session")
def lab() -> dict[str, Any]:
    """The lab fleet with at least LAB_HOSTS hosts, all booted and plugged in. A bigger lab
    (a benchmark's) is never shrunk: `up` only adds hosts, boots stopped ones, restores cut ones."""
    present = len(lab_state()["hosts"]) if LAB_STATE.is_file() else 0
    count = max(LAB_HOSTS, present)
    result = run([str(ROOT / "lab" / "fleet"), "up", "--hosts", str(count)], timeout=900)
    assert result.returncode == 0, f"lab/fleet up failed:\n{result.stdout}\n{result.stderr}"
    return lab_state()


@pytest.fixture(scope="session")
def artifacts(lab: dict[str, Any]) -> Path:
    """Stand-in releases and registry models on the lab's artifact server."""
    sys.path.insert(0, str(ROOT / "lab"))
    from seed_artifacts import ARTIFACTS, seed  # noqa: PLC0415 - fixture code lives in lab/

    seed()
    return ARTIFACTS


def quote(text: str) -> str:
    return shlex.quote(text)


def serve_standin(name: str, unit: str, root: str, port: int, archive: Path) -> None:
    """Unpack a stand-in release into `root` on a lab host and serve it on 127.0.0.1:`port`
    under a transient unit (models in `root`-models), waiting until the API answers."""
    entry = next(h for h in lab_state()["hosts"] if h["name"] == name)
    subprocess.run(
        ["scp", "-q", "-i", entry["ssh_key"], "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", str(archive),
         f"root@{entry['address']}:{root}.tar.zst"], check=True, timeout=60)
    ssh(name, f"systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null")
    sh(name, f"rm -rf {root} {root}-models && mkdir {root} && "
             f"zstd -dc {root}.tar.zst | tar -x -C {root}")
    sh(name, f"systemd-run --unit={unit} -E OLLAMA_HOST=127.0.0.1:{port} "
             f"-E OLLAMA_MODELS={root}-models -E OLLAMA_STANDIN_REGISTRY={REGISTRY_URL} "
             f"-E HOME={root} {root}/bin/ollama serve")
    sh(name, f"for i in $(seq 50); do curl -fs 127.0.0.1:{port}/ && exit 0; sleep 0.2; done; "
             "exit 1")
