"""Models through a registry that wants Docker Registry v2 bearer tokens: CNCF Distribution
(Debian's docker-registry) on the lab bridge with TLS and `auth: token`, and a token service of
the test's own (tests/e2e/token_service.py) as its realm. The registry answers 401 with
`WWW-Authenticate: Bearer realm=...,service=...,scope=...`; `ollama-fleet push-model` and each
host's fetch must ask the realm for a token with their basic credentials and retry with it. The
registry verifies every token (signature by a certificate of the CA in its rootcertbundle,
issuer, audience, expiry, the repository and actions granted). A token that runs out in the
middle of a model is renewed: hosts also fetch through a pass-through (tests/e2e/
expiring_proxy.py) that hands the registry an expired token in place of theirs, so the
registry refuses a blob after it served the manifest."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from .conftest import GATEWAY, ROOT, DeployResult, address, deploy, sh, ssh, wipe
from .expiring_proxy import ExpiringProxy, ProxiedRequest
from .test_registry import HOSTS, MODELS_DIR, PsWatch, Registry, _free_port, push
from .token_service import TokenRequest, TokenService, b64url, issue_signing_cert

pytestmark = pytest.mark.lab

BIG = "tokmodel:16m"  # none of these is in the lab's stand-in registry
SMALL = "team/toktool:v1"
OTHER = "tokother:1m"  # pushed, but only ever asked for with the wrong credentials
ABSENT = "tokabsent:1m"  # never pushed
RENEW = "tokrenew:4m"  # its token runs out after the manifest (once per host)
STALE = "tokstale:1m"  # its token runs out after the manifest, renewed or not
SERVICE = "lab-registry"
ISSUER = "lab-token-issuer"
REPOSITORIES = {BIG: "library/tokmodel", SMALL: "team/toktool", OTHER: "library/tokother",
                RENEW: "library/tokrenew", STALE: "library/tokstale"}
MANIFESTS = {BIG: "registry.ollama.ai/library/tokmodel/16m",
             SMALL: "registry.ollama.ai/team/toktool/v1",
             OTHER: "registry.ollama.ai/library/tokother/1m",
             RENEW: "registry.ollama.ai/library/tokrenew/4m",
             STALE: "registry.ollama.ai/library/tokstale/1m"}


class TokenRegistry(Registry):
    """The basic-auth lab registry's files, TLS and access log, with `auth: token` instead."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.token_port = _free_port()
        self.realm = f"https://{GATEWAY}:{self.token_port}/token"
        self.tokens: TokenService | None = None

    def auth_config(self) -> str:
        return f"""auth:
  token:
    realm: {self.realm}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {self.ca}
"""

    def start(self) -> None:
        signer = issue_signing_cert(self.ca, self.root / "ca.key", self.root / "signer.pem")
        self.tokens = TokenService(
            host=GATEWAY, port=self.token_port, credentials=self.credentials, issuer=ISSUER,
            service=SERVICE, signing_key=signer, signing_cert=self.root / "signer.pem",
            tls_cert=self.root / "tls.pem", tls_key=self.root / "tls.key")
        self.tokens.start()
        super().start()

    def stop(self) -> None:
        super().stop()
        if self.tokens is not None:
            self.tokens.stop()

    def token_log(self) -> list[TokenRequest]:
        assert self.tokens is not None
        return self.tokens.log()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "lab" / "standin"))
    from models import make_model  # noqa: PLC0415 - fixture code

    path = tmp_path_factory.mktemp("token-store")
    make_model(str(path), BIG, 16 << 20, seed="token")
    make_model(str(path), SMALL, 1 << 20, seed="token-tool")
    make_model(str(path), OTHER, 1 << 20, seed="token-other")
    make_model(str(path), RENEW, 4 << 20, seed="token-renew")
    make_model(str(path), STALE, 1 << 20, seed="token-stale")
    return path


