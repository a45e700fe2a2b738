"""The runbooks (docs/runbooks/*.md) followed on the lab, every command in order, every promised
outcome checked, so the pages cannot drift from what the tool does.

The pages are written for a fleet repository with `inventory/fleet.py` (hosts llm-01..llm-05
reached through ~/.ssh/config). Here that repository is a temporary directory, HOME is a
temporary directory whose ~/.ssh/config maps llm-0N to the lab host lab0N, and the lab's own
release mirror and registry come in as OLLAMA_FLEET_* environment overrides (see
docs/runbooks/README.md). The pages run in the order of PAGES, each on the fleet the previous
one left, as an on-call engineer meets them; the first page starts from bare hosts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    LAB_DATA,
    ROOT,
    lab_state,
    main_pid,
    server_environ,
    sh,
    ssh,
    wipe,
)
from .doc_commands import Block, Shell, blocks

lab_test = pytest.mark.lab

RUNBOOKS = ROOT / "docs" / "runbooks"
HOSTS = ["lab01", "lab02", "lab03", "lab04", "lab05"]
# Page -> number of command blocks it holds: a page that loses a block (or gains one the test
# does not know of) fails here before anything runs.
PAGES = {
    "first-deploy.md": 5,
    "add-host.md": 3,
    "change-group-setting.md": 3,
    "upgrade-and-rollback.md": 4,
    "failed-health-check.md": 4,
    "custom-models.md": 5,
    "move-models-dir.md": 3,
    "rotate-proxy-tokens.md": 4,
    "air-gapped.md": 3,
    "uninstall.md": 4,
}
TIMINGS: dict[str, float] = {}
FOLLOWED: list[str] = []


def lab_env(home: Path) -> dict[str, str]:
    """The environment the pages run in: the tools on PATH, the lab as the fleet's network."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("OLLAMA_FLEET_") or key.startswith("OLLAMA_FLEET_TEST_")}
    env.update({
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        "PYINFRA_PROGRESS": "off",
        "NO_COLOR": "1",
        "OLLAMA_FLEET_ARCHIVE_URL": LAB_DATA["ollama_archive_url"],
        "OLLAMA_FLEET_CHECKSUMS_URL": LAB_DATA["ollama_checksums_url"],
        "OLLAMA_FLEET_EXTRA_ENV": json.dumps(LAB_DATA["ollama_extra_env"]),
    })
    return env


def ssh_config(home: Path) -> None:
    """~/.ssh/config as a fleet's would be: names to addresses, user and key."""
    lines = []
    for entry in lab_state()["hosts"]:
        if entry["name"] in HOSTS:
            lines += [f"Host llm-{entry['name'][3:]}", f"  HostName {entry['address']}",
                      f"  User {entry['ssh_user']}", f"  IdentityFile {entry['ssh_key']}", ""]
    (home / ".ssh").mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / ".ssh" / "config").write_text("\n".join(lines))


@pytest.fixture(scope="module")
def fleet(lab, artifacts, tmp_path_factory):  # noqa: ANN001 - fixtures
    """The fleet repository (empty: the first page writes it) and the environment."""
    wipe(HOSTS)
    root = tmp_path_factory.mktemp("runbooks")
    home, repo = root / "home", root / "fleet"
    home.mkdir()
    repo.mkdir()
    ssh_config(home)
    yield {"repo": repo, "home": home, "env": lab_env(home)}
    for name, seconds in TIMINGS.items():
        print(f"runbook {name}: {seconds:.1f}s")


def follow(page: str, fleet: dict[str, Any], env: dict[str, str] | None = None) -> list[Block]:
    """Run every block of the page in order; stop at the first broken promise."""
    earlier = list(PAGES)[:list(PAGES).index(page)]
    missing = [name for name in earlier if name not in FOLLOWED]
    if missing:
        pytest.skip(f"{page} starts from the fleet {missing[-1]} leaves: run the whole module")
    found = blocks(RUNBOOKS / page)
    assert [b.lang for b in found] == ["sh"] * len(found), f"{page}: only ```sh blocks please"
    assert len(found) == PAGES[page], f"{page}: {len(found)} blocks, the test expects {PAGES[page]}"
    shell = Shell(fleet["repo"], env or fleet["env"])
    started = time.monotonic()
    try:
        for block in found:
            outcome = shell.run(block)
            assert not outcome.problems(), outcome.report()
        FOLLOWED.append(page)
    finally:
        shell.close()
        TIMINGS[page] = time.monotonic() - started
    return found


def api_version(name: str) -> str | None:
    result = ssh(name, "curl -fsS --max-time 3 localhost:11434/api/version")
    return json.loads(result.stdout)["version"] if result.returncode == 0 else None


def models(name: str) -> str:
    return sh(name, "OLLAMA_HOST=127.0.0.1:11434 ollama list")


def dropin(name: str) -> str:
    return sh(name, "cat /etc/systemd/system/ollama.service.d/ollama-fleet.conf")


# --- the pages ----------------------------------------------------------------------------------

def test_every_page_is_tested() -> None:
    """No lab needed: every page is known here, holds the blocks the test expects, only
    ```sh blocks, and expectations the runner can read."""
    pages = {p.name for p in RUNBOOKS.glob("*.md")} - {"README.md"}
    assert pages == set(PAGES)
    # The README's table lists them in the order they are followed here.
    listed = re.findall(r"^\| \[([\w-]+\.md)\]", (RUNBOOKS / "README.md").read_text(), re.M)
    assert listed == list(PAGES)
    for page, count in PAGES.items():
        found = blocks(RUNBOOKS / page)
        assert [b.lang for b in found] == ["sh"] * count, page
        assert all(b.code.strip() for b in found), page


