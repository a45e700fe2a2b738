"""Uninstall on Windows: tasks, server and runners, firewall rule, variables, installs, state
folder and registry key; the desktop installer's own uninstaller in desktop mode; the models
only with ``purge``."""

from __future__ import annotations

from typing import Any

from pyinfra import host
from pyinfra.api import StringCommand, operation

from ..settings import OllamaSettings
from . import desired, paths
from .deploy import usable_state
from .operations import MAKE_SCRIPTS_DIR, wait_ms
from .powershell import render, run_script


def uninstall_script(settings: OllamaSettings, state: dict[str, Any], purge: bool) -> str:
    where = desired.layout(settings)
    desktop = state.get("desktop") or {}
    return render(
        "uninstall.ps1.j2", server=where.server, task_path=paths.TASK_PATH,
        install_dir=where.install_dir, desktop_location=desktop.get("location") or "",
        desktop_uninstaller=desktop.get("uninstaller") or "",
        wait_ms=wait_ms(settings.command_timeout), firewall_rule=paths.FIREWALL_RULE,
        user_registry_key=paths.USER_REGISTRY_KEY, registry_key=paths.REGISTRY_KEY,
        purge=purge, models_dir=where.models_dir, state_dir=paths.STATE_DIR)


def _installed(state: dict[str, Any], where: desired.WindowsLayout, purge: bool) -> bool:
    return bool(
        state["versions"] or state["task"] or state["desktop"] or state["firewall"]
        or state["managed_env"] or state["legacy_machine_env"] or state["state_acl"]
        or (purge and state["dirs"]["models"]))


@operation()
def remove_ollama(settings: OllamaSettings, state: dict[str, Any], purge: bool):
    where = desired.layout(settings)
    if not _installed(state, where, purge):
        host.noop("Ollama is not installed")
        return
    if not state["dirs"]["scripts"]:
        yield StringCommand(MAKE_SCRIPTS_DIR)
    yield from run_script("uninstall", uninstall_script(settings, state, purge))


def uninstall_windows(settings: OllamaSettings, purge: bool = False) -> None:
    """The Windows body of `ollama_uninstall()`, for a validated host."""
    usable = usable_state(settings)
    if usable is None:
        return
    state = usable[1]
    remove_ollama(settings, state, purge, name="Uninstall Ollama (Windows)",
                  _timeout=settings.command_timeout)
