"""Security on real hosts: the nftables allowlist and the authenticating nginx proxy.

One host is the server (lab03 unless OLLAMA_FLEET_TEST_SECURITY_HOSTS says otherwise); one
client is allowed (lab02); another (lab01) and the controller (the lab's gateway) are not.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import ssl
import subprocess
import time
from typing import Any

import pytest
from ollama_fleet.linux import firewall, proxy
from ollama_fleet.linux.htpasswd import sha512_crypt
from ollama_fleet.settings import SettingsError, settings_from_data

from .conftest import (
    GATEWAY,
    ROOT,
    address,
    deploy,
    main_pid,
    run,
    sh,
    ssh,
    wipe,
)

# server, allowed client, denied client; the clients only ever run curl.
SERVER, ALLOWED, DENIED = os.environ.get(
    "OLLAMA_FLEET_TEST_SECURITY_HOSTS", "lab03,lab02,lab01").split(",")
on_lab = pytest.mark.lab

# Fresh per session, so a leak can only come from this run.
TOKEN_A = "tokA-" + secrets.token_urlsafe(24)
TOKEN_B = "tokB-" + secrets.token_urlsafe(24)
PASSWORD = "pw-" + secrets.token_urlsafe(18) + '"$`\\:'
USER_TABLE = (
    "nft add table inet user_rules && "
    "nft add chain inet user_rules input '{ type filter hook input priority 0; policy accept; }' "
    "&& nft add rule inet user_rules input tcp dport 9999 counter accept comment user-owned"
)


# --- helpers ------------------------------------------------------------------------------

def bare(name: str) -> None:
    """wipe() plus what this module adds: proxy files and the test tables."""
    wipe([name])
    sh(name, "rm -f /etc/nginx/conf.d/ollama-fleet.conf; rm -rf /etc/ollama-fleet; "
             "nft delete table inet user_rules 2>/dev/null; "
             "nft delete table inet test_throttle 2>/dev/null; "
             "systemctl reload nginx 2>/dev/null; true")


def reach(client: str, url: str) -> bool:
    """Whether `client` (a lab host, or the controller for GATEWAY) gets an HTTP answer."""
    cmd = f"curl -sk -o /dev/null --max-time 3 {url}"
    if client == GATEWAY:
        return run(["sh", "-c", cmd]).returncode == 0
    return ssh(client, cmd).returncode == 0


def https(path: str, headers: dict[str, str] | None = None, body: dict | None = None,
          method: str | None = None) -> tuple[int, bytes]:
    """A request from the controller through the proxy; credentials stay in this process."""
    conn = http.client.HTTPSConnection(address(SERVER), 8443, timeout=10,
                                       context=ssl._create_unverified_context())
    try:
        conn.request(method or ("POST" if body is not None else "GET"), path,
                     body=json.dumps(body) if body is not None else None,
                     headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    import base64  # noqa: PLC0415

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def eventually_status(headers: dict[str, str], want: int, timeout: float = 10) -> int:
    """nginx reloads asynchronously: poll until the new configuration answers."""
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        status, _ = https("/api/tags", headers)
        if status == want:
            break
        time.sleep(0.2)
    return status


def state_files(name: str) -> str:
    """Everything a deploy could have created or changed on a host."""
    return sh(name, "ls -la --time-style=full-iso /etc/systemd/system /opt /var/lib "
                    "/etc/nginx/conf.d /etc/ollama-fleet 2>/dev/null; nft list ruleset; "
                    "systemctl is-active ollama; true")


class ProcessWatch:
    """Samples a host's full process list many times a second during a deploy."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.log = f"/root/ps-watch-{secrets.token_hex(4)}.log"

    def __enter__(self) -> ProcessWatch:
        sh(self.name, f"nohup sh -c 'while :; do ps -eww -o args; sleep 0.05; done' "
                      f"< /dev/null > {self.log} 2>&1 & echo $! > {self.log}.pid")
        return self

    def __exit__(self, *exc: object) -> None:
        sh(self.name, f"kill $(cat {self.log}.pid)")

    def text(self) -> str:
        out = sh(self.name, f"cat {self.log}; rm -f {self.log} {self.log}.pid")
        assert out.count("\n") > 100, "the process watch did not sample"
        return out


