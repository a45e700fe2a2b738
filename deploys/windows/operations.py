"""Windows operations: each decides from the one state fact, uploads its PowerShell script over
SFTP and runs it with -File (powershell.run_script).

Every operation is a no-op when the fact shows nothing to do, so an unchanged host costs one
round trip (the fact) and nothing else.
"""

from __future__ import annotations

from collections.abc import Generator
from io import BytesIO
from typing import Any

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..hostcmd import fail_host
from ..model_plan import RenderedModel
from ..rollout import gate
from . import desired, paths
from .archive import ReleaseSource, staged_path
from .desired import EnvChange, WindowsLayout
from .facts import WindowsState
from .powershell import POWERSHELL, render, run_script

Commands = Generator[Any, None, None]
# The one command that is not an uploaded script: SFTP cannot create the scripts folder.
MAKE_SCRIPTS_DIR = (f'{POWERSHELL} -Command "New-Item -ItemType Directory -Force -Path '
                    f"'{paths.SCRIPTS_DIR}' | Out-Null\"")
# A bounded wait inside a script, safely shorter than the step's own timeout.
def wait_ms(timeout: int) -> int:
    return max(10, timeout - 30) * 1000


def _version_url(where_url: str) -> str:
    return f"{where_url}/api/version"


@operation()
def directories(state: WindowsState, where: WindowsLayout) -> Commands:
    wanted = {"modelfiles": paths.MODELFILES_DIR, "staged": paths.STAGED_DIR,
              "logs": paths.LOGS_DIR, "models": where.models_dir}
    missing = [path for key, path in wanted.items() if not state["dirs"][key]]
    grant = where.server and desired.needs_grant(state, where.account)
    protect = desired.state_acl_open(state, where)
    if not missing and not grant and not protect and state["dirs"]["scripts"]:
        host.noop("ollama-fleet folders exist")
        return
    if not state["dirs"]["scripts"]:
        yield StringCommand(MAKE_SCRIPTS_DIR)
    if not missing and not grant and not protect:
        return
    yield from run_script("directories", render(
        "directories.ps1.j2", directories=missing, state_dir=paths.STATE_DIR,
        protect_state=protect,
        grant_account=desired.principal(where.account)[0] if grant or (
            protect and where.server and where.account.upper() != "SYSTEM") else None,
        grant_dirs=[where.models_dir, paths.LOGS_DIR],
    ))


@operation()
def install_server(state: WindowsState, where: WindowsLayout, sources: list[ReleaseSource],
                   allow_unverified: bool) -> Commands:
    if desired.installed_version(state, where) == where.version:
        host.noop(f"Ollama {where.version} is installed")
        return
    archives = []
    for source in sources:
        staged = staged_path(source)
        if source.local_file:
            yield FileUploadCommand(str(source.local_file), paths.sftp_path(staged))
        archives.append({"path": staged, "url": source.url or "", "sha256": source.sha256 or "",
                         "sums": source.checksums_url or "", "file": source.filename})
    yield from run_script("install", render(
        "install_zip.ps1.j2", version=where.version, install_dir=where.install_dir,
        staged_dir=paths.STAGED_DIR, archives=archives, allow_unverified=allow_unverified))


@operation()
def install_desktop(state: WindowsState, where: WindowsLayout, source: ReleaseSource,
                    digest_pinned: bool, timeout: int) -> Commands:
    if desired.installed_version(state, where) == where.version:
        host.noop(f"Ollama {where.version} (desktop) is installed")
        return
    staged = staged_path(source)
    if source.local_file:
        yield FileUploadCommand(str(source.local_file), paths.sftp_path(staged))
    yield from run_script("install-desktop", render(
        "install_desktop.ps1.j2",
        version=where.version, install_dir=where.install_dir, setup_path=staged,
        download_url=source.url, sha256=source.sha256 or "", logs_dir=paths.LOGS_DIR,
        digest_pinned=digest_pinned, wait_ms=wait_ms(timeout),
    ))


@operation()
def copy_models(source: str, target: str) -> Commands:
    yield from run_script("copy-models", render("copy_models.ps1.j2", source=source,
                                                target=target))


@operation()
def server_task(state: WindowsState, where: WindowsLayout) -> Commands:
    if desired.task_matches(state, where):
        host.noop("the Ollama server task is up to date")
        return
    user_id, logon_type = desired.principal(where.account)
    yield from run_script("server-task", render(
        "server_task.ps1.j2",
        execute=paths.POWERSHELL_EXE, arguments=desired.launcher_arguments(paths.SERVE_SCRIPT),
        user_id=user_id, logon_type=logon_type, restart_count=desired.TASK_RESTART_COUNT,
        priority=paths.TASK_PRIORITY, task_path=paths.TASK_PATH, task_name=paths.SERVER_TASK,
    ))


