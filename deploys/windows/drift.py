"""Compare a Windows host's reported state with what its settings declare (for status)."""

from __future__ import annotations

from ..host_status import HostStatus
from ..model_names import ModelNames
from ..model_plan import ModelPlan
from ..settings import OllamaSettings
from . import desired
from .facts import WindowsState


def windows_status(
    name: str, settings: OllamaSettings, plan: ModelPlan, state: WindowsState
) -> HostStatus:
    where = desired.layout(settings)
    running = state.get("api_version")
    versions = list(state.get("versions") or [])
    task = state.get("task") or {}
    status = HostStatus(
        host=name,
        installed=settings.version if settings.version in versions else (
            max(versions) if versions else None),
        running=running,
        active="active" if running else "inactive",
        enabled="enabled" if (task.get("boot") or not where.server) else "disabled",
        address=settings.bind.client_url if running else "",
    )
    if status.installed != settings.version:
        status.drift.append(f"version {status.installed or 'none'} (declared {settings.version})")
    change = desired.environment_change(
        state, desired.desired_environment(settings, where), settings.secret_environment())
    status.drift += [f"machine variable {var} differs" for var in sorted(change.set)]
    status.drift += [f"machine variable {var} should be removed" for var in change.remove]
    present = ModelNames(state.get("models") or [])  # compared as Ollama compares names
    status.models_present = len(present)
    status.models_missing = sorted(desired.missing_pulls(state, plan)
                                   + [m.name for m in plan.custom if m.name not in present])
    status.models_extra = desired.undeclared_models(state, plan)
    return status
