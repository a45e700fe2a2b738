"""The package as a user gets it: sdist and wheel built from a copy of the sources, installed
into a fresh virtualenv outside the checkout, then the example repository (examples/fleet-repo)
deployed from there to two lab hosts: lab04 (`web`) and lab05 (`llm`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .conftest import LAB_DATA, ROOT, lab_state, sh, ssh, wipe

WEB, LLM = "lab04", "lab05"
SOURCES = ["pyproject.toml", "README.md", "MANIFEST.in", "deploys", "templates", "docs",
           "examples"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def must(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = run(cmd, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist from a copy of the sources (so nothing is built or cached in the checkout), and
    the wheel built from that sdist (so the sdist is proven complete)."""
    top = tmp_path_factory.mktemp("package")
    src = top / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=IGNORE)
        else:
            shutil.copy2(path, src / name)
    out = top / "dist"
    must([sys.executable, "-m", "build", "--outdir", str(out), str(src)], cwd=top)
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def venv(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its dependencies (from the package index)."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    must([sys.executable, "-m", "venv", str(where)], cwd=where.parent)
    must([str(where / "bin" / "pip"), "install", "-q", str(dist["wheel"])], cwd=where.parent,
         env=clean_env(where))
    return where


def clean_env(venv: Path) -> dict[str, str]:
    """No checkout on any path: the venv's bin first, no PYTHONPATH, no OLLAMA_FLEET_*."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
           and not k.startswith("OLLAMA_FLEET_")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYINFRA_PROGRESS"] = "off"
    return env


def source_files(folder: str) -> set[str]:
    base = ROOT / folder
    return {str(p.relative_to(base)) for p in base.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_sdist_and_wheel_hold_everything(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as tar:
        top = tar.getnames()[0].split("/")[0]
        in_sdist = {n.removeprefix(top + "/") for n in tar.getnames()}
    for folder in ("deploys", "templates", "docs", "examples"):
        missing = {f"{folder}/{f}" for f in source_files(folder)} - in_sdist
        assert not missing, f"not in the sdist: {sorted(missing)}"
    assert {"README.md", "pyproject.toml", "MANIFEST.in"} <= in_sdist

    with zipfile.ZipFile(dist["wheel"]) as whl:
        in_wheel = set(whl.namelist())
        entry_points = next(whl.read(n).decode() for n in in_wheel
                            if n.endswith(".dist-info/entry_points.txt"))
    modules = {f"ollama_fleet/{f}" for f in source_files("deploys") if f.endswith(".py")}
    templates = {f"ollama_fleet/templates/{f}" for f in source_files("templates")}
    assert not modules - in_wheel, f"modules not in the wheel: {sorted(modules - in_wheel)}"
    assert not templates - in_wheel, f"templates not in the wheel: {sorted(templates - in_wheel)}"
    assert "ollama-fleet = ollama_fleet.cli:main" in entry_points
    assert not any(n.startswith(("tests/", "lab/", "deploys/", "examples/")) for n in in_wheel)


def lab_inventory(repo: Path) -> str:
    """The example's inventory, pointed at the lab: web -> lab04, llm -> lab05, and the LLM
    host's release download pointed at the lab's artifact server."""
    hosts = {h["name"]: h for h in lab_state()["hosts"]}

    def ssh_data(name: str) -> dict[str, Any]:
        entry = hosts[name]
        return {"ssh_hostname": entry["address"], "ssh_user": entry["ssh_user"],
                "ssh_key": entry["ssh_key"], "ssh_strict_host_key_checking": "off",
                "ssh_known_hosts_file": "/dev/null"}

    mirror = {k: LAB_DATA[k] for k in ("ollama_archive_url", "ollama_checksums_url",
                                       "ollama_extra_env", "ollama_health_timeout")}
    path = repo / "inventory_lab.py"
    path.write_text(textwrap.dedent(f"""\
        web = [({WEB!r}, {ssh_data(WEB)!r})]
        llm = [({LLM!r}, {{**{ssh_data(LLM)!r}, **{mirror!r}}})]
    """))
    return path.name


@pytest.mark.lab
def test_example_repository_deploys_from_a_clean_install(
        venv: Path, lab: Any, artifacts: Any, tmp_path: Path) -> None:  # noqa: ANN401
    started = time.monotonic()
    repo = tmp_path / "fleet-repo"
    shutil.copytree(ROOT / "examples" / "fleet-repo", repo, ignore=IGNORE)
    inventory = lab_inventory(repo)
    env = clean_env(venv)
    bin_ = venv / "bin"

    where = must([str(bin_ / "python"), "-c", "import ollama_fleet; print(ollama_fleet.__file__)"],
                 cwd=repo, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    assert not Path(where).is_relative_to(ROOT)

    checked = run([str(bin_ / "ollama-fleet"), "check", inventory, "--json"], cwd=repo, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert set(report["hosts"]) == {LLM} and set(report["skipped"]) == {WEB}

    wipe([WEB, LLM])
    first = run([str(bin_ / "pyinfra"), "-y", inventory, "deploy.py"], cwd=repo, env=env)
    assert first.returncode == 0, first.stdout + first.stderr

    assert "Example Corp intranet" in sh(WEB, "cat /srv/www/index.html")
    assert ssh(WEB, "test -e /opt/ollama").returncode != 0
    assert ssh(WEB, "test -e /etc/systemd/system/ollama.service").returncode != 0
    assert ssh(WEB, "systemctl cat ollama.service").returncode != 0

    assert json.loads(sh(LLM, "curl -fsS http://127.0.0.1:11434/api/version")) == {
        "version": "0.13.5"}
    models = json.loads(sh(LLM, "curl -fsS http://127.0.0.1:11434/api/tags"))["models"]
    assert {"qwen2.5:0.5b", "helpdesk:latest"} <= {m["name"] for m in models}
    assert ssh(LLM, "test -e /srv/www").returncode != 0

    second = run([str(bin_ / "pyinfra"), "-y", "--json", inventory, "deploy.py"], cwd=repo,
                 env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    operations = (json.loads(second.stdout).get("results") or {}).get("operations", [])
    changed = {op["name"]: op["success"] for op in operations if op["success"]}
    assert changed == {}, f"the second run changed: {changed}"

    status = run([str(bin_ / "ollama-fleet"), "status", inventory, "--json"], cwd=repo, env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    [row] = json.loads(status.stdout)
    assert row["host"] == LLM and row["running"] == "0.13.5" and row["drift"] == []

    assert not (repo / "__pycache__").exists()  # like pyinfra, leave no bytecode behind
    print(f"\nexample repository: clean install deploy, check, rerun and status in "
          f"{time.monotonic() - started:.1f}s")
