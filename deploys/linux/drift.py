"""Compare a Linux host's reported state with what its settings declare."""

from __future__ import annotations

from ..host_status import HostStatus
from ..model_names import recorded_digest
from ..model_plan import ModelPlan
from ..settings import OllamaSettings
from . import gpu
from .facts import LinuxHostState
from .layout import Layout
from .models import present_models, undeclared_models

__all__ = ["HostStatus", "host_status"]  # HostStatus lives in ..host_status (both platforms)


def host_status(
    name: str, settings: OllamaSettings, plan: ModelPlan, current: LinuxHostState
) -> HostStatus:
    layout = Layout(settings)
    files = layout.managed_files()
    gpus = gpu.host_plan(settings, current)
    found = gpu.facts_of(current)
    status = HostStatus(
        host=name, installed=current.current, running=current.api_version,
        active=current.active, enabled=current.enabled,
        address=settings.bind.client_url if current.api_version else "",
        gpu=gpus.summary, compute="; ".join(str(c) for c in found.compute or ()),
        compute_problem=gpu.compute_problem(gpus, found) if current.api_version else None,
    )
    if current.current != settings.version:
        status.drift.append(f"version {current.current or 'none'} (declared {settings.version})")
    for managed in files:
        if current.files.get(managed.key) != managed.sha256:
            status.drift.append(f"{managed.dest} differs from the declared {managed.key}")
    digest = layout.applied_digest(files, gpus.addons)
    stale = current.applied is not None and current.applied != digest
    if stale and not status.drift:
        status.drift.append("files are current but the service was not restarted into them")
    installed = current.found.get("release_addons", {}).get(settings.version)
    if current.current == settings.version and installed is not None \
            and installed != tuple(sorted(gpus.addons)):
        status.drift.append(f"GPU archives {','.join(installed) or 'none'} installed "
                            f"(needed: {','.join(gpus.addons) or 'none'})")
    if current.enabled != "enabled":
        status.drift.append(f"service {current.enabled}, not enabled")
    present = present_models(current)
    status.models_present = len(present)
    # Names compare as Ollama compares them: `Qwen2.5:0.5B` declared is `qwen2.5:0.5b` present.
    status.models_missing = sorted(name for name in plan.wanted if name not in present)
    status.models_extra = undeclared_models(plan, current)
    for model in plan.custom:
        if model.name in present and recorded_digest(current.records, model.name) != model.digest:
            status.drift.append(f"custom model {model.name} was not created from its "
                                "declared Modelfile")
    return status
