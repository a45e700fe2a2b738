"""ollama-fleet next to Ansible: the same install on the same lab hosts, measured the same way.

    flock /tmp/ollama-fleet-e2e.lock .venv/bin/python bench/ansible_compare.py \\
        [--hosts 20] [--rounds 3] [--first-host 11] [--json FILE]

`--hosts 20 --rounds 3` takes about 12 minutes on the 2-core lab machine, `--hosts 2
--rounds 1` under one. It ends with the tables in Markdown, every figure as min/median/max.

The work is ollama-fleet's deploy without models (BASE_DATA of bench/fleet_bench.py with
`ollama_models: []` and `ollama_custom_models: []`) and bench/ansible/playbook.yml, which does
the same with ansible.builtin modules: download the release archive from the lab mirror, verify
its sha256 from sha256sum.txt, unpack it into versions/<version> with the current and
/usr/local/bin/ollama links, add the service user and group, the home and models directories,
write the same unit and the same Environment= lines (taken from ollama-fleet's own Layout, as
fleet_bench's by-hand script does), daemon-reload, enable, start (restart on change) and wait
for the API.

Each round, on hosts lab11..lab(10+N) with every other lab host frozen:

  renew + settle, ollama-fleet fresh converge, ollama-fleet no-change run,
  renew + settle, Ansible fresh converge, Ansible no-change run (the recap must say changed=0).

After each fresh run every host must answer GET /api/version with the pinned version, and both
tools must have left the same state (unit digest, Environment= lines, links, account, owners,
enabled and active service). Measured per run: wall time (process start to exit), controller
CPU, peak memory, host CPU per host (the hosts' cgroups) and service starts (the journal).

Controller CPU and memory. ollama-fleet is one pyinfra process (bench/pyinfra_probe.py through
fleet_bench's pyinfra_run): CPU from wait4, peak RSS its VmHWM. ansible-playbook forks a worker
per host and task and runs OpenSSH, whose ControlPersist masters detach and outlive the run, so
wait4 misses them. The Ansible run is therefore started in a cgroup of its own (cgroup v2):
controller CPU is the cgroup's usage_usec once every process of the run has ended (the SSH
masters are stopped right after the playbook exits, so each run also starts without any
connection left by the one before, as pyinfra does), and memory is sampled every 0.1 s as the
sum of PSS of every process in the cgroup (forked workers share pages, so RSS would count them
many times), next to the main process's VmHWM.

Ansible settings: ansible-core from PyPI in its own venv (/var/tmp/ollama-fleet-ansible-venv,
made on first use; not a project dependency), forks = number of hosts (the default 5 would run
20 hosts in 4 batches), pipelining on, the default ssh arguments (ControlMaster=auto,
ControlPersist=60s), fact gathering off (the playbook needs no facts), the Python interpreter
given (/usr/bin/python3, no discovery), default (linear) strategy and output callback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleet_bench import (  # noqa: E402
    API,
    BASE_DATA,
    VERSION,
    WORK,
    RunFailed,
    host_identity,
    machine,
    pyinfra_run,
    retried,
    same_hosts,
    spread,
    wait_sampling,
)
from labhosts import (  # noqa: E402
    ROOT,
    LabError,
    ensure_hosts,
    host_cpu_seconds,
    host_names,
    lab_hosts,
    only_these_running,
    parallel,
    renew,
    service_snapshot,
    settle,
    sh,
)
from ollama_fleet.linux.layout import Layout  # noqa: E402
from ollama_fleet.linux.release import release_sources  # noqa: E402
from ollama_fleet.settings import settings_from_data  # noqa: E402

PLAYBOOK = ROOT / "bench" / "ansible" / "playbook.yml"
ANSIBLE_VENV = Path("/var/tmp/ollama-fleet-ansible-venv")
ANSIBLE_REQUIREMENT = "ansible-core"
PYTHON_ON_HOSTS = "/usr/bin/python3"
CGROUP_PARENT = "ollama-fleet-bench-ctl"

# ollama-fleet's deploy data for this comparison: the lab's, without models.
DATA: dict[str, Any] = {**BASE_DATA, "ollama_models": [], "ollama_custom_models": []}

TOOLS = ("ollama-fleet", "ansible")
SCENARIOS = ("fresh", "no-change")
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=(\d+)", re.M)


@dataclass
class Measured:
    tool: str
    scenario: str
    wall: float
    controller_cpu: float  # ollama-fleet: wait4; Ansible: its cgroup (every process of the run)
    max_rss_mb: float  # main process VmHWM
    all_mb: float  # ollama-fleet: the same (one process); Ansible: peak sum of PSS, all processes
    host_cpu: float  # seconds per host (mean), from the hosts' cgroups
    starts: float  # mean 'Started' journal lines per host for ollama.service during the run
    pid_changed: int  # hosts whose MainPID changed
    detail: dict[str, Any] = field(default_factory=dict)


# --- Ansible: install, inventory, variables, one measured run --------------------------------

def ensure_ansible() -> str:
    """ansible-core in its own venv, made once; returns its version line."""
    playbook = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if not playbook.exists():
        print(f"installing {ANSIBLE_REQUIREMENT} into {ANSIBLE_VENV} (first use)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(ANSIBLE_VENV)], check=True)
        subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "--quiet",
                        "--disable-pip-version-check", ANSIBLE_REQUIREMENT], check=True)
    out = subprocess.run([str(playbook), "--version"], capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()[0].strip()


def ansible_inventory(names: list[str]) -> Path:
    """The hosts as lab/state.json has them: root over SSH with the lab's key, no host key
    checking (a renewed host has a new key)."""
    hosts = lab_hosts()
    inventory = {"all": {
        "hosts": {n: {"ansible_host": hosts[n]["address"], "ansible_user": hosts[n]["ssh_user"],
                      "ansible_ssh_private_key_file": hosts[n]["ssh_key"]} for n in names},
        "vars": {"ansible_python_interpreter": PYTHON_ON_HOSTS,
                 "ansible_ssh_common_args": "-o StrictHostKeyChecking=no "
                                            "-o UserKnownHostsFile=/dev/null"},
    }}
    path = WORK / "ansible-inventory.json"
    path.write_text(json.dumps(inventory, indent=1))
    return path


def expected_files() -> tuple[Any, Any]:
    """ollama-fleet's unit and drop-in for DATA (the files its deploy writes)."""
    settings = settings_from_data(DATA, "bench")
    unit, dropin, *_ = Layout(settings).managed_files()
    return unit, dropin


