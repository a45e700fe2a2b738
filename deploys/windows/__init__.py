"""Ollama on Windows hosts over OpenSSH and PowerShell (server and desktop modes)."""

from .deploy import deploy_windows

__all__ = ["deploy_windows"]
