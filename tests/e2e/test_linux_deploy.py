"""The Linux deploy on real systemd hosts: fresh install, idempotence, targeted restarts,
upgrades and downgrades, checksum failures, refusal of bad settings, escaping, unit checks."""

from __future__ import annotations

import json

import pytest

from .conftest import deploy, main_pid, server_environ, sh, ssh, wipe

pytestmark = pytest.mark.lab

HOSTS = ["lab01", "lab02", "lab03"]
TRICKY = 'a "quoted" 100% $HOME \\back `tick` end'


def three_hosts(lab02_keep_alive: str = "10m") -> dict[str, dict]:
    """Three hosts, three different settings: the fleet every test below starts from."""
    return {
        "lab01": {"ollama_num_parallel": 2, "ollama_extra_env": {
            "OLLAMA_STANDIN_REGISTRY": "http://10.231.0.1:8080", "FLEET_TRICKY": TRICKY}},
        "lab02": {"ollama_port": 11500, "ollama_keep_alive": lab02_keep_alive},
        "lab03": {"ollama_models_dir": "/srv/models", "ollama_context_length": 8192},
    }


@pytest.fixture(scope="module")
def fresh(lab, artifacts):  # noqa: ANN001 - fixtures
    wipe(HOSTS)
    result = deploy(three_hosts())
    assert result.returncode == 0, result.output
    return result


def test_fresh_deploy_runs_and_answers_on_the_configured_address(fresh) -> None:  # noqa: ANN001
    for name, url in (("lab01", "127.0.0.1:11434"), ("lab02", "127.0.0.1:11500"),
                      ("lab03", "127.0.0.1:11434")):
        assert sh(name, "systemctl is-active ollama").strip() == "active"
        assert sh(name, "systemctl is-enabled ollama").strip() == "enabled"
        answer = json.loads(sh(name, f"curl -fsS http://{url}/api/version"))
        assert answer == {"version": "0.13.5"}
        assert "ollama version is 0.13.5" in sh(name, f"OLLAMA_HOST={url} ollama --version")


def test_running_process_has_exactly_the_configured_environment(fresh) -> None:  # noqa: ANN001
    env = server_environ("lab01")
    ours = {k: v for k, v in env.items() if k.startswith(("OLLAMA_", "FLEET_"))}
    assert ours == {
        "OLLAMA_HOST": "127.0.0.1:11434",
        "OLLAMA_MODELS": "/usr/share/ollama/.ollama/models",
        "OLLAMA_NUM_PARALLEL": "2",
        "OLLAMA_STANDIN_REGISTRY": "http://10.231.0.1:8080",
        "FLEET_TRICKY": TRICKY,
    }
    env3 = server_environ("lab03")
    assert env3["OLLAMA_MODELS"] == "/srv/models"
    assert env3["OLLAMA_CONTEXT_LENGTH"] == "8192"
    assert server_environ("lab02")["OLLAMA_KEEP_ALIVE"] == "10m"


def test_models_dir_is_owned_by_the_service_user(fresh) -> None:  # noqa: ANN001
    assert sh("lab01", "stat -c %U:%G /usr/share/ollama/.ollama/models").strip() == (
        "ollama:ollama")
    assert sh("lab03", "stat -c %U:%G /srv/models").strip() == "ollama:ollama"
    assert sh("lab01", "id -nu $(systemctl show -p MainPID --value ollama | "
              "xargs -I{} stat -c %u /proc/{})").strip() == "ollama"


def test_second_run_changes_nothing_restarts_nothing_uploads_nothing(fresh) -> None:  # noqa: ANN001
    before = {name: main_pid(name) for name in HOSTS}
    result = deploy(three_hosts(), "-vv")
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert result.changed(name) == [], f"{name} changed: {result.changed(name)}"
        assert main_pid(name) == before[name]
    totals = result.report["results"]["totals"]
    assert totals["success"] == 0 and totals["error"] == 0


def test_changing_one_setting_restarts_only_that_host_once(fresh) -> None:  # noqa: ANN001
    before = {name: main_pid(name) for name in HOSTS}
    restarts_before = int(sh("lab02", "systemctl show -p NRestarts --value ollama") or 0)
    result = deploy(three_hosts(lab02_keep_alive="30m"))
    assert result.returncode == 0, result.output
    assert main_pid("lab01") == before["lab01"]
    assert main_pid("lab03") == before["lab03"]
    assert main_pid("lab02") != before["lab02"]
    assert server_environ("lab02")["OLLAMA_KEEP_ALIVE"] == "30m"
    assert result.changed("lab01") == [] and result.changed("lab03") == []
    activations = [op for op in result.changed("lab02") if "activate" in op.lower()]
    assert len(activations) == 1
    journal = sh("lab02", "journalctl -u ollama -o cat --no-pager | grep -c 'Listening on' || true")
    assert int(journal.strip()) >= 2
    assert int(sh("lab02", "systemctl show -p NRestarts --value ollama") or 0) == restarts_before


def test_upgrade_then_downgrade_switch_atomically_and_keep_the_previous_release(  # noqa: ANN001
    fresh,
) -> None:
    up = deploy({"lab01": {"ollama_version": "0.14.1"}})
    assert up.returncode == 0, up.output
    assert json.loads(sh("lab01", "curl -fsS localhost:11434/api/version"))["version"] == "0.14.1"
    versions = sh("lab01", "ls /opt/ollama/versions").split()
    assert versions == ["0.13.5", "0.14.1"]
    assert sh("lab01", "readlink /opt/ollama/current").strip() == "versions/0.14.1"

    down = deploy({"lab01": {"ollama_version": "0.12.0"}})
    assert down.returncode == 0, down.output
    assert json.loads(sh("lab01", "curl -fsS localhost:11434/api/version"))["version"] == "0.12.0"
    # keep_versions=2: the running release and the one before it.
    assert sorted(sh("lab01", "ls /opt/ollama/versions").split()) == ["0.12.0", "0.14.1"]
    assert not ssh("lab01", "ls /opt/ollama/versions/.partial-* 2>/dev/null").stdout


