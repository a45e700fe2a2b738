"""One release source for every platform, and one sha256sum.txt rule: the controller's parser,
and the host-side awk line that follows it."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from ollama_fleet import release
from ollama_fleet.linux import release as linux_release
from ollama_fleet.render import render
from ollama_fleet.settings import OllamaSettings
from ollama_fleet.windows import archive as windows_archive

A, B = "a" * 64, "B" * 64
FILE = "ollama-linux-amd64.tgz"
LISTINGS = [
    (f"{A}  ./{FILE}\n", A),
    (f"{A}  {FILE}\n", A),
    (f"{A} *{FILE}\n", A),
    (f"{A} *./{FILE}\n", A),
    (f"{B}\t{FILE}\r\n", B.lower()),
    (f"{A}  ./other.tgz\n{B}  ./{FILE}\n", B.lower()),
    (f"{A}  ./{FILE}\n{B}  ./{FILE}\n", B.lower()),  # the last one wins
    (f"{A}  ./{FILE}.sig\n", None),
    (f"{A}  ./x/{FILE}\n", None),
    (f"{A}  ./{FILE} extra\n", None),
    (f"{'g' * 64}  ./{FILE}\n", None),
    (f"{A[:63]}  ./{FILE}\n", None),
    (f"{A}  ./{FILE.upper()}\n", None),
    ("", None),
    ("\n\n", None),
]


@pytest.mark.parametrize(("text", "digest"), LISTINGS)
def test_parse_sha256sums(text: str, digest: str | None) -> None:
    assert release.parse_sha256sums(text, FILE) == digest


def _host_awk_line() -> str:
    script = render(
        "linux/install.sh.j2", account=None, make_dirs=False, user="ollama", group="ollama",
        home="/h", install_dir="/opt/ollama", models_dir="/m", state_dir="/s", staging_dir="/s/s",
        upload_dir="/s/u", release={"version": "0.13.5", "addons": "", "archives": [
            {"filename": FILE, "url": "http://x/a", "uploaded": None, "expected": None,
             "checksums_url": "http://x/sums"}]})
    return next(line for line in script.splitlines() if line.startswith("expected=$(awk"))


@pytest.mark.parametrize(("text", "digest"), LISTINGS)
def test_the_hosts_awk_line_follows_the_same_rule(tmp_path: Path, text: str,
                                                  digest: str | None) -> None:
    (tmp_path / "sha256sum.txt").write_text(text)
    script = f'filename={FILE}\nwork={tmp_path}\n{_host_awk_line()}\nprintf %s "$expected"\n'
    for shell in ("sh", "bash"):
        out = subprocess.run([shell, "-c", script], capture_output=True, text=True, check=True)
        assert out.stdout == (digest or ""), shell


def make(**values: object) -> OllamaSettings:
    return OllamaSettings(version="0.13.5", **values)


def test_both_platforms_resolve_to_the_one_release_source(tmp_path: Path) -> None:
    linux = linux_release.release_source(make(), "amd64")
    windows = windows_archive.release_source(make(platform="windows"), "amd64")
    assert type(linux) is type(windows) is release.ReleaseSource
    assert linux.filename == FILE and windows.filename == "ollama-windows-amd64.zip"
    assert linux.checksums_url and linux.checksums_url.endswith("/v0.13.5/sha256sum.txt")
    assert windows.url and windows.url.endswith("/v0.13.5/ollama-windows-amd64.zip")
    desktop = windows_archive.release_source(make(platform="windows", windows_mode="desktop"),
                                             "amd64")
    assert desktop.filename == "OllamaSetup.exe" and desktop.checksums_url is None


def test_a_controller_file_is_checked_on_the_controller(tmp_path: Path) -> None:
    archive = tmp_path / FILE
    archive.write_bytes(b"release")
    digest = hashlib.sha256(b"release").hexdigest()
    unlisted = linux_release.release_source(make(archive_file=str(tmp_path)), "amd64")
    assert unlisted.problem and "no checksum" in unlisted.problem
    (tmp_path / "sha256sum.txt").write_text(f"{digest}  ./{FILE}\n")
    good = linux_release.release_source(make(archive_file=str(tmp_path)), "amd64")
    assert good.problem is None and good.sha256 == digest and good.local_file == archive
    bad = linux_release.release_source(make(archive_file=str(archive), sha256=A), "amd64")
    assert bad.problem and "checksum mismatch" in bad.problem
    (tmp_path / "ollama-windows-amd64.zip").write_bytes(b"zip")
    with pytest.raises(ValueError, match="no checksum"):
        windows_archive.release_source(make(platform="windows", archive_file=str(tmp_path)),
                                       "amd64")


def test_only_the_release_module_parses_checksum_lists() -> None:
    """One parser on the controller: no other module reads a sha256sum.txt itself."""
    root = Path(release.__file__).parent
    readers = [str(p.relative_to(root)) for p in root.rglob("*.py")
               if p.name != "release.py" or p.parent != root
               if "sha256sum.txt" in p.read_text() and ".read_text(" in p.read_text()]
    assert readers == []
