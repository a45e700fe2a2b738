"""Fixtures for the Ollama stand-in tests (defined in standin_helpers)."""

from standin_helpers import ollama_bin, registry, release_dir

__all__ = ["ollama_bin", "registry", "release_dir"]
