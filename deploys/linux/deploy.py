"""The Linux deploy: one fact, then operations that each act only on a difference."""

from __future__ import annotations

from pathlib import Path

from pyinfra import host, logger

from ..model_plan import ModelPlan
from ..model_source import models_in_store
from ..run import note_host_warning, record_activation
from ..settings import OllamaSettings
from . import gpu, models, operations, registry, security, seed
from .diff import log_config_diff
from .facts import LinuxOllamaState
from .layout import STATE_DIR, Layout, ManagedFile
from .release import release_sources


def gather_state(settings: OllamaSettings, layout: Layout,
                 files: tuple[ManagedFile, ...] | None = None, list_blobs: bool = False,
                 compute: bool = False):
    """The one remote round trip of a run: everything the operations decide on (`status` also
    asks for the compute the running server reported)."""
    files = files if files is not None else layout.managed_files()
    return host.get_fact(
        LinuxOllamaState,
        user=settings.service_user,
        group=settings.service_group,
        install_dir=settings.install_dir,
        unit=layout.unit,
        files=tuple((f.key, f.dest) for f in files),
        state_dir=STATE_DIR,
        models_dir=settings.models_dir,
        api_url=settings.bind.client_url,
        dirs=operations.required_dirs(settings),
        list_blobs=list_blobs,
        security=security.state_probes(settings),
        compute=compute,
        _timeout=settings.command_timeout,
    )


def deploy_linux(settings: OllamaSettings, plan: ModelPlan, batch: int | None = None):
    """The Linux body of `ollama()`, for a validated host. The run sets the activation's batch
    size (`_parallel`) before it starts; `batch` fixes it for callers driving this directly."""
    layout = Layout(settings)
    files = layout.managed_files()
    current = gather_state(settings, layout, files, list_blobs=settings.model_source is not None)

    if not current.systemd:
        operations.fail(reason="this host does not run systemd; ollama-fleet needs it on Linux",
                        name="Check systemd")
        return
    gpus = gpu.host_plan(settings, current)
    if gpus.problems or (settings.strict and gpus.warnings):
        reasons = [*gpus.problems, *(gpus.warnings if settings.strict else ())]
        operations.fail(reason="; ".join(reasons) + (" (ollama_strict: warnings are errors)"
                                                      if settings.strict and gpus.warnings
                                                      else ""), name="Check GPU")
        return
    for text in gpus.warnings:
        note_host_warning(host, text)
    if host.state.config.DIFF:
        log_config_diff(files, current)
    each = {"_timeout": settings.command_timeout}
    operations.install(settings, current,
                       release_sources(settings, current.arch_name, gpus.addons), gpus.addons,
                       name=f"Install Ollama {settings.version}"
                       + (f" (+{', '.join(gpus.addons)})" if gpus.addons else ""), **each)
    if current.old_models:
        operations.models_dir_move(settings, current, name="Models dir change", **each)
    security.before_activation(settings, current)
    expected = models.models_expected_after_restart(plan, current)
    batching = {"_parallel": batch} if batch else {}
    activation = operations.activate(
        settings, layout, files, current, expected, gpus.addons,
        name="Activate (restart + health check, rollback on failure)", **batching, **each)
    record_activation(host, activation)
    security.after_activation(settings, current)
    seeded: tuple = ()
    if settings.model_source:
        seeded = tuple(models_in_store(Path(settings.model_source), plan.pulls))
        seed.seed_models(settings, seeded, current, name="Seed models from the controller", **each)
    provided = frozenset(m.name for m in seeded)
    if settings.model_registry:
        registry.fetch_models(settings, tuple(plan.pulls), current,
                              name="Fetch models from the registry", **each)
        provided = frozenset(plan.pulls)
    models.models(settings, plan, current, provided, name="Models", **each)
    doomed = models.undeclared_models(plan, current) if plan.prune else []
    if doomed:  # shown in --dry runs too, so a prune is never a surprise
        logger.info(f"{host.print_prefix}prune will remove: {', '.join(doomed)}")
        models.prune_models(settings, plan, current, name="Prune undeclared models", **each)
    if len(set(current.versions) | {settings.version}) > settings.keep_versions:
        operations.prune_versions(settings, current, name="Prune old releases", **each)
