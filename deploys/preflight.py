"""Checks that need more than one value: controller-side files, and legal-but-suspicious values.

Both run for every host in the same pass as the settings themselves, before any host is
touched. Problems are errors; warnings are printed once before any change and again in the
closing summary, and become errors with ollama_strict: true.

Warning thresholds (documented on the fields in docs/settings.md):

- context_length below 2048 tokens
- num_parallel above 64
- max_queue above 10000
- origins with a wildcard (*) on a non-loopback bind
- service_user root
- expose_unauthenticated set (whether or not the bind is exposed)
- harden_unit off, allow_unverified_archive on
- a release downloaded over plain http:// with no fixed sha256
- keep_alive negative (models never unload) with more than one model declared
- the same model listed twice in models (as q and q:latest, say)
- model_registry_insecure set; a registry credentials file readable by other users
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .durations import parse_keep_alive
from .settings import OllamaSettings, _redact, key_name

MIN_CONTEXT_LENGTH = 2048
MAX_NUM_PARALLEL = 64
MAX_QUEUE = 10_000


@dataclass(frozen=True)
class Finding:
    field: str
    message: str

    def line(self, host_name: str, settings: OllamaSettings) -> str:
        value = getattr(settings, self.field, None)
        if hasattr(value, "model_dump"):
            value = value.model_dump(by_alias=True)
        shown = _redact(self.field, [], value)
        return (f"host {host_name}: {key_name(self.field, settings._env_sources)} = {shown}: "
                f"{self.message}")


# --- controller-side files ----------------------------------------------------------------------

def controller_problems(settings: OllamaSettings) -> list[Finding]:
    """Files the controller must read for this host: present, readable, of the right kind."""
    problems: list[Finding] = []
    proxy = settings.auth_proxy
    if proxy is not None:
        for attr, marker, kind in (
            ("tls_cert", "-----BEGIN CERTIFICATE-----", "a PEM certificate"),
            ("tls_key", "PRIVATE KEY-----", "a PEM private key"),
        ):
            path = getattr(proxy, attr)
            if path is None:
                continue
            problem = _pem_problem(Path(path).expanduser(), marker, kind)
            if problem:
                problems.append(Finding("auth_proxy", f"{attr} {path}: {problem}"))
    if settings.archive_file is not None:
        path = Path(settings.archive_file).expanduser()
        if not path.exists():
            problems.append(Finding("archive_file", f"{path} does not exist on the controller"))
        elif not (path.is_file() or path.is_dir()) or not os.access(path, os.R_OK):
            problems.append(Finding("archive_file", f"{path} is not a readable file or "
                                    "directory"))
    if settings.model_source is not None:
        store = Path(settings.model_source).expanduser()
        if not store.is_dir():
            problems.append(Finding(
                "model_source", f"{store} is not a directory on the controller; a model store "
                "is required when model_source is set (unset it to pull instead)"))
        else:
            missing = [d for d in ("manifests", "blobs") if not (store / d).is_dir()]
            if missing:
                problems.append(Finding(
                    "model_source", f"{store} is not an Ollama model store (no "
                    f"{' or '.join(d + '/' for d in missing)}); point it at an OLLAMA_MODELS "
                    "directory, such as ~/.ollama/models"))
    problems.extend(_registry_problems(settings))
    return problems


def _registry_problems(settings: OllamaSettings) -> list[Finding]:
    from .model_names import ModelNameError  # noqa: PLC0415
    from .model_registry import read_credentials, registry_reference  # noqa: PLC0415

    if settings.model_registry is None:
        return []
    found = []
    if settings.model_registry_ca_file is not None:
        path = settings.model_registry_ca_file
        problem = _pem_problem(Path(path).expanduser(), "-----BEGIN CERTIFICATE-----",
                               "a PEM certificate")
        if problem:
            found.append(Finding("model_registry_ca_file", f"{path}: {problem}"))
    if settings.model_registry_credentials_file is not None:
        path = Path(settings.model_registry_credentials_file).expanduser()
        if not path.is_file():
            found.append(Finding("model_registry_credentials_file",
                                 f"{path} does not exist on the controller (or is not a file)"))
        else:
            try:
                read_credentials(path)
            except ValueError as exc:
                found.append(Finding("model_registry_credentials_file", f"{path} {exc}"))
    for name in settings.models:
        try:
            registry_reference(name)
        except ModelNameError:
            continue  # reported by the model plan
        except ValueError as exc:
            found.append(Finding("models", f"cannot be fetched from model_registry: {exc}"))
    return found


def _pem_problem(path: Path, marker: str, kind: str) -> str | None:
    if not path.is_file():
        return "does not exist on the controller (or is not a file)"
    try:
        head = path.read_bytes()[:65536].decode("ascii", errors="replace")
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if marker not in head:
        return f"is not {kind} (no {marker.strip('-')} block)"
    return None


# --- warnings -----------------------------------------------------------------------------------

def warnings_for(settings: OllamaSettings) -> list[Finding]:
    """Legal but suspicious values: each names the setting and why it is suspicious."""
    found: list[Finding] = []
    bind = settings.bind
    if settings.context_length is not None and settings.context_length < MIN_CONTEXT_LENGTH:
        found.append(Finding("context_length", f"below {MIN_CONTEXT_LENGTH} tokens most "
                             "prompts (and every system prompt of note) are cut off"))
    if settings.num_parallel is not None and settings.num_parallel > MAX_NUM_PARALLEL:
        found.append(Finding("num_parallel", f"above {MAX_NUM_PARALLEL}: each parallel slot "
                             "multiplies the context memory; a typo?"))
    if settings.max_queue is not None and settings.max_queue > MAX_QUEUE:
        found.append(Finding("max_queue", f"above {MAX_QUEUE}: clients wait in a queue that "
                             "long instead of getting a quick 503"))
    if not bind.is_loopback and any("*" in origin for origin in settings.origins):
        found.append(Finding("origins", f"a wildcard origin on a bind reachable from the "
                             f"network ({bind.env_value}) lets any matching web page use the "
                             "API from its visitors' browsers"))
    if settings.service_user == "root":
        found.append(Finding("service_user", "Ollama would run as root: a flaw in it, or a "
                             "model file it is told to create from, then reaches the whole host"))
    if settings.expose_unauthenticated:
        if bind.is_loopback:
            found.append(Finding("expose_unauthenticated", "set, but the bind is loopback, so "
                                 "it has no effect; remove it so it cannot silently apply later"))
        else:
            found.append(Finding("expose_unauthenticated", f"the unauthenticated API on "
                                 f"{bind.env_value} is acknowledged as exposed to the network"))
    if not settings.harden_unit and settings.platform == "linux":
        found.append(Finding("harden_unit", "the systemd sandboxing is off"))
    if settings.model_registry_insecure and settings.model_registry is not None:
        found.append(Finding("model_registry_insecure", "the registry may be reached over plain "
                             "HTTP: blobs are still verified by digest, but manifests and "
                             "credentials travel in clear"))
    if settings.model_registry_credentials_file is not None:
        path = Path(settings.model_registry_credentials_file).expanduser()
        try:
            if path.is_file() and path.stat().st_mode & 0o077:
                found.append(Finding("model_registry_credentials_file", f"{path} is readable by "
                                     "other users of the controller; chmod 600 it"))
        except OSError:
            pass
    if settings.allow_unverified_archive:
        found.append(Finding("allow_unverified_archive", "a release may be installed without "
                             "any checksum"))
    if (settings.archive_file is None and settings.sha256 is None
            and settings.archive_url.startswith("http://")):
        found.append(Finding("archive_url", "the release and its sha256sum.txt come over plain "
                             "HTTP: whoever can alter the traffic can alter both; use https or "
                             "set sha256"))
    if settings.keep_alive is not None:
        model_count = len(settings.models) + len(settings.custom_models)
        try:
            negative = parse_keep_alive(settings.keep_alive) < 0
        except ValueError:
            negative = False
        if negative and model_count > 1:
            found.append(Finding("keep_alive", f"negative: models never unload, and this host "
                                 f"declares {model_count}; memory fills up until requests fail"))
    seen: dict[str, str] = {}
    for name in settings.models:
        folded = _model_key(name)
        if folded is None:
            continue
        if folded in seen:
            found.append(Finding("models", f"{seen[folded]!r} and {name!r} are the same model; "
                                 "list it once"))
        seen.setdefault(folded, name)
    return found


def _model_key(name: str) -> str | None:
    from .model_names import normalize_model_name  # noqa: PLC0415

    try:
        return normalize_model_name(name).lower()
    except ValueError:
        return None
