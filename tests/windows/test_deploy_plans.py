"""Commands planned for a Windows host in each situation, run through pyinfra's @fake connector."""

from __future__ import annotations

import hashlib
import re

import pytest
from ollama_fleet.windows import desired

from .helpers import (
    VERSION,
    custom_model,
    plan,
    raw_fixture,
    raw_with,
    run_deploy,
    scripts,
    settings,
)


def converged(the_settings=None, **changes) -> str:
    """The installed.json recording, with the launcher digest this code would write."""
    where = desired.layout(the_settings or settings())
    digest = hashlib.sha256(desired.serve_script_bytes(where)).hexdigest()
    return raw_with("installed", launcher_sha256=digest, **changes)


def count(texts: list[str], pattern: str) -> int:
    return sum(len(re.findall(pattern, text)) for text in texts)


def test_fresh_host_installs_configures_starts_and_pulls() -> None:
    commands, uploads = run_deploy(settings(), plan(), raw_fixture("fresh"))
    texts = scripts(commands)
    assert uploads == []
    assert "Invoke-WebRequest -Uri 'https://github.com/ollama/ollama/releases/download/" \
           "v0.13.5/ollama-windows-amd64.zip'" in texts[2]
    # The digest is checked before anything is unpacked.
    assert texts[2].index("Get-FileHash") < texts[2].index("Expand-Archive")
    assert count(texts, r"SetEnvironmentVariable\(\$name, \$set") == 1
    assert "'OLLAMA_HOST' = '127.0.0.1:11434'" in texts[3]
    assert "Register-ScheduledTask" in texts[4] and "-AtStartup" in texts[4]
    assert "Start-ScheduledTask" in texts[5]
    assert "/api/version" in texts[6]
    assert "'qwen2.5:7b'" in texts[7] and "/api/pull" in texts[7]
    assert len(commands) == 8


def test_no_change_runs_only_the_fact() -> None:
    commands, uploads = run_deploy(settings(), plan(), converged())
    assert len(commands) == 1 and uploads == []
    assert "ConvertTo-Json -InputObject $r" in scripts(commands)[0]


def test_one_setting_changed_sets_one_variable_and_restarts() -> None:
    changed = settings(keep_alive="10m")
    env = {"OLLAMA_HOST": "127.0.0.1:11434", "OLLAMA_MODELS": r"C:\ProgramData\Ollama\models",
           "OLLAMA_KEEP_ALIVE": None, "HTTPS_PROXY": None}
    commands, _ = run_deploy(changed, plan(), converged(changed, env=env))
    texts = scripts(commands)
    assert len(commands) == 4  # fact, environment, restart, health check
    assert "$set = [ordered]@{'OLLAMA_KEEP_ALIVE' = '10m'}" in texts[1]
    assert count(texts, r"Start-ScheduledTask") == 1
    assert "/api/version" in texts[3]


def test_dropped_variable_is_removed_from_the_machine() -> None:
    env = {"OLLAMA_HOST": "127.0.0.1:11434", "OLLAMA_MODELS": r"C:\ProgramData\Ollama\models",
           "OLLAMA_DEBUG": "1", "HTTPS_PROXY": None}
    commands, _ = run_deploy(settings(), plan(), converged(
        env=env, managed_env=["OLLAMA_HOST", "OLLAMA_MODELS", "OLLAMA_DEBUG"]))
    texts = scripts(commands)
    assert "foreach ($name in @('OLLAMA_DEBUG'))" in texts[1]
    assert "$set = [ordered]@{}" in texts[1]


def test_new_modelfile_is_uploaded_and_created_once() -> None:
    model = custom_model()
    commands, uploads = run_deploy(settings(), plan(custom=(model,)), converged())
    texts = scripts(commands)
    assert uploads == ["C:/ProgramData/ollama-fleet/modelfiles/qwen2.5%3A7b-32k.Modelfile"]
    assert len(commands) == 2
    assert "& $exe create $name -f 'C:\\ProgramData\\ollama-fleet\\modelfiles\\" \
           "qwen2.5%3A7b-32k.Modelfile'" in texts[1]
    assert model.digest in texts[1]


def test_recorded_modelfile_is_not_created_again() -> None:
    model = custom_model()
    state = converged(
        models=["registry.ollama.ai/library/qwen2.5/7b",
                "registry.ollama.ai/library/qwen2.5/7b-32k"],
        modelfiles={"qwen2.5%3A7b-32k": model.digest})
    commands, uploads = run_deploy(settings(), plan(custom=(model,)), state)
    assert len(commands) == 1 and uploads == []


def test_upgrade_installs_rewires_restarts_checks_and_prunes() -> None:
    newer = settings(version="0.14.0", keep_versions=1)
    state = converged(api_version=VERSION)
    commands, _ = run_deploy(newer, plan(), state)
    texts = scripts(commands)
    assert "$version = '0.14.0'" in texts[1]
    assert "Register-ScheduledTask" in texts[2]
    assert "Start-ScheduledTask" in texts[3]
    assert "$want = '0.14.0'" in texts[4]
    # Old versions go only after the new one answers (a running exe cannot be deleted).
    assert "C:\\Program Files\\Ollama\\0.13.4" in texts[5]
    assert "C:\\Program Files\\Ollama\\0.13.5" in texts[5]
    assert len(commands) == 6