# Keeps the models out of ~/.ollama: the deploy currently creates that directory root-owned,
# and the server then cannot write its identity key there (reported separately).
BASE: dict[str, Any] = {}


def server_data(**extra: Any) -> dict[str, dict[str, Any]]:
    return {SERVER: {**BASE, **extra}}


# --- refusal before anything happens ----------------------------------------------------

def test_exposed_bind_without_allowlist_is_refused_with_a_clear_message() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_data({"ollama_version": "0.13.5", "ollama_host": "0.0.0.0"}, "h1")
    message = str(caught.value)
    assert "ollama_host = '0.0.0.0'" in message
    assert "allow_networks" in message and "expose_unauthenticated" in message


def test_auth_proxy_secrets_are_never_shown_in_errors() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_data({"ollama_version": "0.13.5", "ollama_auth_proxy": {
            "bearer_tokens": ["Zq9short"], "basic_users": {"bob": TOKEN_A}}}, "h1")
    assert "Zq9short" not in str(caught.value) and TOKEN_A not in str(caught.value)


@on_lab
def test_exposed_bind_without_allowlist_touches_no_host(lab, artifacts) -> None:  # noqa: ANN001
    before = state_files(SERVER)
    result = deploy(server_data(ollama_host="0.0.0.0"))
    assert result.returncode != 0
    assert "allow_networks" in result.output and "expose_unauthenticated" in result.output
    assert state_files(SERVER) == before


# --- unit checks of what gets rendered -----------------------------------------------------

def test_htpasswd_hash_is_sha512_crypt_as_openssl_computes_it() -> None:
    salt = "saltsaltsalt1234"
    expected = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
                              input=PASSWORD + "\n", capture_output=True, text=True).stdout
    assert sha512_crypt(PASSWORD, salt) == expected.strip()


def test_bearer_tokens_are_matched_exactly_and_case_sensitively() -> None:
    import re  # noqa: PLC0415

    nasty = 'a.b*c"d\\e$f{g}h;i'
    # The regex itself (before nginx's quoting), as PCRE-compatible Python sees it.
    regex = str(proxy.bearer_regex(nasty)).removeprefix("~")
    assert re.fullmatch(regex, f"Bearer {nasty}")
    assert re.fullmatch(regex, f"bearer {nasty}")  # the scheme is case-insensitive (RFC 7235)
    assert not re.fullmatch(regex, f"Bearer {nasty.upper()}")
    assert not re.fullmatch(regex, f"Bearer {nasty}x")
    assert not re.fullmatch(regex, "Bearer a_b*c\"d\\e$f{g}h;i")


def test_firewall_ruleset_guards_both_ports_and_keeps_loopback() -> None:
    settings = settings_from_data({
        "ollama_version": "0.13.5", "ollama_allow_networks": ["10.0.0.0/8", "10.1.2.3", "fd00::/8"],
        "ollama_auth_proxy": {"bearer_tokens": [TOKEN_A], "port": 9443}}, "h1")
    text = firewall.ruleset(settings)
    assert "tcp dport { 9443, 11434 } jump guarded" in text
    assert 'iifname "lo" accept' in text
    assert "elements = { 10.0.0.0/8, 10.1.2.3/32 }" in text and "fd00::/8" in text
    assert "flush" not in text


# --- firewall ------------------------------------------------------------------------------

FW = {"ollama_host": "0.0.0.0"}


@pytest.fixture(scope="module")
def firewalled(lab, artifacts):  # noqa: ANN001
    """nftables missing at first (the deploy installs it); then the user adds a table of
    their own, and a deploy that changes our ruleset must leave it alone."""
    bare(SERVER)
    sh(SERVER, "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q nftables >/dev/null 2>&1; "
               "! command -v nft")
    first = deploy(server_data(**FW, ollama_allow_networks=["192.0.2.0/24"]))
    assert first.returncode == 0, first.output
    sh(SERVER, USER_TABLE)
    data = {**FW, "ollama_allow_networks": [f"{address(ALLOWED)}/32", "2001:db8::/32"]}
    result = deploy(server_data(**data))
    assert result.returncode == 0, result.output
    assert any("firewall" in op.lower() for op in result.changed(SERVER)), result.changed(SERVER)
    return data


