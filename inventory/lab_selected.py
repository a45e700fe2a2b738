"""The lab hosts named in a JSON file, each with its own data: what tests and benchmarks use.

    OLLAMA_FLEET_LAB_HOSTDATA=hosts.json pyinfra -y inventory/lab_selected.py deploy.py

hosts.json maps host names to pyinfra data, e.g. {"lab01": {"ollama_num_parallel": 2}}. Hosts
not named are left out, so a run touches exactly the hosts it names. The hosts are in the `lab`
group, so group_data/lab.py applies under their own data.
"""

import json
import os
from pathlib import Path

_state = json.loads((Path(__file__).resolve().parents[1] / "lab" / "state.json").read_text())
_wanted = json.loads(Path(os.environ["OLLAMA_FLEET_LAB_HOSTDATA"]).read_text())

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
