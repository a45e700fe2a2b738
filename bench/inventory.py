"""Benchmark inventory: the lab hosts named in the JSON file in OLLAMA_FLEET_BENCH_HOSTDATA
({"lab11": {...data...}, ...}), each with that data. Hosts missing from the file are left out,
so a benchmark run touches exactly the hosts it names (the same approach as the e2e tests)."""

import json
import os
from pathlib import Path

_state = json.loads((Path(__file__).resolve().parents[1] / "lab" / "state.json").read_text())
_wanted = json.loads(Path(os.environ["OLLAMA_FLEET_BENCH_HOSTDATA"]).read_text())

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
