"""Host firewall and authenticating proxy: the hooks the Linux deploy calls.

The firewall goes up before Ollama (re)binds, so a newly exposed address is never reachable
from outside the allowlist, and comes down only after Ollama is back on its new address. The
proxy needs Ollama running behind it, so it follows activation.
"""

from __future__ import annotations

from ..settings import OllamaSettings
from . import firewall, proxy
from .facts import LinuxHostState


def state_probes(settings: OllamaSettings) -> tuple[tuple[str, str], ...]:
    """(name, path) pairs whose sha256 the state fact reports under `security`.

    Always the same, whatever the settings: what is no longer wanted must be seen to be removed.
    """
    return firewall.PROBES + proxy.PROBES


def before_activation(settings: OllamaSettings, current: LinuxHostState) -> None:
    """Operations that must run before Ollama (re)binds: the firewall."""
    firewall.firewall(settings, current, name="Firewall (nftables allowlist)")


def after_activation(settings: OllamaSettings, current: LinuxHostState) -> None:
    """Operations that need Ollama running: the auth proxy; and removals of what is unwanted."""
    proxy.auth_proxy(settings, current, name="Auth proxy (nginx)")
    proxy.remove_auth_proxy(settings, current, name="Remove auth proxy if unwanted")
    firewall.remove_firewall(settings, current, name="Remove firewall if unwanted")
