"""The Windows deploy: one fact, then operations that each act only on a difference."""

from __future__ import annotations

from typing import Any

from pyinfra import host

from ..model_plan import ModelPlan
from ..release import listed_digest
from ..render import PowerShellValueError
from ..run import note_failure, record_activation
from ..settings import OllamaSettings
from . import desired, operations, paths
from .archive import release_source, rocm_source
from .facts import WindowsOllamaState, fact_stdin


def fact_arguments(settings: OllamaSettings, where: desired.WindowsLayout) -> dict[str, object]:
    return {
        "install_dir": where.install_dir,
        "models_dir": where.models_dir,
        "env_names": sorted(desired.desired_environment(settings, where)),
        "secret_names": desired.secret_names(settings),
        "version_url": f"{settings.bind.client_url}/api/version",
        "server": where.server,
    }


def gather_state(settings: OllamaSettings, where: desired.WindowsLayout) -> Any:
    """The one round trip of a run; the script travels on standard input."""
    arguments = fact_arguments(settings, where)
    return host.get_fact(WindowsOllamaState, **arguments, _stdin=fact_stdin(**arguments),
                         _timeout=settings.command_timeout)


def usable_state(settings: OllamaSettings) -> tuple[desired.WindowsLayout, Any] | None:
    """Where things go and the host's state, or None after refusing a host whose PowerShell
    cannot be used (no answer, or an OpenSSH DefaultShell that re-wraps errors and exit codes)."""
    try:
        where = desired.layout(settings)
        state = gather_state(settings, where)
    except (ValueError, PowerShellValueError) as exc:
        _fail(f"{host.name}: {exc}")
        return None
    if state is None:
        _fail("the Windows state probe printed nothing; is PowerShell reachable over SSH?")
        return None
    problem = desired.shell_problem(state)
    if problem:
        _fail(problem)
        return None
    return where, state


def deploy_windows(settings: OllamaSettings, plan: ModelPlan) -> None:
    """The Windows body of `ollama()`, for a validated host."""
    usable = usable_state(settings)
    if usable is None:
        return
    where, state = usable
    try:
        source = release_source(settings, state["arch"])
        extra = rocm_source(settings, state) if where.server else None
    except ValueError as exc:
        _fail(str(exc))
        return
    moved_from = desired.models_dir_move(state, where)
    if moved_from and settings.models_dir_migration == "refuse":
        _fail(f"windows_models_dir changed from {moved_from}, which holds models, to "
              f"{where.models_dir}: the server would silently download every model again. Move "
              "the models yourself, set models_dir_migration: copy, or set windows_models_dir "
              "back; nothing was changed")
        return
    where = desired.located(where, state)
    each = {"_timeout": settings.command_timeout}

    operations.directories(name="ollama-fleet folders", state=state, where=where, **each)
    url = settings.bind.client_url
    legacy = list(state["legacy_machine_env"])
    if where.server:
        operations.install_server(
            name=f"Install Ollama {settings.version}", state=state, where=where,
            sources=[s for s in (source, extra) if s is not None],
            allow_unverified=settings.allow_unverified_archive, **each)
        if moved_from:
            operations.copy_models(name="Copy models to the new windows_models_dir",
                                   source=moved_from, target=where.models_dir, **each)
        task_due = not desired.task_matches(state, where)
        operations.server_task(name="Ollama server task", state=state, where=where, **each)
        files = {paths.SERVE_SCRIPT: desired.serve_script_bytes(where),
                 paths.SERVER_ENV: desired.server_env_bytes(settings, state)}
        changed = {dest: content for dest, content in files.items()
                   if desired.sha256(content) != state[_DIGEST_KEYS[dest]]}
        reasons = _reasons(state, settings, changed=bool(changed), task=task_due,
                           legacy=bool(legacy), installed=desired.installed_version(
                               state, where) == where.version)
        activation = operations.activate_server(
            name="Activate (restart + health check, rollback on failure)", where=where,
            reasons=reasons, files=changed, legacy_machine=legacy, url=url,
            timeout=settings.health_timeout, **each)
    else:
        operations.install_desktop(
            name=f"Install Ollama {settings.version} (desktop)", state=state, where=where,
            source=source, digest_pinned=_digest_pinned(settings, source),
            timeout=settings.command_timeout, **each)
        change = desired.environment_change(
            state, desired.desired_environment(settings, where), settings.secret_environment())
        reasons = _reasons(state, settings, changed=change.changed, task=False,
                           legacy=bool(legacy), installed=desired.installed_version(
                               state, where) == where.version, desktop=True)
        activation = operations.activate_desktop(
            name="Activate (restart + health check, rollback on failure)", where=where,
            reasons=reasons, change=change, legacy_machine=legacy, url=url,
            timeout=settings.health_timeout, **each)
    record_activation(host, activation)

    operations.firewall(name="Ollama firewall rule", state=state,
                        networks=desired.firewall_networks(settings), port=settings.bind.port,
                        **each)
    if where.server:
        operations.prune_versions(name="Old Ollama versions", state=state, where=where,
                                  keep=settings.keep_versions, **each)

    if not where.server and not state["desktop_session"] and state["api_version"] is None:
        # No one logged on: no app, so no server; the CLI would start the app inside this SSH
        # session and hang. The models follow on a run while the user is logged on.
        reason = (f"{state['user'] or 'the user'} is not logged on, so the desktop app (and "
                  "its server) is not running: models are pulled and created on a run while "
                  "they are logged on")
        operations.skip(name="Models", reason=reason)
        return
    client_host = url.removeprefix("http://")
    operations.pull_models(name="Pull declared models", models=desired.missing_pulls(state, plan),
                           url=url, retries=settings.pull_retries,
                           timeout=settings.pull_timeout,
                           _timeout=max(settings.command_timeout,
                                        settings.pull_timeout * settings.pull_retries + 60))
    stale = {m.name for m in desired.stale_custom(state, plan)}
    for model in plan.custom:
        operations.create_model(name=f"Custom model {model.name}", model=model, where=where,
                                url=url, client_host=client_host, stale=model.name in stale,
                                **each)
    operations.remove_models(
        name="Remove undeclared models", models=desired.models_to_remove(state, plan),
        records=(desired.stale_records(state, plan) if plan.prune
                 else desired.superseded_records(state, plan)), where=where,
        client_host=client_host, **each)


_DIGEST_KEYS = {paths.SERVE_SCRIPT: "launcher_sha256", paths.SERVER_ENV: "env_file_sha256"}


def _reasons(state: dict[str, Any], settings: OllamaSettings, *, changed: bool, task: bool,
             legacy: bool, installed: bool, desktop: bool = False) -> list[str]:
    reasons = []
    if not installed:
        reasons.append(f"Ollama {settings.version} is not installed yet")
    if changed:
        reasons.append("configuration changed")
    if task:
        reasons.append("server task changed")
    if legacy:
        reasons.append("machine-wide variables from an earlier version to remove")
    down = state["api_version"] != settings.version
    if down and not (desktop and not state["desktop_session"]):
        reasons.append("the API does not report the pinned version")
    return reasons


def _digest_pinned(settings: OllamaSettings, source: Any) -> bool:
    """A SHA-256 that was checked against something trusted (the setting, or the release's list
    beside a controller file): then it vouches for the installer where revocation cannot be
    checked (air-gapped desktops)."""
    if settings.sha256:
        return True
    return bool(source.local_file and listed_digest(source.local_file))


def _fail(reason: str) -> None:
    note_failure(host.state, host.name, reason)
    operations.refuse(name="ollama-fleet: refuse this host", reason=reason)
