"""The Linux state fact is one command built from each feature's probe; each probe parses only
its own lines, and a new feature's probe plugs in without touching the others."""

from __future__ import annotations

import pytest
from ollama_fleet.linux import facts
from ollama_fleet.linux.facts import LinuxOllamaState, parse_state, registered_probes
from ollama_fleet.linux.probe import Probe, Shared
from ollama_fleet.render import TEMPLATES

ARGS = {"user": "ollama", "group": "ollama", "install_dir": "/opt/ollama",
        "unit": "ollama.service", "files": (("unit", "/etc/systemd/system/ollama.service"),),
        "state_dir": "/var/lib/ollama-fleet", "models_dir": "/usr/share/ollama/.ollama/models",
        "api_url": "http://127.0.0.1:11434"}


def test_every_probe_owns_distinct_keys_and_sections() -> None:
    probes = registered_probes()
    names = [p.name for p in probes]
    assert len(names) == len(set(names))
    owned = [k for p in probes for k in (*p.keys, *p.sections)]
    assert len(owned) == len(set(owned)), "two probes claim the same output line"
    frame = {"arch", "systemd", "tool", "filekey", "seckey", "hash", "units"}
    assert not frame & set(owned), "a probe claims one of the frame's own lines"
    for probe in probes:
        assert TEMPLATES.joinpath(*probe.template.split("/")).is_file(), probe.template


def test_the_fact_is_one_script_with_every_fragment() -> None:
    script = LinuxOllamaState().command(**ARGS)
    for probe in registered_probes():
        first = TEMPLATES.joinpath(*probe.template.split("/")).read_text().split("-#}\n", 1)[1]
        assert first.splitlines()[0].split("{{")[0] in script, probe.name
    assert script.count("systemctl show") == 1 and script.count("sha256sum --") == 1


def test_lines_reach_their_owners() -> None:
    state = parse_state([
        "arch\tx86_64", "systemd\tyes", "tool\tnft", "tool\tnginx",
        "version_dir\t0.13.5 complete", "current\t0.13.5",
        "service_unit\tollama.service", "applied\tabc", "api\t{\"version\": \"0.13.5\"}",
        "fw_table\tpresent", "fw_live\tlive", "fw_live_applied\tlive", "salt\tann s4lt",
        "@passwd", "ollama:x:999:999::/usr/share/ollama:/bin/false", "@groups", "ollama:x:999:",
        "render:x:105:", "@end", "@manifests", "d1  ./registry.ollama.ai/library/q/7b", "@end",
        "@records", "q:7b d2", "@end", "blob\tsha256-aa 12",
        "@units", "Id=ollama.service", "ActiveState=active", "UnitFileState=enabled", "",
        "Id=ollama-fleet-firewall.service", "ActiveState=active", "UnitFileState=enabled", "",
        "Id=nginx.service", "ActiveState=active", "UnitFileState=disabled", "@end",
    ])
    assert state.versions == {"0.13.5": True} and state.current == "0.13.5"
    assert state.api_version == "0.13.5" and state.applied == "abc"
    assert (state.active, state.enabled) == ("active", "enabled")
    assert state.user and state.user["home"] == "/usr/share/ollama"
    assert state.group_exists and state.extra_groups == {"render"}
    assert state.manifests == {"registry.ollama.ai/library/q/7b": "d1"}
    assert state.records == {"q:7b": "d2"} and state.blobs == {"sha256-aa": 12}
    assert state.security == {
        "fw_table": "present", "fw_live": "live", "fw_live_applied": "live",
        "salt:ann": "s4lt", "fw_enabled": "enabled", "nginx_active": "active",
        "nginx_enabled": "disabled"}


def test_a_new_feature_adds_a_probe_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(state, key, line):  # noqa: ANN001, ANN202
        state.found.setdefault("sensors", []).append(line)

    def finish(state, shared: Shared):  # noqa: ANN001, ANN202
        state.found["sensor_units"] = sorted(shared.units)

    sensors = Probe("sensors", "linux/probe_release.sh.j2", sections=("sensors",), parse=parse,
                    finish=finish)
    existing = registered_probes()
    monkeypatch.setattr(facts, "registered_probes", lambda: (*existing, sensors))
    state = parse_state(["current\t0.13.5", "@sensors", "GPU 0", "GPU 1", "@end",
                         "@units", "Id=ollama.service", "@end"])
    assert state.found["sensors"] == ["GPU 0", "GPU 1"] and state.current == "0.13.5"
    assert state.found["sensor_units"] == ["ollama.service"]
