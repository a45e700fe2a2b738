"""Scale benchmark: what the controller pays per host, from tens to hundreds of hosts.

    lab/fleet up --hosts 210 && .venv/bin/python lab/seed_artifacts.py [--padded-mb 300]
    .venv/bin/python bench/scale_bench.py [--sizes 10,50,100,200] [--rounds 2] [--shards 2]
                                          [--release-mb 300] [--release-hosts 10]
                                          [--plot docs/benchmarks-per-host.png] [--json FILE]

The hosts (lab11.. by default) are renewed (freshly booted from the base image) and converged
once; then every round, for every size N, runs on the first N of them, back to back, once the
machine is idle and with every other lab host frozen (`lab/fleet freeze`: no CPU for idle hosts):

  floor      pyinfra with bench/floor.py (connect + prepare, no command)
  no-change  deploy.py with the data each host already has
  change     deploy.py with ollama_num_parallel flipped on every host (1 restart per host)

Each run is one pyinfra process (bench/pyinfra_probe.py, as in fleet_bench.py), measured on its
own: CPU seconds from wait4 of that child, its peak RSS (VmHWM) and the most file descriptors
it had open at once (its /proc/<pid> sampled every 20 ms), and the CPU every host used (its
cgroup). Figures are given per host and as min/median/max over rounds; the marginal cost (the
slope between two sizes) shows what grows faster than the number of hosts, which per-host
averages hide behind the fixed cost of starting pyinfra.

--shards K: the largest size once more as K shards run at the same time (K pyinfra processes,
each its own rollout, as K parallel CI jobs with --limit would be), against one run of all.

--release-mb M: release PADDED_RELEASE (built by `lab/seed_artifacts.py --padded-mb M`) on
--release-hosts freshly booted hosts: a fresh converge, the bytes the artifact server sent
(its access log and the bridge's byte counter), the bytes the controller uploaded (the probe),
and the reference (every host downloads the archive and starts the service over plain ssh).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

from fleet_bench import (  # noqa: E402
    BASE_DATA,
    FILES_URL,
    VERSION,
    WORK,
    Run,
    fmt_bytes,
    fresh_reference,
    host_identity,
    machine,
    pyinfra_run,
    retried,
    same_hosts,
)
from labhosts import (  # noqa: E402
    ROOT,
    ensure_hosts,
    host_names,
    lab_hosts,
    only_these_running,
    parallel,
    renew,
    settle,
    sh,
    wipe,
)
from seed_artifacts import PADDED_RELEASE, release_dir  # noqa: E402

SETTING = "ollama_num_parallel"
FLIPPED = 2  # the one-setting change: unset (the default) <-> 2
ARTIFACT_LOG = ROOT / "lab" / ".state" / "run" / "artifacts.log"
BRIDGE_TX = Path("/sys/class/net/olfbr0/statistics/tx_bytes")
# What any install of the archive also does on the host, after the download (all hosts at once).
UNPACK = ("set -e; d=/var/tmp/ollama-fleet-bench-unpack; rm -rf $d; mkdir -p $d; "
          "curl -fsS -o $d/a.tgz {url}; t0=$(date +%s.%N); sha256sum $d/a.tgz >/dev/null; "
          "tar -xzf $d/a.tgz -C $d; t1=$(date +%s.%N); rm -rf $d; "
          "python3 -c \"print($t1 - $t0)\"")
METRICS = ("wall", "ctl_cpu", "rss", "fds", "host_cpu")


class Fleet:
    """The hosts and the value of the flipped setting each one has now."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.flipped = dict.fromkeys(names, False)

    def data(self, names: list[str], flip: bool = False) -> dict[str, dict[str, Any]]:
        return {n: ({SETTING: FLIPPED} if self.flipped[n] != flip else {}) for n in names}

    def run(self, names: list[str], scenario: str, flip: bool = False,
            label: str = "") -> Run:
        deploy = "bench/floor.py" if scenario == "floor" else "deploy.py"
        data = {} if scenario == "floor" else BASE_DATA
        per_host = None if scenario == "floor" else self.data(names, flip)
        run = pyinfra_run(names, data, deploy, scenario, len(names), per_host=per_host,
                          label=label)
        if flip:
            for n in names:
                self.flipped[n] = not self.flipped[n]
        return run