@lab_test
def test_first_deploy(fleet) -> None:  # noqa: ANN001
    follow("first-deploy.md", fleet)
    for name in ("lab01", "lab02", "lab03"):
        assert api_version(name) == "0.13.5"
    assert "qwen2.5:0.5b" in models("lab01") and "tinyllama:1b" in models("lab03")
    assert ssh("lab04", "test -e /opt/ollama").returncode != 0



@lab_test
def test_add_host(fleet) -> None:  # noqa: ANN001
    before = {name: main_pid(name) for name in ("lab01", "lab02", "lab03")}
    follow("add-host.md", fleet)
    assert api_version("lab04") == "0.13.5" and "qwen2.5:0.5b" in models("lab04")
    assert {name: main_pid(name) for name in before} == before


@lab_test
def test_change_group_setting(fleet) -> None:  # noqa: ANN001
    batch_pid = main_pid("lab03")
    follow("change-group-setting.md", fleet)
    for name in ("lab01", "lab02", "lab04"):
        assert server_environ(name).get("OLLAMA_KEEP_ALIVE") == "30m"
    assert "OLLAMA_KEEP_ALIVE" not in server_environ("lab03")
    assert main_pid("lab03") == batch_pid


@lab_test
def test_upgrade_and_rollback(fleet) -> None:  # noqa: ANN001
    follow("upgrade-and-rollback.md", fleet)
    assert all(api_version(name) == "0.13.5" for name in ("lab01", "lab02", "lab03", "lab04"))
    assert "0.14.1" in sh("lab02", "ls /opt/ollama/versions")  # kept for the next rollback


@lab_test
def test_failed_health_check(fleet) -> None:  # noqa: ANN001
    others = {name: main_pid(name) for name in ("lab02", "lab03", "lab04")}
    follow("failed-health-check.md", fleet)
    assert api_version("lab01") == "0.13.5"
    assert {name: main_pid(name) for name in others} == others


@lab_test
def test_custom_models(fleet) -> None:  # noqa: ANN001
    follow("custom-models.md", fleet)
    for name in ("lab01", "lab02", "lab04"):
        listed = models(name)
        assert "helpdesk" not in listed and "qwen2.5:0.5b" in listed
    assert "tinyllama:1b" in models("lab03")


@lab_test
def test_move_models_dir(fleet) -> None:  # noqa: ANN001
    follow("move-models-dir.md", fleet)
    assert 'OLLAMA_MODELS=/srv/models' in dropin("lab03")
    assert "tinyllama:1b" in models("lab03")
    assert ssh("lab03", "test -e /usr/share/ollama/.ollama/models").returncode != 0


@lab_test
def test_rotate_proxy_tokens(fleet) -> None:  # noqa: ANN001
    ollama_pid = main_pid("lab03")
    follow("rotate-proxy-tokens.md", fleet)
    assert main_pid("lab03") == ollama_pid
    tokens = (fleet["home"] / ".config/ollama-fleet/batch-tokens").read_text().split()
    assert len(tokens) == 1


@pytest.fixture
def media(fleet, tmp_path: Path) -> Path:  # noqa: ANN001
    """Removable media as the air-gapped page expects it: a release and a model store."""
    sys.path.insert(0, str(ROOT / "lab" / "standin"))
    from models import make_model  # noqa: PLC0415 - fixture code lives in lab/

    sys.path.insert(0, str(ROOT / "lab"))
    from seed_artifacts import release_dir  # noqa: PLC0415

    served = release_dir("0.14.1")
    target = tmp_path / "releases" / "v0.14.1"
    target.mkdir(parents=True)
    for name in ("ollama-linux-amd64.tar.zst", "sha256sum.txt"):
        shutil.copy(served / name, target / name)
    # The same bytes as the lab registry's (same seeds), plus one model only the media has.
    for name, size in (("qwen2.5:0.5b", 3 << 20), ("tinyllama:1b", 2 << 20),
                       ("llama3.2:1b", 1 << 20)):
        make_model(str(tmp_path / "models"), name, size, seed=name)
    return tmp_path


@lab_test
def test_air_gapped(fleet, media: Path) -> None:  # noqa: ANN001
    env = {key: value for key, value in fleet["env"].items()
           if key not in ("OLLAMA_FLEET_ARCHIVE_URL", "OLLAMA_FLEET_CHECKSUMS_URL")}
    follow("air-gapped.md", fleet, {**env, "MEDIA": str(media)})
    for name in ("lab01", "lab02", "lab03", "lab04"):
        assert api_version(name) == "0.14.1"
    for name in ("lab01", "lab02", "lab04"):
        assert "llama3.2:1b" in models(name)


@lab_test
def test_uninstall(fleet) -> None:  # noqa: ANN001
    follow("uninstall.md", fleet)
    for name in ("lab01", "lab02", "lab03", "lab04"):
        assert ssh(name, "systemctl cat ollama").returncode != 0
    assert ssh("lab04", "test -e /usr/share/ollama/.ollama/models").returncode != 0
    assert "qwen2.5" in sh("lab01", "find /usr/share/ollama/.ollama/models/manifests")
    assert ssh("lab03", "test -e /etc/nginx/conf.d/ollama-fleet.conf").returncode != 0
