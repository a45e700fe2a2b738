"""pyinfra inventory of the lab fleet (see lab/README.md).

    pyinfra inventory/lab.py deploys/....py

Reads lab/state.json, written by `lab/fleet up`. Set OLLAMA_FLEET_LAB_HOSTS to a
comma-separated list of host names (e.g. lab01,lab03) to target only those.
"""

import json
import os
from pathlib import Path

from pyinfra.api.exceptions import InventoryError

_STATE_FILE = Path(__file__).resolve().parent.parent / "lab" / "state.json"


def _load_state() -> dict:
    try:
        return json.loads(_STATE_FILE.read_text())
    except FileNotFoundError:
        message = f"the lab is not up ({_STATE_FILE} missing): run lab/fleet up"
        raise InventoryError(message) from None


def _host_data(host: dict) -> dict:
    return {
        "ssh_hostname": host["address"],
        "ssh_user": host.get("ssh_user", "root"),
        "ssh_key": host["ssh_key"],
        # Every `lab/fleet up` gives the hosts fresh host keys: do not pin or record them.
        "ssh_strict_host_key_checking": "off",
        "ssh_known_hosts_file": "/dev/null",
        "ssh_allow_agent": False,
        "ssh_look_for_keys": False,
    }


def _select(hosts: list[dict]) -> list[dict]:
    raw = os.environ.get("OLLAMA_FLEET_LAB_HOSTS", "")
    wanted = [name.strip() for name in raw.split(",") if name.strip()]
    if not wanted:
        return hosts
    known = {h["name"] for h in hosts}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise InventoryError(
            f"OLLAMA_FLEET_LAB_HOSTS names unknown lab hosts {unknown}; the lab has {sorted(known)}"
        )
    return [h for h in hosts if h["name"] in wanted]


_state = _load_state()

lab = [(h["name"], _host_data(h)) for h in _select(_state["hosts"])]
