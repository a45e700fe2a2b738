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


# A feature neither wanted nor present on a host registers no operations there: every
# registered operation costs the controller time per host, even as a no-op.


def before_activation(settings: OllamaSettings, current: LinuxHostState) -> None:
    """Operations that must run before Ollama (re)binds: the firewall."""
    if firewall.wanted(settings):
        firewall.firewall(settings, current, name="Firewall (nftables allowlist)")


def after_activation(settings: OllamaSettings, current: LinuxHostState) -> None:
    """Operations that need Ollama running: the auth proxy; and removals of what is unwanted."""
    if settings.auth_proxy is not None:
        proxy.auth_proxy(settings, current, name="Auth proxy (nginx)")
    elif proxy.present(current):
        proxy.remove_auth_proxy(settings, current, name="Remove auth proxy")
    if not firewall.wanted(settings) and firewall.present(current):
        firewall.remove_firewall(settings, current, name="Remove firewall")
