"""Model names with upstream types/model/name.go rules. TEST FIXTURE.

`user/model:tag` defaults to host registry.ollama.ai, namespace library, tag latest; the
manifest lives at manifests/<host>/<namespace>/<model>/<tag>.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
MISSING = "!MISSING!"
INVALID_NAME = "invalid model name"


def _cut_last(s: str, sep: str) -> tuple[str, str, bool]:
    i = s.rfind(sep)
    if i < 0:
        return s, "", False
    # An empty side is a "promised" but missing part: it must make the name invalid.
    return (s[:i] or MISSING), (s[i + len(sep):] or MISSING), True


@dataclass(frozen=True)
class Name:
    host: str = ""
    namespace: str = ""
    model: str = ""
    tag: str = ""

    @classmethod
    def parse(cls, s: str) -> Name:
        """ParseName: bare parse merged with the defaults."""
        bare = cls.parse_bare(s)
        return cls(bare.host or DEFAULT_HOST, bare.namespace or DEFAULT_NAMESPACE,
                   bare.model, bare.tag or DEFAULT_TAG)

    @classmethod
    def parse_bare(cls, s: str) -> Name:
        tag = ""
        if s.rfind(":") > s.rfind("/"):
            s, tag, _ = _cut_last(s, ":")
        s, model, promised = _cut_last(s, "/")
        if not promised:
            return cls(model=s, tag=tag)
        s, namespace, promised = _cut_last(s, "/")
        if not promised:
            return cls(namespace=s, model=model, tag=tag)
        scheme, sep, host = s.partition("://")
        return cls(host if sep else scheme, namespace, model, tag)

    @classmethod
    def from_filepath(cls, rel: str) -> Name | None:
        parts = rel.split(os.sep)
        if len(parts) != 4:
            return None
        n = cls(*parts)
        return n if n.is_valid() else None

    def is_valid(self) -> bool:
        return all(_valid_part(kind, part) for kind, part in
                   (("host", self.host), ("namespace", self.namespace),
                    ("model", self.model), ("tag", self.tag)))

    def filepath(self) -> str:
        return os.path.join(self.host, self.namespace, self.model, self.tag)

    def display_shortest(self) -> str:
        if self.host.lower() != DEFAULT_HOST:
            prefix = f"{self.host}/{self.namespace}/"
        elif self.namespace.lower() != DEFAULT_NAMESPACE:
            prefix = f"{self.namespace}/"
        else:
            prefix = ""
        return f"{prefix}{self.model}:{self.tag}"

    def __str__(self) -> str:
        out = f"{self.host}/" if self.host else ""
        out += f"{self.namespace}/" if self.namespace else ""
        out += self.model
        return out + (f":{self.tag}" if self.tag else "")

    def equal_fold(self, other: Name) -> bool:
        return str(self).lower() == str(other).lower()


def _alnum_(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _valid_part(kind: str, s: str) -> bool:
    limit = 350 if kind == "host" else 80
    if not 1 <= len(s.encode()) <= limit:
        return False
    if not _alnum_(s[0]):
        return False
    for c in s[1:]:
        if c in "_-":
            continue
        if c == ".":
            if kind == "namespace":
                return False
            continue
        if c == ":":
            if kind != "host":
                return False
            continue
        if not _alnum_(c):
            return False
    return True