@pytest.fixture(scope="module")
def registry(lab, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001
    reg = TokenRegistry(tmp_path_factory.mktemp("token-registry"))
    reg.make_files()
    reg.start()
    yield reg
    reg.stop()


@dataclass
class Fetched:
    pushes: str  # push-model's output
    push_tokens: list[TokenRequest]
    push_requests: list[tuple[str, str, str, int, int]]
    result: DeployResult
    watch: PsWatch
    tokens: list[TokenRequest]  # the deploy's token requests
    requests: list[tuple[str, str, str, int, int]]  # and its registry requests


@pytest.fixture(scope="module")
def fetched(lab, artifacts, registry: TokenRegistry, store: Path) -> Fetched:  # noqa: ANN001
    wipe(HOSTS)
    pushes = ""
    for model in (BIG, SMALL, OTHER):
        result = push(registry, store, model)
        assert result.returncode == 0, result.stdout + result.stderr
        pushes += result.stdout + result.stderr
    again = push(registry, store, BIG)  # a second push uploads nothing
    assert again.returncode == 0 and "0 blob(s) uploaded" in again.stdout, again.stdout
    pushes += again.stdout + again.stderr
    push_tokens, push_requests = registry.token_log(), registry.requests()
    with PsWatch(HOSTS) as watch:
        started = time.monotonic()
        result = deploy({name: {"ollama_models": [BIG, SMALL], **registry.settings()}
                         for name in HOSTS})
        took = time.monotonic() - started
    assert result.returncode == 0, result.output
    print(f"\ndeploy to {len(HOSTS)} hosts through the token exchange: {took:.1f}s")
    return Fetched(pushes, push_tokens, push_requests, result, watch,
                   registry.token_log()[len(push_tokens):],
                   registry.requests()[len(push_requests):])


def _blobs(store: Path, model: str) -> set[str]:
    return set(re.findall(r"sha256:[0-9a-f]{64}",
                          (store / "manifests" / MANIFESTS[model]).read_text()))


def _scope(model: str, actions: str) -> str:
    return f"repository:{REPOSITORIES[model]}:{actions}"


def test_the_registry_accepts_only_tokens_it_can_verify(registry: TokenRegistry) -> None:
    """The registry really checks tokens: without one it challenges, a token of the service is
    accepted, a forged one (a key the registry's CA never certified) or one for another
    repository is not."""
    assert registry.tokens is not None
    context = ssl.create_default_context(cafile=str(registry.ca))
    url = f"{registry.url}/v2/library/nothing-here/tags/list"

    def status(token: str | None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        context=context, timeout=10) as resp:
                return resp.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("WWW-Authenticate", "")

    code, challenge = status(None)
    assert code == 401
    assert challenge == (f'Bearer realm="{registry.realm}",service="{SERVICE}",'
                         'scope="repository:library/nothing-here:pull"')
    good, _ = registry.tokens.token("fleet", ["repository:library/nothing-here:pull"])
    assert status(good)[0] == 404  # authorized: the repository is simply not there
    elsewhere, _ = registry.tokens.token("fleet", ["repository:library/elsewhere:pull"])
    assert status(elsewhere)[0] == 401

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forger")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    header_b64, claims_b64, _ = good.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    header["x5c"] = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
    signing_input = b64url(json.dumps(header).encode()) + "." + claims_b64
    forged = signing_input + "." + b64url(
        key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))
    assert status(forged)[0] == 401


def test_push_model_goes_through_the_token_exchange(fetched: Fetched,
                                                    registry: TokenRegistry) -> None:
    assert registry.password not in fetched.pushes
    assert fetched.push_tokens, "push-model never asked the token service"
    for entry in fetched.push_tokens:
        assert entry.token is not None and entry.token not in fetched.pushes
    assert {(e.client, e.account, e.service, e.status) for e in fetched.push_tokens} == {
        (GATEWAY, "fleet", SERVICE, 200)}
    pushing = {scope for e in fetched.push_tokens for scope in e.scopes
               if scope.endswith(("pull,push", "push,pull"))}
    assert {scope.rsplit(":", 1)[0] for scope in pushing} == {
        f"repository:{REPOSITORIES[m]}" for m in (BIG, SMALL, OTHER)}
    for model in (BIG, SMALL, OTHER):
        tag = MANIFESTS[model].rsplit("/", 1)[1]
        seen = [(method, path, status) for client, method, path, status, _
                in fetched.push_requests
                if client == GATEWAY and path.startswith(f"/v2/{REPOSITORIES[model]}/")]
        assert seen and seen[0][2] == 401, seen  # challenged first ...
        # ... and the manifest went in with a token
        assert ("PUT", f"/v2/{REPOSITORIES[model]}/manifests/{tag}", 201) in seen, seen


