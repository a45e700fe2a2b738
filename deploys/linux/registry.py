"""Models from an OCI registry the fleet already runs: each host fetches what it lacks.

Like offline seeding (seed.py), only missing blobs move, each is verified by its digest on
arrival and the manifest is written last, at the path of the name the fleet declared; unlike
it, the bytes come from the registry, not through the controller. A host that already has a
declared model is not touched (no registry request at all), so a re-run fetches nothing.
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation

from ..hostcmd import upload_secret
from ..model_names import ModelNames, parse_model_name
from ..model_registry import curl_config, read_credentials, registry_reference
from ..render import render, sh_command
from ..settings import OllamaSettings
from .facts import LinuxHostState
from .models import present_models

INCOMING = ".ollama-fleet-fetch"


def registry_models(names: tuple[str, ...] | list[str]) -> list[dict]:
    """What the fetch script needs per model: the declared name, its repository and tag in the
    registry, and the manifest path (under manifests/) the declared name has on disk."""
    entries = []
    for name in names:
        ref = registry_reference(name)
        entries.append({"name": name, "repository": ref.repository, "tag": ref.tag,
                        "relpath": parse_model_name(name).manifest_path.removeprefix(
                            "manifests/")})
    return entries


@operation()
def fetch_models(settings: OllamaSettings, names: tuple[str, ...], current: LinuxHostState):
    present = present_models(current)
    missing = [name for name in ModelNames(names) if name not in present]
    if not missing:
        host.noop("models from the registry are present")
        return
    incoming = f"{settings.models_dir}/{INCOMING}"
    yield StringCommand(sh_command("rm", "-rf", incoming) + " && "
                        + sh_command("install", "-d", "-m", "0700", incoming))
    if settings.model_registry_credentials_file:
        user, password = read_credentials(
            Path(settings.model_registry_credentials_file).expanduser())
        yield from upload_secret(curl_config(user, password), f"{incoming}/auth.conf",
                                 "registry-auth.conf")
    if settings.model_registry_ca_file:
        yield FileUploadCommand(str(Path(settings.model_registry_ca_file).expanduser()),
                                f"{incoming}/ca.pem")
    yield StringCommand(render(
        "linux/registry_fetch.sh.j2", incoming=incoming, models_dir=settings.models_dir,
        user=settings.service_user, group=settings.service_group,
        registry=settings.model_registry, models=registry_models(missing),
        credentials=bool(settings.model_registry_credentials_file),
        ca_file=bool(settings.model_registry_ca_file),
        proto="=http,https" if settings.model_registry_insecure else "=https",
        timeout=settings.pull_timeout,
    ))
