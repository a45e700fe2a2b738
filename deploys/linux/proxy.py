"""Authenticating reverse proxy: nginx with TLS and bearer tokens or basic auth before Ollama.

Every secret (tokens, hashed passwords, a provided TLS key) reaches the host as an uploaded
file and is put in place by `install` with its final mode, so it never appears in a command,
in pyinfra's output or in a process list. A change reloads nginx only: Ollama keeps running.
"""

from __future__ import annotations

import re
from pathlib import Path

from pyinfra import host
from pyinfra.api import StringCommand, operation

from ..hostcmd import fail_host
from ..managed import ManagedFile, upload
from ..render import NginxNoVariables, render
from ..settings import AuthProxy, OllamaSettings
from .facts import LinuxHostState
from .htpasswd import htpasswd
from .layout import STAGING_DIR, managed_file
from .probe import Probe, Shared

CONF = "/etc/nginx/conf.d/ollama-fleet.conf"
DIR = "/etc/ollama-fleet/nginx"
BEARER_MAP = f"{DIR}/bearer.map"
HTPASSWD = f"{DIR}/htpasswd"
CERT = f"{DIR}/tls.crt"
KEY = f"{DIR}/tls.key"
SELFSIGNED_MARKER = f"{DIR}/tls.selfsigned"
REALM = "ollama"
# nginx workers (www-data on Debian) read the htpasswd file on each request, so it is
# group-readable by them; the token map and TLS key are read by the root master only.
WORKER_GROUP = "www-data"

NGINX_UNIT = "nginx.service"

PROBES = (
    ("nginx_conf", CONF), ("bearer_map", BEARER_MAP), ("htpasswd", HTPASSWD),
    ("tls_crt", CERT), ("tls_key", KEY), ("tls_selfsigned", SELFSIGNED_MARKER),
)


def _parse_probe(state: LinuxHostState, key: str, value: str) -> None:
    user, _, salt = value.partition(" ")  # "salt<TAB><user> <salt>"
    state.security[f"salt:{user}"] = salt


def _finish_probe(state: LinuxHostState, shared: Shared) -> None:
    props = shared.units.get(NGINX_UNIT)
    if props is not None and "nginx" in state.tools:
        state.security["nginx_active"] = props.get("ActiveState") or "unknown"
        state.security["nginx_enabled"] = props.get("UnitFileState") or "not-found"


# nginx's state and the htpasswd salts (never the hashes), for the state fact.
PROBE = Probe("proxy", "linux/probe_proxy.sh.j2", keys=("salt",), parse=_parse_probe,
              finish=_finish_probe, tools=("nginx",),
              context={"nginx_unit": NGINX_UNIT, "htpasswd": HTPASSWD})


def bearer_regex(token: str) -> NginxNoVariables:
    """A case-sensitive map regex matching exactly `Bearer <token>` (a map source key: nginx
    expands no variables there, so the final `$` is an anchor). Every non-alphanumeric
    character is backslash-escaped (always a literal in PCRE)."""
    literal = re.sub(r"([^A-Za-z0-9])", r"\\\1", token)
    return NginxNoVariables(f"~^(?i:bearer) {literal}$")


def listen_address(proxy: AuthProxy) -> str:
    address = f"[{proxy.listen}]" if ":" in proxy.listen else proxy.listen
    return f"{address}:{proxy.port}"


def probe_url(proxy: AuthProxy) -> str:
    """Where the host itself checks the proxy: wildcard listens are reached over loopback."""
    address = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(proxy.listen, proxy.listen)
    if ":" in address:
        address = f"[{address}]"
    return f"https://{address}:{proxy.port}/"


def salts(current: LinuxHostState) -> dict[str, str]:
    """Salts of the htpasswd entries on the host (reported by the fact; salts are not secret)."""
    return {name[len("salt:"):]: value for name, value in current.security.items()
            if name.startswith("salt:")}


