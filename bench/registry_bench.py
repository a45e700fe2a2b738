"""Registry benchmark: models fetched by the hosts from an OCI registry, against seeding them
from the controller.

    .venv/bin/python bench/registry_bench.py [--sizes 10,20] [--rounds 3] [--model-mb 200]

Starts Debian's `docker-registry` (CNCF Distribution) on the lab bridge with TLS from a CA of
its own and htpasswd basic auth (the same setup as tests/e2e/test_registry.py), pushes a
deterministic --model-mb model from a controller store into it once with `ollama-fleet
push-model`, then for every size N (hosts lab11.. by default; every other lab host frozen, the
machine idle first), each round:

  prepare   converge the hosts to the lab's base data and remove the model (untimed)
  registry  deploy with ollama_model_registry: each host fetches the blobs it lacks itself
  seed      remove the model again, deploy with ollama_model_source: the controller uploads it

Reported per size, min/median/max over rounds: wall time, registry egress per host (the
registry's access log: GET bodies with status 200 sent to that host), blob GETs per host, bytes
the controller uploaded per host (the probe), and controller CPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleet_bench import (  # noqa: E402
    BASE_DATA,
    Run,
    bench_model,
    fmt_bytes,
    host_identity,
    machine,
    pyinfra_run,
    remove_model,
    same_hosts,
    spread,
)
from labhosts import (  # noqa: E402
    ensure_hosts,
    host_names,
    lab_hosts,
    only_these_running,
    settle,
)

from tests.e2e.test_registry import Registry, push  # noqa: E402 - the tests' registry setup


def egress(registry: Registry, since: int, addresses: dict[str, str]) -> dict[str, Counter[str]]:
    """Per host: bytes of 200 GET bodies and blob GETs, from the access log after `since`."""
    out = {name: Counter() for name in addresses.values()}
    for client, method, path, status, size in registry.requests()[since:]:
        name = addresses.get(client)
        if name and method == "GET" and status == 200:
            out[name]["bytes"] += size
            out[name]["blob_gets"] += "/blobs/" in path
    return out


def size_round(names: list[str], registry: Registry, store: Path, model_name: str,
               remove: Callable[[], None]) -> dict[str, float]:
    ensure_hosts(names)
    identity = host_identity(names)
    addresses = {lab_hosts()[n]["address"]: n for n in names}
    models = [*BASE_DATA["ollama_models"], model_name]
    pyinfra_run(names, BASE_DATA, "deploy.py", "registry-prepare", len(names))
    remove()
    since = len(registry.requests())
    fetch: Run = pyinfra_run(names, {**BASE_DATA, **registry.settings(), "ollama_models": models},
                             "deploy.py", "registry", len(names))
    per_host = egress(registry, since, addresses)
    again = len(registry.requests())
    pyinfra_run(names, {**BASE_DATA, **registry.settings(), "ollama_models": models},
                "deploy.py", "registry-no-change", len(names))
    blob_gets_again = sum(1 for r in registry.requests()[again:] if "/blobs/" in r[2])
    remove()
    seed: Run = pyinfra_run(names, {**BASE_DATA, "ollama_model_source": str(store),
                                    "ollama_models": models}, "deploy.py", "seed", len(names))
    same_hosts(names, identity)
    return {
        "registry_wall": fetch.wall, "registry_ctl_cpu": fetch.controller_cpu,
        "registry_egress_per_host": max(c["bytes"] for c in per_host.values()),
        "registry_egress_min_host": min(c["bytes"] for c in per_host.values()),
        "blob_gets_per_host": max(c["blob_gets"] for c in per_host.values()),
        "registry_upload_per_host": max(fetch.per_host("bytes")),
        "blob_gets_no_change": blob_gets_again,
        "seed_wall": seed.wall, "seed_ctl_cpu": seed.controller_cpu,
        "seed_upload_per_host": max(seed.per_host("bytes")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,20", help="host counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-mb", type=int, default=200)
    parser.add_argument("--first-host", type=int, default=11)
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    info = machine()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}; "
          f"{info['date']}", flush=True)
    store, model = bench_model(args.model_mb)
    model_bytes = sum(b.size for b in model.blobs)
    results: dict[int, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="ollama-fleet-registry-") as tmp:
        registry = Registry(Path(tmp))
        registry.make_files()
        registry.start()
        try:
            pushed = push(registry, store, model.name)
            if pushed.returncode != 0:
                raise SystemExit(f"push-model failed:\n{pushed.stdout}{pushed.stderr}")
            ensure_hosts(host_names(args.first_host, max(sizes)))
            for index in range(args.rounds):
                for size in sizes:
                    names = host_names(args.first_host, size)
                    settle()
                    with only_these_running(names):
                        out = size_round(names, registry, store, model.name,
                                         lambda names=names: remove_model(names, model))
                    results.setdefault(size, []).append(out)
                    per_host = fmt_bytes(out["registry_egress_per_host"])
                    print(f"  round {index + 1}/{args.rounds}, {size} hosts: registry "
                          f"{out['registry_wall']:.1f}s ({per_host} per host), "
                          f"seed {out['seed_wall']:.1f}s", flush=True)
        finally:
            registry.stop()
            remove_model(host_names(args.first_host, max(sizes)), model)

    print(f"\nmodel {model.name}: {fmt_bytes(model_bytes)} in {len(model.blobs)} blobs; "
          f"min/median/max over {args.rounds} rounds\n")
    print("| hosts | path | wall s | ctl CPU s | registry egress per host | blob GETs per host "
          "| uploaded by the controller per host |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for size, rounds in results.items():
        def col(key: str, rounds: list[dict[str, float]] = rounds) -> list[float]:
            return [r[key] for r in rounds]
        print(f"| {size} | registry | {spread(col('registry_wall'))} "
              f"| {spread(col('registry_ctl_cpu'))} "
              f"| {fmt_bytes(min(col('registry_egress_min_host')))} to "
              f"{fmt_bytes(max(col('registry_egress_per_host')))} "
              f"| {max(col('blob_gets_per_host')):.0f} "
              f"| {fmt_bytes(max(col('registry_upload_per_host')))} |")
        print(f"| {size} | seed from the controller | {spread(col('seed_wall'))} "
              f"| {spread(col('seed_ctl_cpu'))} | 0 B | 0 "
              f"| {fmt_bytes(max(col('seed_upload_per_host')))} |")
    again = max(r["blob_gets_no_change"] for rounds in results.values() for r in rounds)
    print(f"\nblob GETs on the no-change run after each fetch: {again:.0f}")
    print(f"total registry egress at {max(sizes)} hosts: about "
          f"{fmt_bytes(max(sizes) * model_bytes)} (one copy per host)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
