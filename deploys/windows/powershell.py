"""PowerShell transport: render templates (values become literals), then send them to a host.

Operations upload their script over SFTP (UTF-8 with a byte order mark, so Windows PowerShell
5.1 does not read it in the ANSI code page) to ``C:\\ProgramData\\ollama-fleet\\scripts`` and run
it with ``powershell.exe -File``: no length limit, no quoting layer of cmd.exe ever sees the
script text, and nothing is decoded or compressed at run time (the encoded-and-compressed
bootstrap shape is what endpoint protection flags). Each script deletes its own file first.

The state fact cannot upload (pyinfra gathers facts before any operation runs): its script
travels on standard input, as UTF-8, to one fixed command that reads it and runs it
(:data:`FACT_READER`); the command line is the same for every host and run, whatever the size.
"""

from __future__ import annotations

import base64
import hashlib
import re
from io import BytesIO
from typing import Any

from pyinfra.api import FileUploadCommand, StringCommand

from ..render import PowerShellValueError
from ..render import render as _render
from ..render import template_names as template_names_all
from . import paths

POWERSHELL = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -OutputFormat Text"
PREFIX = f"{POWERSHELL} -EncodedCommand"
FILE_PREFIX = f"{POWERSHELL} -File"
# cmd.exe, the default shell of Windows OpenSSH, refuses command lines over 8191 characters.
MAX_COMMAND = 8191
UTF8_BOM = b"\xef\xbb\xbf"

_COMMENT_LINE = re.compile(r"^\s*#(?!requires).*$", re.IGNORECASE)
_SLUG = re.compile(r"[^a-z0-9]+")



def template_names() -> list[str]:
    return sorted(name.removeprefix("windows/") for name in template_names_all()
                  if name.startswith("windows/") and name.endswith(".ps1.j2"))


def render(template: str, **context: Any) -> str:
    """Render templates/windows/<template>; every value is written as a PowerShell literal."""
    return _render(f"windows/{template}", **context)


def minify(script: str) -> str:
    """Drop comment lines, indentation and blank lines: the fact's size limit counts every byte."""
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


# Reads standard input as UTF-8 (not the console's code page) and runs it as one script.
# Encoded only so that no shell between sshd and PowerShell can re-quote it.
FACT_READER = ("$in = [IO.StreamReader]::new([Console]::OpenStandardInput(), "
               "[Text.UTF8Encoding]::new($false)); & ([ScriptBlock]::Create($in.ReadToEnd()))")


def command_text(script: str) -> str:
    """An encoded command line, checked against the cmd.exe length limit."""
    text = f"{PREFIX} {encode(minify(script))}"
    if len(text) > MAX_COMMAND:
        raise PowerShellValueError(
            f"encoded script is {len(text)} characters, over the {MAX_COMMAND} that cmd.exe "
            "accepts")
    return text


def fact_command() -> StringCommand:
    """The state fact's fixed command; its script goes to standard input (``_stdin``)."""
    return StringCommand(command_text(FACT_READER))


def script_bytes(script: str) -> bytes:
    """A script as a file on the host: UTF-8 with BOM, CRLF line ends."""
    return UTF8_BOM + script.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def script_path(name: str, script: str) -> str:
    """Where a script is uploaded: named after its step and content, so runs never clash."""
    slug = _SLUG.sub("-", name.lower()).strip("-") or "step"
    digest = hashlib.sha256(script.encode("utf-8")).hexdigest()[:12]
    return rf"{paths.SCRIPTS_DIR}\{slug}-{digest}.ps1"


def file_command(path: str) -> StringCommand:
    return StringCommand(f'{FILE_PREFIX} "{path}"')


def run_script(name: str, script: str) -> list[Any]:
    """Upload a rendered script and run it with -File: the two commands of one Windows step.
    A script holding a secret is readable only by administrators (the state folder's ACL) and
    deletes itself before it does anything else."""
    path = script_path(name, script)
    return [FileUploadCommand(BytesIO(script_bytes(script)), paths.sftp_path(path)),
            file_command(path)]


def decode_command(command: str) -> str:
    """The script inside the fact's command (tests, debugging)."""
    if not command.startswith(PREFIX + " "):
        raise ValueError("not an encoded PowerShell command")
    return decode(command[len(PREFIX) + 1 :].strip())
