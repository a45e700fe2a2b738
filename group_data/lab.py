"""The local lab fleet (inventory/lab.py): releases and model pulls come from the lab's own
artifact server on the bridge, as an air-gapped fleet's would come from an internal mirror."""

_MIRROR = "http://10.231.0.1:8080"

ollama_archive_url = _MIRROR + "/files/releases/download/v{version}/{filename}"
ollama_checksums_url = _MIRROR + "/files/releases/download/v{version}/sha256sum.txt"
# The stand-in release fetches pulls from this registry (upstream uses registry.ollama.ai).
ollama_extra_env = {"OLLAMA_STANDIN_REGISTRY": _MIRROR}
ollama_models = ["qwen2.5:0.5b"]
ollama_custom_models = [
    {
        "name": "qwen2.5:0.5b-16k",
        "from": "qwen2.5:0.5b",
        "parameters": {"num_ctx": 16384, "temperature": 0.2},
        "system": "You are the lab's terse assistant.",
    }
]
ollama_rollout_batch = "100%"
