"""Fleet benchmark: what a deploy costs on N lab hosts, next to what any pyinfra run costs.

    .venv/bin/python bench/fleet_bench.py [--sizes 10,20,40] [--runs 3] [--seed-hosts 10]
                                          [--seed-mb 200] [--no-seed] [--first-host 11]
                                          [--reuse-hosts] [--json FILE]

For every size N (hosts lab11.. by default, never lab01..lab10), each round does, on the same
hosts and back to back, with every other lab host frozen (`lab/fleet freeze`: idle hosts take
no CPU) and after waiting for the machine to be idle:

  renew     hosts replaced by freshly booted ones from the base image (untimed; --reuse-hosts:
            wiped back to bare instead, which is faster but kinder than new machines)
  floor     pyinfra with bench/floor.py: connect + prepare + one operation that does nothing
  fresh     deploy.py on bare hosts: install, configure, start, pull a base, create a custom model
  no-change deploy.py again, same data
  change    deploy.py with one setting changed (num_parallel), so one restart is expected
  reference plain ssh to every host at once: download the release archive, restart the service,
            wait for the API (what a fresh converge cannot avoid)
  by hand   hosts renewed (or wiped) again, then plain ssh to every host at once running what
            an operator types for the same result: download, verify and unpack the release, add
            the user, write the same unit and drop-in, daemon-reload, enable, restart, wait,
            pull, create

Every pyinfra run goes through bench/pyinfra_probe.py (the real CLI, in-process, with counters on
the SSH connector), so remote commands, uploads and per-operation times are counted, not guessed.
Restarts come from the hosts: journal 'Started' lines for the unit since the run began, and
whether MainPID changed. Figures are medians over --runs rounds, and min/median/max in the
closing tables; each is also shown as a ratio to the floor of the same round, since a busy
controller moves absolute times but not the ratios.

Model distribution (--seed-hosts hosts): a --seed-mb model is built in a controller store and
seeded with ollama_model_source; each round removes it from the hosts, times the deploy that
seeds it, then times plain `scp` of the same blobs to every host at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    scp,
    service_snapshot,
    settle,
    sh,
    wipe,
)
from ollama_fleet.linux.layout import Layout  # noqa: E402
from ollama_fleet.model_plan import plan_models  # noqa: E402
from ollama_fleet.model_source import StoredModel, load_model  # noqa: E402
from ollama_fleet.settings import settings_from_data  # noqa: E402

PROBE = ROOT / "bench" / "pyinfra_probe.py"
INVENTORY = "inventory/lab_selected.py"
WORK = Path(os.environ.get("OLLAMA_FLEET_BENCH_DIR", "/var/tmp/ollama-fleet-bench"))

GATEWAY = "10.231.0.1"
VERSION = "0.13.5"
FILES_URL = f"http://{GATEWAY}:8080/files/releases/download/v{VERSION}"
ARCHIVE_URL = f"{FILES_URL}/ollama-linux-amd64.tgz"  # what 0.13.5 on amd64 downloads
MODELS_DIR = "/usr/share/ollama/.ollama/models"
API = "http://127.0.0.1:11434"

# The lab's own group data, spelled out so the benchmark does not move when group_data does.
BASE_DATA: dict[str, Any] = {
    "ollama_version": VERSION,
    "ollama_archive_url": FILES_URL.replace(VERSION, "{version}") + "/{filename}",
    "ollama_checksums_url": FILES_URL.replace(VERSION, "{version}") + "/sha256sum.txt",
    "ollama_extra_env": {"OLLAMA_STANDIN_REGISTRY": f"http://{GATEWAY}:8080"},
    "ollama_health_timeout": 60,
    "ollama_models": ["qwen2.5:0.5b"],
    "ollama_custom_models": [{
        "name": "qwen2.5:0.5b-16k",
        "from": "qwen2.5:0.5b",
        "parameters": {"num_ctx": 16384, "temperature": 0.2},
        "system": "You are the lab's terse assistant.",
    }],
}
CHANGE_DATA: dict[str, Any] = {"ollama_num_parallel": 2}  # one setting, one expected restart

SCENARIOS = ("floor", "fresh", "no-change", "change")
T = TypeVar("T")


class RunFailed(RuntimeError):
    pass


@dataclass
class Run:
    scenario: str
    size: int
    wall: float
    record: dict[str, Any]
    services: dict[str, dict[str, int]] = field(default_factory=dict)
    pid_changed: int = 0
    output: str = ""
    controller_cpu: float = 0.0  # CPU seconds of the pyinfra process (and its ssh children)
    host_cpu: float = 0.0  # CPU seconds the run cost the hosts, mean per host
    max_rss_mb: float = 0.0  # peak resident memory of the pyinfra process
    peak_fds: int = 0  # most file descriptors the pyinfra process had open at once

    def per_host(self, what: str) -> list[float]:
        hosts = self.record["hosts"]
        names = list(self.services) or list(hosts)
        values: list[float] = []
        for name in names:
            entry = hosts.get(name, {"commands": [], "uploads": []})
            if what == "commands":
                values.append(len(entry["commands"]))
            elif what == "fact_commands":
                values.append(sum(1 for c in entry["commands"] if c["stage"] != "Execute"))
            elif what == "uploads":
                values.append(len(entry["uploads"]))
            elif what == "bytes":
                values.append(sum(max(0, u["bytes"]) for u in entry["uploads"]))
            elif what == "restarts":
                values.append(self.services.get(name, {}).get("started", 0))
        return values

    def stages(self) -> dict[str, float]:
        """Where the wall time went: process start, connect, prepare (facts), execute, close."""
        s, end = self.record["stages"], self.record["end"]
        connect = s.get("Connect", end)
        prepare = s.get("Prepare", end)
        execute = s.get("Execute", end)
        disconnect = s.get("Disconnect", end)
        return {
            "startup": connect + max(0.0, self.wall - end),  # interpreter + imports + inventory
            "connect": prepare - connect,
            "prepare": execute - prepare,
            "execute": disconnect - execute,
            "close": end - disconnect,
        }

    def op_spans(self) -> list[tuple[str, float, float]]:
        """(operation, wall span over all hosts, mean span per host), in run order."""
        spans = []
        for op_hash in self.record["op_order"]:
            op = self.record["ops"][op_hash]
            if op["start"] is None or op["end"] is None:
                continue
            per_host = [h["end"] - h["start"] for h in op["hosts"].values()
                        if h["end"] is not None]
            name = op["name"].removeprefix("Ollama | ")  # the deploy's group name
            spans.append((name, op["end"] - op["start"],
                          statistics.mean(per_host) if per_host else 0.0))
        return spans


def hostdata_file(names: list[str], data: dict[str, Any], label: str,
                  per_host: dict[str, dict[str, Any]] | None = None) -> Path:
    path = WORK / f"hostdata-{label}.json"
    path.write_text(json.dumps({name: {**data, **(per_host or {}).get(name, {})}
                                for name in names}))
    return path


@dataclass
class Child:
    """One process, measured on its own: wall time, CPU from wait4 (this child and the children
    it waited for, nothing else of ours), peak RSS and the most file descriptors it had open at
    once (sampled from /proc every `every` seconds while it ran)."""
    returncode: int
    wall: float
    cpu: float
    max_rss_mb: float
    peak_fds: int
    output: str


def wait_sampling(proc: subprocess.Popen[str], sample: Callable[[], None], every: float,
                  timeout: float) -> tuple[int, Any]:
    """Reap proc with wait4 while a thread calls sample() every `every` seconds; kill it after
    timeout. Returns (exit code, rusage of proc and its reaped children)."""
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            sample()
            done.wait(every)

    sampler = threading.Thread(target=loop, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage


def measured_child(cmd: list[str], env: dict[str, str], timeout: float = 1200,
                   every: float = 0.02) -> Child:
    with tempfile.TemporaryFile("w+") as out:
        began = time.time()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
        peak, hwm_kb = 0, 0
        fd_dir, status = f"/proc/{proc.pid}/fd", f"/proc/{proc.pid}/status"

        def sample() -> None:
            # Peak RSS is the kernel's high-water mark of the process after exec (VmHWM), read
            # while it runs: wait4's ru_maxrss would count this (parent) process's size at fork.
            nonlocal peak, hwm_kb
            with contextlib.suppress(OSError, ValueError):  # gone between two samples
                peak = max(peak, len(os.listdir(fd_dir)))
                for line in Path(status).read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        hwm_kb = max(hwm_kb, int(line.split()[1]))

        code, usage = wait_sampling(proc, sample, every, timeout)
        wall = time.time() - began
        out.seek(0)
        return Child(code, wall, usage.ru_utime + usage.ru_stime, hwm_kb / 1024, peak,
                     out.read())


def pyinfra_run(names: list[str], data: dict[str, Any], deploy_file: str, scenario: str,
                size: int, expect_ok: bool = True,
                per_host: dict[str, dict[str, Any]] | None = None, label: str = "") -> Run:
    """One measured pyinfra run (wall time from process start to exit, as an operator sees it).
    per_host: data that differs by host, over `data` (e.g. a setting flipped on each host)."""
    label = label or f"{scenario}-{size}"
    hostdata = hostdata_file(names, data, label, per_host)
    record_path = WORK / f"probe-{label}.json"
    env = {**os.environ, "OLLAMA_FLEET_LAB_HOSTDATA": str(hostdata), "PYINFRA_PROGRESS": "off"}
    before = service_snapshot(names)
    cpu_before = host_cpu_seconds(names)
    began = time.time()
    child = measured_child(
        [sys.executable, str(PROBE), str(record_path), "-y", INVENTORY, deploy_file], env)
    cpu_after = host_cpu_seconds(names)  # before any further ssh adds to it
    host_cpu = statistics.mean(cpu_after[n] - cpu_before[n] for n in names)
    output = child.output
    if expect_ok and child.returncode != 0:
        raise RunFailed(f"{scenario} on {size} hosts exited {child.returncode}:\n"
                        + "\n".join(output.splitlines()[-25:]))
    record = json.loads(record_path.read_text())
    after = service_snapshot(names, since=began)
    changed = sum(1 for n in names if before[n]["main_pid"] != after[n]["main_pid"])
    return Run(scenario, size, child.wall, record, after, changed, output, child.cpu, host_cpu,
               child.max_rss_mb, child.peak_fds)


@dataclass
class Reference:
    wall: float
    download: float  # mean per host, measured on the host
    start: float
    by_hand: float = float("nan")  # wall time of the by-hand fresh converge, all hosts at once


def fresh_reference(names: list[str], archive_url: str = ARCHIVE_URL) -> Reference:
    """The unavoidable part of a fresh converge: every host fetches the archive, then the
    service (re)starts and answers, all hosts at once, over plain ssh."""
    script = (
        "set -e; f=/var/tmp/ollama-fleet-bench-archive; t0=$(date +%s.%N); "
        f"curl -fsS -o $f {archive_url}; t1=$(date +%s.%N); systemctl restart ollama; "
        f"for i in $(seq 600); do curl -fsS --max-time 2 {API}/api/version >/dev/null 2>&1 "
        "&& break; sleep 0.1; done; t2=$(date +%s.%N); rm -f $f; echo $t0 $t1 $t2"
    )
    began = time.time()
    times = parallel(names, lambda n: [float(x) for x in sh(n, script).split()], workers=64)
    wall = time.time() - began
    return Reference(wall, statistics.mean(t[1] - t[0] for t in times.values()),
                     statistics.mean(t[2] - t[1] for t in times.values()))


def by_hand_script() -> str:
    """The fresh converge as one shell script, the way the README of any Ollama guide has it.

    Same release, unit, drop-in and models as the deploy, none of its checks, records, rollback
    snapshot or idempotence: what ollama-fleet's fresh converge is measured against."""
    settings = settings_from_data(BASE_DATA, "bench")
    unit, dropin, _ = Layout(settings).managed_files()
    custom = plan_models(settings, "bench", BASE_DATA).custom[0]
    base = BASE_DATA["ollama_models"][0]
    return f"""set -e
cd /var/tmp
curl -fsS -o ollama-linux-amd64.tgz {ARCHIVE_URL}
curl -fsS {FILES_URL}/sha256sum.txt | sed 's|  ./|  |' | grep ' ollama-linux-amd64.tgz$' \\
  | sha256sum -c --status
mkdir -p /opt/ollama/versions/{VERSION}
tar -xzf ollama-linux-amd64.tgz -C /opt/ollama/versions/{VERSION}
rm ollama-linux-amd64.tgz
ln -sfn versions/{VERSION} /opt/ollama/current
ln -sfn /opt/ollama/current/bin/ollama /usr/local/bin/ollama
useradd -r -s /bin/false -U -m -d /usr/share/ollama ollama
install -d -o ollama -g ollama /usr/share/ollama/.ollama {MODELS_DIR}
cat > {unit.dest} <<'UNIT_END'
{unit.text}UNIT_END
mkdir -p {dropin.dest.rsplit('/', 1)[0]}
cat > {dropin.dest} <<'DROPIN_END'
{dropin.text}DROPIN_END
systemctl daemon-reload
systemctl enable ollama 2>/dev/null
systemctl restart ollama
until curl -fsS --max-time 2 {API}/api/version >/dev/null 2>&1; do sleep 0.1; done
ollama pull {base} >/dev/null
cat > /var/tmp/Modelfile <<'MODELFILE_END'
{custom.modelfile}MODELFILE_END
ollama create {custom.name} -f /var/tmp/Modelfile >/dev/null
rm /var/tmp/Modelfile
"""


