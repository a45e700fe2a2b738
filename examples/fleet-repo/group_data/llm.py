"""The LLM hosts' Ollama settings: every `ollama_*` key is a setting (`ollama-fleet settings`
lists them all). They live here, in the inventory's data, rather than as keyword arguments in
deploy.py, so that `ollama-fleet check` and `ollama-fleet status` (which read the inventory and
never run deploy.py) see exactly what the deploy applies."""

# Pin the release: an upgrade is a one-line change, rolled out in batches.
ollama_version = "0.13.5"
ollama_rollout_batch = "50%"

ollama_models = ["qwen2.5:0.5b"]
ollama_custom_models = [
    # A Modelfile template of this repository, rendered with each host's data.
    {"name": "helpdesk", "modelfile": "modelfiles/helpdesk.Modelfile.j2"},
]

ollama_num_parallel = 2
ollama_keep_alive = "30m"
ollama_context_length = 8192

# Variables of the Modelfile template (any data key is one).
helpdesk_temperature = 0.3
