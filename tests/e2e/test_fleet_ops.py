"""Fleet operations on five real hosts: rolling rollout with health-gated rollback, failure
isolation (host down, host cut off mid-run, controller killed), status and drift, uninstall."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Any

import pytest

from .conftest import PYINFRA, ROOT, deploy, main_pid, run, server_environ, sh, ssh, wipe
from .test_models import registry_fail

ACTIVATE = "Ollama | Activate (restart + health check, rollback on failure)"

pytestmark = pytest.mark.lab

HOSTS = ["lab01", "lab02", "lab03", "lab04", "lab05"]
FLEET = str(ROOT / "lab" / "fleet")


def everyone(**data: Any) -> dict[str, dict[str, Any]]:
    return {name: {"ollama_models": ["tinyllama:1b"], **data} for name in HOSTS}


def dropin(name: str) -> str:
    return sh(name, "cat /etc/systemd/system/ollama.service.d/ollama-fleet.conf")


def api_version(name: str) -> str | None:
    result = ssh(name, "curl -fsS --max-time 3 localhost:11434/api/version")
    return json.loads(result.stdout)["version"] if result.returncode == 0 else None


def status(hosts: dict[str, dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    path = ROOT / "lab" / ".state" / "status-hostdata.json"
    from .conftest import LAB_DATA  # noqa: PLC0415

    path.write_text(json.dumps({n: {**LAB_DATA, **d} for n, d in hosts.items()}))
    result = run([str(ROOT / ".venv" / "bin" / "python"), "-m", "ollama_fleet.status",
                  "inventory/lab_selected.py", "--json"], cwd=ROOT,
                 env={**os.environ, "OLLAMA_FLEET_LAB_HOSTDATA": str(path)}, timeout=120)
    return result.returncode, json.loads(result.stdout)


def background_deploy(hosts: dict[str, dict[str, Any]]) -> tuple[subprocess.Popen, str]:
    from .conftest import LAB_DATA  # noqa: PLC0415

    path = ROOT / "lab" / ".state" / "bg-hostdata.json"
    path.write_text(json.dumps({n: {**LAB_DATA, **d} for n, d in hosts.items()}))
    proc = subprocess.Popen(
        [PYINFRA, "-y", "inventory/lab_selected.py", "deploy.py"], cwd=ROOT, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "OLLAMA_FLEET_LAB_HOSTDATA": str(path), "PYINFRA_PROGRESS": "off"},
    )
    return proc, str(path)


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 120) -> str:
    """Read the run's log until a line containing needle; the lines read so far."""
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"never saw {needle!r}:\n{''.join(seen)}")


@pytest.fixture(scope="module")
def healthy_fleet(lab, artifacts):  # noqa: ANN001 - fixtures
    for name in HOSTS:
        run([FLEET, "restore", name])
    wipe(HOSTS)
    result = deploy(everyone())
    assert result.returncode == 0, result.output
    return result


def test_a_failing_change_is_rolled_back_and_stops_the_rollout(healthy_fleet) -> None:  # noqa: ANN001
    before = {name: (main_pid(name), dropin(name)) for name in HOSTS}
    broken = everyone(
        ollama_rollout_batch=2, ollama_rollout_max_failures=0,
        ollama_extra_env={"OLLAMA_STANDIN_REGISTRY": "http://10.231.0.1:8080",
                          "OLLAMA_STANDIN_FAIL_START": "1"},
    )
    result = deploy(broken)
    assert result.returncode != 0
    rolled = [n for n in HOSTS
              if f"[{n}] ollama-fleet: rolled back to Ollama 0.13.5" in result.output]
    halted = [n for n in HOSTS if f"[{n}] ollama-fleet: rollout halted" in result.output]
    assert len(rolled) == 2 and len(halted) == 3, result.output
    assert "2 host(s) failed" in result.output
    # First batch: changed, failed its health check, rolled back to the old configuration.
    for name in rolled:
        assert api_version(name) == "0.13.5"
        assert dropin(name) == before[name][1]
        assert "OLLAMA_STANDIN_FAIL_START" not in server_environ(name)
        assert main_pid(name) != before[name][0]
    assert "did not become healthy" in result.output
    assert "journal:" in result.output and "OLLAMA_STANDIN_FAIL_START" in result.output
    # Later batches: untouched.
    for name in halted:
        assert main_pid(name) == before[name][0]
        assert dropin(name) == before[name][1]
    # The fixed configuration converges everyone and leaves nothing to do after.
    assert deploy(everyone()).returncode == 0
    again = deploy(everyone())
    assert all(again.changed(name) == [] for name in HOSTS), again.output


