"""Every script the Windows deploy can send parses with a real PowerShell grammar."""

from __future__ import annotations

from typing import Any

import pytest
import tree_sitter
import tree_sitter_powershell
from ollama_fleet.render import powershell as ps_literal
from ollama_fleet.windows import desired, paths
from ollama_fleet.windows.facts import fact_script
from ollama_fleet.windows.powershell import (
    FACT_READER,
    MAX_COMMAND,
    PowerShellValueError,
    decode,
    decode_command,
    encode,
    fact_command,
    minify,
    render,
    template_names,
)

from .helpers import NASTY, ps_syntax_errors, settings

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
WHERE = desired.layout(settings(windows_install_dir=r"C:\Program Files\O'llama $x `y",
                                windows_models_dir=r"D:\models ‘q’ $env TEMP ${x}"))

# Representative values for every template, the awkward characters included.
ARCHIVE = {"path": NASTY, "url": "https://mirror/x?a=1&b='2'", "sha256": "", "sums": NASTY,
           "file": "ollama-windows-amd64.zip"}
CONTEXTS: dict[str, list[dict[str, Any]]] = {
    "fact.ps1.j2": [{}],  # rendered through fact_script below
    "directories.ps1.j2": [
        {"directories": [NASTY, r"C:\a b"], "grant_account": None, "grant_dirs": [],
         "protect_state": True, "state_dir": NASTY},
        {"directories": [], "grant_account": "DOM\\it's me", "grant_dirs": [NASTY],
         "protect_state": False, "state_dir": NASTY},
    ],
    "install_zip.ps1.j2": [
        {"version": "0.13.5", "install_dir": NASTY, "staged_dir": NASTY, "archives": [ARCHIVE],
         "allow_unverified": True},
        {"version": "0.13.5", "install_dir": NASTY, "staged_dir": NASTY,
         "archives": [ARCHIVE, {**ARCHIVE, "file": "ollama-windows-amd64-rocm.zip"}],
         "allow_unverified": False},
    ],
    "install_desktop.ps1.j2": [
        {"version": "0.13.5", "install_dir": NASTY, "setup_path": NASTY, "download_url": NASTY,
         "sha256": "b" * 64, "logs_dir": NASTY, "digest_pinned": True, "wait_ms": 1000},
        {"version": "0.13.5", "install_dir": NASTY, "setup_path": NASTY, "download_url": None,
         "sha256": "", "logs_dir": NASTY, "digest_pinned": False, "wait_ms": 1000},
    ],
    "activate_server.ps1.j2": [
        {"task_path": paths.TASK_PATH, "task_name": paths.SERVER_TASK, "install_dir": NASTY,
         "version": "0.13.5", "timeout": 60, "files": {NASTY: NASTY, "C:\\x": ""},
         "rollback_dir": NASTY, "registry_key": paths.REGISTRY_KEY, "models_dir": NASTY,
         "version_url": NASTY, "log": NASTY, "legacy_machine": ["OLLAMA_HOST"]},
    ],
    "activate_desktop.ps1.j2": [
        {"version": "0.13.5", "timeout": 60, "set": {"OLLAMA_ORIGINS": NASTY, "X": "$(calc)"},
         "remove": ["A"], "managed": ["OLLAMA_ORIGINS", "X"],
         "user_registry_key": paths.USER_REGISTRY_KEY, "registry_key": paths.REGISTRY_KEY,
         "legacy_machine": [], "install_location": NASTY, "launcher_path": NASTY,
         "launcher_b64": "QUJD", "execute": paths.POWERSHELL_EXE,
         "arguments": desired.launcher_arguments(NASTY, hidden=True), "priority": 5,
         "task_path": paths.TASK_PATH, "task_name": paths.APP_TASK, "version_url": NASTY},
    ],
    "copy_models.ps1.j2": [{"source": NASTY, "target": NASTY}],
    "uninstall.ps1.j2": [
        {"server": server, "purge": server, "task_path": paths.TASK_PATH, "install_dir": NASTY,
         "desktop_location": NASTY, "desktop_uninstaller": NASTY, "wait_ms": 1000,
         "firewall_rule": NASTY, "user_registry_key": paths.USER_REGISTRY_KEY,
         "registry_key": paths.REGISTRY_KEY, "models_dir": NASTY, "state_dir": NASTY}
        for server in (True, False)
    ],
    "serve.ps1.j2": [{"exe": NASTY, "log": NASTY, "env_file": NASTY, "max_log": 100}],
    "start_app.ps1.j2": [{"app_exe": NASTY, "known_names": ["OLLAMA_HOST", NASTY]}],
    "server_task.ps1.j2": [
        {"execute": paths.POWERSHELL_EXE, "arguments": desired.launcher_arguments(NASTY),
         "user_id": "it's", "logon_type": "S4U", "restart_count": 999, "priority": 5,
         "task_path": paths.TASK_PATH, "task_name": paths.SERVER_TASK},
    ],
    "firewall.ps1.j2": [
        {"action": action, "rule": NASTY, "port": 11434, "networks": ["10.0.0.0/8", "::1/128"],
         "program_rules": [NASTY]}
        for action in ("create", "update", "remove", "keep")
    ],
    "pull_models.ps1.j2": [
        {"url": NASTY, "models": ["qwen2.5:7b", "hf.co/a/b:Q4_K_M"], "retries": 3,
         "timeout": 3600},
    ],
    "create_model.ps1.j2": [
        {"exe": NASTY, "name": "qwen2.5:7b-32k", "client_host": "127.0.0.1:11434",
         "modelfile": NASTY, "digest_path": NASTY, "digest": "c" * 64, "version_url": NASTY},
    ],
    "remove_models.ps1.j2": [
        {"exe": NASTY, "client_host": "[::1]:11434", "models": ["a:latest"], "records": [NASTY]},
    ],
    "prune_versions.ps1.j2": [{"directories": [NASTY, r"C:\Program Files\Ollama\0.1.0"]}],
}