def figures(run: Run) -> dict[str, float]:
    return {"wall": run.wall, "ctl_cpu": run.controller_cpu, "rss": run.max_rss_mb,
            "fds": run.peak_fds, "host_cpu": run.host_cpu,
            "restarts": max(run.per_host("restarts"), default=0),
            "commands": max(run.per_host("commands"), default=0)}


def size_round(fleet: Fleet, names: list[str]) -> dict[str, dict[str, float]]:
    identity = host_identity(names)
    out = {"floor": figures(fleet.run(names, "floor"))}
    out["no-change"] = figures(fleet.run(names, "no-change"))
    change = fleet.run(names, "change", flip=True)
    out["change"] = figures(change)
    if out["no-change"]["restarts"] or change.pid_changed != len(names):
        raise RuntimeError(f"{len(names)} hosts: no-change restarted something, or change "
                           f"did not restart every host ({change.pid_changed}/{len(names)})")
    same_hosts(names, identity)
    return out


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def summarize(rounds: dict[int, list[dict[str, dict[str, float]]]]) -> dict[str, Any]:
    """Per size and scenario: every metric's min/median/max, whole and per host."""
    out: dict[str, Any] = {}
    for size, per_round in sorted(rounds.items()):
        out[str(size)] = {}
        for scenario in ("floor", "no-change", "change"):
            rows = [r[scenario] for r in per_round]
            entry = {m: spread([r[m] for r in rows]) for m in METRICS}
            entry["per_host"] = {m: spread([r[m] / size for r in rows])
                                 for m in ("ctl_cpu", "rss", "fds")}
            entry["per_host"]["host_cpu"] = entry["host_cpu"]  # already a mean per host
            entry["commands"] = max(r["commands"] for r in rows)
            out[str(size)][scenario] = entry
    return out


def marginal(summary: dict[str, Any], scenario: str, metric: str) -> list[tuple[int, int, float]]:
    """(from, to, cost of one more host) between consecutive sizes, on medians: constant when
    the cost is linear in hosts, rising when something grows faster."""
    sizes = sorted(int(s) for s in summary)
    return [(a, b, (summary[str(b)][scenario][metric]["median"]
                    - summary[str(a)][scenario][metric]["median"]) / (b - a))
            for a, b in zip(sizes, sizes[1:], strict=False)]


def f3(s: dict[str, float], scale: float = 1.0, digits: int = 3) -> str:
    return "/".join(f"{s[k] * scale:.{digits}f}" for k in ("min", "median", "max"))


def print_report(summary: dict[str, Any], rounds: int) -> None:
    print(f"\nper host (min/median/max over {rounds} round(s)); ctl = the pyinfra process; "
          "host cpu = mean per host (the hosts share the controller's cores)")
    head = (f"{'hosts':>5} {'scenario':<9} {'wall s':>17} {'ctl cpu ms/host':>17} "
            f"{'peak RSS MB':>17} {'RSS MB/host':>17} {'peak fds':>11} {'host cpu ms/host':>17}")
    print(head + "\n" + "-" * len(head))
    for size, rows in summary.items():
        for scenario, e in rows.items():
            print(f"{size:>5} {scenario:<9} {f3(e['wall'], 1, 2):>17} "
                  f"{f3(e['per_host']['ctl_cpu'], 1000, 1):>17} {f3(e['rss'], 1, 0):>17} "
                  f"{f3(e['per_host']['rss'], 1, 2):>17} {f3(e['fds'], 1, 0):>11} "
                  f"{f3(e['host_cpu'], 1000, 0):>17}")
    sizes = sorted(int(s) for s in summary)
    if len(sizes) > 1:
        print("\nmarginal cost of one more host (medians, between consecutive sizes):")
        for scenario in ("floor", "no-change", "change"):
            cpu = ", ".join(f"{a}->{b} {v * 1000:.1f}" for a, b, v in
                            marginal(summary, scenario, "ctl_cpu"))
            rss = ", ".join(f"{a}->{b} {v:.2f}" for a, b, v in marginal(summary, scenario, "rss"))
            fds = ", ".join(f"{a}->{b} {v:.2f}" for a, b, v in marginal(summary, scenario, "fds"))
            print(f"  {scenario:<9} ctl cpu ms: {cpu}\n  {'':<9} RSS MB: {rss}\n"
                  f"  {'':<9} fds: {fds}")
        small, large = str(sizes[0]), str(sizes[-1])
        print("\ntargets (per host at the largest size against the smallest, medians):")
        for scenario in ("no-change", "change"):
            for metric, what in (("ctl_cpu", "controller CPU"), ("rss", "controller memory")):
                a = summary[small][scenario]["per_host"][metric]["median"]
                b = summary[large][scenario]["per_host"][metric]["median"]
                print(f"  {'ok' if b <= 1.25 * a else 'MISSED'} {scenario} {what} per host: "
                      f"{large} hosts {b / a:.2f}x {small} hosts (<= 1.25x)")


