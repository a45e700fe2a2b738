#!/usr/bin/env python3
"""Fill the lab's artifact server with stand-in releases and registry models. TEST FIXTURE.

    python3 lab/seed_artifacts.py [--padded-mb 300]

Release files land where the lab mirror serves them (group_data/lab.py points hosts there);
models land in the registry that the stand-in's `ollama pull` fetches from. Idempotent: releases
are rebuilt every time (a few KB each, reproducible, so unchanged code gives the same bytes and a
changed stand-in is never served stale); models already there are kept. --padded-mb N also builds
release PADDED_RELEASE with N MiB of incompressible padding (a release of real size, for the
scale benchmark; no test uses that version); it is rebuilt only when its size changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "standin"))

from models import make_model  # noqa: E402
from release_build import build_release  # noqa: E402

ARTIFACTS = HERE / ".state" / "artifacts"
RELEASES = ("0.12.0", "0.13.5", "0.14.1")
BROKEN_RELEASE = "0.13.9"  # its `serve` fails at start, for rollback tests
PADDED_RELEASE = "0.13.7"  # --padded-mb: release archives of real size, for benchmarks only
MODELS = {"qwen2.5:0.5b": 3 << 20, "tinyllama:1b": 2 << 20, "smollm:135m": 1 << 20}


def release_dir(version: str) -> Path:
    return ARTIFACTS / "files" / "releases" / f"v{version}"


def seed(padded_mb: int = 0) -> None:
    for version in (*RELEASES, BROKEN_RELEASE):
        build_release(version, str(release_dir(version)), broken=version == BROKEN_RELEASE)
    if padded_mb:
        out = release_dir(PADDED_RELEASE)
        marker = out / ".padded-mb"
        if not (marker.exists() and marker.read_text().strip() == str(padded_mb)):
            build_release(PADDED_RELEASE, str(out), pad_mb=padded_mb)
            marker.write_text(f"{padded_mb}\n")
    store = ARTIFACTS / "registry"
    for name, size in MODELS.items():
        make_model(str(store), name, size, seed=name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Fill the lab's artifact server (test fixture).")
    parser.add_argument("--padded-mb", type=int, default=0,
                        help=f"also build release {PADDED_RELEASE} padded to about this many MiB")
    seed(parser.parse_args().padded_mb)
    print(f"lab artifacts ready in {ARTIFACTS}")