@operation()
def activate_server(where: WindowsLayout, reasons: list[str], files: dict[str, bytes],
                    legacy_machine: list[str], url: str, timeout: int) -> Commands:
    """Stage the changed launcher and environment, put them live, restart once, check health,
    roll back on failure; gated by the rollout like the Linux activation."""
    if not reasons:
        host.noop("running configuration is current")
        return
    yield gate()
    live: dict[str, str] = {}
    for dest, content in files.items():
        staged = rf"{paths.STAGED_DIR}\{dest.rsplit(chr(92), 1)[-1]}"
        yield FileUploadCommand(BytesIO(content), paths.sftp_path(staged))
        live[dest] = staged
    for dest in (paths.SERVE_SCRIPT, paths.SERVER_ENV):
        live.setdefault(dest, "")  # backed up and restored, even when unchanged
    yield from run_script("activate", render(
        "activate_server.ps1.j2", task_path=paths.TASK_PATH, task_name=paths.SERVER_TASK,
        install_dir=where.install_dir, version=where.version, timeout=timeout, files=live,
        rollback_dir=paths.ROLLBACK_DIR, registry_key=paths.REGISTRY_KEY,
        models_dir=where.models_dir, version_url=_version_url(url),
        log=rf"{paths.LOGS_DIR}\server.log", legacy_machine=legacy_machine,
    ))


@operation()
def activate_desktop(where: WindowsLayout, reasons: list[str], change: EnvChange,
                     legacy_machine: list[str], url: str, timeout: int) -> Commands:
    if not reasons:
        host.noop("running configuration is current")
        return
    yield gate()
    yield from run_script("activate-desktop", render(
        "activate_desktop.ps1.j2", version=where.version, timeout=timeout,
        set=change.set, remove=list(change.remove), managed=list(change.managed),
        user_registry_key=paths.USER_REGISTRY_KEY, registry_key=paths.REGISTRY_KEY,
        legacy_machine=legacy_machine, install_location=where.install_dir + "\\",
        launcher_path=paths.APP_SCRIPT,
        launcher_b64=desired.b64(desired.app_script_bytes(where, list(change.managed))),
        execute=paths.POWERSHELL_EXE,
        arguments=desired.launcher_arguments(paths.APP_SCRIPT, hidden=True),
        priority=paths.TASK_PRIORITY, task_path=paths.TASK_PATH, task_name=paths.APP_TASK,
        version_url=_version_url(url),
    ))


@operation()
def firewall(state: WindowsState, networks: list[str], port: int) -> Commands:
    action = desired.firewall_action(state, networks, port)
    others = [r for r in state["program_rules"] if r != paths.FIREWALL_RULE]
    if action is None and not others:
        host.noop("firewall rule is as declared" if networks else "no firewall rule to manage")
        return
    yield from run_script("firewall", render(
        "firewall.ps1.j2", action=action or "keep", rule=paths.FIREWALL_RULE, port=port,
        networks=list(networks), program_rules=others))


@operation()
def prune_versions(state: WindowsState, where: WindowsLayout, keep: int) -> Commands:
    old = desired.versions_to_prune(state, where, keep)
    if not old:
        host.noop(f"at most {keep} Ollama versions installed")
        return
    yield from run_script("prune-versions", render(
        "prune_versions.ps1.j2", directories=[rf"{where.install_dir}\{v}" for v in old]))


@operation()
def pull_models(models: list[str], url: str, retries: int, timeout: int) -> Commands:
    if not models:
        host.noop("every declared model is present")
        return
    yield from run_script("pull-models", render(
        "pull_models.ps1.j2", url=f"{url}/api/pull", models=list(models), retries=retries,
        timeout=timeout))


@operation()
def create_model(model: RenderedModel, where: WindowsLayout, url: str, client_host: str,
                 stale: bool) -> Commands:
    if not stale:
        host.noop(f"{model.name} is up to date")
        return
    yield FileUploadCommand(BytesIO(model.modelfile.encode("utf-8")),
                            paths.sftp_path(paths.modelfile_path(model.name)))
    yield from run_script("create-model", render(
        "create_model.ps1.j2", exe=where.exe, name=model.name, client_host=client_host,
        modelfile=paths.modelfile_path(model.name), digest_path=paths.digest_path(model.name),
        digest=model.digest, version_url=_version_url(url),
    ))


@operation()
def remove_models(models: list[str], records: list[str], where: WindowsLayout,
                  client_host: str) -> Commands:
    if not models and not records:
        host.noop("no undeclared models to remove")
        return
    yield from run_script("remove-models", render(
        "remove_models.ps1.j2", exe=where.exe, client_host=client_host, models=list(models),
        records=[p for name in records
                 for p in (paths.digest_path(name), paths.modelfile_path(name))],
    ))


@operation()
def skip(reason: str) -> Commands:
    """A step that cannot run on this host now, said once in the output."""
    host.noop(reason)
    return
    yield  # a generator, like every operation


@operation()
def refuse(reason: str) -> Commands:
    """Fail this host alone, with the reason, leaving the rest of the fleet to run."""
    yield fail_host(reason)
