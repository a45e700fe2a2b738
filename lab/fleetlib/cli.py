"""Command line of lab/fleet."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from . import config, faults, lab, ssh, state
from .gpu import ROLES as GPU_ROLES
from .proc import FleetError, exclusive
from .state import Lab


def _require_lab() -> Lab:
    current = state.load()
    if current is None:
        raise FleetError("the lab is not up: run lab/fleet up")
    return current


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    current = lab.up(args.hosts, args.suite)
    print(lab.table(current, ssh.all_answer(current.hosts)))
    print(f"lab up: {len(current.hosts)} host(s) in {time.monotonic() - started:.1f}s")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    lab.down()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    current = _require_lab()
    reachable = ssh.all_answer(current.hosts)
    print(lab.table(current, reachable))
    return 0 if all(reachable.values()) else 1


def cmd_ssh(args: argparse.Namespace) -> int:
    host = _require_lab().host(args.host)
    # Interactive sessions need a terminal and may prompt; commands must not.
    argv = ssh.command(host, *args.command, batch=bool(args.command))
    os.execvp(argv[0], argv)


def cmd_stop(args: argparse.Namespace) -> int:
    faults.stop_host(_require_lab(), args.host)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    faults.start_host(_require_lab(), args.host)
    return 0


def cmd_renew(args: argparse.Namespace) -> int:
    started = time.monotonic()
    lab.renew(_require_lab(), args.hosts)
    print(f"renewed {len(args.hosts)} host(s) in {time.monotonic() - started:.1f}s")
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    lab.set_frozen(_require_lab(), args.hosts, True)
    return 0


def cmd_thaw(args: argparse.Namespace) -> int:
    current = _require_lab()
    names = args.hosts or [h.name for h in current.hosts if h.frozen]
    lab.set_frozen(current, names, False)
    return 0


def cmd_cut(args: argparse.Namespace) -> int:
    faults.cut(_require_lab(), args.host)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    faults.restore(_require_lab(), args.host)
    return 0


def cmd_small_disk(args: argparse.Namespace) -> int:
    faults.small_disk(_require_lab(), args.host, args.path, args.size)
    return 0


def cmd_gpu(args: argparse.Namespace) -> int:
    faults.set_gpu(_require_lab(), args.host, args.role)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lab/fleet", description="Local fleet of systemd hosts.")
    sub = p.add_subparsers(dest="cmd", required=True)

    up = sub.add_parser("up", help="bring the lab to N running hosts")
    up.add_argument("--hosts", type=int, default=config.DEFAULT_HOSTS)
    up.add_argument("--suite", choices=config.SUITES, default=config.DEFAULT_SUITE)
    up.set_defaults(func=cmd_up)

    sub.add_parser("down", help="remove every trace of the lab").set_defaults(func=cmd_down)
    sub.add_parser("status", help="hosts and whether they answer SSH").set_defaults(func=cmd_status)

    sh = sub.add_parser("ssh", help="ssh into a host, or run a command there")
    sh.add_argument("host")
    sh.add_argument("command", nargs=argparse.REMAINDER)
    sh.set_defaults(func=cmd_ssh)

    for name, func, text in (
        ("stop", cmd_stop, "power a host off (keeps its disk)"),
        ("start", cmd_start, "boot a stopped host again"),
        ("cut", cmd_cut, "unplug a host from the network"),
        ("restore", cmd_restore, "plug a host back in"),
    ):
        one = sub.add_parser(name, help=text)
        one.add_argument("host")
        one.set_defaults(func=func)

    for name, func, text, many in (
        ("renew", cmd_renew, "replace hosts with freshly booted ones (new disk from the image)",
         "+"),
        ("freeze", cmd_freeze, "freeze hosts: no process of theirs runs until thaw", "+"),
        ("thaw", cmd_thaw, "thaw hosts (every frozen host when none is named)", "*"),
    ):
        several = sub.add_parser(name, help=text)
        several.add_argument("hosts", nargs=many, metavar="host")
        several.set_defaults(func=func)

    gpu = sub.add_parser("gpu", help="make a host look like a GPU host (or plain: none)")
    gpu.add_argument("host")
    gpu.add_argument("role", choices=GPU_ROLES)
    gpu.set_defaults(func=cmd_gpu)

    disk = sub.add_parser("small-disk", help="mount a SIZE-limited tmpfs at PATH in a host")
    disk.add_argument("host")
    disk.add_argument("path")
    disk.add_argument("size", help="e.g. 16M")
    disk.set_defaults(func=cmd_small_disk)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if os.geteuid() != 0:
        print(
            "lab/fleet must run as root (it mounts, creates bridges, boots containers)",
            file=sys.stderr,
        )
        return 2
    command: Callable[[argparse.Namespace], int] = args.func
    try:
        # Looking and logging in need no lock; everything else changes the lab.
        if command in (cmd_status, cmd_ssh):
            return command(args)
        with exclusive(config.LOCK_FILE, config.LOCK_TIMEOUT):
            return command(args)
    except (FleetError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        print(f"lab/fleet {args.cmd}: {message}", file=sys.stderr)
        return 1
