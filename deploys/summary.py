"""One closing summary of the run: each failed host and why, after pyinfra's own results.

pyinfra prints a host's errors where they happen, interleaved with fifty other hosts' progress;
an operator wants the list at the end. pyinfra has no end-of-run hook, so the summary is printed
when the process exits (to stderr, so `--json` output stays pure).
"""

from __future__ import annotations

import atexit
import sys
import weakref

_REASONS: weakref.WeakKeyDictionary[object, dict[str, str]] = weakref.WeakKeyDictionary()
_WARNINGS: weakref.WeakKeyDictionary[object, list[str]] = weakref.WeakKeyDictionary()


def note_warning(state: object, text: str) -> None:
    """Remember a warning for the closing summary (each text once, in order)."""
    warnings = _WARNINGS.setdefault(state, [])
    if text not in warnings:
        warnings.append(text)


def warnings(state: object) -> list[str]:
    return list(_WARNINGS.get(state, ()))


def note_failure(state: object, host_name: str, reason: str) -> None:
    """Remember why a host was failed by our own checks (the first reason wins)."""
    reasons = _REASONS.get(state)
    if reasons is not None:
        reasons.setdefault(host_name, reason)


def install(state: object) -> None:
    if state in _REASONS:
        return
    _REASONS[state] = {}
    ref = weakref.ref(state)
    atexit.register(lambda: _print(ref()))


def _print(state) -> None:  # noqa: ANN001 - pyinfra State, possibly gone
    if state is None:
        return
    noted = _WARNINGS.get(state)
    if noted:
        lines = [f"--> ollama-fleet: {len(noted)} warning(s) (legal but suspicious settings; "
                 "ollama_strict: true makes them errors):"]
        lines += [f"    {text}" for text in noted]
        print("\n".join(lines), file=sys.stderr)
    if not getattr(state, "failed_hosts", None):
        return
    reasons = _REASONS.get(state, {})
    failed = sorted(state.failed_hosts, key=lambda h: h.name)
    lines = [f"--> ollama-fleet: {len(failed)} host(s) failed; re-running converges them "
             "without disturbing the others:"]
    for host in failed:
        reason = reasons.get(host.name) or _from_operations(state, host)
        lines.append(f"    {host.name}: {reason}")
    print("\n".join(lines), file=sys.stderr)


def _from_operations(state, host) -> str:  # noqa: ANN001
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