def test_air_gapped_release_comes_from_the_controller(fresh, artifacts) -> None:  # noqa: ANN001
    # The hosts' download URL leads nowhere: the release can only arrive as an upload.
    release = artifacts / "files" / "releases" / "v0.14.1"
    data = {**three_hosts()["lab03"], "ollama_version": "0.14.1",
            "ollama_archive_file": str(release),
            "ollama_archive_url": "http://10.231.0.1:9/nowhere/{filename}"}
    try:
        result = deploy({"lab03": data})
        assert result.returncode == 0, result.output
        assert json.loads(sh("lab03", "curl -fsS localhost:11434/api/version"))["version"] == (
            "0.14.1")
        assert sh("lab03", "ls -A /var/lib/ollama-fleet/uploads") == ""  # archive cleaned up
        again = deploy({"lab03": data})
        assert again.returncode == 0 and again.changed("lab03") == [], again.output
    finally:
        assert deploy({"lab03": three_hosts()["lab03"]}).returncode == 0


def test_checksum_mismatch_leaves_the_host_as_it_was(fresh) -> None:  # noqa: ANN001
    pid = main_pid("lab02")
    before = sh("lab02", "ls /opt/ollama/versions; readlink /opt/ollama/current")
    result = deploy({"lab02": {"ollama_version": "0.14.1", "ollama_port": 11500,
                               "ollama_keep_alive": "30m", "ollama_sha256": "0" * 64}})
    assert result.returncode != 0
    assert "checksum mismatch" in result.output
    assert sh("lab02", "ls /opt/ollama/versions; readlink /opt/ollama/current") == before
    assert main_pid("lab02") == pid
    assert json.loads(sh("lab02", "curl -fsS localhost:11500/api/version"))["version"] == "0.13.5"


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        ({"ollama_keep_alive": "1d"}, "ollama_keep_alive = '1d'"),
        ({"ollama_port": 70000}, "ollama_port = 70000"),
        ({"ollama_num_parallel": "lots"}, "ollama_num_parallel = 'lots'"),
        ({"ollama_kv_cache_type": "q5_1"}, "ollama_kv_cache_type = 'q5_1'"),
        ({"ollama_models_dir": "relative/models"}, "ollama_models_dir = 'relative/models'"),
        ({"ollama_extra_env": {"HTTP_PROXY": "http://p:3128"}}, "HTTP_PROXY"),
        ({"ollama_version": "0.5.7", "ollama_context_length": 4096}, "0.5.13"),
        ({"ollama_host": "0.0.0.0"}, "no authentication"),
        ({"ollama_host": "http://127.0.0.1"}, "port 80"),
    ],
)
def test_invalid_settings_stop_the_run_before_any_host_is_touched(  # noqa: ANN001
    fresh, data: dict, phrase: str,
) -> None:
    marker = "stat -c %Y /etc/systemd/system/ollama.service.d/ollama-fleet.conf; " \
             "systemctl show -p MainPID --value ollama; ls /var/lib/ollama-fleet/staged"
    before = {name: sh(name, marker) for name in ("lab01", "lab03")}
    # lab01 is valid; only lab03 is wrong, yet neither may be touched.
    result = deploy({"lab01": {"ollama_version": "0.12.0"}, "lab03": data})
    assert result.returncode != 0
    assert "host lab03" in result.output and phrase in result.output
    assert {name: sh(name, marker) for name in ("lab01", "lab03")} == before


def test_systemd_analyze_verify_accepts_the_rendered_units(fresh) -> None:  # noqa: ANN001
    for name in HOSTS:
        result = ssh(name, "systemd-analyze verify /etc/systemd/system/ollama.service")
        assert result.returncode == 0, result.stderr
        assert "ollama" not in result.stderr.lower(), result.stderr


def test_an_untraversable_models_parent_fails_that_host_with_the_reason(fresh) -> None:  # noqa: ANN001
    sh("lab03", "mkdir -p /home/private && chmod 0700 /home/private")
    try:
        result = deploy({"lab03": {"ollama_models_dir": "/home/private/ollama-models"}})
        assert result.returncode != 0
        assert "/home/private" in result.output and "permission denied" in result.output
        # Refused before anything changed: still serving from its old models dir.
        assert server_environ("lab03")["OLLAMA_MODELS"] == "/srv/models"
    finally:
        sh("lab03", "rm -rf /home/private")


def test_proxy_credentials_live_in_a_0600_file_and_are_never_printed(fresh) -> None:  # noqa: ANN001
    secret = "s3cr3t-Pa55"
    data = {"ollama_port": 11500, "ollama_keep_alive": "30m",
            "ollama_https_proxy": f"http://fleet:{secret}@10.231.0.1:8888"}
    result = deploy({"lab02": data}, "-vv")
    assert result.returncode == 0, result.output
    assert secret not in result.output
    assert sh("lab02", "stat -c '%a %U' /etc/ollama-fleet/ollama.env").strip() == "600 root"
    assert secret not in dropin_text("lab02")
    assert server_environ("lab02")["HTTPS_PROXY"] == f"http://fleet:{secret}@10.231.0.1:8888"
    assert secret not in sh("lab02", "ps -eo args")


def dropin_text(name: str) -> str:
    return sh(name, "cat /etc/systemd/system/ollama.service.d/ollama-fleet.conf")
