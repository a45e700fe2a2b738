"""A fleet reached as an unprivileged SSH user with sudo, as inventory/example.py declares it."""

from __future__ import annotations

import pytest

from .conftest import deploy, main_pid, sh, wipe

pytestmark = pytest.mark.lab

HOST = "lab05"
SECRET = "pw-secret-123"


@pytest.fixture(scope="module")
def deploy_user(lab, artifacts):  # noqa: ANN001 - fixtures
    """A `deploy` user with passwordless sudo and the lab key (sudo comes from the mirror)."""
    wipe([HOST])
    sh(HOST, "command -v sudo >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
             "sudo >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
             "apt-get install -y -qq sudo; } >/dev/null 2>&1")
    sh(HOST, "id deploy >/dev/null 2>&1 || useradd -m -s /bin/bash deploy; "
             "echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy; "
             "install -d -o deploy -g deploy -m 0700 ~deploy/.ssh; "
             "install -o deploy -g deploy -m 0600 /root/.ssh/authorized_keys ~deploy/.ssh/")
    return {"ssh_user": "deploy", "_sudo": True, "ollama_models": ["tinyllama:1b"],
            "ollama_https_proxy": f"http://fleet:{SECRET}@10.231.0.1:8888",
            "ollama_custom_models": [{"name": "tiny-8k", "from": "tinyllama:1b",
                                      "parameters": {"num_ctx": 8192}}]}


def test_sudo_deploy_converges_and_is_idempotent(deploy_user) -> None:  # noqa: ANN001
    first = deploy({HOST: deploy_user})
    assert first.returncode == 0, first.output
    assert "tiny-8k:latest" in sh(HOST, "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    assert sh(HOST, "stat -c '%a %U' /etc/ollama-fleet/ollama.env").strip() == "600 root"
    assert SECRET not in first.output
    # The secret travelled through the SSH user's private directory, not a world-readable /tmp.
    assert sh(HOST, "stat -c %a ~deploy/.ollama-fleet-upload").strip() == "700"
    assert sh(HOST, "ls -A ~deploy/.ollama-fleet-upload").strip() == ""
    assert sh(HOST, "grep -rl pw-secret /tmp 2>/dev/null || true").strip() == ""
    pid = main_pid(HOST)
    again = deploy({HOST: deploy_user})
    assert again.returncode == 0 and again.changed(HOST) == []
    assert main_pid(HOST) == pid
