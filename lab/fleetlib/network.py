"""The lab bridge on the controller, and cutting a host's cable."""

from __future__ import annotations

import sys
from pathlib import Path

from . import config
from .proc import FleetError, run

# Hosts get a default route via the gateway (like real servers), so make sure the
# controller never routes their packets anywhere else even if forwarding is on:
# the lab only talks to itself and to the proxy and artifact server on the gateway.
NFT_RULES = f"""\
table inet {config.NFT_TABLE} {{
    chain forward {{
        type filter hook forward priority 0; policy accept;
        iifname "{config.BRIDGE}" oifname != "{config.BRIDGE}" drop
        oifname "{config.BRIDGE}" iifname != "{config.BRIDGE}" drop
    }}
}}
"""


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def ensure_bridge() -> None:
    if not link_exists(config.BRIDGE):
        run(["ip", "link", "add", config.BRIDGE, "type", "bridge"])
    addr = f"{config.GATEWAY}/{config.PREFIX_LEN}"
    if addr not in run(["ip", "-o", "addr", "show", "dev", config.BRIDGE]).stdout:
        run(["ip", "addr", "add", addr, "dev", config.BRIDGE])
    run(["ip", "link", "set", config.BRIDGE, "up"])
    _ensure_no_forwarding()


def _ensure_no_forwarding() -> None:
    run(["nft", "delete", "table", "inet", config.NFT_TABLE], check=False)
    result = run(["nft", "-f", "-"], check=False, input_text=NFT_RULES)
    if result.returncode == 0:
        return
    # Without the rule the lab is still isolated as long as the kernel does not route.
    if Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() != "0":
        raise FleetError(f"cannot isolate the lab with nftables: {result.stderr.strip()}")
    print(f"warning: nftables guard not installed ({result.stderr.strip()})", file=sys.stderr)


def delete_leftovers() -> None:
    """Delete the bridge, the nft guard and any host veth that outlived its container.

    A veth normally vanishes with its container's network namespace, but the
    kernel frees namespaces lazily, and a stale vb-labNN makes the next boot of
    that host fail with "File exists".
    """
    run(["nft", "delete", "table", "inet", config.NFT_TABLE], check=False)
    for veth in Path("/sys/class/net").glob(config.host_veth("lab*")):
        run(["ip", "link", "delete", veth.name], check=False)
    if link_exists(config.BRIDGE):
        run(["ip", "link", "delete", config.BRIDGE])


def delete_veth(name: str) -> None:
    if link_exists(config.host_veth(name)):
        run(["ip", "link", "delete", config.host_veth(name)], check=False)


def set_cable(name: str, connected: bool) -> None:
    """Plug or unplug a host: its veth on the bridge goes up or down.

    With the host-side end down the container's interface loses carrier too, so
    traffic fails in both directions while the host itself keeps running.
    """
    veth = config.host_veth(name)
    if not link_exists(veth):
        raise FleetError(f"{name} has no network interface {veth} (is it running?)")
    run(["ip", "link", "set", veth, "up" if connected else "down"])


def cable_connected(name: str) -> bool:
    try:
        flags = Path(f"/sys/class/net/{config.host_veth(name)}/flags").read_text()
    except FileNotFoundError:
        return False
    return bool(int(flags, 16) & 0x1)  # IFF_UP
