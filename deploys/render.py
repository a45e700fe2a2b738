"""Jinja2 rendering of everything in templates/linux and templates/windows, escaped by construction.

Each artifact language has its own Jinja2 environment, chosen from the template's file name
(an unknown suffix is an error), and that environment's ``finalize`` passes every ``{{ }}``
value through the one escaper of the language. A template author cannot forget to quote: there
is nothing to remember. Templates therefore place ``{{ }}`` only where that escaper's output is
correct (in shell: an unquoted word, never inside '...', "..." or a heredoc; see
tests/unit/test_escaping.py, which enforces it).

| language        | template suffix                                 | escaper          |
|-----------------|-------------------------------------------------|------------------|
| POSIX sh        | ``.sh.j2``                                      | :func:`sh`       |
| systemd unit    | ``.service.j2``, ``.dropin.j2`` (drop-ins)      | :func:`systemd`  |
| EnvironmentFile | ``.env.j2``                                     | :func:`envfile`  |
| PowerShell      | ``.ps1.j2``, ``windows/*.inc.j2``               | :func:`powershell` |
| nginx           | ``.nginx.j2``, ``.map.j2``                      | :func:`nginx`    |
| nftables        | ``.nft.j2``                                     | :func:`nftables` |

Values reach a template already validated (settings); the escapers are the last line of
defence and refuse what their language cannot carry (control characters, above all) with a
ValueError rather than write something that means more than the value.

Python code building shell commands itself uses :func:`sh` (or :func:`sh_command`) the same way.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jinja2

# Package data (importlib.resources), so an installed wheel finds them as the checkout does.
TEMPLATES = resources.files("ollama_fleet.templates")


class Safe(str):
    """A value already in its artifact's syntax (a checked name, a fragment we built): the
    rendering layer writes it as it is. Any string operation on it yields a plain str again, so
    a derived value is escaped as usual."""


class NginxNoVariables(str):
    """A value for an nginx position that never expands variables (a ``map`` source key, such
    as a bearer-token regex ending in ``$``): quoted like any nginx value, but ``$`` allowed."""


# Every C0 control (NUL, TAB, CR, LF, ...), DEL, and the Unicode line breaks some parsers honour.
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _check_text(value: str, language: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(
            f"{value[:80]!r}: contains the control character {found.group()!r} at "
            f"position {found.start()}, which cannot be written safely into a {language} "
            "artifact (such values must be refused when settings are validated)"
        )
    return value


def _scalar(value: Any, language: str) -> str | None:
    """Text for ints and floats (decimal, never bool); None for anything that is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r}: not a finite number for a {language} artifact")
        return repr(value)
    return None


def _text(value: Any, language: str) -> str:
    if value is None:
        raise ValueError(f"None cannot be written into a {language} artifact (missing value?)")
    if isinstance(value, bool):
        raise ValueError(f"{value!r}: a {language} artifact has no single spelling of booleans")
    if not isinstance(value, str):
        raise ValueError(
            f"{value!r}: a {type(value).__name__} cannot be written into a {language} artifact "
            "(pass a string or a number)")
    return _check_text(value, language)


# --- POSIX sh ------------------------------------------------------------------------------

def sh(value: Any) -> str:
    """One shell word that means exactly ``value``: bare when harmless, else single-quoted
    (with ``'`` written as ``'"'"'``). Only correct in an unquoted word position."""
    number = _scalar(value, "shell")
    if number is not None:
        return number
    return shlex.quote(_text(value, "shell"))


def sh_command(*words: Any) -> str:
    """A shell command line from words, each escaped with :func:`sh`."""
    return " ".join(sh(word) for word in words)


# --- systemd unit files and drop-ins -------------------------------------------------------

_SYSTEMD_BARE = re.compile(r"[A-Za-z0-9_./:@+,-]+")


