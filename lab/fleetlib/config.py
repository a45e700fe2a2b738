"""Fixed names, addresses and paths of the lab.

Everything that other tools rely on (bridge, subnet, host names and addresses,
state file location) is defined here once.
"""

from __future__ import annotations

import os
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent.parent
STATE_FILE = LAB_DIR / "state.json"
# Kept across `down`: the SSH key (so known configs keep working) and artifacts.
STATE_DIR = LAB_DIR / ".state"
SSH_KEY = STATE_DIR / "id_ed25519"
ARTIFACTS_DIR = STATE_DIR / "artifacts"
ARTIFACTS_SERVER = LAB_DIR / "standin" / "artifacts.py"
# Removed by `down`: console logs, proxy config and logs.
RUNTIME_DIR = STATE_DIR / "run"

# Overlays live outside the work tree: the bridge and addresses are machine-wide
# anyway, and a fixed location lets `down` from any checkout clean up leftovers.
HOSTS_DIR = Path("/var/lib/ollama-fleet-lab/hosts")
CACHE_DIR = Path(os.environ.get("OLLAMA_FLEET_LAB_CACHE", "/var/cache/ollama-fleet-lab"))

# One lab per machine, so one changing command at a time per machine.
LOCK_FILE = Path("/run/lock/ollama-fleet-lab.lock")
LOCK_TIMEOUT = 900.0  # long enough for a base image build by another `up`

SUITES = ("bookworm", "trixie")
DEFAULT_SUITE = "bookworm"
DEFAULT_HOSTS = 3
# Addresses are 10.231.0.(10+i); keep clear of the broadcast address (.255). 240 leaves room
# for the benchmark's 200 hosts above the tests' lab01..lab10.
MAX_HOSTS = 240

BRIDGE = "olfbr0"
SUBNET = "10.231.0.0/24"
PREFIX_LEN = 24
GATEWAY = "10.231.0.1"
PROXY_PORT = 8888
ARTIFACTS_PORT = 8080
PROXY_URL = f"http://{GATEWAY}:{PROXY_PORT}"
ARTIFACTS_URL = f"http://{GATEWAY}:{ARTIFACTS_PORT}"
NFT_TABLE = "ollama_fleet_lab"

# Bounds for every wait; `up` scales the SSH wait a little with the host count.
BOOT_TIMEOUT = 120.0
SHUTDOWN_TIMEOUT = 20.0
SERVICE_TIMEOUT = 10.0


def host_name(index: int) -> str:
    return f"lab{index:02d}"


def host_address(index: int) -> str:
    return f"10.231.0.{10 + index}"


def host_index(name: str) -> int:
    """Inverse of host_name; raises ValueError for names that are not lab hosts."""
    if not name.startswith("lab") or not name[3:].isdigit():
        raise ValueError(f"not a lab host name: {name!r}")
    return int(name[3:])


def host_dir(name: str) -> Path:
    return HOSTS_DIR / name


def host_veth(name: str) -> str:
    # systemd-nspawn names the host side of --network-bridge veths "vb-<machine>".
    return f"vb-{name}"
