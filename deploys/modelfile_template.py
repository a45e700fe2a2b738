"""Modelfile templates rendered with a host's data, where no value can change the Modelfile.

Modelfile quoting has no escape mechanism (Ollama's parser ends a quoted value at the first
line break where the text so far ends with the quote), so a value cannot be made safe by
escaping it: it either fits the place it is written into, or it is refused. Two checks make
that a guarantee rather than a hope:

Modelfile templates use their own Jinja2 delimiters, ``[[ value ]]``, ``[% statement %]`` and
``[# comment #]`` (see :data:`DELIMITERS`), so that ``{{ }}`` stays Go template syntax for Ollama's
TEMPLATE: a Modelfile template holds a real TEMPLATE as it would be written by hand. Files are
read as Ollama reads Modelfiles (UTF-8, or UTF-16 with a byte-order mark).

1. Every ``[[ ]]`` value passes through the environment's ``finalize``, which refuses control
   and other non-printable characters (Ollama drops them, or they end lines) and swaps the
   value for an inert placeholder (letters and digits only).
2. The text with placeholders is split into instructions with Ollama's grammar, and so is the
   text with the real values. The two must have the same instructions, in the same order, with
   the same quoting, and each field must be exactly its placeholder text with the values put in.
   A value that would end a quote early, add a line or an instruction, or start a comment
   changes that, and the template is refused, naming the file, the line, the variable and why.

Only the text the template itself writes decides which instructions there are; host data can
only fill in the values it was written into.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import traceback
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import jinja2
from jinja2.loaders import split_template_path

from .modelfile import ModelfileError, RawInstruction, decode_modelfile, tokenize_modelfile

# Jinja2 delimiters for Modelfile templates: none of them means anything to Go templates
# ({{ }}) or to Modelfile syntax. A literal "[[", "[%" or "[#" is written [[ "[[" ]] etc.
DELIMITERS: dict[str, str] = {
    "variable_start_string": "[[",
    "variable_end_string": "]]",
    "block_start_string": "[%",
    "block_end_string": "%]",
    "comment_start_string": "[#",
    "comment_end_string": "#]",
}


class _ModelfileLoader(jinja2.BaseLoader):
    """Template files from one folder, read as Ollama reads Modelfiles (UTF-8, or UTF-16 with
    a byte-order mark), with an error naming the file for any other bytes."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Any]:
        path = self.folder.joinpath(*split_template_path(template))
        if not path.is_file():
            raise jinja2.TemplateNotFound(template)
        mtime = path.stat().st_mtime
        text = decode_modelfile(path.read_bytes(), _display(path))
        return text, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime


@dataclass
class _Output:
    """One ``[[ ]]`` value written while rendering."""

    value: str
    file: str  # the template's path
    line: int
    variable: str


@dataclass
class _Recorder:
    env: jinja2.Environment
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    outputs: dict[str, _Output] = field(default_factory=dict)
    rendering: bool = False
    _per_line: dict[tuple[str, int], int] = field(default_factory=dict)

    def placeholder(self, index: int) -> str:
        return f"zqv{self.nonce}n{index}z"

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(f"zqv{self.nonce}n([0-9]+)z")

    def __call__(self, value: Any) -> Any:
        if not self.rendering:
            return value  # a constant the template itself writes, folded at compile time
        text = "" if value is None else str(value)
        file, line = _template_position(self.env)
        seen = self._per_line.get((file, line), 0)
        self._per_line[(file, line)] = seen + 1
        variable = _expression_label(self.env, file, line, seen)
        key = self.placeholder(len(self.outputs))
        self.outputs[key] = _Output(text, file, line, variable)
        return key

    def fill(self, text: str, only: str | None = None) -> str:
        """``text`` with the placeholders replaced by their values (or only the one given)."""

        def put(match: re.Match[str]) -> str:
            key = match.group(0)
            if only is not None and key != only:
                return key
            return self.outputs[key].value if key in self.outputs else key

        return self.pattern.sub(put, text)


