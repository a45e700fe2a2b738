"""ollama-fleet: declarative Ollama deployment with pyinfra."""
