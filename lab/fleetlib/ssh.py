"""Reaching hosts the way users and pyinfra do: OpenSSH with the lab key."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import config
from .proc import FleetError, run
from .state import Host

# Host keys change whenever the lab is recreated, so never record them.
OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=2",
)  # fmt: skip


def ensure_key() -> str:
    """Create the lab's SSH key once; returns the public key line."""
    key = config.SSH_KEY
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        comment = "ollama-fleet-lab"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)])
    return Path(f"{key}.pub").read_text()


def command(host: Host, *remote: str, batch: bool = True) -> list[str]:
    options = OPTIONS if batch else tuple(o for o in OPTIONS if o != "BatchMode=yes")
    return ["ssh", "-i", host.ssh_key, *options, f"{host.ssh_user}@{host.address}", *remote]


def answers(host: Host, timeout: float = 10.0) -> bool:
    result = run(command(host, "true"), check=False, timeout=timeout)
    return result.returncode == 0


def boot_state(host: Host) -> str:
    """systemd's view of the boot, waiting for it to finish; '' if unreachable."""
    remote = "timeout 60 systemctl is-system-running --wait"
    try:
        result = run(command(host, remote), check=False, timeout=70)
    except FleetError:
        return ""
    if result.returncode == 255:  # ssh itself failed
        return ""
    return result.stdout.strip() or "unknown"


def wait_ready(hosts: list[Host], timeout: float) -> dict[str, str]:
    """Wait until every host answers SSH and has finished booting.

    Returns name -> systemd state for the hosts that made it; the rest are absent.
    """
    deadline = time.monotonic() + timeout
    ready: dict[str, str] = {}
    pending = list(hosts)
    with ThreadPoolExecutor(max_workers=16) as pool:
        while pending and time.monotonic() < deadline:
            states = list(pool.map(boot_state, pending))
            for host, state in zip(pending, states, strict=True):
                if state:
                    ready[host.name] = state
            pending = [h for h in pending if h.name not in ready]
            if pending:
                time.sleep(0.5)
    return ready


def all_answer(hosts: list[Host]) -> dict[str, bool]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(zip([h.name for h in hosts], pool.map(answers, hosts), strict=True))
