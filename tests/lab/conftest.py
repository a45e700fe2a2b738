"""Bring-up for the lab's own tests: `lab/fleet up --hosts 3`, reused if already up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class LabCli:
    """Runs lab/fleet the way a user would and reads what it writes."""

    hosts = 3  # at least; see up()
    fleet_path = ROOT / "lab" / "fleet"
    state_file = ROOT / "lab" / "state.json"

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.fleet_path), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def ssh(self, host: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.run("ssh", host, command, timeout=timeout)

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def up(self) -> dict[str, Any]:
        # A bigger lab that is already up (a benchmark's) is kept, not shrunk.
        if self.state_file.exists():
            self.hosts = max(self.hosts, len(self.state()["hosts"]))
        started = time.monotonic()
        result = self.run("up", "--hosts", str(self.hosts))
        assert result.returncode == 0, f"lab/fleet up failed:\n{result.stdout}\n{result.stderr}"
        self._show(f"lab/fleet up --hosts {self.hosts}: {time.monotonic() - started:.1f}s")
        return self.state()

    def _show(self, line: str) -> None:
        """Print past output capture: bring-up time is worth watching in every run."""
        capture = self._config.pluginmanager.get_plugin("capturemanager")
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        if capture is None or reporter is None:
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


@pytest.fixture(scope="session")
def lab_cli(pytestconfig: pytest.Config) -> LabCli:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    if shutil.which("systemd-nspawn") is None or shutil.which("debootstrap") is None:
        pytest.skip("the lab needs systemd-nspawn and debootstrap")
    return LabCli(pytestconfig)


@pytest.fixture(scope="session")
def lab_fleet(lab_cli: LabCli) -> Iterator[dict[str, Any]]:
    """The parsed lab/state.json of a running lab with LabCli.hosts hosts."""
    yield lab_cli.up()
