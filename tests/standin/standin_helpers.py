"""Helpers and fixtures for the Ollama stand-in tests (re-exported by conftest.py).

Builds releases, spawns `ollama serve` processes and runs a registry, all on 127.0.0.1 with temp
directories; no lab is needed. A uniquely named module, so other test trees' conftest files
cannot shadow it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parents[2] / "lab" / "standin"
sys.path.insert(0, str(STANDIN))

import artifacts  # noqa: E402
import models  # noqa: E402
import release_build  # noqa: E402

VERSION = "0.13.5"
BASE_MODEL = "tinyllama:1b"
BASE_SIZE = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install(archive: Path, prefix: Path) -> Path:
    """Unpack a release like install.sh does (tar -C prefix); returns bin/ollama."""
    prefix.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".zst"):
        subprocess.run(["tar", "--zstd", "-xf", str(archive), "-C", str(prefix)], check=True)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(prefix, filter="tar")
    return prefix / "bin" / "ollama"


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release")
    release_build.build_release(VERSION, str(out))
    return out


@pytest.fixture(scope="session")
def ollama_bin(tmp_path_factory: pytest.TempPathFactory, release_dir: Path) -> Path:
    prefix = tmp_path_factory.mktemp("prefix")
    os.chmod(prefix, 0o755)  # readable by the unprivileged user in the permission test
    return install(release_dir / "ollama-linux-amd64.tgz", prefix)


@dataclass
class Ollama:
    """A running `ollama serve` plus helpers to run the CLI against it."""

    binary: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://{self.env['OLLAMA_HOST']}"

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.binary), *args], env=self.env, cwd=cwd,
                              capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def base_env(tmp: Path, **extra: str) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "OLLAMA_HOST": f"127.0.0.1:{free_port()}", "OLLAMA_MODELS": str(tmp / "models")}
    env.update(extra)
    return env


def start(binary: Path, env: dict[str, str], log: Path, **popen: object) -> Ollama:
    """Spawn `ollama serve` and wait until GET / answers (or the process exits)."""
    o = Ollama(binary, env, log=log)
    with open(log, "wb") as f:
        o.proc = subprocess.Popen([str(binary), "serve"], env=env, stdout=f,  # type: ignore[call-overload]
                                  stderr=subprocess.STDOUT, **popen)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if o.proc.poll() is not None:
            return o
        try:
            with urllib.request.urlopen(o.url + "/", timeout=1) as r:
                if r.status == 200:
                    return o
        except OSError:
            time.sleep(0.05)
    o.stop()
    raise AssertionError(f"ollama serve did not come up:\n{log.read_text()}")


@dataclass
class Registry:
    url: str
    root: Path
    manifest_digest: str

    def control(self, path: str) -> None:
        req = urllib.request.Request(self.url + path, data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=5):
            pass


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("artifacts")
    digest = models.make_model(str(root / "registry"), BASE_MODEL, BASE_SIZE, seed=1)
    srv = artifacts.make_server("127.0.0.1", 0, str(root))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield Registry(f"http://127.0.0.1:{srv.server_address[1]}", root, digest)
    srv.shutdown()
    srv.server_close()
