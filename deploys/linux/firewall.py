"""Host firewall: an nftables table of our own that lets only allow_networks reach the API.

The table is ours alone (`inet ollama_fleet`) and is replaced atomically, so the operator's own
rules and tables are never read, flushed or rewritten. A small oneshot unit loads it at boot,
before Ollama binds. nftables semantics make this safe to combine with other tables: an
accept in our chain does not override a drop elsewhere, and our drop is final.
"""

from __future__ import annotations

import ipaddress

from pyinfra import host
from pyinfra.api import StringCommand, operation

from ..managed import ManagedFile, upload
from ..render import render
from ..settings import OllamaSettings
from .facts import LinuxHostState
from .layout import STAGING_DIR, STATE_DIR, managed_file
from .probe import Probe, Shared

TABLE = "ollama_fleet"
NFT = "/usr/sbin/nft"
RULES_DIR = "/etc/ollama-fleet"
RULES = f"{RULES_DIR}/nftables.nft"
UNIT = "ollama-fleet-firewall.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
# sha256 of `nft -s list table` (counters left out) right after our load: a different live
# listing means someone changed or flushed the table since, and it is loaded again.
LIVE_RECORD = f"{STATE_DIR}/firewall.live"

# Names under which the state fact reports the digests of the firewall's files.
PROBES = (("fw_rules", RULES), ("fw_unit", UNIT_PATH))


def _parse_probe(state: LinuxHostState, key: str, value: str) -> None:
    state.security[key] = value


def _finish_probe(state: LinuxHostState, shared: Shared) -> None:
    props = shared.units.get(UNIT)
    if props is not None:
        state.security["fw_enabled"] = props.get("UnitFileState") or "not-found"


# The table, its live digest and the recorded one, and the unit's state, for the state fact.
PROBE = Probe("firewall", "linux/probe_firewall.sh.j2",
              keys=("fw_table", "fw_live", "fw_live_applied"), parse=_parse_probe,
              finish=_finish_probe, tools=("nft",),
              context={"firewall_unit": UNIT, "firewall_table": TABLE,
                       "firewall_record": LIVE_RECORD})


def wanted(settings: OllamaSettings) -> bool:
    return bool(settings.allow_networks)


def guarded_ports(settings: OllamaSettings) -> list[int]:
    """Ollama's port always; nginx's too when it is the exposed side."""
    ports = {settings.bind.port}
    if settings.auth_proxy is not None:
        ports.add(settings.auth_proxy.port)
    return sorted(ports)


def ruleset(settings: OllamaSettings) -> str:
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.allow_networks]
    # Sorted and deduplicated, so equivalent allowlists render the same file (no reload).
    v4 = sorted({str(n) for n in networks if n.version == 4})
    v6 = sorted({str(n) for n in networks if n.version == 6})
    return render("linux/nftables.nft.j2", table=TABLE, ports=guarded_ports(settings),
                  v4=v4, v6=v6)


def files(settings: OllamaSettings) -> tuple[ManagedFile, ...]:
    unit = render("linux/nftables.service.j2", table=TABLE, nft=NFT, rules=RULES,
                  ollama_unit=f"{settings.service_name}.service")
    return (managed_file("fw_rules", RULES, ruleset(settings)),
            managed_file("fw_unit", UNIT_PATH, unit))


def apply_reasons(settings: OllamaSettings, current: LinuxHostState) -> list[str]:
    sec = current.security
    reasons = [f"{f.dest} differs" for f in files(settings) if f.differs(sec)]
    if "nft" not in current.tools:
        reasons.append("nftables is not installed")
    if sec.get("fw_table") != "present":
        reasons.append(f"table inet {TABLE} is not loaded")
    elif sec.get("fw_live") != sec.get("fw_live_applied"):
        reasons.append(f"table inet {TABLE} was changed outside ollama-fleet")
    if sec.get("fw_enabled") != "enabled":
        reasons.append(f"{UNIT} is not enabled")
    return reasons


@operation()
def firewall(settings: OllamaSettings, current: LinuxHostState):
    """Only allow_networks (and loopback) reach the guarded ports; loaded before Ollama binds."""
    if not wanted(settings):
        host.noop("no allow_networks: no firewall wanted")
        return
    reasons = apply_reasons(settings, current)
    if not reasons:
        host.noop(f"firewall table inet {TABLE} is current")
        return
    declared = files(settings)
    changed = [f for f in declared if f.differs(current.security)]
    yield from upload(changed)
    staged_rules = next((f.staged for f in changed if f.key == "fw_rules"), None)
    yield StringCommand(render(
        "linux/nftables_apply.sh.j2",
        install="nft" not in current.tools, packages=["nftables"], nft=NFT, table=TABLE,
        staged_rules=staged_rules, rules_dir=RULES_DIR, rules=RULES, unit=UNIT,
        live_record=LIVE_RECORD, staging=STAGING_DIR,
        files=[f.step(changed=f in changed) for f in declared],
    ))


def present(current: LinuxHostState) -> bool:
    sec = current.security
    return (sec.get("fw_table") == "present" or sec.get("fw_rules", "absent") != "absent"
            or sec.get("fw_unit", "absent") != "absent" or bool(sec.get("fw_live_applied")))


@operation()
def remove_firewall(settings: OllamaSettings, current: LinuxHostState):
    """Without allow_networks the table, its file and its unit go away."""
    if wanted(settings) or not present(current):
        host.noop("no ollama-fleet firewall to remove")
        return
    yield StringCommand(render(
        "linux/nftables_remove.sh.j2",
        table=TABLE, unit=UNIT, unit_path=UNIT_PATH, rules=RULES, live_record=LIVE_RECORD,
    ))
