"""One lab host: an overlay on the base image, booted by systemd-nspawn."""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from pathlib import Path

from . import cgroups, config, network
from .proc import (
    FleetError,
    alive,
    all_pids,
    children,
    cmdline,
    run,
    signal_pid,
    spawn_daemon,
    wait_until,
)
from .state import Host

NETWORK_FILE = """\
# Sorts before nspawn's 80-container-host0.network, which would ask for DHCP.
[Match]
Name=host0

[Network]
Address={address}/{prefix}
Gateway={gateway}
LinkLocalAddressing=no
IPv6AcceptRA=no
"""


# systemd waits 90 s by default for a process that ignores SIGTERM (deploy
# scripts trap it on purpose) before killing it, at unit stop and at poweroff.
# 10 s keeps `stop`/`down` well inside their own bound while still giving
# services a clean stop.
SYSTEM_CONF = """\
[Manager]
DefaultTimeoutStopSec=10s
"""


def root_dir(name: str) -> Path:
    return config.host_dir(name) / "root"


def console_log(name: str) -> Path:
    return config.RUNTIME_DIR / f"{name}.console.log"


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below path, deepest first (the order to unmount in)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with spaces etc. octal-escaped.
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if point == path or path in point.parents:
            found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def prepare(host: Host, image: Path, pubkey: str) -> None:
    """Mount the host's overlay and write its identity; keeps an existing overlay."""
    base = config.host_dir(host.name)
    upper, work, root = base / "upper", base / "work", base / "root"
    for d in (upper, work, root):
        d.mkdir(parents=True, exist_ok=True)
    if not mounts_under(root):
        options = f"lowerdir={image},upperdir={upper},workdir={work}"
        run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)])
    etc = root / "etc"
    (etc / "hostname").write_text(host.name + "\n")
    if not (etc / "machine-id").read_text().strip():
        (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    (etc / "systemd/network/10-host0.network").write_text(
        NETWORK_FILE.format(address=host.address, prefix=config.PREFIX_LEN, gateway=config.GATEWAY)
    )
    (etc / "systemd/system.conf.d").mkdir(exist_ok=True)
    (etc / "systemd/system.conf.d/10-lab.conf").write_text(SYSTEM_CONF)
    auth = root / "root/.ssh/authorized_keys"
    auth.write_text(pubkey)
    auth.chmod(0o600)
    hostkey = etc / "ssh/ssh_host_ed25519_key"
    if not hostkey.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(hostkey)])


def boot(host: Host) -> None:
    """Start the container in the background; fills in nspawn_pid."""
    # An earlier container of this host may linger (its nspawn died, or the
    # kernel has not yet freed its network namespace); it would block the boot.
    cgroups.kill(host.name)
    network.delete_veth(host.name)
    machine_id = (root_dir(host.name) / "etc/machine-id").read_text().strip()
    cmd = [
        "systemd-nspawn",
        "--quiet",
        # No systemd as PID 1 on the controller: nothing to register with.
        "--register=no",
        "--keep-unit",
        "--boot",
        f"--machine={host.name}",
        f"--directory={root_dir(host.name)}",
        f"--uuid={uuid.UUID(machine_id)}",
        f"--network-bridge={config.BRIDGE}",
        "--resolv-conf=off",
        "--timezone=off",
        # Console output goes to the log; there is no terminal to attach to.
        "--console=read-only",
    ]
    # `sh` joins the host's cgroups and then becomes nspawn (same PID).
    script = cgroups.enter_script(host.name) + 'exec "$@"'
    host.nspawn_pid = spawn_daemon(["sh", "-c", script, "sh", *cmd], console_log(host.name))
    host.leader_pid = None


def leader_of(nspawn_pid: int) -> int | None:
    """The container's init: the child of nspawn that lives in another PID namespace."""
    try:
        own_ns = os.readlink(f"/proc/{nspawn_pid}/ns/pid")
    except OSError:
        return None
    for child in children(nspawn_pid):
        try:
            if os.readlink(f"/proc/{child}/ns/pid") != own_ns:
                return child
        except OSError:
            continue
    return None


def find_leader(host: Host, timeout: float = 30.0) -> None:
    def look() -> bool:
        if not alive(host.nspawn_pid):
            raise FleetError(f"{host.name}: systemd-nspawn exited; see {console_log(host.name)}")
        assert host.nspawn_pid is not None
        host.leader_pid = leader_of(host.nspawn_pid)
        return host.leader_pid is not None

    if not wait_until(look, timeout, interval=0.1):
        raise FleetError(f"{host.name}: container init did not start within {timeout:.0f}s")


def is_running(host: Host) -> bool:
    # Checking the command line too: a recorded PID may since have been reused.
    pid = host.nspawn_pid
    return alive(pid) and f"--machine={host.name}" in cmdline(pid or 0)


def stop(hosts: list[Host], timeout: float = config.SHUTDOWN_TIMEOUT) -> None:
    """Power hosts off cleanly, killing any that do not stop within timeout.

    SIGRTMIN+4 asks the container's systemd for a poweroff; nspawn exits when
    its init does. Whatever is left after the timeout is killed through the
    host's cgroup, which holds every process of the container.
    """
    running = [h for h in hosts if is_running(h)]
    for host in running:
        if host.frozen:  # a frozen init cannot act on the poweroff request
            cgroups.set_frozen(host.name, False)
    for host in running:
        # A half-failed `up` may not have recorded the leader yet.
        leader = host.leader_pid or leader_of(host.nspawn_pid or 0)
        signal_pid(leader, signal.SIGRTMIN + 4)
    if not wait_until(lambda: not any(is_running(h) for h in running), timeout):
        slow = [h.name for h in running if is_running(h)]
        print(f"warning: killing hosts that did not power off in {timeout:.0f}s: {slow}")
        for name in slow[:3]:
            print(f"  last console lines of {name}:\n{_tail(console_log(name))}")
        for host in running:
            signal_pid(host.nspawn_pid, signal.SIGKILL)
    for host in hosts:
        if not cgroups.kill(host.name):
            raise FleetError(f"{host.name}: processes survive SIGKILL in its cgroup")
        cgroups.remove(host.name)
        host.leader_pid = None
        host.nspawn_pid = None
        host.frozen = False


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no console log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def destroy(name: str) -> None:
    """Unmount and delete a stopped host's overlay."""
    base = config.host_dir(name)
    unmount_all(base)
    if mounts_under(base):
        raise FleetError(f"{base} is still mounted; not deleting it")
    shutil.rmtree(base, ignore_errors=True)


def unmount_all(path: Path) -> None:
    for point in mounts_under(path):
        if run(["umount", str(point)], check=False).returncode != 0:
            # Busy (e.g. a shell still inside): detach now, the kernel frees it later.
            run(["umount", "--lazy", str(point)], check=False)


def strays(tracked: set[int | None]) -> list[Host]:
    """Running hosts of ours that the state file does not know about.

    Found by their nspawn command line pointing into HOSTS_DIR, so a lab left by
    another checkout or a half-failed `up` is still torn down completely.
    """
    prefix = f"--directory={config.HOSTS_DIR}/"
    found = []
    for pid in all_pids():
        if pid in tracked:
            continue
        argv = cmdline(pid)
        is_nspawn = bool(argv) and os.path.basename(argv[0]) == "systemd-nspawn"
        if not is_nspawn or not any(arg.startswith(prefix) for arg in argv):
            continue
        name = next((a.split("=", 1)[1] for a in argv if a.startswith("--machine=")), "")
        if name:
            found.append(Host(name, address="", nspawn_pid=pid, leader_pid=leader_of(pid)))
    return found
