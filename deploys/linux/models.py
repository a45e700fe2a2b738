"""Model operations on Linux: pull what is missing, create on change, prune only when asked."""

from __future__ import annotations

import hashlib
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..model_names import ModelNameError, parse_model_name
from ..model_plan import ModelPlan
from ..render import render
from ..settings import OllamaSettings
from .facts import LinuxHostState
from .layout import STATE_DIR

MODELFILES_DIR = f"{STATE_DIR}/modelfiles"


def present_models(current: LinuxHostState) -> set[str]:
    """Model names from the manifests on disk (what `ollama list` would show)."""
    names = set()
    for relpath in current.manifests:
        parts = relpath.split("/")
        if len(parts) != 4:
            continue
        registry, namespace, model, tag = parts
        try:
            names.add(parse_model_name(f"{registry}/{namespace}/{model}:{tag}").short)
        except ModelNameError:
            continue
    return names


def record_name(model: str) -> str:
    """A file name for a model's create record that no model name can collide on."""
    readable = model.replace("/", "_").replace(":", "_")
    return f"{readable}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def _cli(settings: OllamaSettings) -> dict[str, str]:
    return {
        "ollama": f"{settings.install_dir}/current/bin/ollama",
        "client_host": settings.bind.client_env,
        "api_url": settings.bind.client_url,
        "wait": str(settings.health_timeout),
    }


@operation()
def models(settings: OllamaSettings, plan: ModelPlan, current: LinuxHostState,
           provided: frozenset[str] = frozenset()):
    """Pull each declared model the host lacks (bounded retries, a timeout per pull), then
    `ollama create` each custom model whose rendered Modelfile changed since its last create."""
    present = present_models(current)
    pulls = [m for m in plan.pulls if m not in present and m not in provided]
    creates = [m for m in plan.custom
               if current.records.get(m.name) != m.digest or m.name not in present]
    if not pulls and not creates:
        host.noop("declared models are present and custom models are current")
        return
    entries = []
    for model in creates:
        path = f"{MODELFILES_DIR}/{record_name(model.name)}.Modelfile"
        yield FileUploadCommand(BytesIO(model.modelfile.encode()), path)
        entries.append({"name": model.name, "modelfile": path, "digest": model.digest,
                        "record": f"{MODELFILES_DIR}/{record_name(model.name)}.created"})
    yield StringCommand(render(
        "linux/models.sh.j2", pulls=pulls, creates=entries, retries=settings.pull_retries,
        timeout=settings.pull_timeout, **_cli(settings),
    ))


@operation()
def prune_models(settings: OllamaSettings, plan: ModelPlan, current: LinuxHostState):
    """Remove models that are present but not declared: exact names, never a custom model's base."""
    extra = undeclared_models(plan, current)
    if not plan.prune or not extra:
        host.noop("nothing to prune")
        return
    yield StringCommand(render("linux/prune.sh.j2", models=extra, records=[
        f"{MODELFILES_DIR}/{record_name(m)}.*" for m in extra], **_cli(settings)))


def undeclared_models(plan: ModelPlan, current: LinuxHostState) -> list[str]:
    return sorted(present_models(current) - plan.declared)
