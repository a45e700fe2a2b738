"""`ollama-fleet`: check without any connection, exit codes, JSON, --limit, skipped hosts,
environment overrides; `settings` prints the reference; the `python -m` alias of status."""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("ollama-fleet"))

GROUP_DATA_LLM = """
ollama_version = "0.13.5"
ollama_models = ["qwen2.5:0.5b"]
ollama_custom_models = [
    {"name": "bot", "modelfile": "modelfiles/bot.Modelfile.j2"},
]
"""
MODELFILE = 'FROM qwen2.5:0.5b\nPARAMETER num_ctx [[ bot_ctx | default(4096) ]]\nSYSTEM "hi"\n'


def write_repo(root: Path, inventory: str, llm: str = GROUP_DATA_LLM) -> Path:
    (root / "group_data").mkdir(parents=True, exist_ok=True)
    (root / "group_data" / "llm.py").write_text(llm)
    (root / "group_data" / "all.py").write_text('motd = "managed by pyinfra"\n')
    (root / "modelfiles").mkdir(exist_ok=True)
    (root / "modelfiles" / "bot.Modelfile.j2").write_text(MODELFILE)
    path = root / "inventory.py"
    path.write_text(textwrap.dedent(inventory))
    return path


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_FLEET_")}
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False, env={**clean, **(env or {})})


@pytest.fixture()
def listener() -> Iterator[tuple[int, socket.socket]]:
    """A TCP listener on loopback that must never see a connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield sock.getsockname()[1], sock
    finally:
        sock.close()


def connections(sock: socket.socket) -> int:
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    count = 0
    while sel.select(timeout=0.2):
        conn, _ = sock.accept()
        conn.close()
        count += 1
    sel.close()
    return count


@pytest.fixture()
def repo(tmp_path: Path, listener: tuple[int, socket.socket]) -> Path:
    port, _ = listener
    ssh = f'"ssh_hostname": "127.0.0.1", "ssh_port": {port}, "ssh_user": "deploy"'
    write_repo(tmp_path, f"""
        web = [("web-01", {{{ssh}}}), ("web-02", {{{ssh}}})]
        llm = [
            ("llm-01", {{{ssh}, "bot_ctx": 8192}}),
            ("llm-02", {{{ssh}}}),
            ("llm-03", {{"ssh_hostname": "no-such-host.invalid", "ssh_port": {port}}}),
        ]
    """)
    return tmp_path


def test_check_connects_to_nothing_and_answers(repo: Path,
                                               listener: tuple[int, socket.socket]) -> None:
    result = run_cli("check", "inventory.py", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert connections(listener[1]) == 0
    assert "3 Ollama host(s) checked, 2 skipped, 0 problem(s)" in result.stdout
    assert "no host contacted" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr  # colour only on a terminal


def test_check_in_process_opens_no_socket_and_resolves_no_name(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stronger than the listener: any connect or name lookup at all fails the test."""
    from ollama_fleet import cli

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access during check: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket, "gethostbyname", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket.socket, "connect_ex", forbidden)
    monkeypatch.chdir(repo)
    from pyinfra.context import ctx_config, ctx_inventory, ctx_state

    saved = [(ctx, ctx.get() if ctx.isset() else None) for ctx in
             (ctx_state, ctx_inventory, ctx_config)]
    try:
        loaded = cli.load_inventory("inventory.py")
        report = cli.check(loaded)
    finally:
        for ctx, value in saved:
            ctx.set(value) if value is not None else ctx.reset()
    assert report.ok, report.problems
    assert sorted(report.hosts) == ["llm-01", "llm-02", "llm-03"]
    assert not any(h.connected for h in loaded.inventory)


def test_json_shape_and_skipped_hosts(repo: Path) -> None:
    result = run_cli("check", "inventory.py", "--json", cwd=repo)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert set(report["hosts"]) == {"llm-01", "llm-02", "llm-03"}
    assert report["hosts"]["llm-01"] == {"ok": True, "problems": [], "warnings": []}
    assert report["skipped"] == {"web-01": "not an Ollama host (no ollama_* data)",
                                 "web-02": "not an Ollama host (no ollama_* data)"}
    assert report["fleet_problems"] == [] and report["environment"] == {}


