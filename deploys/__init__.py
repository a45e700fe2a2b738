"""ollama-fleet: declarative Ollama deployment with pyinfra.

Embed it in any pyinfra deploy (see docs/embedding.md)::

    from ollama_fleet import ollama

    ollama(version="0.13.5", models=["qwen2.5:7b"])
"""

from .api import ollama, ollama_uninstall
from .run import RunContext, summary_lines
from .settings import OllamaSettings, SettingsError

__all__ = ["OllamaSettings", "RunContext", "SettingsError", "ollama", "ollama_uninstall",
           "summary_lines"]
