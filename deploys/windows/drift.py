"""Compare a Windows host's reported state with what its settings declare (for status)."""

from __future__ import annotations

from ..host_status import HostStatus
from ..model_names import ModelNames
from ..model_plan import ModelPlan
from ..settings import OllamaSettings
from . import desired
from .facts import WindowsState, version_key


def windows_status(
    name: str, settings: OllamaSettings, plan: ModelPlan, state: WindowsState
) -> HostStatus:
    where = desired.located(desired.layout(settings), state)
    running = state.get("api_version")
    versions = list(state.get("versions") or [])
    task = state.get("task") or {}
    if where.server:
        installed = settings.version if settings.version in versions else (
            max(versions, key=version_key) if versions else None)
    else:  # the desktop installer's own record of what it installed
        installed = (state.get("desktop") or {}).get("version")
    status = HostStatus(
        host=name,
        installed=installed,
        running=running,
        active="active" if running else "inactive",
        enabled="enabled" if (task.get("boot") or not where.server) else "disabled",
        address=settings.bind.client_url if running else "",
    )
    if status.installed != settings.version:
        status.drift.append(f"version {status.installed or 'none'} (declared {settings.version})")
    if where.server:
        if state.get("env_file_sha256") != desired.sha256(
                desired.server_env_bytes(settings, state)):
            status.drift.append("server environment differs")
        if not desired.launcher_matches(state, where):
            status.drift.append("server launcher differs")
        if not desired.task_matches(state, where):
            status.drift.append("server task differs")
    else:
        change = desired.environment_change(
            state, desired.desired_environment(settings, where), settings.secret_environment())
        status.drift += [f"user variable {var} differs" for var in sorted(change.set)]
        status.drift += [f"user variable {var} should be removed" for var in change.remove]
    status.drift += [f"machine-wide variable {var} left by an earlier version"
                     for var in state.get("legacy_machine_env") or []]
    present = ModelNames(state.get("models") or [])  # compared as Ollama compares names
    status.models_present = len(present)
    status.models_missing = sorted(desired.missing_pulls(state, plan)
                                   + [m.name for m in plan.custom if m.name not in present])
    status.models_extra = desired.undeclared_models(state, plan)
    return status
