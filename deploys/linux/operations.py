"""Linux operations. Each decides from the one state fact and yields nothing when all is well."""

from __future__ import annotations

from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..hostcmd import fail_host, upload_secret
from ..render import render, shell_quote
from ..rollout import gate
from ..settings import OllamaSettings
from .facts import LinuxHostState
from .layout import STAGING_DIR, STATE_DIR, Layout, ManagedFile
from .release import ReleaseSource

UPLOAD_DIR = f"{STATE_DIR}/uploads"


@operation()
def service_account(settings: OllamaSettings, current: LinuxHostState):
    """The system user and group, as upstream's installer makes them, plus GPU groups."""
    user, group = settings.service_user, settings.service_group
    wanted_groups = sorted(current.extra_groups)
    missing_groups = [g for g in wanted_groups if g not in current.user_groups]
    if current.user and current.group_exists and not missing_groups:
        host.noop(f"user {user} exists")
        return
    script = ["set -e"]
    if not current.group_exists:
        quoted = shell_quote(group)
        script.append(f"getent group {quoted} >/dev/null || groupadd -r {quoted}")
    if not current.user:
        script.append(
            f"useradd -r -s /bin/false -g {shell_quote(group)} -m -d "
            f"{shell_quote(settings.service_home)} {shell_quote(user)}"
        )
    for extra in missing_groups:
        script.append(f"usermod -a -G {shell_quote(extra)} {shell_quote(user)}")
    yield StringCommand("\n".join(script))


@operation()
def directories(settings: OllamaSettings, current: LinuxHostState):
    """Install, state and models directories; the models path must be traversable by the user."""
    blocked = untraversable_parents(settings, current)
    if blocked:
        yield fail_host(
            f"the service user {settings.service_user} cannot reach models_dir "
            f"{settings.models_dir}: {', '.join(blocked)} lack(s) execute permission for it "
            "(Ollama would fail with 'permission denied'); grant o+x or move models_dir"
        )
        return
    owner = current.models_dir
    models_ok = owner is not None and (owner.user, owner.group) == (
        settings.service_user, settings.service_group)
    service_owner = f"{settings.service_user}:{settings.service_group}"
    home_dirs = (settings.service_home, f"{settings.service_home}/.ollama")
    dirs_ok = all(
        path in current.dirs and (path not in home_dirs or current.dirs[path] == service_owner)
        for path in required_dirs(settings)
    )
    if models_ok and dirs_ok:
        host.noop("directories exist")
        return
    user, group = shell_quote(settings.service_user), shell_quote(settings.service_group)
    models = shell_quote(settings.models_dir)
    yield StringCommand(
        "set -e\n"
        f"install -d -m 0755 {shell_quote(settings.install_dir + '/versions')}\n"
        f"install -d -m 0755 {STATE_DIR} {STATE_DIR}/modelfiles\n"
        f"install -d -m 0700 {STAGING_DIR} {UPLOAD_DIR}\n"
        f"install -d -m 0755 -o {user} -g {group} {shell_quote(settings.service_home)}\n"
        # Ollama writes its key pair to $HOME/.ollama at start, so that must be the user's.
        f"install -d -m 0755 -o {user} -g {group} {shell_quote(settings.service_home)}/.ollama\n"
        f"mkdir -p {models}\n"
        f"chown {user}:{group} {models}\n"
        f"chmod u+rwx {models}"
    )


def required_dirs(settings: OllamaSettings) -> tuple[str, ...]:
    return (f"{settings.install_dir}/versions", STATE_DIR, f"{STATE_DIR}/modelfiles", STAGING_DIR,
            UPLOAD_DIR, settings.service_home, f"{settings.service_home}/.ollama")


def untraversable_parents(settings: OllamaSettings, current: LinuxHostState) -> list[str]:
    """Parent directories of models_dir the service user could not pass through."""
    groups = set(current.user_groups) | {settings.service_group}
    blocked = []
    for path, owner in current.parents.items():
        if owner.mode & 0o001:
            continue
        if owner.user == settings.service_user and owner.mode & 0o100:
            continue
        if owner.group in groups and owner.mode & 0o010:
            continue
        blocked.append(path)
    return sorted(blocked)


@operation()
def release(settings: OllamaSettings, current: LinuxHostState, source: ReleaseSource):
    """Install the pinned release into versions/<version>, verified, whole or not at all."""
    if current.versions.get(settings.version):
        host.noop(f"Ollama {settings.version} is installed")
        return
    if source.problem:
        yield fail_host(source.problem)
        return
    uploaded = None
    if source.local_file is not None:
        uploaded = f"{UPLOAD_DIR}/{source.filename}"
        yield FileUploadCommand(str(source.local_file), uploaded)
    yield StringCommand(render(
        "linux/install.sh.j2",
        install_dir=settings.install_dir, version=settings.version, filename=source.filename,
        url=source.url, uploaded=uploaded, expected=source.sha256,
        checksums_url=source.checksums_url,
    ))


