"""Fleet-wide defaults (every host in every inventory). Group and host data override these."""

# Pin the release; upgrades are a one-line change here, rolled out in batches.
ollama_version = "0.13.5"

# Restart at most a quarter of the fleet at once and stop at the first failed host.
ollama_rollout_batch = "25%"
ollama_rollout_max_failures = 0