@on_lab
def test_allowed_network_reaches_the_api_and_others_are_dropped(firewalled) -> None:  # noqa: ANN001
    url = f"http://{address(SERVER)}:11434/api/version"
    assert reach(ALLOWED, url)
    started = time.monotonic()
    assert not reach(DENIED, url)
    assert not reach(GATEWAY, url)
    assert time.monotonic() - started < 10, "denied clients must fail within curl's timeout"
    # Loopback, including the host's own address (routed over lo), always works.
    assert reach(SERVER, "http://127.0.0.1:11434/api/version")
    assert reach(SERVER, url)
    # Other ports are not ours to filter: SSH from the denied host still works.
    assert ssh(DENIED, f"nc -z -w 3 {address(SERVER)} 22 || "
                       f"timeout 3 bash -c '</dev/tcp/{address(SERVER)}/22'").returncode == 0


@on_lab
def test_the_users_own_table_survives_the_deploy(firewalled) -> None:  # noqa: ANN001
    listing = sh(SERVER, "nft list table inet user_rules")
    assert 'tcp dport 9999 counter' in listing and "user-owned" in listing


@on_lab
def test_firewall_is_loaded_by_its_unit_before_ollama(firewalled) -> None:  # noqa: ANN001
    assert sh(SERVER, f"systemctl is-enabled {firewall.UNIT}").strip() == "enabled"
    assert sh(SERVER, f"systemctl is-active {firewall.UNIT}").strip() == "active"
    before = sh(SERVER, f"systemctl show -p Before --value {firewall.UNIT}")
    assert "ollama.service" in before.split()


@on_lab
def test_second_firewall_run_changes_nothing(firewalled) -> None:  # noqa: ANN001
    result = deploy(server_data(**firewalled), "-vv")
    assert result.returncode == 0, result.output
    assert result.changed(SERVER) == []


@on_lab
def test_a_deleted_table_is_noticed_and_loaded_again(firewalled) -> None:  # noqa: ANN001
    sh(SERVER, "nft delete table inet ollama_fleet")
    assert reach(DENIED, f"http://{address(SERVER)}:11434/api/version")
    result = deploy(server_data(**firewalled))
    assert result.returncode == 0, result.output
    assert any("firewall" in op.lower() for op in result.changed(SERVER)), result.changed(SERVER)
    assert not reach(DENIED, f"http://{address(SERVER)}:11434/api/version")
    assert "user-owned" in sh(SERVER, "nft list table inet user_rules")