def fresh_by_hand(names: list[str], wiped: bool = False) -> float:
    if not wiped:
        wipe(names)
    script = by_hand_script()
    began = time.time()
    parallel(names, lambda n: sh(n, script, timeout=600), workers=64)
    return time.time() - began


def host_identity(names: list[str]) -> dict[str, Any]:
    """The init PID of each host: it changes when a host is destroyed and booted again."""
    hosts = lab_hosts()
    return {n: hosts.get(n, {}).get("leader_pid") for n in names}


def same_hosts(names: list[str], before: dict[str, Any]) -> None:
    """A round is only valid on the hosts it began with: a re-created host would turn a
    no-change run into a fresh converge and still exit 0."""
    now = host_identity(names)
    gone = [n for n in names if now[n] != before[n]]
    if gone:
        raise LabError(f"host(s) re-created during the round: {', '.join(gone)}")


def size_round(names: list[str], size: int,
               fresh_hosts: bool = True) -> tuple[dict[str, Run], Reference]:
    """One round on these hosts; the reference carries the by-hand time too. Every other lab
    host is frozen meanwhile. With fresh_hosts the fresh converge (and the by-hand one) meet
    freshly booted hosts, as on newly provisioned machines; otherwise wiped, used ones."""
    ensure_hosts(names)
    with only_these_running(names):
        (renew if fresh_hosts else wipe)(names)
        settle()
        identity = host_identity(names)
        runs = {"floor": pyinfra_run(names, {}, "bench/floor.py", "floor", size)}
        runs["fresh"] = pyinfra_run(names, BASE_DATA, "deploy.py", "fresh", size)
        runs["no-change"] = pyinfra_run(names, BASE_DATA, "deploy.py", "no-change", size)
        runs["change"] = pyinfra_run(names, {**BASE_DATA, **CHANGE_DATA}, "deploy.py",
                                     "change", size)
        reference = fresh_reference(names)
        same_hosts(names, identity)
        if fresh_hosts:
            renew(names)
            settle()
        reference.by_hand = fresh_by_hand(names, wiped=fresh_hosts)
    return runs, reference