def render_modelfile_template(source: Path, variables: Mapping[str, Any]) -> str:
    """Render the Modelfile template ``source`` with ``variables``; the text, checked.

    Raises :class:`ModelfileError` naming the template file and line for a Jinja error
    (syntax, undefined variable, a failing filter) and for a value that cannot be carried.
    """
    display = _display(source)
    env = jinja2.Environment(
        loader=_ModelfileLoader(str(source.parent)),
        **DELIMITERS,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    recorder = _Recorder(env)
    env.finalize = recorder
    try:
        template = env.get_template(source.name)
        recorder.rendering = True
        with_placeholders = template.render(dict(variables))
    except jinja2.TemplateSyntaxError as exc:
        raise ModelfileError(
            _display(Path(exc.filename)) if exc.filename else display,
            exc.lineno or 1, f"template syntax error: {exc.message} (Modelfile templates write "
            "host values as [[ name ]] and statements as [% ... %])") from None
    except ModelfileError:
        raise  # a file that is not UTF-8 / UTF-16: already names the file
    except jinja2.TemplateNotFound as exc:
        file, line = _error_position(exc, source)
        raise ModelfileError(file, line, f"template {exc.name!r} not found") from None
    except jinja2.UndefinedError as exc:
        file, line = _error_position(exc, source)
        raise ModelfileError(
            file, line, f"{exc.message}: the host's data has no such value (set it in host or "
            "group data, or give the template a | default(...))") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside the template, located
        file, line = _error_position(exc, source)
        raise ModelfileError(
            file, line, f"template error: {type(exc).__name__}: {exc}") from None
    finally:
        recorder.rendering = False

    for output in recorder.outputs.values():
        bad = next((c for c in output.value if not c.isprintable() and c not in "\n\t"), None)
        if bad is not None:
            raise ModelfileError(
                _display(Path(output.file)), output.line,
                f"value of `{output.variable}` contains U+{ord(bad):04X} "
                f"({unicodedata.name(bad, 'a control character')}); Modelfiles carry no "
                "control or non-printable characters other than line breaks and tabs")

    text = recorder.fill(with_placeholders)
    _check_structure(recorder, with_placeholders, text, display)
    return text


# --------------------------------------------------------------------------- structure


def _check_structure(recorder: _Recorder, with_placeholders: str, text: str, display: str) -> None:
    try:
        skeleton = tokenize_modelfile(with_placeholders, display)
    except ModelfileError as exc:
        raise ModelfileError(
            display, exc.line,
            f"{exc.reason} (line {exc.line} of the rendered Modelfile, with every template "
            "value replaced by a placeholder: the template's own text must make a valid "
            "Modelfile, with values used only inside instruction values)") from None
    if _difference(recorder, skeleton, text, display) is None:
        return
    # Find the value responsible, so the error can name it.
    for key in recorder.outputs:
        partial = recorder.fill(with_placeholders, only=key)
        if _difference(recorder, skeleton, partial, display, only=key) is not None:
            output = recorder.outputs[key]
            raise ModelfileError(
                _display(Path(output.file)), output.line,
                f"value of `{output.variable}` {_why(output.value, _context(skeleton, key))}")
    difference = _difference(recorder, skeleton, text, display)
    raise ModelfileError(
        display, 1, f"the template's values together change the Modelfile's structure "
        f"({difference}); Modelfile quoting cannot carry them")


def _quote_kind(raw: RawInstruction) -> str:
    if not raw.quoted:
        return ""
    return '"""' if raw.first_line_text.startswith('"""') else '"'


def _difference(
    recorder: _Recorder, skeleton: list[RawInstruction], text: str, display: str,
    only: str | None = None,
) -> str | None:
    """How ``text`` differs in structure from ``skeleton`` with the values put in, or None."""
    try:
        actual = tokenize_modelfile(text, display)
    except ModelfileError as exc:
        return f"it no longer parses: {exc.reason}"
    if len(actual) != len(skeleton):
        return f"{len(actual)} instructions instead of {len(skeleton)}"

    def fill(value: str) -> str:
        return recorder.fill(value, only=only)

    for want, got in zip(skeleton, actual, strict=True):
        label = want.keyword.upper() + (f" {want.key}" if want.key else "")
        if got.keyword != want.keyword:
            return f"{got.keyword.upper()} where the template has {label}"
        if (got.key or "") != fill(want.key or ""):
            return f"{label} became {got.keyword.upper()} {got.key}"
        if _quote_kind(got) != _quote_kind(want):
            return f"the quoting of {label} changed"
        if got.value != fill(want.value):
            return f"the {label} value is not exactly the template text with the value put in"
    return None


@dataclass(frozen=True)
class _Context:
    label: str  # e.g. SYSTEM, PARAMETER stop; "" outside any instruction
    quote: str  # '"""', '"' or "" (bare)
    where: str  # "value", "name" or "comment"


def _context(skeleton: list[RawInstruction], key: str) -> _Context:
    for raw in skeleton:
        label = raw.keyword.upper() + (f" {raw.key}" if raw.key and key not in raw.key else "")
        if key in raw.value:
            return _Context(label, _quote_kind(raw), "value")
        if raw.key and key in raw.key:
            return _Context(raw.keyword.upper(), "", "name")
    return _Context("", "", "comment")


def _why(value: str, ctx: _Context) -> str:
    cannot = "; Modelfile quoting cannot carry it"
    line_break = "\n" in value or "\r" in value
    if ctx.where == "comment":
        if line_break:
            return ("contains a line break, which would end the comment it is written in and "
                    "start new Modelfile lines" + cannot)
    elif ctx.where == "name":
        return f"would change the {ctx.label} name it is written into ({value!r})"
    elif ctx.quote == '"""':
        if '"""' in value:
            return f'contains """ which would end the {ctx.label} text early' + cannot
    elif ctx.quote == '"':
        if '"' in value:
            return f'contains " which would end the quoted {ctx.label} value early' + cannot
    else:
        if line_break:
            return (f"contains a line break, which would end the {ctx.label} value and start "
                    "a new instruction (write the value inside \"\"\"...\"\"\" in the "
                    "template, or remove the line break)")
        if value.startswith('"'):
            return f'starts with ", which would make Ollama read the {ctx.label} value as quoted'
        if value != value.strip(" \t"):
            return (f"has leading or trailing whitespace, which Ollama would drop from the "
                    f"{ctx.label} value")
    where = f"the {ctx.label} value" if ctx.label else "the template"
    return (f"would change the structure of the Modelfile around {where} ({value[:60]!r}...)"
            + cannot)


# --------------------------------------------------------------------------- positions


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _template_frame_position(frame: FrameType, env: jinja2.Environment) -> tuple[str, int] | None:
    """(file, template line) when ``frame`` runs a template compiled by ``env``."""
    scope = frame.f_globals
    if scope.get("environment") is not env or "debug_info" not in scope:
        return None
    try:
        template = env.get_template(scope["name"])
    except jinja2.TemplateError:
        return None
    file = template.filename or str(scope["name"])
    return file, template.get_corresponding_lineno(frame.f_lineno)


def _template_position(env: jinja2.Environment) -> tuple[str, int]:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        found = _template_frame_position(frame, env)
        if found is not None:
            return found
        frame = frame.f_back
    return "<template>", 1


def _error_position(exc: BaseException, source: Path) -> tuple[str, int]:
    """Where in the templates an error was raised (Jinja rewrites its tracebacks so that the
    template's frames carry the template's file and line)."""
    where = (_display(source), 1)
    folder = str(source.parent) + os.sep
    for summary in traceback.extract_tb(exc.__traceback__):
        if summary.filename.startswith(folder) and summary.lineno:
            where = (_display(Path(summary.filename)), summary.lineno)
    return where


_EXPRESSION = re.compile(r"\[\[-?(.*?)-?\]\]")


def _expression_label(env: jinja2.Environment, file: str, line: int, index: int) -> str:
    """The variable written by the ``index``-th value printed on ``line`` (for messages)."""
    try:
        source = decode_modelfile(Path(file).read_bytes(), file)
    except (OSError, ModelfileError):
        return "a template value"
    lines = source.splitlines()
    if not 0 < line <= len(lines):
        return "a template value"
    found = _EXPRESSION.findall(lines[line - 1])
    if not found:
        return "a template value"
    expression = found[index % len(found)]
    return expression.split("|", 1)[0].strip() or expression.strip()

