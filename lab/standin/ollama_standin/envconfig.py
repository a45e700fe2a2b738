"""Environment parsing with upstream envconfig/config.go (v0.13.5) semantics. TEST FIXTURE.

The point of faithfulness here: upstream silently accepts bad values (an unparsable bool is
TRUE, a bad uint or port is logged and replaced, a bad keep-alive silently becomes 5m), and the
fleet tool must catch those before they reach a host. Tests of the tool rely on the stand-in
accepting exactly what upstream accepts.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import slog
from .gocompat import (
    INT64_MAX,
    GoError,
    format_duration,
    parse_bool,
    parse_duration,
    parse_int,
    parse_uint,
)

Env = Mapping[str, str]
_MINUTE = 60_000_000_000


def var(key: str, env: Env | None = None) -> str:
    """Var(): trim spaces, then any surrounding double or single quotes."""
    raw = (os.environ if env is None else env).get(key, "")
    return raw.strip().strip("\"'")


@dataclass(frozen=True)
class HostURL:
    scheme: str
    host: str
    port: str
    path: str = ""

    @property
    def hostport(self) -> str:
        """net.JoinHostPort: IPv6 literals get brackets."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        path = f"/{self.path}" if self.path else ""
        return f"{self.scheme}://{self.hostport}{path}"


class _SplitError(ValueError):
    pass


def split_host_port(hostport: str) -> tuple[str, str]:
    """net.SplitHostPort: the port follows the last colon; IPv6 needs brackets."""
    i = hostport.rfind(":")
    if i < 0:
        raise _SplitError("missing port in address")
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise _SplitError("missing ']' in address")
        if end + 1 == len(hostport):
            raise _SplitError("missing port in address")
        if end + 1 != i:
            raise _SplitError("too many colons in address" if hostport[end + 1] == ":"
                              else "missing port in address")
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            raise _SplitError("too many colons in address")
    if "[" in hostport[j:]:
        raise _SplitError("unexpected '[' in address")
    if "]" in hostport[k:]:
        raise _SplitError("unexpected ']' in address")
    return host, hostport[i + 1:]


def parse_ip(s: str) -> str | None:
    """net.ParseIP(...).String(), or None when s is not an IP literal (zones are rejected)."""
    if "%" in s:
        return None
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def host(env: Env | None = None) -> HostURL:
    """Host(): [scheme://]host[:port][/path]; http -> 80, https -> 443, else 11434."""
    default_port = "11434"
    s = var("OLLAMA_HOST", env).strip()
    scheme, sep, hostport = s.partition("://")
    if not sep:
        scheme, hostport = "http", s
        if s == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    elif scheme == "http":
        default_port = "80"
    elif scheme == "https":
        default_port = "443"
    hostport, _, path = hostport.partition("/")
    try:
        h, port = split_host_port(hostport)
    except _SplitError:
        h, port = "127.0.0.1", default_port
        ip = parse_ip(hostport.strip("[]"))
        if ip is not None:
            h = ip
        elif hostport:
            h = hostport
    try:
        n = parse_int(port, 32)
        valid = 0 <= n <= 65535
    except GoError:
        valid = False
    if not valid:
        slog.warn("config.go:49", "invalid port, using default", port=port, default=default_port)
        port = default_port
    return HostURL(scheme, h, port, path)


def allowed_origins(env: Env | None = None) -> list[str]:
    s = var("OLLAMA_ORIGINS", env)
    origins = s.split(",") if s else []
    for o in ("localhost", "127.0.0.1", "0.0.0.0"):
        origins += [f"http://{o}", f"https://{o}", f"http://{o}:*", f"https://{o}:*"]
    return origins + ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"]


def models(env: Env | None = None) -> str:
    s = var("OLLAMA_MODELS", env)
    if s:
        return s
    home = (os.environ if env is None else env).get("HOME", "")
    if not home:
        raise RuntimeError("$HOME is not defined")
    return os.path.join(home, ".ollama", "models")


def _duration(key: str, env: Env | None) -> int | None:
    s = var(key, env)
    if not s:
        return None
    try:
        return parse_duration(s)
    except GoError:
        pass
    try:
        return parse_int(s, 64) * 1_000_000_000
    except GoError:
        return None  # upstream ignores the error without logging it


def keep_alive(env: Env | None = None) -> int:
    """Nanoseconds; invalid -> 5m silently; negative -> forever."""
    d = _duration("OLLAMA_KEEP_ALIVE", env)
    d = 5 * _MINUTE if d is None else d
    return INT64_MAX if d < 0 else d


def load_timeout(env: Env | None = None) -> int:
    d = _duration("OLLAMA_LOAD_TIMEOUT", env)
    d = 5 * _MINUTE if d is None else d
    return INT64_MAX if d <= 0 else d


def bool_var(key: str, default: bool = False, env: Env | None = None) -> bool:
    """A set value that is not a Go bool counts as TRUE (upstream's BoolWithDefault)."""
    s = var(key, env)
    if not s:
        return default
    try:
        return parse_bool(s)
    except GoError:
        return True


def uint_var(key: str, default: int, env: Env | None = None) -> int:
    s = var(key, env)
    if s:
        try:
            return parse_uint(s, 64)
        except GoError:
            slog.warn("config.go:247", "invalid environment variable, using default",
                      key=key, value=s, default=default)
    return default