def markdown(summary: dict[str, Any]) -> str:
    """The per-host table as docs/benchmarks.md shows it (min/median/max)."""
    lines = ["| hosts | run | wall s | ctl CPU ms/host | peak RSS MB | RSS MB/host | peak fds "
             "| host CPU ms/host |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, rows in summary.items():
        for scenario, e in rows.items():
            lines.append(f"| {size} | {scenario} | {f3(e['wall'], 1, 2)} | "
                         f"{f3(e['per_host']['ctl_cpu'], 1000, 1)} | {f3(e['rss'], 1, 0)} | "
                         f"{f3(e['per_host']['rss'], 1, 2)} | {f3(e['fds'], 1, 0)} | "
                         f"{f3(e['host_cpu'], 1000, 0)} |")
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path, info: dict[str, str]) -> None:
    import matplotlib  # noqa: PLC0415 - only needed for --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    sizes = sorted(int(s) for s in summary)
    panels = (("ctl_cpu", 1000, "controller CPU, ms per host"),
              ("rss", 1, "controller peak RSS, MB per host"),
              ("host_cpu", 1000, "host CPU, ms per host"))
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    for ax, (metric, scale, title) in zip(axes, panels, strict=False):
        for scenario, style in (("floor", "o:"), ("no-change", "s-"), ("change", "^-")):
            med, lo, hi = [], [], []
            for s in sizes:
                e = summary[str(s)][scenario]["per_host"][metric]
                med.append(e["median"] * scale)
                lo.append((e["median"] - e["min"]) * scale)
                hi.append((e["max"] - e["median"]) * scale)
            ax.errorbar(sizes, med, yerr=[lo, hi], fmt=style, capsize=3, label=scenario)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("hosts in the run")
        ax.set_xticks(sizes)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    ax = axes[3]  # the slope: flat when the cost is linear in hosts
    for scenario, style in (("floor", "o:"), ("no-change", "s-"), ("change", "^-")):
        steps = marginal(summary, scenario, "ctl_cpu")
        ax.plot([f"{a}-{b}" for a, b, _ in steps], [v * 1000 for _, _, v in steps], style,
                label=scenario)
    ax.set_title("controller CPU per added host, ms (slope)", fontsize=10)
    ax.set_xlabel("between sizes")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"ollama-fleet, one controller ({info['nproc']} cores, hosts on the same "
                 "machine): median, bars min..max", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"plot written to {path}")


# --- shards --------------------------------------------------------------------------------

def shard_compare(fleet: Fleet, names: list[str], shards: int) -> dict[str, Any]:
    """The same hosts as one run and as `shards` runs at once, no-change then change each."""
    parts = [names[i::shards] for i in range(shards)]  # even spread, each its own rollout
    out: dict[str, Any] = {"hosts": len(names), "shards": shards}
    for scenario, flip in (("no-change", False), ("change", True)):
        one = fleet.run(names, scenario, flip, label=f"whole-{scenario}")
        with ThreadPoolExecutor(max_workers=shards) as pool:
            runs = list(pool.map(
                lambda i, scenario=scenario, flip=flip: fleet.run(
                    parts[i], scenario, flip, label=f"shard{i}-{scenario}"),
                range(shards)))
        out[scenario] = {"one_run": one.record["end"], "one_cpu": one.controller_cpu,
                         "one_rss": one.max_rss_mb,
                         # First shard's start to last shard's exit, from the probes' clocks
                         # (each run's host snapshots before and after are not in it).
                         "sharded": max(r.record["start"] + r.record["end"] for r in runs)
                         - min(r.record["start"] for r in runs),
                         "shard_walls": [r.wall for r in runs],
                         "shard_cpu": sum(r.controller_cpu for r in runs),
                         "shard_rss": [r.max_rss_mb for r in runs]}
    return out


# --- a release of real size ------------------------------------------------------------------

