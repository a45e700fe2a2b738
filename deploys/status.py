"""`ollama-fleet status INVENTORY [--json] [--limit PATTERN]`: one table for the fleet.

Reads each host's state with the same single fact the deploy uses (one round trip per host)
and exits non-zero when any host is unreachable, unhealthy or drifted from its settings, so it
serves CI gates and monitoring checks alike. Hosts without any `ollama_*` data are not Ollama
hosts: they are neither contacted nor listed. `python -m ollama_fleet.status` is the same
command.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import gevent
from pyinfra.api import Config
from pyinfra.api.connect import connect_all
from pyinfra.context import ctx_host

from .linux.deploy import gather_state
from .linux.drift import HostStatus, host_status
from .linux.layout import Layout
from .model_plan import ModelPlanError, plan_models
from .settings import SettingsError, settings_from_data

COLUMNS = ("host", "reachable", "installed", "running", "active", "enabled", "address",
           "gpu", "compute", "drift", "models")


def collect(inventory_path: str, limit: list[str] | None = None) -> list[HostStatus]:
    """Connect to the Ollama hosts of the inventory (within limit) and read their status."""
    from .cli import load_inventory  # noqa: PLC0415

    loaded = load_inventory(inventory_path, limit, config=Config(CONNECT_TIMEOUT=5))
    if not loaded.selected:
        return []
    connect_all(loaded.state)

    def one(member: Any) -> HostStatus:
        if not member.connected:
            return HostStatus(member.name, reachable=False, error="unreachable")
        data = member.data.dict()
        try:
            settings = settings_from_data(data, member.name)
            plan = plan_models(settings, member.name, data)
        except (SettingsError, ModelPlanError) as exc:
            return HostStatus(member.name, error=f"invalid settings: {exc}")
        with ctx_host.use(member):
            if settings.platform == "windows":
                return _windows(member.name, settings, plan)
            current = gather_state(settings, Layout(settings), compute=True)
        return host_status(member.name, settings, plan, current)

    jobs = [gevent.spawn(one, h) for h in loaded.selected]
    gevent.joinall(jobs)
    return [job.get() for job in jobs]


def _windows(name: str, settings: Any, plan: Any) -> HostStatus:
    from .windows.deploy import gather_state  # noqa: PLC0415 - Windows code loads on demand
    from .windows.desired import layout  # noqa: PLC0415
    from .windows.drift import windows_status  # noqa: PLC0415

    state = gather_state(settings, layout(settings))  # its script travels on stdin
    if state is None:
        return HostStatus(name, error="the Windows state probe printed nothing")
    return windows_status(name, settings, plan, state)


def render_table(rows: list[HostStatus]) -> str:
    lines = [list(COLUMNS)]
    for row in rows:
        models = f"{row.models_present} present"
        if row.models_missing:
            models += f", missing {','.join(row.models_missing)}"
        if row.models_extra:
            models += f", extra {','.join(row.models_extra)}"
        lines.append([
            row.host, "yes" if row.reachable else "NO", row.installed or "-",
            row.running or "-", row.active, row.enabled, row.address or "-",
            row.gpu or "-", row.compute or "-",
            "; ".join([*row.drift, *filter(None, [row.compute_problem])])
            or (row.error or "none"), models,
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS) - 1)]
    out = []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(out)


def run(inventory: str, limit: list[str] | None = None, *, as_json: bool = False,
        verbose: int = 0) -> int:
    if not verbose:
        # The table is the report: pyinfra's own connection chatter would only interleave.
        logging.getLogger("pyinfra").setLevel(logging.ERROR)
    rows = collect(inventory, limit)
    if as_json:
        print(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        print(render_table(rows))
    bad = [row.host for row in rows if not row.ok]
    if bad and not as_json:
        print(f"\n{len(bad)} of {len(rows)} host(s) need attention: {', '.join(bad)}",
              file=sys.stderr)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ollama_fleet.status ARGS` is `ollama-fleet status ARGS`."""
    from .cli import main as cli_main  # noqa: PLC0415

    return cli_main(["status", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
