"""`ollama serve` start-up, liveness endpoints, host checks and failure modes."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from standin_helpers import VERSION, Ollama, base_env, install, start


@pytest.fixture(scope="module")
def server(ollama_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ollama]:
    tmp = tmp_path_factory.mktemp("serve")
    o = start(ollama_bin, base_env(tmp, OLLAMA_KEEP_ALIVE="1d"), tmp / "log")
    yield o
    o.stop()


def _get(url: str, host: str | None = None) -> tuple[int, bytes, str]:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    conn.request("GET", u.path or "/", headers={"Host": host} if host else {})
    r = conn.getresponse()
    return r.status, r.read(), r.getheader("Content-Type", "")


def test_root_and_version(server: Ollama) -> None:
    status, body, _ = _get(server.url + "/")
    assert (status, body) == (200, b"Ollama is running")
    status, body, ctype = _get(server.url + "/api/version")
    assert status == 200 and json.loads(body) == {"version": VERSION}
    assert ctype.startswith("application/json")


def test_cli_version_talks_to_server(server: Ollama) -> None:
    for flag in ("--version", "-v"):
        out = server.cli(flag)
        assert out.returncode == 0 and out.stdout == f"ollama version is {VERSION}\n"


def test_startup_log(server: Ollama) -> None:
    log = server.log.read_text()
    assert 'msg="server config"' in log and "OLLAMA_KEEP_ALIVE:5m0s" in log
    assert f'msg="Listening on {server.env["OLLAMA_HOST"]} (version {VERSION})"' in log
    key = Path(server.env["HOME"]) / ".ollama" / "id_ed25519"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600


def test_loopback_server_rejects_foreign_host_header(server: Ollama) -> None:
    assert _get(server.url + "/", host="evil.example.com")[0] == 403
    assert _get(server.url + "/", host="localhost:11434")[0] == 200
    assert _get(server.url + "/", host="10.0.0.5:11434")[0] == 200  # private IPs pass


def test_ps_empty_and_unknown_route(server: Ollama) -> None:
    assert json.loads(_get(server.url + "/api/ps")[1]) == {"models": []}
    out = server.cli("ps")
    assert out.returncode == 0 and out.stdout.startswith("NAME    ID    SIZE    PROCESSOR")
    assert _get(server.url + "/api/nope")[:2] == (404, b"404 page not found")


def test_client_without_server(ollama_bin: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path)
    o = Ollama(ollama_bin, env)
    out = o.cli("list")
    assert out.returncode == 1
    assert out.stderr == ("Error: ollama server not responding - could not connect to ollama "
                          "server, run 'ollama serve' to start it\n")


def test_fail_start_switch(ollama_bin: Path, tmp_path: Path) -> None:
    o = start(ollama_bin, base_env(tmp_path, OLLAMA_STANDIN_FAIL_START="1"), tmp_path / "log")
    assert o.proc is not None and o.proc.wait(10) == 1
    log = o.log.read_text()
    assert "level=ERROR" in log and "Error: OLLAMA_STANDIN_FAIL_START is set" in log


def test_port_in_use(server: Ollama, ollama_bin: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path, OLLAMA_HOST=server.env["OLLAMA_HOST"])
    o = start(ollama_bin, env, tmp_path / "log")
    assert o.proc is not None and o.proc.wait(10) == 1
    assert (f"Error: listen tcp {server.env['OLLAMA_HOST']}: bind: address already in use"
            in o.log.read_text())


def test_unwritable_models_dir_fails_at_start(release_dir: Path) -> None:
    # Root ignores file modes, so as root the server runs as an unprivileged user instead,
    # from an install that user can read.
    tmp = Path(tempfile.mkdtemp())
    try:
        os.chmod(tmp, 0o755)
        ollama_bin = install(release_dir / "ollama-linux-amd64.tgz", tmp / "prefix")
        locked = tmp / "locked"
        locked.mkdir(mode=0o555)
        home = tmp / "home"
        home.mkdir()
        home.chmod(0o777)  # mkdir's mode is masked by the umask
        env = base_env(tmp, HOME=str(home), OLLAMA_MODELS=str(locked / "models"))
        popen = {"user": 65534, "group": 65534} if os.geteuid() == 0 else {}
        o = start(ollama_bin, env, tmp / "log", **popen)
        assert o.proc is not None and o.proc.wait(10) == 1
        expected = (f"Error: mkdir {locked / 'models'}: permission denied: ensure path "
                    "elements are traversable")
        assert expected in o.log.read_text()
    finally:
        locked.chmod(0o755)
        shutil.rmtree(tmp)


def test_pull_offline_without_registry(server: Ollama) -> None:
    # No OLLAMA_STANDIN_REGISTRY: a default-registry pull fails as on a host without internet.
    out = server.cli("pull", "llama3.2")
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1].startswith(
        'Error: pull model manifest: Get "https://registry.ollama.ai/v2/library/llama3.2/'
        'manifests/latest"')


def test_wildcard_host_listens_dual_stack(ollama_bin: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path)
    port = env["OLLAMA_HOST"].rsplit(":", 1)[1]
    env["OLLAMA_HOST"] = f"0.0.0.0:{port}"
    o = start(ollama_bin, env, tmp_path / "log")
    try:
        assert f'msg="Listening on [::]:{port} (version {VERSION})"' in o.log.read_text()
        assert o.cli("list").returncode == 0  # the client dials 127.0.0.1 for 0.0.0.0
        # Not loopback-bound: no Host header check.
        assert _get(f"http://127.0.0.1:{port}/", host="evil.example.com")[0] == 200
    finally:
        o.stop()
    assert o.proc is not None and o.proc.returncode == 0  # SIGTERM is a clean stop