def desired_files(settings: OllamaSettings, current: LinuxHostState) -> tuple[ManagedFile, ...]:
    proxy = settings.auth_proxy
    assert proxy is not None
    users = {user: secret.get_secret_value() for user, secret in proxy.basic_users.items()}
    conf = render(
        "linux/ollama-fleet.nginx.j2",
        realm=REALM, www_authenticate=f'Bearer realm="{REALM}"', bearer_map=BEARER_MAP,
        htpasswd=HTPASSWD if users else None,
        upstream=settings.bind.client_env, listen=listen_address(proxy), cert=CERT, key=KEY,
    )
    tokens = render("linux/nginx_bearer.map.j2", patterns=[
        bearer_regex(t.get_secret_value()) for t in proxy.bearer_tokens])
    files = [
        managed_file("nginx_conf", CONF, conf, "0644"),
        managed_file("bearer_map", BEARER_MAP, tokens, "0600"),
        managed_file("htpasswd", HTPASSWD, htpasswd(users, salts(current)) if users else None,
                     "0640", WORKER_GROUP),
    ]
    if proxy.tls_cert and proxy.tls_key:
        files += [
            managed_file("tls_crt", CERT, Path(proxy.tls_cert).read_bytes(), "0644"),
            managed_file("tls_key", KEY, Path(proxy.tls_key).read_bytes(), "0600"),
            managed_file("tls_selfsigned", SELFSIGNED_MARKER, None, "0600"),
        ]
    return tuple(files)


def needs_selfsigned(settings: OllamaSettings, current: LinuxHostState) -> bool:
    """No certificate given: generate one once, and again only if it (or our marker) is gone."""
    proxy = settings.auth_proxy
    if proxy is None or proxy.tls_cert:
        return False
    sec = current.security
    return any(sec.get(k, "absent") == "absent" for k in ("tls_crt", "tls_key", "tls_selfsigned"))


def missing_tls_files(proxy: AuthProxy) -> list[str]:
    return [p for p in (proxy.tls_cert, proxy.tls_key) if p and not Path(p).is_file()]


@operation()
def auth_proxy(settings: OllamaSettings, current: LinuxHostState):
    """nginx in front of Ollama; files change atomically, `nginx -t` guards every reload."""
    proxy = settings.auth_proxy
    if proxy is None:
        host.noop("no auth_proxy wanted")
        return
    missing = missing_tls_files(proxy)
    if missing:
        yield fail_host(f"auth_proxy TLS file(s) not found on the controller: {', '.join(missing)}")
        return
    files = desired_files(settings, current)
    sec = current.security
    changed = [f for f in files if f.differs(sec)]
    selfsign = needs_selfsigned(settings, current)
    install = "nginx" not in current.tools
    running = sec.get("nginx_active") == "active" and sec.get("nginx_enabled") == "enabled"
    if not (changed or selfsign or install or not running):
        host.noop("auth proxy is current")
        return

    yield from upload(changed)
    entries = [f.step(changed=f in changed) for f in files]
    if selfsign:
        # Listed so they are backed up and restored if nginx rejects the result.
        entries += [managed_file(k, d, None).step(changed=False) for k, d in (
            ("tls_crt", CERT), ("tls_key", KEY), ("tls_selfsigned", SELFSIGNED_MARKER))]
    yield StringCommand(render(
        "linux/nginx_apply.sh.j2",
        install=install, packages=["nginx"], dir=DIR, staging=STAGING_DIR, files=entries,
        selfsign=selfsign, cert=CERT, key=KEY, marker=SELFSIGNED_MARKER,
        reload=bool(changed or selfsign), probe_url=probe_url(proxy),
    ))


def present(current: LinuxHostState) -> bool:
    sec = current.security
    return any(sec.get(key, "absent") != "absent" for key, _ in PROBES)


@operation()
def remove_auth_proxy(settings: OllamaSettings, current: LinuxHostState):
    """Without auth_proxy, our nginx server and its secrets go away (nginx itself stays)."""
    if settings.auth_proxy is not None or not present(current):
        host.noop("no ollama-fleet auth proxy to remove")
        return
    yield StringCommand(render("linux/nginx_remove.sh.j2", conf=CONF, dir=DIR))
