"""A realistic fleet: GPU inference servers, CPU edge boxes and Windows workstations.

    pyinfra inventory/example.py deploy.py          # converge
    ollama-fleet check inventory/example.py         # validate, no connection
    ollama-fleet status inventory/example.py        # one table, non-zero on drift

Group settings live in group_data/<group>.py; per-host data overrides them.
"""

gpu = [
    ("gpu-01.dc1.example.com", {"ssh_user": "deploy", "_sudo": True,
                                "ollama_cuda_visible_devices": "0,1"}),
    ("gpu-02.dc1.example.com", {"ssh_user": "deploy", "_sudo": True}),
]

cpu = [
    ("edge-01.example.com", {"ssh_user": "deploy", "_sudo": True}),
    ("edge-02.example.com", {"ssh_user": "deploy", "_sudo": True,
                             "ollama_https_proxy": "http://proxy.example.com:3128"}),
]

windows = [
    ("ws-01.example.com", {"ssh_user": "Administrator"}),
]
