"""Authenticating reverse proxy: nginx with TLS and bearer tokens or basic auth before Ollama.

Every secret (tokens, hashed passwords, a provided TLS key) reaches the host as an uploaded
file and is put in place by `install` with its final mode, so it never appears in a command,
in pyinfra's output or in a process list. A change reloads nginx only: Ollama keeps running.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..hostcmd import fail_host, upload_secret
from ..render import NginxNoVariables, nginx, render
from ..settings import AuthProxy, OllamaSettings
from .facts import LinuxHostState
from .htpasswd import htpasswd
from .layout import STAGING_DIR

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

PROBES = (
    ("nginx_conf", CONF), ("bearer_map", BEARER_MAP), ("htpasswd", HTPASSWD),
    ("tls_crt", CERT), ("tls_key", KEY), ("tls_selfsigned", SELFSIGNED_MARKER),
)


@dataclass(frozen=True)
class ProxyFile:
    key: str
    dest: str
    content: bytes | None  # None: the file must not exist
    mode: str = "0600"
    group: str = "root"

    @property
    def sha256(self) -> str:
        return "absent" if self.content is None else hashlib.sha256(self.content).hexdigest()

    @property
    def staged(self) -> str:
        return f"{STAGING_DIR}/{self.key}"


def bearer_regex(token: str) -> NginxNoVariables:
    """A case-sensitive map regex matching exactly `Bearer <token>` (a map source key: nginx
    expands no variables there, so the final `$` is an anchor). Every non-alphanumeric
    character is backslash-escaped (always a literal in PCRE)."""
    literal = re.sub(r"([^A-Za-z0-9])", r"\\\1", token)
    return NginxNoVariables(f"~^(?i:bearer) {literal}$")


def bearer_pattern(token: str) -> str:
    """bearer_regex as it appears between the double quotes of the map file."""
    return nginx(bearer_regex(token))[1:-1]


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


def desired_files(settings: OllamaSettings, current: LinuxHostState) -> tuple[ProxyFile, ...]:
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
        ProxyFile("nginx_conf", CONF, conf.encode(), "0644"),
        ProxyFile("bearer_map", BEARER_MAP, tokens.encode(), "0600"),
        ProxyFile("htpasswd", HTPASSWD,
                  htpasswd(users, salts(current)).encode() if users else None,
                  "0640", WORKER_GROUP),
    ]
    if proxy.tls_cert and proxy.tls_key:
        files += [
            ProxyFile("tls_crt", CERT, Path(proxy.tls_cert).read_bytes(), "0644"),
            ProxyFile("tls_key", KEY, Path(proxy.tls_key).read_bytes(), "0600"),
            ProxyFile("tls_selfsigned", SELFSIGNED_MARKER, None),
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
    changed = [f for f in files if sec.get(f.key, "absent") != f.sha256]
    selfsign = needs_selfsigned(settings, current)
    install = "nginx" not in current.tools
    running = sec.get("nginx_active") == "active" and sec.get("nginx_enabled") == "enabled"
    if not (changed or selfsign or install or not running):
        host.noop("auth proxy is current")
        return

    for managed in changed:
        if managed.content is None:
            continue
        if not int(managed.mode, 8) & 0o004:  # not world-readable on the host: a secret
            yield from upload_secret(managed.content, managed.staged, managed.key)
        else:
            yield FileUploadCommand(BytesIO(managed.content), managed.staged)
    entries = [{
        "key": f.key, "dest": f.dest, "mode": f.mode, "group": f.group, "staged": f.staged,
        "action": "upload" if f.content is not None else "remove",
    } for f in changed]
    if selfsign:
        # Listed so they are backed up and restored if nginx rejects the result.
        entries += [{"key": k, "dest": d, "action": "keep"} for k, d in (
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
