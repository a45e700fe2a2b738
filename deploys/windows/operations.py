"""Windows operations: each decides from the one state fact and yields encoded PowerShell.

Every operation is a no-op when the fact shows nothing to do, so an unchanged host costs one
round trip (the fact) and nothing else.
"""

from __future__ import annotations

from collections.abc import Generator
from io import BytesIO
from typing import Any

from pyinfra import host
from pyinfra.api import FileUploadCommand, operation

from ..hostcmd import fail_host
from ..model_plan import RenderedModel
from . import desired, paths
from .archive import ReleaseSource, staged_path
from .desired import EnvChange, WindowsLayout
from .facts import WindowsState
from .powershell import ps_command, render

Commands = Generator[Any, None, None]


@operation()
def directories(state: WindowsState, where: WindowsLayout) -> Commands:
    wanted = {"modelfiles": paths.MODELFILES_DIR, "staged": paths.STAGED_DIR,
              "logs": paths.LOGS_DIR, "models": where.models_dir}
    missing = [path for key, path in wanted.items() if not state["dirs"][key]]
    grant = where.server and desired.needs_grant(state, where.account)
    if not missing and not grant:
        host.noop("ollama-fleet folders exist")
        return
    yield ps_command(render(
        "directories.ps1.j2",
        directories=missing,
        grant_account=desired.principal(where.account)[0] if grant else None,
        grant_dirs=[where.models_dir, paths.LOGS_DIR],
    ))


@operation()
def install_server(state: WindowsState, where: WindowsLayout, source: ReleaseSource,
                   allow_unverified: bool) -> Commands:
    if desired.installed_version(state, where) == where.version:
        host.noop(f"Ollama {where.version} is installed")
        return
    staged = staged_path(source)
    if source.local_file:
        yield FileUploadCommand(str(source.local_file), paths.sftp_path(staged))
    yield ps_command(render(
        "install_zip.ps1.j2",
        version=where.version, install_dir=where.install_dir, zip_path=staged,
        download_url=source.url, checksums_url=source.checksums_url,
        sha256=source.sha256 or "", filename=source.filename,
        allow_unverified=allow_unverified,
    ))


@operation()
def install_desktop(state: WindowsState, where: WindowsLayout, source: ReleaseSource) -> Commands:
    if desired.installed_version(state, where) == where.version:
        host.noop(f"Ollama {where.version} (desktop) is installed")
        return
    staged = staged_path(source)
    if source.local_file:
        yield FileUploadCommand(str(source.local_file), paths.sftp_path(staged))
    yield ps_command(render(
        "install_desktop.ps1.j2",
        version=where.version, install_dir=where.install_dir, setup_path=staged,
        download_url=source.url, sha256=source.sha256 or "", logs_dir=paths.LOGS_DIR,
    ))


@operation()
def machine_environment(change: EnvChange, secret_names: list[str]) -> Commands:
    if not change.changed:
        host.noop("machine environment is up to date")
        return
    script = render("environment.ps1.j2", set=change.set, remove=list(change.remove),
                    managed=list(change.managed), registry_key=paths.REGISTRY_KEY)
    # A secret travels inside the script: keep the whole command out of pyinfra's output.
    secret = any(name.upper() in {s.upper() for s in secret_names} for name in change.set)
    yield ps_command(script, secret=secret)


@operation()
def server_task(state: WindowsState, where: WindowsLayout) -> Commands:
    if desired.task_matches(state, where) and desired.launcher_matches(state, where):
        host.noop("the Ollama server task is up to date")
        return
    user_id, logon_type = desired.principal(where.account)
    yield ps_command(render(
        "server_task.ps1.j2",
        launcher_path=paths.SERVE_SCRIPT,
        launcher_b64=desired.b64(desired.serve_script_bytes(where)),
        execute=paths.POWERSHELL_EXE, arguments=desired.launcher_arguments(paths.SERVE_SCRIPT),
        user_id=user_id, logon_type=logon_type, restart_count=desired.TASK_RESTART_COUNT,
        task_path=paths.TASK_PATH, task_name=paths.SERVER_TASK,
    ))


@operation()
def restart(where: WindowsLayout, needed: bool) -> Commands:
    """Restart the service task or the tray app; the deploy gates it on earlier changes."""
    if not needed:
        host.noop("nothing changed that needs a restart")
        return
    if where.server:
        yield ps_command(render("restart_server.ps1.j2", task_path=paths.TASK_PATH,
                                task_name=paths.SERVER_TASK, install_dir=where.install_dir))
        return
    yield ps_command(render(
        "restart_desktop.ps1.j2",
        launcher_path=paths.APP_SCRIPT, launcher_b64=desired.b64(desired.app_script_bytes(where)),
        execute=paths.POWERSHELL_EXE,
        arguments=desired.launcher_arguments(paths.APP_SCRIPT, hidden=True),
        task_path=paths.TASK_PATH, task_name=paths.APP_TASK,
    ))


@operation()
def health_check(url: str, version: str, timeout: int, desktop: bool, needed: bool) -> Commands:
    if not needed:
        host.noop("no restart, so no health check")
        return
    yield ps_command(render("health.ps1.j2", url=f"{url}/api/version", version=version,
                            timeout=timeout, desktop=desktop))


@operation()
def firewall(state: WindowsState, networks: list[str], port: int) -> Commands:
    action = desired.firewall_action(state, networks, port)
    if action is None:
        host.noop("firewall rule is as declared" if networks else "no firewall rule to manage")
        return
    yield ps_command(render("firewall.ps1.j2", action=action, rule=paths.FIREWALL_RULE,
                            port=port, networks=list(networks)))


@operation()
def prune_versions(state: WindowsState, where: WindowsLayout, keep: int) -> Commands:
    old = desired.versions_to_prune(state, where, keep)
    if not old:
        host.noop(f"at most {keep} Ollama versions installed")
        return
    yield ps_command(render("prune_versions.ps1.j2",
                            directories=[rf"{where.install_dir}\{v}" for v in old]))


@operation()
def pull_models(models: list[str], url: str, retries: int, timeout: int) -> Commands:
    if not models:
        host.noop("every declared model is present")
        return
    yield ps_command(render("pull_models.ps1.j2", url=f"{url}/api/pull", models=list(models),
                            retries=retries, timeout=timeout))


@operation()
def create_model(model: RenderedModel, where: WindowsLayout, client_host: str,
                 stale: bool) -> Commands:
    if not stale:
        host.noop(f"{model.name} is up to date")
        return
    yield FileUploadCommand(BytesIO(model.modelfile.encode("utf-8")),
                            paths.sftp_path(paths.modelfile_path(model.name)))
    yield ps_command(render(
        "create_model.ps1.j2", exe=where.exe, name=model.name, client_host=client_host,
        modelfile=paths.modelfile_path(model.name), digest_path=paths.digest_path(model.name),
        digest=model.digest,
    ))


@operation()
def remove_models(models: list[str], records: list[str], where: WindowsLayout,
                  client_host: str) -> Commands:
    if not models and not records:
        host.noop("no undeclared models to remove")
        return
    yield ps_command(render(
        "remove_models.ps1.j2", exe=where.exe, client_host=client_host, models=list(models),
        records=[p for name in records
                 for p in (paths.digest_path(name), paths.modelfile_path(name))],
    ))


@operation()
def refuse(reason: str) -> Commands:
    """Fail this host alone, with the reason, leaving the rest of the fleet to run."""
    yield fail_host(reason)
