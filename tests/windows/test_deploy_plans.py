"""Commands planned for a Windows host in each situation, run through pyinfra's @fake connector.
Each test names the issue-14 item it would have caught."""

from __future__ import annotations

import json

import pytest
from ollama_fleet.windows import desired
from ollama_fleet.windows.facts import parse_state
from ollama_fleet.windows.powershell import FILE_PREFIX

from .helpers import (
    converged,
    custom_model,
    fact_command_text,
    plan,
    raw_fixture,
    raw_with,
    refused,
    run_deploy,
    settings,
)

ACTIVATION = "Activate (restart + health check, rollback on failure)"


def test_fresh_host_installs_activates_and_pulls() -> None:
    run = run_deploy(settings(), plan(), raw_fixture("fresh"))
    texts = run.scripts()
    names = [next(iter(op.names)) for op in run.ops]
    assert ACTIVATION in names
    install = next(t for t in texts if "Expand-Archive" in t)
    assert install.index("Get-FileHash") < install.index("Expand-Archive")
    assert any("/api/pull" in t for t in texts)
    # Every step but the fact and the folder bootstrap is an uploaded script run with -File.
    assert all(c.startswith(FILE_PREFIX) for c in run.steps[1:])


def test_no_change_runs_only_the_fact() -> None:
    run = run_deploy(settings(), plan(), converged())
    assert run.steps == [] and run.uploads == {}


def test_item1_checksum_list_is_read_from_a_file_not_content() -> None:
    run = run_deploy(settings(sha256=None), plan(), raw_fixture("fresh"))
    install = next(t for t in run.scripts() if "Expand-Archive" in t)
    assert ").Content" not in install
    assert "-OutFile $sumsFile" in install and "[IO.File]::ReadAllLines($sumsFile)" in install


def test_item2_and_timeouts_installer_is_not_waited_on_as_a_job_and_every_step_is_bounded():
    desk = settings(windows_mode="desktop", version="0.14.1")
    run = run_deploy(desk, plan(), raw_fixture("desktop"))
    setup = next(t for t in run.scripts() if "OllamaSetup.exe" in t)
    code = [line for line in setup.splitlines() if not line.lstrip().startswith("#")]
    assert not any("-Wait" in line for line in code) and ".WaitForExit(" in setup
    for op in run.ops:
        assert op.host_arguments["_timeout"], op.names


def test_item4_restart_stops_the_process_tree_including_runners() -> None:
    run = run_deploy(settings(), plan(), converged(api_version=None))
    activate = next(t for t in run.scripts() if "rolled back" in t)
    assert "llama-server.exe" in activate and "ParentProcessId" in activate
    assert "-like" not in activate and "StartsWith(" in activate  # item 20: [ ] in paths


@pytest.mark.parametrize("fixture", ["partial"])
def test_items5_6_task_is_re_registered_for_battery_and_normal_priority(fixture: str) -> None:
    run = run_deploy(settings(), plan(), converged(base=fixture))
    task = next(t for t in run.scripts() if "Register-ScheduledTask" in t)
    assert "-AllowStartIfOnBatteries" in task and "-DontStopIfGoingOnBatteries" in task
    assert "-Priority 5" in task


def test_item7_desktop_uses_the_real_install_location() -> None:
    desk = settings(windows_mode="desktop", version="0.14.1")
    run = run_deploy(desk, plan(), raw_fixture("desktop_user"))
    setup = next(t for t in run.scripts() if "OllamaSetup.exe" in t)
    assert r"C:\Users\ann\AppData\Local\Programs\Ollama" in setup
    assert r"C:\Program Files\Ollama" not in setup


def test_items8_20_app_starts_hidden_without_staged_updates() -> None:
    script = desired.app_script_bytes(desired.layout(settings(windows_mode="desktop")),
                                      ["OLLAMA_HOST"]).decode("utf-8-sig")
    assert "'updates_v2'" in script and "-ArgumentList 'hidden'" in script


def test_item9_desktop_nobody_logged_on_skips_models() -> None:
    desk = settings(windows_mode="desktop")
    run = run_deploy(desk, plan(custom=(custom_model(),)), raw_fixture("desktop_nobody"))
    texts = run.scripts()
    assert not any("/api/pull" in t or " create " in t for t in texts)


