"""Offline model distribution: copy only the blobs and manifests a host lacks, verified on arrival.

Blobs are content-addressed, so "lacks" is exact: a blob the host already has (same name, same
size) never crosses the wire again, and a re-run sends nothing.
"""

from __future__ import annotations

from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..hostcmd import note
from ..model_names import model_key_or_none
from ..model_source import StoredModel
from ..render import render, sh_command
from ..settings import OllamaSettings
from .facts import LinuxHostState

INCOMING = ".ollama-fleet-incoming"


@operation()
def seed_models(settings: OllamaSettings, models: tuple[StoredModel, ...],
                current: LinuxHostState):
    blobs = {}
    for model in models:
        for blob in model.blobs:
            if current.blobs.get(blob.name) != blob.size:
                blobs[blob.name] = blob
    # Which host manifest is the model's: the same identity, whatever case its path was
    # written in (the host's spelling is kept, so the host never holds two of one model).
    on_host = _host_manifests(current)
    manifests = [m for m in models
                 if current.manifests.get(on_host.get(m.key, m.manifest_relpath))
                 != m.manifest_sha256]
    if not blobs and not manifests:
        host.noop("seeded models are present")
        return
    incoming = f"{settings.models_dir}/{INCOMING}"
    yield StringCommand(sh_command("install", "-d", "-m", "0700", incoming))
    for blob in blobs.values():
        yield FileUploadCommand(str(blob.path), f"{incoming}/{blob.name}")
    staged = []
    for index, model in enumerate(manifests):
        name = f"manifest-{index}"
        yield FileUploadCommand(BytesIO(model.manifest), f"{incoming}/{name}")
        staged.append({"file": name, "relpath": on_host.get(model.key, model.manifest_relpath),
                       "sha256": model.manifest_sha256})
    yield StringCommand(render(
        "linux/seed.sh.j2", incoming=incoming, models_dir=settings.models_dir,
        user=settings.service_user, group=settings.service_group,
        blobs=[b.name for b in blobs.values()], manifests=staged,
    ))
    sent = sum(b.size for b in blobs.values()) + sum(len(m.manifest) for m in manifests)
    yield note(f"ollama-fleet: seeded {len(blobs)} blob(s) and {len(manifests)} manifest(s), "
               f"{sent} bytes sent")


def _host_manifests(current: LinuxHostState) -> dict[str, str]:
    """Model identity -> the manifest path (under manifests/) the host holds for it."""
    found: dict[str, str] = {}
    for relpath in sorted(current.manifests):
        parts = relpath.split("/")
        if len(parts) != 4:
            continue
        key = model_key_or_none("{}/{}/{}:{}".format(*parts))
        if key is not None:
            found.setdefault(key, relpath)
    return found
