"""CPU-only hosts (inventory/example.py): small models, one request at a time."""

ollama_num_parallel = 1
ollama_max_loaded_models = 1
ollama_keep_alive = "5m"
ollama_models = ["qwen2.5:0.5b"]
# No GPU archives, no GPU checks: these boxes serve on the CPU on purpose.
ollama_gpu = "none"
