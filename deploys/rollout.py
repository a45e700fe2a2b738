"""Rolling restarts: batches gated on the health of the hosts that went before.

pyinfra runs an operation with `_parallel=N` in sequential batches of N hosts but only marks
failures once every batch is done, so the gate keeps its own tally: a host that entered the
restart and never reported healthy has failed. Past the failure budget, the remaining hosts are
left untouched (their running Ollama keeps its old configuration).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

from pyinfra import logger
from pyinfra.api import FunctionCommand


@dataclass
class Rollout:
    max_failures: int = 0
    started: set[str] = field(default_factory=set)
    healthy: set[str] = field(default_factory=set)

    @property
    def failed(self) -> set[str]:
        return self.started - self.healthy


_ROLLOUTS: weakref.WeakKeyDictionary[object, Rollout] = weakref.WeakKeyDictionary()


def rollout_for(state: object, max_failures: int) -> Rollout:
    rollout = _ROLLOUTS.setdefault(state, Rollout(max_failures=max_failures))
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
        if rollout is None:
            return True
        failed = rollout.failed
        if len(failed) > rollout.max_failures:
            host.log_styled(
                f"ollama-fleet: rollout halted before this host: {len(failed)} host(s) failed "
                f"({', '.join(sorted(failed))}), more than rollout_max_failures="
                f"{rollout.max_failures}; this host was left as it was",
                fg="red",
                log_func=logger.error,
            )
            return False
        rollout.started.add(host.name)
        return True

    return FunctionCommand(_gate, (), {})


def mark_healthy() -> FunctionCommand:
    def _healthy(state, host) -> bool:  # noqa: ANN001
        rollout = _ROLLOUTS.get(state)
        if rollout is not None:
            rollout.healthy.add(host.name)
        return True

    return FunctionCommand(_healthy, (), {})
