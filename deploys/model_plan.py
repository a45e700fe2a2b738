"""What models a host should end up with: pulls and rendered custom Modelfiles, validated locally.

Shared by the Linux and Windows deploys, so a Modelfile is judged the same way whatever the host.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2

from .model_names import normalize_model_name
from .modelfile import ModelfileError, parse_modelfile, render_declaration
from .settings import CustomModel, OllamaSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    def declared(self) -> frozenset[str]:
        return frozenset(self.pulls) | {m.name for m in self.custom} | self.keep


class ModelPlanError(ValueError):
    pass


def plan_models(
    settings: OllamaSettings, host_name: str, host_data: dict[str, Any]
) -> ModelPlan:
    """Render and check every model a host declares; raise ModelPlanError naming the host."""
    problems: list[str] = []
    pulls: list[str] = []
    for raw in settings.models:
        try:
            pulls.append(normalize_model_name(raw))
        except ValueError as exc:
            problems.append(f"host {host_name}: ollama_models entry {raw!r}: {exc}")

    rendered: list[RenderedModel] = []
    for decl in settings.custom_models:
        try:
            rendered.append(_render(decl, host_name, host_data))
        except (ModelfileError, ValueError, jinja2.TemplateError, OSError) as exc:
            problems.append(f"host {host_name}: custom model {decl.name!r}: {exc}")

    custom_names = {m.name for m in rendered}
    for model in rendered:
        if model.base_is_file:
            continue
        if model.base not in pulls and model.base not in custom_names:
            problems.append(
                f"host {host_name}: custom model {model.name!r}: FROM {model.base!r} is neither "
                "in ollama_models nor another custom model (declare it, or use a file path)"
            )
    if problems:
        raise ModelPlanError("\n".join(problems))
    bases = {m.base for m in rendered if not m.base_is_file}
    return ModelPlan(
        pulls=tuple(dict.fromkeys(pulls)),
        custom=tuple(_creation_order(rendered)),
        prune=settings.prune_models,
        keep=frozenset(bases),
    )


def _render(decl: CustomModel, host_name: str, host_data: dict[str, Any]) -> RenderedModel:
    name = normalize_model_name(decl.name)
    if decl.modelfile is not None:
        source = _template_path(decl.modelfile)
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(source.parent)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        # Templates see the host's data as variables, and `host.name` / `host.data` like pyinfra.
        host = SimpleNamespace(name=host_name, data=SimpleNamespace(**host_data))
        text = env.get_template(source.name).render({**host_data, "host": host})
        parsed = parse_modelfile(text, source=str(source))
    else:
        text = render_declaration(
            decl.from_ or "",
            parameters=decl.parameters,
            system=decl.system,
            template=decl.template,
            messages=[(m.role, m.content) for m in decl.messages],
        )
        parsed = parse_modelfile(text, source=f"declaration of {decl.name}")
    base_is_file = parsed.base_is_file()
    base = parsed.from_ if base_is_file else normalize_model_name(parsed.from_)
    return RenderedModel(name=name, modelfile=text, base=base, base_is_file=base_is_file)


def _template_path(path: str) -> Path:
    candidate = Path(path)
    if not candidate.is_absolute():
        for root in (Path.cwd(), PROJECT_ROOT, PROJECT_ROOT / "templates"):
            if (root / candidate).is_file():
                return (root / candidate).resolve()
    if candidate.is_file():
        return candidate.resolve()
    raise ValueError(f"Modelfile template {path!r} not found (looked in ., the project and "
                     "templates/)")


def _creation_order(models: list[RenderedModel]) -> list[RenderedModel]:
    """Bases first, so a custom model built FROM another custom model finds it."""
    by_name = {m.name: m for m in models}
    ordered: list[RenderedModel] = []
    seen: set[str] = set()

    def visit(model: RenderedModel, chain: tuple[str, ...]) -> None:
        if model.name in seen:
            return
        if model.name in chain:
            raise ModelPlanError(f"custom models build on each other in a loop: {chain}")
        base = by_name.get(model.base)
        if base is not None:
            visit(base, (*chain, model.name))
        seen.add(model.name)
        ordered.append(model)

    for model in models:
        visit(model, ())
    return ordered
