"""The fleet: two web servers and two LLM hosts, reached over SSH as `deploy` with sudo.

    pyinfra inventory.py deploy.py          # converge both kinds of host
    ollama-fleet check inventory.py         # validate the LLM hosts' settings, no connection
    ollama-fleet status inventory.py        # the LLM hosts' state; exit 1 on drift

Each group's data is in group_data/<group>.py; data given here, per host, wins over it.
"""

web = [
    ("web-01.example.com", {"ssh_user": "deploy", "_sudo": True}),
    ("web-02.example.com", {"ssh_user": "deploy", "_sudo": True}),
]

llm = [
    ("llm-01.example.com", {"ssh_user": "deploy", "_sudo": True}),
    # One host with more memory keeps two models loaded.
    ("llm-02.example.com", {"ssh_user": "deploy", "_sudo": True,
                            "ollama_max_loaded_models": 2}),
]