def test_item9_create_checks_the_api_before_the_cli() -> None:
    run = run_deploy(settings(), plan(custom=(custom_model(),)), converged())
    create = next(t for t in run.scripts() if "& $exe create" in t)
    assert create.index("Invoke-RestMethod") < create.index("& $exe create")


def test_item10_every_script_switches_output_to_utf8() -> None:
    run = run_deploy(settings(), plan(), raw_fixture("fresh"))
    for text in run.scripts():
        assert "[Console]::OutputEncoding = [Text.UTF8Encoding]::new($false)" in text
    assert all("-OutputFormat Text" in c for c in run.commands)  # item 20: no CLIXML


def test_item11_server_settings_reach_the_server_process_only() -> None:
    proxied = settings(keep_alive="10m", https_proxy="http://u:pw@proxy:3128")
    run = run_deploy(proxied, plan(), converged())
    env = json.loads(run.uploads["C:/ProgramData/ollama-fleet/staged/server-env.json"])
    assert env["set"]["OLLAMA_KEEP_ALIVE"] == "10m" and "HTTPS_PROXY" in env["set"]
    for text in run.scripts():
        assert "'Machine')" not in text.replace("$null, 'Machine')", "")
        assert "pw@proxy" not in text  # the secret travels only in the protected file


def test_item12_removed_variable_is_cleared_from_the_launcher() -> None:
    state = json.loads(converged())
    state["legacy_machine_env"] = ["OLLAMA_OLD_EXTRA"]  # set machine-wide by an earlier version
    run = run_deploy(settings(), plan(), json.dumps(state))
    env = json.loads(run.uploads["C:/ProgramData/ollama-fleet/staged/server-env.json"])
    assert "OLLAMA_OLD_EXTRA" in env["clear"]
    activate = next(t for t in run.scripts() if "rolled back" in t)
    assert "SetEnvironmentVariable($name, $null, 'Machine')" in activate


def test_item13_activation_is_gated_recorded_and_rolls_back() -> None:
    from pyinfra.api import FunctionCommand  # noqa: F401

    run = run_deploy(settings(version="0.14.1"), plan(), converged())
    activate = next(t for t in run.scripts() if "rolled back" in t)
    assert "rolled back to Ollama $previous" in activate
    assert activate.index("Copy-Item -LiteralPath $live") < activate.index("Move-Item")


def test_item14_expose_without_networks_opens_the_port_to_any() -> None:
    exposed = settings(host="0.0.0.0", expose_unauthenticated=True)
    run = run_deploy(exposed, plan(), converged(exposed))
    rule = next(t for t in run.scripts() if "New-NetFirewallRule" in t)
    assert "-RemoteAddress @('Any')" in rule


def test_item14_program_rules_are_disabled() -> None:
    fenced = settings(host="0.0.0.0", allow_networks=["10.0.0.0/8"])
    run = run_deploy(fenced, plan(), converged(fenced, program_rules=["TCP Query User{x}"]))
    rule = next(t for t in run.scripts() if "Set-NetFirewallRule -Name $other" in t)
    assert "'TCP Query User{x}'" in rule


def test_item15_server_log_is_utf8_and_rotated_while_running() -> None:
    text = desired.serve_script_bytes(desired.layout(settings())).decode("utf-8-sig")
    assert "*>>" not in text and "StandardErrorEncoding = $utf8" in text
    assert "$writer.BaseStream.Length -gt $maxLog" in text


def test_item16_models_dir_change_is_refused_by_default() -> None:
    moved = settings(windows_models_dir=r"D:\models")
    refused(moved, converged(moved))
    run = run_deploy(settings(windows_models_dir=r"D:\models", models_dir_migration="copy"),
                     plan(), converged(moved))
    assert any("Copy-Item -LiteralPath $src" in t for t in run.scripts())


def test_item18_powershell_default_shell_is_refused() -> None:
    state = parse_state(raw_fixture("powershell_shell"))
    assert "DefaultShell" in (desired.shell_problem(state) or "")
    refused(settings(), raw_fixture("powershell_shell"))


