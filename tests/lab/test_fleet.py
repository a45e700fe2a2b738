"""The lab fleet itself: real systemd hosts, reachable by SSH, isolated, breakable.

The last test takes the lab down and brings it back, so keep it last.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.lab.conftest import LabCli

pytestmark = pytest.mark.lab

LAB_RUNTIME = Path("/var/lib/ollama-fleet-lab")

SSH_BANNER_PROBE = (
    "python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1], 22), 2);"
    " print(s.recv(64).decode().strip())' {address}"
)


def test_state_file_describes_the_lab(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    assert lab_fleet["bridge"] == "olfbr0"
    assert lab_fleet["gateway"] == "10.231.0.1"
    assert lab_fleet["proxy"] == "http://10.231.0.1:8888"
    assert [h["name"] for h in lab_fleet["hosts"]] == [
        f"lab{i:02d}" for i in range(1, lab_cli.hosts + 1)
    ]
    for i, host in enumerate(lab_fleet["hosts"], start=1):
        assert host["address"] == f"10.231.0.{10 + i}"
        assert host["ssh_user"] == "root"
        assert Path(host["ssh_key"]).is_absolute() and Path(host["ssh_key"]).exists()
        assert host["leader_pid"] and Path(f"/proc/{host['leader_pid']}").exists()


def _image_units(image: str) -> set[str]:
    units: set[str] = set()
    for unit_dir in ("lib/systemd/system", "usr/lib/systemd/system", "etc/systemd/system"):
        path = Path(image) / unit_dir
        if path.is_dir():
            units.update(entry.name for entry in path.iterdir())
    return units


def test_hosts_are_distinct_systemd_machines(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    image_units = _image_units(lab_fleet["image"])
    machine_ids = set()
    for host in lab_fleet["hosts"]:
        result = lab_cli.ssh(
            host["name"],
            "hostname; cat /etc/machine-id; ip -4 -o addr show host0;"
            " systemctl is-system-running --wait;"
            " systemctl list-units --failed --no-legend --plain | cut -d' ' -f1",
        )
        hostname, machine_id, address, system_state, *failed = result.stdout.splitlines()
        assert hostname == host["name"]
        machine_ids.add(machine_id)
        assert f"inet {host['address']}/24" in address
        assert system_state in ("running", "degraded"), result.stdout
        # Nothing the image brings may fail (it masks what breaks in containers);
        # units that deploys on this shared lab added are not the lab's business.
        assert not set(failed) & image_units, result.stdout
    assert len(machine_ids) == len(lab_fleet["hosts"])


def test_hosts_reach_each_other(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    first, second = lab_fleet["hosts"][:2]
    result = lab_cli.ssh(first["name"], SSH_BANNER_PROBE.format(address=second["address"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SSH-2.0-OpenSSH")


def test_hosts_cannot_reach_outside(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    # Checked without sending anything out: the only route leads to the
    # controller, and the controller does not route the bridge anywhere.
    first = lab_fleet["hosts"][0]["name"]
    routes = [r.strip() for r in lab_cli.ssh(first, "ip -4 route show default").stdout.splitlines()]
    assert routes == ["default via 10.231.0.1 dev host0 proto static"]
    forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    guard = subprocess.run(
        ["nft", "list", "table", "inet", "ollama_fleet_lab"], capture_output=True, text=True
    )
    assert forwarding == "0" or 'iifname "olfbr0" oifname != "olfbr0" drop' in guard.stdout


def test_proxy_serves_debian_and_nothing_else(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    host = lab_fleet["hosts"][0]
    # The proxy's allow list refuses other sites before connecting anywhere.
    curl = "curl -s -o /dev/null -w '%{http_code}' -x http://10.231.0.1:8888"
    refused = lab_cli.ssh(host["name"], f"{curl} http://lab.invalid/")
    assert refused.stdout == "403"
    update = lab_cli.ssh(host["name"], "apt-get update -q", timeout=300)
    assert update.returncode == 0, update.stdout + update.stderr
    assert "deb.debian.org" in update.stdout


def test_stop_and_start_keep_the_disk(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    host = lab_fleet["hosts"][-1]
    assert lab_cli.ssh(host["name"], "echo kept > /root/marker").returncode == 0
    assert lab_cli.run("stop", host["name"]).returncode == 0
    assert lab_cli.ssh(host["name"], "true", timeout=30).returncode != 0
    assert lab_cli.run("status").returncode != 0
    assert lab_cli.run("start", host["name"]).returncode == 0
    assert lab_cli.ssh(host["name"], "cat /root/marker").stdout.strip() == "kept"
    assert lab_cli.run("status").returncode == 0
    restarted = next(h for h in lab_cli.state()["hosts"] if h["name"] == host["name"])
    assert restarted["address"] == host["address"]
    assert restarted["leader_pid"] != host["leader_pid"]


def test_stop_does_not_wait_for_processes_ignoring_sigterm(
    lab_fleet: dict[str, Any], lab_cli: LabCli
) -> None:
    # Deploy scripts trap TERM; systemd would wait 90 s for them at poweroff.
    host = lab_fleet["hosts"][-1]["name"]
    stubborn = "setsid sh -c \"trap '' TERM; exec sleep 600\" >/dev/null 2>&1 </dev/null &"
    assert lab_cli.ssh(host, stubborn).returncode == 0
    started = time.monotonic()
    assert lab_cli.run("stop", host).returncode == 0
    elapsed = time.monotonic() - started
    assert lab_cli.run("start", host).returncode == 0
    assert elapsed < 15, f"stop took {elapsed:.1f}s"


def _cpu_usec(name: str) -> int:
    v2 = next(line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
              if line.split()[2] == "cgroup2")
    stat = Path(f"{v2}/ollama-fleet-lab/{name}/cpu.stat").read_text()
    return int(dict(line.split() for line in stat.splitlines())["usage_usec"])


def test_freeze_stops_every_process_until_thaw(
    lab_fleet: dict[str, Any], lab_cli: LabCli
) -> None:
    host = lab_fleet["hosts"][-1]["name"]
    assert lab_cli.ssh(host, "echo kept > /root/frozen-marker").returncode == 0
    assert lab_cli.run("freeze", host).returncode == 0
    try:
        assert "frozen" in lab_cli.run("status").stdout
        before = _cpu_usec(host)
        time.sleep(1.5)
        assert _cpu_usec(host) == before  # not one microsecond: timers and journald stopped too
        assert lab_cli.ssh(host, "true", timeout=5).returncode != 0
    except subprocess.TimeoutExpired:
        pass  # ssh waiting on a frozen sshd is the expected outcome too
    finally:
        assert lab_cli.run("thaw").returncode == 0
    assert lab_cli.ssh(host, "cat /root/frozen-marker").stdout.strip() == "kept"
    assert "frozen" not in lab_cli.run("status").stdout


def test_renew_gives_a_fresh_host_with_the_same_name(
    lab_fleet: dict[str, Any], lab_cli: LabCli
) -> None:
    host = lab_fleet["hosts"][-1]
    old_id = lab_cli.ssh(host["name"], "echo old > /root/marker; cat /etc/machine-id").stdout
    result = lab_cli.run("renew", host["name"])
    assert result.returncode == 0, result.stderr
    again = lab_cli.ssh(host["name"], "cat /etc/machine-id; ls /root/marker 2>&1; hostname")
    new_id, marker, name = again.stdout.splitlines()
    assert new_id.strip() and new_id != old_id.strip()
    assert "No such file" in marker
    assert name == host["name"]
    renewed = next(h for h in lab_cli.state()["hosts"] if h["name"] == host["name"])
    assert renewed["address"] == host["address"]


def test_cut_and_restore_network(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    first, second = lab_fleet["hosts"][:2]
    probe = SSH_BANNER_PROBE.format(address=second["address"])
    assert lab_cli.run("cut", second["name"]).returncode == 0
    try:
        assert lab_cli.ssh(first["name"], probe).returncode != 0
        status = lab_cli.run("status")
        assert status.returncode != 0 and "cut" in status.stdout
    finally:
        assert lab_cli.run("restore", second["name"]).returncode == 0
    assert lab_cli.ssh(first["name"], probe).returncode == 0


def test_small_disk_fills_up(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    host = lab_fleet["hosts"][0]
    result = lab_cli.run("small-disk", host["name"], "/srv/small", "1M")
    assert result.returncode == 0, result.stderr
    fill = lab_cli.ssh(
        host["name"],
        'python3 -c \'open("/srv/small/blob", "wb").write(bytes(2 << 20))\' 2>&1',
    )
    assert "No space left on device" in fill.stdout
    assert lab_cli.ssh(host["name"], "umount /srv/small").returncode == 0


def test_bad_requests_fail_clearly(lab_fleet: dict[str, Any], lab_cli: LabCli) -> None:
    unknown = lab_cli.run("stop", "lab99")
    assert unknown.returncode != 0 and "no host 'lab99'" in unknown.stderr
    relative = lab_cli.run("small-disk", "lab01", "srv", "1M")
    assert relative.returncode != 0 and "absolute" in relative.stderr


INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "lab.py"


def _load_inventory(path: Path, monkeypatch: pytest.MonkeyPatch, hosts: str = "") -> dict:
    """Execute an inventory file the way pyinfra does: a module with __file__ set."""
    monkeypatch.setenv("OLLAMA_FLEET_LAB_HOSTS", hosts)
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def test_inventory_lists_the_lab(
    lab_fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = _load_inventory(INVENTORY, monkeypatch)
    names = [name for name, _ in inventory["lab"]]
    assert names == [h["name"] for h in lab_fleet["hosts"]]
    data = dict(inventory["lab"])["lab01"]
    assert data["ssh_hostname"] == "10.231.0.11"
    assert data["ssh_user"] == "root"
    assert data["ssh_key"] == lab_fleet["ssh_key"]
    only = _load_inventory(INVENTORY, monkeypatch, hosts="lab03,lab01")
    assert [name for name, _ in only["lab"]] == ["lab01", "lab03"]
    with pytest.raises(Exception, match="unknown lab hosts"):
        _load_inventory(INVENTORY, monkeypatch, hosts="lab77")


def test_inventory_says_when_the_lab_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "inventory" / "lab.py"
    copy.parent.mkdir()
    copy.write_text(INVENTORY.read_text())
    with pytest.raises(Exception, match="run lab/fleet up"):
        _load_inventory(copy, monkeypatch)


def test_pyinfra_reaches_every_host(lab_fleet: dict[str, Any]) -> None:
    pyinfra = Path(sys.executable).parent / "pyinfra"
    result = subprocess.run(
        [str(pyinfra), "-y", str(INVENTORY), "exec", "--", "cat /etc/hostname"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    output = result.stdout + result.stderr  # pyinfra logs host output to stderr
    assert result.returncode == 0, output
    for host in lab_fleet["hosts"]:
        assert f"[{host['name']}] {host['name']}" in output


def _lab_mounts() -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line for line in lines if str(LAB_RUNTIME) in line]


def _nspawn_processes() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True)
    return [
        line
        for line in ps.stdout.splitlines()
        if "systemd-nspawn" in line and str(LAB_RUNTIME) in line and not line.startswith("Z")
    ]


def test_down_leaves_nothing_behind_then_up_again(
    lab_fleet: dict[str, Any], lab_cli: LabCli
) -> None:
    result = lab_cli.run("down")
    assert result.returncode == 0, result.stderr
    assert not lab_cli.state_file.exists()
    assert _lab_mounts() == []
    assert _nspawn_processes() == []
    assert not LAB_RUNTIME.exists()
    link = subprocess.run(["ip", "link", "show", "olfbr0"], capture_output=True)
    assert link.returncode != 0
    listeners = subprocess.run(["ss", "-Hltn", "src", "10.231.0.1"], capture_output=True, text=True)
    assert listeners.stdout.strip() == ""
    assert lab_cli.run("down").returncode == 0, "down must be safe when nothing is up"
    assert lab_cli.run("status").returncode != 0
    # Leave the lab up for the test modules that follow.
    state = lab_cli.up()
    assert len(state["hosts"]) == lab_cli.hosts
    assert lab_cli.run("status").returncode == 0
