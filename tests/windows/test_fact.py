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
    assert desired.installed_version(state, desired.layout(settings())) == "0.13.5"


def test_partly_installed_host_with_scalar_lists() -> None:
    state = process(raw_fixture("partial"))
    # PowerShell 5.1 prints a one-element array as a scalar; process() gives lists back.
    assert state["versions"] == ["0.13.4"]
    assert state["legacy_machine_env"] == ["OLLAMA_KEEP_ALIVE"]
    assert state["task"]["priority"] == 7 and not state["task"]["battery_ok"]
    assert state["firewall"]["ports"] == ["11434"]
    assert state["modelfiles"] == {"qwen2.5:7b-32k": "deadbeef"}
    where = desired.layout(settings())
    assert desired.installed_version(state, where) is None
    # An earlier version set it machine-wide: the server's environment file clears it now.
    assert "OLLAMA_KEEP_ALIVE" in desired.known_env_names(settings(), state)
    assert desired.missing_pulls(state, plan()) == []


def test_desktop_host() -> None:
    state = process(raw_fixture("desktop"))
    where = desired.layout(settings(windows_mode="desktop"))
    assert desired.installed_version(state, where) == "0.13.5" and state["app_running"]


def test_output_wrapped_across_lines_and_with_noise() -> None:
    text = raw_fixture("installed")
    assert process(text, split=80) == process(text)
    assert WindowsOllamaState().process(["WARNING: something", text + "\r"]) == process(text)


@pytest.mark.parametrize("text", ["", "not json", '{"schema": 1}', "{broken"])
def test_unusable_output_is_an_error(text: str) -> None:
    with pytest.raises(FactProcessError):
        process(text)


def test_fact_command_is_fixed_and_its_script_travels_on_stdin() -> None:
    from ollama_fleet.windows.facts import fact_stdin
    from ollama_fleet.windows.powershell import FACT_READER

    arguments = dict(
        install_dir=r"C:\Program Files\Ollama", models_dir=r"C:\ProgramData\Ollama\models",
        env_names=["OLLAMA_HOST"], secret_names=["HTTPS_PROXY"],
        version_url="http://127.0.0.1:11434/api/version", server=True)
    command = str(WindowsOllamaState().command(**arguments))
    assert decode_command(command).strip() == FACT_READER  # no payload, no compression
    script = fact_stdin(**arguments)
    assert "Get-ScheduledTask" in script and "Get-NetFirewallRule" in script
    assert script.rstrip().endswith("[Console]::Out.WriteLine((ConvertTo-Json -InputObject $r "
                                    "-Compress -Depth 6))")


def test_status_of_an_installed_windows_host_shows_version_and_drift() -> None:
    from ollama_fleet.windows.drift import windows_status
    from ollama_fleet.windows.facts import parse_state

    from .helpers import converged, plan, settings

    wanted = settings(version="0.13.5", models=["qwen2.5:7b"])
    state = parse_state(converged(wanted))
    ok = windows_status("ws1", wanted, plan(), state)
    assert (ok.installed, ok.running, ok.active, ok.enabled) == ("0.13.5", "0.13.5", "active",
                                                                 "enabled")
    assert ok.drift == [] and ok.models_missing == []
    drifted = windows_status("ws1", settings(version="0.14.1", keep_alive="10m",
                                             models=["qwen2.5:7b"]), plan(), state)
    assert "version 0.13.5 (declared 0.14.1)" in drifted.drift
    assert "server environment differs" in drifted.drift
    assert not drifted.ok


def test_status_picks_the_newest_version_by_number_not_text() -> None:
    """Item 17: 0.9.0 sorts after 0.13.4 as text."""
    from ollama_fleet.windows.drift import windows_status
    from ollama_fleet.windows.facts import parse_state

    from .helpers import plan, raw_with, settings

    state = parse_state(raw_with("installed", versions=["0.9.0", "0.13.4"]))
    assert windows_status("ws1", settings(), plan(), state).installed == "0.13.4"


def test_status_of_a_converged_desktop_is_not_drift() -> None:
    """Item 17: the desktop version is the installer's record, not a server-mode folder."""
    from ollama_fleet.windows.drift import windows_status
    from ollama_fleet.windows.facts import parse_state

    from .helpers import plan, raw_fixture, settings

    desk = settings(windows_mode="desktop")
    status = windows_status("ws1", desk, plan(), parse_state(raw_fixture("desktop")))
    assert status.installed == "0.13.5" and status.drift == [] and status.ok
