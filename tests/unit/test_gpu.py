"""GPU hosts: the probe fragment and its parser, the archive set per host and release, driver
warnings (errors under strict), the one-command converged run, and status's compute check."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from ollama_fleet.linux import gpu
from ollama_fleet.linux.facts import parse_state
from ollama_fleet.linux.gpu import GpuFacts, PciGpu, parse_compute
from ollama_fleet.linux.layout import Layout
from ollama_fleet.linux.release import release_sources
from ollama_fleet.model_plan import plan_models
from ollama_fleet.render import render

from tests.unit.test_linux_plan import FACT_MARKER, converged_fact, make, run

NVIDIA = PciGpu("0000:65:00.0", "nvidia", "2204")
AMD = PciGpu("0000:03:00.0", "amd", "73bf")
NVIDIA_LINE = ('time=2025-07-01T19:36:13.315Z level=INFO source=types.go:42 msg="inference '
               'compute" id=GPU-d6de3398 filter_id="" library=CUDA compute=8.6 name=CUDA0 '
               'description="NVIDIA GeForce RTX 3090" libdirs=ollama,cuda_v12 driver=12.4 '
               'pci_id=0000:65:00.0 type=discrete total="24.0 GiB" available="23.5 GiB"')
OLD_ROCM_LINE = ('time=2025-07-01T19:36:13.315Z level=INFO source=types.go:130 msg="inference '
                 'compute" id=GPU-9abb57639fa80c50 library=rocm variant="" compute=gfx1030 '
                 'driver=6.3 name=1002:73bf total="16.0 GiB" available="1.3 GiB"')
CPU_LINE = ('time=2025-07-01T17:59:51.470Z level=INFO source=types.go:60 msg="inference '
            'compute" id=cpu library=cpu compute="" name=cpu description=cpu libdirs=ollama '
            'driver="" pci_id="" type="" total="31.3 GiB" available="30.4 GiB"')


# --- the probe: fragment on a fake tree, parser ------------------------------------------

def fragment(root: Path) -> str:
    """The rendered fragment with its absolute paths moved under root (a test-only rewrite:
    the product reads the real paths)."""
    text = render("linux/probe_gpu.sh.j2", compute=False, unit="ollama.service")
    for path in ("/sys/", "/proc/", "/dev/kfd", "/etc/nv_tegra_release"):
        text = text.replace(path, f"{root}{path}")
    prelude = ("say() { printf '%s\\t%s\\n' \"$1\" \"$2\"; }\n"
               "slurp() { [ -f \"$2\" ] && IFS= read -r line < \"$2\" && say \"$1\" \"$line\"; }\n")
    return prelude + text


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_the_fragment_reports_display_devices_drivers_and_jetson(tmp_path: Path,
                                                                 shell: str) -> None:
    pci = tmp_path / "sys/bus/pci/devices"
    for slot, vendor, device, klass in (("0000:00:00.0", "0x8086", "0x29c0", "0x060000"),
                                        ("0000:65:00.0", "0x10de", "0x2204", "0x030000"),
                                        ("0000:65:00.1", "0x10de", "0x1aef", "0x040300"),
                                        ("0000:03:00.0", "0x1002", "0x73bf", "0x038000")):
        for name, value in (("vendor", vendor), ("device", device), ("class", klass)):
            write(pci / slot / name, value + "\n")
    write(tmp_path / "proc/driver/nvidia/version", "NVRM version: 550.54.14\n")
    write(tmp_path / "dev/kfd", "")
    write(tmp_path / "proc/modules", "snd 1 0 - Live 0x0\namdgpu 2 0 - Live 0x0\n")
    write(tmp_path / "etc/nv_tegra_release", "# R36 (release), REVISION: 3.0\n")
    out = subprocess.run([shell, "-c", fragment(tmp_path)], capture_output=True, text=True,
                         check=True).stdout
    state = parse_state(out.splitlines())
    found = state.found["gpu"]
    # The audio function of the NVIDIA card (class 0x04) and the Intel bridge are not GPUs.
    assert found.devices == [AMD, NVIDIA]
    assert found.nvidia_driver == "NVRM version: 550.54.14"
    assert found.kfd and found.amdgpu and found.tegra.startswith("# R36")


def test_a_host_without_a_pci_bus_or_gpus_reports_nothing(tmp_path: Path) -> None:
    out = subprocess.run(["sh", "-c", fragment(tmp_path)], capture_output=True, text=True,
                         check=True).stdout
    assert out == ""
    assert parse_state([]).found["gpu"] == GpuFacts()


def test_status_asks_the_journal_of_the_current_start_only() -> None:
    text = render("linux/probe_gpu.sh.j2", compute=True, unit="ollama.service")
    assert "InvocationID" in text and "_SYSTEMD_INVOCATION_ID=$invocation" in text
    assert "journalctl" not in render("linux/probe_gpu.sh.j2", compute=False, unit="x.service")


@pytest.mark.parametrize(("line", "text"), [
    (NVIDIA_LINE, "CUDA NVIDIA GeForce RTX 3090 24.0 GiB"),
    (OLD_ROCM_LINE, "rocm 1002:73bf 16.0 GiB"),  # releases before 0.12 log name=, no description
    (CPU_LINE, "cpu"),
])
def test_inference_compute_lines_of_any_release(line: str, text: str) -> None:
    compute = parse_compute(line)
    assert compute is not None and str(compute) == text
    state = parse_state(["@compute", line, "@end"])
    assert [str(c) for c in state.found["gpu"].compute] == [text]


# --- what a host needs --------------------------------------------------------------------

@pytest.mark.parametrize(("facts", "arch", "version", "addons", "kinds"), [
    (GpuFacts(devices=[NVIDIA], nvidia_driver="x"), "amd64", "0.13.5", (), ("nvidia",)),
    (GpuFacts(devices=[AMD], kfd=True, amdgpu=True), "amd64", "0.13.5", ("rocm",), ("amd",)),
    (GpuFacts(devices=[NVIDIA, AMD], nvidia_driver="x", kfd=True, amdgpu=True), "amd64",
     "0.14.1", ("rocm",), ("nvidia", "amd")),
    (GpuFacts(tegra="# R36 (release), REVISION: 3.0"), "arm64", "0.13.5", ("jetpack6",),
     ("jetson",)),
    (GpuFacts(tegra="# R35 (release), REVISION: 4.1"), "arm64", "0.13.5", ("jetpack5",),
     ("jetson",)),
    (GpuFacts(), "amd64", "0.13.5", (), ()),
])
def test_auto_detection_picks_the_archives(facts: GpuFacts, arch: str, version: str,
                                           addons: tuple, kinds: tuple) -> None:
    result = gpu.plan(make(version=version), facts, arch)
    assert result.addons == addons and result.kinds == kinds
    assert result.warnings == () and result.problems == ()


@pytest.mark.parametrize(("version", "suffix"), [("0.13.5", "tgz"), ("0.14.1", "tar.zst")])
def test_addon_archives_are_named_as_upstream_and_checked_by_the_release_list(
        version: str, suffix: str) -> None:
    settings = make(version=version, sha256="a" * 64)
    main, rocm = release_sources(settings, "amd64", ("rocm",))
    assert main.filename == f"ollama-linux-amd64.{suffix}" and main.sha256 == "a" * 64
    assert rocm.filename == f"ollama-linux-amd64-rocm.{suffix}"
    assert rocm.url.endswith(f"/v{version}/ollama-linux-amd64-rocm.{suffix}")
    # sha256 is the main archive's: the add-on's digest comes from sha256sum.txt.
    assert rocm.sha256 is None and rocm.checksums_url.endswith("/sha256sum.txt")


def test_air_gapped_addons_come_from_beside_the_main_archive(tmp_path: Path) -> None:
    lines = []
    for name in ("ollama-linux-amd64.tgz", "ollama-linux-amd64-rocm.tgz"):
        (tmp_path / name).write_bytes(name.encode())
        lines.append(f"{hashlib.sha256(name.encode()).hexdigest()}  ./{name}")
    (tmp_path / "sha256sum.txt").write_text("\n".join(lines) + "\n")
    for given in (tmp_path, tmp_path / "ollama-linux-amd64.tgz"):
        sources = release_sources(make(archive_file=str(given)), "amd64", ("rocm",))
        assert [s.problem for s in sources] == [None, None]
        assert sources[1].local_file == tmp_path / "ollama-linux-amd64-rocm.tgz"
    (tmp_path / "ollama-linux-amd64-rocm.tgz").write_bytes(b"tampered")
    assert "checksum mismatch" in release_sources(
        make(archive_file=str(tmp_path)), "amd64", ("rocm",))[1].problem


@pytest.mark.parametrize(("declared", "facts", "arch", "version", "warning"), [
    ("auto", GpuFacts(devices=[NVIDIA]), "amd64", "0.13.5", "but no NVIDIA driver is loaded"),
    ("auto", GpuFacts(devices=[AMD], amdgpu=True), "amd64", "0.13.5", "/dev/kfd is missing"),
    ("auto", GpuFacts(devices=[AMD]), "amd64", "0.13.5",
     "the amdgpu kernel module and /dev/kfd are missing"),
    ("auto", GpuFacts(devices=[AMD], kfd=True, amdgpu=True), "arm64", "0.13.5",
     "ROCm builds for amd64 only"),
    ("auto", GpuFacts(devices=[AMD], kfd=True, amdgpu=True), "amd64", "0.3.6",
     "has no ROCm archive"),
    ("auto", GpuFacts(tegra="# R32 (release)"), "arm64", "0.13.5", "unsupported JetPack"),
    ("nvidia", GpuFacts(), "amd64", "0.13.5", "gpu: nvidia is declared but the host shows"),
    ("amd", GpuFacts(devices=[NVIDIA], nvidia_driver="x"), "amd64", "0.13.5",
     "found: NVIDIA 0000:65:00.0 [2204]"),
])
def test_a_gpu_ollama_cannot_use_is_a_warning(declared: str, facts: GpuFacts, arch: str,
                                              version: str, warning: str) -> None:
    result = gpu.plan(make(version=version, gpu=declared), facts, arch)
    assert any(warning in text for text in result.warnings), result.warnings
    assert any("Ollama will run on the CPU" in text for text in result.warnings)


def test_gpu_none_installs_no_addon_and_says_nothing() -> None:
    result = gpu.plan(make(gpu="none"), GpuFacts(devices=[AMD]), "amd64")
    assert result == gpu.GpuPlan(())


def test_jetson_declared_without_its_release_file_cannot_be_installed() -> None:
    result = gpu.plan(make(gpu="jetson"), GpuFacts(), "arm64")
    assert any("/etc/nv_tegra_release is missing" in p for p in result.problems)


def test_an_explicit_amd_declaration_installs_the_rocm_archive() -> None:
    assert gpu.plan(make(gpu="amd"), GpuFacts(), "amd64").addons == ("rocm",)


# --- the deploy ---------------------------------------------------------------------------

AMD_LINES = ["gpu_pci\t0000:03:00.0 0x1002 0x73bf", "gpu_kfd\tyes", "gpu_amdgpu\tyes"]


def amd_fact(settings, addons: str = "rocm") -> list[str]:  # noqa: ANN001
    """A converged AMD host: the tree holds the ROCm add-on, the digest names it."""
    layout = Layout(settings)
    files = layout.managed_files()
    lines = converged_fact(settings)
    lines = [f"version_dir\t{settings.version} complete {addons}" if line.startswith(
        "version_dir\t") else line for line in lines]
    digest = layout.applied_digest(files, tuple(addons.split()))
    lines = [f"applied\t{digest}" if line.startswith(
        "applied\t") else line for line in lines]
    return AMD_LINES + lines


def test_a_converged_gpu_host_is_one_remote_command() -> None:
    settings = make()
    commands, uploads = run(settings, amd_fact(settings))
    assert len(commands) == 1 and FACT_MARKER in commands[0]
    assert uploads == []


def test_a_gpu_change_reinstalls_the_tree_with_every_archive_and_restarts() -> None:
    settings = make()
    commands, _ = run(settings, amd_fact(settings, addons=""))  # installed before: no add-on
    install = next(c for c in commands if "ollama-linux-amd64-rocm.tgz" in c)
    assert "filename=ollama-linux-amd64.tgz" in install
    assert install.index("ollama-linux-amd64.tgz") < install.index("ollama-linux-amd64-rocm")
    assert "addons=rocm" in install and 'echo "$addons" > "$work/tree/.installed"' in install
    assert sum('systemctl restart "$unit"' in c for c in commands) == 1


def test_the_applied_digest_names_the_addons_only_when_there_are_some() -> None:
    layout = Layout(make())
    files = layout.managed_files()
    assert layout.applied_digest(files) == layout.applied_digest(files, ())
    assert layout.applied_digest(files, ("rocm",)) != layout.applied_digest(files)


def test_a_driverless_gpu_is_warned_and_strict_fails_the_host(
        caplog: pytest.LogCaptureFixture) -> None:
    settings = make()
    fact = ["gpu_pci\t0000:65:00.0 0x10de 0x2204", *converged_fact(settings)]
    commands, _ = run(settings, fact)
    assert len(commands) == 1  # a warning changes nothing on the host
    assert "NVIDIA GPU (NVIDIA 0000:65:00.0 [2204]) but no NVIDIA driver" in caplog.text
    from pyinfra.api.exceptions import PyinfraError

    with pytest.raises((PyinfraError, AssertionError)):
        run(make(strict=True), fact)


def test_install_adds_the_service_user_to_the_gpu_groups_present() -> None:
    settings = make()
    fact = [line for line in converged_fact(settings) if line != "ollama:x:999:"]
    groups = fact.index("@groups")
    fact[groups + 1:groups + 1] = ["ollama:x:999:", "render:x:105:", "video:x:44:"]
    commands, _ = run(settings, fact)
    install = next(c for c in commands if "usermod" in c)
    assert "usermod -a -G render ollama" in install and "usermod -a -G video ollama" in install


# --- status -------------------------------------------------------------------------------

def test_status_treats_a_gpu_host_on_the_cpu_as_unhealthy() -> None:
    from ollama_fleet.linux.drift import host_status

    settings = make()
    plan = plan_models(settings, "web1", {})
    base = ["gpu_pci\t0000:65:00.0 0x10de 0x2204", "gpu_nvidia_driver\tNVRM 550",
            *converged_fact(settings)]
    on_cpu = host_status("web1", settings, plan, parse_state([*base, "@compute", CPU_LINE,
                                                              "@end"]))
    assert on_cpu.gpu == "nvidia" and on_cpu.compute == "cpu" and not on_cpu.healthy
    assert on_cpu.compute_problem \
        == "GPU present (NVIDIA 0000:65:00.0 [2204]) but Ollama runs on the CPU"
    on_gpu = host_status("web1", settings, plan, parse_state([*base, "@compute", NVIDIA_LINE,
                                                              "@end"]))
    assert on_gpu.healthy and on_gpu.compute == "CUDA NVIDIA GeForce RTX 3090 24.0 GiB"
    cpu_host = host_status("web1", settings, plan, parse_state(
        [*converged_fact(settings), "@compute", CPU_LINE, "@end"]))
    assert cpu_host.healthy and cpu_host.gpu == "none"


def test_the_status_table_has_gpu_and_compute_columns_and_names_the_problem() -> None:
    from ollama_fleet.host_status import HostStatus
    from ollama_fleet.status import render_table

    row = HostStatus("gpu1", installed="0.13.5", running="0.13.5", active="active",
                     enabled="enabled", gpu="nvidia", compute="cpu",
                     compute_problem="GPU present (NVIDIA 0000:65:00.0) but Ollama runs on the "
                                     "CPU")
    header, line = render_table([row]).splitlines()
    assert header.split()[7:9] == ["gpu", "compute"]
    assert "nvidia" in line and "but Ollama runs on the CPU" in line
    assert not row.healthy and row.as_dict()["compute"] == "cpu"


def test_air_gapped_gpu_host_uploads_every_archive_before_one_unpack(tmp_path: Path) -> None:
    from ollama_fleet.linux.layout import STATE_DIR

    lines = []
    for name in ("ollama-linux-amd64.tgz", "ollama-linux-amd64-rocm.tgz"):
        (tmp_path / name).write_bytes(name.encode())
        lines.append(f"{hashlib.sha256(name.encode()).hexdigest()}  ./{name}")
    (tmp_path / "sha256sum.txt").write_text("\n".join(lines) + "\n")
    settings = make(archive_file=str(tmp_path))
    commands, uploads = run(settings, [*AMD_LINES, "arch\tx86_64", "systemd\tyes", "api\tdown"])
    wanted = [f"{STATE_DIR}/uploads/ollama-linux-amd64.tgz",
              f"{STATE_DIR}/uploads/ollama-linux-amd64-rocm.tgz"]
    assert uploads[:2] == wanted
    (unpack,) = [c for c in commands if "/tree/.installed" in c]
    assert all(f"archive={path}" in unpack and f"rm -f {path}" in unpack for path in wanted)
    assert "download of" not in unpack
