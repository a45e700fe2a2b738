"""Rolling restarts: batches gated on the health of the hosts that went before.

pyinfra runs an operation with `_parallel=N` in sequential batches of N hosts but only marks
failures once every batch is done, so the run keeps its own tally (run.py): a state callback
records each host whose activation operation failed (its health check, after rollback), counted
by that operation's hash, and the gate at the start of every later activation refuses to go on
once the tally exceeds the failure budget. The hosts it stops keep running their old
configuration, untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pyinfra import logger
from pyinfra.api import FunctionCommand


@dataclass
class Rollout:
    max_failures: int = 0
    failed: set[str] = field(default_factory=set)
    halted: set[str] = field(default_factory=set)


def batch_size(batch: int | str, fleet_size: int) -> int:
    """Hosts per batch: a number, or a percentage of the hosts that take part in the rollout."""
    if isinstance(batch, int):
        return max(1, batch)
    percent = int(batch.rstrip("%"))
    return max(1, math.ceil(fleet_size * percent / 100))


def gate() -> FunctionCommand:
    """Refuse to start this host's restart once too many earlier hosts failed."""

    def _gate(state, host) -> bool:  # noqa: ANN001 - pyinfra calls with (state, host)
        from .run import context_for  # noqa: PLC0415 - run.py imports this module

        run = context_for(state)
        if run is None:
            return True  # driven outside ollama(): no rollout to take part in
        rollout = run.rollout
        if len(rollout.failed) <= rollout.max_failures:
            return True
        rollout.halted.add(host.name)
        reason = (f"rollout halted before this host: {len(rollout.failed)} host(s) failed "
                  f"({', '.join(sorted(rollout.failed))}), more than rollout_max_failures="
                  f"{rollout.max_failures}; this host was left as it was")
        run.note_failure(host.name, reason)
        host.log_styled(f"ollama-fleet: {reason}", fg="red", log_func=logger.error)
        return False

    return FunctionCommand(_gate, (), {})
