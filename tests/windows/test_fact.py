"""WindowsOllamaState.process() on recorded outputs of every shape the script returns."""

from __future__ import annotations

import pytest
from ollama_fleet.windows import desired
from ollama_fleet.windows.facts import WindowsOllamaState
from ollama_fleet.windows.powershell import decode_command
from pyinfra.api.exceptions import FactProcessError

from .helpers import plan, raw_fixture, settings


def process(text: str, split: int | None = None):
    lines = [text] if split is None else [text[i:i + split] for i in range(0, len(text), split)]
    return WindowsOllamaState().process(lines)


def test_fresh_host() -> None:
    state = process(raw_fixture("fresh"))
    assert state["versions"] == [] and state["task"] is None and state["desktop"] is None
    assert state["models"] == [] and state["firewall"] is None and state["api_version"] is None
    assert not any(state["dirs"].values())


def test_fully_installed_host() -> None:
    state = process(raw_fixture("installed"))
    assert state["versions"] == ["0.13.4", "0.13.5"]
    assert state["task"]["logon"] == "ServiceAccount" and state["task"]["boot"]
    assert state["models"] == ["qwen2.5:7b"]
    assert state["env"]["OLLAMA_HOST"] == "127.0.0.1:11434"
    assert desired.installed_version(state, desired.layout(settings())) == "0.13.5"


def test_partly_installed_host_with_scalar_lists() -> None:
    state = process(raw_fixture("partial"))
    # PowerShell 5.1 prints a one-element array as a scalar; process() gives lists back.
    assert state["versions"] == ["0.13.4"]
    assert state["managed_env"] == ["OLLAMA_KEEP_ALIVE"]
    assert state["firewall"]["ports"] == ["11434"]
    assert state["modelfiles"] == {"qwen2.5:7b-32k": "deadbeef"}
    where = desired.layout(settings())
    assert desired.installed_version(state, where) is None
    assert desired.environment_change(state, {"OLLAMA_MODELS": where.models_dir}, {}).remove == (
        "OLLAMA_KEEP_ALIVE",)
    assert desired.missing_pulls(state, plan()) == []


def test_desktop_host() -> None:
    state = process(raw_fixture("desktop"))
    where = desired.layout(settings(windows_mode="desktop"))
    assert desired.installed_version(state, where) == "0.13.5" and state["app_running"]


def test_output_wrapped_across_lines_and_with_noise() -> None:
    text = raw_fixture("installed")
    assert process(text, split=80) == process(text)
    assert WindowsOllamaState().process(["WARNING: something", text + "\r"]) == process(text)


@pytest.mark.parametrize("text", ["", "not json", '{"schema": 2}', "{broken"])
def test_unusable_output_is_an_error(text: str) -> None:
    with pytest.raises(FactProcessError):
        process(text)


def test_fact_command_is_one_encoded_script() -> None:
    command = str(WindowsOllamaState().command(
        install_dir=r"C:\Program Files\Ollama", models_dir=r"C:\ProgramData\Ollama\models",
        env_names=["OLLAMA_HOST"], secret_names=["HTTPS_PROXY"],
        version_url="http://127.0.0.1:11434/api/version"))
    assert command.startswith("powershell -NoProfile -NonInteractive -EncodedCommand ")
    script = decode_command(command)
    assert "Get-ScheduledTask" in script and "Get-NetFirewallRule" in script
    assert script.rstrip().endswith("[Console]::Out.WriteLine((ConvertTo-Json -InputObject $r "
                                    "-Compress -Depth 6))")


def test_status_of_an_installed_windows_host_shows_version_and_drift() -> None:
    from ollama_fleet.windows.drift import windows_status

    from .helpers import plan, settings, state_fixture

    state = state_fixture("installed")
    ok = windows_status("ws1", settings(version="0.13.5", models=["qwen2.5:7b"]), plan(), state)
    assert (ok.installed, ok.running, ok.active, ok.enabled) == ("0.13.5", "0.13.5", "active",
                                                                 "enabled")
    assert ok.drift == [] and ok.models_missing == []
    drifted = windows_status("ws1", settings(version="0.14.1", keep_alive="10m",
                                             models=["qwen2.5:7b"]), plan(), state)
    assert "version 0.13.5 (declared 0.14.1)" in drifted.drift
    assert "machine variable OLLAMA_KEEP_ALIVE differs" in drifted.drift
    assert not drifted.ok
