"""ollama() inside a deploy of one's own, driven through pyinfra's API with @fake hosts: only the
hosts that call it are validated and touched, an invalid one stops the run before any command,
and each run (several in one process) has its own validation, rollout and closing summary."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from ollama_fleet import OllamaSettings, SettingsError, ollama, ollama_uninstall, summary_lines
from ollama_fleet.run import context_for
from pyinfra import host
from pyinfra.operations import server

from tests.unit.test_linux_plan import BASE, FACT_MARKER, converged_fact, make

RESTART = 'systemctl restart "$unit"'


@pytest.fixture(autouse=True)
def _no_fleet_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("OLLAMA_FLEET_"):
            monkeypatch.delenv(name)


def llm_host(fact: list[str] | None = None, fail_restart: bool = False,
             **data: Any) -> dict[str, Any]:
    """Data of a host whose state fact prints `fact` (default: converged with BASE)."""
    responses: dict[str, Any] = {}
    if fail_restart:
        responses[RESTART] = {"success": False,
                              "stderr": ["ollama-fleet: did not become healthy in 30s"]}
    responses[FACT_MARKER] = fact if fact is not None else converged_fact(make())
    return {**BASE, **{f"ollama_{k}": v for k, v in data.items()},
            "fake_responses": responses, "fake_delay": 0, "fake_delay_jitter": 0}


def web_host(**data: Any) -> dict[str, Any]:
    return {"fake_delay": 0, "fake_delay_jitter": 0, **data}


def mixed_deploy() -> None:
    """A site deploy: Ollama on the llm group only, something else on the web servers."""
    if "llm" in host.groups:
        ollama()
    else:
        server.shell(name="Web things", commands=["echo web-only"])


def pyinfra_run(groups: dict[str, dict[str, dict[str, Any]]],
                deploy_func: Callable[[], None] = mixed_deploy, execute: bool = True) -> Any:
    """Prepare (and execute) deploy_func on @fake hosts, grouped; returns the State."""
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.api.operations import run_ops

    everyone = [(f"@fake/{n}", d) for members in groups.values() for n, d in members.items()]
    inventory = Inventory(
        (everyone, {}),
        **{group: ([f"@fake/{n}" for n in members], {}) for group, members in groups.items()})
    state = State(inventory, Config())
    connect_all(state)
    add_deploy(state, deploy_func)
    if execute:
        run_ops(state)
    return state


def commands(state: Any, name: str) -> list[str]:
    return list(state.inventory.get_host(f"@fake/{name}").connector.executed_commands)


# --- which hosts are validated and touched ------------------------------------------------------

def test_web_hosts_are_neither_validated_nor_touched() -> None:
    state = pyinfra_run({
        "llm": {"llm1": llm_host(), "llm2": llm_host()},
        "web": {"web1": web_host(), "web2": web_host(ollama_version="latest", ollama_bogus=1)},
    })
    assert not state.failed_hosts
    run = context_for(state)
    assert run.called == {"@fake/llm1", "@fake/llm2"}
    for name in ("llm1", "llm2"):
        assert len(commands(state, name)) == 1 and FACT_MARKER in commands(state, name)[0]
    for name in ("web1", "web2"):
        assert commands(state, name) == ["echo web-only"]


def test_an_invalid_llm_host_stops_the_run_before_any_command_listing_every_problem() -> None:
    state = pyinfra_run({
        "llm": {"llm1": llm_host(), "llm2": llm_host(keep_alive="30m\r"),
                "llm3": llm_host(models_dir="/etc")},
        "web": {"web1": web_host(ollama_version="latest")},
    }, execute=False)
    from pyinfra.api.operations import run_ops

    assert FACT_MARKER in commands(state, "llm1")[0]  # the valid host read its state (read-only)
    assert commands(state, "llm2") == commands(state, "llm3") == []  # invalid: not even a fact
    with pytest.raises(SettingsError) as raised:
        run_ops(state)
    problems = raised.value.problems
    assert any("host @fake/llm2: ollama_keep_alive" in p for p in problems)
    assert any("host @fake/llm3: ollama_models_dir = '/etc'" in p for p in problems)
    assert not any("web1" in p for p in problems)
    assert commands(state, "web1") == []  # its own operation never ran either
    assert len(commands(state, "llm1")) == 1
    lines = summary_lines(state)  # for API users; the CLI prints the SettingsError instead
    assert lines[0] == "--> ollama-fleet: 2 host(s) failed; re-running converges them " \
                       "without disturbing the others:"
    assert lines[1:] == ["    @fake/llm2: invalid settings (1 problem); nothing was changed",
                         "    @fake/llm3: invalid settings (1 problem); nothing was changed"]


def test_a_dry_run_with_an_invalid_host_cannot_succeed() -> None:
    state = pyinfra_run({"llm": {"llm1": llm_host(), "llm2": llm_host(keep_alive="30m\r")}},
                        execute=False)
    assert {h.name for h in state.failed_hosts} == {"@fake/llm2"}  # pyinfra --dry exits 1
    assert {h.name for h in state.active_hosts} == {"@fake/llm1", "@fake/llm2"}


def test_rollout_settings_must_agree_between_the_hosts_that_run_the_deploy() -> None:
    state = pyinfra_run({
        "llm": {"llm1": llm_host(rollout_batch=1), "llm2": llm_host(rollout_batch=2)},
        "web": {"web1": web_host(ollama_rollout_batch=5)},
    }, execute=False)
    from pyinfra.api.operations import run_ops

    with pytest.raises(SettingsError) as raised:
        run_ops(state)
    [problem] = raised.value.problems
    assert "ollama_rollout_batch differs" in problem and "web1" not in problem
    assert all(commands(state, n)[1:] == [] for n in ("llm1", "llm2"))


def test_agreement_is_checked_per_host_without_rereading_every_plan(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering a host costs the same at 500 hosts as at 5: the full report (which reads
    every plan) is built only once hosts disagree, so preparing a large fleet stays linear."""
    from ollama_fleet import run as run_module

    calls: list[int] = []
    real = run_module.fleet_wide_agreement

    def counted(plans: dict[str, Any]) -> list[str]:
        calls.append(len(plans))
        return real(plans)

    monkeypatch.setattr(run_module, "fleet_wide_agreement", counted)
    state = pyinfra_run({"llm": {f"llm{i}": llm_host(rollout_batch=2) for i in range(1, 6)}},
                        execute=False)
    assert calls == []  # registering five agreeing hosts read no other host's plan
    assert not state.failed_hosts

    run = context_for(state)
    first, second = run.plans["@fake/llm1"], run.plans["@fake/llm2"]
    odd = type(second)(type(second.settings)(**{**vars(second.settings), "rollout_batch": 3}),
                       second.models)
    run.set_plan("@fake/llm2", odd)
    [problem] = run.disagreement()
    assert "ollama_rollout_batch differs" in problem and "@fake/llm2=3" in problem
    run.set_plan("@fake/llm2", second)  # replaced: the odd value is forgotten
    assert run.disagreement() == []
    run.drop_plan("@fake/llm1")
    run.set_plan("@fake/llm1", first)
    assert run.disagreement() == [] and len(run.plans) == 5


