"""Validation of hosts before any of them is touched: each host's settings, model plan,
controller files and warnings, and the rules the whole run must agree on.

`ollama()` (api.py) checks its own host with `check_fleet` in pyinfra's prepare phase; the run
context (run.py) adds the agreement rules over every host that called it, before any operation
executes. Tools that see a whole inventory at once (status, the CLI) call `check_fleet` with all
of it."""

from __future__ import annotations

from dataclasses import dataclass

from . import preflight
from .model_plan import ModelPlan, ModelPlanError, plan_models
from .settings import OllamaSettings, SettingsError, settings_from_data


@dataclass(frozen=True)
class HostPlan:
    settings: OllamaSettings
    models: ModelPlan


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
        problems.extend(fleet_wide_agreement(plans))
    return plans, list(dict.fromkeys(problems)), warnings


# Settings that steer the whole run, so every host must say the same.
AGREED_FIELDS = ("rollout_batch", "rollout_max_failures")


def fleet_wide_agreement(plans: dict[str, HostPlan]) -> list[str]:
    """Rollout settings steer the whole run, so every host must say the same."""
    problems = []
    for field in AGREED_FIELDS:
        values = {name: getattr(p.settings, field) for name, p in plans.items()}
        if len(set(map(str, values.values()))) > 1:
            listing = ", ".join(f"{n}={v!r}" for n, v in sorted(values.items()))
            problems.append(f"ollama_{field} differs between hosts ({listing}); it applies to "
                            "the whole run, so set it once (group_data/all.py or --data)")
    return problems
