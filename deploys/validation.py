"""Value rules shared by the settings model: clean strings, host names, origins, safe paths.

Pure functions returning a problem text (or raising ValueError), so the settings model, the
fleet pre-flight and the tests judge a value the same way.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterator
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from pydantic import BaseModel, SecretStr

# --- clean strings ----------------------------------------------------------------------------

_NAMES = {
    0x00: "a NUL byte", 0x07: "a bell", 0x08: "a backspace", 0x09: "a tab", 0x0A: "a line feed",
    0x0B: "a vertical tab", 0x0C: "a form feed", 0x0D: "a carriage return", 0x1B: "an escape",
    0x7F: "a delete (DEL)", 0x85: "a next-line (NEL)", 0x2028: "a line separator",
    0x2029: "a paragraph separator",
}
# Free text (a custom model's SYSTEM, TEMPLATE, MESSAGE content) may hold these two; the
# Modelfile layer quotes them. Everything else below is refused in every string.
FREE_TEXT_ALLOWED = frozenset("\n\t")


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F or code in (0x2028, 0x2029)


def describe_char(char: str) -> str:
    code = ord(char)
    name = _NAMES.get(code)
    if name is None:
        name = "a C1 control character" if 0x80 <= code <= 0x9F else "a control character"
    return f"{name} (U+{code:04X})"


def string_problem(
    value: str, *, free_text: bool = False, secret: bool = False, verbatim: bool = False
) -> str | None:
    """Why this exact string cannot be written anywhere, or None.

    Checked before any rule about meaning, on the value as given: nothing is stripped.
    """
    for char in value:
        if _is_control(char) and not (free_text and char in FREE_TEXT_ALLOWED):
            return f"contains {describe_char(char)}"
    if free_text or verbatim:
        return None
    if value != value.strip():
        return ("has leading or trailing whitespace (nothing is stripped: the value is written "
                "exactly as given)")
    if not secret and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return ("is wrapped in quotes (nothing is unquoted: the quotes would become part of the "
                "value; drop them)")
    return None


# Fields of nested models that hold multi-line Modelfile text.
FREE_TEXT_FIELDS = {("CustomModel", "system"), ("CustomModel", "template"),
                    ("Message", "content")}
# Mappings whose values are free-form single-line text, carried byte-exact (edge spaces and
# quotes included): only control characters are refused there.
VERBATIM_VALUE_FIELDS = {("OllamaSettings", "extra_env")}


def walk_strings(
    value: Any, model: type[BaseModel] | None = None, path: tuple[str | int, ...] = (),
    free: bool = False, verbatim: bool = False,
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every (location, problem) for the strings in value: dict keys and values, lists, nested
    models (by their declared fields and aliases), SecretStr. model is the pydantic model value
    is an instance (or the input) of; free marks Modelfile free text."""
    if isinstance(value, SecretStr):
        problem = string_problem(value.get_secret_value(), secret=True)
        if problem:
            yield path, problem
    elif isinstance(value, str):
        problem = string_problem(value, free_text=free, verbatim=verbatim)
        if problem:
            yield path, problem
    elif isinstance(value, BaseModel):
        yield from walk_strings(value.model_dump(by_alias=True), type(value), path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                problem = string_problem(key)
                if problem:
                    yield (*path, key), f"the key {problem}"
                    continue
            info = _model_field(model, key)
            if info is None:
                yield from walk_strings(item, None, (*path, key), verbatim=verbatim)
                continue
            yield from walk_strings(item, _find_model(info.annotation), (*path, key),
                                    (model.__name__, key) in FREE_TEXT_FIELDS,
                                    (model.__name__, key) in VERBATIM_VALUE_FIELDS)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from walk_strings(item, model, (*path, index), free, verbatim)


def _model_field(model: type[BaseModel] | None, key: Any) -> Any:
    if model is None or not isinstance(key, str):
        return None
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _find_model(arg)
        if found is not None:
            return found
    return None


# --- host names -------------------------------------------------------------------------------

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_host_name(text: str) -> bool:
    """An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    if not text or len(text) > 253:
        return False
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    return all(_LABEL.fullmatch(label) for label in labels)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def host_problem(host: str) -> str | None:
    """A bare host (no brackets, no port): a host name or an IP address."""
    if is_ip(host) or is_host_name(host):
        return None
    return (f"{host!r} is neither an IP address nor a host name (letters, digits, hyphens and "
            "dots)")


def host_port_problem(text: str, *, wildcard_label: bool = False) -> str | None:
    """host, host:port, IPv4:port, [IPv6] or [IPv6]:port (bare IPv6 without a port too)."""
    host, port = text, None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return f"missing ']' in {text!r}"
        host, rest = text[1:end], text[end + 1:]
        if not is_ip(host) or ":" not in host:
            return f"[{host}] is not an IPv6 address"
        if rest:
            if not rest.startswith(":"):
                return f"unexpected {rest!r} after ']'"
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.count(":") > 1:
        return None if is_ip(text) else f"{text!r} is not an IPv6 address"
    if port is not None and not (port.isdigit() and 0 < int(port) <= 65535):
        return f"port {port!r} is not a number from 1 to 65535"
    if wildcard_label and host.startswith("*."):
        host = host[2:]
    return None if text.startswith("[") else host_problem(host)


def no_proxy_problem(entry: str) -> str | None:
    """Go's NO_PROXY grammar: *, an IP or CIDR, or a domain (.domain / *.domain), opt. :port."""
    if entry == "*":
        return None
    try:
        ipaddress.ip_network(entry, strict=False)
        return None
    except ValueError:
        pass
    body = entry[1:] if entry.startswith(".") else entry
    return host_port_problem(body, wildcard_label=True)


# Ollama's CORS middleware (gin-contrib/cors, AllowWildcard and AllowBrowserExtensions on)
# refuses to start on an origin that has no '*' and none of these schemes, or more than one '*'.
ORIGIN_SCHEMES = ("http", "https", "chrome-extension", "safari-extension", "moz-extension",
                  "ms-browser-extension")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def origin_problem(origin: str) -> str | None:
    if origin == "*":
        return None
    if origin.count("*") > 1:
        return "only one * is allowed in an origin (Ollama would not start)"
    scheme, sep, rest = origin.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return "not an origin: scheme://host[:port], e.g. https://app.example.com"
    if "*" not in origin and scheme.lower() not in ORIGIN_SCHEMES:
        return (f"scheme {scheme}:// needs a '*' (like app://*); without one Ollama accepts "
                f"only {', '.join(s + '://' for s in ORIGIN_SCHEMES)} and would not start")
    if "/" in rest or "?" in rest or "#" in rest or "@" in rest:
        return ("an origin has no path, query or credentials (browsers send scheme://host[:port] "
                "only, so this would never match)")
    if not rest:
        return "not an origin: the host is missing"
    if rest == "*":
        return None
    if "*" in rest:
        # A wildcard origin is matched as prefix*suffix; the rest must still look like a host.
        probe = rest.replace("*", "x")
        if probe.endswith(":x"):
            probe = probe[:-2]
        return host_port_problem(probe) and "not scheme://host[:port] around the '*'"
    if scheme.lower() in ORIGIN_SCHEMES[2:]:
        return None if re.fullmatch(r"[A-Za-z0-9._-]+", rest) else "not an extension id"
    return host_port_problem(rest)


# --- URLs -------------------------------------------------------------------------------------

URL_FIELDS = ("version", "filename", "arch")


def url_template_problem(value: str) -> str | None:
    """An http(s) URL whose only placeholders are {version}, {filename} and {arch}."""
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        return (f"is not a valid template ({exc}); placeholders are {{version}}, {{filename}} "
                "and {arch}; write a literal brace as {{ or }}")
    for _, field_name, spec, conversion in parts:
        if field_name is None:
            continue
        if field_name not in URL_FIELDS:
            return (f"unknown placeholder {{{field_name}}}; only {{version}}, {{filename}} and "
                    "{arch} are filled in")
        if spec or conversion:
            return f"placeholder {{{field_name}}} takes no format spec or conversion"
    sample = value.format(version="0.0.0", filename="ollama-linux-amd64.tgz", arch="amd64")
    return http_url_problem(sample)


def http_url_problem(url: str, *, credentials: bool = False) -> str | None:
    match = re.fullmatch(r"(https?)://([^/?#]*)([/?#].*)?", url)
    if not match:
        return "not an http(s) URL"
    authority, tail = match.group(2), match.group(3) or ""
    if re.search(r"[\s\"'`$\\<>{}|^]", tail):
        return "the path holds spaces, quotes, backslashes or one of $ ` < > { } | ^"
    if "@" in authority:
        if not credentials:
            return "credentials do not belong in this URL"
        userinfo, _, authority = authority.rpartition("@")
        if re.search(r"[\s\"'`\\/]", userinfo):
            return "the credentials hold spaces, quotes, slashes or backslashes"
    if not authority:
        return "the URL has no host"
    return host_port_problem(authority)


# --- paths ------------------------------------------------------------------------------------

# Directories that belong to the operating system: a managed path may be neither one of these
# nor an ancestor of one (ollama-fleet creates, chowns and on uninstall removes its paths).
LINUX_SYSTEM_DIRS = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lost+found", "/media", "/mnt", "/opt",
    "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr", "/var",
    "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32",
    "/usr/libexec", "/usr/include", "/usr/share", "/usr/src", "/usr/games", "/usr/local",
    "/usr/local/bin", "/usr/local/sbin", "/usr/local/lib", "/usr/local/lib64",
    "/usr/local/share", "/usr/local/etc", "/usr/local/include", "/usr/local/src",
    "/usr/local/libexec", "/usr/local/games", "/var/lib", "/var/log", "/var/cache",
    "/var/tmp", "/var/spool", "/var/run", "/var/lock", "/var/mail", "/var/opt", "/var/local",
    "/var/backups", "/var/www", "/var/lib/systemd", "/etc/systemd", "/etc/systemd/system",
})
# Virtual or volatile file systems: nothing ollama-fleet manages may live below these.
LINUX_NO_DESCENDANTS = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/run",
                        "/boot")
