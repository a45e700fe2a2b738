"""Fleet-wide checks that run before any host is touched, and the per-host dispatch."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from pyinfra import host, state

from . import summary
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


_PLANS: weakref.WeakKeyDictionary[object, FleetPlan] = weakref.WeakKeyDictionary()


def fleet_plan() -> FleetPlan:
    """Validate every host in this run once; any problem anywhere stops the run untouched."""
    cached = _PLANS.get(state)
    if cached is not None:
        return cached
    problems: list[str] = []
    plans: dict[str, HostPlan] = {}
    hosts = [h for h in state.inventory if state.is_host_in_limit(h)]
    for member in hosts:
        data = member.data.dict()
        try:
            settings = settings_from_data(data, member.name)
            plans[member.name] = HostPlan(settings, plan_models(settings, member.name, data))
        except SettingsError as exc:
            problems.extend(exc.problems)
        except ModelPlanError as exc:
            problems.extend(str(exc).splitlines())
    if not problems:
        problems.extend(_fleet_wide_agreement(plans))
    if problems:
        raise SettingsError(problems)
    first = next(iter(plans.values())).settings if plans else None
    plan = FleetPlan(
        hosts=plans,
        batch=batch_size(first.rollout_batch, len(plans)) if first else 1,
        max_failures=first.rollout_max_failures if first else 0,
    )
    _PLANS[state] = plan
    rollout_for(state, plan.max_failures)
    summary.install(state)
    return plan


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