def test_bad_value_is_named_with_host_and_setting_and_exits_1(tmp_path: Path) -> None:
    write_repo(tmp_path, """
        llm = [("llm-01", {"ollama_keep_alive": "1d"}), ("llm-02", {})]
    """)
    result = run_cli("check", "inventory.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "host llm-01: ollama_keep_alive = '1d'" in result.stdout
    assert "host llm-02" not in result.stdout
    assert "1 problem(s) on 1 host(s)" in result.stdout
    report = json.loads(run_cli("check", "inventory.py", "--json", cwd=tmp_path).stdout)
    assert report["ok"] is False
    assert report["hosts"]["llm-02"]["ok"] is True
    [problem] = report["hosts"]["llm-01"]["problems"]
    assert problem.startswith("host llm-01: ollama_keep_alive = '1d'")


def test_modelfile_problem_is_reported(tmp_path: Path) -> None:
    write_repo(tmp_path, 'llm = [("llm-01", {"bot_ctx": "lots"})]\n')
    result = run_cli("check", "inventory.py", "--json", cwd=tmp_path)
    assert result.returncode == 1
    [problem, *_] = json.loads(result.stdout)["hosts"]["llm-01"]["problems"]
    assert "llm-01" in problem and "num_ctx" in problem


def test_warnings_alone_pass_unless_strict(tmp_path: Path) -> None:
    write_repo(tmp_path, """
        llm = [("llm-01", {"ollama_context_length": 1024}),
               ("llm-02", {"ollama_context_length": 1024, "ollama_strict": True})]
    """)
    result = run_cli("check", "inventory.py", "--limit", "llm-01", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "--> ollama-fleet warning: host llm-01: ollama_context_length = 1024" in result.stdout
    assert "1 warning(s)" in result.stdout
    strict = run_cli("check", "inventory.py", "--json", cwd=tmp_path)
    assert strict.returncode == 1
    hosts = json.loads(strict.stdout)["hosts"]
    assert hosts["llm-01"]["ok"] and hosts["llm-01"]["warnings"]
    assert not hosts["llm-02"]["ok"]
    assert "ollama_strict is on" in hosts["llm-02"]["problems"][0]


def test_limit_by_group_and_pattern(repo: Path) -> None:
    by_name = json.loads(run_cli("check", "inventory.py", "--json", "--limit", "llm-0[12]",
                                 cwd=repo).stdout)
    assert set(by_name["hosts"]) == {"llm-01", "llm-02"} and by_name["skipped"] == {}
    by_group = json.loads(run_cli("check", "inventory.py", "--json", "--limit", "web",
                                  "--limit", "llm-03", cwd=repo).stdout)
    assert set(by_group["hosts"]) == {"llm-03"}
    assert set(by_group["skipped"]) == {"web-01", "web-02"}
    nothing = run_cli("check", "inventory.py", "--limit", "db-*", cwd=repo)
    assert nothing.returncode == 2
    assert "'db-*' matches no host" in nothing.stderr


def test_environment_overrides_apply_and_are_reported(repo: Path) -> None:
    env = {"OLLAMA_FLEET_VERSION": "0.14.0", "OLLAMA_FLEET_HTTPS_PROXY": "http://u:pw@proxy:3128"}
    result = run_cli("check", "inventory.py", "--json", cwd=repo, env=env)
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["environment"] == {"OLLAMA_FLEET_HTTPS_PROXY": "<hidden>",
                                     "OLLAMA_FLEET_VERSION": "0.14.0"}
    text = run_cli("check", "inventory.py", cwd=repo, env=env).stdout
    assert "Environment overrides for every host: OLLAMA_FLEET_HTTPS_PROXY=<hidden>" in text
    assert "pw" not in text

    bad = run_cli("check", "inventory.py", "--json", cwd=repo, env={"OLLAMA_FLEET_PORT": "0"})
    assert bad.returncode == 1
    problems = json.loads(bad.stdout)["hosts"]["llm-02"]["problems"]
    assert problems[0].startswith("host llm-02: ollama_port (from OLLAMA_FLEET_PORT) = '0'")


def test_environment_overrides_given_as_json_show_no_secret(repo: Path) -> None:
    """A CI pipeline passes the proxy's tokens as OLLAMA_FLEET_AUTH_PROXY: check's listing of
    the overrides (printed in every CI log) hides them, as it hides a proxy password."""
    env = {"OLLAMA_FLEET_AUTH_PROXY": json.dumps({"bearer_tokens": ["tok-s3cr3t-s3cr3t-s3cr3t"]}),
           "OLLAMA_FLEET_EXTRA_ENV": json.dumps({"API_TOKEN": "zz-hush", "MODE": "fast"})}
    report = json.loads(run_cli("check", "inventory.py", "--json", cwd=repo, env=env).stdout)
    assert report["environment"] == {
        "OLLAMA_FLEET_AUTH_PROXY": "{'bearer_tokens': ['<hidden>']}",
        "OLLAMA_FLEET_EXTRA_ENV": "{'API_TOKEN': '<hidden>', 'MODE': 'fast'}"}
    text = run_cli("check", "inventory.py", cwd=repo, env=env)
    assert "s3cr3t" not in text.stdout + text.stderr
    assert "zz-hush" not in text.stdout + text.stderr

    typo = run_cli("check", "inventory.py", cwd=repo, env={"OLLAMA_FLEET_VERSOIN": "0.14.0"})
    assert typo.returncode == 1
    assert "environment variable OLLAMA_FLEET_VERSOIN is not a setting" in typo.stdout


def test_data_override_like_pyinfra(repo: Path) -> None:
    result = run_cli("check", "inventory.py", "--data", "ollama_port=0", "--json", cwd=repo)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert "web-01" in report["hosts"]  # --data gives every host ollama_* data
    assert "ollama_port = 0" in report["hosts"]["llm-01"]["problems"][0]


def test_fleet_wide_problem_is_not_a_host_problem(tmp_path: Path) -> None:
    write_repo(tmp_path, """
        llm = [("llm-01", {"ollama_rollout_batch": 1}), ("llm-02", {"ollama_rollout_batch": 2})]
    """)
    result = run_cli("check", "inventory.py", "--json", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert all(h["ok"] for h in report["hosts"].values())
    assert "ollama_rollout_batch differs between hosts" in report["fleet_problems"][0]


def test_unreadable_inventory_exits_2(tmp_path: Path) -> None:
    missing = run_cli("check", "nope.py", cwd=tmp_path)
    assert missing.returncode == 2 and "no inventory file 'nope.py'" in missing.stderr
    (tmp_path / "broken.py").write_text("hosts = [\n")
    broken = run_cli("check", "broken.py", cwd=tmp_path)
    assert broken.returncode == 2 and "cannot load inventory broken.py" in broken.stderr
    usage = run_cli("check", cwd=tmp_path)
    assert usage.returncode == 2


def test_verbose_lists_valid_hosts(repo: Path) -> None:
    result = run_cli("check", "inventory.py", "-v", cwd=repo)
    assert result.returncode == 0
    assert "ok  llm-01" in result.stdout and "skipped  web-01" in result.stdout
    assert "Loaded inventory.py: 3 Ollama host(s), 2 other(s)" in result.stderr


def test_settings_prints_the_reference() -> None:
    result = run_cli("settings", cwd=ROOT)
    assert result.returncode == 0
    assert result.stdout == (ROOT / "docs" / "settings.md").read_text()


def test_version() -> None:
    from importlib.metadata import version

    result = run_cli("--version", cwd=ROOT)
    assert result.returncode == 0
    assert result.stdout.strip() == f"ollama-fleet {version('ollama-fleet')}"


def test_status_skips_non_ollama_hosts_without_connecting(
        tmp_path: Path, listener: tuple[int, socket.socket]) -> None:
    port, sock = listener
    host = f'{{"ssh_hostname": "127.0.0.1", "ssh_port": {port}}}'
    write_repo(tmp_path, f'web = [("web-01", {host})]\n')
    for cmd in ([CLI, "status", "inventory.py", "--json"],
                [sys.executable, "-m", "ollama_fleet.status", "inventory.py", "--json"]):
        result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == []
    assert connections(sock) == 0
