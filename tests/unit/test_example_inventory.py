"""The shipped example fleet must validate: it is what users copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ollama_fleet.model_plan import plan_models
from ollama_fleet.settings import settings_from_data
from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def example_hosts(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    monkeypatch.chdir(ROOT)
    with ctx_state.use(State()):
        inventory = make_inventory("inventory/example.py", cwd=os.getcwd())
    return {host.name: host.data.dict() for host in inventory}


def test_every_example_host_validates(example_hosts: dict[str, dict]) -> None:
    for name, data in example_hosts.items():
        settings = settings_from_data(data, name)
        plan_models(settings, name, data)


def test_groups_get_their_own_settings(example_hosts: dict[str, dict]) -> None:
    gpu = settings_from_data(example_hosts["gpu-01.dc1.example.com"], "gpu")
    cpu = settings_from_data(example_hosts["edge-01.example.com"], "cpu")
    win = settings_from_data(example_hosts["ws-01.example.com"], "win")
    assert gpu.environment()["OLLAMA_NUM_PARALLEL"] == "4"
    assert gpu.environment()["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert cpu.environment()["OLLAMA_NUM_PARALLEL"] == "1"
    assert win.platform == "windows"
    assert example_hosts["ws-01.example.com"]["_shell_executable"] is None


def test_modelfile_template_is_rendered_with_host_data(example_hosts: dict[str, dict]) -> None:
    data = example_hosts["gpu-02.dc1.example.com"]
    plan = plan_models(settings_from_data(data, "gpu-02"), "gpu-02", data)
    bot = next(m for m in plan.custom if m.name == "support-bot:latest")
    assert "PARAMETER num_ctx 16384" in bot.modelfile
    assert plan.custom.index(bot) >= 0 and "qwen2.5:7b" in plan.pulls