def log_level(env: Env | None = None) -> int:
    """OLLAMA_DEBUG: true/1 -> DEBUG (-4), an integer n -> -4n, otherwise INFO (0)."""
    s = var("OLLAMA_DEBUG", env)
    if not s:
        return 0
    try:
        if parse_bool(s):
            return -4
    except GoError:
        pass
    try:
        return parse_int(s, 64) * -4
    except GoError:
        return 0


def level_name(level: int) -> str:
    """slog.Level.String(): base name plus offset (TRACE -8 prints as DEBUG-4)."""
    for name, base in (("ERROR", 8), ("WARN", 4), ("INFO", 0), ("DEBUG", -4)):
        if level >= base:
            return name if level == base else f"{name}+{level - base}"
    return f"DEBUG{level + 4:+d}"


def remotes(env: Env | None = None) -> list[str]:
    raw = var("OLLAMA_REMOTES", env).strip()
    return raw.split(",") if raw else ["ollama.com"]


def num_parallel(env: Env | None = None) -> int:
    return uint_var("OLLAMA_NUM_PARALLEL", 1, env)


def max_loaded_models(env: Env | None = None) -> int:
    return uint_var("OLLAMA_MAX_LOADED_MODELS", 0, env)


def max_queue(env: Env | None = None) -> int:
    return uint_var("OLLAMA_MAX_QUEUE", 512, env)


def context_length(env: Env | None = None) -> int:
    return uint_var("OLLAMA_CONTEXT_LENGTH", 4096, env)


def no_prune(env: Env | None = None) -> bool:
    return bool_var("OLLAMA_NOPRUNE", False, env)


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def _go_bool(b: bool) -> str:
    return "true" if b else "false"


def values(env: Env | None = None) -> dict[str, str]:
    """Values(): every documented variable with its effective value, as upstream formats it."""
    def s(key: str) -> Callable[[], str]:
        return lambda: var(key, env)

    def b(key: str) -> Callable[[], str]:
        return lambda: _go_bool(bool_var(key, False, env))

    getters: dict[str, Callable[[], str]] = {
        "OLLAMA_DEBUG": lambda: level_name(log_level(env)),
        "OLLAMA_FLASH_ATTENTION": b("OLLAMA_FLASH_ATTENTION"),
        "OLLAMA_KV_CACHE_TYPE": s("OLLAMA_KV_CACHE_TYPE"),
        "OLLAMA_GPU_OVERHEAD": lambda: str(uint_var("OLLAMA_GPU_OVERHEAD", 0, env)),
        "OLLAMA_HOST": lambda: str(host(env)),
        "OLLAMA_KEEP_ALIVE": lambda: format_duration(keep_alive(env)),
        "OLLAMA_LLM_LIBRARY": s("OLLAMA_LLM_LIBRARY"),
        "OLLAMA_LOAD_TIMEOUT": lambda: format_duration(load_timeout(env)),
        "OLLAMA_MAX_LOADED_MODELS": lambda: str(max_loaded_models(env)),
        "OLLAMA_MAX_QUEUE": lambda: str(max_queue(env)),
        "OLLAMA_MODELS": lambda: models(env),
        "OLLAMA_NOHISTORY": b("OLLAMA_NOHISTORY"),
        "OLLAMA_NOPRUNE": b("OLLAMA_NOPRUNE"),
        "OLLAMA_NUM_PARALLEL": lambda: str(num_parallel(env)),
        "OLLAMA_ORIGINS": lambda: _go_list(allowed_origins(env)),
        "OLLAMA_SCHED_SPREAD": b("OLLAMA_SCHED_SPREAD"),
        "OLLAMA_MULTIUSER_CACHE": b("OLLAMA_MULTIUSER_CACHE"),
        "OLLAMA_CONTEXT_LENGTH": lambda: str(context_length(env)),
        "OLLAMA_NEW_ENGINE": b("OLLAMA_NEW_ENGINE"),
        "OLLAMA_REMOTES": lambda: _go_list(remotes(env)),
        "HTTP_PROXY": s("HTTP_PROXY"),
        "HTTPS_PROXY": s("HTTPS_PROXY"),
        "NO_PROXY": s("NO_PROXY"),
        "http_proxy": s("http_proxy"),
        "https_proxy": s("https_proxy"),
        "no_proxy": s("no_proxy"),
        "CUDA_VISIBLE_DEVICES": s("CUDA_VISIBLE_DEVICES"),
        "HIP_VISIBLE_DEVICES": s("HIP_VISIBLE_DEVICES"),
        "ROCR_VISIBLE_DEVICES": s("ROCR_VISIBLE_DEVICES"),
        "GGML_VK_VISIBLE_DEVICES": s("GGML_VK_VISIBLE_DEVICES"),
        "GPU_DEVICE_ORDINAL": s("GPU_DEVICE_ORDINAL"),
        "HSA_OVERRIDE_GFX_VERSION": s("HSA_OVERRIDE_GFX_VERSION"),
        "OLLAMA_VULKAN": b("OLLAMA_VULKAN"),
    }
    return {k: get() for k, get in getters.items()}


def format_map(m: Mapping[str, str]) -> str:
    """fmt's %v of a Go map: keys sorted, `map[k:v k:v]`."""
    return "map[" + " ".join(f"{k}:{m[k]}" for k in sorted(m)) + "]"
