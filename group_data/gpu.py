"""GPU hosts (inventory/example.py): bigger contexts, more parallelism, models kept warm."""

ollama_num_parallel = 4
ollama_max_loaded_models = 2
ollama_keep_alive = "30m"
ollama_context_length = 16384
ollama_flash_attention = True
ollama_kv_cache_type = "q8_0"
ollama_models_dir = "/srv/ollama/models"
ollama_models = ["qwen2.5:7b", "llama3.1:8b"]
ollama_custom_models = [
    {"name": "qwen2.5:7b-32k", "from": "qwen2.5:7b", "parameters": {"num_ctx": 32768}},
    {"name": "support-bot", "modelfile": "templates/modelfiles/support-bot.Modelfile.j2"},
    {"name": "site-assistant", "modelfile": "templates/modelfiles/chatml-assistant.Modelfile.j2"},
]
# The API is reached by the application subnet only, enforced by the host firewall.
ollama_host = "0.0.0.0"
ollama_allow_networks = ["10.20.0.0/16"]
# NVIDIA servers: a host without the GPU or its driver is reported (strict: fails), not left to
# serve on the CPU. See docs/gpu.md.
ollama_gpu = "nvidia"
