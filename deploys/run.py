"""What one pyinfra run of ollama-fleet knows, attached to that run's State and to nothing else.

pyinfra runs a deploy in two phases: it first calls the deploy code once per host (the prepare
phase, in parallel), then executes the operations that collected. Every ``ollama()`` call
validates its own host in the first phase and records the result here; a state callback then
acts at the boundaries of the second phase:

- before the first operation executes (the *gate*): every problem of every host that called
  ``ollama()`` is raised as one SettingsError, so an invalid host stops the run before any
  command runs anywhere; otherwise the rollout batch size is fixed from the number of hosts that
  take part in the rollout;
- at the start of the activation operation: its batch size (``_parallel``) is set;
- when a host's activation fails: the rollout tally counts it, by operation hash;
- when the last operation ends (or, should the run stop early, when pyinfra disconnects): the
  closing summary of failed hosts and warnings is printed to stderr, once.

The RunContext lives as an attribute of the State object, so a second run in the same process
(a second State) starts from nothing, and nothing outlives the State it belongs to.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pyinfra import logger
from pyinfra.api.state import BaseStateCallback

from .fleet import AGREED_FIELDS, HostPlan, fleet_wide_agreement
from .rollout import Rollout, batch_size
from .settings import SettingsError
from .summary import closing_summary

STATE_ATTRIBUTE = "ollama_fleet_run"


@dataclass
class RunContext:
    """Everything one run knows about the hosts that called ``ollama()`` /
    ``ollama_uninstall()``; keyed by host name."""

    plans: dict[str, HostPlan] = field(default_factory=dict)  # hosts whose settings are valid
    problems: dict[str, list[str]] = field(default_factory=dict)  # hosts whose settings are not
    warnings: list[str] = field(default_factory=list)  # each text once, in order
    reasons: dict[str, str] = field(default_factory=dict)  # why our own checks failed a host
    rollout: Rollout = field(default_factory=Rollout)
    activations: dict[str, str] = field(default_factory=dict)  # host -> activation op hash
    batch: int | None = None  # the activation's _parallel, fixed at the gate
    error: SettingsError | None = None  # set when the gate stopped the run
    gate_passed: bool = False
    last_op: str | None = None
    summarised: bool = False
    # How many valid hosts say each value of each run-wide setting, kept with `plans`, so that
    # registering a host checks agreement in constant time (not by re-reading every plan).
    agreed_values: dict[str, Counter[str]] = field(
        default_factory=lambda: {name: Counter() for name in AGREED_FIELDS})

    @property
    def called(self) -> set[str]:
        """The hosts that called the deploy in this run, valid or not."""
        return set(self.plans) | set(self.problems)

    def set_plan(self, host_name: str, plan: HostPlan) -> None:
        self.drop_plan(host_name)
        self.plans[host_name] = plan
        for name, counts in self.agreed_values.items():
            counts[str(getattr(plan.settings, name))] += 1

    def drop_plan(self, host_name: str) -> None:
        plan = self.plans.pop(host_name, None)
        if plan is None:
            return
        for name, counts in self.agreed_values.items():
            value = str(getattr(plan.settings, name))
            counts[value] -= 1
            if counts[value] <= 0:
                del counts[value]

    def disagreement(self) -> list[str]:
        """fleet_wide_agreement over the valid hosts so far; reads every plan only when they
        disagree (the report names every host's value)."""
        if all(len(counts) <= 1 for counts in self.agreed_values.values()):
            return []
        return fleet_wide_agreement(self.plans)

    def note_warning(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def note_failure(self, host_name: str, reason: str) -> None:
        self.reasons.setdefault(host_name, reason)  # the first reason wins


def context_for(state: Any) -> RunContext | None:
    """The RunContext of this pyinfra State, if ollama-fleet took part in its run."""
    return getattr(state, STATE_ATTRIBUTE, None)


def start_run(state: Any) -> RunContext:
    """The RunContext of this State, created (and its callback registered) on the first call."""
    run = context_for(state)
    if run is None:
        run = RunContext()
        setattr(state, STATE_ATTRIBUTE, run)
        state.add_callback_handler(RunCallbacks())
    return run


def note_failure(state: Any, host_name: str, reason: str) -> None:
    """Remember why a host was failed by our own checks, for the closing summary."""
    run = context_for(state)
    if run is not None:
        run.note_failure(host_name, reason)


def note_host_warning(host: Any, text: str) -> None:
    """A warning about what a host has (found in its state fact, after validation, e.g. a GPU
    without a driver): logged now and listed in the closing summary, under the host's name."""
    text = f"{host.name}: {text}"
    run = context_for(host.state)
    if run is None or text not in run.warnings:
        logger.warning(f"ollama-fleet warning: {text}")
    if run is not None:
        run.note_warning(text)


def record_activation(host: Any, op_meta: Any) -> None:
    """Remember the operation that restarts this host: the rollout batches it and counts its
    failures (by hash: names are for people)."""
    run = context_for(host.state)
    if run is not None and op_meta is not None:
        run.activations[host.name] = op_meta._hash


def register_host(state: Any, host: Any, plan: HostPlan | None, problems: Iterable[str],
                  warnings: Iterable[str]) -> RunContext:
    """Record one host's validation; log its warnings and problems now (a --dry run prints
    nothing else about them), and fail it so the run cannot end with exit status 0."""
    run = start_run(state)
    for text in warnings:
        if text not in run.warnings:
            logger.warning(f"ollama-fleet warning: {text}")
        run.note_warning(text)
    problems = list(problems)
    if problems:
        run.problems[host.name] = problems
        run.drop_plan(host.name)
    elif plan is not None:
        run.set_plan(host.name, plan)
        run.problems.pop(host.name, None)
        disagreement = run.disagreement()
        if disagreement:
            problems = disagreement  # listed in full at the gate, over every calling host
    for text in problems:
        host.log_styled(f"ollama-fleet: {text}", fg="red", log_func=logger.error)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        run.note_failure(host.name, f"invalid settings ({count}); nothing was changed")
        # Failed, but still active: the gate stops an executing run before any command, and a
        # --dry run (which executes nothing) still exits non-zero.
        state.failed_hosts.add(state.inventory.get_host(host.name))
    return run


def summary_lines(state: Any) -> list[str]:
    """The closing summary of a run: its warnings, then each failed host and why. Empty when
    there is nothing to say or ollama-fleet did not take part in the run."""
    run = context_for(state)
    if run is None:
        return []
    called = run.called
    failed = [h for h in state.failed_hosts
              # Hosts that ran our deploy, and hosts never reached (which may have run it).
              if h.name in called or h not in state.activated_hosts]
    return closing_summary(state, run.warnings, failed, run.reasons)


def print_summary(state: Any) -> None:
    run = context_for(state)
    if run is None or run.summarised:
        return
    run.summarised = True
    lines = summary_lines(state)
    if lines:
        print("\n".join(lines), file=sys.stderr)


def _gate(state: Any, run: RunContext) -> None:
    """Before anything executes: stop on any problem of any calling host, else fix the rollout."""
    if run.error is not None:
        raise run.error
    if run.gate_passed:
        return
    problems: list[str] = []
    for member in state.inventory:  # inventory order, whatever order the hosts prepared in
        problems.extend(run.problems.get(member.name, ()))
    problems.extend(fleet_wide_agreement(run.plans))
    if problems:
        run.error = SettingsError(list(dict.fromkeys(problems)))
        raise run.error
    run.gate_passed = True
    if run.plans:
        first = next(iter(run.plans.values())).settings  # every host agrees (checked above)
        run.rollout.max_failures = first.rollout_max_failures
        run.batch = batch_size(first.rollout_batch, max(1, len(run.activations)))
    order = state.get_op_order()
    run.last_op = order[-1] if order else None


class RunCallbacks(BaseStateCallback):
    """Registered once per State, on the first ``ollama()`` call of its run."""

    @staticmethod
    def operation_start(state, op_hash):  # noqa: ANN001, ANN205 - pyinfra's signature
        run = context_for(state)
        if run is None:
            return
        _gate(state, run)
        if op_hash in run.activations.values() and run.batch:
            # Read by pyinfra right after this callback, to cut the hosts into batches.
            state.get_op_meta(op_hash).global_arguments["_parallel"] = run.batch

    @staticmethod
    def operation_host_start(state, host, op_hash):  # noqa: ANN001, ANN205
        run = context_for(state)
        if run is not None:
            _gate(state, run)  # --serial and --no-wait runs have no operation_start

    @staticmethod
    def operation_host_error(state, host, op_hash, retry_count=0, max_retries=0):  # noqa: ANN001, ANN205
        run = context_for(state)
        if run is None or host.name in run.rollout.halted:
            return
        if run.activations.get(host.name) == op_hash:
            run.rollout.failed.add(host.name)

    @staticmethod
    def operation_end(state, op_hash):  # noqa: ANN001, ANN205
        run = context_for(state)
        if run is not None and run.error is None and op_hash == run.last_op:
            print_summary(state)

    @staticmethod
    def host_disconnect(state, host):  # noqa: ANN001, ANN205
        # A run that stopped early (no host left, --fail-percent) never ends its last
        # operation; the CLI still disconnects, before it prints the error that stopped it.
        run = context_for(state)
        if run is not None and run.error is None and state.is_executing:
            print_summary(state)
