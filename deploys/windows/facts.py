"""The one fact a Windows host is asked for: everything the operations decide from, as a dict."""

from __future__ import annotations

import json
from typing import Any

from pyinfra.api import FactBase, StringCommand
from pyinfra.api.exceptions import FactProcessError

from ..model_names import normalize_model_name
from ..settings import secret_env_names
from . import paths
from .powershell import ps_command, render

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
        launcher=paths.SERVE_SCRIPT,
        task_path=paths.TASK_PATH,
        task_name=paths.SERVER_TASK if server else paths.APP_TASK,
        firewall_rule=paths.FIREWALL_RULE,
        version_url=version_url,
    )


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
        return ps_command(
            fact_script(install_dir, models_dir, env_names, secret_names, version_url, server)
        )

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
    if not isinstance(raw, dict) or raw.get("schema") != 1:
        raise FactProcessError("Windows state output has an unknown schema")
    dirs = raw.get("dirs") or {}
    task = raw.get("task")
    desktop = raw.get("desktop")
    firewall = raw.get("firewall")
    return {
        "arch": _arch(raw.get("arch")),
        "dirs": {key: bool(dirs.get(key)) for key in ("modelfiles", "staged", "logs", "models")},
        "models_acl": _strings(raw.get("models_acl")),
        "versions": sorted(set(_strings(raw.get("versions")))),
        "launcher_sha256": raw.get("launcher_sha256") or None,
        "task": None if not task else {
            "state": str(task.get("state") or ""),
            "execute": str(task.get("execute") or ""),
            "arguments": str(task.get("arguments") or ""),
            "user": str(task.get("user") or ""),
            "logon": str(task.get("logon") or ""),
            "boot": bool(task.get("boot")),
            "restart_count": int(task.get("restart_count") or 0),
        },
        "desktop": None if not desktop else {
            "version": str(desktop.get("version") or "") or None,
            "location": str(desktop.get("location") or "") or None,
        },
        "app_running": bool(raw.get("app_running")),
        "managed_env": _strings(raw.get("managed_env")),
        "env": {str(k): (None if v is None else str(v)) for k, v in (raw.get("env") or {}).items()},
        "api_version": raw.get("api_version") or None,
        "models": sorted(_model_names(_strings(raw.get("models")))),
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
