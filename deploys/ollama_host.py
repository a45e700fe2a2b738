"""OLLAMA_HOST parsing with upstream's rules (envconfig.Host), so we know what Ollama will bind."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_PORT = 11434


@dataclass(frozen=True)
class BindAddress:
    scheme: str
    host: str  # "" means every interface, as Ollama treats ":1234"
    port: int
    path: str
    port_given: bool

    @property
    def env_value(self) -> str:
        """The OLLAMA_HOST value we write: scheme-less host:port, brackets for IPv6."""
        return f"{_bracket(self.host)}:{self.port}"

    @property
    def client_host(self) -> str:
        """Where a local client connects: wildcard binds are reached over loopback, as upstream."""
        if self.host in ("", "0.0.0.0"):
            return "127.0.0.1"
        if self.host == "::":
            return "::1"
        return self.host

    @property
    def client_env(self) -> str:
        """OLLAMA_HOST for a CLI on the same host."""
        return f"{_bracket(self.client_host)}:{self.port}"

    @property
    def client_url(self) -> str:
        return f"http://{_bracket(self.client_host)}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class HostParseError(ValueError):
    pass


def parse_ollama_host(value: str) -> BindAddress:
    """Parse like Ollama, but raise where Ollama would log a warning and fall back.

    Ollama trims whitespace and quotes; we refuse them instead, so the value checked is the
    value written.
    """
    text = value
    if text != text.strip() or text.strip("\"'") != text:
        raise HostParseError(f"{value!r} has surrounding whitespace or quotes; write the address "
                             "alone (nothing is stripped)")
    scheme, sep, hostport = text.partition("://")
    default_port = DEFAULT_PORT
    if not sep:
        scheme, hostport = "http", text
    elif scheme == "http":
        default_port = 80
    elif scheme == "https":
        default_port = 443
    else:
        raise HostParseError(f"unknown scheme {scheme!r}")
    hostport, _, path = hostport.partition("/")

    host, port_text = _split_host_port(hostport)
    if port_text is None:
        bare = hostport.strip("[]")
        try:
            host = str(ipaddress.ip_address(bare))
        except ValueError:
            host = hostport or "127.0.0.1"
        return BindAddress(scheme, host, default_port, path, port_given=False)
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise HostParseError(f"port {port_text!r} is not a number from 1 to 65535")
    return BindAddress(scheme, host, int(port_text), path, port_given=True)


def _split_host_port(hostport: str) -> tuple[str, str | None]:
    """Go's net.SplitHostPort, reduced to what OLLAMA_HOST can hold; None port = no port."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            raise HostParseError(f"missing ']' in {hostport!r}")
        rest = hostport[end + 1 :]
        if not rest:
            return hostport[1:end], None
        if not rest.startswith(":"):
            raise HostParseError(f"unexpected {rest!r} after ']'")
        return hostport[1:end], rest[1:]
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, port
    return hostport, None
