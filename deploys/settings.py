"""One typed model for everything a host can be told: defaults, validation and documentation.

Values come from pyinfra data as ``ollama_<field>`` keys (group_data/all.py < group data < host
data < ``--data``), then ``OLLAMA_FLEET_<FIELD>`` environment variables override them, for CI
pipelines. Validation follows Ollama's own parsing rules but refuses every value that Ollama
would silently replace with a default.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pyinfra.api.exceptions import PyinfraError

from . import validation as rules
from .durations import ACCEPTED as DURATION_ACCEPTED
from .durations import parse_keep_alive
from .ollama_host import BindAddress, HostParseError, parse_ollama_host

DATA_PREFIX = "ollama_"
ENV_PREFIX = "OLLAMA_FLEET_"

UPSTREAM_RELEASES = "https://github.com/ollama/ollama/releases/download/v{version}"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")
# OLLAMA_FLEET_* variables of the project's own tooling (the lab and the test suites).
ENV_NAMESPACES_NOT_SETTINGS = ("LAB_", "TEST_")
# An allowlist wider than this counts as no allowlist (see allow_networks).
WIDEST_IPV4_PREFIX = 8
WIDEST_IPV6_PREFIX = 16
# Names of extra_env variables whose values are hidden in every message.
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSW|PWD|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)
# While settings_from_data validates: it reads the environment itself (to name the variable
# behind each value), and the fields already reported, whose cross-field rules are skipped.
_FROM_DATA: ContextVar[frozenset[str] | None] = ContextVar("_FROM_DATA", default=None)


def version_tuple(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.split("-")[0].split(".")
    return int(major), int(minor), int(patch)


def setting(default: Any = None, doc: str = "", accepted: str = "", *, env: str | None = None,
            env_from: str | None = None, env_platform: str | None = None,
            env_order: int | None = None, **kwargs: Any) -> Any:
    """A field whose description and accepted-values text feed both errors and docs.

    ``env`` names the server's environment variable the field becomes: the one place that name
    is written (environment(), secret_environment() and RESERVED_ENV are derived from it).
    ``env_from`` reads the value from another attribute (a derived property), ``env_platform``
    limits the variable to one platform, ``env_order`` puts it before the others (default: field
    order) so the rendered drop-in keeps its line order.
    """
    extra: dict[str, Any] = {"accepted": accepted} if accepted else {}
    for key, value in (("env", env), ("env_from", env_from), ("env_platform", env_platform),
                       ("env_order", env_order)):
        if value is not None:
            extra[key] = value
    return Field(default, description=doc, json_schema_extra=extra, **kwargs)


class FieldProblem(ValueError):
    """A cross-field problem that still names the one setting to change."""

    def __init__(self, field: str, message: str, depends: tuple[str, ...] = ()):
        super().__init__(message)
        self.field = field
        self.depends = frozenset((field, *depends))


class FieldProblems(ValueError):
    """Every cross-field problem at once (a model validator can raise only one error)."""

    def __init__(self, problems: list[FieldProblem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class CleanStrings(BaseModel):
    """Refuse control characters, edge whitespace and wrapping quotes in every string of the
    input, at any depth, before any rule about meaning (settings_from_data reports all of them;
    this catches direct construction)."""

    @model_validator(mode="before")
    @classmethod
    def _clean_strings(cls, data: Any) -> Any:
        for path, problem in rules.walk_strings(data, cls):
            where = ".".join(str(p) for p in path) or "value"
            raise ValueError(f"{where} {problem}")
        return data


def _check(rule: Any) -> Any:
    """An AfterValidator from a rule that returns a problem text or None."""

    def check(value: str) -> str:
        problem = rule(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


Origin = Annotated[str, _check(rules.origin_problem)]
NoProxyEntry = Annotated[str, _check(rules.no_proxy_problem)]


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR network like 10.0.0.0/8") from None


Network = Annotated[str, AfterValidator(_network)]


def covers_everyone(network: str) -> bool:
    """A network so wide that an allowlist holding it restricts nothing worth the name."""
    net = ipaddress.ip_network(network, strict=False)
    if isinstance(net, ipaddress.IPv6Network):
        mapped = ipaddress.ip_network("::ffff:0:0/96")
        if net.prefixlen <= 96 and mapped.subnet_of(net):
            return True  # holds every IPv4-mapped address
        if net.subnet_of(mapped):
            return net.prefixlen - 96 < WIDEST_IPV4_PREFIX
        return net.prefixlen < WIDEST_IPV6_PREFIX
    return net.prefixlen < WIDEST_IPV4_PREFIX


class Message(CleanStrings):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class CustomModel(CleanStrings):
    """A model built on the hosts with `ollama create`, from a short declaration or a template."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(description="Name of the model to create, e.g. qwen2.5:7b-32k")
    from_: str | None = Field(None, alias="from", description="Base model (or file) for FROM")
    parameters: dict[str, Any] = Field(default_factory=dict, description="PARAMETER lines")
    system: str | None = Field(None, description="SYSTEM prompt")
    template: str | None = Field(None, description="TEMPLATE (prompt template) text")
    messages: list[Message] = Field(default_factory=list, description="MESSAGE lines")
    modelfile: str | None = Field(
        None, description="Path of a Jinja2 Modelfile template rendered with the host's data"
    )

    @model_validator(mode="after")
    def _one_source(self) -> CustomModel:
        if (self.from_ is None) == (self.modelfile is None):
            raise ValueError(
                "give exactly one of 'from' (a declaration) or 'modelfile' (a template)")
        if self.modelfile and (self.parameters or self.system or self.template or self.messages):
            raise ValueError("'parameters', 'system', 'template' and 'messages' go with 'from', "
                             "not with 'modelfile' (put them in the Modelfile template)")
        return self