def systemd(value: Any) -> str:
    """A systemd unit-file word: bare if made only of ``[A-Za-z0-9_./:@+,-]``, else a
    double-quoted word with ``\\`` and ``"`` backslash-escaped. ``%`` is always doubled (it
    starts a specifier). Note Environment= never expands ``$``, but Exec*= lines do: paths used
    there are validated to contain no ``$`` before they get here."""
    number = _scalar(value, "systemd unit")
    if number is not None:
        return number
    text = _text(value, "systemd unit").replace("%", "%%")
    if _SYSTEMD_BARE.fullmatch(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# --- systemd EnvironmentFile -----------------------------------------------------------------

def envfile(value: Any) -> str:
    """A double-quoted EnvironmentFile value. Inside double quotes systemd (src/basic/env-file.c)
    removes the backslash before exactly ``"``, ``\\``, `````` ` ``, ``$`` (SHELL_NEED_ESCAPE) and
    keeps it before anything else, so escaping those four reads back exactly."""
    number = _scalar(value, "EnvironmentFile")
    text = number if number is not None else _text(value, "EnvironmentFile")
    for char in ("\\", '"', "$", "`"):
        text = text.replace(char, "\\" + char)
    return f'"{text}"'


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name(name: str) -> Safe:
    """An environment variable name, checked, for the key position of an assignment."""
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise ValueError(f"{name!r}: not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
    return Safe(name)


# --- PowerShell ------------------------------------------------------------------------------

# PowerShell ends a single-quoted string at any of these, not only at the ASCII apostrophe.
_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


class PowerShellValueError(ValueError):
    """A value that cannot be written as a PowerShell literal."""


def powershell(value: Any) -> str:
    """A PowerShell literal: strings single-quoted (no expansion) with every kind of single quote
    doubled; ints, floats and bools as such; lists/tuples/sets as ``@(...)`` and dicts as
    ``[ordered]@{...}`` of literals."""
    if isinstance(value, bool):
        return "$true" if value else "$false"
    number = _scalar(value, "PowerShell")
    if number is not None:
        return number
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return "@(" + ", ".join(powershell(item) for item in items) + ")"
    if isinstance(value, dict):
        pairs = "; ".join(f"{powershell(_ps_key(k))} = {powershell(v)}" for k, v in value.items())
        return "[ordered]@{" + pairs + "}"
    try:
        text = _text(value, "PowerShell")
    except ValueError as error:
        raise PowerShellValueError(str(error)) from None
    for quote in _PS_SINGLE_QUOTES:
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def _ps_key(key: Any) -> str:
    if not isinstance(key, str):
        raise PowerShellValueError(f"{key!r}: hashtable keys must be strings")
    return key


# --- nginx -----------------------------------------------------------------------------------

# nginx reads its configuration through a 4096-byte buffer and refuses a longer parameter.
_NGINX_MAX_TOKEN = 3000


def nginx(value: Any) -> str:
    """A double-quoted nginx string; nginx's parser removes the backslash of ``\\"`` and ``\\\\``.
    ``$`` is refused: most directives expand variables inside strings and nginx has no escape
    for a literal ``$`` (except in :class:`NginxNoVariables` positions). ``;``, ``{``, ``}``,
    ``#`` and ``'`` are plain characters inside double quotes."""
    number = _scalar(value, "nginx")
    if number is not None:
        return number
    text = _text(value, "nginx")
    if "$" in text and not isinstance(value, NginxNoVariables):
        raise ValueError(f"{text[:80]!r}: '$' would be expanded as an nginx variable")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if len(escaped.encode("utf-8")) > _NGINX_MAX_TOKEN:
        raise ValueError(f"{text[:40]!r}...: {len(text)} characters, longer than nginx reads "
                         "as one configuration parameter")
    return f'"{escaped}"'


# --- nftables --------------------------------------------------------------------------------

_NFT_WORD = re.compile(r"[A-Za-z0-9_.:/]+")


def nftables(value: Any) -> str:
    """An nftables word: addresses, prefixes, ports and names only (``[A-Za-z0-9_.:/]+``);
    anything else is refused, as nft has no quoting that makes it harmless everywhere."""
    number = _scalar(value, "nftables")
    if number is not None:
        return number
    text = _text(value, "nftables")
    if not _NFT_WORD.fullmatch(text):
        raise ValueError(f"{text[:80]!r}: not an nftables address, port or name "
                         "(letters, digits and _ . : / only)")
    return text


# --- environments ----------------------------------------------------------------------------

Escaper = Callable[[Any], str]

ESCAPERS: dict[str, Escaper] = {
    "sh": sh, "systemd": systemd, "envfile": envfile, "powershell": powershell,
    "nginx": nginx, "nftables": nftables,
}

# Longest match wins; checked in this order.
SUFFIXES: tuple[tuple[str, str], ...] = (
    (".sh.j2", "sh"),
    (".service.j2", "systemd"),
    (".dropin.j2", "systemd"),
    (".env.j2", "envfile"),
    (".ps1.j2", "powershell"),
    (".nginx.j2", "nginx"),
    (".map.j2", "nginx"),
    (".nft.j2", "nftables"),
)


def language_of(template: str) -> str:
    """The artifact language of a template, from its name; unknown names are an error."""
    for suffix, language in SUFFIXES:
        if template.endswith(suffix):
            return language
    if template.startswith("windows/") and template.endswith(".inc.j2"):
        return "powershell"
    raise ValueError(f"{template}: no artifact language for this template name "
                     f"(known suffixes: {', '.join(s for s, _ in SUFFIXES)}, windows/*.inc.j2)")


def template_names() -> list[str]:
    """Every template the rendering layer serves (Modelfiles are rendered by model_plan)."""
    return sorted(f"{folder}/{entry.name}" for folder in ("linux", "windows")
                  for entry in TEMPLATES.joinpath(folder).iterdir() if entry.name.endswith(".j2"))


class _LanguageLoader(jinja2.BaseLoader):
    """Serves only templates of one language, so an include cannot change the escaping."""

    def __init__(self, language: str) -> None:
        self.language = language

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        if language_of(template) != self.language:
            raise ValueError(f"{template} is {language_of(template)}, not {self.language}: "
                             "it cannot be rendered or included here")
        entry = TEMPLATES.joinpath(*template.split("/"))
        if not entry.is_file():
            raise jinja2.TemplateNotFound(template)
        return entry.read_text(encoding="utf-8"), template, lambda: True


def _finalize(escape: Escaper) -> Callable[[Any], str]:
    def finalize(value: Any) -> str:
        if isinstance(value, Safe):
            return str(value)
        if isinstance(value, jinja2.Undefined):
            raise ValueError(f"undefined value {value!r} in a template")
        return escape(value)
    return finalize


@cache
def environment(language: str) -> jinja2.Environment:
    escape = ESCAPERS[language]
    env = jinja2.Environment(
        loader=_LanguageLoader(language),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_finalize(escape),
    )
    env.filters["urlsplit"] = urlsplit
    return env


def render(template: str, **context: Any) -> str:
    return environment(language_of(template)).get_template(template).render(**context)
