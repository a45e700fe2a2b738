"""Shared builders for the Windows tests: settings, plans and recorded fact outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ollama_fleet.model_plan import ModelPlan, RenderedModel
from ollama_fleet.settings import OllamaSettings
from ollama_fleet.windows.facts import WindowsState, parse_state

from tests.fake_hosts import run_fake_deploy

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VERSION = "0.13.5"
# Values chosen to break naive quoting: quotes, spaces, $, backticks, smart quotes.
NASTY = "it's a \"test\" $env:PATH `n ‘x’ ; & | %TEMP%"


def settings(**overrides: Any) -> OllamaSettings:
    values: dict[str, Any] = {
        "platform": "windows",
        "version": VERSION,
        "sha256": "a" * 64,
        "models": ["qwen2.5:7b"],
    }
    values.update(overrides)
    return OllamaSettings(**values)


def custom_model(name: str = "qwen2.5:7b-32k", text: str | None = None) -> RenderedModel:
    text = text or "FROM qwen2.5:7b\nPARAMETER num_ctx 32768\n"
    return RenderedModel(name=name, modelfile=text, base="qwen2.5:7b", base_is_file=False)


def plan(custom: tuple[RenderedModel, ...] = (), prune: bool = False) -> ModelPlan:
    return ModelPlan(pulls=("qwen2.5:7b",), custom=custom, prune=prune,
                     keep=frozenset(m.base for m in custom))


def raw_fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8").strip()


def state_fixture(name: str) -> WindowsState:
    return parse_state(raw_fixture(name))


def raw_with(name: str, **changes: Any) -> str:
    data = json.loads(raw_fixture(name))
    data.update(changes)
    return json.dumps(data, separators=(",", ":"))


# --- driving pyinfra with the @fake connector ---------------------------------------------
FACT_MARKER = "fact"


def run_deploy(
    the_settings: OllamaSettings, the_plan: ModelPlan, fact_output: str,
    responses: dict[Any, Any] | None = None,
) -> tuple[list[str], list[str]]:
    """Prepare and execute deploy_windows against one fake host; return (commands, uploads)."""
    from ollama_fleet.windows import deploy_windows
    from ollama_fleet.windows.deploy import fact_arguments
    from ollama_fleet.windows.desired import layout
    from ollama_fleet.windows.facts import WindowsOllamaState

    fake: dict[Any, Any] = {}
    try:
        fact_command = str(WindowsOllamaState().command(
            **fact_arguments(the_settings, layout(the_settings))))
        fake[fact_command] = fact_output
    except ValueError:
        pass  # settings the deploy itself refuses: the fact is never asked for
    fake.update(responses or {})
    return run_fake_deploy(deploy_windows, (the_settings, the_plan), fake,
                           {"_shell_executable": None})


def scripts(commands: list[str]) -> list[str]:
    from ollama_fleet.windows.powershell import decode_command

    return [decode_command(command) for command in commands]
