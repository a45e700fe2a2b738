"""A Modelfile whose TEMPLATE has a Go syntax error is refused by the host's `ollama create`
too. The fleet tool refuses such a file before any host is touched, so this drives the stand-in
CLI on a lab host directly: the fixture must refuse what upstream refuses, with its message."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import lab_state, sh, ssh

pytestmark = pytest.mark.lab

HOST = "lab03"
UNIT = "standin-template-check"
ENV = "OLLAMA_HOST=127.0.0.1:12346"
ROOT = "/var/tmp/standin-tmpl"
OLLAMA = f"{ROOT}/bin/ollama"


@pytest.fixture(scope="module")
def serving(lab, artifacts):  # noqa: ANN001 - fixtures
    entry = next(h for h in lab_state()["hosts"] if h["name"] == HOST)
    archive = artifacts / "files" / "releases" / "v0.14.1" / "ollama-linux-amd64.tar.zst"
    subprocess.run(
        ["scp", "-q", "-i", entry["ssh_key"], "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", str(archive),
         f"root@{entry['address']}:{ROOT}.tar.zst"], check=True, timeout=60)
    ssh(HOST, f"systemctl stop {UNIT} 2>/dev/null; systemctl reset-failed {UNIT} 2>/dev/null")
    sh(HOST, f"rm -rf {ROOT} {ROOT}-models && mkdir {ROOT} && "
             f"zstd -dc {ROOT}.tar.zst | tar -x -C {ROOT}")
    sh(HOST, f"systemd-run --unit={UNIT} -E {ENV} -E OLLAMA_MODELS={ROOT}-models "
             f"-E OLLAMA_STANDIN_REGISTRY=http://10.231.0.1:8080 -E HOME={ROOT} "
             f"{OLLAMA} serve")
    sh(HOST, "for i in $(seq 50); do curl -fs 127.0.0.1:12346/ && exit 0; sleep 0.2; done; exit 1")
    yield
    ssh(HOST, f"systemctl stop {UNIT}; rm -rf {ROOT} {ROOT}-models {ROOT}.tar.zst "
              f"{ROOT}.Modelfile")


def test_host_refuses_a_template_with_a_go_syntax_error(serving) -> None:  # noqa: ANN001
    sh(HOST, f"{ENV} {OLLAMA} pull tinyllama:1b")
    sh(HOST, "printf 'FROM tinyllama:1b\\nTEMPLATE \"{{ if .System }}{{ .System }}\"\\n' "
             f"> {ROOT}.Modelfile")
    out = ssh(HOST, f"{ENV} {OLLAMA} create broken -f {ROOT}.Modelfile")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "Error: 400 Bad Request: template error: template: :1: unexpected EOF")
    assert "broken" not in sh(HOST, f"{ENV} {OLLAMA} list")
