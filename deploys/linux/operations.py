"""Linux operations. Each decides from the one state fact and yields nothing when all is well."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..hostcmd import fail_host
from ..managed import upload
from ..render import render, sh_command
from ..rollout import gate
from ..settings import OllamaSettings
from .facts import LinuxHostState, PathOwner
from .layout import STAGING_DIR, STATE_DIR, Layout, ManagedFile
from .probe import Probe, Shared
from .release import ReleaseSource, installed_addons

UPLOAD_DIR = f"{STATE_DIR}/uploads"
GPU_GROUPS = {"render", "video"}


# --- the state fact's probes for the install and the activation -----------------------------

def _parse_account(state: LinuxHostState, section: str, line: str) -> None:
    if section == "passwd" and line:  # getent passwd
        name, _, uid, gid, _gecos, home, shell = (line.split(":") + [""] * 7)[:7]
        state.user = {"name": name, "uid": uid, "gid": gid, "home": home, "shell": shell}
    elif section == "user_groups":  # id -Gn
        state.user_groups = set(line.split())
    elif section == "groups" and line:  # getent group
        state.groups_present.add(line.split(":", 1)[0])
    elif section == "paths":  # stat: "<user> <group> <octal mode> <path>"
        parts = line.split(" ", 3)
        if len(parts) == 4:
            state.paths[parts[3]] = PathOwner(parts[0], parts[1], int(parts[2], 8))


def _finish_account(state: LinuxHostState, shared: Shared) -> None:
    state.extra_groups = state.groups_present & GPU_GROUPS
    state.group_exists = bool(state.groups_present - GPU_GROUPS)


ACCOUNT_PROBE = Probe("account", "linux/probe_account.sh.j2",
                      sections=("passwd", "user_groups", "groups", "paths"),
                      parse=_parse_account, finish=_finish_account)


def _parse_service(state: LinuxHostState, key: str, value: str) -> None:
    if key == "service_unit":
        state.found["service_unit"] = value
    elif key == "applied":
        state.applied = value.strip() or None
    elif key == "applied_models_dir":
        state.applied_models_dir = value.strip() or None
    elif key == "old_models":
        state.old_models = int(value) if value.isdigit() else 0
    elif key == "api":
        state.api_version = _api_version(value)


def _finish_service(state: LinuxHostState, shared: Shared) -> None:
    props = shared.units.get(state.found.get("service_unit", ""))
    if props is not None:
        state.active = props.get("ActiveState") or "unknown"
        state.enabled = props.get("UnitFileState") or "not-found"


def _api_version(text: str) -> str | None:
    if text == "down":
        return None
    try:
        return str(json.loads(text)["version"])
    except (ValueError, KeyError, TypeError):
        return None


SERVICE_PROBE = Probe("service", "linux/probe_service.sh.j2",
                      keys=("service_unit", "applied", "applied_models_dir", "old_models", "api"),
                      parse=_parse_service, finish=_finish_service)


@operation()
def install(settings: OllamaSettings, current: LinuxHostState,
            sources: ReleaseSource | tuple[ReleaseSource, ...], addons: tuple[str, ...] = ()):
    """Service account, directories and the pinned release: one script, only the missing parts.

    The release goes into versions/<version>, verified, whole or not at all: the main archive
    and the GPU add-ons (``addons``, one source each after the main one) unpack into one tree,
    which records its add-ons, so a tree with other add-ons is rebuilt. Upstream's installer
    makes the same user and group, plus membership of the GPU groups present on the host.
    """
    sources = sources if isinstance(sources, tuple) else (sources,)
    blocked = untraversable_parents(settings, current)
    if blocked:
        yield fail_host(
            f"the service user {settings.service_user} cannot reach models_dir "
            f"{settings.models_dir}: {', '.join(blocked)} lack(s) execute permission for it "
            "(Ollama would fail with 'permission denied'); grant o+x or move models_dir"
        )
        return
    account = account_changes(current)
    make_dirs = not directories_ok(settings, current)
    addons = tuple(sorted(addons))
    need_release = (not current.versions.get(settings.version)
                    or installed_addons(current, settings.version) != addons)
    if not (account or make_dirs or need_release):
        host.noop(f"Ollama {settings.version} is installed")
        return
    if not need_release:
        yield install_script(settings, account, make_dirs)
        return
    problems = [s.problem for s in sources if s.problem]
    if problems:
        yield fail_host("; ".join(problems))
        return
    archives = [{"filename": s.filename, "url": s.url, "uploaded": None, "expected": s.sha256,
                 "checksums_url": s.checksums_url} for s in sources]
    release = {"version": settings.version, "archives": archives, "addons": " ".join(addons)}
    local = [(s, a) for s, a in zip(sources, archives, strict=True) if s.local_file is not None]
    if not local:
        yield install_script(settings, account, make_dirs, release)
        return
    # Air-gapped: the upload needs its directory first, so set up, upload, then unpack.
    if account or make_dirs:
        yield install_script(settings, account, make_dirs)
    for source, archive in local:
        archive["uploaded"] = f"{UPLOAD_DIR}/{source.filename}"
        yield FileUploadCommand(str(source.local_file), archive["uploaded"])
    yield install_script(settings, release=release)


def install_script(settings: OllamaSettings, account: dict | None = None,
                   make_dirs: bool = False, release: dict | None = None) -> StringCommand:
    return StringCommand(render(
        "linux/install.sh.j2", account=account, make_dirs=make_dirs, release=release,
        user=settings.service_user, group=settings.service_group, home=settings.service_home,
        install_dir=settings.install_dir, models_dir=settings.models_dir, state_dir=STATE_DIR,
        staging_dir=STAGING_DIR, upload_dir=UPLOAD_DIR,
    ))


def account_changes(current: LinuxHostState) -> dict | None:
    """What the service account lacks: its group, itself, GPU group memberships; None if nothing."""
    missing_groups = sorted(g for g in current.extra_groups if g not in current.user_groups)
    if current.user and current.group_exists and not missing_groups:
        return None
    return {"create_group": not current.group_exists, "create_user": not current.user,
            "add_groups": missing_groups}


def directories_ok(settings: OllamaSettings, current: LinuxHostState) -> bool:
    service = (settings.service_user, settings.service_group)
    home_dirs = (settings.service_home, f"{settings.service_home}/.ollama")
    owners = {path: current.owner(path) for path in (*required_dirs(settings), settings.models_dir)}
    return all(
        owner is not None
        and (path not in (*home_dirs, settings.models_dir) or (owner.user, owner.group) == service)
        for path, owner in owners.items()
    )


def required_dirs(settings: OllamaSettings) -> tuple[str, ...]:
    return (f"{settings.install_dir}/versions", STATE_DIR, f"{STATE_DIR}/modelfiles", STAGING_DIR,
            UPLOAD_DIR, settings.service_home, f"{settings.service_home}/.ollama")


def untraversable_parents(settings: OllamaSettings, current: LinuxHostState) -> list[str]:
    """Parent directories of models_dir the service user could not pass through."""
    groups = set(current.user_groups) | {settings.service_group}
    blocked = []
    for parent in PurePosixPath(settings.models_dir).parents:
        path = str(parent)
        owner = current.owner(path)
        if owner is None or owner.mode & 0o001:
            continue
        if owner.user == settings.service_user and owner.mode & 0o100:
            continue
        if owner.group in groups and owner.mode & 0o010:
            continue
        blocked.append(path)
    return sorted(blocked)


@operation()
def activate(
    settings: OllamaSettings,
    layout: Layout,
    files: tuple[ManagedFile, ...],
    current: LinuxHostState,
    expected_models: frozenset[str] = frozenset(),
    addons: tuple[str, ...] = (),
):
    """Stage changed files, go live and restart once, gated by the rollout; roll back on a
    failed health check. Staged files sit next to nothing live until the on-host script renames
    them into place, so a controller that dies mid-upload leaves the running service alone."""
    digest = layout.applied_digest(files, addons)
    reasons = restart_reasons(settings, files, digest, current)
    if not reasons:
        host.noop("running configuration is current")
        return
    yield gate()
    changed = [f for f in files if f.differs(current.files)]
    yield from upload(changed)
    entries = [f.step(changed=f in changed) for f in files]
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
    edited = [f.dest for f in files if f.differs(current.files)]
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
    yield StringCommand(sh_command("rm", "-rf", *(f"{settings.install_dir}/versions/{v}"
                                                   for v in doomed)))


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
