"""Model operations on Linux: pull what is missing, create on change, prune only when asked."""

from __future__ import annotations

import hashlib
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..model_names import (
    ModelNameError,
    ModelNames,
    matching,
    model_key,
    parse_model_name,
    recorded_digest,
)
from ..model_plan import ModelPlan
from ..render import render, sh_command
from ..settings import OllamaSettings
from .facts import LinuxHostState
from .layout import STATE_DIR
from .probe import Probe

MODELFILES_DIR = f"{STATE_DIR}/modelfiles"


def present_models(current: LinuxHostState) -> ModelNames:
    """The models on disk (what `ollama list` shows), spelled as their manifest paths are.

    Compared by Ollama's identity (:func:`model_key`): ``"Qwen2.5:0.5B" in present`` is true
    for a host holding ``qwen2.5:0.5b``.
    """
    names = []
    for relpath in sorted(current.manifests):
        parts = relpath.split("/")
        if len(parts) != 4:
            continue
        registry, namespace, model, tag = parts
        try:
            names.append(parse_model_name(f"{registry}/{namespace}/{model}:{tag}").short)
        except ModelNameError:
            continue
    return ModelNames(names)


def record_name(model: str) -> str:
    """A file name for a model's create record that no model name can collide on.

    Named after the model's identity, so every spelling of one model shares one record. For
    names without capitals this is the name the records always had (a converged host keeps
    its records); records written under a capitalised spelling are still read (the fact reads
    every record) and are replaced by this one at the model's next create.
    """
    return legacy_record_name(parse_model_name(model).short.lower())


def legacy_record_name(model: str) -> str:
    """The record file name earlier versions used: derived from the name as spelled."""
    readable = model.replace("/", "_").replace(":", "_")
    return f"{readable}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def superseded_records(current: LinuxHostState, model: str) -> list[str]:
    """Record files of ``model`` under another file name (an earlier spelling) than the one
    :func:`record_name` gives it now: removed when the model is created or pruned."""
    keep = record_name(model)
    return sorted({f"{MODELFILES_DIR}/{legacy_record_name(name)}.{suffix}"
                   for name in matching(current.records, model)
                   if legacy_record_name(name) != keep
                   for suffix in ("created", "Modelfile")})


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
    provided_models = ModelNames(provided)
    pulls = [m for m in plan.pulls if m not in present and m not in provided_models]
    creates = [m for m in plan.custom
               if recorded_digest(current.records, m.name) != m.digest or m.name not in present]
    if not pulls and not creates:
        host.noop("declared models are present and custom models are current")
        return
    leftovers = [path for m in creates for path in superseded_records(current, m.name)]
    if leftovers:  # records of another spelling would contradict the one written now
        yield StringCommand(sh_command("rm", "-f", "--", *leftovers))
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
    records = []
    for model in extra:
        records.append(f"{MODELFILES_DIR}/{record_name(model)}.*")
        records += superseded_records(current, model)
    yield StringCommand(render("linux/prune.sh.j2", models=extra, records=records,
                               **_cli(settings)))


def undeclared_models(plan: ModelPlan, current: LinuxHostState) -> list[str]:
    """Present models that are none of the declared ones, custom models or their bases, by
    Ollama's identity: a declared model is never a candidate, however either side spells it."""
    declared = {model_key(name) for name in plan.declared}
    return sorted(name for name in present_models(current) if model_key(name) not in declared)


def models_expected_after_restart(plan: ModelPlan, current: LinuxHostState) -> frozenset[str]:
    """Declared models the host has, spelled as the host lists them (/api/tags shows the
    spelling of the manifest on disk, which may differ from the declared one in case)."""
    declared = plan.declared
    return frozenset(name for name in present_models(current) if name in declared)


def _parse_probe(state: LinuxHostState, key: str, line: str) -> None:
    if key == "manifests":  # sha256sum run in manifests/: "<digest>  ./<relpath>"
        digest, _, path = line.partition("  ")
        state.manifests[path.removeprefix("./")] = digest
    elif key == "records":  # create records: "<model> <digest>"
        name, _, digest = line.partition(" ")
        state.records[name] = digest
    elif key == "blob":  # "sha256-<hex> <size>"
        name, _, size = line.partition(" ")
        state.blobs[name] = int(size)


# Manifests, blobs (when seeding) and create records, for the state fact.
PROBE = Probe("models", "linux/probe_models.sh.j2", keys=("blob",),
              sections=("manifests", "records"), parse=_parse_probe)