# Trees the operating system, its packages and its users own. Below them the service user may
# own only a folder of Ollama's own: elsewhere a chown could hand it something root trusts
# (/etc/cron.d, /usr/lib/systemd/system, /var/lib/dpkg, /root/.ssh, a user's home ...).
LINUX_OS_TREES = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                  "/root", "/home", "/var/lib", "/var/spool", "/var/cache", "/var/log",
                  "/var/backups", "/var/mail", "/var/www", "/var/opt", "/var/local", "/snap")
OLLAMA_FOLDER = re.compile(r"\.?ollama[A-Za-z0-9._-]*", re.IGNORECASE)
# Directories whose entries the distribution's packages own: bin_link may not land in them.
LINUX_PACKAGE_BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec",
                          "/lib", "/lib64", "/etc")
BIN_LINK_NAME = re.compile(r"ollama[A-Za-z0-9._-]*")


def _is_system_dir(path: str) -> bool:
    return path in LINUX_SYSTEM_DIRS or bool(re.fullmatch(r"/lib[^/]*", path))


def linux_path_problem(value: str, why: str, owned: bool = True) -> str | None:
    """An absolute, normalised path that is no system directory nor an ancestor of one.

    why completes "<dir> is a system directory: ..." for this setting. owned: the path is a
    directory the deploy hands to the service user, so inside the OS's trees it must be a
    folder of Ollama's own (a link's name is checked by bin_link_problem instead).
    """
    if not value.startswith("/"):
        return "not an absolute path (it must start with /)"
    if re.search(r"[\s\"'\\$`%*?\[\]{}~;&|<>#!]", value):
        return "contains spaces, quotes, backslashes or shell characters ($ ` % * ? [ ] { } ~ ; " \
               "& | < > # !)"
    if value != "/" and value.endswith("/"):
        return "has a trailing / (write the path without it)"
    if "//" in value:
        return "contains // (write each / once)"
    if any(part in (".", "..") for part in value.split("/")):
        return "contains . or .. segments (write the plain absolute path)"
    if _is_system_dir(value):
        return f"{value} is a system directory: {why}"
    for system in sorted(LINUX_SYSTEM_DIRS):
        if system != "/" and system.startswith(value.rstrip("/") + "/"):
            return f"{value} holds the system directory {system}: {why}"
    for volatile in LINUX_NO_DESCENDANTS:
        if value.startswith(volatile + "/"):
            return (f"{value} is under {volatile}, a virtual or volatile file system; pick a "
                    "persistent directory")
    tree = next((t for t in LINUX_OS_TREES if value.startswith(t + "/")), None)
    if owned and tree and not any(OLLAMA_FOLDER.fullmatch(part)
                        for part in value[len(tree) + 1:].split("/")):
        example = "/usr/share/ollama" if tree == "/usr" else f"{tree}/ollama"
        return (f"{value} is inside {tree}, which the operating system, its packages or its "
                f"users own: below it, use a folder of Ollama's own (a path segment starting "
                f"with ollama or .ollama, such as {example}) or a directory under /srv, /opt, "
                f"/mnt or /data: {why}")
    return None


