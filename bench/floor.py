"""The floor: a pyinfra run that costs only connect + prepare + one operation that does nothing.

`server.shell("true")` would still open a channel per host; this operation decides there is
nothing to do without asking the host, so what is left is pyinfra's own cost of a run.
"""

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import operation


@operation()
def nothing_to_do() -> Generator[str, None, None]:
    host.noop("floor: nothing to do")
    # An operation must be a generator; this one yields no command at all.
    yield from ()


nothing_to_do(name="Floor (no-op)")