def retried(what: str, attempts: int, func: Callable[[], T]) -> T:
    """Run a round again when the lab lost hosts under it.

    `lab/fleet up --hosts N` destroys hosts above N, and the e2e suite runs it with a small N
    at the start of every session; a round caught by that is thrown away, never half-counted.
    """
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except (RunFailed, LabError, subprocess.TimeoutExpired) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            print(f"  {what}: attempt {attempt} thrown away: {first}", file=sys.stderr,
                  flush=True)
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


# --- model distribution --------------------------------------------------------------------

def bench_model(mb: int) -> tuple[Path, StoredModel]:
    """A deterministic model of mb MiB in a controller store, built once and kept."""
    store = WORK / "store"
    name = f"benchseed:{mb}m"
    model = load_model(store, name)
    if model is None:
        sys.path.insert(0, str(ROOT / "lab" / "standin"))
        from models import make_model  # noqa: PLC0415 - the lab's model maker, only needed here

        make_model(str(store), name, mb << 20, seed="bench")
        model = load_model(store, name)
    assert model is not None
    return store, model


def remove_model(names: list[str], model: StoredModel) -> None:
    paths = [f"{MODELS_DIR}/blobs/{b.name}" for b in model.blobs]
    paths.append(f"{MODELS_DIR}/manifests/{model.manifest_relpath}")
    parallel(names, lambda n: sh(n, "rm -f " + " ".join(f"'{p}'" for p in paths)))