def test_controller_upload_is_verified_on_the_host(tmp_path) -> None:
    archive = tmp_path / "ollama-windows-amd64.zip"
    archive.write_bytes(b"zip")
    digest = hashlib.sha256(b"zip").hexdigest()
    (tmp_path / "sha256sum.txt").write_text(f"{digest}  ./ollama-windows-amd64.zip\n")
    offline = settings(archive_file=str(tmp_path), sha256=None)
    commands, uploads = run_deploy(offline, plan(), raw_fixture("fresh"))
    assert uploads == ["C:/ProgramData/ollama-fleet/staged/ollama-windows-amd64.zip"]
    install = scripts(commands)[2]
    assert "Invoke-WebRequest" not in install
    assert f"$expected = '{digest}'" in install


def test_firewall_rule_follows_allow_networks() -> None:
    exposed = settings(host="0.0.0.0", allow_networks=["10.0.0.0/8"])
    env = {"OLLAMA_HOST": "0.0.0.0:11434", "OLLAMA_MODELS": r"C:\ProgramData\Ollama\models",
           "HTTPS_PROXY": None}
    commands, _ = run_deploy(exposed, plan(), converged(exposed, env=env))
    assert len(commands) == 2
    assert "New-NetFirewallRule" in scripts(commands)[1]
    assert "-RemoteAddress @('10.0.0.0/8')" in scripts(commands)[1]
    # Windows reports the same rule back with a netmask: no change.
    rule = {"enabled": "True", "action": "Allow", "direction": "Inbound", "protocol": "TCP",
            "ports": ["11434"], "remote": ["10.0.0.0/255.0.0.0"]}
    commands, _ = run_deploy(exposed, plan(), converged(exposed, env=env, firewall=rule))
    assert len(commands) == 1
    # Emptying the allowlist removes the rule.
    commands, _ = run_deploy(settings(), plan(), converged(firewall=rule))
    assert "Remove-NetFirewallRule" in scripts(commands)[1]


def test_prune_removes_exact_undeclared_names_never_bases() -> None:
    model = custom_model()
    state = converged(
        models=["registry.ollama.ai/library/qwen2.5/7b",
                "registry.ollama.ai/library/qwen2.5/7b-32k",
                "registry.ollama.ai/library/llama3/latest"],
        modelfiles={"qwen2.5%3A7b-32k": model.digest})
    commands, _ = run_deploy(settings(models=[]), plan(custom=(model,), prune=True), state)
    texts = scripts(commands)
    assert len(commands) == 2
    assert "foreach ($model in @('llama3:latest'))" in texts[1]


def test_secret_is_masked_and_compared_by_digest() -> None:
    proxied = settings(https_proxy="http://user:pw@proxy:3128")
    commands, _ = run_deploy(proxied, plan(), converged(proxied))
    assert len(commands) == 4  # fact, environment (masked), restart, health check
    assert "*MASKED*" in commands[1] and "pw@proxy" not in commands[1]
    env = {"OLLAMA_HOST": "127.0.0.1:11434", "OLLAMA_MODELS": r"C:\ProgramData\Ollama\models",
           "HTTPS_PROXY": hashlib.sha256(b"http://user:pw@proxy:3128").hexdigest()}
    commands, _ = run_deploy(proxied, plan(), converged(
        proxied, env=env, managed_env=["HTTPS_PROXY", "OLLAMA_HOST", "OLLAMA_MODELS"]))
    assert len(commands) == 1


def test_server_down_is_restarted_and_checked() -> None:
    commands, _ = run_deploy(settings(), plan(), converged(api_version=None))
    texts = scripts(commands)
    assert len(commands) == 3
    assert "Start-ScheduledTask" in texts[1] and "/api/version" in texts[2]


@pytest.mark.parametrize("account,user", [("NETWORK SERVICE", "NT AUTHORITY\\NETWORK SERVICE"),
                                           ("svc-ollama", "svc-ollama")])
def test_service_account_gets_the_task_and_the_models_folder(account: str, user: str) -> None:
    commands, _ = run_deploy(settings(windows_service_account=account), plan(), converged())
    texts = scripts(commands)
    assert "FileSystemAccessRule('" + user + "'" in texts[1]
    assert f"-UserId '{user}'" in texts[2]
    assert ("-LogonType 'S4U'" in texts[2]) == (account == "svc-ollama")


def test_desktop_no_change_and_upgrade() -> None:
    desk = settings(windows_mode="desktop", sha256=None)
    commands, _ = run_deploy(desk, plan(), raw_fixture("desktop"))
    assert len(commands) == 1
    newer = settings(windows_mode="desktop", version="0.14.0", sha256=None)
    commands, _ = run_deploy(newer, plan(), raw_fixture("desktop"))
    texts = scripts(commands)
    assert len(commands) == 4  # fact, installer, app restart, health check
    assert "/VERYSILENT /NORESTART /SUPPRESSMSGBOXES" in texts[1]
    assert "'(^|, )O=Ollama Inc\\.(,|$)'" in texts[1]
    assert texts[1].index("Get-AuthenticodeSignature") < texts[1].index("Start-Process")
    assert "OllamaSetup.exe" in texts[1]
    assert "-LogonType Interactive" in texts[2]
    assert "$want = '0.14.0'" in texts[3]


def test_bad_windows_path_is_refused_before_any_host_is_touched() -> None:
    from ollama_fleet.settings import SettingsError, settings_from_data

    expected = "host ws1: ollama_windows_install_dir = 'Program Files'"
    with pytest.raises(SettingsError, match=expected):
        settings_from_data({"ollama_version": VERSION, "ollama_platform": "windows",
                            "ollama_windows_install_dir": "Program Files"}, "ws1")
