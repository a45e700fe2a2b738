"""Daemons on the gateway address: the apt proxy and the artifact server."""

from __future__ import annotations

import re
import socket
import sys
import urllib.error
import urllib.request

from . import config
from .proc import FleetError, alive, run, spawn_daemon, terminate, wait_until

# Hosts may only fetch from the package mirrors; everything else is refused,
# so nothing in a test can reach the wider internet through the lab.
PROXY_ALLOWED = (
    r"^deb\.debian\.org$",
    r"^security\.debian\.org$",
    r"^pypi\.org$",
    r"^files\.pythonhosted\.org$",
)

TINYPROXY_CONF = """\
# Binds as root, then serves as nobody.
User nobody
Group nogroup
Port {port}
Listen {gateway}
Allow {subnet}
Timeout 600
MaxClients 200
LogLevel Notice
DisableViaHeader Yes
Filter "{filter}"
FilterType ere
FilterDefaultDeny Yes
ConnectPort 443
"""


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((config.GATEWAY, port), timeout=1):
            return True
    except OSError:
        return False


def start_proxy() -> int:
    config.RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    filter_file = config.RUNTIME_DIR / "tinyproxy.filter"
    filter_file.write_text("\n".join(PROXY_ALLOWED) + "\n")
    conf = config.RUNTIME_DIR / "tinyproxy.conf"
    conf.write_text(
        TINYPROXY_CONF.format(
            port=config.PROXY_PORT,
            gateway=config.GATEWAY,
            subnet=config.SUBNET,
            filter=filter_file,
        )
    )
    # -d keeps it in the foreground so the PID we record is the one serving.
    log = config.RUNTIME_DIR / "tinyproxy.log"
    pid = spawn_daemon(["tinyproxy", "-d", "-c", str(conf)], log)
    if not wait_until(lambda: _port_open(config.PROXY_PORT), config.SERVICE_TIMEOUT):
        terminate([pid], 2.0)
        raise FleetError(f"tinyproxy did not listen on {config.PROXY_URL}; see {log}")
    return pid


def _http_answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (404 included) means it is serving
    except OSError:
        return False


def start_artifacts() -> int | None:
    """Start the artifact server if the stand-in exists; returns its PID."""
    if not config.ARTIFACTS_SERVER.exists():
        print(f"note: {config.ARTIFACTS_SERVER} not found; no artifact server", file=sys.stderr)
        return None
    config.ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    log = config.RUNTIME_DIR / "artifacts.log"
    cmd = [
        sys.executable,
        str(config.ARTIFACTS_SERVER),
        "--bind", config.GATEWAY,
        "--port", str(config.ARTIFACTS_PORT),
        "--root", str(config.ARTIFACTS_DIR),
    ]  # fmt: skip
    pid = spawn_daemon(cmd, log)
    if not wait_until(lambda: _http_answers(config.ARTIFACTS_URL + "/"), config.SERVICE_TIMEOUT):
        terminate([pid], 2.0)
        raise FleetError(f"artifact server did not answer on {config.ARTIFACTS_URL}; see {log}")
    return pid


def gateway_listeners() -> list[int]:
    """PIDs of anything listening on the gateway address: only the lab binds there."""
    result = run(["ss", "-Hltnp", "src", config.GATEWAY], check=False)
    return sorted({int(pid) for pid in re.findall(r"pid=(\d+)", result.stdout)})


def running(pid: int | None, program: str) -> bool:
    return alive(pid, expect=program)


def stop_all(pids: list[int | None]) -> None:
    known = [p for p in pids if p]
    terminate(sorted(set(known) | set(gateway_listeners())), 5.0)
