"""The closing summary of a run: each failed host and why, then nothing else to scroll for.

pyinfra prints a host's errors where they happen, interleaved with fifty other hosts' progress;
an operator wants the list at the end. The run context (run.py) prints it once, to stderr (so
`--json` output stays pure), when the run's last operation ends; `summary_lines(state)` gives the
same lines to programs that drive pyinfra themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def closing_summary(state: Any, warnings: list[str], failed: Iterable[Any],
                    reasons: Mapping[str, str]) -> list[str]:
    """The warnings of the run, then each failed host and why (our own reason when one of our
    checks failed it, else the first failed operation's message)."""
    lines: list[str] = []
    if warnings:
        lines.append(f"--> ollama-fleet: {len(warnings)} warning(s) (legal but suspicious "
                     "settings; ollama_strict: true makes them errors):")
        lines += [f"    {text}" for text in warnings]
    failed = sorted(failed, key=lambda h: h.name)
    if failed:
        lines.append(f"--> ollama-fleet: {len(failed)} host(s) failed; re-running converges "
                     "them without disturbing the others:")
        for host in failed:
            reason = reasons.get(host.name) or _from_operations(state, host)
            lines.append(f"    {host.name}: {reason}")
    return lines


def _from_operations(state: Any, host: Any) -> str:
    for op_hash in state.get_op_order():
        data = state.ops.get(host, {}).get(op_hash)
        meta = data.operation_meta if data else None
        if meta is None or not meta.is_complete() or meta.did_succeed(_raise_if_not_complete=False):
            continue
        name = ", ".join(sorted(state.get_op_meta(op_hash).names)).split(" | ")[-1]
        stderr = [line.line for line in meta._combined_output if line.buffer_name == "stderr"]
        ours = [i for i, line in enumerate(stderr) if line.startswith("ollama-fleet: ")]
        if not ours:
            return f"{name}: {stderr[-1] if stderr else 'failed'}"
        first = ours[0]
        detail = [stderr[first].removeprefix("ollama-fleet: ")]
        detail += [line.strip() for line in stderr[first + 1 : first + 3] if line.startswith(" ")]
        return f"{name}: {' '.join(detail)}"
    return "unreachable, or failed while its state was read"
