"""`ollama-fleet`: the command for people and pipelines.

    ollama-fleet check INVENTORY [--limit PATTERN ...] [--data KEY=VALUE ...] [--json] [-v]
    ollama-fleet status INVENTORY [--limit PATTERN ...] [--json] [-v]
    ollama-fleet settings
    ollama-fleet push-model STORE MODEL REGISTRY_URL --credentials FILE [--ca-file FILE]
                            [--insecure] [--as NAME]
    ollama-fleet --version

`push-model` is the one-time step for `model_registry`: it puts a model from a controller-side
model store (an OLLAMA_MODELS directory) into an OCI registry, only the blobs the registry lacks,
the manifest last.

`check` validates what a deploy would validate (every host's settings, Modelfiles and the files
the controller reads) without opening any connection: the inventory is loaded into a pyinfra
State that is never connected, so a merge-request pipeline can check a change to production's
inventory without reaching production. `status` connects and reads each host's state.

Hosts: every host of the inventory (within --limit) that has at least one `ollama_*` data key;
the others are reported as skipped ("not an Ollama host"), so an inventory that also lists web
servers or databases checks cleanly. Output follows pyinfra: `-->` headers, colour only on a
terminal, the report on stdout (pure JSON with --json).

Exit codes: 0 when every checked host is valid (warnings alone are not failures, unless a host
sets ollama_strict), 1 when any problem was found (check) or any host needs attention (status),
2 when the command line or the inventory cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

import click

from .settings import DATA_PREFIX, ENV_NAMESPACES_NOT_SETTINGS, ENV_PREFIX

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

NOT_AN_OLLAMA_HOST = f"not an Ollama host (no {DATA_PREFIX}* data)"


class UsageError(Exception):
    """The command line or the inventory cannot be used: exit 2, nothing checked."""


@dataclass
class Loaded:
    state: Any  # pyinfra State, never connected by `check`
    inventory: Any
    selected: list[Any]  # pyinfra Hosts with at least one ollama_* data key, within --limit
    skipped: list[Any]  # hosts within --limit without any


def is_ollama_host(data: dict[str, Any]) -> bool:
    return any(isinstance(key, str) and key.startswith(DATA_PREFIX) for key in data)


def load_inventory(path: str, limit: list[str] | None = None,
                   data: list[str] | None = None, config: Any = None) -> Loaded:
    """Load an inventory file (and group_data/ next to it and in the working directory) the way
    `pyinfra` does, into a State that nothing here connects; split its hosts into Ollama hosts
    and the others."""
    from pyinfra.api import Config, State  # noqa: PLC0415 - keep `--version` and `settings` fast
    from pyinfra.context import ctx_config, ctx_inventory, ctx_state  # noqa: PLC0415
    from pyinfra_cli.inventory import make_inventory  # noqa: PLC0415
    from pyinfra_cli.util import parse_cli_arg  # noqa: PLC0415

    # Only a file: pyinfra would otherwise try the argument as a module, then as a host name
    # (a DNS lookup), and `check` promises not to reach out to anything.
    if not os.path.isfile(path):
        raise UsageError(f"no inventory file {path!r}")
    override = {}
    for item in data or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--data {item!r}: expected KEY=VALUE")
        override[key] = parse_cli_arg(value)

    cwd = os.getcwd()
    if cwd not in sys.path:  # as pyinfra does: group data and inventories may import local code
        sys.path.append(cwd)
    sys.dont_write_bytecode = True  # as pyinfra does: leave no __pycache__ in the user's repo
    state = State()
    state.cwd = cwd
    ctx_state.set(state)
    config = config or Config()
    ctx_config.set(config)
    try:
        inventory = make_inventory(path, override_data=override or None, cwd=cwd)
    except Exception as exc:  # noqa: BLE001 - any failure in the user's files is a usage error
        raise UsageError(f"cannot load inventory {path}: {type(exc).__name__}: {exc}") from exc
    ctx_inventory.set(inventory)

    in_limit = _limit(inventory, limit)
    selected = [h for h in in_limit if is_ollama_host(h.data.dict())]
    skipped = [h for h in in_limit if h not in selected]
    state.init(inventory, config, initial_limit=selected)
    return Loaded(state, inventory, selected, skipped)


def _limit(inventory: Any, patterns: list[str] | None) -> list[Any]:
    """pyinfra's --limit: a group name, else a host name pattern (fnmatch); inventory order."""
    from pyinfra.api.exceptions import NoGroupError  # noqa: PLC0415

    hosts = list(inventory)
    if not patterns:
        return hosts
    wanted: set[Any] = set()
    for pattern in patterns:
        try:
            matches = list(inventory.get_group(pattern))
        except NoGroupError:
            matches = [h for h in hosts if fnmatch(h.name, pattern)]
        if not matches:
            raise UsageError(f"--limit {pattern!r} matches no host or group of the inventory")
        wanted.update(matches)
    return [h for h in hosts if h in wanted]


