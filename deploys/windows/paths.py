"""Fixed names and paths on Windows hosts, and checks for the Windows paths in the settings."""

from __future__ import annotations

import re
from pathlib import PureWindowsPath
from urllib.parse import quote, unquote

# Literal, not %ProgramData%: SFTP uploads need the real path, and the fact must not depend on
# the SSH user's environment.
STATE_DIR = r"C:\ProgramData\ollama-fleet"
MODELFILES_DIR = STATE_DIR + r"\modelfiles"
STAGED_DIR = STATE_DIR + r"\staged"
LOGS_DIR = STATE_DIR + r"\logs"
SERVE_SCRIPT = STATE_DIR + r"\serve.ps1"
APP_SCRIPT = STATE_DIR + r"\start-app.ps1"
SCRIPTS_DIR = STATE_DIR + r"\scripts"
ROLLBACK_DIR = STATE_DIR + r"\rollback"
# The server's own environment (server mode): read by serve.ps1 alone, never machine-wide.
SERVER_ENV = STATE_DIR + r"\server-env.json"
REGISTRY_KEY = r"HKLM:\SOFTWARE\ollama-fleet"
# Desktop mode: the variables belong to the person the app runs as, recorded in their hive.
USER_REGISTRY_KEY = r"HKCU:\Software\ollama-fleet"
OPENSSH_KEY = r"HKLM:\SOFTWARE\OpenSSH"
TASK_PATH = "\\ollama-fleet\\"
SERVER_TASK = "ollama"
APP_TASK = "start-app"
FIREWALL_RULE = "ollama-fleet-api"
POWERSHELL_EXE = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
DESKTOP_APP_EXE = "ollama app.exe"
ROCM_ZIP = "ollama-windows-amd64-rocm.zip"
# Task Scheduler's default priority is 7 (below normal, with low I/O and memory priority),
# which the server and every runner it starts would inherit; 4 to 6 are normal priority.
TASK_PRIORITY = 5

_BAD_CHARS = re.compile(r'[<>"|?*\x00-\x1f]')


def check_windows_path(value: str, field: str) -> str:
    """An absolute drive path without the characters Windows (or our quoting) refuses."""
    path = PureWindowsPath(value)
    if not re.match(r"^[A-Za-z]:\\", value) or ".." in path.parts or _BAD_CHARS.search(value[2:]):
        raise ValueError(f"ollama_{field} = {value!r}: not an absolute Windows path like "
                         r"C:\Program Files\Ollama")
    return str(path)


def sftp_path(windows_path: str) -> str:
    """Windows OpenSSH's SFTP server takes drive paths with forward slashes."""
    return windows_path.replace("\\", "/")


def modelfile_stem(model_name: str) -> str:
    """A file name for a model: ':' and '/' cannot appear in Windows names, so percent-encode."""
    return quote(model_name, safe="._-")


def model_from_stem(stem: str) -> str:
    return unquote(stem)


def modelfile_path(model_name: str) -> str:
    return rf"{MODELFILES_DIR}\{modelfile_stem(model_name)}.Modelfile"


def digest_path(model_name: str) -> str:
    return rf"{MODELFILES_DIR}\{modelfile_stem(model_name)}.digest"