def test_models_are_present_under_the_declared_names(fetched: Fetched, store: Path) -> None:
    for name in HOSTS:
        listed = sh(name, "OLLAMA_HOST=127.0.0.1:11434 ollama list")
        assert BIG in listed and SMALL in listed and OTHER not in listed, listed
        out = sh(name, f"cd {MODELS_DIR}/manifests && sha256sum {MANIFESTS[BIG]} "
                       f"{MANIFESTS[SMALL]}")
        assert dict(reversed(line.split()) for line in out.splitlines()) == {
            MANIFESTS[m]: hashlib.sha256((store / "manifests" / MANIFESTS[m]).read_bytes())
            .hexdigest() for m in (BIG, SMALL)}


def test_every_host_asked_the_token_service_once_per_model(fetched: Fetched) -> None:
    hosts = {address(name) for name in HOSTS}
    assert {e.client for e in fetched.tokens} == hosts
    for name in HOSTS:
        asked = sorted((e.account, e.service, e.status, tuple(e.scopes), json.dumps(e.granted))
                       for e in fetched.tokens if e.client == address(name))
        assert asked == sorted(
            ("fleet", SERVICE, 200, (_scope(m, "pull"),), json.dumps(
                [{"type": "repository", "name": REPOSITORIES[m], "actions": ["pull"]}]))
            for m in (BIG, SMALL)), name


def test_the_registry_challenged_each_manifest_then_served_it(fetched: Fetched,
                                                              store: Path) -> None:
    for name in HOSTS:
        mine = [(method, path, status) for client, method, path, status, _ in fetched.requests
                if client == address(name)]
        for model in (BIG, SMALL):
            manifest = f"/v2/{REPOSITORIES[model]}/manifests/{MANIFESTS[model].rsplit('/', 1)[1]}"
            assert [s for method, path, s in mine if path == manifest] == [401, 200], mine
        blob_gets = [(path, s) for method, path, s in mine if "/blobs/" in path]
        assert {s for _, s in blob_gets} == {200}, blob_gets  # the token served every blob
        assert sorted(path.rsplit("/", 1)[1] for path, _ in blob_gets) == sorted(
            _blobs(store, BIG) | _blobs(store, SMALL))


def test_neither_the_password_nor_a_token_is_shown(fetched: Fetched,
                                                   registry: TokenRegistry) -> None:
    tokens = [e.token for e in fetched.tokens if e.token]
    assert tokens
    output = fetched.result.output
    assert registry.password not in output
    assert not [t for t in tokens if t in output]
    for secret in (registry.password, *tokens):
        assert not [line for line in fetched.watch.seen if secret in line]
    signatures = " ".join(f"-e {t.rsplit('.', 1)[1][:40]}" for t in tokens)
    for name in HOSTS:  # and neither is left on the host
        found = ssh(name, f"grep -rlF -e fleet: {signatures} /etc/ollama-fleet "
                          f"/var/lib/ollama-fleet {MODELS_DIR} /root 2>/dev/null; "
                          f"grep -rlF {signatures} /tmp /var/tmp 2>/dev/null")
        assert found.stdout.strip() == "", found.stdout


def test_a_second_run_fetches_nothing(fetched: Fetched, registry: TokenRegistry) -> None:
    requests, tokens = len(registry.requests()), len(registry.token_log())
    again = deploy({name: {"ollama_models": [BIG, SMALL], **registry.settings()}
                    for name in HOSTS})
    assert again.returncode == 0, again.output
    assert all(again.changed(name) == [] for name in HOSTS)
    assert registry.requests()[requests:] == []
    assert registry.token_log()[tokens:] == []


