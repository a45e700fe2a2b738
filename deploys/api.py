"""The public API: Ollama as a pyinfra deploy, to call from any deploy file.

    from ollama_fleet import ollama

    if "llm" in host.groups:
        ollama(version="0.13.5", models=["qwen2.5:7b"])

See docs/embedding.md.
"""

from __future__ import annotations

import difflib
from typing import Any

from pyinfra import host
from pyinfra.api import deploy, operation

from .fleet import HostPlan, check_fleet
from .hostcmd import fail_host
from .run import register_host
from .settings import DATA_PREFIX, OllamaSettings


@deploy("Ollama")
def ollama(**settings: Any) -> None:
    """Install, configure and run Ollama on this host, with its models; safe to re-run.

    Keyword arguments are settings, named like the fields of ``OllamaSettings`` (the
    ``ollama_*`` data keys without the prefix; docs/settings.md lists them all), e.g.
    ``ollama(version="0.13.5", models=["qwen2.5:7b"], keep_alive="30m")``. pyinfra's global
    arguments (``_sudo=True``, ...) apply to every operation, as for any deploy.

    Where a setting comes from, first match wins:

    1. ``OLLAMA_FLEET_<SETTING>`` environment variables on the controller;
    2. the host's pyinfra data, ``ollama_<setting>`` (``--data`` > host > group > all);
    3. these keyword arguments (they act like pyinfra's ``data_defaults``);
    4. the defaults of ``OllamaSettings``.

    The host is validated first thing, before any fact is read: settings, model plan,
    controller files and warnings. A host with problems gets no fact and no command; before
    any operation of the run executes, one ``SettingsError`` lists every problem of every host
    that called ``ollama()``, and the run stops untouched (``--dry`` runs exit non-zero).
    Hosts that never call ``ollama()`` are neither validated nor touched.

    Linux and Windows hosts restart in batches (``rollout_batch``: a number, or a percentage
    of the hosts calling ``ollama()`` in this run) gated on the health of earlier batches
    (``rollout_max_failures``), each rolling back to its previous version and configuration
    when its health check fails. When the run's last operation ends, a summary of failed hosts
    and warnings goes to stderr; ``summary_lines(state)`` returns the same lines.
    """
    plan = _validated(settings, "ollama")
    if plan is None:
        return
    if plan.settings.platform == "windows":
        from .windows.deploy import deploy_windows  # noqa: PLC0415 - Windows code loads on demand

        deploy_windows(plan.settings, plan.models)
    else:
        from .linux.deploy import deploy_linux  # noqa: PLC0415

        deploy_linux(plan.settings, plan.models)


@deploy("Uninstall Ollama")
def ollama_uninstall(purge: bool = False, **settings: Any) -> None:
    """Remove Ollama from this host: service, releases, our files; models too with
    ``purge=True``. Settings (paths, service user) are found and validated exactly as for
    ``ollama()``, with the same precedence. On Windows: tasks, firewall rule, variables,
    installs, state folder and registry key, and in desktop mode the installer's own
    uninstaller (docs/windows.md)."""
    plan = _validated(settings, "ollama_uninstall")
    if plan is None:
        return
    if plan.settings.platform == "windows":
        from .windows.uninstall import uninstall_windows  # noqa: PLC0415

        uninstall_windows(plan.settings, purge=purge)
        return
    from .linux.uninstall import uninstall_linux  # noqa: PLC0415

    uninstall_linux(plan.settings, purge=purge)


def _validated(arguments: dict[str, Any], caller: str) -> HostPlan | None:
    """Validate this host (keyword arguments under its data) and record it in the run; None
    when it has problems (it then gets one local operation, refusing it, and nothing else)."""
    _check_names(arguments, caller)
    data = {**{f"{DATA_PREFIX}{key}": value for key, value in arguments.items()},
            **host.data.dict()}
    plans, problems, warnings = check_fleet([(host.name, data)])
    register_host(host.state, host, plans.get(host.name), problems, warnings)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        _refuse(f"invalid settings ({count}, listed above); nothing was changed",
                name="Refuse: invalid ollama-fleet settings")
        return None
    return plans[host.name]


def _check_names(arguments: dict[str, Any], caller: str) -> None:
    """A misspelt keyword is a bug in the deploy file: refuse it like Python would."""
    for key in arguments:
        if key in OllamaSettings.model_fields:
            continue
        name = key.removeprefix(DATA_PREFIX)
        if name in OllamaSettings.model_fields:
            hint = name
        else:
            close = difflib.get_close_matches(name, OllamaSettings.model_fields, n=1, cutoff=0.7)
            hint = close[0] if close else None
        raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}"
                        + (f"; did you mean {hint!r}?" if hint else
                           " (settings are the fields of OllamaSettings, see docs/settings.md)"))


@operation(is_idempotent=False)
def _refusal(reason: str):
    yield fail_host(reason)


def _refuse(reason: str, name: str) -> None:
    # An operation, not an exception: the run's gate reports every host's problems at once,
    # and it needs at least one operation to fire on. It runs nothing on the host.
    _refusal(reason=reason, name=name)
