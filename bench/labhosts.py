"""Lab host helpers for the benchmark: which hosts exist, plain SSH to them, wiping them bare.

Plain `ssh` (OpenSSH, one process per call) on purpose: these calls measure and reset the hosts
around a pyinfra run and must not share anything with the run being measured.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
LAB_STATE = ROOT / "lab" / "state.json"
FLEET = ROOT / "lab" / "fleet"

T = TypeVar("T")

SSH_OPTIONS = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]

# The same reset as the e2e suite's wipe(): everything a deploy creates goes, so the next run
# is a true first converge (user, release, unit, models, firewall, proxy).
WIPE_SCRIPT = (
    "systemctl stop ollama ollama-fleet-firewall nginx >/dev/null 2>&1; "
    "systemctl disable ollama >/dev/null 2>&1; "
    "rm -rf /opt/ollama /etc/systemd/system/ollama.service /etc/systemd/system/ollama.service.d "
    "/var/lib/ollama-fleet /etc/ollama-fleet /usr/share/ollama /usr/local/bin/ollama /srv/models "
    "/srv/models2; "
    "nft delete table inet ollama_fleet >/dev/null 2>&1; "
    "userdel ollama >/dev/null 2>&1; groupdel ollama >/dev/null 2>&1; "
    "systemctl daemon-reload; systemctl reset-failed >/dev/null 2>&1; true"
)


class LabError(RuntimeError):
    pass


def lab_hosts() -> dict[str, dict[str, Any]]:
    if not LAB_STATE.exists():
        return {}
    return {h["name"]: h for h in json.loads(LAB_STATE.read_text())["hosts"]}


def host_names(first: int, count: int) -> list[str]:
    return [f"lab{i:02d}" for i in range(first, first + count)]


def ensure_hosts(names: list[str]) -> bool:
    """Make sure every named host exists and answers; returns True when some had to be booted.

    `lab/fleet up --hosts N` keeps running hosts and boots missing ones, so asking for the
    highest index we need never disturbs lab01..lab10. Another `up` with a smaller N does
    remove our hosts, which is why every round checks again.
    """
    present = lab_hosts()
    missing = [n for n in names if n not in present]
    if not missing:
        answers = parallel(names, lambda n: ssh(n, "true", timeout=15).returncode == 0)
        missing = [n for n, ok in answers.items() if not ok]
    if not missing:
        return False
    highest = max(int(n.removeprefix("lab")) for n in names)
    highest = max(highest, *(int(n.removeprefix("lab")) for n in present)) if present else highest
    result = subprocess.run([str(FLEET), "up", "--hosts", str(highest)], capture_output=True,
                            text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise LabError(f"lab/fleet up --hosts {highest} failed:\n{result.stdout}{result.stderr}")
    still = [n for n in names if n not in lab_hosts()]
    if still:
        raise LabError(f"hosts still missing after lab/fleet up: {', '.join(still)}")
    return True


def _cgroup2_root() -> Path | None:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, fstype = line.split()[:3]
        if fstype == "cgroup2":
            return Path(point)
    return None


def host_cpu_seconds(names: list[str]) -> dict[str, float]:
    """CPU time each host has used so far, read from its cgroup on the controller.

    Lab hosts are containers sharing the controller's cores, so work a deploy makes the hosts do
    competes with pyinfra itself; this separates the two without touching the hosts.
    """
    root = _cgroup2_root()
    used = {}
    for name in names:
        try:
            stat = (root / "ollama-fleet-lab" / name / "cpu.stat").read_text() if root else ""
        except OSError:
            stat = ""
        fields = dict(line.split() for line in stat.splitlines() if line.count(" ") == 1)
        used[name] = int(fields.get("usage_usec", 0)) / 1e6
    return used


def ssh(name: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    entry = lab_hosts().get(name)
    if entry is None:
        raise LabError(f"{name} is not in lab/state.json (another `lab/fleet up` removed it?)")
    return subprocess.run(
        ["ssh", "-i", entry["ssh_key"], *SSH_OPTIONS, f"{entry['ssh_user']}@{entry['address']}",
         command],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def scp(name: str, local: Path, remote: str, timeout: float = 600) -> None:
    entry = lab_hosts()[name]
    result = subprocess.run(
        ["scp", "-q", "-i", entry["ssh_key"], *SSH_OPTIONS, str(local),
         f"{entry['ssh_user']}@{entry['address']}:{remote}"],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if result.returncode != 0:
        raise LabError(f"scp to {name} failed: {result.stderr.strip()}")


def sh(name: str, command: str, timeout: float = 120) -> str:
    result = ssh(name, command, timeout=timeout)
    if result.returncode != 0:
        raise LabError(f"{name}: {command[:80]!r} failed ({result.returncode}): "
                       f"{result.stderr.strip()[:300]}")
    return result.stdout


def parallel(names: Iterable[str], func: Callable[[str], T], workers: int = 16) -> dict[str, T]:
    """func(name) for every host at once (bounded: the controller has few cores)."""
    names = list(names)
    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(names)))) as pool:
        return dict(zip(names, pool.map(func, names), strict=True))


def wipe(names: list[str]) -> None:
    parallel(names, lambda n: sh(n, WIPE_SCRIPT))


def service_snapshot(names: list[str], since: float | None = None) -> dict[str, dict[str, int]]:
    """MainPID, NRestarts and (with since) the journal's 'Started' lines for ollama since then."""
    journal = (f"journalctl -u ollama --since @{since:.3f} -o cat --no-pager 2>/dev/null "
               "| grep -c '^Started' || true") if since is not None else "echo 0"
    command = ("systemctl show -p MainPID --value ollama 2>/dev/null || echo 0; "
               "systemctl show -p NRestarts --value ollama 2>/dev/null || echo 0; " + journal)

    def snap(name: str) -> dict[str, int]:
        values = [int(v) if v.strip().isdigit() else 0 for v in sh(name, command).split("\n")[:3]]
        values += [0] * (3 - len(values))
        return {"main_pid": values[0], "n_restarts": values[1], "started": values[2]}

    return parallel(names, snap)


def _fleet(*args: str, timeout: float = 900) -> str:
    result = subprocess.run([str(FLEET), *args], capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise LabError(f"lab/fleet {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def renew(names: list[str]) -> None:
    """Replace hosts with freshly booted ones from the base image (`lab/fleet renew`): what a
    fresh converge meets on newly provisioned machines, which a wipe of a used host does not
    reproduce (cold caches, first start of everything). Waits until they are booted."""
    _fleet("renew", *names)


@contextlib.contextmanager
def only_these_running(names: list[str]) -> Iterator[None]:
    """Freeze every other running lab host while measuring these, so idle hosts (timers,
    journald, their servers) take no CPU from the controller and the hosts being measured."""
    wanted = set(names)
    others = [n for n, h in lab_hosts().items() if n not in wanted and h.get("leader_pid")]
    if others:
        _fleet("freeze", *others)
    try:
        yield
    finally:
        if others:
            _fleet("thaw", *others)


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # all, idle + iowait


def settle(idle: float = 0.9, window: float = 2.0, longest: float = 90.0) -> float:
    """Wait until the machine is at least `idle` idle over a `window`-second span (at most
    `longest` s), so a round does not start while a boot, a thaw or the previous round is still
    winding down. Returns the idle fraction of the last window."""
    deadline = time.monotonic() + longest
    while True:
        total, free = _cpu_times()
        time.sleep(window)
        total2, free2 = _cpu_times()
        fraction = (free2 - free) / max(1, total2 - total)
        if fraction >= idle or time.monotonic() >= deadline:
            return fraction