def test_item19_no_encoded_payload_no_compression_no_scriptblock_in_steps() -> None:
    run = run_deploy(settings(), plan(custom=(custom_model(),)), raw_fixture("fresh"))
    for command in run.steps:
        assert "-EncodedCommand" not in command and len(command) < 300
    for text in run.scripts():
        assert "GZipStream" not in text and "ScriptBlock]::Create" not in text


def test_item20_scripts_end_with_an_explicit_success() -> None:
    run = run_deploy(settings(models=[]), plan(custom=(custom_model(),), prune=True),
                     converged(models=["registry.ollama.ai/library/old/latest"]))
    for text in run.scripts():
        assert text.rstrip().endswith(("exit 0", "exit 1")), text[-200:]


def test_item20_tls12_and_rocm_addon() -> None:
    run = run_deploy(settings(sha256=None), plan(), raw_with("fresh", amd_gpu=True))
    install = next(t for t in run.scripts() if "Expand-Archive" in t)
    assert "ollama-windows-amd64-rocm.zip" in install
    assert "Tls12" in install


def test_item20_air_gapped_desktop_accepts_a_pinned_digest() -> None:
    desk = settings(windows_mode="desktop", version="0.14.1", sha256="b" * 64)
    run = run_deploy(desk, plan(), raw_fixture("desktop"))
    setup = next(t for t in run.scripts() if "OllamaSetup.exe" in t)
    assert "if ($true -and $signed)" in setup


def test_uninstall_server_and_desktop() -> None:
    from ollama_fleet.windows.uninstall import uninstall_windows

    run = run_deploy(settings(), plan(), converged(), func=uninstall_windows,
                     args=(settings(), False))
    script = run.scripts()[0]
    assert "Unregister-ScheduledTask" in script and "Remove-NetFirewallRule" in script
    assert "removed the models" not in script
    purge = run_deploy(settings(), plan(), converged(), func=uninstall_windows,
                       args=(settings(), True)).scripts()[0]
    assert "removed the models" in purge
    desk = settings(windows_mode="desktop")
    desktop = run_deploy(desk, plan(), raw_fixture("desktop_user"), func=uninstall_windows,
                         args=(desk, False)).scripts()[0]
    assert r"AppData\Local\Programs\Ollama\unins000.exe" in desktop


def test_item13_windows_hosts_share_the_runs_batches_and_tally() -> None:
    """Through ollama(): each Windows activation is recorded by its operation hash and batched
    by the run's rollout_batch, like Linux hosts."""
    from ollama_fleet import ollama
    from ollama_fleet.run import context_for
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.api.operations import run_ops
    from pyinfra.connectors.fake import FakeConnector

    data = {"_shell_executable": None, "fake_delay": 0, "fake_delay_jitter": 0,
            "fake_responses": {fact_command_text(): converged()},
            "ollama_platform": "windows", "ollama_version": "0.14.1", "ollama_sha256": "a" * 64,
            "ollama_models": ["qwen2.5:7b"], "ollama_rollout_batch": "50%"}
    names = [f"@fake/win{i}" for i in range(1, 5)]
    state = State(Inventory((names, {}), windows=(names, data)), Config())
    put = FakeConnector.put_file
    FakeConnector.put_file = lambda self, *a, **k: True  # type: ignore[method-assign]
    try:
        connect_all(state)
        add_deploy(state, lambda: ollama())
        run_ops(state)
    finally:
        FakeConnector.put_file = put  # type: ignore[method-assign]
    run = context_for(state)
    assert set(run.activations) == set(names)
    [activation] = set(run.activations.values())
    assert state.get_op_meta(activation).global_arguments["_parallel"] == 2


def test_item20_desktop_process_kills_are_limited_to_the_current_user() -> None:
    run = run_deploy(settings(windows_mode="desktop", version="0.14.1"), plan(),
                     raw_fixture("desktop"))
    calls = [line for text in run.scripts() for line in text.splitlines()
             if "Stop-OllamaTree @(" in line]
    assert calls, "no desktop step stops Ollama"
    assert all(line.rstrip().endswith("$env:USERNAME") for line in calls), calls
    include = next(t for t in run.scripts() if "function Stop-OllamaTree" in t)
    assert "GetOwner).User -eq $stopOwner" in include
