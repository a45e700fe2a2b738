"""Run the real pyinfra CLI in this process, with counters on the SSH connector and the state.

    .venv/bin/python bench/pyinfra_probe.py OUT.json -y inventory/lab_selected.py deploy.py

Everything after OUT.json goes to pyinfra unchanged, so the deploy loads exactly as with
`pyinfra ...` (same inventory, group data, deploy file, parallelism). The probe only observes:

* every `SSHConnector.run_shell_command` is one remote command (an SSH exec channel): counted per
  host and per stage, so fact gathering (Prepare) and operations (Execute) show separately;
* every `SSHConnector._put_file` is one upload: its size is what crosses the wire for that file
  (the uploads of this deploy are all plain SFTP puts, no sudo copy);
* stage changes (Connect, Prepare, Execute, Disconnect) and the operation callbacks give
  per-stage and per-operation wall times.

The counters are written to OUT.json when pyinfra exits, whatever the exit status. Benchmark
instrumentation only: nothing here is imported by the product.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

START = time.time()  # before pyinfra is imported: import cost is part of every pyinfra run

from pyinfra.api.state import BaseStateCallback, State, StateStage  # noqa: E402
from pyinfra.connectors.ssh import SSHConnector  # noqa: E402

RECORD: dict[str, Any] = {"start": START, "stages": {}, "hosts": {}, "ops": {}, "op_order": []}


def _host_record(name: str) -> dict[str, Any]:
    return RECORD["hosts"].setdefault(name, {"commands": [], "uploads": []})


def _stage_name(state: State) -> str:
    try:
        return StateStage(state.current_stage).name
    except ValueError:
        return str(state.current_stage)


def _payload_size(filename_or_io: Any) -> int:
    """Bytes an upload sends: a file's size, or what is left to read in a file-like object."""
    if isinstance(filename_or_io, str | os.PathLike):
        return os.path.getsize(filename_or_io)
    if isinstance(filename_or_io, io.BytesIO):
        return len(filename_or_io.getbuffer()) - filename_or_io.tell()
    if isinstance(filename_or_io, io.StringIO):
        return len(filename_or_io.getvalue().encode()) - filename_or_io.tell()
    try:  # any other seekable stream
        here = filename_or_io.tell()
        end = filename_or_io.seek(0, os.SEEK_END)
        filename_or_io.seek(here)
        return int(end - here)
    except (AttributeError, OSError):
        return -1


def _wrap_run_shell_command(original: Callable[..., Any]) -> Callable[..., Any]:
    def run_shell_command(self: SSHConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.time()
        try:
            return original(self, command, *args, **kwargs)
        finally:
            text = str(command)
            _host_record(self.host.name)["commands"].append({
                "stage": _stage_name(self.state),
                "op": _op_label(self.host),
                "t": began - START,
                "dt": time.time() - began,
                # First line only: enough to tell a fact script from an operation's command.
                "cmd": text.strip().splitlines()[0][:100] if text.strip() else "",
            })

    return run_shell_command


def _wrap_put_file(original: Callable[..., Any]) -> Callable[..., Any]:
    def _put_file(self: SSHConnector, filename_or_io: Any, remote_location: str) -> Any:
        size = _payload_size(filename_or_io)
        began = time.time()
        try:
            return original(self, filename_or_io, remote_location)
        finally:
            _host_record(self.host.name)["uploads"].append({
                "op": _op_label(self.host),
                "t": began - START,
                "dt": time.time() - began,
                "bytes": size,
                "remote": remote_location,
            })

    return _put_file


def _op_label(host: Any) -> str:
    op_hash = getattr(host, "nested_executing_op_hash", None) or getattr(
        host, "executing_op_hash", None)
    if op_hash is None:
        return ""
    return _op_name(host.state, op_hash)


def _op_name(state: State, op_hash: str) -> str:
    try:
        names = sorted(state.get_op_meta(op_hash).names)
    except KeyError:
        return op_hash
    return ", ".join(names) or op_hash


class _Timings(BaseStateCallback):
    """Per-operation spans (all hosts) and per-host spans, relative to START."""

    @staticmethod
    def operation_start(state: State, op_hash: str) -> None:
        RECORD["op_order"].append(op_hash)
        RECORD["ops"][op_hash] = {"name": _op_name(state, op_hash), "start": time.time() - START,
                                  "end": None, "hosts": {}}

    @staticmethod
    def operation_end(state: State, op_hash: str) -> None:
        RECORD["ops"][op_hash]["end"] = time.time() - START

    @staticmethod
    def operation_host_start(state: State, host: Any, op_hash: str) -> None:
        op = RECORD["ops"].setdefault(op_hash, {"name": _op_name(state, op_hash), "start": None,
                                                "end": None, "hosts": {}})
        op["hosts"][host.name] = {"start": time.time() - START, "end": None, "ok": None}

    @staticmethod
    def operation_host_success(state: State, host: Any, op_hash: str,
                               retry_count: int = 0) -> None:
        _host_done(op_hash, host.name, True)

    @staticmethod
    def operation_host_error(state: State, host: Any, op_hash: str, retry_count: int = 0,
                             max_retries: int = 0) -> None:
        _host_done(op_hash, host.name, False)

    @staticmethod
    def host_connect(state: State, host: Any) -> None:
        _host_record(host.name)["connected"] = time.time() - START


def _host_done(op_hash: str, host: str, ok: bool) -> None:
    span = RECORD["ops"].get(op_hash, {}).get("hosts", {}).get(host)
    if span is not None:
        span["end"] = time.time() - START
        span["ok"] = ok


def _install() -> None:
    SSHConnector.run_shell_command = _wrap_run_shell_command(  # type: ignore[method-assign]
        SSHConnector.run_shell_command)
    SSHConnector._put_file = _wrap_put_file(SSHConnector._put_file)  # type: ignore[method-assign]

    original_init = State.init
    original_set_stage = State.set_stage

    # State.init (not __init__) creates the callback list, so the handler goes in after it.
    def init(self: State, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.add_callback_handler(_Timings())

    def set_stage(self: State, stage: StateStage) -> None:
        original_set_stage(self, stage)
        RECORD["stages"].setdefault(StateStage(stage).name, time.time() - START)

    State.init = init  # type: ignore[method-assign]
    State.set_stage = set_stage  # type: ignore[method-assign]


def main() -> int:
    out = Path(sys.argv[1])
    sys.argv = ["pyinfra", *sys.argv[2:]]
    _install()
    from pyinfra_cli.main import main as pyinfra_main  # noqa: PLC0415 - after patching

    code: int = 0
    try:
        pyinfra_main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        RECORD["end"] = time.time() - START
        RECORD["exit"] = code
        out.write_text(json.dumps(RECORD))
    return code


if __name__ == "__main__":
    sys.exit(main())
