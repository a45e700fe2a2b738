"""What a Windows host should look like, and how the fact differs from it (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
from dataclasses import dataclass, replace
from typing import Any

from ..model_names import ModelNames, matching, recorded_digest
from ..model_plan import ModelPlan, RenderedModel
from ..settings import OllamaSettings, env_fields
from . import paths
from .facts import SECRET_ENV_NAMES, WindowsState, version_key
from .powershell import render, script_bytes

SERVICE_ACCOUNTS = {"SYSTEM": "SYSTEM", "NETWORK SERVICE": "NETWORK SERVICE",
                    "LOCAL SERVICE": "LOCAL SERVICE"}
TASK_RESTART_COUNT = 999
LOG_LIMIT = 50 * 1024 * 1024


@dataclass(frozen=True)
class WindowsLayout:
    """Settings checked and resolved for Windows; built once per host."""

    server: bool
    version: str
    install_dir: str
    models_dir: str
    account: str

    @property
    def exe(self) -> str:
        if self.server:
            return rf"{self.install_dir}\{self.version}\ollama.exe"
        return rf"{self.install_dir}\ollama.exe"

    @property
    def app_exe(self) -> str:
        return rf"{self.install_dir}\{paths.DESKTOP_APP_EXE}"


def layout(settings: OllamaSettings) -> WindowsLayout:
    return WindowsLayout(
        server=settings.windows_mode == "server",
        version=settings.version,
        install_dir=paths.check_windows_path(settings.windows_install_dir, "windows_install_dir"),
        models_dir=paths.check_windows_path(settings.windows_models_dir, "windows_models_dir"),
        account=settings.windows_service_account.strip(),
    )


def located(where: WindowsLayout, state: WindowsState) -> WindowsLayout:
    """Desktop mode: where Ollama really is (the uninstall entry's InstallLocation, e.g. a
    user's own install under %LOCALAPPDATA%), not a second copy under windows_install_dir."""
    desktop = state.get("desktop")
    if where.server or not desktop or not desktop.get("location"):
        return where
    return replace(where, install_dir=str(desktop["location"]).rstrip("\\"))


# --- environment ----------------------------------------------------------------------------
def desired_environment(settings: OllamaSettings, where: WindowsLayout) -> dict[str, str]:
    """The server's environment as the settings derive it for Windows (windows_models_dir is
    OLLAMA_MODELS there; ``where`` has checked that path)."""
    return settings.environment()


def secret_digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EnvChange:
    set: dict[str, str]
    remove: tuple[str, ...]
    managed: tuple[str, ...]
    record_changed: bool

    @property
    def changed(self) -> bool:
        return bool(self.set or self.remove or self.record_changed)


def environment_change(
    state: WindowsState, plain: dict[str, str], secret: dict[str, str]
) -> EnvChange:
    # Windows drops a variable set to "", so an empty value and an absent one are the same.
    current = {k.upper(): v for k, v in state["env"].items()}
    to_set: dict[str, str] = {}
    for name, value in plain.items():
        if (current.get(name.upper()) or "") != value:
            to_set[name] = value
    for name, value in secret.items():
        have = current.get(name.upper())
        if (have or "") != (secret_digest(value) if value else ""):
            to_set[name] = value
    declared = {name.upper() for name in (*plain, *secret)}
    managed = tuple(sorted({*plain, *secret}))
    remove = tuple(sorted(
        name for name in state["managed_env"]
        if name.upper() not in declared and current.get(name.upper()) is not None
    ))
    record_changed = sorted(n.upper() for n in state["managed_env"]) != sorted(declared)
    return EnvChange(to_set, remove, managed, record_changed)


def secret_names(settings: OllamaSettings) -> list[str]:
    return sorted({*SECRET_ENV_NAMES, *settings.secret_environment()})


# --- server task ----------------------------------------------------------------------------
def known_env_names(settings: OllamaSettings, state: WindowsState) -> list[str]:
    """Every variable ollama-fleet may have set: each settings field's variable, extra_env, and
    what an earlier run recorded as managed."""
    names = {var for _, var in env_fields("windows")} | set(settings.extra_env)
    names |= set(state.get("managed_env") or []) | set(state.get("legacy_machine_env") or [])
    return sorted(names, key=str.upper)


def server_env_bytes(settings: OllamaSettings, state: WindowsState) -> bytes:
    """The server's own environment file (server mode): what to set, and every other variable
    ollama-fleet knows to clear from the launcher's process."""
    declared = {**settings.environment(), **settings.secret_environment()}
    upper = {name.upper() for name in declared}
    clear = [name for name in known_env_names(settings, state) if name.upper() not in upper]
    text = json.dumps({"set": declared, "clear": clear}, indent=1, ensure_ascii=True)
    return text.encode("utf-8")


def serve_script_bytes(where: WindowsLayout) -> bytes:
    text = render("serve.ps1.j2", exe=where.exe, log=rf"{paths.LOGS_DIR}\server.log",
                  env_file=paths.SERVER_ENV, max_log=LOG_LIMIT)
    return script_bytes(text)


def app_script_bytes(where: WindowsLayout, managed: list[str]) -> bytes:
    text = render("start_app.ps1.j2", app_exe=where.app_exe, known_names=sorted(managed))
    return script_bytes(text)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def launcher_arguments(script_path: str, hidden: bool = False) -> str:
    window = " -WindowStyle Hidden" if hidden else ""
    return f'-NoProfile -NonInteractive -ExecutionPolicy Bypass{window} -File "{script_path}"'


def principal(account: str) -> tuple[str, str]:
    """(UserId, LogonType): built-in service accounts need no password, users run as S4U."""
    builtin = SERVICE_ACCOUNTS.get(account.upper())
    if builtin:
        return rf"NT AUTHORITY\{builtin}", "ServiceAccount"
    # S4U runs whether or not the user is logged on, without storing a password.
    return account, "S4U"


def _account_key(name: str) -> str:
    return name.rsplit("\\", 1)[-1].strip().upper()


def task_matches(state: WindowsState, where: WindowsLayout) -> bool:
    task = state["task"]
    if task is None:
        return False
    user, logon = principal(where.account)
    return (
        task["execute"].lower() == paths.POWERSHELL_EXE.lower()
        and task["arguments"] == launcher_arguments(paths.SERVE_SCRIPT)
        and _account_key(task["user"]) == _account_key(user)
        and task["logon"].lower() == logon.lower()
        and task["boot"]
        and task["restart_count"] == TASK_RESTART_COUNT
        and task["priority"] == paths.TASK_PRIORITY
        and task["battery_ok"]
    )


def launcher_matches(state: WindowsState, where: WindowsLayout) -> bool:
    return state["launcher_sha256"] == sha256(serve_script_bytes(where))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def needs_grant(state: WindowsState, account: str) -> bool:
    """Whether the models folder must be opened to a non-SYSTEM service account."""
    if account.upper() == "SYSTEM":
        return False
    key = _account_key(principal(account)[0])
    return not any(_account_key(identity) == key for identity in state["models_acl"])


# --- install --------------------------------------------------------------------------------
def installed_version(state: WindowsState, where: WindowsLayout) -> str | None:
    if where.server:
        return where.version if where.version in state["versions"] else None
    desktop = state["desktop"]
    return desktop["version"] if desktop else None


def versions_to_prune(state: WindowsState, where: WindowsLayout, keep: int) -> list[str]:
    """Oldest installs first out; the pinned version always stays and counts towards keep."""
    others = sorted((v for v in state["versions"] if v != where.version),
                    key=version_key, reverse=True)
    return sorted(others[max(keep - 1, 0):], key=version_key)


# --- firewall -------------------------------------------------------------------------------
def _networks(values: list[str]) -> set[Any] | None:
    nets = set()
    for value in values:
        try:
            # Windows reports IPv4 subnets as address/netmask; ip_network reads both forms.
            nets.add(ipaddress.ip_network(value, strict=False))
        except ValueError:
            return None  # "Any", "LocalSubnet" ...: not something we wrote
    return nets


def firewall_networks(settings: OllamaSettings) -> list[str]:
    """Who the rule admits: allow_networks; with expose_unauthenticated and none listed, any
    address (Windows blocks inbound by default, so no rule would mean no access at all); none
    for a loopback bind (no rule)."""
    if settings.allow_networks:
        return list(settings.allow_networks)
    exposed = not settings.bind.is_loopback
    return ["Any"] if exposed and settings.expose_unauthenticated else []


def firewall_action(state: WindowsState, networks: list[str], port: int) -> str | None:
    rule = state["firewall"]
    if not networks:
        return "remove" if rule else None
    if rule is None:
        return "create"
    same = (
        rule["enabled"].lower() == "true"
        and rule["action"].lower() == "allow"
        and rule["direction"].lower() == "inbound"
        and rule["protocol"].upper() == "TCP"
        and rule["ports"] == [str(port)]
        and (_networks(rule["remote"]) == _networks(networks)
             or [n.lower() for n in rule["remote"]] == [n.lower() for n in networks])
    )
    return None if same else "update"


# --- models ---------------------------------------------------------------------------------
# Every comparison of model names here follows Ollama's identity (model_names.model_key):
# case-insensitive, with the default registry, namespace and tag filled in.
def missing_pulls(state: WindowsState, plan: ModelPlan) -> list[str]:
    present = ModelNames(state["models"])
    return [name for name in plan.pulls if name not in present]


def stale_custom(state: WindowsState, plan: ModelPlan) -> list[RenderedModel]:
    present = ModelNames(state["models"])
    return [m for m in plan.custom
            if _recorded(state, m.name) != m.digest or m.name not in present]


def _recorded(state: WindowsState, name: str) -> str | None:
    # Records are files named by the spelling created under, so that one is the newest.
    return recorded_digest(state["modelfiles"], name, exact_first=True)


def undeclared_models(state: WindowsState, plan: ModelPlan) -> list[str]:
    """Present models that are none of the declared ones, custom models or their bases."""
    declared = plan.declared
    return sorted(name for name in state["models"] if name not in declared)


def models_to_remove(state: WindowsState, plan: ModelPlan) -> list[str]:
    if not plan.prune:
        return []
    return undeclared_models(state, plan)


def stale_records(state: WindowsState, plan: ModelPlan) -> list[str]:
    """Modelfile records of models no longer declared (removed with them when pruning), and
    the superseded records of declared ones (see :func:`superseded_records`)."""
    declared = ModelNames(m.name for m in plan.custom)
    gone = [name for name in state["modelfiles"] if name not in declared]
    return sorted({*gone, *superseded_records(state, plan)})


def superseded_records(state: WindowsState, plan: ModelPlan) -> list[str]:
    """Records of a declared custom model under another spelling than the declared one, once
    the declared spelling has its own record (now, or after this run's create)."""
    stale = {m.name for m in stale_custom(state, plan)}
    found = []
    for model in plan.custom:
        if model.name in state["modelfiles"] or model.name in stale:
            found += [name for name in matching(state["modelfiles"], model.name)
                      if name != model.name]
    return sorted(found)


# --- state folder ---------------------------------------------------------------------------
_ADMINS = {"SYSTEM", "ADMINISTRATORS"}


def state_acl_open(state: WindowsState, where: WindowsLayout) -> bool:
    """Whether C:\\ProgramData\\ollama-fleet admits more than SYSTEM, Administrators (and the
    server's own account): it holds the server's environment, secrets included."""
    acl = state.get("state_acl")
    if acl is None:
        return True
    allowed = set(_ADMINS)
    if where.server:
        allowed.add(_account_key(principal(where.account)[0]))
    return not acl["protected"] or any(_account_key(w) not in allowed for w in acl["who"])


# --- the OpenSSH default shell ------------------------------------------------------------
def shell_problem(state: WindowsState) -> str | None:
    """A PowerShell DefaultShell loads profiles around every command, re-wraps native errors and
    collapses exit codes to 0/1; the deploy is written for OpenSSH's default, cmd.exe."""
    shell = (state.get("default_shell") or "").lower()
    name = shell.replace("/", "\\").rsplit("\\", 1)[-1]
    if name in ("powershell.exe", "pwsh.exe", "powershell", "pwsh"):
        return (f"OpenSSH's DefaultShell on this host is {state['default_shell']}: it loads "
                "profiles around every command, re-wraps errors and collapses exit codes. "
                "Use cmd.exe (remove the DefaultShell value under HKLM\\SOFTWARE\\OpenSSH, or "
                "set it to C:\\Windows\\System32\\cmd.exe); nothing was changed")
    return None


# --- models folder changes ------------------------------------------------------------------
def models_dir_move(state: WindowsState, where: WindowsLayout) -> str | None:
    """The folder the server last ran with, when it differs from windows_models_dir and still
    holds models (as Linux's models_dir_migration sees it)."""
    old = state.get("applied_models_dir")
    if not old or old.rstrip("\\").lower() == where.models_dir.rstrip("\\").lower():
        return None
    return old if state.get("applied_models_present") else None
