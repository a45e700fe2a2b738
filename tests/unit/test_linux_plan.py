"""What the Linux deploy plans for one host in each situation, driven through pyinfra's @fake
connector with recorded state-fact output (the same decisions the lab tests prove on real hosts)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from ollama_fleet.linux.deploy import deploy_linux
from ollama_fleet.linux.layout import STATE_DIR, Layout
from ollama_fleet.linux.models import record_name
from ollama_fleet.model_plan import plan_models
from ollama_fleet.settings import OllamaSettings, settings_from_data

from tests.fake_hosts import run_fake_deploy

BASE = {"ollama_version": "0.13.5", "ollama_models": ["qwen2.5:0.5b"],
        "ollama_custom_models": [{"name": "q-32k", "from": "qwen2.5:0.5b",
                                  "parameters": {"num_ctx": 32768}}]}
FACT_MARKER = 'say arch "$(uname -m)"'


def make(**data: Any) -> OllamaSettings:
    return settings_from_data({**BASE, **{f"ollama_{k}": v for k, v in data.items()}}, "web1")


def converged_fact(settings: OllamaSettings) -> list[str]:
    """What the state fact prints for a host that already matches these settings."""
    layout = Layout(settings)
    files = layout.managed_files()
    plan = plan_models(settings, "web1", {})
    owner = f"{settings.service_user} {settings.service_group}"
    lines = ["arch\tx86_64", "systemd\tyes", "tool\tcurl", "tool\tzstd", "tool\tsystemctl",
             "@passwd", "ollama:x:999:999::/usr/share/ollama:/bin/false",
             "@user_groups", "ollama", "@groups", "ollama:x:999:", "@end",
             f"version_dir\t{settings.version} complete", f"current\t{settings.version}",
             "service_unit\tollama.service",
             "@units", "Id=ollama.service", "ActiveState=active", "UnitFileState=enabled", "",
             "Id=nginx.service", "ActiveState=inactive", "UnitFileState=", "@end",
             f"applied\t{layout.applied_digest(files)}",
             f"applied_models_dir\t{settings.models_dir}",
             "api\t" + json.dumps({"version": settings.version})]
    lines += [f"filekey\t{f.key} {f.dest}" for f in files]
    lines += ["@hash"] + [f"{f.sha256}  {f.dest}" for f in files if f.content is not None]
    lines += ["@paths"] + [f"{owner} 755 {d}" for d in (
        f"{settings.install_dir}/versions", STATE_DIR, f"{STATE_DIR}/modelfiles",
        f"{STATE_DIR}/staged", f"{STATE_DIR}/uploads", settings.service_home,
        f"{settings.service_home}/.ollama", settings.models_dir)] + ["@end"]
    lines += ["@manifests", "abc  ./registry.ollama.ai/library/qwen2.5/0.5b",
              "def  ./registry.ollama.ai/library/q-32k/latest", "@end"]
    lines += ["@records"] + [f"{m.name} {m.digest}" for m in plan.custom] + ["@end"]
    return lines


def run(settings: OllamaSettings, fact: list[str]) -> tuple[list[str], list[str]]:
    """Prepare and execute deploy_linux on one fake host; (commands, upload destinations)."""
    plan = plan_models(settings, "web1", {})
    return run_fake_deploy(deploy_linux, (settings, plan, 1), {FACT_MARKER: fact})


def test_no_change_is_one_remote_command_and_no_upload() -> None:
    settings = make()
    commands, uploads = run(settings, converged_fact(settings))
    assert len(commands) == 1 and FACT_MARKER in commands[0]
    assert uploads == []


@pytest.mark.parametrize("data", [
    {"keep_alive": "10m", "num_parallel": 2, "flash_attention": True},
    {"https_proxy": "http://user:pw@proxy:3128", "no_proxy": [".example.com"]},
    {"extra_env": {"OLLAMA_NOHISTORY": "1"}, "harden_unit": False},
])
def test_converged_host_with_other_settings_is_one_remote_command(data: dict) -> None:
    settings = make(**data)
    commands, uploads = run(settings, converged_fact(settings))
    assert len(commands) == 1 and FACT_MARKER in commands[0]
    assert uploads == []


def test_one_setting_changed_uploads_the_dropin_and_restarts_once() -> None:
    old = make()
    new = make(keep_alive="10m")
    commands, uploads = run(new, converged_fact(old))
    assert uploads == [f"{STATE_DIR}/staged/dropin"]
    restarts = [c for c in commands if 'systemctl restart "$unit"' in c]
    assert len(restarts) == 1
    assert len(commands) == 2  # the fact, then the activation


def test_changed_modelfile_is_pushed_and_created_alone() -> None:
    settings = make(custom_models=[{"name": "q-32k", "from": "qwen2.5:0.5b",
                                    "parameters": {"num_ctx": 16384}}])
    commands, uploads = run(settings, converged_fact(make()))
    modelfile = f"{STATE_DIR}/modelfiles/{record_name('q-32k:latest')}.Modelfile"
    assert uploads == [modelfile]
    assert len(commands) == 2 and f"\ncreate q-32k:latest {modelfile} " in commands[1]
    assert "\npull " not in commands[1]  # the base model is present


def test_upgrade_installs_verifies_and_switches() -> None:
    settings = make(version="0.14.1")
    commands, uploads = run(settings, converged_fact(make()))
    install = next(c for c in commands if "ollama-linux-amd64.tar.zst" in c)
    assert "sha256sum.txt" in install and "checksum mismatch" in install
    activation = next(c for c in commands if 'systemctl restart "$unit"' in c)
    assert "versions/0.14.1" in activation
    assert uploads == []  # the release comes from the mirror; nothing changed in the files


def test_fresh_host_gets_everything_in_order() -> None:
    settings = make()
    commands, uploads = run(settings, ["arch\tx86_64", "systemd\tyes", "api\tdown"])
    kinds = ["useradd", "install -d", "tar -xzf", 'systemctl restart "$unit"',
             "\npull qwen2.5:0.5b", "\ncreate q-32k:latest"]
    order = [(i, c.index(kind)) for kind in kinds
             for i, c in enumerate(commands) if kind in c]
    assert len(order) == len(kinds) and order == sorted(order)
    assert len(commands) == 4  # fact, install (account + directories + release), activate, models
    assert {f"{STATE_DIR}/staged/unit", f"{STATE_DIR}/staged/dropin"} <= set(uploads)


def test_host_without_systemd_fails_with_a_reason_and_nothing_else(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pyinfra.api.exceptions import PyinfraError

    with pytest.raises((PyinfraError, AssertionError)):  # the only host failed
        run(make(), ["arch\tx86_64", "systemd\tno"])
    assert "does not run systemd" in caplog.text


def test_air_gapped_release_is_uploaded_into_a_directory_made_first(tmp_path) -> None:  # noqa: ANN001
    archive = tmp_path / "ollama-linux-amd64.tgz"
    archive.write_bytes(b"not really a release, but its digest is listed")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (tmp_path / "sha256sum.txt").write_text(f"{digest}  ./ollama-linux-amd64.tgz\n")
    settings = make(archive_file=str(tmp_path))
    commands, uploads = run(settings, ["arch\tx86_64", "systemd\tyes", "api\tdown"])
    uploaded = f"{STATE_DIR}/uploads/ollama-linux-amd64.tgz"
    assert uploads[0] == uploaded
    setup = next(i for i, c in enumerate(commands) if f"install -d -m 0700 {STATE_DIR}" in c)
    unpack = next(i for i, c in enumerate(commands) if f"archive={uploaded}" in c)
    assert setup < unpack and "useradd" in commands[setup]
    assert f"expected={digest}" in commands[unpack]
    assert "download of" not in commands[unpack]  # nothing is fetched from the network
