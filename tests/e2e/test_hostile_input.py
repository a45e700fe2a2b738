"""Hostile and odd settings against real hosts: refused before any host is touched, or carried
byte-exact into the server's environment."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import deploy, main_pid, server_environ, sh, ssh, wipe

pytestmark = pytest.mark.lab

HOSTS = ["lab01", "lab02", "lab03"]

# Values an operator may legitimately need: quotes of every kind, shell and systemd syntax,
# backslashes, non-ASCII. Each must reach Ollama's environment exactly as written.
ODD_VALUES = {
    "ODD_QUOTES": """it's "double" `tick` ’curly’ “dq”""",
    "ODD_DOLLAR": "$HOME ${IFS} $(id -u) $$",
    "ODD_PERCENT": "100% %n %i %% %h",
    "ODD_BACKSLASH": "C:\\path\\to\\new \\\" \\\\ \\n",
    "ODD_UNICODE": "café Ünïcödé 中文 🦙",
    "ODD_JINJA": "{{ 7*7 }} {% if x %}",
    "ODD_SPACES": "  padded  ",
    "ODD_SEMICOLON": "a; b && c | d > /tmp/x",
}


def converged() -> dict[str, dict[str, Any]]:
    return {name: {"ollama_models": []} for name in HOSTS}


def snapshot(name: str) -> str:
    """What a deploy could change on a host: unit files, their digests, the server's PID."""
    return sh(name, "cat /etc/systemd/system/ollama.service "
                    "/etc/systemd/system/ollama.service.d/*.conf 2>/dev/null | sha256sum; "
                    "readlink /opt/ollama/current; systemctl show -p MainPID --value ollama; "
                    "ls /tmp")


def test_hostile_values_are_refused_and_the_fleet_is_untouched(lab, artifacts) -> None:
    wipe(HOSTS)
    first = deploy(converged())
    assert first.returncode == 0, first.output
    before = {name: snapshot(name) for name in HOSTS}

    hostile = converged()
    hostile["lab02"] = {
        "ollama_host": "ollama$(touch${IFS}/tmp/PWNED)",
        "ollama_allow_networks": ["10.231.0.0/24"],
        "ollama_extra_env": {"NOTE": "x\rExecStartPre=+/bin/touch /tmp/PWNED"},
        "ollama_models_dir": "/etc",
    }
    hostile["lab03"] = {
        "ollama_keep_alive": "30m\r",
        "ollama_host": "0.0.0.0",
        "ollama_allow_networks": ["0.0.0.0/0", "::/0"],
    }
    result = deploy(hostile)

    assert result.returncode != 0
    output = result.output
    # Every problem of every host in one report, each naming the host and the setting.
    for host, setting in [("lab02", "ollama_host"), ("lab02", "ollama_extra_env"),
                          ("lab02", "ollama_models_dir"), ("lab03", "ollama_keep_alive"),
                          ("lab03", "ollama_allow_networks")]:
        assert any(host in line and setting in line for line in output.splitlines()), (
            f"no message names {host} and {setting}:\n{output}")
    assert "Traceback" not in output
    # Nothing ran anywhere, and nothing changed.
    assert not any(result.changed(name) for name in HOSTS), result.operations()
    for name in HOSTS:
        assert snapshot(name) == before[name]
        assert ssh(name, "test ! -e /tmp/PWNED").returncode == 0


def test_odd_but_legal_values_arrive_byte_exact(lab, artifacts) -> None:
    wipe(["lab01"])
    hosts = {"lab01": {"ollama_models": [], "ollama_extra_env": ODD_VALUES}}
    result = deploy(hosts)
    assert result.returncode == 0, result.output

    environ = server_environ("lab01")
    for name, value in ODD_VALUES.items():
        assert environ.get(name) == value, f"{name}: {environ.get(name)!r} != {value!r}"

    pid = main_pid("lab01")
    again = deploy(hosts)
    assert again.returncode == 0, again.output
    assert again.changed("lab01") == []
    assert main_pid("lab01") == pid


def test_bin_link_never_replaces_what_ollama_fleet_did_not_make(lab, artifacts) -> None:
    wipe(["lab02"])
    sh("lab02", "printf 'operator tool\\n' > /usr/local/bin/ollama && chmod 755 "
               "/usr/local/bin/ollama")
    try:
        result = deploy({"lab02": {"ollama_models": []}})
        assert result.returncode == 0, result.output
        assert sh("lab02", "cat /usr/local/bin/ollama") == "operator tool\n"
        assert ssh("lab02", "test -L /usr/local/bin/ollama").returncode != 0
    finally:
        sh("lab02", "rm -f /usr/local/bin/ollama")
    # With the file gone, the next change makes our own link.
    result = deploy({"lab02": {"ollama_models": [], "ollama_num_parallel": 2}})
    assert result.returncode == 0, result.output
    assert sh("lab02", "readlink /usr/local/bin/ollama").strip() == "/opt/ollama/current/bin/ollama"