def test_a_lost_manifest_comes_back_without_its_blobs(fetched: Fetched,
                                                      registry: TokenRegistry) -> None:
    sh("lab02", f"rm {MODELS_DIR}/manifests/{MANIFESTS[SMALL]}")
    requests, tokens = len(registry.requests()), len(registry.token_log())
    result = deploy({"lab02": {"ollama_models": [BIG, SMALL], **registry.settings()}})
    assert result.returncode == 0, result.output
    assert SMALL in sh("lab02", "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    assert [(method, path, status) for _, method, path, status, _ in
            registry.requests()[requests:]] == [
        ("GET", f"/v2/{REPOSITORIES[SMALL]}/manifests/v1", 401),
        ("GET", f"/v2/{REPOSITORIES[SMALL]}/manifests/v1", 200)]
    assert [(e.client, tuple(e.scopes), e.status) for e in registry.token_log()[tokens:]] == [
        (address("lab02"), (_scope(SMALL, "pull"),), 200)]


def test_a_failing_fetch_shows_what_the_host_said_but_no_token(
        fetched: Fetched, registry: TokenRegistry) -> None:
    """A run that fails after tokens were issued prints the fetch script's own words (a
    successful one prints nothing of it): the place a leaked token would show."""
    sh("lab03", f"rm {MODELS_DIR}/manifests/{MANIFESTS[SMALL]}")
    tokens = len(registry.token_log())
    result = deploy({"lab03": {"ollama_models": [BIG, SMALL, ABSENT], **registry.settings()}})
    assert result.returncode != 0
    assert f"fetched {SMALL} from {registry.url}/{REPOSITORIES[SMALL]}:v1" in result.output
    assert (f"{ABSENT}: manifest library/tokabsent:1m is not in the registry (HTTP 404)"
            in result.output), result.output
    issued = registry.token_log()[tokens:]
    assert [(e.client, tuple(e.scopes), e.status) for e in issued] == [
        (address("lab03"), (_scope(SMALL, "pull"),), 200),
        (address("lab03"), ("repository:library/tokabsent:pull",), 200)]
    assert not [e.token for e in issued if e.token and e.token in result.output]
    assert registry.password not in result.output
    assert SMALL in sh("lab03", "OLLAMA_HOST=127.0.0.1:11434 ollama list")


