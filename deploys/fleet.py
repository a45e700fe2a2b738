"""Fleet-wide checks that run before any host is touched, and the per-host dispatch."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from pyinfra import host, logger, state

from . import preflight, summary
from .model_plan import ModelPlan, ModelPlanError, plan_models
from .rollout import batch_size, rollout_for
from .settings import OllamaSettings, SettingsError, settings_from_data


@dataclass(frozen=True)
class HostPlan:
    settings: OllamaSettings
    models: ModelPlan


@dataclass(frozen=True)
class FleetPlan:
    hosts: dict[str, HostPlan]
    batch: int
    max_failures: int


_PLANS: weakref.WeakKeyDictionary[object, FleetPlan | SettingsError] = (
    weakref.WeakKeyDictionary())


def fleet_plan() -> FleetPlan:
    """Validate every host in this run once; any problem anywhere stops the run untouched."""
    cached = _PLANS.get(state)
    if isinstance(cached, SettingsError):
        raise cached  # pyinfra loads the deploy once per host: report once, stop every time
    if cached is not None:
        return cached
    hosts = [h for h in state.inventory if state.is_host_in_limit(h)]
    plans, problems, warnings = check_fleet([(m.name, m.data.dict()) for m in hosts])
    for text in warnings:
        logger.warning(f"ollama-fleet warning: {text}")
        summary.note_warning(state, text)
    if problems:
        error = SettingsError(problems)
        _PLANS[state] = error
        raise error
    summary.install(state)
    first = next(iter(plans.values())).settings if plans else None
    plan = FleetPlan(
        hosts=plans,
        batch=batch_size(first.rollout_batch, len(plans)) if first else 1,
        max_failures=first.rollout_max_failures if first else 0,
    )
    _PLANS[state] = plan
    rollout_for(state, plan.max_failures)
    return plan


def check_fleet(
    members: list[tuple[str, dict]],
) -> tuple[dict[str, HostPlan], list[str], list[str]]:
    """Every host's settings, model plan, controller files and warnings, in one pass:
    (plans of the valid hosts, every problem, every warning). Never raises for bad input."""
    problems: list[str] = []
    warnings: list[str] = []
    plans: dict[str, HostPlan] = {}
    for name, data in members:
        try:
            settings = settings_from_data(data, name)
        except SettingsError as exc:
            problems.extend(exc.problems)
            continue
        host_problems = [f.line(name, settings) for f in preflight.controller_problems(settings)]
        host_warnings = [f.line(name, settings) for f in preflight.warnings_for(settings)]
        try:
            models = plan_models(settings, name, data)
        except ModelPlanError as exc:
            host_problems.extend(str(exc).splitlines())
        except Exception as exc:  # noqa: BLE001 - any failure becomes a report line
            host_problems.append(f"host {name}: ollama_models / ollama_custom_models: the model "
                                 f"plan failed: {type(exc).__name__}: {exc}")
        else:
            if not host_problems:
                plans[name] = HostPlan(settings, models)
        if settings.strict:
            host_problems.extend(f"{text} (an error: ollama_strict is on)"
                                 for text in host_warnings)
        else:
            warnings.extend(host_warnings)
        problems.extend(host_problems)
    if not problems:
        problems.extend(_fleet_wide_agreement(plans))
    return plans, list(dict.fromkeys(problems)), warnings


def _fleet_wide_agreement(plans: dict[str, HostPlan]) -> list[str]:
    """Rollout settings steer the whole run, so every host must say the same."""
    problems = []
    for field in ("rollout_batch", "rollout_max_failures"):
        values = {name: getattr(p.settings, field) for name, p in plans.items()}
        if len(set(map(str, values.values()))) > 1:
            listing = ", ".join(f"{n}={v!r}" for n, v in sorted(values.items()))
            problems.append(f"ollama_{field} differs between hosts ({listing}); it applies to "
                            "the whole run, so set it once (group_data/all.py or --data)")
    return problems


def deploy_this_host() -> None:
    plan = fleet_plan()
    mine = plan.hosts[host.name]
    if mine.settings.platform == "windows":
        from .windows.deploy import deploy_windows  # noqa: PLC0415 - Windows code loads on demand

        deploy_windows(mine.settings, mine.models)
    else:
        from .linux.deploy import deploy_linux  # noqa: PLC0415

        deploy_linux(mine.settings, mine.models, plan.batch)