def test_a_host_down_at_the_start_does_not_stop_the_others(healthy_fleet) -> None:  # noqa: ANN001
    assert run([FLEET, "stop", "lab04"]).returncode == 0
    try:
        result = deploy(everyone(ollama_keep_alive="7m"))
        assert result.returncode != 0
        assert "ollama-fleet: 1 host(s) failed" in result.output
        assert "lab04: unreachable" in result.output
        for name in ("lab01", "lab02", "lab03", "lab05"):
            assert server_environ(name)["OLLAMA_KEEP_ALIVE"] == "7m"
    finally:
        assert run([FLEET, "start", "lab04"], timeout=120).returncode == 0
    pids = {name: main_pid(name) for name in HOSTS if name != "lab04"}
    rerun = deploy(everyone(ollama_keep_alive="7m"))
    assert rerun.returncode == 0, rerun.output
    assert server_environ("lab04")["OLLAMA_KEEP_ALIVE"] == "7m"
    for name, pid in pids.items():
        assert rerun.changed(name) == [] and main_pid(name) == pid


def test_a_host_cut_off_mid_run_does_not_stall_the_others(healthy_fleet) -> None:  # noqa: ANN001
    # Every host's first pull attempt fails (registry fault), and while they back off before
    # retrying, lab05's cable is pulled: its retry can never finish.
    target = everyone(ollama_command_timeout=20)
    for data in target.values():
        data["ollama_models"] = ["tinyllama:1b", "smollm:135m"]
    registry_fail(len(HOSTS))
    proc, _ = background_deploy(target)
    try:
        wait_for_line(proc, "Starting operation: Ollama | Models")
        assert run([FLEET, "cut", "lab05"]).returncode == 0
        proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        run([FLEET, "restore", "lab05"])
    assert proc.returncode != 0
    for name in ("lab01", "lab02", "lab03", "lab04"):
        assert "smollm:135m" in sh(name, "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    assert "smollm:135m" not in sh("lab05", "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    rerun = deploy(target)
    assert rerun.returncode == 0, rerun.output
    assert "smollm:135m" in sh("lab05", "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    assert all(rerun.changed(name) == [] for name in ("lab01", "lab02", "lab03", "lab04"))


def test_a_killed_controller_can_simply_rerun(healthy_fleet) -> None:  # noqa: ANN001
    target = everyone(ollama_version="0.14.1", ollama_keep_alive="9m")
    proc, _ = background_deploy(target)
    try:
        wait_for_line(proc, "Starting operation: Ollama | Activate")
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(2)
    for name in HOSTS:  # nothing half-written, no service left stopped
        assert ssh(name, "ls /etc/systemd/system/*.ollama-fleet-new 2>/dev/null").stdout == ""
        assert api_version(name) in ("0.13.5", "0.14.1")
    rerun = deploy(target)
    assert rerun.returncode == 0, rerun.output
    assert all(api_version(name) == "0.14.1" for name in HOSTS)
    assert all(deploy(target).changed(name) == [] for name in HOSTS)


def test_status_reports_health_and_drift(healthy_fleet) -> None:  # noqa: ANN001
    target = everyone(ollama_version="0.14.1", ollama_keep_alive="9m")
    assert deploy(target).returncode == 0
    code, rows = status(target)
    assert code == 0, rows
    assert all(row["ok"] and row["running"] == "0.14.1" for row in rows)
    assert {row["address"] for row in rows} == {"http://127.0.0.1:11434"}

    sh("lab01", "sed -i 's/OLLAMA_KEEP_ALIVE=9m/OLLAMA_KEEP_ALIVE=1h/' "
                "/etc/systemd/system/ollama.service.d/ollama-fleet.conf")
    sh("lab02", "OLLAMA_HOST=127.0.0.1:11434 ollama rm tinyllama:1b")
    code, rows = status(target)
    by_host = {row["host"]: row for row in rows}
    assert code == 1
    assert any("ollama-fleet.conf" in d for d in by_host["lab01"]["drift"])
    assert by_host["lab02"]["models_missing"] == ["tinyllama:1b"]
    assert by_host["lab03"]["ok"]
    # A deploy repairs both, and status is clean again.
    assert deploy(target).returncode == 0
    assert status(target)[0] == 0


def test_moving_models_dir_refuses_or_copies_never_empties(healthy_fleet) -> None:  # noqa: ANN001
    moved = {"lab03": {"ollama_models": ["tinyllama:1b"], "ollama_models_dir": "/srv/models2"}}
    refused = deploy(moved)
    assert refused.returncode != 0
    assert "ollama_models_dir_migration" in refused.output
    assert "OLLAMA_MODELS" not in dropin("lab03") or "/srv/models2" not in dropin("lab03")
    moved["lab03"]["ollama_models_dir_migration"] = "copy"
    copied = deploy(moved)
    assert copied.returncode == 0, copied.output
    assert "/srv/models2" in dropin("lab03")
    assert "tinyllama:1b" in sh("lab03", "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    assert sh("lab03", "ls /usr/share/ollama/.ollama/models/manifests")  # old store kept


def test_uninstall_keeps_models_and_purge_removes_them(healthy_fleet) -> None:  # noqa: ANN001
    host = {"lab05": {"ollama_models": ["tinyllama:1b"]}}
    assert deploy(host).returncode == 0
    removed = deploy(host, deploy_file="uninstall.py")
    assert removed.returncode == 0, removed.output
    assert ssh("lab05", "systemctl cat ollama").returncode != 0
    assert ssh("lab05", "test -e /opt/ollama || test -e /usr/local/bin/ollama").returncode != 0
    assert "tinyllama" in sh("lab05", "find /usr/share/ollama/.ollama/models/manifests")
    assert deploy(host, deploy_file="uninstall.py").changed("lab05") == []
    purged = deploy(host, "--data", "purge=true", deploy_file="uninstall.py")
    assert purged.returncode == 0, purged.output
    assert ssh("lab05", "test -e /usr/share/ollama/.ollama/models").returncode != 0
    assert ssh("lab05", "id ollama").returncode != 0


def test_dry_run_with_diff_shows_the_change_and_touches_nothing(healthy_fleet) -> None:  # noqa: ANN001
    current = deploy({"lab04": {"ollama_models": ["tinyllama:1b"]}})
    assert current.returncode == 0, current.output
    pid, before = main_pid("lab04"), dropin("lab04")
    dry = deploy({"lab04": {"ollama_models": ["tinyllama:1b"], "ollama_keep_alive": "11m"}},
                 "--dry", "--diff", yes=False)
    assert dry.returncode == 0, dry.output
    assert '[lab04] +Environment="OLLAMA_KEEP_ALIVE=11m"' in dry.output
    planned = {op["name"]: op["hosts_with_change"] for op in dry.report["plan"]}
    assert planned[ACTIVATE] == ["lab04"]
    assert planned["Ollama | Models"] == []
    assert main_pid("lab04") == pid and dropin("lab04") == before
