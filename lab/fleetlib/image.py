"""The cached base image every host boots from (read-only lowerdir of its overlay).

The cache key is a hash of this file plus the suite, so editing the recipe
below rebuilds the image while unrelated changes keep the minute-long
debootstrap cached.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from pathlib import Path

from . import config
from .proc import run

MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "systemd,systemd-sysv,dbus,openssh-server,python3,ca-certificates,iproute2,procps,zstd,curl"
)

SSHD_CONFIG = """\
# Lab hosts: root by key only, one host key generated per host at creation.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
"""

APT_PROXY = f'Acquire::http::Proxy "{config.PROXY_URL}";\n'

# The hosts have no DNS on purpose: apt goes through the proxy, which resolves.
# With no nameserver line glibc tries 127.0.0.1 and fails at once instead of
# hanging on an unreachable resolver.
RESOLV_CONF = "# lab host: no DNS; apt and curl use the proxy at " + config.PROXY_URL + "\n"

# Units that cannot work or only slow boot down in a container without devices.
MASKED_UNITS = (
    "systemd-networkd-wait-online.service",
    "e2scrub_reap.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
)


def image_path(suite: str) -> Path:
    digest = hashlib.sha256(Path(__file__).read_bytes() + suite.encode()).hexdigest()[:12]
    return config.CACHE_DIR / f"base-{suite}-{digest}"


def ensure(suite: str) -> Path:
    """Return the base image for suite, building it first if the cache lacks it."""
    target = image_path(suite)
    if target.is_dir():
        return target
    config.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # The lock makes a concurrent `up` wait instead of debootstrapping twice.
    with open(config.CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir():
            return target
        _build(suite, target)
    return target


def _build(suite: str, target: Path) -> None:
    # Leftovers of interrupted builds are only ever in .tmp-* dirs; the final
    # name appears by an atomic rename, so a half-built image is never used.
    for stale in config.CACHE_DIR.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = config.CACHE_DIR / f".tmp-{target.name}"
    print(f"building base image {target.name} (debootstrap {suite}, about a minute)...")
    started = time.monotonic()
    run(
        ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", suite, str(tmp), MIRROR],
        timeout=1800,
    )
    _customize(tmp)
    os.rename(tmp, target)
    _prune_old_images(suite, keep=target)
    print(f"base image built in {time.monotonic() - started:.0f}s: {target}")


def _customize(root: Path) -> None:
    etc = root / "etc"
    (etc / "ssh/sshd_config.d/10-lab.conf").write_text(SSHD_CONFIG)
    # Every host gets its own key; a shared one from the image would make all
    # hosts look like the same machine to SSH clients.
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    (etc / "apt/apt.conf.d/01lab-proxy").write_text(APT_PROXY)
    (etc / "resolv.conf").unlink(missing_ok=True)
    (etc / "resolv.conf").write_text(RESOLV_CONF)
    # Written per host so each machine-id is distinct and stable across reboots.
    (etc / "machine-id").write_text("")
    (root / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
    run(["systemctl", f"--root={root}", "enable", "systemd-networkd.service", "ssh.service"])
    run(["systemctl", f"--root={root}", "mask", *MASKED_UNITS])
    run(["chroot", str(root), "apt-get", "clean"])


def _prune_old_images(suite: str, keep: Path) -> None:
    """Drop images of older recipes for this suite unless a running host still uses one."""
    mounts = Path("/proc/self/mountinfo").read_text()
    for old in config.CACHE_DIR.glob(f"base-{suite}-*"):
        if old != keep and str(old) not in mounts:
            shutil.rmtree(old, ignore_errors=True)
