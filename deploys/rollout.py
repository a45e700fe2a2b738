"""Rolling restarts: batches gated on the health of the hosts that went before.

pyinfra runs an operation with `_parallel=N` in sequential batches of N hosts but only marks
failures once every batch is done, so the run keeps its own tally: a state callback records each
host whose activation failed (its health check, after rollback), and the gate at the start of
every later activation refuses to go on once the tally exceeds the failure budget. The hosts it
stops keep running their old configuration, untouched.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

from pyinfra import logger
from pyinfra.api import FunctionCommand
from pyinfra.api.state import BaseStateCallback

from .summary import note_failure

ACTIVATION_OP = "Activate"  # operation names starting with this are rollout steps


@dataclass
class Rollout:
    max_failures: int = 0
    failed: set[str] = field(default_factory=set)
    halted: set[str] = field(default_factory=set)


_ROLLOUTS: weakref.WeakKeyDictionary[object, Rollout] = weakref.WeakKeyDictionary()


class _RecordFailures(BaseStateCallback):
    @staticmethod
    def operation_host_error(state, host, op_hash, retry_attempt, max_retries):  # noqa: ANN001
        rollout = _ROLLOUTS.get(state)
        names = state.get_op_meta(op_hash).names
        if rollout is None or host.name in rollout.halted:
            return
        if any(ACTIVATION_OP in name for name in names):
            rollout.failed.add(host.name)


def rollout_for(state, max_failures: int) -> Rollout:  # noqa: ANN001 - pyinfra State
    rollout = _ROLLOUTS.get(state)
    if rollout is None:
        rollout = _ROLLOUTS[state] = Rollout(max_failures=max_failures)
        state.add_callback_handler(_RecordFailures())
    rollout.max_failures = max_failures
    return rollout


def batch_size(batch: int | str, fleet_size: int) -> int:
    if isinstance(batch, int):
        return max(1, batch)
    percent = int(batch.rstrip("%"))
    return max(1, math.ceil(fleet_size * percent / 100))


def gate() -> FunctionCommand:
    """Refuse to start this host's restart once too many earlier hosts failed."""

    def _gate(state, host) -> bool:  # noqa: ANN001 - pyinfra calls with (state, host)
        rollout = _ROLLOUTS.get(state)
        if rollout is None or len(rollout.failed) <= rollout.max_failures:
            return True
        rollout.halted.add(host.name)
        reason = (f"rollout halted before this host: {len(rollout.failed)} host(s) failed "
                  f"({', '.join(sorted(rollout.failed))}), more than rollout_max_failures="
                  f"{rollout.max_failures}; this host was left as it was")
        note_failure(state, host.name, reason)
        host.log_styled(f"ollama-fleet: {reason}", fg="red", log_func=logger.error)
        return False

    return FunctionCommand(_gate, (), {})
