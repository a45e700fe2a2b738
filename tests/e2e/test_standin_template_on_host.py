"""A Modelfile whose TEMPLATE has a Go syntax error is refused by the host's `ollama create`
too. The fleet tool refuses such a file before any host is touched, so this drives the stand-in
CLI on a lab host directly: the fixture must refuse what upstream refuses, with its message."""

from __future__ import annotations

import pytest

from .conftest import serve_standin, sh, ssh

pytestmark = pytest.mark.lab

HOST = "lab03"
UNIT = "standin-template-check"
ENV = "OLLAMA_HOST=127.0.0.1:12346"
ROOT = "/var/tmp/standin-tmpl"
OLLAMA = f"{ROOT}/bin/ollama"


@pytest.fixture(scope="module")
def serving(lab, artifacts):  # noqa: ANN001 - fixtures
    archive = artifacts / "files" / "releases" / "v0.14.1" / "ollama-linux-amd64.tar.zst"
    serve_standin(HOST, UNIT, ROOT, 12346, archive)
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