class AuthProxy(CleanStrings):
    """nginx in front of Ollama: TLS plus a bearer token or basic auth."""

    model_config = ConfigDict(extra="forbid")
    listen: str = Field("0.0.0.0", description="Address nginx listens on (an IP address)")
    port: int = Field(8443, ge=1, le=65535, description="Port nginx listens on (TLS)")
    tls_cert: str | None = Field(None, description="Controller path of a PEM certificate")
    tls_key: str | None = Field(None, description="Controller path of its PEM key")
    bearer_tokens: list[SecretStr] = Field(
        default_factory=list, description="Accepted `Authorization: Bearer` tokens"
    )
    basic_users: dict[str, SecretStr] = Field(
        default_factory=dict, description="Basic-auth users and their passwords"
    )

    @model_validator(mode="after")
    def _auth_and_tls(self) -> AuthProxy:
        if not self.bearer_tokens and not self.basic_users:
            raise ValueError("an auth proxy needs bearer_tokens or basic_users")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither (self-signed)")
        for token in self.bearer_tokens:
            if len(token.get_secret_value()) < 16 or re.search(r"\s", token.get_secret_value()):
                raise ValueError("bearer tokens must be at least 16 characters with no spaces")
        for user, password in self.basic_users.items():
            # htpasswd is "user:hash" per line; nginx splits at the first colon.
            if not re.fullmatch(r"[A-Za-z0-9._@-]+", user):
                raise ValueError(f"basic-auth user {user!r}: letters, digits, . _ @ - only")
            if not password.get_secret_value():
                raise ValueError(f"basic-auth user {user!r}: the password is empty")
        try:
            ipaddress.ip_address(self.listen)
        except ValueError:
            raise ValueError(f"listen {self.listen!r} is not an IP address") from None
        return self


# Where the deploy may hand a directory to the service user (deploys/validation.py).
OS_TREES_RULE = (
    "Inside the OS's trees (/etc, /usr, /var/lib, /var/log, /var/cache, /var/spool, /root, "
    "/home, /lib*, ...) only a folder of Ollama's own (a path segment starting with ollama or "
    ".ollama); anywhere under /srv, /opt, /mnt, /data.")


