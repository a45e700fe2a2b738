"""Ollama on systemd hosts."""
