"""Process helpers: commands with readable errors, bounded waits, signalling."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path


class FleetError(RuntimeError):
    """An error meant for the user: printed without a traceback."""


def run(
    cmd: Sequence[str], *, check: bool = True, timeout: float = 300.0, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            list(cmd),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise FleetError(f"command not found: {cmd[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise FleetError(f"timed out after {timeout:.0f}s: {' '.join(cmd)}") from exc
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise FleetError(f"`{' '.join(cmd)}` failed ({result.returncode}): {detail}")
    return result


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll predicate until it holds or timeout passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def alive(pid: int | None, expect: str = "") -> bool:
    """Whether pid runs; with expect, also whether its command line contains it.

    PIDs in the state file can outlive the processes (a reboot, a killed lab), and
    a recycled PID must not pass for a lab host or daemon.
    """
    if not pid:
        return False
    if expect and expect not in " ".join(cmdline(pid)):
        return False
    try:
        # A zombie still "exists" for kill(0); treat it as gone.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def signal_pid(pid: int | None, sig: int) -> None:
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def terminate(pids: Sequence[int], timeout: float) -> None:
    """SIGTERM, then SIGKILL whatever is still alive after timeout."""
    for pid in pids:
        signal_pid(pid, signal.SIGTERM)
    if not wait_until(lambda: not any(alive(p) for p in pids), timeout):
        for pid in pids:
            signal_pid(pid, signal.SIGKILL)
        wait_until(lambda: not any(alive(p) for p in pids), 5.0)


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def spawn_daemon(cmd: Sequence[str], log: Path) -> int:
    """Start cmd in its own session, detached from our stdio; returns its PID.

    Its own session keeps it alive after `fleet` exits and out of reach of the
    caller's Ctrl-C, which would otherwise take the whole lab down mid-test.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


@contextlib.contextmanager
def exclusive(lock_file: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on lock_file, waiting at most timeout for it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:

        def take() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not take():
            print(f"waiting for another lab/fleet command to finish ({lock_file})")
            if not wait_until(take, timeout, interval=0.5):
                raise FleetError(f"another lab/fleet command held {lock_file} for {timeout:.0f}s")
        yield
