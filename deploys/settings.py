"""One typed model for everything a host can be told: defaults, validation and documentation.

Values come from pyinfra data as ``ollama_<field>`` keys (group_data/all.py < group data < host
data < ``--data``), then ``OLLAMA_FLEET_<FIELD>`` environment variables override them, for CI
pipelines. Validation follows Ollama's own parsing rules but refuses every value that Ollama
would silently replace with a default.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pyinfra.api.exceptions import PyinfraError

from .durations import ACCEPTED as DURATION_ACCEPTED
from .durations import parse_keep_alive
from .ollama_host import BindAddress, HostParseError, parse_ollama_host

DATA_PREFIX = "ollama_"
ENV_PREFIX = "OLLAMA_FLEET_"

UPSTREAM_RELEASES = "https://github.com/ollama/ollama/releases/download/v{version}"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")
# Settings with a field of their own must not be smuggled in through extra_env.
RESERVED_ENV = {
    "OLLAMA_HOST": "host / port", "OLLAMA_MODELS": "models_dir", "OLLAMA_KEEP_ALIVE": "keep_alive",
    "OLLAMA_CONTEXT_LENGTH": "context_length", "OLLAMA_NUM_PARALLEL": "num_parallel",
    "OLLAMA_MAX_LOADED_MODELS": "max_loaded_models", "OLLAMA_MAX_QUEUE": "max_queue",
    "OLLAMA_LOAD_TIMEOUT": "load_timeout", "OLLAMA_FLASH_ATTENTION": "flash_attention",
    "OLLAMA_KV_CACHE_TYPE": "kv_cache_type", "OLLAMA_ORIGINS": "origins",
    "OLLAMA_GPU_OVERHEAD": "gpu_overhead", "OLLAMA_SCHED_SPREAD": "sched_spread",
    "OLLAMA_NOPRUNE": "noprune", "OLLAMA_DEBUG": "debug", "HTTPS_PROXY": "https_proxy",
    "https_proxy": "https_proxy", "NO_PROXY": "no_proxy", "no_proxy": "no_proxy",
    "CUDA_VISIBLE_DEVICES": "cuda_visible_devices", "HIP_VISIBLE_DEVICES": "hip_visible_devices",
    "ROCR_VISIBLE_DEVICES": "rocr_visible_devices",
    "HSA_OVERRIDE_GFX_VERSION": "hsa_override_gfx_version",
}


def version_tuple(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.split("-")[0].split(".")
    return int(major), int(minor), int(patch)


def setting(default: Any = None, doc: str = "", accepted: str = "", **kwargs: Any) -> Any:
    """A field whose description and accepted-values text feed both errors and docs."""
    extra = {"accepted": accepted} if accepted else {}
    return Field(default, description=doc, json_schema_extra=extra, **kwargs)


class FieldProblem(ValueError):
    """A cross-field problem that still names the one setting to change."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class CustomModel(BaseModel):
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


class AuthProxy(BaseModel):
    """nginx in front of Ollama: TLS plus a bearer token or basic auth."""

    model_config = ConfigDict(extra="forbid")
    listen: str = Field("0.0.0.0", description="Address nginx listens on")
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
            if not password.get_secret_value() or "\n" in password.get_secret_value():
                raise ValueError(f"basic-auth user {user!r}: the password is empty or multi-line")
        try:
            ipaddress.ip_address(self.listen)
        except ValueError:
            raise ValueError(f"listen {self.listen!r} is not an IP address") from None
        return self