@operation()
def stage_config(files: tuple[ManagedFile, ...], current: LinuxHostState):
    """Upload changed unit/drop-in/secret files next to nothing live: activation renames them."""
    changed = [f for f in files if f.content is not None and current.files.get(f.key) != f.sha256]
    if not changed:
        host.noop("configuration files are current")
        return
    for managed in changed:
        assert managed.content is not None
        if not int(managed.mode, 8) & 0o004:  # not world-readable on the host: a secret
            yield from upload_secret(managed.content.encode(), managed.staged, managed.key)
        else:
            yield FileUploadCommand(BytesIO(managed.content.encode()), managed.staged)


@operation()
def activate(
    settings: OllamaSettings,
    layout: Layout,
    files: tuple[ManagedFile, ...],
    current: LinuxHostState,
    expected_models: frozenset[str] = frozenset(),
):
    """Go live and restart once, gated by the rollout; roll back on a failed health check."""
    digest = layout.applied_digest(files)
    reasons = restart_reasons(settings, files, digest, current)
    if not reasons:
        host.noop("running configuration is current")
        return
    entries = []
    for managed in files:
        changed = current.files.get(managed.key) != managed.sha256
        entries.append({
            "key": managed.key, "dest": managed.dest, "mode": managed.mode,
            "group": managed.group,
            "staged": managed.staged if changed and managed.content is not None else None,
            "absent": managed.content is None and changed,
        })
    yield gate()
    yield StringCommand(render(
        "linux/activate.sh.j2",
        state_dir=STATE_DIR, unit=layout.unit, install_dir=settings.install_dir,
        bin_link=settings.bin_link, files=entries, version=settings.version,
        api_url=settings.bind.client_url, timeout=settings.health_timeout, digest=digest,
        models_dir=settings.models_dir,
        expect_models=sorted(expected_models) if settings.health_check_models else [],
        enable=current.enabled != "enabled",
    ))


def restart_reasons(
    settings: OllamaSettings, files: tuple[ManagedFile, ...], digest: str,
    current: LinuxHostState,
) -> list[str]:
    reasons = []
    if current.applied != digest:
        reasons.append("configuration or release changed")
    edited = [f.dest for f in files if current.files.get(f.key) != f.sha256]
    if edited:
        reasons.append(f"{', '.join(edited)} differ(s) from the declared content")
    if current.active != "active":
        reasons.append(f"service is {current.active}")
    if current.enabled != "enabled":
        reasons.append(f"service is {current.enabled}, not enabled")
    if current.current != settings.version:
        reasons.append("current release link differs")
    if current.api_version != settings.version:
        reasons.append("API does not report the pinned version")
    return reasons


@operation()
def prune_versions(settings: OllamaSettings, current: LinuxHostState):
    """Keep the newest keep_versions releases (the pinned one always), remove the rest."""
    installed = set(current.versions) | {settings.version}
    keep = {settings.version}
    if current.current:
        keep.add(current.current)
    others = sorted(installed - keep, key=_version_key, reverse=True)
    room = max(0, settings.keep_versions - len(keep))
    doomed = others[room:]
    if not doomed:
        host.noop("no old releases to remove")
        return
    paths = " ".join(shell_quote(f"{settings.install_dir}/versions/{v}") for v in doomed)
    yield StringCommand(f"rm -rf {paths}")


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("-")[0].split("."))
    except ValueError:
        return (0,)




@operation()
def fail(reason: str):
    """Fail this host with a reason (and leave every other host alone)."""
    yield fail_host(reason)


@operation()
def models_dir_move(settings: OllamaSettings, current: LinuxHostState):
    """A new models_dir must not silently leave the models behind: copy them or refuse."""
    old = current.applied_models_dir
    if not old or old == settings.models_dir or current.old_models == 0:
        host.noop("models_dir unchanged")
        return
    if settings.models_dir_migration == "refuse":
        yield fail_host(
            f"models_dir changes from {old} (holding {current.old_models} model manifest(s)) "
            f"to {settings.models_dir}; Ollama would start with an empty store. Set "
            "ollama_models_dir_migration: copy to copy the models across (the old directory is "
            "kept), or move them yourself first"
        )
        return
    yield StringCommand(render(
        "linux/copy_models.sh.j2", old=old, new=settings.models_dir,
        user=settings.service_user, group=settings.service_group,
    ))
