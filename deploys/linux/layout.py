"""Where things live on a Linux host, derived from settings (never stored separately)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..managed import ManagedFile
from ..render import env_name, render
from ..settings import OllamaSettings

STATE_DIR = "/var/lib/ollama-fleet"
STAGING_DIR = f"{STATE_DIR}/staged"
DROPIN_NAME = "ollama-fleet.conf"

__all__ = ["DROPIN_NAME", "STAGING_DIR", "STATE_DIR", "Layout", "ManagedFile", "managed_file"]


def managed_file(key: str, dest: str, content: str | bytes | None, mode: str = "0644",
                 group: str = "root") -> ManagedFile:
    """A file of ours on a Linux host, root-owned, staged in STAGING_DIR."""
    data = content.encode() if isinstance(content, str) else content
    return ManagedFile(key, dest, data, STAGING_DIR, mode=mode, group=group)


@dataclass(frozen=True)
class Layout:
    settings: OllamaSettings

    @property
    def unit(self) -> str:
        return f"{self.settings.service_name}.service"

    @property
    def unit_path(self) -> str:
        return f"/etc/systemd/system/{self.unit}"

    @property
    def dropin_path(self) -> str:
        return f"/etc/systemd/system/{self.unit}.d/{DROPIN_NAME}"

    @property
    def secret_path(self) -> str:
        return f"/etc/ollama-fleet/{self.settings.service_name}.env"

    def managed_files(self) -> tuple[ManagedFile, ...]:
        s = self.settings
        home = PurePosixPath(s.service_home)
        models = PurePosixPath(s.models_dir)
        in_home_tree = models.is_relative_to("/home") or models.is_relative_to("/root")
        secrets = s.secret_environment()
        unit = render(
            "linux/ollama.service.j2",
            unit=self.unit, dropin_name=DROPIN_NAME,
            exec_path=f"{s.install_dir}/current/bin/ollama",
            user=s.service_user, group=s.service_group, harden=s.harden_unit, home=str(home),
            models_dir=s.models_dir, models_dir_outside_home=not models.is_relative_to(home)
            and not in_home_tree, models_dir_in_home_tree=in_home_tree,
        )
        dropin = render(
            "linux/environment.dropin.j2",
            environment=s.environment(),
            secret_file=self.secret_path if secrets else None,
        )
        secret = render("linux/secret.env.j2", environment=[
            (env_name(name), value) for name, value in secrets.items()]) if secrets else None
        return (
            managed_file("unit", self.unit_path, unit, "0644"),
            managed_file("dropin", self.dropin_path, dropin, "0644"),
            managed_file("secret", self.secret_path, secret, "0600"),
        )

    def applied_digest(self, files: tuple[ManagedFile, ...], addons: tuple[str, ...] = ()) -> str:
        """Identifies the running configuration: release (with its GPU add-on archives) plus
        every managed file. No add-ons adds nothing, so a CPU host's digest stays as it was."""
        parts = [self.settings.version, self.settings.models_dir] + [
            f"{f.key}={f.sha256}" for f in files
        ]
        if addons:
            parts.append("addons=" + ",".join(sorted(addons)))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