def problems(script: str) -> list[str]:
    return ps_syntax_errors(script, PARSER)


def rendered() -> list[tuple[str, str]]:
    out = [("fact.ps1.j2", fact_script(NASTY, NASTY, ["OLLAMA_HOST", NASTY], ["HTTPS_PROXY"],
                                       "http://127.0.0.1:11434/api/version", True))]
    for name, contexts in CONTEXTS.items():
        if name == "fact.ps1.j2":
            continue
        out += [(name, render(name, **context)) for context in contexts]
    out.append(("serve.ps1 as written", desired.serve_script_bytes(WHERE)[3:].decode("utf-8")))
    out.append(("start-app.ps1 as written",
                desired.app_script_bytes(WHERE, ["OLLAMA_HOST"])[3:].decode("utf-8")))
    return out


def test_every_template_has_representative_values() -> None:
    assert set(CONTEXTS) == set(template_names())


@pytest.mark.parametrize("name,script", rendered())
def test_script_parses(name: str, script: str) -> None:
    assert problems(script) == [], name
    assert problems(minify(script)) == [], name


def test_fact_command_is_fixed_short_and_decodes_to_the_reader() -> None:
    command = str(fact_command())
    assert len(command) <= MAX_COMMAND
    assert decode_command(command) == minify(FACT_READER)
    assert problems(FACT_READER) == []


def test_values_never_escape_their_literal() -> None:
    script = render("prune_versions.ps1.j2", directories=[NASTY])
    tree = PARSER.parse(script.encode("utf-8"))
    strings = []

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "verbatim_string_characters":
            strings.append(node.text.decode("utf-8"))
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    assert ps_literal(NASTY) in strings


def test_literals() -> None:
    assert ps_literal("it's") == "'it''s'"
    assert ps_literal("‘x’") == "'‘‘x’’'"
    assert ps_literal("$x `n") == "'$x `n'"
    assert ps_literal(["a", 1, True]) == "@('a', 1, $true)"
    assert ps_literal({"K": "v"}) == "[ordered]@{'K' = 'v'}"
    with pytest.raises(PowerShellValueError):
        ps_literal("two\nlines")
    with pytest.raises(PowerShellValueError):  # a missing value, not $null
        ps_literal(["a", None])


def test_encoding_round_trip() -> None:
    script = "Write-Output 'héllo ‘x’ $a'\n"
    assert decode(encode(script)) == script
