"""The stand-in release on a real lab host, by hand (no deploy): unpack it, run `ollama serve`
under a transient systemd unit with a non-default OLLAMA_HOST and OLLAMA_MODELS, and drive it
with its CLI the way an operator would drive upstream's."""

from __future__ import annotations

import json

import pytest

from .conftest import serve_standin, sh, ssh

pytestmark = pytest.mark.lab

HOST = "lab04"
UNIT = "standin-check"
ENV = "OLLAMA_HOST=127.0.0.1:12345"
OLLAMA = "/var/tmp/standin/bin/ollama"


@pytest.fixture(scope="module")
def serving(lab, artifacts):  # noqa: ANN001 - fixtures
    archive = artifacts / "files" / "releases" / "v0.14.1" / "ollama-linux-amd64.tar.zst"
    serve_standin(HOST, UNIT, "/var/tmp/standin", 12345, archive)
    yield
    ssh(HOST, f"systemctl stop {UNIT}; rm -rf /var/tmp/standin /var/tmp/standin-models")


def test_api_answers_on_the_configured_address_only(serving) -> None:  # noqa: ANN001
    assert sh(HOST, "curl -fsS 127.0.0.1:12345/").strip() == "Ollama is running"
    assert json.loads(sh(HOST, "curl -fsS 127.0.0.1:12345/api/version")) == {"version": "0.14.1"}
    assert "Listening on 127.0.0.1:12345" in sh(HOST, f"journalctl -u {UNIT} -o cat --no-pager")
    assert sh(HOST, f"{ENV} {OLLAMA} --version").strip() == "ollama version is 0.14.1"
    assert sh(HOST, "test -d /var/tmp/standin-models/blobs && echo yes").strip() == "yes"


def test_pull_create_show_list_rm_round_trip(serving) -> None:  # noqa: ANN001
    sh(HOST, f"{ENV} {OLLAMA} pull tinyllama:1b")
    sh(HOST, "printf 'FROM tinyllama:1b\\nPARAMETER num_ctx 8192\\nSYSTEM \"Be brief.\"\\n' "
             "> /var/tmp/Modelfile")
    sh(HOST, f"{ENV} {OLLAMA} create brief -f /var/tmp/Modelfile")
    shown = sh(HOST, f"{ENV} {OLLAMA} show --modelfile brief")
    assert "PARAMETER num_ctx 8192" in shown and "Be brief." in shown
    listing = sh(HOST, f"{ENV} {OLLAMA} list")
    assert listing.splitlines()[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    assert "brief:latest" in listing and "tinyllama:1b" in listing
    assert sh(HOST, "ls /var/tmp/standin-models/manifests/registry.ollama.ai/library/brief")
    assert sh(HOST, f"{ENV} {OLLAMA} rm brief").strip() == "deleted 'brief'"
    assert "brief" not in sh(HOST, f"{ENV} {OLLAMA} list")


def test_a_bad_modelfile_fails_with_upstreams_message(serving) -> None:  # noqa: ANN001
    sh(HOST, "printf 'PARAMETER num_ctx 8192\\n' > /var/tmp/NoFrom")
    result = ssh(HOST, f"{ENV} {OLLAMA} create broken -f /var/tmp/NoFrom")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: no FROM line"
