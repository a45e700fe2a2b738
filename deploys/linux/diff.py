"""`--diff`: show each managed file's change before it is made (secrets never shown)."""

from __future__ import annotations

import difflib

from pyinfra import host, logger
from pyinfra.facts.files import FileContents

from .facts import LinuxHostState
from .layout import ManagedFile

HIDDEN = {"secret"}


def log_config_diff(files: tuple[ManagedFile, ...], current: LinuxHostState) -> None:
    """Costs one extra fact per changed file, and only when --diff is given."""
    for managed in files:
        if not managed.differs(current.files):
            continue
        if managed.key in HIDDEN:
            logger.info(f"{host.print_prefix}{managed.dest}: changes (content hidden: secrets)")
            continue
        remote = host.get_fact(FileContents, path=managed.dest) or []
        wanted = managed.text.splitlines()
        lines = difflib.unified_diff(remote, wanted, f"{managed.dest} (host)",
                                     f"{managed.dest} (declared)", lineterm="")
        for line in lines:
            logger.info(f"{host.print_prefix}{line}")
