"""Commands taken from documentation and pipeline files, run as written, outcomes checked.

Runbooks (docs/runbooks/*.md): every fenced block is a ```sh block; the blocks of a page run in
order, each in its own `bash -euo pipefail`, all in the same working directory (the fleet
repository). Exported variables carry over from one block to the next, as in the terminal the
page is followed in. A block's expected outcome is an HTML comment right after it (invisible
when the page is rendered; the prose says the same for the reader):

    <!-- expect
    exit 1
    contains did not become healthy
    lacks Traceback
    -->

`exit N` (default 0), `contains TEXT` and `lacks TEXT` (on stdout + stderr). A one-item form
`<!-- expect: exit 1 -->` works too.

Pipelines (examples/ci/*): `github_jobs` and `gitlab_jobs` return each job (and, for GitLab, its
shell lines) in the order the pipeline runs them.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FENCE = re.compile(r"^```(\S*)\s*$")
EXPECT_OPEN = re.compile(r"^<!--\s*expect\b:?\s*(.*?)\s*(-->)?\s*$")


@dataclass
class Expect:
    exit: int = 0
    contains: list[str] = field(default_factory=list)
    lacks: list[str] = field(default_factory=list)

    def add(self, item: str, where: str) -> None:
        word, _, rest = item.strip().partition(" ")
        if word == "exit" and rest.strip().isdigit():
            self.exit = int(rest)
        elif word == "contains" and rest:
            self.contains.append(rest)
        elif word == "lacks" and rest:
            self.lacks.append(rest)
        else:
            raise ValueError(f"{where}: cannot read expectation {item!r}")


@dataclass
class Block:
    source: str  # file:line, for messages
    lang: str
    code: str
    expect: Expect = field(default_factory=Expect)


@dataclass
class Outcome:
    block: Block
    returncode: int
    output: str
    seconds: float

    def problems(self) -> list[str]:
        found = []
        want = self.block.expect
        if self.returncode != want.exit:
            found.append(f"exit status {self.returncode}, the page promises {want.exit}")
        found += [f"output lacks {text!r}" for text in want.contains if text not in self.output]
        found += [f"output holds {text!r}" for text in want.lacks if text in self.output]
        return found

    def report(self) -> str:
        return (f"{self.block.source}: {'; '.join(self.problems())}\n--- block ---\n"
                f"{self.block.code}\n--- output ---\n{self.output[-6000:]}")


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown page, with the expectation that follows it."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        start, lang, body = i + 1, opened.group(1), []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"{path.name}:{start}: fenced block never closed")
        i += 1
        block = Block(f"{path.name}:{start}", lang, "\n".join(body) + "\n")
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        comment = EXPECT_OPEN.match(lines[j]) if j < len(lines) else None
        if comment:
            where = f"{path.name}:{j + 1}"
            if comment.group(1):
                block.expect.add(comment.group(1), where)
            if comment.group(2) is None:  # multi-line form
                j += 1
                while j < len(lines) and lines[j].strip() != "-->":
                    if lines[j].strip():
                        block.expect.add(lines[j], where)
                    j += 1
            i = j + 1
        found.append(block)
    return found


class Shell:
    """Runs blocks one after another in `cwd`; exported variables carry over."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        handle, name = tempfile.mkstemp(prefix="doc-env-", suffix=".sh")
        os.close(handle)
        self.state = Path(name)

    def run(self, block: Block, timeout: float = 600) -> Outcome:
        script = (f"trap 'export -p > {self.state}' EXIT\n"
                  f". {self.state}\n"
                  "set -euo pipefail\n" + block.code)
        started = time.monotonic()
        result = subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env,
                                capture_output=True, text=True, timeout=timeout, check=False)
        return Outcome(block, result.returncode, result.stdout + result.stderr,
                       time.monotonic() - started)

    def close(self) -> None:
        self.state.unlink(missing_ok=True)


# --- pipelines ----------------------------------------------------------------------------------

def script_lines(value: Any) -> list[str]:
    """A GitLab script: a string or a list, nested lists (YAML anchors) flattened."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [line for item in value for line in script_lines(item)]


def github_jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Job name -> job, in an order that respects `needs:`."""
    jobs = workflow["jobs"]
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for dep in script_lines(jobs[name].get("needs")):
            visit(dep)
        order.append(name)

    for name in jobs:
        visit(name)
    return {name: jobs[name] for name in order}


def gitlab_jobs(pipeline: dict[str, Any]) -> dict[str, tuple[list[str], dict[str, Any]]]:
    """Job name -> (before_script + script lines, job), jobs in stage order."""
    reserved = {"stages", "variables", "default", "include", "workflow", "image", "services",
                "cache", "before_script", "after_script"}
    stages = pipeline.get("stages", ["build", "test", "deploy"])
    default = pipeline.get("default") or {}
    before = script_lines(default.get("before_script", pipeline.get("before_script")))
    jobs = {name: job for name, job in pipeline.items()
            if name not in reserved and not name.startswith(".") and isinstance(job, dict)}
    ordered = sorted(jobs, key=lambda n: stages.index(jobs[n].get("stage", "test")))
    return {name: ([*(script_lines(jobs[name]["before_script"]) if "before_script" in jobs[name]
                      else before), *script_lines(jobs[name].get("script"))], jobs[name])
            for name in ordered}
