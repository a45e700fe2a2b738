"""The Windows deploy: one fact, then operations that each act only on a difference."""

from __future__ import annotations

from typing import Any

from pyinfra import host

from ..model_plan import ModelPlan
from ..settings import OllamaSettings
from . import desired, operations
from .archive import release_source
from .facts import WindowsOllamaState


def fact_arguments(settings: OllamaSettings, where: desired.WindowsLayout) -> dict[str, object]:
    return {
        "install_dir": where.install_dir,
        "models_dir": where.models_dir,
        "env_names": sorted(desired.desired_environment(settings, where)),
        "secret_names": desired.secret_names(settings),
        "version_url": f"{settings.bind.client_url}/api/version",
        "server": where.server,
    }


def deploy_windows(settings: OllamaSettings, plan: ModelPlan) -> None:
    """The Windows body of `ollama()`, for a validated host (no rollout batches yet)."""
    try:
        where = desired.layout(settings)
    except ValueError as exc:
        _fail(str(exc))
        return
    state = host.get_fact(WindowsOllamaState, **fact_arguments(settings, where))
    if state is None:
        _fail("the Windows state probe printed nothing; is PowerShell reachable over SSH?")
        return
    try:
        source = release_source(settings, state["arch"])
    except ValueError as exc:
        _fail(str(exc))
        return

    operations.directories(name="ollama-fleet folders", state=state, where=where)
    if where.server:
        install = operations.install_server(
            name=f"Install Ollama {settings.version}", state=state, where=where, source=source,
            allow_unverified=settings.allow_unverified_archive)
    else:
        install = operations.install_desktop(
            name=f"Install Ollama {settings.version} (desktop)", state=state, where=where,
            source=source)

    secrets = settings.secret_environment()
    change = desired.environment_change(
        state, desired.desired_environment(settings, where), secrets)
    env = operations.machine_environment(
        name="Ollama machine environment", change=change, secret_names=list(secrets))
    changes = [install, env]
    if where.server:
        changes.append(operations.server_task(name="Ollama server task", state=state, where=where))

    # Decided twice on purpose: now, from the fact, so the plan shows the restart only when one
    # is due; and again at execute time (_if), so it follows what the earlier steps really did.
    down = state["api_version"] != settings.version and not _desktop_without_app(state, where)
    due = down or any(op.will_change for op in changes)
    restart = operations.restart(
        name="Restart Ollama", where=where, needed=due,
        _if=lambda: down or any(op.did_change() for op in changes))
    operations.health_check(
        name="Ollama answers with the pinned version", url=settings.bind.client_url,
        version=settings.version, timeout=settings.health_timeout, desktop=not where.server,
        needed=due, _if=restart.did_change)

    operations.firewall(name="Ollama firewall rule", state=state,
                        networks=list(settings.allow_networks), port=settings.bind.port)
    if where.server:
        operations.prune_versions(name="Old Ollama versions", state=state, where=where,
                                  keep=settings.keep_versions)

    client_host = settings.bind.client_url.removeprefix("http://")
    operations.pull_models(name="Pull declared models", models=desired.missing_pulls(state, plan),
                           url=settings.bind.client_url, retries=settings.pull_retries,
                           timeout=settings.pull_timeout)
    stale = {m.name for m in desired.stale_custom(state, plan)}
    for model in plan.custom:
        operations.create_model(name=f"Custom model {model.name}", model=model, where=where,
                                client_host=client_host, stale=model.name in stale)
    operations.remove_models(
        name="Remove undeclared models", models=desired.models_to_remove(state, plan),
        records=(desired.stale_records(state, plan) if plan.prune
                 else desired.superseded_records(state, plan)), where=where,
        client_host=client_host)


def _desktop_without_app(state: dict[str, Any], where: desired.WindowsLayout) -> bool:
    # A desktop whose app is not running (nobody logged on) is not "down": it starts at logon.
    return not where.server and not state["app_running"] and state["desktop"] is not None


def _fail(reason: str) -> None:
    operations.refuse(name="ollama-fleet: refuse this host", reason=reason)