def test_wrong_credentials_fail_clearly(fetched: Fetched, registry: TokenRegistry,
                                        store: Path) -> None:
    requests, tokens = len(registry.requests()), len(registry.token_log())
    result = deploy({"lab01": {"ollama_models": [BIG, SMALL, OTHER],
                               **registry.settings(registry.wrong)}})
    assert result.returncode != 0
    assert f"the registry's token service ({registry.realm}) gave no usable token" \
        in result.output, result.output
    assert f"{OTHER}: the registry refused the credentials" in result.output, result.output
    assert "not-the-password" not in result.output
    refused = registry.token_log()[tokens:]
    assert [(e.client, e.account, e.status, e.token) for e in refused] == [
        (address("lab01"), None, 401, None)]
    assert [status for client, _, path, status, _ in registry.requests()[requests:]
            if client == address("lab01")] == [401]
    assert OTHER not in sh("lab01", "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    present = set(sh("lab01", f"ls {MODELS_DIR}/blobs").split())
    only_other = _blobs(store, OTHER) - _blobs(store, BIG) - _blobs(store, SMALL)
    assert only_other and not {d.replace(":", "-") for d in only_other} & present


# A token that runs out in the middle of a model: the hosts fetch through ExpiringProxy.


@pytest.fixture(scope="module")
def proxy(fetched: Fetched, registry: TokenRegistry, store: Path):
    for model in (RENEW, STALE):
        result = push(registry, store, model)
        assert result.returncode == 0, result.stdout + result.stderr
    assert registry.tokens is not None
    with ExpiringProxy(host=GATEWAY, port=_free_port(), upstream_port=registry.port,
                       ca=registry.ca, tls_cert=registry.root / "tls.pem",
                       tls_key=registry.root / "tls.key", tokens=registry.tokens,
                       spoil={REPOSITORIES[RENEW]: "first",
                              REPOSITORIES[STALE]: "always"}) as running:
        yield running


def _through(proxy: ExpiringProxy, registry: TokenRegistry, models: list[str],
             credentials: Path | None = None) -> dict:
    return {name: {"ollama_models": models, **registry.settings(credentials),
                   "ollama_model_registry": proxy.url} for name in HOSTS}


@dataclass
class Renewed:
    result: DeployResult
    watch: PsWatch
    tokens: list[TokenRequest]  # the deploy's token requests
    proxied: list[ProxiedRequest]  # what the hosts asked the proxy
    requests: list[tuple[str, str, str, int, int]]  # what the registry was asked


@pytest.fixture(scope="module")
def renewed(proxy: ExpiringProxy, registry: TokenRegistry) -> Renewed:
    tokens, proxied, requests = (len(registry.token_log()), len(proxy.log()),
                                 len(registry.requests()))
    with PsWatch(HOSTS) as watch:
        started = time.monotonic()
        result = deploy(_through(proxy, registry, [BIG, SMALL, RENEW]))
        took = time.monotonic() - started
    print(f"\ndeploy to {len(HOSTS)} hosts, each renewing its token once: {took:.1f}s")
    return Renewed(result, watch, registry.token_log()[tokens:], proxy.log()[proxied:],
                   registry.requests()[requests:])


def _manifest_path(model: str) -> str:
    return f"/v2/{REPOSITORIES[model]}/manifests/{MANIFESTS[model].rsplit('/', 1)[1]}"


def test_a_token_that_runs_out_mid_model_is_renewed(renewed: Renewed, store: Path) -> None:
    """The registry served the manifest, then refused the expired token on a blob with its
    Bearer challenge; each host asked the realm for one more token, sent that blob again with
    the new token and fetched the rest of the model with it."""
    assert renewed.result.returncode == 0, renewed.result.output
    wanted = _blobs(store, RENEW) - _blobs(store, BIG) - _blobs(store, SMALL)
    assert len(wanted) >= 2  # a blob after the renewed one still needs the new token
    for name in HOSTS:
        asked = [e for e in renewed.tokens if e.client == address(name)]
        assert [(e.account, e.service, tuple(e.scopes), e.status) for e in asked] == [
            ("fleet", SERVICE, (_scope(RENEW, "pull"),), 200)] * 2, name  # exactly one more
        first, fresh = (e.token for e in asked)
        mine = [(r.path, r.status, r.spoiled, r.token) for r in renewed.proxied
                if r.client == address(name)]
        renewed_blob = mine[2][0]
        assert mine[:4] == [
            (_manifest_path(RENEW), 401, False, None),  # challenged: the first token ...
            (_manifest_path(RENEW), 200, False, first),  # ... got the manifest,
            (renewed_blob, 401, True, first),  # ran out on a blob (the registry said so),
            (renewed_blob, 200, False, fresh)], mine  # and a new one got that blob
        rest = mine[4:]
        assert rest and {(status, spoiled, token) for _, status, spoiled, token in rest} == {
            (200, False, fresh)}, rest  # the new token served every later blob
        assert sorted(path.rsplit("/", 1)[1] for path, *_ in mine[2:]) == sorted(
            [renewed_blob.rsplit("/", 1)[1], *wanted])  # every blob once, that one twice
    refused = [(method, path) for _, method, path, status, _ in renewed.requests
               if status == 401 and "/blobs/" in path]
    assert len(refused) == len(HOSTS), refused  # the registry itself refused the expired token


def test_the_model_arrives_intact_after_the_renewal(renewed: Renewed, store: Path) -> None:
    manifest = store / "manifests" / MANIFESTS[RENEW]
    wanted = {MANIFESTS[RENEW]: hashlib.sha256(manifest.read_bytes()).hexdigest()}
    wanted |= {f"../blobs/{d.replace(':', '-')}": d.split(":")[1] for d in _blobs(store, RENEW)}
    for name in HOSTS:
        assert RENEW in sh(name, "OLLAMA_HOST=127.0.0.1:11434 ollama list")
        out = sh(name, f"cd {MODELS_DIR}/manifests && sha256sum " + " ".join(sorted(wanted)))
        assert dict(reversed(line.split()) for line in out.splitlines()) == wanted, name


def test_the_renewal_shows_neither_the_password_nor_a_token(renewed: Renewed,
                                                             registry: TokenRegistry) -> None:
    tokens = [e.token for e in renewed.tokens if e.token]
    assert len(tokens) == 2 * len(HOSTS)
    output = renewed.result.output
    assert registry.password not in output
    assert not [t for t in tokens if t in output]
    for secret in (registry.password, *tokens):
        assert not [line for line in renewed.watch.seen if secret in line]
    signatures = " ".join(f"-e {t.rsplit('.', 1)[1][:40]}" for t in tokens)
    for name in HOSTS:
        found = ssh(name, f"grep -rlF -e fleet: {signatures} /etc/ollama-fleet "
                          f"/var/lib/ollama-fleet {MODELS_DIR} /root 2>/dev/null; "
                          f"grep -rlF {signatures} /tmp /var/tmp 2>/dev/null")
        assert found.stdout.strip() == "", found.stdout


def test_a_refusal_of_the_renewed_token_is_final(renewed: Renewed, proxy: ExpiringProxy,
                                                 registry: TokenRegistry) -> None:
    """When the new token is refused too, the host stops: no third token, no third GET."""
    tokens, proxied = len(registry.token_log()), len(proxy.log())
    result = deploy(_through(proxy, registry, [BIG, SMALL, RENEW, STALE]))
    assert result.returncode != 0
    issued = registry.token_log()[tokens:]
    for name in HOSTS:
        asked = [e for e in issued if e.client == address(name)]
        assert [(e.account, tuple(e.scopes), e.status) for e in asked] == [
            ("fleet", (_scope(STALE, "pull"),), 200)] * 2, name
        mine = [(r.path, r.status, r.spoiled) for r in proxy.log()[proxied:]
                if r.client == address(name)]
        blob = mine[2][0]
        assert mine == [(_manifest_path(STALE), 401, False), (_manifest_path(STALE), 200, False),
                        (blob, 401, True), (blob, 401, True)], mine
        assert "/blobs/" in blob
        assert (f"{STALE}: the registry refused the credentials for blob "
                f"{blob.rsplit('/', 1)[1].replace(':', '-')} (HTTP 401)") in result.output
        assert STALE not in sh(name, "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    assert registry.password not in result.output  # the host's own words are shown here
    assert not [e.token for e in issued if e.token and e.token in result.output]


def test_wrong_credentials_ask_for_one_token_and_stop(renewed: Renewed, proxy: ExpiringProxy,
                                                      registry: TokenRegistry) -> None:
    """Wrong credentials: one token request per host, refused, and the fetch stops there
    (the next missing model is not asked for)."""
    tokens, proxied = len(registry.token_log()), len(proxy.log())
    result = deploy(_through(proxy, registry, [BIG, SMALL, RENEW, STALE, OTHER],
                             registry.wrong))
    assert result.returncode != 0
    assert f"the registry's token service ({registry.realm}) gave no usable token" \
        in result.output, result.output
    assert (f"{STALE}: the registry refused the credentials for manifest "
            f"{REPOSITORIES[STALE]}:1m (HTTP 401)") in result.output, result.output
    assert "not-the-password" not in result.output
    issued = registry.token_log()[tokens:]
    for name in HOSTS:
        assert [(e.account, tuple(e.scopes), e.status, e.token) for e in issued
                if e.client == address(name)] == [
            (None, (_scope(STALE, "pull"),), 401, None)], name
        assert [(r.path, r.status) for r in proxy.log()[proxied:]
                if r.client == address(name)] == [(_manifest_path(STALE), 401)], name
        listed = sh(name, "OLLAMA_HOST=127.0.0.1:11434 ollama list")
        assert STALE not in listed and OTHER not in listed
