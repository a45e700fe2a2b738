"""Bringing the whole lab up and down."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import cgroups, config, gpu, hosts, image, network, services, ssh, state
from .proc import FleetError
from .state import Host, Lab


def up(count: int, suite: str) -> Lab:
    """Make the lab exactly `count` running hosts of `suite`.

    Hosts that already run are kept, missing or stopped ones are booted (a
    stopped host keeps its overlay), extra ones are destroyed. A different
    suite or base image means a full teardown first.
    """
    if not 1 <= count <= config.MAX_HOSTS:
        raise FleetError(f"--hosts must be between 1 and {config.MAX_HOSTS}")
    base = image.ensure(suite)
    lab = state.load()
    if lab is None or lab.suite != suite or lab.image != str(base):
        # No usable state: clear whatever an earlier or foreign run left behind.
        down(quiet=True)
        lab = Lab(suite=suite, image=str(base))

    config.RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    _raise_kernel_limits()
    network.ensure_bridge()
    if not services.running(lab.proxy_pid, "tinyproxy"):
        lab.proxy_pid = services.start_proxy()
    if not services.running(lab.artifacts_pid, "artifacts.py"):
        lab.artifacts_pid = services.start_artifacts()

    wanted = [config.host_name(i) for i in range(1, count + 1)]
    extra = [h for h in lab.hosts if h.name not in wanted]
    if extra:
        hosts.stop(extra)
        for host in extra:
            hosts.destroy(host.name)
    known = {h.name: h for h in lab.hosts}
    lab.hosts = [
        known.get(name) or Host(name=name, address=config.host_address(config.host_index(name)))
        for name in wanted
    ]
    to_boot = [h for h in lab.hosts if not hosts.is_running(h)]
    set_frozen(lab, [h.name for h in lab.hosts if h.frozen and h not in to_boot], False)
    for host in lab.hosts:
        # A fault test that died half-way must not leave the next user a cut host.
        if host not in to_boot and not network.cable_connected(host.name):
            network.set_cable(host.name, connected=True)
    if to_boot:
        started = time.monotonic()
        boot(lab, to_boot)
        print(f"booted {len(to_boot)} host(s) in {time.monotonic() - started:.1f}s")
        for host in to_boot:
            gpu.apply(host)  # a recorded GPU role (mounts end with the host)
    state.save(lab)
    return lab


# Every container's systemd, journald, networkd... holds inotify instances, all
# charged to root on the controller; the default 128 runs out at about 20 hosts
# and later hosts then boot without sshd.
KERNEL_MINIMUMS = {
    "fs/inotify/max_user_instances": 8192,
    "fs/inotify/max_user_watches": 524288,
}


def _raise_kernel_limits() -> None:
    for key, minimum in KERNEL_MINIMUMS.items():
        path = Path("/proc/sys") / key
        if int(path.read_text()) < minimum:
            path.write_text(f"{minimum}\n")


def boot(lab: Lab, targets: list[Host]) -> None:
    """Boot targets concurrently and wait until each answers SSH, booted."""
    pubkey = ssh.ensure_key()
    # Preparing is mostly ssh-keygen and small writes; threads overlap the forks.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda h: hosts.prepare(h, Path(lab.image), pubkey), targets))
    for host in targets:
        hosts.boot(host)
    failed = []
    for host in targets:
        try:
            hosts.find_leader(host)
        except FleetError as exc:
            failed.append(str(exc))
    # Record PIDs before waiting so a failed boot can still be torn down.
    state.save(lab)
    if failed:
        raise FleetError("; ".join(failed) + "; `lab/fleet down` cleans up")
    timeout = config.BOOT_TIMEOUT + len(targets)
    ready = ssh.wait_ready(targets, timeout)
    missing = [h.name for h in targets if h.name not in ready]
    if missing:
        logs = ", ".join(str(hosts.console_log(n)) for n in missing[:3])
        raise FleetError(
            f"{len(missing)} host(s) not ready after {timeout:.0f}s: {', '.join(missing)}"
            f" (console logs: {logs}); `lab/fleet down` cleans up"
        )
    degraded = {n: s for n, s in ready.items() if s != "running"}
    if degraded:
        print(f"warning: hosts not fully running: {degraded}")


def renew(lab: Lab, names: list[str]) -> None:
    """Replace hosts with new ones from the base image, booted: same names and addresses, a
    new disk, machine id and SSH host key, as a freshly provisioned machine would be."""
    targets = [lab.host(name) for name in names]
    hosts.stop(targets)
    for host in targets:
        hosts.destroy(host.name)
    boot(lab, targets)
    for host in targets:
        gpu.apply(host)  # its recorded GPU role, if any
    state.save(lab)


def set_frozen(lab: Lab, names: list[str], frozen: bool) -> None:
    """Freeze (or thaw) running hosts; stopped ones are refused."""
    targets = [lab.host(name) for name in names]
    stopped = [h.name for h in targets if not hosts.is_running(h)]
    if stopped:
        raise FleetError(f"not running: {', '.join(stopped)}")
    try:
        for host in targets:
            cgroups.set_frozen(host.name, frozen)
            host.frozen = frozen
    finally:
        state.save(lab)


def down(quiet: bool = False) -> None:
    """Remove every trace of the lab; works with or without a state file."""
    lab = state.load()
    known = lab.hosts if lab else []
    hosts.stop([*known, *hosts.strays({h.nspawn_pid for h in known})])
    # Also whatever no state file or nspawn command line tells of any more.
    cgroups.kill()
    services.stop_all([lab.proxy_pid, lab.artifacts_pid] if lab else [])
    if config.HOSTS_DIR.exists():
        for host_dir in sorted(config.HOSTS_DIR.iterdir()):
            hosts.destroy(host_dir.name)
    cgroups.remove()
    for empty in (config.HOSTS_DIR, config.HOSTS_DIR.parent):
        if empty.is_dir() and not any(empty.iterdir()):
            empty.rmdir()
    network.delete_leftovers()
    state.remove()
    if config.RUNTIME_DIR.exists():
        for leftover in config.RUNTIME_DIR.iterdir():
            leftover.unlink()
        config.RUNTIME_DIR.rmdir()
    if not quiet:
        print("lab is down")


def table(lab: Lab, reachable: dict[str, bool] | None = None) -> str:
    rows = [("HOST", "ADDRESS", "STATE", "CABLE", "SSH", "LEADER")]
    for host in lab.hosts:
        running = hosts.is_running(host)
        power = ("frozen" if host.frozen else "running") if running else "stopped"
        cable = ("ok" if network.cable_connected(host.name) else "cut") if running else "-"
        answer = "-" if reachable is None else ("yes" if reachable.get(host.name) else "NO")
        rows.append((host.name, host.address, power, cable, answer, str(host.leader_pid or "-")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    extra = f"proxy {lab.proxy}  artifacts {lab.artifacts_url if lab.artifacts_pid else '(none)'}"
    return "\n".join([*lines, extra])
