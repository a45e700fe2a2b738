"""Test inventory: the lab's hosts, with per-host data from the JSON file in
OLLAMA_FLEET_TEST_HOSTDATA ({"lab01": {"ollama_num_parallel": 2}, ...}). Hosts missing from
that file are left out of the run, so a test touches exactly the hosts it names."""

import json
import os
from pathlib import Path

_state = json.loads((Path(__file__).resolve().parents[2] / "lab" / "state.json").read_text())
_wanted = json.loads(Path(os.environ["OLLAMA_FLEET_TEST_HOSTDATA"]).read_text())

lab = [
    (
        entry["name"],
        {
            "ssh_hostname": entry["address"],
            "ssh_user": entry["ssh_user"],
            "ssh_key": entry["ssh_key"],
            "ssh_strict_host_key_checking": "off",
            "ssh_known_hosts_file": "/dev/null",
            **_wanted[entry["name"]],
        },
    )
    for entry in _state["hosts"]
    if entry["name"] in _wanted
]
