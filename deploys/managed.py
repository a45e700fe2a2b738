"""One type for every file ollama-fleet writes on a host: its place, its declared content (or
that it must be absent), its owner and mode, and where it is staged before going live.

The systemd unit, drop-in and EnvironmentFile, the firewall's rules and unit and the auth
proxy's files are all ManagedFiles. A file goes live in three steps, each the same for all of
them: upload to its staged path (a secret through hostcmd.upload_secret, so it is never
world-readable on the way), then the on-host script renames it into place with the shell
functions of templates/linux/stage_files.sh.j2 (backup, install, restore on failure).

Why not pyinfra's files.put / files.template: each asks the host for the file's checksum (a
fact, a remote round trip per file and run; facts are not cached in pyinfra 3.10), so a
converged host would cost one command per managed file instead of the single state fact, which
already reports every digest. Their upload also goes live at once, where the activation must
put several files live together and take them back together if the new server is unhealthy,
on the host, even if the controller is gone by then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pyinfra.api import FileUploadCommand
from pyinfra.api.command import PyinfraCommand

from .hostcmd import upload_secret

ABSENT = "absent"  # the digest the state fact reports for a missing file


@dataclass(frozen=True)
class ManagedFile:
    key: str  # short unique name: the staged file's name and the state fact's key
    dest: str
    content: bytes | None  # None: the file must not exist
    staging_dir: str
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"

    @property
    def sha256(self) -> str:
        """What the state fact reports for the file as declared ("absent" for no file)."""
        return ABSENT if self.content is None else hashlib.sha256(self.content).hexdigest()

    @property
    def staged(self) -> str:
        return f"{self.staging_dir}/{self.key}"

    @property
    def secret(self) -> bool:
        """Not world-readable on the host: it travels as a secret too."""
        return not int(self.mode, 8) & 0o004

    @property
    def text(self) -> str:
        return "" if self.content is None else self.content.decode("utf-8")

    def differs(self, reported: dict[str, str]) -> bool:
        """Whether the host's file (digest by key, as the state fact reports) is not as declared."""
        return reported.get(self.key, ABSENT) != self.sha256

    def step(self, changed: bool) -> dict[str, Any]:
        """This file for stage_files.sh.j2: installed from its staged copy, removed, or only
        backed up and restored (``changed`` False: it is not touched, but a rollback puts back
        what was there)."""
        return {
            "key": self.key, "dest": self.dest, "mode": self.mode, "owner": self.owner,
            "group": self.group,
            "staged": self.staged if changed and self.content is not None else None,
            "absent": changed and self.content is None,
        }


def upload(files: Iterable[ManagedFile]) -> Iterator[PyinfraCommand]:
    """Upload each file that has content to its staged path; secrets never readable by others."""
    for managed in files:
        if managed.content is None:
            continue
        if managed.secret:
            yield from upload_secret(managed.content, managed.staged, managed.key)
        else:
            yield FileUploadCommand(BytesIO(managed.content), managed.staged)