def bin_link_problem(value: str) -> str | None:
    problem = linux_path_problem(
        value, "bin_link is replaced by a symbolic link, which would replace that directory",
        owned=False)
    if problem:
        return problem
    path = PurePosixPath(value)
    if not BIN_LINK_NAME.fullmatch(path.name):
        return (f"the link name {path.name!r} must start with 'ollama' (letters, digits, . _ - "
                "after it), so it can never replace another program")
    if str(path.parent) in LINUX_PACKAGE_BIN_DIRS:
        return (f"{path.parent} belongs to the distribution's packages; use /usr/local/bin or "
                "another directory of your own")
    return None


def is_within(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


# Windows: system directories themselves (and drive roots) are refused, and nothing below
# C:\Windows; the Program Files / ProgramData / Users directories may hold our own subfolders.
WINDOWS_SYSTEM_DIRS = ("windows", "program files", "program files (x86)", "programdata",
                       "users", "users\\public", "users\\default", "users\\all users",
                       "system volume information", "recovery", "boot", "perflogs",
                       "$recycle.bin")
WINDOWS_NO_DESCENDANTS = ("windows", "system volume information", "$recycle.bin", "recovery",
                          "boot")


def windows_path_problem(value: str, why: str) -> str | None:
    # ":" after the drive names an NTFS alternate data stream, not a folder.
    if not re.fullmatch(r"[A-Za-z]:\\[^\"*?<>|/:\x00-\x1f]*", value):
        return ('not an absolute Windows path (a drive letter and \\, then none of " * ? < > | '
                "/ :)")
    rest = value[3:]
    if rest.endswith("\\") or "\\\\" in rest:
        return "contains an empty segment (a doubled or trailing \\)"
    segments = rest.split("\\") if rest else []
    if any(s in (".", "..") or s != s.rstrip(" .") for s in segments):
        return "contains . or .. segments, or a segment ending in a space or a dot"
    folded = "\\".join(segments).lower()
    drive = value[:2].upper()
    if not segments:
        return f"{value} is the root of drive {drive}: {why}"
    if folded in WINDOWS_SYSTEM_DIRS:
        return f"{value} is a system directory: {why}"
    for system in WINDOWS_NO_DESCENDANTS:
        if folded.startswith(system + "\\"):
            return f"{value} is inside {drive}\\{system}, which belongs to Windows: {why}"
    if not str(PureWindowsPath(value)):
        return "not a Windows path"
    return None


def windows_is_within(inner: str, outer: str) -> bool:
    a, b = inner.lower(), outer.lower()
    return a == b or a.startswith(b + "\\")