class OllamaSettings(BaseSettings, CleanStrings):
    """Everything ollama-fleet manages on one host."""

    # Where each value came from: field -> OLLAMA_FLEET_* variable, for the ones set that way.
    _env_sources: dict[str, str] = PrivateAttr(default_factory=dict)

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", populate_by_name=True, case_sensitive=False,
        validate_default=True,
    )

    # --- what runs where --------------------------------------------------------------------
    platform: Literal["linux", "windows"] = setting(
        "linux", "Operating system family of the host.", "linux or windows")
    version: str = setting(
        ..., "Ollama release to install (pinned, no 'latest').", "a release number like 0.13.5")

    # --- install ----------------------------------------------------------------------------
    archive_url: str = setting(
        UPSTREAM_RELEASES + "/{filename}",
        "URL the hosts download the release from; {version}, {filename} and {arch} are filled in.",
        "an http(s) URL; placeholders {version}, {filename}, {arch} only (a literal brace is "
        "{{ or }})")
    checksums_url: str = setting(
        UPSTREAM_RELEASES + "/sha256sum.txt",
        "URL of the release's sha256sum.txt, used when sha256 is not given.",
        "an http(s) URL; placeholders {version}, {filename}, {arch} only")
    archive_file: str | None = setting(
        None, "Release archive on the controller, uploaded to the hosts instead of downloading "
        "(air-gapped fleets). A directory holding the release files also works. Checked on the "
        "controller before any host is touched.", "an existing file or directory on the "
        "controller")
    archive_format: Literal["auto", "tgz", "tar.zst"] = setting(
        "auto", "Archive format; auto picks tar.zst from 0.14.0 on and tgz before, as upstream.",
        "auto, tgz or tar.zst")
    sha256: str | None = setting(
        None, "Expected SHA-256 of the archive; otherwise taken from the release's sha256sum.txt.",
        "64 hexadecimal digits", pattern=r"^[0-9a-fA-F]{64}$")
    allow_unverified_archive: bool = setting(
        False, "Install even when no checksum can be checked (explicit opt-out; not advised).")
    gpu: Literal["auto", "nvidia", "amd", "jetson", "none"] = setting(
        "auto", "GPU the Linux install is for: auto detects it on each host (PCI devices, "
        "/etc/nv_tegra_release), as upstream's installer does. amd adds the ROCm archive, jetson "
        "the JetPack 5/6 archive; a GPU without a working driver is warned about (an error with "
        "strict), since Ollama would quietly run on the CPU. See docs/gpu.md.",
        "auto, nvidia, amd, jetson or none")
    install_dir: str = setting(
        "/opt/ollama", "Root of the versioned installs: versions/<version>/ and a current link. "
        "Never a system directory (/, /usr, /opt, /var/lib, ...) nor an ancestor of one, and "
        "not inside models_dir or service_home (the service user owns those). " + OS_TREES_RULE,
        "a normalised absolute path (no ., .., //, trailing /)")
    keep_versions: int = setting(
        2, "Installed versions kept for rollback, the running one included.", "1 or more", ge=1)
    bin_link: str = setting(
        "/usr/local/bin/ollama", "Symlink to the current ollama binary, for operators' shells. "
        "Its name starts with ollama, it is not in a directory the distribution's packages own "
        "(/bin, /usr/bin, /sbin, /usr/sbin, ...), and the Linux deploy only replaces a symbolic "
        "link (never a file) there.",
        "a normalised absolute path whose last part starts with ollama, e.g. "
        "/usr/local/bin/ollama")

    # --- service ----------------------------------------------------------------------------
    service_name: str = setting("ollama", "systemd unit name (without .service).",
                                "letters, digits, - and _", pattern=r"^[A-Za-z0-9_-]+$")
    service_user: str = setting("ollama", "System user the server runs as (root is warned "
                                "about: the API could then write anywhere).",
                                "a POSIX user name", pattern=r"^[a-z_][a-z0-9_-]*$")
    service_group: str = setting("ollama", "Primary group of the service user.",
                                 "a POSIX group name", pattern=r"^[a-z_][a-z0-9_-]*$")
    service_home: str = setting("/usr/share/ollama", "Home directory of the service user "
                                "(created and chowned to it; never a system directory). "
                                + OS_TREES_RULE, "a normalised absolute path")
    models_dir: str = setting(
        "/usr/share/ollama/.ollama/models", "OLLAMA_MODELS: where models are stored (chowned to "
        "the service user; never a system directory nor inside install_dir). " + OS_TREES_RULE,
        "a normalised absolute path", env="OLLAMA_MODELS", env_platform="linux", env_order=1)
    models_dir_migration: Literal["refuse", "copy"] = setting(
        "refuse", "What to do when models_dir changes and the old one holds models: refuse the "
        "change, or copy the models across (the old directory is kept).", "refuse or copy")
    harden_unit: bool = setting(
        True, "Add systemd sandboxing (ProtectSystem, PrivateTmp, ...) that Ollama tolerates.")
    health_check_models: bool = setting(
        True, "After a restart, also require the declared models the host already had to be "
        "listed by the API (a wrong models_dir or a permissions slip shows up here).")
    command_timeout: int = setting(
        1800, "Seconds one remote step may take before that host is failed, so a host that "
        "vanishes mid-run cannot stall the fleet.", "10 or more", ge=10)
    health_timeout: int = setting(
        60, "Seconds to wait for the API to answer after a (re)start.", "1 to 3600",
        ge=1, le=3600)

    # --- Ollama's environment ---------------------------------------------------------------
    host: str = setting(
        "127.0.0.1", "Bind address (OLLAMA_HOST); may carry a port.",
        "an IP address or RFC 1123 host name, optionally http:// and :port, e.g. 127.0.0.1, "
        "0.0.0.0:8080, [::1]:11434, :11434 (all interfaces); IPv6 in brackets before a port",
        env="OLLAMA_HOST", env_from="bind_env", env_order=0)
    port: int | None = setting(
        None, "Port, folded into OLLAMA_HOST (Ollama has no OLLAMA_PORT).", "1 to 65535",
        ge=1, le=65535, env="OLLAMA_HOST", env_from="bind_env", env_order=0)
    keep_alive: str | int | None = setting(
        None, "OLLAMA_KEEP_ALIVE: how long an idle model stays loaded.", DURATION_ACCEPTED,
        env="OLLAMA_KEEP_ALIVE")
    load_timeout: str | int | None = setting(
        None, "OLLAMA_LOAD_TIMEOUT: how long a model load may stall.", DURATION_ACCEPTED,
        env="OLLAMA_LOAD_TIMEOUT")
    context_length: int | None = setting(
        None, "OLLAMA_CONTEXT_LENGTH: default context window (Ollama 0.5.13 and later). Below "
        "2048 is warned about (most prompts would be cut).",
        "a whole number of tokens, 1 or more", ge=1, env="OLLAMA_CONTEXT_LENGTH")
    num_parallel: int | None = setting(
        None, "OLLAMA_NUM_PARALLEL: parallel requests per model (each multiplies the context "
        "memory; above 64 is warned about).", "a whole number, 1 or more",
        ge=1, env="OLLAMA_NUM_PARALLEL")
    max_loaded_models: int | None = setting(
        None, "OLLAMA_MAX_LOADED_MODELS: models loaded at once (0 = automatic).",
        "a whole number, 0 or more", ge=0, env="OLLAMA_MAX_LOADED_MODELS")
    max_queue: int | None = setting(
        None, "OLLAMA_MAX_QUEUE: queued requests before 503 (above 10000 is warned about).",
        "a whole number, 1 or more", ge=1, env="OLLAMA_MAX_QUEUE")
    flash_attention: bool | None = setting(
        None, "OLLAMA_FLASH_ATTENTION: force flash attention on or off.", "true or false",
        env="OLLAMA_FLASH_ATTENTION")
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] | None = setting(
        None, "OLLAMA_KV_CACHE_TYPE: K/V cache quantisation.", "f16, q8_0 or q4_0",
        env="OLLAMA_KV_CACHE_TYPE")
    origins: list[Origin] = setting(
        [], "OLLAMA_ORIGINS: extra allowed CORS origins (CORS only, not authentication). A "
        "wildcard on a non-loopback bind is warned about.",
        "a list of origins scheme://host[:port] such as https://app.example.com; one * per "
        "origin at most (https://*.example.com, app://*, or * alone); without a *, only http, "
        "https and browser-extension schemes (Ollama would not start otherwise)",
        env="OLLAMA_ORIGINS")
    gpu_overhead: int | None = setting(
        None, "OLLAMA_GPU_OVERHEAD: VRAM bytes to reserve per GPU.", "a whole number of bytes",
        ge=0, env="OLLAMA_GPU_OVERHEAD")
    sched_spread: bool | None = setting(
        None, "OLLAMA_SCHED_SPREAD: spread a model over all GPUs.", "true or false",
        env="OLLAMA_SCHED_SPREAD")
    noprune: bool | None = setting(
        None, "OLLAMA_NOPRUNE: do not prune unreferenced blobs at start.", "true or false",
        env="OLLAMA_NOPRUNE")
    debug: Literal[0, 1, 2] | None = setting(
        None, "OLLAMA_DEBUG: log level (1 debug, 2 trace).", "0, 1 or 2", env="OLLAMA_DEBUG")
    cuda_visible_devices: str | None = setting(
        None, "CUDA_VISIBLE_DEVICES: NVIDIA GPUs to use.", "comma-separated indexes or UUIDs",
        pattern=r"^[A-Za-z0-9,_-]*$", env="CUDA_VISIBLE_DEVICES")
    hip_visible_devices: str | None = setting(
        None, "HIP_VISIBLE_DEVICES: AMD GPUs to use.", "comma-separated indexes",
        pattern=r"^[0-9,-]*$", env="HIP_VISIBLE_DEVICES")
    rocr_visible_devices: str | None = setting(
        None, "ROCR_VISIBLE_DEVICES: AMD GPUs to use.", "comma-separated indexes or UUIDs",
        pattern=r"^[A-Za-z0-9,_-]*$", env="ROCR_VISIBLE_DEVICES")
    hsa_override_gfx_version: str | None = setting(
        None, "HSA_OVERRIDE_GFX_VERSION: ROCm GPU target override.", "a version like 10.3.0",
        pattern=r"^\d+\.\d+\.\d+$", env="HSA_OVERRIDE_GFX_VERSION")
    https_proxy: SecretStr | None = setting(
        None, "HTTPS_PROXY for model pulls; kept in a 0600 file, never printed.",
        "an http(s) proxy URL, credentials allowed", env="HTTPS_PROXY")
    no_proxy: list[NoProxyEntry] = setting(
        [], "NO_PROXY: hosts that bypass the proxy.",
        "host names (.example.com and *.example.com for subdomains), IP addresses or CIDR "
        "networks, optionally with :port, or *", env="NO_PROXY")
    extra_env: dict[str, str] = setting(
        {}, "Any other environment for the server (free-form). Values of names that look "
        "secret (TOKEN, KEY, SECRET, PASSWORD, ...) are hidden in messages.",
        "NAME: value pairs, single-line values; not HTTP_PROXY, not OLLAMA_PORT, not variables "
        "that have a setting of their own (in any letter case)")

    # --- models -----------------------------------------------------------------------------
    models: list[str] = setting([], "Models to pull, e.g. qwen2.5:7b.", "model names")
    custom_models: list[CustomModel] = setting(
        [], "Models to build with `ollama create`: a declaration (from, parameters, system, "
        "template, messages) or a Modelfile template.", "a list of declarations")
    prune_models: bool = setting(
        False, "Remove models present on the host but not declared (exact names only).")
    pull_retries: int = setting(3, "Attempts per model pull.", "1 to 20", ge=1, le=20)
    pull_timeout: int = setting(3600, "Seconds one pull may take.", "1 or more", ge=1)
    model_source: str | None = setting(
        None, "Controller-side Ollama model store to seed hosts from (offline distribution). "
        "Must exist and hold manifests/ and blobs/: a missing store is an error, never a "
        "silent fallback to pulling.", "an Ollama model store directory on the controller")
    model_registry: str | None = setting(
        None, "OCI registry (Distribution, Harbor, Artifactory, ...) the hosts fetch the models "
        "in models from, instead of pulling them from Ollama's registry: only missing blobs, "
        "each verified by its digest, the manifest last. A model's repository is derived from "
        "its name (qwen2.5:7b is <registry>/library/qwen2.5:7b, lower case); put it there once "
        "with `ollama-fleet push-model`. A model the registry lacks fails the host (no fallback "
        "to pulling). Linux hosts only; not with model_source.",
        "an https URL scheme://host[:port] without credentials (http only with "
        "model_registry_insecure)")
    model_registry_ca_file: str | None = setting(
        None, "Controller path of the PEM CA certificate(s) the hosts verify the registry's TLS "
        "certificate with (default: the host's system CAs). Sent with each fetch, not kept.",
        "a PEM certificate file on the controller")
    model_registry_insecure: bool = setting(
        False, "Allow a plain http:// model_registry (always warned about: blobs are still "
        "verified by digest, but credentials and manifests travel in clear).")
    model_registry_credentials_file: str | None = setting(
        None, "Controller path of a file holding one line user:password for the registry "
        "(basic auth, or the registry's bearer-token exchange). Sent to the host as a 0600 file "
        "for the fetch and removed after it; never on a command line, never printed.",
        "a readable file on the controller with one line user:password")

    # --- fleet operations -------------------------------------------------------------------
    rollout_batch: int | str = setting(
        "25%", "Hosts restarted at once: a count or a percentage of the fleet.",
        "a whole number like 2, or a percentage like 25%")
    rollout_max_failures: int = setting(
        0, "Failed hosts tolerated before the rollout stops.", "0 or more", ge=0)

    # --- security ---------------------------------------------------------------------------
    allow_networks: list[Network] = setting(
        [], "Networks allowed to reach the API; enforced by a host firewall. A network wider "
        f"than /{WIDEST_IPV4_PREFIX} (IPv4) or /{WIDEST_IPV6_PREFIX} (IPv6), such as 0.0.0.0/0 "
        "or ::/0, restricts nothing and counts as exposure (needs expose_unauthenticated).",
        f"CIDR networks like 10.0.0.0/8 or 2001:db8::/32, at most /{WIDEST_IPV4_PREFIX} and "
        f"/{WIDEST_IPV6_PREFIX} wide")
    expose_unauthenticated: bool = setting(
        False, "Acknowledge that a non-loopback bind without a (narrow enough) allow_networks "
        "exposes an unauthenticated API to the whole network. Always warned about when set.")
    auth_proxy: AuthProxy | None = setting(
        None, "Put nginx with TLS and token/basic auth in front of Ollama (Linux hosts only). "
        "tls_cert and tls_key are controller paths, checked for PEM content before any host is "
        "touched.")
    strict: bool = setting(
        False, "Treat every warning (legal but suspicious values, listed at the start and the "
        "end of the run) as an error, for CI pipelines.")

    # --- Windows ----------------------------------------------------------------------------
    windows_mode: Literal["server", "desktop"] = setting(
        "server", "Windows: headless service from the zip, or the desktop app installer.",
        "server or desktop")
    windows_install_dir: str = setting(
        r"C:\Program Files\Ollama", "Windows: root of the versioned installs (server mode). "
        "Never a drive root, C:\\Windows or below it, C:\\Program Files, C:\\ProgramData or "
        "C:\\Users themselves.", "a normalised absolute Windows path")
    windows_models_dir: str = setting(
        r"C:\ProgramData\Ollama\models", "Windows: OLLAMA_MODELS (same rules as "
        "windows_install_dir; the two do not nest).", "a normalised absolute Windows path",
        env="OLLAMA_MODELS", env_platform="windows", env_order=1)
    windows_service_account: str = setting(
        "SYSTEM", "Windows: account the scheduled task runs as (server mode).",
        "SYSTEM, NETWORK SERVICE or a user name")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: a CI pipeline's OLLAMA_FLEET_* overrides the inventory's data.
        if _FROM_DATA.get() is not None:
            return (init_settings,)  # settings_from_data has merged the environment already
        return env_settings, init_settings

    # --- field rules ------------------------------------------------------------------------
    # Strings arrive here already free of control characters, edge whitespace and wrapping
    # quotes (CleanStrings); nothing below strips or unquotes: the value checked is the value
    # written.
    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not SEMVER.fullmatch(value):
            raise ValueError("not a release number")
        return value

    @field_validator("install_dir", "service_home", "models_dir")
    @classmethod
    def _managed_dir(cls, value: str, info: ValidationInfo) -> str:
        why = {
            "install_dir": "ollama-fleet creates, replaces and on uninstall removes the "
                           "install_dir tree",
            "service_home": "ollama-fleet creates service_home and chowns it to the service "
                            "user, which would hand it",
            "models_dir": "ollama-fleet chowns models_dir to the service user, which would "
                          "hand it",
        }[str(info.field_name)]
        if why.endswith("hand it"):
            why += f" {value}"
        problem = rules.linux_path_problem(value, why)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("bin_link")
    @classmethod
    def _bin_link(cls, value: str) -> str:
        problem = rules.bin_link_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("windows_install_dir", "windows_models_dir")
    @classmethod
    def _windows_path(cls, value: str, info: ValidationInfo) -> str:
        why = ("ollama-fleet creates, grants access to and on uninstall removes "
               f"{info.field_name}")
        problem = rules.windows_path_problem(value, why)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("keep_alive", "load_timeout", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("a boolean is not a duration (true would mean 1 second)")
        return value

    @field_validator("keep_alive", "load_timeout")
    @classmethod
    def _duration(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_keep_alive(value)
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value:
            raise ValueError("empty; leave the setting out for the default 127.0.0.1")
        try:
            parsed = parse_ollama_host(value)
        except HostParseError as exc:
            raise ValueError(str(exc)) from exc
        if parsed.scheme == "https":
            raise ValueError("Ollama serves plain HTTP only; for TLS use auth_proxy")
        if parsed.path:
            raise ValueError("a path is not supported in a bind address")
        hostport = value.partition("://")[2] if "://" in value else value
        if hostport and not hostport.startswith(":"):
            problem = rules.host_port_problem(hostport)
            if problem:
                raise ValueError(problem)
        if value.startswith("http://") and not parsed.port_given:
            raise ValueError("an http:// address without a port means port 80 to Ollama, not "
                             "11434; write the port explicitly")
        return value

    @field_validator("archive_url", "checksums_url")
    @classmethod
    def _url(cls, value: str) -> str:
        problem = rules.url_template_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("model_registry")
    @classmethod
    def _registry_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        problem = rules.http_url_problem(value)
        if problem:
            raise ValueError(problem)
        if re.fullmatch(r"https?://[^/?#]+", value) is None:
            raise ValueError("a registry is scheme://host[:port]: no path, query or fragment "
                             "(a model's repository is derived from its name)")
        return value

    @field_validator("model_registry_ca_file", "model_registry_credentials_file")
    @classmethod
    def _controller_file(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("empty; leave the setting out instead")
        return value

    @field_validator("https_proxy")
    @classmethod
    def _proxy(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problem = rules.http_url_problem(value.get_secret_value(), credentials=True)
            if problem:
                # The value stays hidden: only the kind of problem is named.
                raise ValueError(f"not an http(s) proxy URL http(s)://[user:password@]host"
                                 f"[:port] ({problem.split(chr(39))[0].strip()})")
        return value

    @field_validator("extra_env")
    @classmethod
    def _extra_env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name")
            folded = name.upper()
            if folded == "HTTP_PROXY":
                raise ValueError(f"{name}: HTTP_PROXY breaks Ollama's clients; use https_proxy "
                                 "for pulls")
            if folded == "OLLAMA_PORT":
                raise ValueError(f"{name}: Ollama has no OLLAMA_PORT; use port")
            if folded in RESERVED_ENV_FOLDED:
                raise ValueError(f"{name} has a setting of its own: "
                                 f"{RESERVED_ENV_FOLDED[folded]}")
        return value

    @field_validator("rollout_batch")
    @classmethod
    def _batch(cls, value: int | str) -> int | str:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int):
            if value < 1:
                raise ValueError("a batch holds at least one host")
            return value
        match = re.fullmatch(r"(\d+)%", value)
        if not match or not 0 < int(match.group(1)) <= 100:
            raise ValueError("not a count or a percentage from 1% to 100%")
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> OllamaSettings:
        skip = _FROM_DATA.get() or frozenset()
        problems = [p for p in self._cross_field_problems() if not (p.depends & skip)]
        if problems:
            raise FieldProblems(problems)
        return self

    def _cross_field_problems(self) -> Iterator[FieldProblem]:
        """Every rule between settings; each problem names the settings it read."""
        bind = parse_ollama_host(self.host)
        if self.port is not None and bind.port_given and bind.port != self.port:
            yield FieldProblem("port", f"host {self.host!r} already carries port {bind.port}; "
                               "give the port once", ("host",))
        if self.context_length is not None and version_tuple(self.version) < (0, 5, 13):
            yield FieldProblem("context_length", "needs Ollama 0.5.13 or later; version "
                               f"{self.version} would ignore it", ("version",))
        exposed = not bind.is_loopback
        if self.auth_proxy is not None and self.platform == "windows":
            yield FieldProblem("auth_proxy", "auth_proxy is supported on Linux hosts only; a "
                               "Windows host would silently run without it", ("platform",))
        if exposed and self.auth_proxy is not None:
            yield FieldProblem("host", "with auth_proxy, Ollama must bind loopback (nginx is "
                               "the exposed side); set host to 127.0.0.1", ("auth_proxy",))
        if self.auth_proxy is not None and self.auth_proxy.port == self.bind.port:
            yield FieldProblem("auth_proxy", f"nginx and Ollama would both use port "
                               f"{self.bind.port}; give auth_proxy another port",
                               ("host", "port"))
        wide = [n for n in self.allow_networks if covers_everyone(n)]
        if exposed and wide and not self.expose_unauthenticated:
            yield FieldProblem(
                "allow_networks",
                f"{', '.join(wide)} admits (nearly) every address: a network wider than "
                f"/{WIDEST_IPV4_PREFIX} (IPv4) or /{WIDEST_IPV6_PREFIX} (IPv6) restricts "
                "nothing, so Ollama's unauthenticated API is exposed; narrow it to the networks "
                "that may connect, or set expose_unauthenticated: true to acknowledge the risk",
                ("host", "expose_unauthenticated"))
        elif exposed and not self.allow_networks and not self.expose_unauthenticated:
            yield FieldProblem(
                "host",
                f"{self.host!r} exposes Ollama's API, which has no authentication, to the "
                "network: anyone who reaches it can pull, create and delete models. Either set "
                "allow_networks to the networks that may connect (enforced by a firewall), or set "
                "expose_unauthenticated: true to acknowledge the risk (or use auth_proxy)",
                ("allow_networks", "expose_unauthenticated"))
        yield from self._registry_problems()
        yield from self._path_overlaps()
        yield from self._model_name_clashes()

    def _registry_problems(self) -> Iterator[FieldProblem]:
        if self.model_registry is None:
            for field in ("model_registry_ca_file", "model_registry_credentials_file",
                          "model_registry_insecure"):
                if getattr(self, field):
                    yield FieldProblem(field, "has no effect without model_registry; set "
                                       "model_registry or remove it", ("model_registry",))
            return
        if self.model_source is not None:
            yield FieldProblem("model_registry", "model_source and model_registry are two "
                               "sources for the same models; set one of them",
                               ("model_source",))
        if self.platform == "windows":
            yield FieldProblem("model_registry", "model_registry is supported on Linux hosts "
                               "only", ("platform",))
        if self.model_registry.startswith("http://") and not self.model_registry_insecure:
            yield FieldProblem("model_registry", "plain http is refused: use https (with "
                               "model_registry_ca_file for a private CA), or set "
                               "model_registry_insecure: true", ("model_registry_insecure",))

    def _path_overlaps(self) -> Iterator[FieldProblem]:
        owned = {"models_dir": self.models_dir, "service_home": self.service_home}
        for name, path in owned.items():
            if rules.is_within(self.install_dir, path):
                yield FieldProblem(
                    "install_dir", f"{self.install_dir} is inside {name} ({path}), which the "
                    "service user owns: it could replace the binaries that root and operators "
                    "run", (name,))
            if rules.is_within(self.bin_link, path):
                yield FieldProblem("bin_link", f"{self.bin_link} is inside {name} ({path}), "
                                   "which the service user owns", (name,))
        for name in ("models_dir", "service_home"):
            path = getattr(self, name)
            if rules.is_within(path, self.install_dir) and not rules.is_within(
                    self.install_dir, path):
                yield FieldProblem(
                    name, f"{path} is inside install_dir ({self.install_dir}), which uninstall "
                    "removes and which must stay root-owned", ("install_dir",))
        if rules.is_within(self.bin_link, self.install_dir):
            yield FieldProblem("bin_link", f"{self.bin_link} is inside install_dir "
                               f"({self.install_dir}); put the link outside it",
                               ("install_dir",))
        win_install, win_models = self.windows_install_dir, self.windows_models_dir
        if rules.windows_is_within(win_models, win_install) or rules.windows_is_within(
                win_install, win_models):
            yield FieldProblem(
                "windows_models_dir", f"{win_models} and windows_install_dir ({win_install}) "
                "nest: versions are pruned and uninstall removes the install directory",
                ("windows_install_dir",))

    def _model_name_clashes(self) -> Iterator[FieldProblem]:
        from .model_names import normalize_model_name  # noqa: PLC0415 - no import cycle at load

        def key(name: str) -> str | None:
            try:
                return normalize_model_name(name).lower()
            except ValueError:
                return None  # a bad name is reported by the model plan

        seen: dict[str, str] = {}
        for decl in self.custom_models:
            folded = key(decl.name)
            if folded is None:
                continue
            if folded in seen:
                yield FieldProblem(
                    "custom_models", f"{seen[folded]!r} and {decl.name!r} are the same model "
                    "(names compare as model:tag, ignoring letter case, like Ollama); declare "
                    "it once")
            seen.setdefault(folded, decl.name)
        for pulled in self.models:
            folded = key(pulled)
            if folded is not None and folded in seen:
                yield FieldProblem(
                    "custom_models", f"custom model {seen[folded]!r} has the name of the pulled "
                    f"model {pulled!r} in models; one would silently replace the other",
                    ("models",))

    # --- derived values ---------------------------------------------------------------------
    @property
    def bind(self) -> BindAddress:
        parsed = parse_ollama_host(self.host)
        port = self.port if self.port is not None else parsed.port
        return BindAddress("http", parsed.host, port, "", port_given=True)

    @property
    def archive_ext(self) -> str:
        if self.archive_format != "auto":
            return self.archive_format
        return "tar.zst" if version_tuple(self.version) >= (0, 14, 0) else "tgz"

    def archive_filename(self, arch: str) -> str:
        return f"ollama-linux-{arch}.{self.archive_ext}"

    @property
    def bind_env(self) -> str:
        """OLLAMA_HOST: host and port folded into one value (Ollama has no OLLAMA_PORT)."""
        return self.bind.env_value

    def environment(self) -> dict[str, str]:
        """The server's environment, secrets excluded (see secret_environment): every field
        with ``env`` metadata that has a value, then extra_env."""
        env = self._env_values(secret=False)
        env.update(self.extra_env)
        return env

    def secret_environment(self) -> dict[str, str]:
        """Variables that may hold credentials: written to a 0600 file, never printed."""
        return self._env_values(secret=True)

    def _env_values(self, secret: bool) -> dict[str, str]:
        found: list[tuple[int, str, str]] = []
        seen: set[str] = set()
        for field, var in env_fields(self.platform):
            if var in seen or (field in SECRET_FIELDS) != secret:
                continue
            extra = field_extra(field)
            text = env_text(getattr(self, str(extra.get("env_from", field))))
            if text is not None:
                seen.add(var)
                found.append((int(extra.get("env_order", ENV_ORDER_DEFAULT)), var, text))
        # sorted() is stable: equal orders keep the fields' declaration order.
        return {var: text for _, var, text in sorted(found, key=lambda item: item[0])}


ENV_ORDER_DEFAULT = 100


def field_extra(field: str) -> dict[str, Any]:
    """A settings field's metadata (accepted, env, env_from, env_platform, env_order)."""
    extra = OllamaSettings.model_fields[field].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def env_fields(platform: str | None = None) -> list[tuple[str, str]]:
    """(field, environment variable) for every field with ``env`` metadata, in field order;
    only those that apply on ``platform`` when it is given."""
    pairs = []
    for field in OllamaSettings.model_fields:
        extra = field_extra(field)
        if "env" not in extra:
            continue
        if platform is not None and extra.get("env_platform", platform) != platform:
            continue
        pairs.append((field, str(extra["env"])))
    return pairs


def env_text(value: Any) -> str | None:
    """A setting's value as an environment variable's text; None when unset (or empty list)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value) or None
    return str(value)


def secret_env_names() -> tuple[str, ...]:
    """The environment variables that may hold credentials (from the secret fields)."""
    return tuple(var for field, var in env_fields() if field in SECRET_FIELDS)


def _reserved_env() -> dict[str, str]:
    owners: dict[str, list[str]] = {}
    for field, var in env_fields():
        owners.setdefault(var, []).append(field)
    return {var: " / ".join(fields) for var, fields in owners.items()}


# Settings with a field of their own must not be smuggled in through extra_env (compared in
# upper case: Linux has both HTTPS_PROXY and https_proxy). Derived from the fields' env metadata.
RESERVED_ENV = _reserved_env()
RESERVED_ENV_FOLDED = {name.upper(): field for name, field in RESERVED_ENV.items()}


class SettingsError(PyinfraError, ValueError):
    """Every problem with every host's settings, in one message."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid ollama-fleet settings:\n{listing}")


SECRET_FIELDS = {"https_proxy"}
HIDDEN = "<hidden>"


def settings_from_data(
    data: Mapping[str, Any], host_name: str, environ: Mapping[str, str] | None = None
) -> OllamaSettings:
    """Build a host's settings from its pyinfra data and the OLLAMA_FLEET_* environment;
    raise SettingsError listing every problem, each naming the host, the setting (and the
    variable it came from), the value (secrets hidden) and what is accepted."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        if not key.startswith(DATA_PREFIX):
            continue
        field = key[len(DATA_PREFIX):]
        if field not in OllamaSettings.model_fields:
            hint = _closest(field)
            problems.append(f"host {host_name}: {key} is not a setting"
                            + (f"; did you mean {DATA_PREFIX}{hint}?" if hint else ""))
            continue
        values[field] = value
    env_values, sources, env_problems = _from_environment(environ)
    problems.extend(f"all hosts: {p}" for p in env_problems)  # the same for every host
    values.update(env_values)

    # Clean strings first, everywhere: a field holding one bad character is reported for that
    # and left out of the rules about meaning (which would only add noise about the same value).
    invalid: set[str] = set(_unparsed_env_fields(environ, sources))
    for field, value in list(values.items()):
        model = OllamaSettings if field in OllamaSettings.model_fields else None
        for path, problem in rules.walk_strings({field: value}, model):
            problems.append(_line(host_name, [str(p) for p in path], _at(value, path[1:]),
                                  problem, sources))
            invalid.add(field)
    for field in invalid:
        values.pop(field, None)

    settings: OllamaSettings | None = None
    try:
        settings = _validate(values, frozenset(invalid))
    except ValidationError as exc:
        bad = set(invalid)
        cross_ran = False
        for err in exc.errors():
            loc = err.get("loc", ())
            if err.get("type") == "missing" and loc and loc[0] in invalid:
                continue  # already reported, and left out for that reason
            problems.extend(_describe(host_name, err, sources))
            if loc and isinstance(loc[0], str) and loc[0] in OllamaSettings.model_fields:
                bad.add(loc[0])
            else:
                cross_ran = True
        if not cross_ran and not any(
                OllamaSettings.model_fields[f].is_required() for f in bad):
            # The rules between settings did not run; run them on the valid ones.
            retry = {k: v for k, v in values.items() if k not in bad}
            try:
                _validate(retry, frozenset(bad))
            except ValidationError as again:
                for err in again.errors():
                    if not err.get("loc"):
                        problems.extend(_describe(host_name, err, sources))
    if problems or settings is None:
        raise SettingsError(problems)
    settings._env_sources = dict(sources)
    return settings


def _validate(values: dict[str, Any], invalid: frozenset[str]) -> OllamaSettings:
    token = _FROM_DATA.set(invalid)
    try:
        return OllamaSettings(**values)
    finally:
        _FROM_DATA.reset(token)


def _from_environment(
    environ: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """OLLAMA_FLEET_<FIELD> values (JSON for lists, mappings and nested settings), the variable
    each came from, and the problems: unknown names, unreadable JSON."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):]
        if rest.upper().startswith(ENV_NAMESPACES_NOT_SETTINGS):
            continue
        field = rest.lower()
        if field not in OllamaSettings.model_fields:
            hint = _closest(field)
            problems.append(f"environment variable {name} is not a setting"
                            + (f"; did you mean {ENV_PREFIX}{hint.upper()}?" if hint else ""))
            continue
        raw = environ[name]
        sources[field] = name
        if _is_complex(OllamaSettings.model_fields[field].annotation):
            try:
                values[field] = json.loads(raw)
            except ValueError as exc:
                # Unreadable text cannot be redacted part by part: fields that may hold a
                # secret anywhere inside are not shown at all.
                shown = HIDDEN if field in ("auth_proxy", "extra_env") else _redact(field, [], raw)
                problems.append(
                    f"{DATA_PREFIX}{field} (from {name}) = {shown}: not JSON "
                    f"({exc}); lists and mappings are given as JSON, e.g. "
                    f"{name}='[\"a\", \"b\"]' or '{{\"NAME\": \"value\"}}'")
                values.pop(field, None)
                sources[field] = name
                continue
        else:
            values[field] = raw
    return values, sources, problems


def _unparsed_env_fields(environ: Mapping[str, str], sources: dict[str, str]) -> Iterator[str]:
    for field, name in sources.items():
        if _is_complex(OllamaSettings.model_fields[field].annotation):
            try:
                json.loads(environ[name])
            except ValueError:
                yield field


def _is_complex(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if get_origin(annotation) in (list, dict, tuple, set):
        return True
    if get_origin(annotation) is Annotated:
        return _is_complex(get_args(annotation)[0])
    return any(_is_complex(arg) for arg in get_args(annotation) if arg is not type(None))


def _closest(field: str) -> str | None:
    matches = difflib.get_close_matches(field, OllamaSettings.model_fields, n=1, cutoff=0.7)
    return matches[0] if matches else None


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return part  # a dict key is itself the bad value
    return value


def key_name(field: str, sources: Mapping[str, str] | None = None) -> str:
    """ollama_<field>, plus the variable it came from when an OLLAMA_FLEET_* one set it."""
    source = (sources or {}).get(field)
    return f"{DATA_PREFIX}{field}" + (f" (from {source})" if source else "")


def accepted_for(field: str) -> str:
    info = OllamaSettings.model_fields.get(field)
    if info is not None and isinstance(info.json_schema_extra, dict):
        return str(info.json_schema_extra.get("accepted", ""))
    return ""


def _line(host_name: str, loc: list[str], value: Any, reason: str,
          sources: Mapping[str, str], *, show_value: bool = True) -> str:
    field = loc[0] if loc else "settings"
    where = key_name(field, sources) if loc else "settings"
    if len(loc) > 1:
        where = where.replace(f"{DATA_PREFIX}{field}",
                              f"{DATA_PREFIX}{field}" + "".join(
                                  f"[{p}]" if rules.string_problem(p) is None else f"[{p!r}]"
                                  for p in loc[1:]), 1)
    text = f"host {host_name}: {where}"
    if loc and show_value:
        text += f" = {_redact(field, loc[1:], value)}"
    text += f": {reason}"
    accepted = accepted_for(field)
    if accepted:
        text += f" (accepted: {accepted})"
    return text


def _describe(host_name: str, err: Any, sources: Mapping[str, str] | None = None) -> list[str]:
    sources = sources or {}
    loc = [str(part) for part in err.get("loc", ())]
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblems | FieldProblem):
        found = problem.problems if isinstance(problem, FieldProblems) else [problem]
        data = err.get("input")
        lines = []
        for item in found:
            value = data.get(item.field) if isinstance(data, dict) else getattr(
                data, item.field, None)
            if isinstance(value, BaseModel):
                value = value.model_dump(by_alias=True)
            lines.append(_line(host_name, [item.field], value, str(item), sources))
        return lines
    if err.get("type") == "missing":  # the input is the whole model's, not this field's
        return [_line(host_name, loc, None, "missing: this setting has no default",
                      sources, show_value=False)]
    reason = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return [_line(host_name, loc, err.get("input"), reason, sources)]


def _redact(field: str, path: list[str] | tuple[Any, ...], value: Any) -> str:
    """repr of a value with its secrets replaced: the proxy URL, auth_proxy tokens and
    passwords, extra_env values whose name looks secret, credentials inside any URL."""
    path = [str(p) for p in path]
    if field in SECRET_FIELDS:
        return HIDDEN
    if isinstance(value, SecretStr):
        return HIDDEN
    if field == "auth_proxy":
        if path and path[0] in ("bearer_tokens", "basic_users"):
            if path[0] == "basic_users" and len(path) == 2 and value == path[1]:
                return repr(value)  # the bad part is the user name itself
            if len(path) >= 2 or not isinstance(value, (list, dict)):
                return HIDDEN
        value = _mask_auth(value)
    if field == "extra_env":
        if path and SECRET_NAME.search(path[0]) and value != path[0]:
            return HIDDEN
        if isinstance(value, dict):
            value = {k: HIDDEN if isinstance(k, str) and SECRET_NAME.search(k) else v
                     for k, v in value.items()}
    return re.sub(r"(://[^/@\s:]*:)[^/@\s]*@", r"\1<hidden>@", repr(value))


def _mask_auth(value: Any) -> Any:
    if isinstance(value, list):
        return [HIDDEN for _ in value]
    if isinstance(value, dict):
        masked = dict(value)
        if "bearer_tokens" in masked:
            tokens = masked["bearer_tokens"]
            masked["bearer_tokens"] = [HIDDEN for _ in tokens] if isinstance(
                tokens, list) else HIDDEN
        if "basic_users" in masked:
            users = masked["basic_users"]
            masked["basic_users"] = {u: HIDDEN for u in users} if isinstance(
                users, dict) else HIDDEN
        if all(isinstance(k, str) and not k.startswith(("bearer", "basic", "listen", "port",
                                                         "tls")) for k in masked):
            return {u: HIDDEN for u in masked}  # a basic_users mapping on its own
        return masked
    return value
