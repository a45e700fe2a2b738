"""The shape inside the package: one managed-file type, one release source, one way files go
live on a Linux host, and a Windows side that does not lean on Linux types."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import ollama_fleet
from ollama_fleet import managed, release
from ollama_fleet.host_status import HostStatus
from ollama_fleet.linux import drift as linux_drift
from ollama_fleet.linux import firewall, layout, proxy
from ollama_fleet.linux import release as linux_release
from ollama_fleet.linux.facts import parse_state
from ollama_fleet.render import TEMPLATES
from ollama_fleet.settings import settings_from_data
from ollama_fleet.windows import archive as windows_archive
from ollama_fleet.windows import drift as windows_drift

SOURCE = Path(ollama_fleet.__file__).parent
APPLY_SCRIPTS = ("activate.sh.j2", "nftables_apply.sh.j2", "nginx_apply.sh.j2")


def test_windows_modules_import_nothing_from_linux() -> None:
    for path in sorted((SOURCE / "windows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert "linux" not in (node.module or ""), f"{path.name} imports {node.module}"
    assert windows_drift.HostStatus is HostStatus is linux_drift.HostStatus


def test_one_release_source_type() -> None:
    assert linux_release.ReleaseSource is windows_archive.ReleaseSource is release.ReleaseSource


def test_every_linux_file_is_a_managed_file() -> None:
    secured = settings_from_data({
        "ollama_version": "0.13.5", "ollama_allow_networks": ["10.0.0.0/8"],
        "ollama_https_proxy": "http://proxy:3128",
        "ollama_auth_proxy": {"bearer_tokens": ["tok-0123456789abcdef"],
                              "basic_users": {"ann": "pw-0123456789abcdef"}}}, "h1")
    files = (*layout.Layout(secured).managed_files(), *firewall.files(secured),
             *proxy.desired_files(secured, parse_state([])))
    assert {type(f) for f in files} == {managed.ManagedFile}
    keys = [f.key for f in files]
    assert len(keys) == len(set(keys)), "keys name the staged files: they must differ"
    assert {f.key for f in files if f.secret} == {"secret", "bearer_map", "htpasswd"}
    for module in (layout, firewall, proxy):
        classes = [n.name for n in ast.walk(ast.parse(Path(module.__file__).read_text()))
                   if isinstance(n, ast.ClassDef)]
        assert not [c for c in classes if c.endswith("File")], module.__name__


def test_files_go_live_only_through_the_stage_files_include() -> None:
    linux = TEMPLATES.joinpath("linux")
    for name in APPLY_SCRIPTS:
        text = linux.joinpath(name).read_text(encoding="utf-8")
        assert '{% include "linux/stage_files.sh.j2" %}' in text, name
        assert not re.search(r"^\s*install -m", text, re.M), f"{name} installs files itself"
        assert "install_staged" in text, name
