"""Models through an OCI registry: settings, repository names, credentials, the host plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from ollama_fleet import preflight
from ollama_fleet.model_registry import curl_config, read_credentials, registry_reference
from ollama_fleet.settings import SettingsError

from tests.unit.test_linux_plan import converged_fact, make, run

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(("name", "expected"), [
    ("qwen2.5:7b", "library/qwen2.5:7b"),
    ("Qwen2.5:7B", "library/qwen2.5:7b"),
    ("team/tool:v1", "team/tool:v1"),
    ("hf.co/org/model:q4_K_M", "hf.co/org/model:q4_k_m"),
    ("llama3", "library/llama3:latest"),
])
def test_repository_follows_the_name(name: str, expected: str) -> None:
    assert str(registry_reference(name)) == expected


def test_a_name_oci_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="OCI repository"):
        registry_reference("_under:1")


def test_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "c"
    path.write_text('u:p"a\\ss:w\n')
    assert read_credentials(path) == ("u", 'p"a\\ss:w')
    assert curl_config(*read_credentials(path)) == b'user = "u:p\\"a\\\\ss:w"\n'
    for bad in ("SECRETnocolon\n", ":SECRET\n", "u:\n", "a:SECRET\nc:d\n", "u:SE\x01CRET", ""):
        path.write_text(bad)
        with pytest.raises(ValueError) as exc:
            read_credentials(path)
        assert "SECRET" not in str(exc.value)


@pytest.mark.parametrize(("data", "message"), [
    ({"model_registry": "http://reg:5000"}, "plain http is refused"),
    ({"model_registry": "https://reg:5000/v2"}, "no path"),
    ({"model_registry": "https://u:p@reg"}, "credentials do not belong"),
    ({"model_registry_insecure": True}, "no effect without model_registry"),
    ({"model_registry": "https://reg", "model_source": "/srv/store"}, "set one of them"),
    ({"model_registry": "https://reg", "platform": "windows"}, "Linux hosts only"),
])
def test_bad_registry_settings(data: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        make(**data)


def test_controller_files_are_checked(tmp_path: Path) -> None:
    settings = make(model_registry="https://reg",
                    model_registry_ca_file=str(tmp_path / "none.pem"),
                    model_registry_credentials_file=str(tmp_path / "none"))
    found = {f.field for f in preflight.controller_problems(settings)}
    assert found == {"model_registry_ca_file", "model_registry_credentials_file"}
    creds = tmp_path / "creds"
    creds.write_text("user:secret-pw\n")
    creds.chmod(0o644)
    settings = make(model_registry="http://reg:5000", model_registry_insecure=True,
                    model_registry_credentials_file=str(creds))
    assert preflight.controller_problems(settings) == []
    warnings = [f.line("web1", settings) for f in preflight.warnings_for(settings)]
    assert any("plain HTTP" in w for w in warnings)
    assert any("chmod 600" in w for w in warnings)
    assert not any("secret-pw" in w for w in warnings)


def test_missing_models_are_fetched_with_the_secret_uploaded_not_in_a_command(
        tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.write_text("user:secret-pw\n")
    ca = tmp_path / "ca.pem"
    ca.write_text(CA)
    settings = make(model_registry="https://reg:5000", model_registry_ca_file=str(ca),
                    model_registry_credentials_file=str(creds), models=["qwen2.5:0.5b", "new:1b"])
    commands, uploads = run(settings, converged_fact(make()))
    models_dir = settings.models_dir
    assert f"{models_dir}/.ollama-fleet-fetch/auth.conf" in uploads
    assert f"{models_dir}/.ollama-fleet-fetch/ca.pem" in uploads
    assert not any("secret-pw" in c for c in commands)
    fetch = next(c for c in commands if "registry_fetch" in c or "fetch \"$name\"" in c)
    assert "name=new:1b" in fetch and "repository=library/new" in fetch
    assert "relpath=registry.ollama.ai/library/new/1b" in fetch
    assert "name=qwen2.5:0.5b" not in fetch  # present already
    assert not any("ollama pull" in c or "\npull " in c for c in commands)


def test_a_host_with_every_model_asks_the_registry_nothing() -> None:
    settings = make(model_registry="https://reg:5000")
    commands, uploads = run(settings, converged_fact(make()))
    assert len(commands) == 1 and uploads == []


def test_push_client_answers_a_bearer_token_challenge() -> None:
    """Registries like Harbor answer 401 with a Bearer challenge: the client fetches a token
    from the realm with its basic credentials and retries with it (a loopback fake registry)."""
    import base64
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ollama_fleet.model_registry import _Client

    seen: list[str] = []

    class Registry(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            auth = self.headers.get("Authorization", "")
            seen.append(f"{self.path.split('?')[0]} {auth.split(' ')[0]}")
            if self.path.startswith("/token"):
                good = "Basic " + base64.b64encode(b"robot:s3cret").decode()
                assert "service=registry" in self.path and "scope=" in self.path
                body = json.dumps({"token": "tok123"}).encode() if auth == good else b""
                self.send_response(200 if auth == good else 401)
            elif auth == "Bearer tok123":
                body = b"{}"
                self.send_response(200)
            else:
                body = b""
                self.send_response(401)
                port = self.server.server_address[1]
                self.send_header("WWW-Authenticate",
                                 f'Bearer realm="http://127.0.0.1:{port}/token",'
                                 'service="registry",scope="repository:library/m:pull,push"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, _, _ = _Client(base, "robot", "s3cret", None, insecure=True).request("GET", "/v2/")
        assert status == 200
        assert seen == ["/v2/ Basic", "/token Basic", "/v2/ Bearer"]
        wrong = _Client(base, "robot", "wrong", None, insecure=True)
        with pytest.raises(Exception, match="token request"):
            wrong.request("GET", "/v2/")
    finally:
        server.shutdown()