@dataclass
class SeedRound:
    deploy: Run
    scp_wall: float


def seed_round(names: list[str], store: Path, model: StoredModel) -> SeedRound:
    ensure_hosts(names)
    identity = host_identity(names)
    data = {**BASE_DATA, "ollama_model_source": str(store),
            "ollama_models": [*BASE_DATA["ollama_models"], model.name]}
    # Untimed: hosts converge to the base data, so the timed run below only seeds.
    pyinfra_run(names, BASE_DATA, "deploy.py", "seed-prepare", len(names))
    remove_model(names, model)
    run = pyinfra_run(names, data, "deploy.py", "seed", len(names))
    target = "/var/tmp/ollama-fleet-bench-scp"
    parallel(names, lambda n: sh(n, f"rm -rf {target} && mkdir -p {target}"))
    began = time.time()

    def copy(name: str) -> None:
        for blob in model.blobs:
            scp(name, blob.path, f"{target}/{blob.name}")

    parallel(names, copy, workers=64)
    scp_wall = time.time() - began
    parallel(names, lambda n: sh(n, f"rm -rf {target}"))
    same_hosts(names, identity)
    return SeedRound(run, scp_wall)


# --- reporting -----------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, str]:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               "?")
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "nproc": out(["nproc"]),
            "cpu": cpu, "kernel": platform.release(), "free": out(["free", "-h"]),
            "load": Path("/proc/loadavg").read_text().strip()}


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def summarize(results: dict[int, dict[str, list[Run]]],
              references: dict[int, list[Reference]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for size, by_scenario in results.items():
        floor = median([r.wall for r in by_scenario["floor"]])
        rows = {}
        for scenario, runs in by_scenario.items():
            wall = median([r.wall for r in runs])
            mid = min(runs, key=lambda r: abs(r.wall - wall))  # the run shown in detail

            def worst(what: str, runs: list[Run] = runs) -> float:
                return max(max(r.per_host(what), default=0) for r in runs)

            floors = [r.wall for r in by_scenario["floor"]]
            rows[scenario] = {
                "wall": wall, "walls": [r.wall for r in runs], "x_floor": wall / floor,
                # each round's own ratio: a busy moment moves a round's runs together
                "x_floors": [r.wall / f for r, f in zip(runs, floors, strict=False)],
                "controller_cpus": [r.controller_cpu for r in runs],
                "host_cpus": [r.host_cpu for r in runs],
                "commands": worst("commands"), "fact_commands": worst("fact_commands"),
                "uploads": worst("uploads"), "bytes": worst("bytes"),
                "restarts": worst("restarts"),
                "pid_changed": max(r.pid_changed for r in runs),
                "controller_cpu": median([r.controller_cpu for r in runs]),
                "host_cpu": median([r.host_cpu for r in runs]),
                "stages": mid.stages(), "ops": mid.op_spans(),
            }
        refs = references.get(size, [])
        if refs:
            fresh = by_scenario["fresh"]
            rows["reference"] = {
                "wall": median([r.wall for r in refs]),
                "walls": [r.wall for r in refs],
                "by_hands": [r.by_hand for r in refs],
                "fresh_x_reference": [f.wall / r.wall for f, r in zip(fresh, refs, strict=False)],
                "fresh_x_by_hand": [f.wall / r.by_hand for f, r in zip(fresh, refs, strict=False)],
                "download": median([r.download for r in refs]),
                "start": median([r.start for r in refs]),
                "by_hand": median([r.by_hand for r in refs]),
            }
        summary[str(size)] = rows
    return summary


def print_report(summary: dict[str, Any], seed: dict[str, Any] | None, info: dict[str, str],
                 runs: int) -> None:
    print(f"\nmachine: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}, "
          f"load {info['load']}; {info['date']}; median of {runs} run(s)")
    head = (f"{'hosts':>5} {'scenario':<10} {'wall s':>7} {'x floor':>7} {'cmds/host':>9} "
            f"{'facts':>5} {'uploads':>7} {'bytes/host':>10} {'restarts':>8} {'new PID':>7}")
    print("\n" + head + "\n" + "-" * len(head))
    for size, rows in summary.items():
        for scenario in SCENARIOS:
            r = rows.get(scenario)
            if r is None:
                continue
            print(f"{size:>5} {scenario:<10} {r['wall']:>7.2f} {r['x_floor']:>7.2f} "
                  f"{r['commands']:>9.0f} {r['fact_commands']:>5.0f} {r['uploads']:>7.0f} "
                  f"{fmt_bytes(r['bytes']):>10} {r['restarts']:>8.0f} {r['pid_changed']:>7}")
        ref = rows.get("reference")
        if ref:
            fresh = rows["fresh"]["wall"]
            print(f"{size:>5} {'reference':<10} {ref['wall']:>7.2f} {'':>7} "
                  f"(archive {ref['download']:.2f}s + start {ref['start']:.2f}s per host; "
                  f"fresh = {fresh / ref['wall']:.2f}x reference)")
            print(f"{size:>5} {'by hand':<10} {ref['by_hand']:>7.2f} {'':>7} "
                  f"(the same fresh converge as one plain shell script; "
                  f"fresh = {fresh / ref['by_hand']:.2f}x by hand)")

    print("\nwhere the time goes (median run; seconds): startup = interpreter, imports, "
          "inventory; prepare = deploy file + facts;\nctl cpu = CPU of the pyinfra process, "
          "host cpu = CPU the run cost all hosts together (they share the controller's cores)")
    head = (f"{'hosts':>5} {'scenario':<10} {'startup':>7} {'connect':>7} {'prepare':>7} "
            f"{'execute':>7} {'close':>6} {'ctl cpu':>7} {'host cpu':>8}  "
            "slowest operations (span over all hosts)")
    print(head + "\n" + "-" * len(head))
    for size, rows in summary.items():
        for scenario in SCENARIOS:
            r = rows.get(scenario)
            if r is None:
                continue
            st = r["stages"]
            slow = sorted(r["ops"], key=lambda o: -o[1])[:3]
            ops = "; ".join(f"{name[:26]} {span:.2f}" for name, span, _ in slow if span >= 0.05)
            print(f"{size:>5} {scenario:<10} {st['startup']:>7.2f} {st['connect']:>7.2f} "
                  f"{st['prepare']:>7.2f} {st['execute']:>7.2f} {st['close']:>6.2f} "
                  f"{r['controller_cpu']:>7.2f} {r['host_cpu'] * int(size):>8.2f}  {ops}")

    sizes = sorted(int(s) for s in summary)
    if len(sizes) > 1:
        small, large = str(sizes[0]), str(sizes[-1])
        print(f"\nscaling, no-change: {large} hosts take "
              f"{summary[large]['no-change']['wall'] / summary[small]['no-change']['wall']:.2f}x "
              f"the time of {small} hosts (floor: "
              f"{summary[large]['floor']['wall'] / summary[small]['floor']['wall']:.2f}x)")

    if seed:
        print(f"\nmodel distribution: {fmt_bytes(seed['model_bytes'])} model to "
              f"{seed['hosts']} hosts")
        print(f"  seeding deploy   {seed['deploy_wall']:7.2f} s   "
              f"({fmt_bytes(seed['bytes_per_host'])} uploaded per host, "
              f"seed operation {seed['seed_op']:.2f} s)")
        print(f"  plain scp        {seed['scp_wall']:7.2f} s   (same blobs, all hosts at once)")
        print(f"  deploy / scp     {seed['deploy_wall'] / seed['scp_wall']:7.2f} x   "
              f"(seed operation alone / scp {seed['seed_op'] / seed['scp_wall']:.2f} x)")

    print("\ntargets:")
    for line in targets(summary, seed):
        print("  " + line)

    print("\nfor docs/benchmarks.md (min/median/max over rounds):\n")
    print(markdown(summary, seed))


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """min/median/max, the way every figure is reported."""
    if not values:
        return "-"
    return "/".join(fmt.format(v) for v in (min(values), median(values), max(values)))


def markdown(summary: dict[str, Any], seed: dict[str, Any] | None) -> str:
    """The tables of docs/benchmarks.md, every figure as min/median/max over rounds."""
    lines = ["| hosts | scenario | wall s | x floor | ctl CPU s | host CPU ms/host "
             "| commands/host | uploads/host | bytes/host | restarts/host |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    moved: list[tuple[float, str]] = []
    for size, rows in summary.items():
        for scenario in SCENARIOS:
            r = rows.get(scenario)
            if r is None:
                continue
            ms = [v * 1000 for v in r["host_cpus"]]
            lines.append(
                f"| {size} | {scenario} | {spread(r['walls'])} | {spread(r['x_floors'])} "
                f"| {spread(r['controller_cpus'])} | {spread(ms, '{:.0f}')} "
                f"| {r['commands']:.0f} | {r['uploads']:.0f} | {fmt_bytes(r['bytes'])} "
                f"| {r['restarts']:.0f} |")
            moved.append((max(r["walls"]) / min(r["walls"]) - 1, f"{scenario} at {size}"))
    lines += ["", "| hosts | archive + start s | by hand s | fresh / archive+start "
              "| fresh / by hand |", "| ---: | ---: | ---: | ---: | ---: |"]
    for size, rows in summary.items():
        ref = rows.get("reference")
        if ref:
            lines.append(f"| {size} | {spread(ref['walls'])} | {spread(ref['by_hands'])} "
                         f"| {spread(ref['fresh_x_reference'])} "
                         f"| {spread(ref['fresh_x_by_hand'])} |")
    if moved:
        worst, where = max(moved)
        lines += ["", f"Largest spread of a wall time over the rounds: max is {worst:.0%} above "
                      f"min ({where})."]
    if seed:
        lines += ["", f"Seeding {fmt_bytes(seed['model_bytes'])} to {seed['hosts']} hosts: "
                      f"deploy {spread(seed['deploy_walls'])} s, plain scp "
                      f"{spread(seed['scp_walls'])} s."]
    return "\n".join(lines)


def targets(summary: dict[str, Any], seed: dict[str, Any] | None) -> list[str]:
    lines = []
    for size, rows in summary.items():
        nc = rows["no-change"]
        checks = [
            (nc["x_floor"] <= 2.0, f"no-change {nc['x_floor']:.2f}x floor (<= 2x)"),
            (nc["commands"] <= 3, f"{nc['commands']:.0f} commands/host (<= 3)"),
            (nc["restarts"] == 0 and nc["pid_changed"] == 0,
             f"{nc['restarts']:.0f} restarts"),
            (nc["bytes"] == 0, f"{fmt_bytes(nc['bytes'])} uploaded"),
        ]
        ref = rows.get("reference")
        if ref:
            ratio = rows["fresh"]["wall"] / ref["wall"]
            checks.append((ratio <= 1.5, f"fresh {ratio:.2f}x archive+start (<= 1.5x)"))
        lines.append(f"{size:>3} hosts: " + ", ".join(
            f"{'ok' if ok else 'MISSED'} {text}" for ok, text in checks))
        if ref:  # no target, but it tells a slow deploy from unavoidable work
            by_hand = ref["by_hand"] / ref["wall"]
            ours = rows["fresh"]["wall"] / ref["by_hand"]
            lines.append(f"{'':>10} (by hand the same converge takes {by_hand:.2f}x "
                         f"archive+start; the deploy is {ours:.2f}x by hand)")
    sizes = sorted(int(s) for s in summary)
    if len(sizes) > 1 and sizes[-1] >= 4 * sizes[0]:
        ratio = (summary[str(sizes[-1])]["no-change"]["wall"]
                 / summary[str(sizes[0])]["no-change"]["wall"])
        lines.append(f"scaling: {'ok' if ratio <= 1.6 else 'MISSED'} {sizes[-1]} hosts "
                     f"{ratio:.2f}x the time of {sizes[0]} (<= 1.6x)")
    if seed:
        lines.append(f"seeding: {seed['deploy_wall'] / seed['scp_wall']:.2f}x plain scp")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,20,40", help="host counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="rounds per size (median taken)")
    parser.add_argument("--first-host", type=int, default=11,
                        help="first lab host index (lab01..lab10 belong to the tests)")
    parser.add_argument("--seed-hosts", type=int, default=10, help="hosts for model seeding")
    parser.add_argument("--seed-mb", type=int, default=200, help="seeded model size in MiB")
    parser.add_argument("--seed-runs", type=int, default=None, help="default: --runs")
    parser.add_argument("--no-seed", action="store_true", help="skip model distribution")
    parser.add_argument("--reuse-hosts", action="store_true",
                        help="fresh converge on wiped hosts instead of freshly booted ones")
    parser.add_argument("--json", type=Path, help="also write all figures here")
    parser.add_argument("--attempts", type=int, default=6,
                        help="tries per round when the lab loses hosts mid-round")
    args = parser.parse_args()
    if args.first_host <= 10:
        parser.error("--first-host must be 11 or more: lab01..lab10 are used by the tests")

    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}, "
          f"load {info['load']}")
    began = time.time()
    ensure_hosts(host_names(args.first_host, max(sizes)))

    results: dict[int, dict[str, list[Run]]] = {}
    references: dict[int, list[Reference]] = {}
    for run_index in range(args.runs):
        for size in sizes:
            names = host_names(args.first_host, size)
            runs, ref = retried(f"round {run_index + 1}, {size} hosts", args.attempts,
                                lambda names=names, size=size: size_round(
                                    names, size, fresh_hosts=not args.reuse_hosts))
            for scenario, run in runs.items():
                results.setdefault(size, {s: [] for s in SCENARIOS})[scenario].append(run)
            references.setdefault(size, []).append(ref)
            if args.json:  # keep what is measured so far: a later round may never finish
                args.json.write_text(json.dumps({"machine": info, "runs": run_index + 1,
                                                 "sizes": summarize(results, references)},
                                                indent=1))
            print(f"  round {run_index + 1}/{args.runs}, {size:>2} hosts: " + ", ".join(
                f"{s} {r.wall:.1f}s" for s, r in runs.items()) + f", reference {ref.wall:.1f}s"
                f", by hand {ref.by_hand:.1f}s  [{time.time() - began:.0f}s elapsed]", flush=True)

    seed: dict[str, Any] | None = None
    if not args.no_seed:
        names = host_names(args.first_host, args.seed_hosts)
        store, model = bench_model(args.seed_mb)
        rounds = []
        try:
            for run_index in range(args.seed_runs or args.runs):
                with only_these_running(names):
                    rounds.append(retried(f"seed round {run_index + 1}", args.attempts,
                                          lambda: seed_round(names, store, model)))
                print(f"  seed round {run_index + 1}: deploy {rounds[-1].deploy.wall:.1f}s, "
                      f"scp {rounds[-1].scp_wall:.1f}s  [{time.time() - began:.0f}s elapsed]",
                      flush=True)
        finally:
            remove_model(names, model)  # 200 MB per host is not worth keeping around
        deploy_wall = median([r.deploy.wall for r in rounds])
        seed_ops = [span for r in rounds for name, span, _ in r.deploy.op_spans()
                    if name.startswith("Seed models")]
        seed = {
            "hosts": len(names), "model_bytes": sum(b.size for b in model.blobs),
            "deploy_wall": deploy_wall, "deploy_walls": [r.deploy.wall for r in rounds],
            "scp_wall": median([r.scp_wall for r in rounds]),
            "scp_walls": [r.scp_wall for r in rounds],
            "bytes_per_host": max(max(r.deploy.per_host("bytes")) for r in rounds),
            "seed_op": median(seed_ops),
            "stages": min(rounds, key=lambda r: abs(r.deploy.wall - deploy_wall)).deploy.stages(),
        }

    summary = summarize(results, references)
    info["load_end"] = Path("/proc/loadavg").read_text().strip()
    print_report(summary, seed, info, args.runs)
    print(f"\ntotal benchmark time {time.time() - began:.0f}s; load at end {info['load_end']}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "sizes": summary, "seed": seed,
                                         "runs": args.runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
