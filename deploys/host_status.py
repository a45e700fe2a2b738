"""What `status` reports for one host, whatever its platform (each platform's drift module fills
it in from its own state fact)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class HostStatus:
    host: str
    reachable: bool = True
    installed: str | None = None
    running: str | None = None
    active: str = "unknown"
    enabled: str = "unknown"
    address: str = ""
    drift: list[str] = field(default_factory=list)
    models_missing: list[str] = field(default_factory=list)
    models_extra: list[str] = field(default_factory=list)
    models_present: int = 0
    error: str | None = None
    gpu: str = ""  # the GPUs the host has and the install is for (nvidia, amd, jetson)
    compute: str = ""  # what the running server reported it computes on ("" unknown)
    compute_problem: str | None = None  # e.g. a GPU host whose server runs on the CPU

    @property
    def healthy(self) -> bool:
        return (
            self.reachable and self.error is None and self.active == "active"
            and self.running is not None and self.running == self.installed
            and self.compute_problem is None
        )

    @property
    def ok(self) -> bool:
        return self.healthy and not self.drift and not self.models_missing

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "healthy": self.healthy, "ok": self.ok}