def archive_requests(since: int, archive: str) -> dict[str, int]:
    """GET requests for the archive in the artifact server's log after byte offset `since`,
    by client address."""
    per_client: dict[str, int] = {}
    with ARTIFACT_LOG.open("rb") as f:
        f.seek(since)
        for line in f.read().decode(errors="replace").splitlines():
            m = re.match(r"\S+ (\S+) \"GET (\S+) HTTP/[\d.]+\" (\d+)", line)
            if m and m.group(2).endswith("/" + archive) and m.group(3) in ("200", "206"):
                per_client[m.group(1)] = per_client.get(m.group(1), 0) + 1
    return per_client


def release_bench(names: list[str], runs: int, reuse_hosts: bool = False) -> dict[str, Any]:
    archive = "ollama-linux-amd64.tgz"  # what a 0.13 release on amd64 downloads
    path = release_dir(PADDED_RELEASE) / archive
    if not path.exists():
        raise SystemExit(f"{path} is missing: run lab/seed_artifacts.py --padded-mb N first")
    size = path.stat().st_size
    url = FILES_URL.replace(VERSION, PADDED_RELEASE) + "/" + archive
    data = {**BASE_DATA, "ollama_version": PADDED_RELEASE}
    addresses = {h["address"]: n for n, h in lab_hosts().items() if n in names}
    rounds = []
    for i in range(runs):
        (wipe if reuse_hosts else renew)(names)
        settle()
        identity = host_identity(names)
        log_at, tx_at = ARTIFACT_LOG.stat().st_size, int(BRIDGE_TX.read_text())
        run = pyinfra_run(names, data, "deploy.py", "fresh-padded", len(names),
                          label=f"padded-{i}")
        tx = int(BRIDGE_TX.read_text()) - tx_at
        gets = archive_requests(log_at, archive)
        uploads = run.per_host("bytes")
        pyinfra_run(names, data, "deploy.py", "no-change-padded", len(names),
                               label=f"padded-nc-{i}")
        later = archive_requests(log_at, archive)
        ref = fresh_reference(names, url)
        unpack = parallel(names, lambda n: float(sh(n, UNPACK.format(url=url)).split()[-1]),
                          workers=64)
        same_hosts(names, identity)
        rounds.append({
            "fresh": run.wall, "reference": ref.wall, "download": ref.download,
            "start": ref.start, "ratio": run.wall / ref.wall,
            "verify_unpack": statistics.mean(unpack.values()),
            "archive_gets": {addresses.get(a, a): c for a, c in gets.items()},
            "max_gets_per_host": max(gets.values(), default=0),
            "hosts_fetched": len(gets),
            "gets_after_no_change": sum(later.values()) - sum(gets.values()),
            "mirror_bytes_per_host": sum(gets.values()) * size / len(names),
            "bridge_tx_per_host": tx / len(names),
            "controller_upload_per_host": max(uploads),
            "ctl_cpu": run.controller_cpu, "rss": run.max_rss_mb,
        })
        print(f"  padded release round {i + 1}: fresh {run.wall:.1f}s, reference "
              f"{ref.wall:.1f}s, {fmt_bytes(rounds[-1]['mirror_bytes_per_host'])} from the "
              f"mirror and {fmt_bytes(max(uploads))} from the controller per host", flush=True)
    return {"hosts": len(names), "archive_bytes": size, "rounds": rounds}


