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
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
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

    @property
    def key(self) -> str:
        """Ollama's identity for the name (see :func:`model_key`)."""
        return self.full.lower()

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


# --------------------------------------------------------------------------- identity
#
# Ollama treats two names as the same model when their parts, with the defaults filled in,
# are equal ignoring ASCII case (Name.EqualFold; the name alphabet is ASCII only). So
# `Qwen2.5:0.5B`, `qwen2.5:0.5b`, `library/qwen2.5:0.5b` and
# `registry.ollama.ai/library/qwen2.5:0.5b` are one model, and `q` is `q:latest`. Every
# comparison of model names in this project goes through model_key; comparing the strings
# themselves would, for example, let prune remove a declared model spelled differently.


def model_key(name: str) -> str:
    """The identity Ollama gives a name: ``host/namespace/model:tag``, defaults filled in,
    lower-cased. Raises :class:`ModelNameError` for an invalid name."""
    return parse_model_name(name).full.lower()


def model_key_or_none(name: str) -> str | None:
    """:func:`model_key`, or None for a string that is not a valid model name (stray files)."""
    try:
        return model_key(name)
    except ModelNameError:
        return None


def same_model(a: str, b: str) -> bool:
    """Whether Ollama would take the two names for the same model."""
    key_a, key_b = model_key_or_none(a), model_key_or_none(b)
    return key_a is not None and key_a == key_b


class ModelNames(AbstractSet[str]):
    """A set of model names compared by :func:`model_key`.

    Membership, difference and intersection follow Ollama's identity; iteration yields one
    spelling per model (the first one given). Invalid names are kept under their own text,
    so they never match a valid one.
    """

    __slots__ = ("_by_key",)

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._by_key: dict[str, str] = {}
        for name in names:
            self._by_key.setdefault(_key_of(name), name)

    @classmethod
    def _from_iterable(cls, it: Iterable[str]) -> ModelNames:
        return cls(it)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key_of(name) in self._by_key

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        return f"ModelNames({sorted(self._by_key.values())!r})"

    def keys(self) -> frozenset[str]:
        return frozenset(self._by_key)

    def get(self, name: str) -> str | None:
        """The spelling held for the model ``name`` names, if any."""
        return self._by_key.get(_key_of(name))


def _key_of(name: str) -> str:
    key = model_key_or_none(name)
    return key if key is not None else f"\0invalid:{name}"


def matching(names: Iterable[str], name: str) -> list[str]:
    """Those of ``names`` that are the same model as ``name`` (in their given order)."""
    key = model_key_or_none(name)
    return [n for n in names if key is not None and model_key_or_none(n) == key]


def recorded_digest(
    records: Mapping[str, str], name: str, exact_first: bool = False
) -> str | None:
    """The digest a host's create records hold for the model ``name``, compared by identity.

    Records written under another spelling of the same model count. When several records
    name the model and disagree, None: the model is then re-created (and the leftovers
    removed), never wrongly taken as current. With ``exact_first`` a record under exactly
    ``name`` wins (for hosts whose record files are named by the spelling, so the one for the
    current spelling is the newest create of it).
    """
    if exact_first and name in records:
        return records[name]
    digests = {records[n] for n in matching(records, name)}
    return digests.pop() if len(digests) == 1 else None