@on_lab
def test_firewall_persists_across_a_reboot(firewalled) -> None:  # noqa: ANN001
    fleet = str(ROOT / "lab" / "fleet")
    assert run([fleet, "stop", SERVER], timeout=120).returncode == 0
    started = run([fleet, "start", SERVER], timeout=300)
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not reach(SERVER, "http://127.0.0.1:11434/"):
        time.sleep(1)
    assert "chain guarded" in sh(SERVER, "nft list table inet ollama_fleet")
    url = f"http://{address(SERVER)}:11434/api/version"
    assert not reach(DENIED, url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not reach(ALLOWED, url):
        time.sleep(1)
    assert reach(ALLOWED, url)


@on_lab
def test_removing_the_allowlist_removes_table_file_and_unit(firewalled) -> None:  # noqa: ANN001
    # The user's table was made with plain `nft add` (not persisted): a reboot test drops it.
    sh(SERVER, f"nft list table inet user_rules >/dev/null 2>&1 || ({USER_TABLE})")
    result = deploy(server_data(ollama_host="0.0.0.0", ollama_expose_unauthenticated=True))
    assert result.returncode == 0, result.output
    assert ssh(SERVER, "nft list table inet ollama_fleet").returncode != 0
    gone = sh(SERVER, f"ls {firewall.RULES} {firewall.UNIT_PATH} 2>&1; "
                      f"systemctl is-enabled {firewall.UNIT} 2>&1; true")
    assert "No such file" in gone and "enabled" not in gone.replace("not-found", "")
    assert "user-owned" in sh(SERVER, "nft list table inet user_rules")
    assert reach(DENIED, f"http://{address(SERVER)}:11434/api/version")
    again = deploy(server_data(ollama_host="0.0.0.0", ollama_expose_unauthenticated=True))
    assert again.returncode == 0 and again.changed(SERVER) == []


# --- authenticating proxy -----------------------------------------------------------------

def proxy_data(*tokens: str, **extra: Any) -> dict[str, Any]:
    return {"ollama_auth_proxy": {"bearer_tokens": list(tokens),
                                  "basic_users": {"alice": PASSWORD}}, **extra}


@pytest.fixture(scope="module")
def proxied(lab, artifacts):  # noqa: ANN001
    bare(SERVER)
    with ProcessWatch(SERVER) as watch:
        result = deploy(server_data(**proxy_data(TOKEN_A)), "-vv")
    assert result.returncode == 0, result.output
    return {"result": result, "ps": watch.text()}


@on_lab
def test_requests_without_or_with_a_wrong_token_get_401(proxied) -> None:  # noqa: ANN001
    assert https("/api/tags")[0] == 401
    assert https("/api/tags", bearer("x" * 24))[0] == 401
    assert https("/api/tags", bearer(TOKEN_A.swapcase()))[0] == 401
    assert https("/api/tags", bearer(TOKEN_A + "x"))[0] == 401
    assert https("/api/tags", basic("alice", "wrong-password"))[0] == 401


@on_lab
def test_the_right_token_or_password_reaches_ollama(proxied) -> None:  # noqa: ANN001
    status, body = https("/api/tags", bearer(TOKEN_A))
    assert status == 200 and "models" in json.loads(body)
    status, body = https("/api/version", {"Authorization": f"bearer {TOKEN_A}"})
    assert status == 200 and json.loads(body)["version"] == "0.13.5"
    assert https("/api/tags", basic("alice", PASSWORD))[0] == 200


@on_lab
def test_ollama_itself_is_not_reachable_from_other_hosts(proxied) -> None:  # noqa: ANN001
    url = f"http://{address(SERVER)}:11434/api/version"
    assert not reach(ALLOWED, url) and not reach(GATEWAY, url)
    assert reach(SERVER, "http://127.0.0.1:11434/api/version")


@on_lab
def test_a_pull_streams_through_the_proxy(proxied) -> None:  # noqa: ANN001
    # Slow the server's downloads from the lab registry (a table of the test's own) so the
    # pull lasts seconds; streamed progress lines must then arrive spread over that time.
    sh(SERVER, "(command -v nft >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y "
               "-q nftables >/dev/null) && nft add table inet test_throttle && "
               "nft add chain inet test_throttle input "
               "'{ type filter hook input priority 0; policy accept; }' && "
               f"nft add rule inet test_throttle input ip saddr {GATEWAY} tcp sport 8080 "
               "limit rate over 512 kbytes/second drop")
    # A model the lab's group data does not deploy, removed first so the pull downloads.
    https("/api/delete", bearer(TOKEN_A), {"model": "tinyllama:1b"}, method="DELETE")
    try:
        conn = http.client.HTTPSConnection(address(SERVER), 8443, timeout=60,
                                           context=ssl._create_unverified_context())
        conn.request("POST", "/api/pull", body=json.dumps({"model": "tinyllama:1b"}),
                     headers=bearer(TOKEN_A))
        response = conn.getresponse()
        assert response.status == 200
        arrivals: list[tuple[float, dict]] = []
        while line := response.readline():
            arrivals.append((time.monotonic(), json.loads(line)))
        conn.close()
    finally:
        sh(SERVER, "nft delete table inet test_throttle")
    assert arrivals[-1][1].get("status") == "success", arrivals[-1]
    assert len(arrivals) >= 4
    assert arrivals[-1][0] - arrivals[0][0] > 1.5, "lines arrived all at once: buffered"
    gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert max(gaps) < 0.75 * (arrivals[-1][0] - arrivals[0][0]), "progress came in one burst"


@on_lab
def test_secret_files_have_tight_modes(proxied) -> None:  # noqa: ANN001
    modes = sh(SERVER, f"stat -c '%n %a %U:%G' {proxy.DIR} {proxy.BEARER_MAP} {proxy.HTPASSWD} "
                       f"{proxy.KEY}")
    assert f"{proxy.DIR} 750 root:www-data" in modes
    assert f"{proxy.BEARER_MAP} 600 root:root" in modes
    assert f"{proxy.HTPASSWD} 640 root:www-data" in modes
    assert f"{proxy.KEY} 600 root:root" in modes
    assert PASSWORD not in sh(SERVER, f"cat {proxy.HTPASSWD}")


@on_lab
def test_second_proxy_run_changes_nothing_and_keeps_the_certificate(proxied) -> None:  # noqa: ANN001
    fingerprint = sh(SERVER, f"openssl x509 -noout -fingerprint -in {proxy.CERT}")
    result = deploy(server_data(**proxy_data(TOKEN_A)))
    assert result.returncode == 0, result.output
    assert result.changed(SERVER) == []
    assert sh(SERVER, f"openssl x509 -noout -fingerprint -in {proxy.CERT}") == fingerprint


@on_lab
def test_token_rotation_reloads_nginx_without_restarting_ollama(proxied) -> None:  # noqa: ANN001
    ollama_pid = main_pid(SERVER)
    nginx_pid = sh(SERVER, "systemctl show -p MainPID --value nginx").strip()
    with ProcessWatch(SERVER) as watch:
        result = deploy(server_data(**proxy_data(TOKEN_B)), "-vv")
    assert result.returncode == 0, result.output
    assert eventually_status(bearer(TOKEN_B), 200) == 200
    assert eventually_status(bearer(TOKEN_A), 401) == 401
    assert main_pid(SERVER) == ollama_pid
    assert sh(SERVER, "systemctl show -p MainPID --value nginx").strip() == nginx_pid
    assert result.changed(SERVER) and all("proxy" in op.lower() for op in result.changed(SERVER))
    secrets_absent(result.output, watch.text())


@on_lab
def test_no_secret_appears_in_output_or_process_lists(proxied) -> None:  # noqa: ANN001
    secrets_absent(proxied["result"].output, proxied["ps"])


def secrets_absent(output: str, processes: str) -> None:
    for secret in (TOKEN_A, TOKEN_B, PASSWORD, PASSWORD[:12], TOKEN_A[5:20], TOKEN_B[5:20]):
        assert secret not in output, "a secret is in pyinfra's output"
        assert secret not in processes, "a secret is in a process list"
    # -vv printed the commands: the check above looked at real command text.
    assert "nginx -t" in output


@on_lab
def test_a_provided_certificate_is_served_then_self_signed_comes_back(proxied, tmp_path) -> None:  # noqa: ANN001
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    made = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                "/CN=ollama-fleet-test", "-keyout", str(key), "-out", str(cert)])
    assert made.returncode == 0, made.stderr
    data = proxy_data(TOKEN_B)
    data["ollama_auth_proxy"].update(tls_cert=str(cert), tls_key=str(key))
    with ProcessWatch(SERVER) as watch:
        result = deploy(server_data(**data), "-vv")
    assert result.returncode == 0, result.output
    key_body = "".join(key.read_text().splitlines()[1:-1])[:40]
    assert key_body not in result.output and key_body not in watch.text()
    served = run(["sh", "-c", f"echo | openssl s_client -connect {address(SERVER)}:8443 "
                              "2>/dev/null | openssl x509 -noout -subject"])
    assert "ollama-fleet-test" in served.stdout
    back = deploy(server_data(**proxy_data(TOKEN_B)))
    assert back.returncode == 0, back.output
    assert "ollama-fleet-test" not in sh(SERVER, f"openssl x509 -noout -subject -in {proxy.CERT}")
    assert sh(SERVER, f"cat {proxy.SELFSIGNED_MARKER}")


@on_lab
def test_firewall_guards_the_proxy_port_too(proxied) -> None:  # noqa: ANN001
    data = proxy_data(TOKEN_B, ollama_allow_networks=[f"{address(ALLOWED)}/32"])
    result = deploy(server_data(**data))
    assert result.returncode == 0, result.output
    url = f"https://{address(SERVER)}:8443/api/version"
    assert reach(ALLOWED, url)
    assert not reach(DENIED, url)


@on_lab
def test_removing_the_proxy_closes_its_port_and_removes_its_files(proxied) -> None:  # noqa: ANN001
    result = deploy(server_data())
    assert result.returncode == 0, result.output
    assert not reach(SERVER, "https://127.0.0.1:8443/")
    assert ssh(SERVER, f"ls {proxy.CONF}").returncode != 0
    assert ssh(SERVER, f"ls {proxy.DIR}").returncode != 0
    assert ssh(SERVER, "nft list table inet ollama_fleet").returncode != 0
    assert sh(SERVER, "systemctl is-active nginx").strip() == "active"