# --- two runs in one process ---------------------------------------------------------------------

def test_each_run_in_one_process_is_validated_and_summarised_on_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = pyinfra_run({"llm": {"llm1": llm_host(), "llm2": llm_host(context_length=100)}})
    assert not first.failed_hosts
    printed = capsys.readouterr().err
    assert printed.count("--> ollama-fleet: 1 warning(s)") == 1
    assert "llm2: ollama_context_length = 100" in printed

    second = pyinfra_run({
        "llm": {"llm1": llm_host(), "llm3": llm_host(fact=["arch\tx86_64", "systemd\tno"])},
        "web": {"web1": web_host()},
    })
    printed = capsys.readouterr().err
    assert context_for(second) is not context_for(first)
    assert "warning" not in printed  # the first run's warning stays with the first run
    assert "--> ollama-fleet: 1 host(s) failed" in printed and "@fake/llm3: " in printed
    assert "systemd" in printed.split("@fake/llm3: ")[1]
    assert summary_lines(first)[0].startswith("--> ollama-fleet: 1 warning(s)")
    assert len(summary_lines(first)) == 2

    third = pyinfra_run({"llm": {"llm1": llm_host(), "llm2": llm_host(keep_alive="30m\r")}},
                        execute=False)
    from pyinfra.api.operations import run_ops

    with pytest.raises(SettingsError):
        run_ops(third)
    assert len(commands(third, "llm1")) == 1  # the fact only
    assert "host(s) failed" not in capsys.readouterr().err


# --- the rollout, per run -----------------------------------------------------------------------

def test_a_percentage_batch_counts_only_the_hosts_that_run_the_deploy() -> None:
    changed = converged_fact(make(keep_alive="10m"))  # every llm host restarts
    state = pyinfra_run({
        "llm": {f"llm{i}": llm_host(fact=changed, rollout_batch="50%") for i in range(1, 5)},
        "web": {f"web{i}": web_host() for i in range(1, 5)},
    })
    assert not state.failed_hosts
    run = context_for(state)
    [activation] = set(run.activations.values())
    assert set(run.activations) == {f"@fake/llm{i}" for i in range(1, 5)}
    assert state.get_op_meta(activation).global_arguments["_parallel"] == 2  # 50% of 4, not of 8
    assert all(any(RESTART in c for c in commands(state, f"llm{i}")) for i in range(1, 5))


