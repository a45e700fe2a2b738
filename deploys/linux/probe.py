"""A feature's part of the one Linux state fact: a shell fragment and a parser for what it prints.

The state fact (facts.py) stays ONE command and ONE round trip per host: its frame
(templates/linux/state.sh.j2) runs every registered probe's fragment, one `sha256sum` over
every managed file and one `systemctl show` over the units the fragments name. Each feature
owns its probe (release.py, operations.py, models.py, firewall.py, proxy.py): a new feature
adds a probe and parses its own lines; the frame and the other parsers do not change. Parsing
happens on the controller (the host only prints), see docs/benchmarks.md.

A fragment prints ``key<TAB>value`` lines (``say key value``) and raw command output between
``@section`` and ``@end`` lines (``raw section`` ... ``raw end``); the keys and sections it
prints are its own and declared here, so the parser can hand each line to its owner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .facts import LinuxHostState


@dataclass
class Shared:
    """Output of the frame's shared commands, for the probes' finish step."""

    hashes: dict[str, str] = field(default_factory=dict)  # path -> sha256
    units: dict[str, dict[str, str]] = field(default_factory=dict)  # unit -> properties


def _nothing(state: LinuxHostState, key: str, value: str) -> None:
    return None


@dataclass(frozen=True)
class Probe:
    name: str
    template: str  # the fragment, rendered with the fact's arguments and ``context``
    keys: tuple[str, ...] = ()  # "key<TAB>value" lines it prints
    sections: tuple[str, ...] = ()  # "@section" ... "@end" blocks it prints
    parse: Callable[[LinuxHostState, str, str], None] = _nothing  # (state, key/section, line)
    finish: Callable[[LinuxHostState, Shared], None] | None = None  # after every line
    tools: tuple[str, ...] = ()  # commands whose presence the frame reports ("tool" lines)
    context: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