def environment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Environment=")]


def ansible_vars() -> Path:
    """The playbook's variables, all derived from ollama-fleet's settings for DATA, so both
    tools install the same release to the same paths with the same unit and environment."""
    settings = settings_from_data(DATA, "bench")
    layout = Layout(settings)
    unit, dropin = expected_files()
    source = release_sources(settings, "amd64")[0]  # the lab hosts are amd64
    environment = {}
    for line in environment_lines(dropin.text):
        name, value = line.removeprefix("Environment=").strip('"').split("=", 1)
        environment[name] = value
    variables = {
        "ollama_version": settings.version,
        "ollama_archive_url": source.url,
        "ollama_checksums_url": source.checksums_url,
        "ollama_install_dir": settings.install_dir,
        "ollama_bin_link": settings.bin_link,
        "ollama_user": settings.service_user,
        "ollama_group": settings.service_group,
        "ollama_home": settings.service_home,
        "ollama_models_dir": settings.models_dir,
        "ollama_unit_path": layout.unit_path,
        "ollama_unit_text": unit.text,
        "ollama_dropin_path": layout.dropin_path,
        "ollama_environment": environment,
        "ollama_api_url": settings.bind.client_url,
        "ollama_health_timeout": settings.health_timeout,
    }
    path = WORK / "ansible-vars.json"
    path.write_text(json.dumps(variables, indent=1))
    return path


def ansible_env(forks: int, label: str) -> dict[str, str]:
    """Settings by environment, so no ansible.cfg anywhere can change them."""
    home = WORK / "ansible-home"
    control = WORK / "ansible-cp" / label
    shutil.rmtree(control, ignore_errors=True)
    control.mkdir(parents=True)
    empty_cfg = WORK / "ansible-empty.cfg"
    empty_cfg.write_text("")
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(empty_cfg),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_GATHERING": "explicit",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PYTHON_INTERPRETER": PYTHON_ON_HOSTS,
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }


def _cgroup2_root() -> Path:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, fstype = line.split()[:3]
        if fstype == "cgroup2":
            return Path(point)
    raise LabError("no cgroup v2 hierarchy mounted: cannot measure the Ansible run's processes")


def _cgroup_usage(group: Path) -> float:
    for line in (group / "cpu.stat").read_text().splitlines():
        key, value = line.split()
        if key == "usage_usec":
            return int(value) / 1e6
    return 0.0


def _cgroup_pids(group: Path) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]
    return []