def test_failed_activations_are_counted_by_operation_and_stop_the_rollout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    changed = converged_fact(make(keep_alive="10m"))
    hosts = {f"llm{i}": llm_host(fact=changed, rollout_batch=1, rollout_max_failures=0)
             for i in range(1, 4)}
    state = pyinfra_run({"llm": hosts, "web": {"web1": web_host()}})
    run = context_for(state)
    restarted = [n for n in hosts if any(RESTART in c for c in commands(state, n))]
    assert len(restarted) == 3 and run.rollout.failed == set()  # healthy: no failure counted

    capsys.readouterr()
    failing = {f"llm{i}": llm_host(fact=changed, fail_restart=True, rollout_batch=1,
                                   rollout_max_failures=0) for i in range(1, 4)}
    state = pyinfra_run({"llm": failing, "web": {"web1": web_host()}})
    run = context_for(state)
    restarted = [n for n in failing if any(RESTART in c for c in commands(state, n))]
    assert len(restarted) == 1  # one batch of one; the rest were halted before restarting
    assert run.rollout.failed == {f"@fake/{restarted[0]}"}
    assert run.rollout.halted == {f"@fake/{n}" for n in failing} - run.rollout.failed
    printed = capsys.readouterr().err
    assert printed.count("--> ollama-fleet: 3 host(s) failed") == 1
    assert f"@fake/{restarted[0]}: Activate (restart + health check, rollback on failure): " \
           "did not become healthy in 30s" in printed
    assert printed.count("rollout halted before this host") >= 2


# --- the keyword arguments ----------------------------------------------------------------------

def test_keyword_arguments_are_defaults_under_host_data_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def deploy() -> None:
        ollama(keep_alive="1m", num_parallel=2, context_length=4096)

    monkeypatch.setenv("OLLAMA_FLEET_NUM_PARALLEL", "3")
    state = pyinfra_run({"llm": {"llm1": llm_host(keep_alive="2m", num_parallel=4)}}, deploy,
                        execute=False)
    settings: OllamaSettings = context_for(state).plans["@fake/llm1"].settings
    assert settings.keep_alive == "2m"  # host data over the keyword argument
    assert settings.num_parallel == 3  # the environment over both
    assert settings.context_length == 4096  # the keyword argument over the default
    assert settings.load_timeout == OllamaSettings.model_fields["load_timeout"].default


def test_a_misspelt_keyword_argument_is_a_type_error() -> None:
    def deploy() -> None:
        ollama(keep_alvie="1m")

    with pytest.raises(TypeError, match="did you mean 'keep_alive'"):
        pyinfra_run({"llm": {"llm1": llm_host()}}, deploy, execute=False)


def test_windows_hosts_are_validated_through_the_same_path() -> None:
    state = pyinfra_run({"llm": {
        "win1": llm_host(platform="windows", windows_install_dir="C:\\Windows"),
        "win2": llm_host(platform="windows"),
        "lin1": llm_host(),
    }}, execute=False)
    run = context_for(state)
    assert set(run.problems) == {"@fake/win1"} and set(run.plans) == {"@fake/win2", "@fake/lin1"}
    assert any("windows_install_dir" in p for p in run.problems["@fake/win1"])
    assert commands(state, "win1") == []
    assert set(run.activations) == {"@fake/lin1"}  # Windows hosts are not in the rollout (yet)


def test_uninstall_validates_and_runs_only_where_called() -> None:
    def deploy() -> None:
        if "llm" in host.groups:
            ollama_uninstall(purge=True)

    state = pyinfra_run({"llm": {"llm1": llm_host()}, "web": {"web1": web_host()}}, deploy)
    assert not state.failed_hosts
    assert any("userdel" in c or "rm -rf" in c for c in commands(state, "llm1")[1:])
    assert commands(state, "web1") == []


def test_a_run_that_stops_early_is_still_summarised_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pyinfra.api.connect import disconnect_all
    from pyinfra.api.exceptions import PyinfraError

    changed = converged_fact(make(keep_alive="10m"))
    state = pyinfra_run({"llm": {"llm1": llm_host(fact=changed, fail_restart=True)}},
                        execute=False)
    from pyinfra.api.operations import run_ops

    with pytest.raises(PyinfraError, match="No hosts remaining"):  # the last operation never ends
        run_ops(state)
    assert "host(s) failed" not in capsys.readouterr().err
    disconnect_all(state)  # what the CLI does next, before it prints the error
    printed = capsys.readouterr().err
    assert printed.count("--> ollama-fleet: 1 host(s) failed") == 1


# --- through the pyinfra CLI --------------------------------------------------------------------

def test_a_dry_cli_run_with_an_invalid_host_prints_it_and_exits_1(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    inventory = tmp_path / "inventory.py"
    inventory.write_text(
        "llm = [('@fake/llm1', {'ollama_version': '0.13.5', 'ollama_keep_alive': '30m\\r'})]\n"
        "web = [('@fake/web1', {'ollama_version': 'latest'})]\n")
    deploy = tmp_path / "site.py"
    deploy.write_text(
        "from ollama_fleet import ollama\nfrom pyinfra import host\n"
        "if 'llm' in host.groups:\n    ollama()\n")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OLLAMA_FLEET_")}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "pyinfra"), "--dry", str(inventory), str(deploy)],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "host @fake/llm1: ollama_keep_alive = '30m\\r'" in output
    assert "web1" not in output.replace("[@fake/web1] Connected", "").replace(
        "[@fake/web1] Ready", "")