class OllamaSettings(BaseSettings):
    """Everything ollama-fleet manages on one host."""

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
        "an http(s) URL")
    checksums_url: str = setting(
        UPSTREAM_RELEASES + "/sha256sum.txt",
        "URL of the release's sha256sum.txt, used when sha256 is not given.", "an http(s) URL")
    archive_file: str | None = setting(
        None, "Release archive on the controller, uploaded to the hosts instead of downloading "
        "(air-gapped fleets). A directory holding the release files also works.",
        "a path on the controller")
    archive_format: Literal["auto", "tgz", "tar.zst"] = setting(
        "auto", "Archive format; auto picks tar.zst from 0.14.0 on and tgz before, as upstream.",
        "auto, tgz or tar.zst")
    sha256: str | None = setting(
        None, "Expected SHA-256 of the archive; otherwise taken from the release's sha256sum.txt.",
        "64 hexadecimal digits", pattern=r"^[0-9a-fA-F]{64}$")
    allow_unverified_archive: bool = setting(
        False, "Install even when no checksum can be checked (explicit opt-out; not advised).")
    install_dir: str = setting(
        "/opt/ollama", "Root of the versioned installs: versions/<version>/ and a current link.",
        "an absolute path")
    keep_versions: int = setting(
        2, "Installed versions kept for rollback, the running one included.", "1 or more", ge=1)
    bin_link: str = setting(
        "/usr/local/bin/ollama", "Symlink to the current ollama binary, for operators' shells.",
        "an absolute path")

    # --- service ----------------------------------------------------------------------------
    service_name: str = setting("ollama", "systemd unit name (without .service).",
                                "letters, digits, - and _", pattern=r"^[A-Za-z0-9_-]+$")
    service_user: str = setting("ollama", "System user the server runs as.",
                                "a POSIX user name", pattern=r"^[a-z_][a-z0-9_-]*$")
    service_group: str = setting("ollama", "Primary group of the service user.",
                                 "a POSIX group name", pattern=r"^[a-z_][a-z0-9_-]*$")
    service_home: str = setting("/usr/share/ollama", "Home directory of the service user.",
                                "an absolute path")
    models_dir: str = setting(
        "/usr/share/ollama/.ollama/models", "OLLAMA_MODELS: where models are stored.",
        "an absolute path")
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
        "an IP address or host name, optionally with :port, e.g. 127.0.0.1, 0.0.0.0:8080, [::1]")
    port: int | None = setting(
        None, "Port, folded into OLLAMA_HOST (Ollama has no OLLAMA_PORT).", "1 to 65535",
        ge=1, le=65535)
    keep_alive: str | int | None = setting(
        None, "OLLAMA_KEEP_ALIVE: how long an idle model stays loaded.", DURATION_ACCEPTED)
    load_timeout: str | int | None = setting(
        None, "OLLAMA_LOAD_TIMEOUT: how long a model load may stall.", DURATION_ACCEPTED)
    context_length: int | None = setting(
        None, "OLLAMA_CONTEXT_LENGTH: default context window (Ollama 0.5.13 and later).",
        "a whole number of tokens, 1 or more", ge=1)
    num_parallel: int | None = setting(
        None, "OLLAMA_NUM_PARALLEL: parallel requests per model.", "a whole number, 1 or more",
        ge=1)
    max_loaded_models: int | None = setting(
        None, "OLLAMA_MAX_LOADED_MODELS: models loaded at once (0 = automatic).",
        "a whole number, 0 or more", ge=0)
    max_queue: int | None = setting(
        None, "OLLAMA_MAX_QUEUE: queued requests before 503.", "a whole number, 1 or more", ge=1)
    flash_attention: bool | None = setting(
        None, "OLLAMA_FLASH_ATTENTION: force flash attention on or off.", "true or false")
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] | None = setting(
        None, "OLLAMA_KV_CACHE_TYPE: K/V cache quantisation.", "f16, q8_0 or q4_0")
    origins: list[str] = setting(
        [], "OLLAMA_ORIGINS: extra allowed CORS origins (CORS only, not authentication).",
        "a list of origins such as https://app.example.com", )
    gpu_overhead: int | None = setting(
        None, "OLLAMA_GPU_OVERHEAD: VRAM bytes to reserve per GPU.", "a whole number of bytes",
        ge=0)
    sched_spread: bool | None = setting(
        None, "OLLAMA_SCHED_SPREAD: spread a model over all GPUs.", "true or false")
    noprune: bool | None = setting(
        None, "OLLAMA_NOPRUNE: do not prune unreferenced blobs at start.", "true or false")
    debug: Literal[0, 1, 2] | None = setting(
        None, "OLLAMA_DEBUG: log level (1 debug, 2 trace).", "0, 1 or 2")
    cuda_visible_devices: str | None = setting(
        None, "CUDA_VISIBLE_DEVICES: NVIDIA GPUs to use.", "comma-separated indexes or UUIDs",
        pattern=r"^[A-Za-z0-9,_-]*$")
    hip_visible_devices: str | None = setting(
        None, "HIP_VISIBLE_DEVICES: AMD GPUs to use.", "comma-separated indexes",
        pattern=r"^[0-9,-]*$")
    rocr_visible_devices: str | None = setting(
        None, "ROCR_VISIBLE_DEVICES: AMD GPUs to use.", "comma-separated indexes or UUIDs",
        pattern=r"^[A-Za-z0-9,_-]*$")
    hsa_override_gfx_version: str | None = setting(
        None, "HSA_OVERRIDE_GFX_VERSION: ROCm GPU target override.", "a version like 10.3.0",
        pattern=r"^\d+\.\d+\.\d+$")
    https_proxy: SecretStr | None = setting(
        None, "HTTPS_PROXY for model pulls; kept in a 0600 file, never printed.",
        "an http(s) proxy URL, credentials allowed")
    no_proxy: list[str] = setting([], "NO_PROXY: hosts that bypass the proxy.", "host names")
    extra_env: dict[str, str] = setting(
        {}, "Any other environment for the server (free-form).",
        "NAME: value pairs; not HTTP_PROXY, not variables that have a setting of their own")

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
        None, "Controller-side Ollama model store to seed hosts from (offline distribution).",
        "a path on the controller")

    # --- fleet operations -------------------------------------------------------------------
    rollout_batch: int | str = setting(
        "25%", "Hosts restarted at once: a count or a percentage of the fleet.",
        "a whole number like 2, or a percentage like 25%")
    rollout_max_failures: int = setting(
        0, "Failed hosts tolerated before the rollout stops.", "0 or more", ge=0)

    # --- security ---------------------------------------------------------------------------
    allow_networks: list[str] = setting(
        [], "Networks allowed to reach the API; enforced by a host firewall.",
        "CIDR networks like 10.0.0.0/8 or 2001:db8::/32")
    expose_unauthenticated: bool = setting(
        False, "Acknowledge that a non-loopback bind without allow_networks exposes an "
        "unauthenticated API to the whole network.")
    auth_proxy: AuthProxy | None = setting(
        None, "Put nginx with TLS and token/basic auth in front of Ollama.")

    # --- Windows ----------------------------------------------------------------------------
    windows_mode: Literal["server", "desktop"] = setting(
        "server", "Windows: headless service from the zip, or the desktop app installer.",
        "server or desktop")
    windows_install_dir: str = setting(
        r"C:\Program Files\Ollama", "Windows: root of the versioned installs (server mode).",
        "an absolute Windows path")
    windows_models_dir: str = setting(
        r"C:\ProgramData\Ollama\models", "Windows: OLLAMA_MODELS.", "an absolute Windows path")
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
        return env_settings, init_settings

    # --- field rules ------------------------------------------------------------------------
    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not SEMVER.fullmatch(value):
            raise ValueError("not a release number")
        return value

    @field_validator("install_dir", "bin_link", "service_home", "models_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not path.is_absolute() or ".." in path.parts:
            raise ValueError("not an absolute path")
        if re.search(r"[\s\"'\\$`%]", value):
            raise ValueError("contains spaces, quotes, backslashes, $, ` or %")
        return str(path)

    @field_validator("windows_install_dir", "windows_models_dir")
    @classmethod
    def _windows_path(cls, value: str) -> str:
        if not re.match(r'^[A-Za-z]:\\[^"*?<>|\r\n]*$', value) or "\\..\\" in value + "\\":
            raise ValueError(
                'not an absolute Windows path (drive letter, no .., none of "*?<>|)')
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
        try:
            parsed = parse_ollama_host(value)
        except HostParseError as exc:
            raise ValueError(str(exc)) from exc
        if parsed.scheme == "https":
            raise ValueError("Ollama serves plain HTTP only; for TLS use auth_proxy")
        if parsed.path:
            raise ValueError("a path is not supported in a bind address")
        if value.strip().startswith("http://") and not parsed.port_given:
            raise ValueError("an http:// address without a port means port 80 to Ollama, not "
                             "11434; write the port explicitly")
        return value

    @field_validator("archive_url", "checksums_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"https?://[^\s\"'`$\\]+$", value):
            raise ValueError("not an http(s) URL without spaces or quotes")
        return value

    @field_validator("origins", "no_proxy")
    @classmethod
    def _no_commas(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item or "," in item or re.search(r"\s", item):
                raise ValueError(f"{item!r}: each entry is one item, no commas or spaces")
        return value

    @field_validator("https_proxy")
    @classmethod
    def _proxy(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"https?://\S+$", value.get_secret_value()):
            raise ValueError("not an http(s) proxy URL")
        return value

    @field_validator("extra_env")
    @classmethod
    def _extra_env(cls, value: dict[str, str]) -> dict[str, str]:
        for name, item in value.items():
            if not ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if name.upper() == "HTTP_PROXY":
                raise ValueError("HTTP_PROXY breaks Ollama's clients; use https_proxy for pulls")
            if name in RESERVED_ENV:
                raise ValueError(f"{name} has a setting of its own: {RESERVED_ENV[name]}")
            if not isinstance(item, str) or "\n" in item or "\0" in item:
                raise ValueError(f"{name}: values are single-line strings")
        return value

    @field_validator("rollout_batch")
    @classmethod
    def _batch(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 1:
                raise ValueError("a batch holds at least one host")
            return value
        match = re.fullmatch(r"(\d+)%", value.strip())
        if not match or not 0 < int(match.group(1)) <= 100:
            raise ValueError("not a count or a percentage from 1% to 100%")
        return value.strip()

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(item, strict=False)) for item in value]

    @model_validator(mode="after")
    def _cross_field(self) -> OllamaSettings:
        bind = parse_ollama_host(self.host)
        if self.port is not None and bind.port_given and bind.port != self.port:
            raise FieldProblem("port", f"host {self.host!r} already carries port {bind.port}; "
                               "give the port once")
        if self.context_length is not None and version_tuple(self.version) < (0, 5, 13):
            raise FieldProblem("context_length", "needs Ollama 0.5.13 or later; version "
                               f"{self.version} would ignore it")
        exposed = not bind.is_loopback
        if exposed and self.auth_proxy is not None:
            raise FieldProblem("host", "with auth_proxy, Ollama must bind loopback (nginx is "
                               "the exposed side); set host to 127.0.0.1")
        if self.auth_proxy is not None and self.auth_proxy.port == self.bind.port:
            raise FieldProblem("auth_proxy", f"nginx and Ollama would both use port "
                               f"{self.bind.port}; give auth_proxy another port")
        if exposed and not self.allow_networks and not self.expose_unauthenticated:
            raise FieldProblem(
                "host",
                f"{self.host!r} exposes Ollama's API, which has no authentication, to the "
                "network: anyone who reaches it can pull, create and delete models. Either set "
                "allow_networks to the networks that may connect (enforced by a firewall), or set "
                "expose_unauthenticated: true to acknowledge the risk (or use auth_proxy)")
        names = [m.name for m in self.custom_models]
        if len(set(names)) != len(names):
            raise FieldProblem("custom_models", "declares the same name twice")
        return self

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

    def environment(self) -> dict[str, str]:
        """The server's environment, secrets excluded (see secret_environment)."""
        env: dict[str, str] = {
            "OLLAMA_HOST": self.bind.env_value,
            "OLLAMA_MODELS": (
                self.windows_models_dir if self.platform == "windows" else self.models_dir),
        }
        optional: dict[str, object] = {
            "OLLAMA_KEEP_ALIVE": self.keep_alive,
            "OLLAMA_LOAD_TIMEOUT": self.load_timeout,
            "OLLAMA_CONTEXT_LENGTH": self.context_length,
            "OLLAMA_NUM_PARALLEL": self.num_parallel,
            "OLLAMA_MAX_LOADED_MODELS": self.max_loaded_models,
            "OLLAMA_MAX_QUEUE": self.max_queue,
            "OLLAMA_FLASH_ATTENTION": self.flash_attention,
            "OLLAMA_KV_CACHE_TYPE": self.kv_cache_type,
            "OLLAMA_ORIGINS": ",".join(self.origins) or None,
            "OLLAMA_GPU_OVERHEAD": self.gpu_overhead,
            "OLLAMA_SCHED_SPREAD": self.sched_spread,
            "OLLAMA_NOPRUNE": self.noprune,
            "OLLAMA_DEBUG": self.debug,
            "CUDA_VISIBLE_DEVICES": self.cuda_visible_devices,
            "HIP_VISIBLE_DEVICES": self.hip_visible_devices,
            "ROCR_VISIBLE_DEVICES": self.rocr_visible_devices,
            "HSA_OVERRIDE_GFX_VERSION": self.hsa_override_gfx_version,
            "NO_PROXY": ",".join(self.no_proxy) or None,
        }
        for name, value in optional.items():
            if value is None:
                continue
            env[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        env.update(self.extra_env)
        return env

    def secret_environment(self) -> dict[str, str]:
        """Variables that may hold credentials: written to a 0600 file, never printed."""
        if self.https_proxy is None:
            return {}
        return {"HTTPS_PROXY": self.https_proxy.get_secret_value()}


class SettingsError(PyinfraError, ValueError):
    """Every problem with every host's settings, in one message."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid ollama-fleet settings:\n{listing}")


SECRET_FIELDS = {"https_proxy", "auth_proxy"}


def settings_from_data(data: dict[str, Any], host_name: str) -> OllamaSettings:
    """Build a host's settings from its pyinfra data; raise SettingsError naming the host."""
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
    if problems:
        raise SettingsError(problems)
    try:
        return OllamaSettings(**values)
    except ValidationError as exc:
        raise SettingsError([_describe(host_name, err) for err in exc.errors()]) from None


def _closest(field: str) -> str | None:
    import difflib

    matches = difflib.get_close_matches(field, OllamaSettings.model_fields, n=1, cutoff=0.7)
    return matches[0] if matches else None


def _describe(host_name: str, err: Any) -> str:
    loc = [str(part) for part in err.get("loc", ())]
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        loc = [problem.field]
        err = {**err, "input": (err.get("input") or {}).get(problem.field)}
    field = loc[0] if loc else "settings"
    where = f"{DATA_PREFIX}{field}" + "".join(f"[{p}]" for p in loc[1:]) if loc else "settings"
    info = OllamaSettings.model_fields.get(field)
    accepted = ""
    if info is not None and isinstance(info.json_schema_extra, dict):
        accepted = str(info.json_schema_extra.get("accepted", ""))
    value = "<hidden>" if field in SECRET_FIELDS else repr(err.get("input"))
    reason = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    text = f"host {host_name}: {where}"
    if loc:
        text += f" = {value}"
    text += f": {reason}"
    if accepted:
        text += f" (accepted: {accepted})"
    return text
