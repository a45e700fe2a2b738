"""Drive a deploy function against one pyinfra @fake host: the commands it would run and the
files it would upload, without a real host (the lab tests prove the same on real ones)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_fake_deploy(
    deploy_func: Callable[..., Any], args: tuple[Any, ...], responses: dict[Any, Any],
    group_data: dict[str, Any] | None = None,
) -> tuple[list[str], list[str]]:
    """Prepare and execute deploy_func(*args) on @fake/host1; (commands, upload destinations)."""
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.api.operations import run_ops
    from pyinfra.connectors.fake import FakeConnector

    data = {"fake_responses": responses, "fake_delay": 0, "fake_delay_jitter": 0,
            **(group_data or {})}
    inventory = Inventory((["@fake/host1"], {}), fleet=(["@fake/host1"], data))
    state = State(inventory, Config())
    uploads: list[str] = []
    original = FakeConnector.put_file

    def put_file(self: FakeConnector, src: Any, dest: str, *rest: Any, **kwargs: Any) -> bool:
        uploads.append(dest)
        return True

    FakeConnector.put_file = put_file  # type: ignore[method-assign]
    try:
        connect_all(state)
        add_deploy(state, deploy_func, *args)
        run_ops(state)
    finally:
        FakeConnector.put_file = original  # type: ignore[method-assign]
    host = inventory.get_host("@fake/host1")
    assert not state.failed_hosts, "the deploy failed the host"
    return list(host.connector.executed_commands), uploads