def print_release(rel: dict[str, Any]) -> None:
    rs = rel["rounds"]

    def sp(key: str, digits: int = 2) -> str:
        return f3(spread([r[key] for r in rs]), 1, digits)

    print(f"\nrelease of real size: {fmt_bytes(rel['archive_bytes'])} archive, {rel['hosts']} "
          f"hosts, {len(rs)} round(s), min/median/max")
    print(f"  fresh converge {sp('fresh')} s; reference (download + start) {sp('reference')} s;"
          f" ratio {sp('ratio')}")
    print(f"  download per host {sp('download')} s, start {sp('start')} s; verify + unpack "
          f"per host (all hosts at once, not in the reference) {sp('verify_unpack')} s")
    print(f"  mirror: {max(r['max_gets_per_host'] for r in rs)} archive GET per host at most, "
          f"{min(r['hosts_fetched'] for r in rs)} of {rel['hosts']} hosts fetched, "
          f"{max(r['gets_after_no_change'] for r in rs)} GET on the no-change run; "
          f"{fmt_bytes(statistics.median(r['mirror_bytes_per_host'] for r in rs))} per host "
          f"(bridge counter, SSH included: "
          f"{fmt_bytes(statistics.median(r['bridge_tx_per_host'] for r in rs))})")
    print(f"  controller uploads per host: "
          f"{fmt_bytes(max(r['controller_upload_per_host'] for r in rs))} at most")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,50,100,200", help="host counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per size")
    parser.add_argument("--first-host", type=int, default=11,
                        help="first lab host index (lab01..lab10 belong to the tests)")
    parser.add_argument("--shards", type=int, default=0,
                        help="also run the largest size as this many shards at once")
    parser.add_argument("--release-mb", type=int, default=0,
                        help="also measure the padded release (see lab/seed_artifacts.py)")
    parser.add_argument("--release-hosts", type=int, default=10)
    parser.add_argument("--release-rounds", type=int, default=2)
    parser.add_argument("--plot", type=Path, help="write the per-host plot (PNG) here")
    parser.add_argument("--json", type=Path, help="also write all figures here")
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--reuse-hosts", action="store_true",
                        help="fresh converges on the hosts as they are (or wiped) instead of "
                             "freshly booted ones")
    parser.add_argument("--report", type=Path, metavar="JSON",
                        help="measure nothing: print and plot what an earlier --json holds")
    args = parser.parse_args()
    if args.report:
        saved = json.loads(args.report.read_text())
        print_report(saved["sizes"], 0)
        print("\n" + markdown(saved["sizes"]))
        if args.plot:
            plot(saved["sizes"], args.plot, saved["machine"])
        return 0
    if args.first_host <= 10:
        parser.error("--first-host must be 11 or more: lab01..lab10 are used by the tests")

    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, load {info['load']}")
    began = time.time()
    names = host_names(args.first_host, max(sizes))
    ensure_hosts(names)
    fleet = Fleet(names)
    result: dict[str, Any] = {"machine": info}

    def save() -> None:
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))

    if not args.reuse_hosts:
        renew(names)  # the converge below is a fresh one on freshly booted hosts
        settle()
    with only_these_running(names):
        converge = fleet.run(names, "converge")
    result["converge"] = {"hosts": len(names), "wall": converge.wall,
                          "ctl_cpu": converge.controller_cpu, "rss": converge.max_rss_mb,
                          "fds": converge.peak_fds}
    print(f"  converged {len(names)} hosts in {converge.wall:.1f}s "
          f"[{time.time() - began:.0f}s elapsed]", flush=True)

    rounds: dict[int, list[dict[str, dict[str, float]]]] = {}
    for index in range(args.rounds):
        for size in sizes:
            part = names[:size]
            settle()
            with only_these_running(part):
                out = retried(f"round {index + 1}, {size} hosts", args.attempts,
                              lambda part=part: size_round(fleet, part))
            rounds.setdefault(size, []).append(out)
            result["sizes"] = summarize(rounds)
            save()
            print(f"  round {index + 1}/{args.rounds}, {size:>3} hosts: " + ", ".join(
                f"{s} {r['wall']:.1f}s cpu {r['ctl_cpu']:.1f}s rss {r['rss']:.0f}MB "
                f"fds {r['fds']:.0f}" for s, r in out.items())
                + f"  [{time.time() - began:.0f}s elapsed]", flush=True)
    summary = summarize(rounds)
    result["sizes"] = summary
    print_report(summary, args.rounds)
    print("\n" + markdown(summary))
    if args.plot:
        plot(summary, args.plot, info)

    if args.shards > 1:
        settle()
        with only_these_running(names):
            shards = shard_compare(fleet, names, args.shards)
        result["shards"] = shards
        save()
        print(f"\n{len(names)} hosts as one run against {args.shards} shards at once:")
        for scenario in ("no-change", "change"):
            s = shards[scenario]
            print(f"  {scenario:<9} one run {s['one_run']:.1f}s (ctl cpu {s['one_cpu']:.1f}s, "
                  f"RSS {s['one_rss']:.0f} MB); shards {s['sharded']:.1f}s (each "
                  + ", ".join(f"{w:.1f}s" for w in s["shard_walls"])
                  + f"; ctl cpu {s['shard_cpu']:.1f}s, RSS "
                  + ", ".join(f"{r:.0f}" for r in s["shard_rss"]) + " MB)")

    if args.release_mb:
        rel_names = names[:args.release_hosts]
        settle()
        with only_these_running(rel_names):
            result["release"] = release_bench(rel_names, args.release_rounds, args.reuse_hosts)
        save()
        print_release(result["release"])
    info["load_end"] = Path("/proc/loadavg").read_text().strip()
    save()
    print(f"\ntotal {time.time() - began:.0f}s; load at end {info['load_end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
