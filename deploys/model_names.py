"""Ollama model names: parsing, validation, normalisation and on-disk manifest paths.

The rules follow Ollama's own name type (types/model/name.go): a name is
``[host/][namespace/]model[:tag]`` where missing parts take the defaults
``registry.ollama.ai``, ``library`` and ``latest``. Each part has its own
alphabet and length limit; a separator with nothing on one side of it is an
error rather than a silent default. Checking this on the controller lets a bad
name fail before any host is contacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

# Character classes per part. Every part starts with a letter, digit or "_";
# "." is refused in namespaces (so "hf.co/model" cannot be mistaken for a
# namespace) and ":" is allowed only in hosts (for a port).
_PART_RULES: dict[str, tuple[re.Pattern[str], int, str]] = {
    "host": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*"),
        350,
        "letters, digits, '_', '-', '.' and ':'",
    ),
    "namespace": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*"),
        80,
        "letters, digits, '_' and '-'",
    ),
    "model": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*"),
        80,
        "letters, digits, '_', '-' and '.'",
    ),
    "tag": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*"),
        80,
        "letters, digits, '_', '-' and '.'",
    ),
}


class ModelNameError(ValueError):
    """A model name Ollama would refuse; the message says which part and why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid model name {name!r}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ModelName:
    """A fully qualified model name; build it with :func:`parse_model_name`."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def full(self) -> str:
        """``host/namespace/model:tag`` with every default spelled out."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def short(self) -> str:
        """The shortest unambiguous form, as ``ollama list`` shows it; always carries a tag.

        Host and namespace are compared case-insensitively with the defaults, as Ollama does.
        """
        if self.host.lower() != DEFAULT_HOST:
            return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.model}:{self.tag}"

    @property
    def manifest_path(self) -> str:
        """Manifest location relative to the models directory (OLLAMA_MODELS), "/"-separated."""
        return f"manifests/{self.host}/{self.namespace}/{self.model}/{self.tag}"

    def __str__(self) -> str:
        return self.short


def _check_part(name: str, kind: str, value: str) -> None:
    pattern, max_len, alphabet = _PART_RULES[kind]
    if not value:
        raise ModelNameError(name, f"empty {kind}")
    if len(value) > max_len:
        raise ModelNameError(name, f"{kind} {value!r} is longer than {max_len} characters")
    if pattern.fullmatch(value):
        return
    if not (value[0].isascii() and (value[0].isalnum() or value[0] == "_")):
        raise ModelNameError(
            name, f"{kind} {value!r} must start with a letter, digit or '_'"
        )
    bad = next(c for c in value[1:] if not pattern.fullmatch("a" + c))
    hint = ""
    if kind == "namespace" and bad == ".":
        hint = " (a registry host needs all three parts: host/namespace/model)"
    raise ModelNameError(
        name, f"{kind} {value!r} contains {bad!r}; a {kind} may only use {alphabet}{hint}"
    )


def parse_model_name(name: str) -> ModelName:
    """Split and validate ``[host/][namespace/]model[:tag]``; missing parts get the defaults.

    Raises :class:`ModelNameError` (a ValueError) naming the faulty part.
    """
    if not isinstance(name, str):
        raise ModelNameError(str(name), "a model name must be a string")
    if not name:
        raise ModelNameError(name, "empty name")
    if any(c.isspace() for c in name):
        raise ModelNameError(name, "contains whitespace")
    # Forms Ollama's parser understands in other contexts but that would make
    # the name mean something other than a plain registry model here.
    if "://" in name:
        raise ModelNameError(
            name, "a URL scheme is not supported; write host/namespace/model:tag"
        )
    if "@" in name:
        raise ModelNameError(name, "digest references (@sha256:...) are not supported")

    rest = name
    tag = DEFAULT_TAG
    # "/" can never appear in a tag, so a ":" after the last "/" starts the tag;
    # one before it belongs to a host port ("localhost:5000/ns/model").
    if name.rfind(":") > name.rfind("/"):
        rest, _, tag = name.rpartition(":")
        if not tag:
            raise ModelNameError(name, "empty tag after ':'")
        if ":" in rest[rest.rfind("/") + 1 :]:
            raise ModelNameError(
                name,
                "':' may appear only once after the last '/', before the tag "
                "(source suffixes such as ':cloud' are not supported)",
            )

    parts = rest.split("/")
    if len(parts) > 3:
        raise ModelNameError(
            name, "too many '/': expected [host/][namespace/]model[:tag]"
        )
    model = parts[-1]
    namespace = parts[-2] if len(parts) >= 2 else DEFAULT_NAMESPACE
    host = parts[-3] if len(parts) == 3 else DEFAULT_HOST

    for kind, value in (("host", host), ("namespace", namespace), ("model", model), ("tag", tag)):
        _check_part(name, kind, value)
    return ModelName(host=host, namespace=namespace, model=model, tag=tag)


def is_valid_model_name(name: str) -> bool:
    try:
        parse_model_name(name)
    except ModelNameError:
        return False
    return True


def normalize_model_name(name: str) -> str:
    """``qwen2.5`` -> ``qwen2.5:latest``, ``library/llama3`` -> ``llama3:latest``.

    Two spellings of the same model normalise to the same string, so plans can compare them.
    """
    return parse_model_name(name).short


def manifest_relpath(name: str) -> str:
    """``qwen2.5:7b`` -> ``manifests/registry.ollama.ai/library/qwen2.5/7b``."""
    return parse_model_name(name).manifest_path
