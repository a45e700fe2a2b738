"""Small command helpers shared by operations on every platform."""

from __future__ import annotations

from pyinfra import logger
from pyinfra.api import FunctionCommand

from .summary import note_failure


def fail_host(reason: str) -> FunctionCommand:
    """A command that fails this host with a clear reason, without aborting the others.

    Operations run lazily at execute time, where an exception would stop the whole run; a failing
    command instead marks only this host failed, which is what an ops engineer expects.
    """

    def _fail(state, host) -> bool:  # noqa: ANN001 - pyinfra calls with (state, host)
        note_failure(state, host.name, reason)
        host.log_styled(f"ollama-fleet: {reason}", fg="red", log_func=logger.error)
        return False

    return FunctionCommand(_fail, (), {})


def note(message: str) -> FunctionCommand:
    """Log a line for this host at execute time (no remote round trip)."""

    def _note(state, host) -> bool:  # noqa: ANN001
        host.log_styled(message, log_func=logger.info)
        return True

    return FunctionCommand(_note, (), {})
