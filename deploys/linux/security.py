"""Host firewall and authenticating proxy (filled in by the security work)."""

from __future__ import annotations

from ..settings import OllamaSettings


def state_probes(settings: OllamaSettings) -> tuple[tuple[str, str], ...]:
    """(name, path) pairs whose sha256 the state fact reports under `security`."""
    return ()


def before_activation(settings: OllamaSettings, current) -> None:  # noqa: ANN001
    """Operations that must run before Ollama (re)binds: the firewall."""


def after_activation(settings: OllamaSettings, current) -> None:  # noqa: ANN001
    """Operations that need Ollama running: the auth proxy."""
