"""Small command helpers shared by operations on every platform."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

from pyinfra import logger
from pyinfra.api import FileUploadCommand, FunctionCommand, StringCommand
from pyinfra.api.command import PyinfraCommand

from .render import sh_command
from .run import note_failure


def fail_host(reason: str) -> FunctionCommand:
    """A command that fails this host with a clear reason, without aborting the others.

    Operations run lazily at execute time, where an exception would stop the whole run; a failing
    command instead marks only this host failed, which is what an ops engineer expects.
    """

    def _fail(state, host) -> bool:  # noqa: ANN001 - pyinfra calls with (state, host)
        note_failure(state, host.name, reason)
        host.log_styled(f"ollama-fleet: {reason}", fg="red", log_func=logger.error)
        return False

    return FunctionCommand(_fail, (), {})


def note(message: str) -> FunctionCommand:
    """Log a line for this host at execute time (no remote round trip)."""

    def _note(state, host) -> bool:  # noqa: ANN001
        host.log_styled(message, log_func=logger.info)
        return True

    return FunctionCommand(_note, (), {})


PRIVATE_UPLOAD_DIR = ".ollama-fleet-upload"  # relative: the SSH user's home


def upload_secret(content: bytes, dest: str, name: str) -> Iterator[PyinfraCommand]:
    """Upload a file that holds secrets without it ever being readable by other users.

    With sudo, pyinfra first uploads as the SSH user to a temporary file (in /tmp by default,
    world-readable) and then copies it into place; a secret goes through a 0700 directory of the
    SSH user instead. The relative path resolves to that user's home for the upload and the copy.
    """
    yield StringCommand(sh_command("install", "-d", "-m", "0700", PRIVATE_UPLOAD_DIR), _sudo=False)
    yield FileUploadCommand(BytesIO(content), dest,
                            remote_temp_filename=f"{PRIVATE_UPLOAD_DIR}/{name}")
