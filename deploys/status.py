"""`python -m ollama_fleet.status INVENTORY [--json] [--limit HOST]`: one table for the fleet.

Reads each host's state with the same single fact the deploy uses (one round trip per host)
and exits non-zero when any host is unreachable, unhealthy or drifted from its settings, so it
serves CI gates and monitoring checks alike.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

import gevent
from pyinfra.api import Config, State
from pyinfra.api.connect import connect_all
from pyinfra.context import ctx_host, ctx_state
from pyinfra_cli.inventory import make_inventory

from .linux.deploy import gather_state
from .linux.drift import HostStatus, host_status
from .linux.layout import Layout
from .model_plan import ModelPlanError, plan_models
from .settings import SettingsError, settings_from_data

COLUMNS = ("host", "reachable", "installed", "running", "active", "enabled", "address",
           "drift", "models")


def collect(inventory_path: str, limit: list[str] | None = None) -> list[HostStatus]:
    state = State()
    ctx_state.set(state)
    inventory = make_inventory(inventory_path, cwd=os.getcwd())
    state.init(inventory, Config(CONNECT_TIMEOUT=5),
               initial_limit=[h for h in inventory if h.name in limit] if limit else None)
    connect_all(state)

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
            current = gather_state(settings, Layout(settings))
        return host_status(member.name, settings, plan, current)

    hosts = [h for h in inventory if not limit or h.name in limit]
    jobs = [gevent.spawn(one, h) for h in hosts]
    gevent.joinall(jobs)
    return [job.get() for job in jobs]


def _windows(name: str, settings: Any, plan: Any) -> HostStatus:
    from pyinfra import host  # noqa: PLC0415

    from .windows.deploy import fact_arguments  # noqa: PLC0415 - Windows code loads on demand
    from .windows.desired import layout  # noqa: PLC0415
    from .windows.drift import windows_status  # noqa: PLC0415
    from .windows.facts import WindowsOllamaState  # noqa: PLC0415

    state = host.get_fact(WindowsOllamaState, **fact_arguments(settings, layout(settings)))
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
            "; ".join(row.drift) or (row.error or "none"), models,
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS) - 1)]
    out = []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ollama_fleet.status", description=__doc__)
    parser.add_argument("inventory")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--limit", action="append", help="only this host (repeatable)")
    args = parser.parse_args(argv)
    # The table is the report: pyinfra's own connection chatter would only interleave with it.
    logging.getLogger("pyinfra").setLevel(logging.ERROR)
    rows = collect(args.inventory, args.limit)
    if args.json:
        print(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        print(render_table(rows))
    bad = [row.host for row in rows if not row.ok]
    if bad and not args.json:
        print(f"\n{len(bad)} of {len(rows)} host(s) need attention: {', '.join(bad)}",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
