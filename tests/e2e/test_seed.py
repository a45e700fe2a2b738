"""Offline model distribution from the controller's own model store to five real hosts."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, deploy, sh, wipe

pytestmark = pytest.mark.lab

HOSTS = ["lab01", "lab02", "lab03", "lab04", "lab05"]
BIG = "bigmodel:200m"  # not in the lab registry: it can only arrive by seeding
SEEDED = re.compile(r"\[(lab\d+)\] ollama-fleet: seeded (\d+) blob\(s\) and (\d+) manifest\(s\), "
                    r"(\d+) bytes sent")


def store_bytes(store: Path) -> int:
    manifest = store / "manifests/registry.ollama.ai/library/bigmodel/200m"
    return sum(p.stat().st_size for p in (store / "blobs").iterdir()) + manifest.stat().st_size


@pytest.fixture(scope="module")
def store() -> Path:
    sys.path.insert(0, str(ROOT / "lab" / "standin"))
    from models import make_model  # noqa: PLC0415 - fixture code

    path = ROOT / "lab" / ".state" / "seed-store"
    make_model(str(path), BIG, 200 << 20, seed="big")
    return path


@pytest.fixture(scope="module")
def seeded(lab, artifacts, store: Path):  # noqa: ANN001 - fixtures
    wipe(HOSTS)
    result = deploy({name: {"ollama_models": [BIG], "ollama_model_source": str(store)}
                     for name in HOSTS})
    assert result.returncode == 0, result.output
    return result


def test_each_blob_crosses_the_wire_once_per_host(seeded, store: Path) -> None:  # noqa: ANN001
    sent = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)))
            for m in SEEDED.finditer(seeded.output)}
    blobs = len(list((store / "blobs").iterdir()))
    assert sent == {name: (blobs, 1, store_bytes(store)) for name in HOSTS}


def test_seeded_model_is_served_and_intact(seeded, store: Path) -> None:  # noqa: ANN001
    weights = max((store / "blobs").iterdir(), key=lambda p: p.stat().st_size)
    for name in HOSTS:
        assert BIG in sh(name, "OLLAMA_HOST=127.0.0.1:11434 ollama list")
        remote = sh(name, f"sha256sum /usr/share/ollama/.ollama/models/blobs/{weights.name}")
        assert remote.split()[0] == weights.name.removeprefix("sha256-")
        assert sh(name, "stat -c %U /usr/share/ollama/.ollama/models/blobs/"
                        f"{weights.name}").strip() == "ollama"


def test_rerun_sends_nothing(seeded, store: Path) -> None:  # noqa: ANN001
    again = deploy({name: {"ollama_models": [BIG], "ollama_model_source": str(store)}
                    for name in HOSTS})
    assert again.returncode == 0, again.output
    assert not SEEDED.search(again.output)
    assert all(again.changed(name) == [] for name in HOSTS)


def test_a_corrupted_transfer_is_detected_and_not_installed(seeded, tmp_path: Path) -> None:  # noqa: ANN001
    sys.path.insert(0, str(ROOT / "lab" / "standin"))
    from models import make_model  # noqa: PLC0415

    bad_store = tmp_path / "store"
    make_model(str(bad_store), "corrupt:1m", 1 << 20, seed="corrupt")
    weights = max((bad_store / "blobs").iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # the bytes no longer match the name they travel under
    weights.write_bytes(bytes(data))

    result = deploy({"lab01": {"ollama_models": [BIG, "corrupt:1m"],
                               "ollama_model_source": str(bad_store)}})
    assert result.returncode != 0
    assert f"{weights.name} arrived corrupt" in result.output
    blobs = sh("lab01", "ls -a /usr/share/ollama/.ollama/models/blobs")
    assert weights.name not in blobs
    assert "corrupt:1m" not in sh("lab01", "OLLAMA_HOST=127.0.0.1:11434 ollama list")
    assert BIG in sh("lab01", "OLLAMA_HOST=127.0.0.1:11434 ollama list")
