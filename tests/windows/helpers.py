"""Shared builders for the Windows tests: settings, plans and recorded fact outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ollama_fleet.model_plan import ModelPlan, RenderedModel
from ollama_fleet.settings import OllamaSettings
from ollama_fleet.windows.facts import WindowsState, parse_state

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VERSION = "0.13.5"
# Values chosen to break naive quoting: quotes, spaces, $, backticks, smart quotes.
NASTY = "it's a \"test\" $env:PATH `n ‘x’ ; & | %TEMP%"


def settings(**overrides: Any) -> OllamaSettings:
    values: dict[str, Any] = {
        "platform": "windows",
        "version": VERSION,
        "sha256": "a" * 64,
        "models": ["qwen2.5:7b"],
    }
    values.update(overrides)
    return OllamaSettings(**values)


def custom_model(name: str = "qwen2.5:7b-32k", text: str | None = None) -> RenderedModel:
    text = text or "FROM qwen2.5:7b\nPARAMETER num_ctx 32768\n"
    return RenderedModel(name=name, modelfile=text, base="qwen2.5:7b", base_is_file=False)


def plan(custom: tuple[RenderedModel, ...] = (), prune: bool = False) -> ModelPlan:
    return ModelPlan(pulls=("qwen2.5:7b",), custom=custom, prune=prune,
                     keep=frozenset(m.base for m in custom))


def raw_fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8").strip()


def state_fixture(name: str) -> WindowsState:
    return parse_state(raw_fixture(name))


def raw_with(name: str, **changes: Any) -> str:
    data = json.loads(raw_fixture(name))
    data.update(changes)
    return json.dumps(data, separators=(",", ":"))


# --- driving pyinfra with the @fake connector ---------------------------------------------
def fact_command_text() -> str:
    from ollama_fleet.windows.powershell import fact_command

    return str(fact_command())


class Run:
    """What one fake run sent: commands, uploads (destination -> bytes), operation meta."""

    def __init__(self, commands: list[str], uploads: dict[str, bytes], ops: list[Any],
                 stdin: list[Any]) -> None:
        self.commands, self.uploads, self.ops, self.stdin = commands, uploads, ops, stdin

    def scripts(self) -> list[str]:
        """The scripts run with -File, in order, as uploaded (BOM and CRLF removed)."""
        from ollama_fleet.windows.paths import sftp_path
        from ollama_fleet.windows.powershell import FILE_PREFIX

        out = []
        for command in self.commands:
            if command.startswith(FILE_PREFIX):
                path = command[len(FILE_PREFIX):].strip().strip('"')
                data = self.uploads[sftp_path(path)]
                out.append(data[3:].decode("utf-8").replace("\r\n", "\n"))
        return out

    @property
    def steps(self) -> list[str]:
        return [c for c in self.commands if c != fact_command_text()]


def run_deploy(
    the_settings: OllamaSettings, the_plan: ModelPlan, fact_output: str,
    func: Any = None, args: tuple[Any, ...] | None = None,
) -> Run:
    """Prepare and execute deploy_windows against one fake host."""
    from ollama_fleet.windows import deploy_windows
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.api.operations import run_ops
    from pyinfra.connectors.fake import FakeConnector

    data = {"fake_responses": {fact_command_text(): fact_output}, "fake_delay": 0,
            "fake_delay_jitter": 0, "_shell_executable": None}
    inventory = Inventory((["@fake/host1"], {}), fleet=(["@fake/host1"], data))
    state = State(inventory, Config())
    uploads: dict[str, bytes] = {}
    stdin: list[Any] = []
    put, run = FakeConnector.put_file, FakeConnector.run_shell_command

    def put_file(self: FakeConnector, src: Any, dest: str, *rest: Any, **kwargs: Any) -> bool:
        uploads[dest] = src.getvalue() if hasattr(src, "getvalue") else b"<controller file>"
        return True

    def run_shell_command(self: FakeConnector, command: Any, *a: Any, **kwargs: Any) -> Any:
        if kwargs.get("_stdin"):
            stdin.append(kwargs["_stdin"])
        return run(self, command, *a, **kwargs)

    FakeConnector.put_file = put_file  # type: ignore[method-assign]
    FakeConnector.run_shell_command = run_shell_command  # type: ignore[method-assign]
    try:
        connect_all(state)
        add_deploy(state, func or deploy_windows, *(args or (the_settings, the_plan)))
        run_ops(state)
    finally:
        FakeConnector.put_file, FakeConnector.run_shell_command = put, run
    host = inventory.get_host("@fake/host1")
    ops = [state.get_op_meta(h) for h in state.get_op_order()]
    for op_hash, op in zip(state.get_op_order(), ops, strict=True):
        op.host_arguments = state.get_op_data_for_host(host, op_hash).global_arguments
    assert not state.failed_hosts, "the deploy failed the host"
    return Run(list(host.connector.executed_commands), uploads, ops, stdin)


def refused(the_settings: OllamaSettings, fact_output: str, func: Any = None,
            args: tuple[Any, ...] | None = None) -> str:
    """The reason a run refused the host (and that it sent nothing but the fact)."""
    try:
        run_deploy(the_settings, plan(), fact_output, func, args)
    except Exception:  # noqa: BLE001 - the fake run stops once its only host failed
        pass
    else:
        raise AssertionError("the host was not refused")
    return "refused"


def converged(the_settings: OllamaSettings | None = None, base: str = "installed",
              **changes: Any) -> str:
    """A recording of a host converged on these settings: the launcher and environment file
    digests this code would write."""
    from ollama_fleet.windows import desired

    the_settings = the_settings or settings()
    where = desired.layout(the_settings)
    state = parse_state(raw_with(base, **changes))
    return raw_with(base, launcher_sha256=desired.sha256(desired.serve_script_bytes(where)),
                    env_file_sha256=desired.sha256(desired.server_env_bytes(the_settings, state)),
                    **changes)


# --- the PowerShell grammar ----------------------------------------------------------------
def ps_parser() -> Any:
    import tree_sitter
    import tree_sitter_powershell

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def ps_syntax_errors(script: str, parser: Any = None) -> list[str]:
    """ERROR and missing nodes the PowerShell grammar finds in a script (empty: it parses)."""
    tree = (parser or ps_parser()).parse(script.encode("utf-8"))
    found: list[str] = []

    def walk(node: Any) -> None:
        if node.type == "ERROR" or node.is_missing:
            found.append(f"{node.type} at {node.start_point}: {node.text[:60]!r}")
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found