def _end_all(group: Path) -> None:
    """Stop whatever the run left behind in its cgroup (the SSH ControlPersist masters): TERM
    first, so they remove their sockets, then the cgroup's kill switch for anything left."""
    for pid in _cgroup_pids(group):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 3
    while _cgroup_pids(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _cgroup_pids(group):
        (group / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + 5
        while _cgroup_pids(group) and time.monotonic() < deadline:
            time.sleep(0.05)


@dataclass
class GroupChild:
    returncode: int
    wall: float
    rusage_cpu: float  # wait4: the main process and the children it waited for
    cgroup_cpu: float  # every process of the run, detached ones included
    main_hwm_mb: float
    peak_pss_mb: float  # most memory all its processes held at once (sum of PSS)
    peak_procs: int
    output: str


def measured_in_cgroup(cmd: list[str], env: dict[str, str], label: str,
                       after_exit: Any = None, timeout: float = 1200,
                       every: float = 0.1) -> GroupChild:
    """Run cmd in a fresh cgroup; after_exit() is called the moment the main process has been
    reaped, before the leftovers are stopped (for readings that must not include that)."""
    group = _cgroup2_root() / CGROUP_PARENT / label
    if group.exists():
        _end_all(group)
        group.rmdir()
    group.mkdir(parents=True)
    # The shell moves itself into the cgroup and becomes the command: everything it starts is
    # in there from its first instruction.
    wrapped = ["sh", "-c", f'echo $$ > {shlex.quote(str(group / "cgroup.procs"))} && exec "$@"',
               "sh", *cmd]
    with tempfile.TemporaryFile("w+") as out:
        began = time.time()
        proc = subprocess.Popen(wrapped, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
        peak_pss, peak_procs, hwm_kb = 0, 0, 0

        def sample() -> None:
            nonlocal peak_pss, peak_procs, hwm_kb
            pids = _cgroup_pids(group)
            total = 0
            for pid in pids:
                with contextlib.suppress(OSError, ValueError):
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        hwm_kb = max(hwm_kb, int(line.split()[1]))
            peak_pss, peak_procs = max(peak_pss, total), max(peak_procs, len(pids))

        code, usage = wait_sampling(proc, sample, every, timeout)
        wall = time.time() - began
        if after_exit is not None:
            after_exit()
        _end_all(group)
        cpu = _cgroup_usage(group)
        with contextlib.suppress(OSError):
            group.rmdir()
            group.parent.rmdir()
        out.seek(0)
        return GroupChild(code, wall,
                          usage.ru_utime + usage.ru_stime, cpu, hwm_kb / 1024, peak_pss / 1024,
                          peak_procs, out.read())


def ansible_run(names: list[str], scenario: str, label: str) -> Measured:
    inventory, variables = ansible_inventory(names), ansible_vars()
    env = ansible_env(len(names), label)
    cmd = [str(ANSIBLE_VENV / "bin" / "ansible-playbook"), "-i", str(inventory),
           "-e", f"@{variables}", "--forks", str(len(names)), str(PLAYBOOK)]
    before = service_snapshot(names)
    cpu_before = host_cpu_seconds(names)
    cpu_after: dict[str, float] = {}
    began = time.time()
    child = measured_in_cgroup(cmd, env, label,
                               after_exit=lambda: cpu_after.update(host_cpu_seconds(names)))
    (WORK / f"ansible-{label}.log").write_text(child.output)
    recap = {m[1]: {"ok": int(m[2]), "changed": int(m[3]), "unreachable": int(m[4]),
                    "failed": int(m[5]), "skipped": int(m[6])}
             for m in RECAP.finditer(child.output)}
    bad = [n for n in names if n not in recap or recap[n]["failed"] or recap[n]["unreachable"]]
    if child.returncode != 0 or bad:
        raise RunFailed(f"ansible {scenario} on {len(names)} hosts exited {child.returncode}"
                        f"{' (failed or missing: ' + ', '.join(bad) + ')' if bad else ''}:\n"
                        + "\n".join(child.output.splitlines()[-25:]))
    after = service_snapshot(names, since=began)
    return Measured(
        "ansible", scenario, child.wall, child.cgroup_cpu, child.main_hwm_mb, child.peak_pss_mb,
        statistics.mean(cpu_after[n] - cpu_before[n] for n in names),
        statistics.mean(after[n]["started"] for n in names),
        sum(1 for n in names if before[n]["main_pid"] != after[n]["main_pid"]),
        {"rusage_cpu": child.rusage_cpu, "peak_procs": child.peak_procs,
         "changed": sum(r["changed"] for r in recap.values()),
         "changed_per_host": max(r["changed"] for r in recap.values()),
         "ok_per_host": max(r["ok"] for r in recap.values()),
         "skipped_per_host": max(r["skipped"] for r in recap.values())},
    )


def fleet_run(names: list[str], scenario: str, label: str) -> Measured:
    run = pyinfra_run(names, DATA, "deploy.py", scenario, len(names), label=label)
    return Measured(
        "ollama-fleet", scenario, run.wall, run.controller_cpu, run.max_rss_mb, run.max_rss_mb,
        run.host_cpu, statistics.mean(run.per_host("restarts")), run.pid_changed,
        {"commands_per_host": max(run.per_host("commands")),
         "uploads_per_host": max(run.per_host("uploads")),
         "bytes_per_host": max(run.per_host("bytes")), "peak_fds": run.peak_fds},
    )


# --- what the hosts end up with --------------------------------------------------------------

def host_state_script() -> str:
    settings = settings_from_data(DATA, "bench")
    layout = Layout(settings)
    unit_dir = layout.unit_path + ".d"
    home, models = settings.service_home, settings.models_dir
    release = f"{settings.install_dir}/versions/{settings.version}"
    return (
        f"curl -fsS --max-time 5 {API}/api/version 2>/dev/null | tr -d '\\n'; echo; "
        f"sha256sum {layout.unit_path} | cut -d' ' -f1; "
        f"cat {layout.unit_path} {unit_dir}/*.conf 2>/dev/null | grep '^Environment=' | sort "
        "| tr '\\n' ' '; echo; "
        f"readlink {settings.install_dir}/current; readlink -f {settings.bin_link}; "
        f"getent passwd {settings.service_user} | cut -d: -f6,7; "
        f"id -gn {settings.service_user}; "
        f"stat -c '%n %U:%G %a' {home} {home}/.ollama {models} | tr '\\n' ' '; echo; "
        f"id -u {settings.service_user}; getent group {settings.service_group} | cut -d: -f3; "
        f"stat -c '%U:%G %a' {release} {release}/bin/ollama | tr '\\n' ' '; echo; "
        "systemctl is-enabled ollama; systemctl is-active ollama; "
        "ls /var/tmp | grep -c '\\.tgz$' || true"
    )


def host_states(names: list[str]) -> dict[str, list[str]]:
    script = host_state_script()
    return parallel(names, lambda n: sh(n, script).splitlines())


def check_serving(names: list[str], tool: str) -> dict[str, list[str]]:
    """Every host answers GET /api/version with the pinned version and has the unit and the
    Environment= lines ollama-fleet renders."""
    unit, dropin = expected_files()
    want_env = " ".join(sorted(environment_lines(unit.text) + environment_lines(dropin.text)))
    states = host_states(names)
    problems = []
    for name, lines in states.items():
        try:
            version = json.loads(lines[0]).get("version")
        except (json.JSONDecodeError, IndexError):
            version = None
        if version != VERSION:
            problems.append(f"{name}: /api/version gave {lines[:1]!r}, not {VERSION}")
        elif lines[1] != unit.sha256:
            problems.append(f"{name}: the unit differs from ollama-fleet's")
        elif lines[2].strip() != want_env:
            problems.append(f"{name}: Environment= lines {lines[2]!r}, want {want_env!r}")
    if problems:
        raise RunFailed(f"{tool} fresh converge left hosts not serving as declared:\n"
                        + "\n".join(problems[:10]))
    return states


# --- rounds ----------------------------------------------------------------------------------

def compare_round(names: list[str], index: int) -> tuple[list[Measured], dict[str, Any]]:
    ensure_hosts(names)
    size = len(names)
    runs: list[Measured] = []
    states: dict[str, dict[str, list[str]]] = {}
    with only_these_running(names):
        renew(names)
        settle()
        identity = host_identity(names)
        runs.append(fleet_run(names, "fresh", f"cmp-fleet-fresh-{size}-{index}"))
        states["ollama-fleet"] = check_serving(names, "ollama-fleet")
        runs.append(fleet_run(names, "no-change", f"cmp-fleet-nochange-{size}-{index}"))
        same_hosts(names, identity)

        renew(names)
        settle()
        identity = host_identity(names)
        runs.append(ansible_run(names, "fresh", f"cmp-ansible-fresh-{size}-{index}"))
        states["ansible"] = check_serving(names, "ansible")
        nochange = ansible_run(names, "no-change", f"cmp-ansible-nochange-{size}-{index}")
        if nochange.detail["changed"]:
            raise RunFailed(f"ansible no-change run reported changed={nochange.detail['changed']}"
                            " (the playbook is not idempotent)")
        runs.append(nochange)
        same_hosts(names, identity)
    # Both tools must have left the same on-host state (everything host_state_script reads).
    differ = [n for n in names if states["ollama-fleet"][n] != states["ansible"][n]]
    checks = {"hosts_same_state": size - len(differ),
              "sample_state": states["ansible"][names[0]],
              "differences": {n: [states["ollama-fleet"][n], states["ansible"][n]]
                              for n in differ[:3]}}
    return runs, checks


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def markdown(runs: list[Measured], size: int, rounds: int) -> str:
    by = {(t, s): [r for r in runs if r.tool == t and r.scenario == s]
          for t in TOOLS for s in SCENARIOS}
    lines = ["| tool | scenario | wall s | ctl CPU s | peak RSS MB | all processes MB "
             "| host CPU ms/host | starts/host |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for tool in TOOLS:
        for scenario in SCENARIOS:
            rs = by[(tool, scenario)]
            lines.append(
                f"| {tool} | {scenario} | {spread([r.wall for r in rs])} "
                f"| {spread([r.controller_cpu for r in rs])} "
                f"| {spread([r.max_rss_mb for r in rs], '{:.0f}')} "
                f"| {spread([r.all_mb for r in rs], '{:.0f}')} "
                f"| {spread([r.host_cpu * 1000 for r in rs], '{:.0f}')} "
                f"| {spread([r.starts for r in rs], '{:.1f}')} |")
    lines += ["", f"Ansible / ollama-fleet, each round's own ratio ({size} hosts, "
                  f"min/median/max of {rounds} rounds):", "",
              "| scenario | wall | ctl CPU | all processes' memory | host CPU |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for scenario in SCENARIOS:
        ours, theirs = by[("ollama-fleet", scenario)], by[("ansible", scenario)]

        def ratio(what: str, ours: list[Measured] = ours,
                  theirs: list[Measured] = theirs) -> str:
            return spread([getattr(t, what) / getattr(o, what)
                           for o, t in zip(ours, theirs, strict=True)
                           if getattr(o, what) > 0]) + "x"

        lines.append(f"| {scenario} | {ratio('wall')} | {ratio('controller_cpu')} "
                     f"| {ratio('all_mb')} | {ratio('host_cpu')} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=20, help="hosts lab11..lab(10+N)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first-host", type=int, default=11,
                        help="first lab host index (lab01..lab10 belong to the tests)")
    parser.add_argument("--attempts", type=int, default=3,
                        help="tries per round when the lab loses hosts mid-round")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    if args.first_host <= 10:
        parser.error("--first-host must be 11 or more: lab01..lab10 are used by the tests")

    WORK.mkdir(parents=True, exist_ok=True)
    version = ensure_ansible()
    info = machine()
    names = host_names(args.first_host, args.hosts)
    print(f"machine: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}, "
          f"load {info['load']}; {info['date']}")
    print(f"{version}; forks {args.hosts}, pipelining on, gathering explicit (off), "
          f"interpreter {PYTHON_ON_HOSTS}; hosts {names[0]}..{names[-1]}", flush=True)
    began = time.time()
    ensure_hosts(names)

    runs: list[Measured] = []
    checks = []
    for index in range(1, args.rounds + 1):
        measured, check = retried(f"round {index}", args.attempts,
                                  lambda index=index: compare_round(names, index))
        runs += measured
        checks.append(check)
        print(f"  round {index}/{args.rounds}: " + ", ".join(
            f"{r.tool} {r.scenario} {r.wall:.1f}s" for r in measured)
            + f"; same state on {check['hosts_same_state']}/{len(names)} hosts"
            f"  [{time.time() - began:.0f}s elapsed]", flush=True)
        if check["differences"]:
            print("    differences (ollama-fleet, ansible): "
                  + json.dumps(check["differences"]), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"machine": info, "ansible": version,
                                             "runs": [asdict(r) for r in runs],
                                             "checks": checks}, indent=1))

    info["load_end"] = Path("/proc/loadavg").read_text().strip()
    print("\nper run, medians:")
    for tool in TOOLS:
        for scenario in SCENARIOS:
            rs = [r for r in runs if r.tool == tool and r.scenario == scenario]
            keys = sorted({k for r in rs for k in r.detail})
            print(f"  {tool:<12} {scenario:<9} pid changed {max(r.pid_changed for r in rs)}; "
                  + ", ".join(f"{k} {median([r.detail[k] for r in rs]):g}" for k in keys))
    print(f"\nhost state after each fresh converge (first host): {checks[-1]['sample_state']}")
    print(f"\n{version}; {info['date']} start; load at end {info['load_end']}; "
          f"total {time.time() - began:.0f}s\n")
    print(markdown(runs, args.hosts, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
