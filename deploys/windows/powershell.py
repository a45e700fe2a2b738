"""PowerShell transport: render templates (values become literals) and wrap them as -EncodedCommand.

Every command sent to a Windows host is ``powershell -NoProfile -NonInteractive -EncodedCommand``
with a base64 UTF-16LE script, so no quoting layer of cmd.exe or of an OpenSSH default shell ever
sees the script text: the result is the same whichever shell sshd starts.
"""

from __future__ import annotations

import base64
import gzip
import re
from typing import Any

from pyinfra.api import StringCommand
from pyinfra.api.hiddenvalue import HiddenValue

from ..render import PowerShellValueError, powershell
from ..render import render as _render
from ..render import template_names as template_names_all

PREFIX = "powershell -NoProfile -NonInteractive -EncodedCommand"
# cmd.exe, the default shell of Windows OpenSSH, refuses command lines over 8191 characters;
# staying under it keeps every command valid whatever DefaultShell the host has.
MAX_COMMAND = 8191

_COMMENT_LINE = re.compile(r"^\s*#(?!requires).*$", re.IGNORECASE)

# The one PowerShell escaper lives in the rendering layer; these names stay for callers.
ps_literal = powershell


def template_names() -> list[str]:
    return sorted(name.removeprefix("windows/") for name in template_names_all()
                  if name.startswith("windows/") and name.endswith(".ps1.j2"))


def render(template: str, **context: Any) -> str:
    """Render templates/windows/<template>; every value is written as a PowerShell literal."""
    return _render(f"windows/{template}", **context)


def minify(script: str) -> str:
    """Drop comment lines, indentation and blank lines: the size limit counts every byte."""
    lines = []
    for line in script.splitlines():
        if _COMMENT_LINE.match(line):
            continue
        stripped = line.strip()
        if stripped:
            lines.append(stripped)
    return "\n".join(lines) + "\n"


def encode(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def decode(encoded: str) -> str:
    return base64.b64decode(encoded).decode("utf-16-le")


def _bootstrap(script: str) -> str:
    """A short script that unpacks and runs a gzip-compressed one (PowerShell 5.0 and later)."""
    packed = base64.b64encode(gzip.compress(script.encode("utf-8"), mtime=0)).decode("ascii")
    return (
        "$z = [IO.Compression.GZipStream]::new([IO.MemoryStream]::new("
        f"[Convert]::FromBase64String('{packed}')), [IO.Compression.CompressionMode]::Decompress)\n"
        ". ([ScriptBlock]::Create([IO.StreamReader]::new($z).ReadToEnd()))\n"
    )


_PACKED = re.compile(r"FromBase64String\('([A-Za-z0-9+/=]+)'\)\), \[IO\.Compression")


def command_text(script: str) -> str:
    """The full command line for a script, checked against the cmd.exe length limit.

    Scripts too long once UTF-16 encoded travel gzip-compressed inside a small bootstrap.
    """
    script = minify(script)
    text = f"{PREFIX} {encode(script)}"
    if len(text) > MAX_COMMAND:
        text = f"{PREFIX} {encode(_bootstrap(script))}"
    if len(text) > MAX_COMMAND:
        raise PowerShellValueError(
            f"encoded script is {len(text)} characters, over the {MAX_COMMAND} that cmd.exe accepts"
        )
    return text


def ps_command(script: str, secret: bool = False) -> StringCommand:
    """A pyinfra command for a script; ``secret`` masks it in pyinfra's output and logs."""
    text = command_text(script)
    if not secret:
        return StringCommand(text)
    encoded = text[len(PREFIX) + 1 :]
    return StringCommand(PREFIX, HiddenValue(encoded))


def decode_command(command: str, unpack: bool = True) -> str:
    """The script inside a command produced by :func:`ps_command` (tests, debugging)."""
    if not command.startswith(PREFIX + " "):
        raise ValueError("not an encoded PowerShell command")
    script = decode(command[len(PREFIX) + 1 :].strip())
    packed = _PACKED.search(script)
    if unpack and packed and script.startswith("$z = [IO.Compression.GZipStream]"):
        return gzip.decompress(base64.b64decode(packed.group(1))).decode("utf-8")
    return script