def environment_overrides(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The OLLAMA_FLEET_<SETTING> variables a deploy would apply to every host (values of
    secret settings hidden)."""
    from .settings import HIDDEN, OllamaSettings, _is_complex, _redact  # noqa: PLC0415

    environ = dict(os.environ if environ is None else environ)
    found = {}
    for name in sorted(environ):
        rest = name[len(ENV_PREFIX):] if name.upper().startswith(ENV_PREFIX) else None
        if rest is None or rest.upper().startswith(ENV_NAMESPACES_NOT_SETTINGS):
            continue
        field = rest.lower()
        if field in OllamaSettings.model_fields:
            raw: Any = environ[name]
            if _is_complex(OllamaSettings.model_fields[field].annotation):
                # JSON text: redact the value it stands for (auth_proxy tokens, secret-looking
                # extra_env names), never the text itself; unreadable JSON is hidden whole.
                try:
                    raw = json.loads(raw)
                except ValueError:
                    found[name] = HIDDEN
                    continue
            shown = _redact(field, [], raw)
            found[name] = shown[1:-1] if shown.startswith("'") and shown.endswith("'") else shown
    return found


# --- check ------------------------------------------------------------------------------------

@dataclass
class CheckReport:
    hosts: dict[str, dict[str, Any]]  # name -> {ok, problems, warnings}
    skipped: dict[str, str]  # name -> why
    fleet_problems: list[str]  # problems of the whole run (not of one host)
    problems: list[str]  # every problem, as the deploy lists them
    warnings: list[str]  # every warning, as the deploy prints them
    environment: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "hosts": self.hosts,
            "skipped": self.skipped,
            "fleet_problems": self.fleet_problems,
            "environment": self.environment,
        }


def check(loaded: Loaded) -> CheckReport:
    """The deploy's own validation (fleet.check_fleet), for the whole selection at once (what
    the deploy reports) and host by host (to say which host each problem belongs to)."""
    from .fleet import check_fleet  # noqa: PLC0415

    members = [(h.name, h.data.dict()) for h in loaded.selected]
    _, problems, warnings = check_fleet(members)
    hosts: dict[str, dict[str, Any]] = {}
    for name, data in members:
        _, own_problems, own_warnings = check_fleet([(name, data)])
        hosts[name] = {"ok": not own_problems, "problems": own_problems,
                       "warnings": own_warnings}
    per_host = {p for entry in hosts.values() for p in entry["problems"]}
    return CheckReport(
        hosts=hosts,
        skipped={h.name: NOT_AN_OLLAMA_HOST for h in loaded.skipped},
        fleet_problems=[p for p in problems if p not in per_host],
        problems=problems,
        warnings=warnings,
        environment=environment_overrides(),
    )


def _header(text: str, *styles: Any, **kwargs: Any) -> str:
    return "--> " + click.style(text, *styles, **kwargs)


def print_check(report: CheckReport, inventory: str, verbose: int) -> None:
    echo = click.echo
    if verbose:
        for name, entry in report.hosts.items():
            if entry["ok"]:
                echo(f"    {click.style('ok', 'green')}  {name}")
    for name, why in report.skipped.items():
        echo(f"    {click.style('skipped', 'cyan')}  {name}: {why}")
    if report.environment:
        listing = ", ".join(f"{k}={v}" for k, v in report.environment.items())
        echo(_header(f"Environment overrides for every host: {listing}"))
    if report.problems:
        echo(_header("invalid ollama-fleet settings:", "red", bold=True))
        for text in report.problems:
            echo(click.style(f"    - {text}", "red"))
    for text in report.warnings:
        echo(_header(f"ollama-fleet warning: {text}", "yellow"))
    checked, skipped = len(report.hosts), len(report.skipped)
    failed = sum(1 for entry in report.hosts.values() if not entry["ok"])
    summary = (f"ollama-fleet check {inventory}: {checked} Ollama host(s) checked"
               f"{f', {skipped} skipped' if skipped else ''}, {len(report.problems)} problem(s)"
               f"{f' on {failed} host(s)' if failed else ''}, {len(report.warnings)} "
               "warning(s); no host contacted")
    echo(_header(summary, "red" if report.problems else "green", bold=True))


def cmd_check(args: argparse.Namespace) -> int:
    loaded = load_inventory(args.inventory, args.limit, args.data)
    if args.verbose and not args.json:
        click.echo(_header(f"Loaded {args.inventory}: {len(loaded.selected)} Ollama host(s), "
                           f"{len(loaded.skipped)} other(s); checking without connecting"),
                   err=True)
    report = check(loaded)
    if args.json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_check(report, args.inventory, args.verbose)
    return EXIT_OK if report.ok else EXIT_PROBLEMS


# --- status, settings -------------------------------------------------------------------------

def cmd_status(args: argparse.Namespace) -> int:
    from . import status  # noqa: PLC0415 - connecting code loads only for this command

    return status.run(args.inventory, args.limit, as_json=args.json, verbose=args.verbose)


def cmd_settings(args: argparse.Namespace) -> int:
    from .settings_doc import render  # noqa: PLC0415

    click.echo(render(), nl=False)
    return EXIT_OK


def cmd_push_model(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from .model_registry import RegistryError, push_model, read_credentials  # noqa: PLC0415
    from .model_source import ModelSourceError, load_model  # noqa: PLC0415
    from .validation import http_url_problem  # noqa: PLC0415

    problem = http_url_problem(args.registry_url)
    if problem:
        raise UsageError(f"{args.registry_url!r}: {problem}")
    store = Path(args.store).expanduser()
    if not (store / "manifests").is_dir() or not (store / "blobs").is_dir():
        raise UsageError(f"{store} is not an Ollama model store (manifests/ and blobs/)")
    credentials = Path(args.credentials).expanduser()
    try:
        user, password = read_credentials(credentials)
    except ValueError as exc:
        raise UsageError(f"--credentials {credentials} {exc}") from None
    if args.ca_file and not Path(args.ca_file).expanduser().is_file():
        raise UsageError(f"--ca-file {args.ca_file} does not exist")
    try:
        model = load_model(store, args.model)
    except (ModelSourceError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if model is None:
        raise UsageError(f"{store} does not hold {args.model}")
    try:
        result = push_model(model, args.registry_url, user, password,
                            ca_file=str(Path(args.ca_file).expanduser()) if args.ca_file else None,
                            insecure=args.insecure, name=args.as_name)
    except (RegistryError, ValueError) as exc:
        click.echo(_header("ollama-fleet error", "red", bold=True) + f": push-model: {exc}",
                   err=True)
        return EXIT_PROBLEMS
    click.echo(f"pushed {model.name} to {args.registry_url.rstrip('/')}/{result.reference}: "
               f"{result.uploaded} blob(s) uploaded, {result.present} already there, "
               f"{result.bytes_sent} bytes sent")
    return EXIT_OK


def version() -> str:
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as dist_version  # noqa: PLC0415

    try:
        return dist_version("ollama-fleet")
    except PackageNotFoundError:
        return "unknown"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="ollama-fleet",
        description="Check, inspect and document an Ollama fleet deployed with pyinfra.",
        epilog="Deploy with pyinfra itself: pyinfra INVENTORY deploy.py",
    )
    top.add_argument("--version", action="version", version=f"ollama-fleet {version()}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("inventory", metavar="INVENTORY", help="pyinfra inventory file")
        p.add_argument("--limit", action="append", metavar="PATTERN",
                       help="only hosts in this group or matching this name pattern "
                            "(repeatable, like pyinfra's --limit)")
        p.add_argument("--json", action="store_true", help="print JSON on stdout")
        p.add_argument("-v", "--verbose", action="count", default=0,
                       help="say more (repeatable)")

    p_check = sub.add_parser(
        "check", help="validate every Ollama host's settings without connecting to any",
        description="Validate every Ollama host's settings, Modelfiles and controller-side "
                    "files exactly as a deploy would, without any connection. Hosts without "
                    f"{DATA_PREFIX}* data are skipped. Exit 0: valid; 1: problems; 2: the "
                    "inventory or the command line cannot be read.")
    common(p_check)
    p_check.add_argument("--data", action="append", metavar="KEY=VALUE",
                         help="override data for every host, like pyinfra's --data")
    p_check.set_defaults(func=cmd_check)

    p_status = sub.add_parser(
        "status", help="connect and show each Ollama host's state (exit 1 on drift)",
        description="Connect to every Ollama host and show installed and running version, "
                    "service state, address, drift from its settings and models. Exit 1 when "
                    "any host is unreachable, unhealthy or drifted.")
    common(p_status)
    p_status.set_defaults(func=cmd_status)

    p_settings = sub.add_parser("settings", help="print the settings reference (Markdown)",
                                description="Print the settings reference (docs/settings.md).")
    p_settings.set_defaults(func=cmd_settings)

    p_push = sub.add_parser(
        "push-model", help="put a model from a controller store into an OCI registry "
                           "(for model_registry)",
        description="Upload a model from an Ollama model store on this machine to an OCI "
                    "registry, under the repository its name gives (qwen2.5:7b -> "
                    "REGISTRY/library/qwen2.5:7b): the blobs the registry lacks, then the "
                    "manifest. Hosts with model_registry then fetch it from there.")
    p_push.add_argument("store", metavar="STORE", help="model store (OLLAMA_MODELS directory)")
    p_push.add_argument("model", metavar="MODEL", help="model name, e.g. qwen2.5:7b")
    p_push.add_argument("registry_url", metavar="REGISTRY_URL",
                        help="registry base URL, e.g. https://registry.example.com:5000")
    p_push.add_argument("--credentials", required=True, metavar="FILE",
                        help="file with one line user:password (never printed)")
    p_push.add_argument("--ca-file", metavar="FILE",
                        help="PEM CA certificate(s) to verify the registry's TLS certificate")
    p_push.add_argument("--insecure", action="store_true", help="allow a plain http:// registry")
    p_push.add_argument("--as", dest="as_name", metavar="NAME",
                        help="push under this model name instead of MODEL")
    p_push.set_defaults(func=cmd_push_model)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        click.echo(_header("ollama-fleet error", "red", bold=True) + f": {exc}", err=True)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
