"""ollama-fleet entry point: `pyinfra inventory/<fleet>.py deploy.py`.

Every host's settings and Modelfiles are validated before any host is touched; then each host
converges to its declared state (install, configure, restart only on change, models). To add
Ollama to a deploy of your own, call `ollama()` from it (docs/embedding.md).
"""

from ollama_fleet import ollama

ollama()
