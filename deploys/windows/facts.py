"""The one fact a Windows host is asked for: everything the operations decide from, as a dict."""

from __future__ import annotations

import json
from typing import Any

from pyinfra.api import FactBase, StringCommand
from pyinfra.api.exceptions import FactProcessError

from ..model_names import normalize_model_name
from ..settings import secret_env_names, version_tuple
from . import paths
from .powershell import fact_command, minify, render

SECRET_ENV_NAMES = secret_env_names()

WindowsState = dict[str, Any]


def fact_script(
    install_dir: str,
    models_dir: str,
    env_names: list[str],
    secret_names: list[str],
    version_url: str,
    server: bool,
) -> str:
    return render(
        "fact.ps1.j2",
        state_dir=paths.STATE_DIR,
        install_dir=install_dir,
        models_dir=models_dir,
        env_names=sorted(env_names),
        secret_names=sorted(secret_names),
        registry_key=paths.REGISTRY_KEY,
        user_registry_key=paths.USER_REGISTRY_KEY,
        openssh_key=paths.OPENSSH_KEY,
        launcher=paths.SERVE_SCRIPT,
        env_file=paths.SERVER_ENV,
        task_path=paths.TASK_PATH,
        task_name=paths.SERVER_TASK if server else paths.APP_TASK,
        firewall_rule=paths.FIREWALL_RULE,
        version_url=version_url,
    )


def fact_stdin(**arguments: Any) -> str:
    """What the fact's command reads: the script for these arguments (get_fact's ``_stdin``)."""
    return minify(fact_script(**arguments))


class WindowsOllamaState(FactBase[WindowsState | None]):
    """Installed versions, task, desktop app, managed machine variables, models, firewall rule."""

    def command(  # type: ignore[override]
        self,
        install_dir: str,
        models_dir: str,
        env_names: list[str],
        secret_names: list[str],
        version_url: str,
        server: bool = True,
    ) -> StringCommand:
        # The script itself is sent on standard input: see fact_stdin().
        return fact_command()

    @staticmethod
    def default() -> WindowsState | None:
        # No output at all is not a fresh host: it is a broken probe, and guessing "fresh" would
        # reinstall everything. The deploy fails the host on None.
        return None

    def process(self, output: list[str]) -> WindowsState | None:
        return parse_state("".join(line.rstrip("\r") for line in output))


def parse_state(text: str) -> WindowsState:
    """Normalise the script's JSON: PowerShell 5.1 turns one-element lists into scalars, etc."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise FactProcessError(f"no JSON object in the Windows state output: {text[:200]!r}")
    try:
        raw = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise FactProcessError(f"unreadable Windows state output: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("schema") != 2:
        raise FactProcessError("Windows state output has an unknown schema")
    dirs = raw.get("dirs") or {}
    task = raw.get("task")
    desktop = raw.get("desktop")
    firewall = raw.get("firewall")
    acl = raw.get("state_acl")
    return {
        "arch": _arch(raw.get("arch")),
        "user": str(raw.get("user") or ""),
        "default_shell": str(raw.get("default_shell") or "") or None,
        "dirs": {key: bool(dirs.get(key))
                 for key in ("modelfiles", "staged", "logs", "scripts", "models")},
        "state_acl": None if not acl else {"protected": bool(acl.get("protected")),
                                           "who": _strings(acl.get("who"))},
        "models_acl": _strings(raw.get("models_acl")),
        "versions": sorted(set(_strings(raw.get("versions"))), key=version_key),
        "launcher_sha256": raw.get("launcher_sha256") or None,
        "env_file_sha256": raw.get("env_file_sha256") or None,
        "task": None if not task else {
            "state": str(task.get("state") or ""),
            "execute": str(task.get("execute") or ""),
            "arguments": str(task.get("arguments") or ""),
            "user": str(task.get("user") or ""),
            "logon": str(task.get("logon") or ""),
            "boot": bool(task.get("boot")),
            "restart_count": int(task.get("restart_count") or 0),
            "priority": int(task.get("priority") if task.get("priority") is not None else 7),
            "battery_ok": bool(task.get("battery_ok")),
        },
        "desktop": None if not desktop else {
            "version": str(desktop.get("version") or "") or None,
            "location": str(desktop.get("location") or "").rstrip("\\") or None,
            "uninstaller": str(desktop.get("uninstaller") or "").strip('"') or None,
        },
        "app_running": bool(raw.get("app_running")),
        "desktop_session": bool(raw.get("desktop_session")),
        "managed_env": _strings(raw.get("managed_env")),
        "legacy_machine_env": _strings(raw.get("legacy_machine_env")),
        "env": {str(k): (None if v is None else str(v)) for k, v in (raw.get("env") or {}).items()},
        "api_version": raw.get("api_version") or None,
        "models": sorted(_model_names(_strings(raw.get("models")))),
        "applied_models_dir": str(raw.get("applied_models_dir") or "") or None,
        "applied_models_present": bool(raw.get("applied_models_present")),
        "amd_gpu": bool(raw.get("amd_gpu")),
        "program_rules": _strings(raw.get("program_rules")),
        "modelfiles": {
            paths.model_from_stem(str(stem)): str(digest)
            for stem, digest in (raw.get("modelfiles") or {}).items()
        },
        "firewall": None if not firewall else {
            "enabled": str(firewall.get("enabled") or ""),
            "action": str(firewall.get("action") or ""),
            "direction": str(firewall.get("direction") or ""),
            "protocol": str(firewall.get("protocol") or ""),
            "ports": _strings(firewall.get("ports")),
            "remote": _strings(firewall.get("remote")),
        },
    }


def version_key(version: str) -> tuple[int, ...]:
    """Release numbers compare as numbers (0.13.4 < 0.9.0 as text, not as versions)."""
    try:
        return version_tuple(version)
    except ValueError:
        return (-1,)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value if item is not None and str(item) != ""]
    return [str(value)] if str(value) != "" else []


def _arch(value: Any) -> str:
    return {"AMD64": "amd64", "ARM64": "arm64"}.get(str(value or "").upper(), "amd64")


def _model_names(manifest_paths: list[str]) -> set[str]:
    """``registry.ollama.ai/library/qwen2.5/7b`` -> ``qwen2.5:7b``; stray files are skipped."""
    names = set()
    for path in manifest_paths:
        parts = path.split("/")
        if len(parts) != 4:
            continue
        host, namespace, model, tag = parts
        try:
            names.add(normalize_model_name(f"{host}/{namespace}/{model}:{tag}"))
        except ValueError:
            continue
    return names
