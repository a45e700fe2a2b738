"""What models a host should end up with: pulls and rendered custom Modelfiles, validated locally.

Shared by the Linux and Windows deploys, so a Modelfile is judged the same way whatever the host.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2

from .model_names import ModelNames, model_key, normalize_model_name
from .modelfile import ModelfileError, parse_modelfile, render_declaration
from .modelfile_template import render_modelfile_template
from .settings import CustomModel, OllamaSettings


@dataclass(frozen=True)
class RenderedModel:
    name: str  # normalised model:tag
    modelfile: str  # text pushed to the host
    base: str  # normalised FROM model name, or the FROM path when it is a file
    base_is_file: bool

    @property
    def digest(self) -> str:
        """What the host records after a create; covers the Modelfile text and the base name."""
        return hashlib.sha256(f"{self.base}\n{self.modelfile}".encode()).hexdigest()


@dataclass(frozen=True)
class ModelPlan:
    pulls: tuple[str, ...] = ()
    custom: tuple[RenderedModel, ...] = ()
    prune: bool = False
    keep: frozenset[str] = field(default_factory=frozenset)  # never pruned

    @property
    def declared(self) -> ModelNames:
        """Every model the host must keep, compared as Ollama compares names (prune never
        removes one of these, whatever its spelling on the host)."""
        return ModelNames([*self.pulls, *(m.name for m in self.custom), *sorted(self.keep)])

    @property
    def wanted(self) -> ModelNames:
        """The models that must be present: pulls and custom models."""
        return ModelNames([*self.pulls, *(m.name for m in self.custom)])


class ModelPlanError(ValueError):
    pass


def plan_models(
    settings: OllamaSettings, host_name: str, host_data: dict[str, Any]
) -> ModelPlan:
    """Render and check every model a host declares; raise ModelPlanError naming the host."""
    problems: list[str] = []
    pulls: dict[str, str] = {}  # model_key -> the first spelling declared
    for raw in settings.models:
        try:
            pulls.setdefault(model_key(raw), normalize_model_name(raw))
        except ValueError as exc:
            problems.append(f"host {host_name}: ollama_models entry {raw!r}: {exc}")

    rendered: list[RenderedModel] = []
    for decl in settings.custom_models:
        try:
            rendered.append(_render(decl, host_name, host_data, settings.version))
        except (ModelfileError, ValueError, jinja2.TemplateError, OSError) as exc:
            problems.append(f"host {host_name}: custom model {decl.name!r}: {exc}")

    custom_names: dict[str, str] = {}
    for model in rendered:
        key = model_key(model.name)
        if key in custom_names:
            problems.append(
                f"host {host_name}: custom models {custom_names[key]!r} and {model.name!r} are "
                "the same model to Ollama (names compare without case, with the default "
                "registry, namespace and tag filled in); declare it once")
        elif key in pulls:
            problems.append(
                f"host {host_name}: custom model {model.name!r} is the same model as "
                f"ollama_models entry {pulls[key]!r}; `ollama create` would replace the pulled "
                "model (give the custom model its own name)")
        custom_names.setdefault(key, model.name)
    for model in rendered:
        if model.base_is_file:
            continue
        if model_key(model.base) not in pulls and model_key(model.base) not in custom_names:
            problems.append(
                f"host {host_name}: custom model {model.name!r}: FROM {model.base!r} is neither "
                "in ollama_models nor another custom model (declare it, or use a file path)"
            )
    if problems:
        raise ModelPlanError("\n".join(problems))
    bases = {m.base for m in rendered if not m.base_is_file}
    return ModelPlan(
        pulls=tuple(pulls.values()),
        custom=tuple(_creation_order(rendered)),
        prune=settings.prune_models,
        keep=frozenset(bases),
    )


def _render(
    decl: CustomModel, host_name: str, host_data: dict[str, Any], version: str | None = None
) -> RenderedModel:
    """The Modelfile for one declaration, checked against the host's Ollama ``version``."""
    name = normalize_model_name(decl.name)
    if decl.modelfile is not None:
        source = _template_path(decl.modelfile)
        # Templates see the host's data as variables, and `host.name` / `host.data` like pyinfra.
        host = SimpleNamespace(name=host_name, data=SimpleNamespace(**host_data))
        # Every value is checked to land exactly in the field it was written into.
        text = render_modelfile_template(source, {**host_data, "host": host})
        try:
            parsed = parse_modelfile(text, source=str(source), version=version)
        except ModelfileError as exc:
            raise _with_jinja_hint(exc, host_data) from None
    else:
        text = render_declaration(
            decl.from_ or "",
            parameters=decl.parameters,
            system=decl.system,
            template=decl.template,
            messages=[(m.role, m.content) for m in decl.messages],
            version=version,
        )
        parsed = parse_modelfile(text, source=f"declaration of {decl.name}", version=version)
    base_is_file = parsed.base_is_file()
    base = parsed.from_ if base_is_file else normalize_model_name(parsed.from_)
    return RenderedModel(name=name, modelfile=text, base=base, base_is_file=base_is_file)


def _with_jinja_hint(exc: ModelfileError, host_data: dict[str, Any]) -> ModelfileError:
    """A TEMPLATE error about an undefined function named like a host value is most likely a
    Jinja2 value written with Go's braces: say how Modelfile templates write host values."""
    match = re.search(r'function "([^"]+)" not defined', exc.reason)
    if match and (match.group(1) in host_data or match.group(1) == "host"):
        return ModelfileError(
            exc.source, exc.line, f"{exc.reason}; `{match.group(1)}` is a host value: Modelfile "
            f"templates write host values as [[ {match.group(1)} ]] ({{{{ }}}} is left to "
            "Ollama's Go template)", column=exc.column)
    return exc


def _template_path(path: str) -> Path:
    """A Modelfile template: relative to the working directory (the user's repository), else
    one shipped with ollama-fleet (``modelfiles/<name>``, ``templates/`` prefix optional)."""
    candidate = Path(path)
    if candidate.is_absolute() or (Path.cwd() / candidate).is_file():
        if candidate.is_file():
            return candidate.resolve()
    else:
        shipped = Path(str(resources.files("ollama_fleet.templates")))
        relative = candidate
        if candidate.parts[:1] == ("templates",):
            relative = Path(*candidate.parts[1:])
        if (shipped / relative).is_file():
            return (shipped / relative).resolve()
    raise ValueError(f"Modelfile template {path!r} not found (looked in the working directory "
                     "and in the templates shipped with ollama-fleet)")


def _creation_order(models: list[RenderedModel]) -> list[RenderedModel]:
    """Bases first, so a custom model built FROM another custom model finds it."""
    by_key = {model_key(m.name): m for m in models}
    ordered: list[RenderedModel] = []
    seen: set[str] = set()

    def visit(model: RenderedModel, chain: tuple[str, ...]) -> None:
        key = model_key(model.name)
        if key in seen:
            return
        if key in (model_key(c) for c in chain):
            raise ModelPlanError(f"custom models build on each other in a loop: {chain}")
        base = None if model.base_is_file else by_key.get(model_key(model.base))
        if base is not None:
            visit(base, (*chain, model.name))
        seen.add(key)
        ordered.append(model)

    for model in models:
        visit(model, ())
    return ordered
