"""Uninstall: stop and remove the service, releases and our files; keep models unless purged."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import StringCommand, operation

from ..render import render
from ..settings import OllamaSettings
from . import firewall, proxy
from .deploy import gather_state
from .facts import LinuxHostState
from .layout import STATE_DIR, Layout


@operation()
def remove_ollama(settings: OllamaSettings, current: LinuxHostState, purge: bool):
    layout = Layout(settings)
    installed = (
        current.versions or current.current or current.active in ("active", "failed")
        or any(sha != "absent" for sha in current.files.values())
        or current.owner(STATE_DIR) is not None
    )
    if not installed and not (purge and (current.owner(settings.models_dir) or current.user)):
        host.noop("Ollama is not installed")
        return
    yield StringCommand(render(
        "linux/uninstall.sh.j2", unit=layout.unit, unit_path=layout.unit_path,
        dropin_path=layout.dropin_path, secret_path=layout.secret_path,
        bin_link=settings.bin_link, install_dir=settings.install_dir, state_dir=STATE_DIR,
        models_dir=settings.models_dir, user=settings.service_user,
        group=settings.service_group, home=settings.service_home, purge=purge,
    ))


def uninstall_linux(settings: OllamaSettings, purge: bool = False):
    """The Linux body of `ollama_uninstall()`, for a validated host: our nginx server first (it
    fronts Ollama), then Ollama, then our firewall table (only once nothing listens behind it).
    nginx and nftables themselves stay installed; other sites and tables are not touched."""
    current = gather_state(settings, Layout(settings))
    nothing_around = settings.model_copy(update={"allow_networks": [], "auth_proxy": None})
    if proxy.present(current):
        proxy.remove_auth_proxy(nothing_around, current, name="Remove auth proxy")
    remove_ollama(settings, current, purge, name="Remove Ollama")
    if firewall.present(current):
        firewall.remove_firewall(nothing_around, current, name="Remove firewall")
