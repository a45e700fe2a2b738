"""The CI pipelines of examples/ci run against the lab: each job's shell steps, as written, in
order, on a copy of examples/fleet-repo, with the outcomes the pipelines promise checked.

What stands in for the CI service (examples/ci/README.md says the same):

- the runner: a fresh HOME and a fresh checkout (a copy of examples/fleet-repo) per job, `python`
  from a virtualenv made once, `bash -eo pipefail` as both services use;
- `FLEET_PACKAGE` is a wheel of this checkout, `INVENTORY` an inventory of two lab hosts
  (llm -> lab03, lab05), the lab mirror comes in as OLLAMA_FLEET_ARCHIVE_URL,
  OLLAMA_FLEET_CHECKSUMS_URL and OLLAMA_FLEET_EXTRA_ENV in the job's environment;
- secrets: the lab's SSH key, the hosts' keys from ssh-keyscan, an auth proxy setting with a
  fresh token; GitHub gets them through `${{ secrets.* }}` / `${{ vars.* }}`, GitLab as CI/CD
  variables (the SSH key and known hosts as File variables: a path to a file);
- `uses:` steps: checkout and setup-python are what the runner already did; upload-artifact
  is checked: the file it publishes must exist.

Scenarios, per pipeline: merge request (validate job: check, plan artifact, no host changed),
main branch (deploy job: deploy, status.json, all healthy), schedule after a host drifted
(drift job: the status step fails, status.json still published and names the drift).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import LAB_DATA, PYINFRA, ROOT, address, lab_state, run, sh, ssh, wipe
from .doc_commands import github_jobs, gitlab_jobs

yaml = pytest.importorskip("yaml")

lab_test = pytest.mark.lab

CI = ROOT / "examples" / "ci"
HOSTS = {"llm-01": "lab03", "llm-02": "lab05"}
TOKEN = "ci-" + secrets.token_urlsafe(24)
EXPRESSION = re.compile(r"\$\{\{\s*(secrets|vars)\.(\w+)\s*\}\}")
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def runner(lab, artifacts, tmp_path_factory) -> dict[str, Any]:  # noqa: ANN001 - fixtures
    """A virtualenv for the jobs, a wheel to install, the secrets, bare hosts."""
    root = tmp_path_factory.mktemp("ci")
    venv = root / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    # The wheel's dependencies are those of the checkout's .venv: no index needed.
    site = run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    purelib = next((venv / "lib").glob("python3*/site-packages"))
    (purelib / "dev-deps.pth").write_text(site.stdout.strip() + "\n")
    # ... and their commands (pyinfra), run by this virtualenv's python.
    launcher = Path(PYINFRA).read_text().split("\n", 1)[1]
    (venv / "bin" / "pyinfra").write_text(f"#!{venv / 'bin' / 'python'}\n{launcher}")
    (venv / "bin" / "pyinfra").chmod(0o755)
    built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"),
                 str(ROOT)], timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("ollama_fleet-*.whl"))

    names = list(HOSTS.values())
    wipe(names)
    for name in names:
        sh(name, "rm -f /etc/nginx/conf.d/ollama-fleet.conf; systemctl reload nginx 2>/dev/null; "
                 "true")
    entry = lab_state()["hosts"][0]
    scanned = run(["ssh-keyscan", "-T", "5", *(address(n) for n in names)])
    assert scanned.stdout.strip(), scanned.stderr
    secret_values = {
        "FLEET_SSH_KEY": Path(entry["ssh_key"]).read_text().strip(),
        "FLEET_KNOWN_HOSTS": scanned.stdout.strip(),
        "OLLAMA_FLEET_AUTH_PROXY": json.dumps({"bearer_tokens": [TOKEN]}),
    }
    yield {"root": root, "bin": venv / "bin", "wheel": wheel, "secrets": secret_values}
    for name, seconds in TIMINGS.items():
        print(f"ci {name}: {seconds:.1f}s")


def checkout(root: Path, job: str) -> Path:
    """A fresh clone of the fleet repository, plus the lab inventory INVENTORY names."""
    repo = root / job / "repo"
    shutil.copytree(ROOT / "examples" / "fleet-repo", repo)
    hosts = {name: {"ssh_hostname": address(lab), "ssh_user": "root",
                    "ssh_strict_host_key_checking": "yes"} for name, lab in HOSTS.items()}
    (repo / "inventory_lab.py").write_text(textwrap.dedent(f"""\
        \"\"\"examples/fleet-repo's LLM hosts, on the lab (the key comes from ~/.ssh).\"\"\"
        llm = {sorted(hosts.items())!r}
        """))
    return repo


def job_env(runner: dict[str, Any], job: str, *layers: dict[str, str]) -> dict[str, str]:
    home = runner["root"] / job / "home"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OLLAMA_FLEET_") or k.startswith("OLLAMA_FLEET_TEST_")}
    env.update({
        "HOME": str(home),
        "PATH": f"{runner['bin']}:{env.get('PATH', '/usr/bin:/bin')}",
        "OLLAMA_FLEET_ARCHIVE_URL": LAB_DATA["ollama_archive_url"],
        "OLLAMA_FLEET_CHECKSUMS_URL": LAB_DATA["ollama_checksums_url"],
        "OLLAMA_FLEET_EXTRA_ENV": json.dumps(LAB_DATA["ollama_extra_env"]),
    })
    for layer in layers:
        env.update(layer)
    # The documented substitutions: the lab's inventory and this checkout's wheel.
    env["INVENTORY"] = "inventory_lab.py"
    env["FLEET_PACKAGE"] = str(runner["wheel"])
    return env


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def expand(values: dict[str, Any] | None, runner: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in (values or {}).items():
        text = str(value)
        for kind, name in EXPRESSION.findall(text):
            assert name in runner["secrets"], f"the pipeline wants {kind}.{name}"
        text = EXPRESSION.sub(lambda m: runner["secrets"][m.group(2)], text)
        assert "${{" not in text, f"expression the test cannot evaluate: {text}"
        out[key] = text
    return out


def run_github(runner: dict[str, Any], job_name: str) -> tuple[list[tuple[str, int, str]], Path]:
    """Run one job of the workflow: [(step, exit status, output)] and the workspace."""
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    job = github_jobs(workflow)[job_name]
    repo = checkout(runner["root"], f"github-{job_name}")
    base = job_env(runner, f"github-{job_name}", expand(workflow.get("env"), runner),
                   expand(job.get("env"), runner))
    results: list[tuple[str, int, str]] = []
    failed = False
    started = time.monotonic()
    for step in job["steps"]:
        condition = str(step.get("if", "success()"))
        if failed and "always()" not in condition:
            continue
        name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
        if "uses" in step:
            action = step["uses"].split("@")[0]
            if action == "actions/upload-artifact":
                path = repo / step["with"]["path"]
                results.append((name, 0 if path.is_file() else 1, str(path)))
            else:
                assert action in ("actions/checkout", "actions/setup-python"), action
            continue
        result = bash(step["run"], repo, {**base, **expand(step.get("env"), runner)})
        results.append((name, result.returncode, result.stdout + result.stderr))
        failed = failed or result.returncode != 0
    TIMINGS[f"github {job_name}"] = time.monotonic() - started
    return results, repo


def run_gitlab(runner: dict[str, Any], job_name: str) -> tuple[list[tuple[str, int, str]], Path]:
    """Run one job of the pipeline, its lines in one shell as GitLab does: [(job, exit, output)]
    plus one row per artifact path (exit 0 when the file exists)."""
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    lines, job = gitlab_jobs(pipeline)[job_name]
    repo = checkout(runner["root"], f"gitlab-{job_name}")
    files = runner["root"] / f"gitlab-{job_name}" / "variables"
    files.mkdir()
    variables = {}
    for name in ("FLEET_SSH_KEY", "FLEET_KNOWN_HOSTS"):  # File-type variables: a path
        (files / name).write_text(runner["secrets"][name] + "\n")
        variables[name] = str(files / name)
    variables["OLLAMA_FLEET_AUTH_PROXY"] = runner["secrets"]["OLLAMA_FLEET_AUTH_PROXY"]
    env = job_env(runner, f"gitlab-{job_name}",
                  {k: str(v) for k, v in (pipeline.get("variables") or {}).items()}, variables)
    started = time.monotonic()
    result = bash("\n".join(lines), repo, env)
    TIMINGS[f"gitlab {job_name}"] = time.monotonic() - started
    rows = [(job_name, result.returncode, result.stdout + result.stderr)]
    artifacts = job.get("artifacts") or {}
    assert artifacts.get("when") == "always", f"{job_name}: artifacts only on success"
    for path in artifacts.get("paths", []):
        rows.append((f"artifact {path}", 0 if (repo / path).is_file() else 1, path))
    return rows, repo


RUNNERS = {"github": run_github, "gitlab": run_gitlab}


def all_passed(rows: list[tuple[str, int, str]]) -> None:
    for name, code, output in rows:
        assert code == 0, f"{name}: exit {code}\n{output[-5000:]}"
    leaked = [name for name, _, output in rows if TOKEN in output]
    assert not leaked, f"the proxy token shows in the log of {leaked}"


def api_version(name: str) -> str | None:
    result = ssh(name, "curl -fsS --max-time 3 localhost:11434/api/version")
    return json.loads(result.stdout)["version"] if result.returncode == 0 else None


def test_pipelines_parse_and_read_secrets_from_the_ci() -> None:
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    assert list(github_jobs(workflow)) == ["validate", "deploy", "drift"]
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    assert list(gitlab_jobs(pipeline)) == ["validate", "deploy", "drift"]
    for path in CI.glob("*.yml"):
        text = path.read_text()
        assert "PRIVATE KEY" not in text
        assert not re.search(r'bearer_tokens"\s*:\s*\["(?!\.\.\.")', text), path
    # Every secret GitHub hands over comes from the secret store.
    wanted = set(EXPRESSION.findall((CI / "github-actions.yml").read_text()))
    assert wanted == {("secrets", "FLEET_SSH_KEY"), ("vars", "FLEET_KNOWN_HOSTS"),
                      ("secrets", "OLLAMA_FLEET_AUTH_PROXY")}


@lab_test
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_merge_request_validates_and_publishes_the_plan(runner, ci: str) -> None:  # noqa: ANN001
    before = {lab: ssh(lab, "test -e /opt/ollama/current").returncode for lab in HOSTS.values()}
    rows, repo = RUNNERS[ci](runner, "validate")
    all_passed(rows)
    output = "".join(out for _, _, out in rows)
    assert "0 problem(s)" in output and "no host contacted" in output
    plan = (repo / "plan.txt").read_text()
    assert "llm-01" in plan and "llm-02" in plan and "Ollama | Auth proxy (nginx)" in plan
    assert TOKEN not in plan  # the plan is published to everyone who sees the merge request
    after = {lab: ssh(lab, "test -e /opt/ollama/current").returncode for lab in HOSTS.values()}
    assert after == before  # a plan changes nothing


@lab_test
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_main_branch_deploys_and_publishes_status(runner, ci: str) -> None:  # noqa: ANN001
    rows, repo = RUNNERS[ci](runner, "deploy")
    all_passed(rows)
    assert TOKEN not in (repo / "status.json").read_text()
    status = json.loads((repo / "status.json").read_text())
    assert sorted(row["host"] for row in status) == sorted(HOSTS)
    assert all(row["ok"] for row in status), status
    for lab in HOSTS.values():
        assert api_version(lab) == "0.13.5"
        # The proxy setting came from the CI's secret store.
        assert "bearer.map" in sh(lab, "ls /etc/ollama-fleet/nginx")
        assert TOKEN not in sh(lab, "cat /etc/systemd/system/ollama.service.d/*.conf")


@lab_test
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_drifted_host_fails_the_status_step(runner, ci: str) -> None:  # noqa: ANN001
    dropin = "/etc/systemd/system/ollama.service.d/ollama-fleet.conf"
    sh("lab05", f"sed -i 's/OLLAMA_KEEP_ALIVE=30m/OLLAMA_KEEP_ALIVE=1h/' {dropin}")
    try:
        rows, repo = RUNNERS[ci](runner, "drift")
    finally:  # back to what the deploy job left, for the next pipeline's scenarios
        sh("lab05", f"sed -i 's/OLLAMA_KEEP_ALIVE=1h/OLLAMA_KEEP_ALIVE=30m/' {dropin}")
    failed = [name for name, code, _ in rows if code != 0 and not name.startswith("artifact")]
    assert len(failed) == 1, rows
    if ci == "github":
        assert failed == ["Status (fails on drift or unhealthy hosts)"]
        assert rows[-1][1] == 0  # the artifact is published all the same
    status = {row["host"]: row for row in json.loads((repo / "status.json").read_text())}
    assert not status["llm-02"]["ok"] and any("ollama-fleet.conf" in d
                                              for d in status["llm-02"]["drift"])
    assert status["llm-01"]["ok"]
