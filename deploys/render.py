"""Jinja2 rendering of everything in templates/, with the quoting filters our targets need."""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def shell_quote(value: object) -> str:
    return shlex.quote(str(value))


def systemd_quote(value: str) -> str:
    """A double-quoted systemd word: backslash and quote escaped, % doubled (specifiers)."""
    if "\n" in value:
        raise ValueError("systemd values cannot span lines")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def envfile_quote(value: str) -> str:
    """A double-quoted EnvironmentFile value; $ and ` escaped so nothing is ever expanded."""
    if "\n" in value:
        raise ValueError("environment values cannot span lines")
    escaped = value
    for char in ("\\", '"', "$", "`"):
        escaped = escaped.replace(char, "\\" + char)
    return f'"{escaped}"'


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["q"] = shell_quote
    env.filters["systemd_quote"] = systemd_quote
    env.filters["envfile_quote"] = envfile_quote
    env.filters["urlsplit"] = urlsplit
    from .windows.powershell import ps_literal  # noqa: PLC0415 - windows imports this module

    env.filters["ps"] = ps_literal
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
