"""Modelfiles: parse with Ollama's grammar, validate up front, render and canonicalise.

The tokenizer follows Ollama's parser (parser/parser.go) rune for rune, so a file
accepted here is read by ``ollama create`` the same way. Ollama itself checks
parameter types only on the server and silently ignores some mistakes (a second
SYSTEM replaces the first, a ``#`` after a value becomes part of the value); the
checks in :func:`parse_modelfile` reject those on the controller, naming the file,
the line and what would have been accepted.

Stdlib only, so the settings models and the deploy code can both call it.
"""

from __future__ import annotations

import math
import posixpath
import re
import struct
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, auto
from typing import NoReturn

from .gotemplate import GoTemplateError, check_go_template
from .model_names import ModelNameError, normalize_model_name
from .modelfile_versions import (
    DRAFT_WITHOUT_EXPERIMENTAL,
    ELSE_WITH,
    FROM_NAME_TRIMMED,
    GO_BUILTINS,
    TEMPLATE_FUNCTIONS,
    Version,
    deprecated_for,
    effective,
    format_version,
    gone,
    parameter_types_for,
    template_functions_for,
    too_new,
)
from .modelfile_versions import (
    INSTRUCTIONS as INSTRUCTION_ROWS,
)
from .modelfile_versions import (
    PARAMETERS as PARAMETER_ROWS,
)

ParamValue = str | int | float | bool

# Valid PARAMETER names and their value types in the newest release, from api.Options and the
# embedded api.Runner (the json tags FormatParams looks up). ``list`` means a list of strings:
# the parameter may be given several times and every value is kept. Per release: see
# modelfile_versions.PARAMETERS (the one table of when each arrived or went).
PARAMETER_TYPES: dict[str, type] = parameter_types_for(None)

# Ollama prints a warning and drops these; accepting them would let a user believe e.g.
# mirostat is in effect when it is not.
DEPRECATED_PARAMETERS: frozenset[str] = deprecated_for(None)

# A negative context size means nothing; Ollama would accept it and pass it on to the runner.
_NON_NEGATIVE: frozenset[str] = frozenset({"num_ctx"})

INSTRUCTIONS: tuple[str, ...] = tuple(INSTRUCTION_ROWS)
MESSAGE_ROLES: tuple[str, ...] = ("system", "user", "assistant")

# Ollama keeps the last of these when one is repeated; a repeat is almost always
# a copy-paste slip, so it is refused instead of silently dropping text.
_SINGLE_USE: frozenset[str] = frozenset(
    {"template", "system", "adapter", "requires", "renderer", "parser"}
)
# Free text where "#" is ordinary content; elsewhere an unquoted " #" is taken
# for an attempted trailing comment.
_FREE_TEXT: frozenset[str] = frozenset({"template", "system", "license", "message"})
# Where Ollama takes an empty value ("" or """""") without complaint (an empty SYSTEM or TEMPLATE
# leaves the base model's in place; an empty stop is an empty stop sequence).
_EMPTY_OK: frozenset[str] = frozenset(
    {"template", "system", "license", "message", "renderer", "parser"})

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_BOOL_WORDS: dict[str, bool] = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}
# strconv.ParseInt(s, 10, 64): optional sign, ASCII digits, no "_" (base 10).
_GO_INT = re.compile(r"[+-]?[0-9]+")
# strconv.ParseFloat syntax: decimal, or hexadecimal with a mandatory "p" exponent;
# "_" is then checked separately with Go's underscoreOK rule.
_GO_DEC_FLOAT = re.compile(
    r"[+-]?(?=[0-9_]*\.?[0-9_]*[0-9])[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9][0-9_]*)?"
)
_GO_HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?=[0-9a-fA-F_]*\.?[0-9a-fA-F_]*[0-9a-fA-F])[0-9a-fA-F_]*\.?[0-9a-fA-F_]*"
    r"[pP][+-]?[0-9][0-9_]*"
)
_GO_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)

_SEMVER = re.compile(
    r"v(?:0|[1-9][0-9]*)"
    r"(?:\.(?:0|[1-9][0-9]*)"
    r"|\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)"
    r"(?:-(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?"
)

# Whitespace that can reach a value buffer: Go's TrimSpace knows more, but every
# other space character is non-printable and never stored.
_TRIM = " \t\r\n"


class ModelfileError(ValueError):
    """A Modelfile problem, located: ``str(e) == f"{source}:{line}: {reason}"``, or
    ``f"{source}:{line}:{column}: {reason}"`` when the column is known (a TEMPLATE error)."""

    def __init__(self, source: str, line: int, reason: str, column: int | None = None) -> None:
        where = f"{source}:{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason
        self.column = column

    def __reduce__(
        self,
    ) -> tuple[type[ModelfileError], tuple[str, int, str, int | None]]:
        # Keeps the fields when the error crosses a process boundary.
        return (type(self), (self.source, self.line, self.reason, self.column))


@dataclass(frozen=True)
class Instruction:
    """One instruction. ``args`` is the unquoted value (for MESSAGE, the text only)."""

    name: str
    args: str
    line: int
    role: str | None = None  # MESSAGE only
    param: str | None = None  # PARAMETER only
    value: ParamValue | None = None  # PARAMETER only: the typed value
    quoted: bool = False  # whether the value was written in quotes


# --------------------------------------------------------------------------- values


def _is_printable(ch: str) -> bool:
    # Python's definition matches Go's strconv.IsPrint: letters, marks, numbers,
    # punctuation, symbols and the ASCII space.
    return ch.isprintable()


def _underscores_ok(text: str) -> bool:
    """Go's rule: each "_" sits between two digits (a base prefix counts as a digit)."""
    body = text[1:] if text[:1] in "+-" else text
    hexadecimal = body[:2].lower() == "0x"
    digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
    previous = "digit" if hexadecimal else "start"
    for ch in body[2:] if hexadecimal else body:
        if ch in digits:
            previous = "digit"
        elif ch == "_":
            if previous != "digit":
                return False
            previous = "_"
        elif previous == "_":
            return False
        else:
            previous = "other"
    return previous != "_"


def _float32(value: float) -> float:
    """Round to the nearest float32; beyond its range, a signed infinity."""
    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def _go_parse_float32(text: str) -> float | None:
    """strconv.ParseFloat(text, 32), or None where Go reports a syntax error.

    Out of float32 range (Go's ErrRange) comes back as an infinity.
    """
    if _GO_SPECIAL_FLOAT.fullmatch(text):
        return float(text.lower().replace("infinity", "inf"))
    if _GO_HEX_FLOAT.fullmatch(text):
        number = float.fromhex(text.replace("_", ""))
    elif _GO_DEC_FLOAT.fullmatch(text):
        number = float(text.replace("_", ""))
    else:
        return None
    if "_" in text and not _underscores_ok(text):
        return None
    return _float32(number)


def format_float32(value: float) -> str:
    """Shortest decimal that reads back as the same float32: ``0.7``, not ``0.699999988``."""
    single = _float32(value)
    for digits in range(1, 18):
        text = f"{single:.{digits}g}"
        if _float32(float(text)) == single:
            return text
    return repr(single)


def _convert_parameter(name: str, raw: str, kind: type | None = None) -> ParamValue:
    """Type one PARAMETER value like api.FormatParams; raise ValueError with the reason."""
    kind = kind or PARAMETER_TYPES[name]
    hint = ""
    if re.search(r"\s#", raw):
        hint = " ('#' starts a comment only at the beginning of a line)"
    if kind is int:
        if not _GO_INT.fullmatch(raw):
            raise ValueError(f"{raw!r} is not an integer (e.g. 4096){hint}")
        number = int(raw)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise ValueError(f"{raw!r} is out of the 64-bit integer range")
        if name in _NON_NEGATIVE and number < 0:
            raise ValueError(
                f"{raw!r} is negative; expected 0 or more (Ollama itself would accept the file "
                "and pass the meaningless size on to the model runner)")
        return number
    if kind is float:
        single = _go_parse_float32(raw)
        if single is None:
            raise ValueError(f"{raw!r} is not a number (e.g. 0.7){hint}")
        if not math.isfinite(single):
            if _GO_SPECIAL_FLOAT.fullmatch(raw):
                # Go parses these, but the CLI cannot encode NaN/Inf as JSON.
                raise ValueError(f"{raw!r} is not a finite number")
            raise ValueError(f"{raw!r} is out of the 32-bit float range")
        return float(format_float32(single))
    if kind is bool:
        if raw not in _BOOL_WORDS:
            raise ValueError(
                f"{raw!r} is not a boolean; expected true/false, 1/0, t/f (Go ParseBool)"
            )
        return _BOOL_WORDS[raw]
    return raw


def _format_parameter(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float32(value)
    return str(value)


def _closes(buffer: str) -> bool:
    """Whether Ollama's unquote accepts ``buffer`` (stripped) as a complete value."""
    text = buffer.strip(_TRIM)
    if text.startswith('"""'):
        return len(text) >= 6 and text.endswith('"""')
    if text.startswith('"'):
        return len(text) >= 2 and text.endswith('"')
    return True


def _unquote(text: str) -> tuple[str, bool]:
    if text.startswith('"""'):
        return text[3:-3], True
    if text.startswith('"'):
        return text[1:-1], True
    return text, False


_KEYWORD_LINE = re.compile(
    r"[ \t]*(?:" + "|".join(INSTRUCTIONS) + r")[ \t]", re.IGNORECASE)


def _swallowed_comment(value: str, quote: str) -> bool:
    """Whether a quoted multi-line value reads like ``"text" # comment`` followed by more
    instructions: the closing quote of the first line is followed by a ``#``, and a later line
    starts with an instruction keyword. Ollama would then read the comment and every line up
    to the next line that ends in the quote as one value."""
    lines = re.split(r"\r\n|\r|\n", value)
    if len(lines) < 2:
        return False
    first = lines[0]
    closing = first.find(quote)
    if closing < 0 or not re.match(r"[ \t]+#", first[closing + len(quote):]):
        return False
    return any(_KEYWORD_LINE.match(line) for line in lines[1:])


def _quote_fits(value: str, quote: str) -> bool:
    """Whether ``quote + value + quote`` reads back as exactly ``value`` with Ollama's parser
    (and passes the trailing-comment check of :func:`parse_modelfile`).

    Ollama ends a quoted value at the first line break where the text so far, without trailing
    whitespace, closes (starts and ends with the quote). So no line of ``value`` but the last
    may end in the quote; and ``"`` + a value starting with ``""`` would read as ``\"\"\"``.
    A quote anywhere else is plain text, and so is a value ending in the quote character.
    """
    if quote == '"' and f'"{value}"'.startswith('"""'):
        return False
    breaks = [i for i, ch in enumerate(value) if ch in "\r\n"]
    if any(value[:i].rstrip(_TRIM).endswith(quote) for i in breaks):
        return False
    return not _swallowed_comment(value, quote)


def quote_value(value: str) -> str:
    """Write ``value`` so that Ollama's parser reads it back unchanged.

    Bare when that is unambiguous, else ``"..."``, else ``\"\"\"...\"\"\"``. Raises
    ValueError for the few strings the grammar cannot carry: non-printable characters (Ollama
    drops them) and text with a line ending in ``"`` (or starting with ``""``) as well as a line
    ending in ``\"\"\"``, followed by more lines (every quoting would end there).
    """
    bad = next((c for c in value if not _is_printable(c) and c not in "\t\r\n"), None)
    if bad is not None:
        raise ValueError(
            f"contains the non-printable character {bad!r}, which Ollama would drop"
        )
    if (
        value
        and value == value.strip(_TRIM)
        and not value.startswith('"')
        and "\n" not in value
        and "\r" not in value
        and not re.search(r"\s#", value)
    ):
        return value
    # Like `ollama show`: triple quotes for multi-line text with quotes of its own,
    # for readability; the other form is tried when the preferred one cannot hold it.
    multi_line = "\n" in value or "\r" in value
    order = ('"""', '"') if multi_line and '"' in value else ('"', '"""')
    for quote in order:
        if _quote_fits(value, quote):
            return f"{quote}{value}{quote}"
    raise ValueError(
        'has a line ending in " (or starts with "") and a line ending in """, each followed '
        "by more lines; no Modelfile quoting can hold it unambiguously"
    )


# --------------------------------------------------------------------------- tokenizer


class _State(Enum):
    NIL = auto()  # between instructions
    COMMENT = auto()
    NAME = auto()  # instruction keyword
    PARAM = auto()  # PARAMETER name
    ROLE = auto()  # MESSAGE role
    VALUE = auto()


@dataclass
class _Raw:
    """An instruction as tokenized, before validation."""

    keyword: str
    line: int
    key: str | None = None  # parameter name or message role
    value: str = ""
    quoted: bool = False
    first_line_text: str = ""  # the value's first line, for comment diagnostics
    value_start: int = 0  # index in the text where the value (its quotes included) may start
    value_offset: int = 0  # index in the text of the value's first character (inside quotes)


RawInstruction = _Raw


def _expected_instructions() -> str:
    return ", ".join(name.upper() for name in INSTRUCTIONS)


class _Tokenizer:
    """Ollama's state machine, with each error tied to a line of the file."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.raws: list[_Raw] = []

    def fail(self, line: int, reason: str) -> ModelfileError:
        return ModelfileError(self.source, line, reason)

    def run(self) -> list[_Raw]:
        text = self.text
        state = _State.NIL
        buf: list[str] = []
        line = 1
        current: _Raw | None = None
        for i, ch in enumerate(text):
            here = line  # a line break belongs to the line it ends
            if ch == "\n" or (ch == "\r" and text[i + 1 : i + 2] != "\n"):
                line += 1

            if state is _State.NIL:
                if ch == "#":
                    state = _State.COMMENT
                elif ch not in " \t\r\n":
                    state = _State.NAME
                    current = _Raw(keyword="", line=here)
                    # Ollama lets the first rune through unchecked; non-printables vanish.
                    buf = [ch] if _is_printable(ch) else []
            elif state is _State.COMMENT:
                if ch in "\r\n":
                    state = _State.NIL
            elif state is _State.NAME:
                assert current is not None
                if ch.isascii() and ch.isalpha():
                    buf.append(ch)
                elif ch in " \t":
                    state = self._keyword_done(current, "".join(buf), here)
                    buf = []
                    current.value_start = i + 1
                else:
                    self._bad_keyword(current, buf, i, ch, here)
            elif state is _State.PARAM:
                assert current is not None
                if ch.isascii() and (ch.isalnum() or ch == "_"):
                    buf.append(ch)
                elif not buf and ch in " \t\r\n":
                    raise self.fail(
                        here,
                        "PARAMETER: expected 'PARAMETER <name> <value>' with a single space "
                        "before the name (Ollama reads an empty name otherwise)",
                    )
                elif ch in " \t":
                    current.key = "".join(buf)
                    state, buf = _State.VALUE, []
                    current.value_start = i + 1
                elif ch in "\r\n":
                    raise self.fail(here, f"PARAMETER {''.join(buf)} has no value")
                else:
                    raise self.fail(
                        here,
                        f"PARAMETER name {self._word(i - len(buf))!r} contains {ch!r}; "
                        "names use letters, digits and '_'",
                    )
            elif state is _State.ROLE:
                assert current is not None
                if ch.isascii() and ch.isalpha():
                    buf.append(ch)
                elif not buf and ch in " \t\r\n":
                    raise self.fail(
                        here,
                        "MESSAGE: expected 'MESSAGE <role> <text>' with a single space "
                        "before the role",
                    )
                elif ch in " \t":
                    role = "".join(buf)
                    if role not in MESSAGE_ROLES:
                        raise self.fail(here, self._role_reason(role))
                    current.key = role
                    state, buf = _State.VALUE, []
                    current.value_start = i + 1
                elif ch in "\r\n":
                    raise self.fail(here, f"MESSAGE {''.join(buf)} has no text")
                else:
                    raise self.fail(here, self._role_reason(self._word(i - len(buf))))
            else:  # VALUE
                assert current is not None
                if ch in "\r\n":
                    if _closes("".join(buf)):
                        self._value_done(current, buf)
                        state, buf = _State.NIL, []
                    else:
                        buf.append(ch)
                elif ch in " \t" or _is_printable(ch):
                    buf.append(ch)
                else:
                    # Ollama drops these without a word ("a<NBSP>b" becomes "ab").
                    raise self.fail(here, self._non_printable_reason(current, ch))

        if state is _State.VALUE:
            assert current is not None
            if not _closes("".join(buf)):
                raise self.fail(current.line, self._unterminated_reason(current, buf))
            self._value_done(current, buf)
        elif state is _State.NAME:
            assert current is not None
            keyword = "".join(buf)
            if keyword.lower() in INSTRUCTIONS:
                raise self.fail(current.line, f"{keyword.upper()} has no value")
            raise self.fail(current.line, self._unknown_reason(keyword))
        elif state is _State.PARAM:
            assert current is not None
            raise self.fail(current.line, f"PARAMETER {''.join(buf)} has no value".rstrip())
        elif state is _State.ROLE:
            assert current is not None
            raise self.fail(current.line, f"MESSAGE {''.join(buf)} has no text".rstrip())
        return self.raws

    # helpers --------------------------------------------------------------

    def _word(self, start: int) -> str:
        """The whitespace-delimited token starting at ``start``, for messages."""
        match = re.match(r"\S*", self.text[max(start, 0) :])
        return match.group(0) if match else ""

    def _unknown_reason(self, keyword: str) -> str:
        return f"unknown instruction {keyword!r}; expected one of {_expected_instructions()}"

    @staticmethod
    def _role_reason(role: str) -> str:
        return (
            f"invalid MESSAGE role {role!r}; expected one of "
            f"{', '.join(MESSAGE_ROLES)} (lowercase), then a space and the text"
        )

    @staticmethod
    def _non_printable_reason(current: _Raw, ch: str) -> str:
        label = current.keyword.upper()
        if current.key:
            label += f" {current.key}"
        char_name = unicodedata.name(ch, "control character")
        return (
            f"{label}: the value contains U+{ord(ch):04X} ({char_name}), which Ollama would "
            "silently drop; replace it (e.g. with a plain space) or remove it"
        )

    def _keyword_done(self, current: _Raw, keyword: str, line: int) -> _State:
        lowered = keyword.lower()
        if lowered not in INSTRUCTIONS:
            raise self.fail(line, self._unknown_reason(keyword))
        current.keyword = lowered
        if lowered == "parameter":
            return _State.PARAM
        if lowered == "message":
            return _State.ROLE
        return _State.VALUE

    def _bad_keyword(self, current: _Raw, buf: list[str], i: int, ch: str, line: int) -> NoReturn:
        keyword = "".join(buf)
        if ch in "\r\n" and keyword.lower() in INSTRUCTIONS:
            raise self.fail(line, f"{keyword.upper()} has no value")
        word = self._word(i - len(buf))
        if ch in "\r\n" or keyword.lower() not in INSTRUCTIONS:
            raise self.fail(line, self._unknown_reason(word))
        raise self.fail(
            line,
            f"{keyword.upper()} must be followed by a space, not {ch!r}",
        )

    def _value_done(self, current: _Raw, buf: list[str]) -> None:
        raw = "".join(buf)
        value, quoted = _unquote(raw.strip(_TRIM))
        current.value = value
        current.quoted = quoted
        current.first_line_text = re.split(r"[\r\n]", raw.strip(_TRIM), maxsplit=1)[0]
        leading = len(raw) - len(raw.lstrip(_TRIM))
        quote = 3 if raw.strip(_TRIM).startswith('"""') else 1 if quoted else 0
        current.value_offset = current.value_start + leading + quote
        self.raws.append(current)

    @staticmethod
    def _unterminated_reason(current: _Raw, buf: list[str]) -> str:
        text = "".join(buf).strip(_TRIM)
        quote = '"""' if text.startswith('"""') else '"'
        first = re.split(r"[\r\n]", text, maxsplit=1)[0]
        closing = first.find(quote, len(quote))
        if closing != -1 and first[closing + len(quote) :].strip(_TRIM):
            return (
                f"unterminated {quote} value: text follows the closing {quote} on this line "
                f"({first[closing + len(quote):].strip(_TRIM)!r}); a quoted value ends only at "
                "a quote followed by the end of the line, and '#' comments must be on a line "
                "of their own"
            )
        return f"unterminated {quote} value: no closing {quote} at the end of a line"


# --------------------------------------------------------------------------- model


def is_local_path(value: str) -> bool:
    """Whether a FROM value names a local file or directory rather than a model.

    Paths must start with ``./``, ``../``, ``/``, ``~`` (or a Windows drive or
    backslash), or end in ``.gguf``/``.bin``/``.safetensors``; ``dir/model`` reads
    as a namespaced model name, so write ``./dir/model`` for a directory.
    """
    # Ollama decides by looking at the disk; on the controller only the spelling is
    # known, so a path must look like one. Model names never start with these.
    if value in (".", "..", "~"):
        return True
    if value.startswith(("./", "../", "/", "~", ".\\", "..\\", "\\")):
        return True
    if re.match(r"[A-Za-z]:[\\/]", value):
        return True
    return value.lower().endswith((".gguf", ".bin", ".safetensors"))


_CANONICAL_ORDER: dict[str, int] = {
    name: i
    for i, name in enumerate(
        (
            "from",
            "adapter",
            "draft",
            "template",
            "system",
            "parameter",
            "message",
            "license",
            "requires",
            "renderer",
            "parser",
        )
    )
}


@dataclass(frozen=True)
class Modelfile:
    """A parsed, validated Modelfile. Build it with :func:`parse_modelfile`."""

    instructions: tuple[Instruction, ...]

    def _all(self, name: str) -> list[Instruction]:
        return [ins for ins in self.instructions if ins.name == name]

    def _one(self, name: str) -> str | None:
        found = self._all(name)
        return found[0].args if found else None

    @property
    def from_(self) -> str:
        """The (first) FROM value; further FROM lines are only allowed for local files."""
        return self._all("from")[0].args

    @property
    def bases(self) -> tuple[str, ...]:
        """Every FROM value, in order (e.g. a GGUF and its vision projector)."""
        return tuple(ins.args for ins in self._all("from"))

    @property
    def parameters(self) -> dict[str, list[ParamValue]]:
        result: dict[str, list[ParamValue]] = {}
        for ins in self._all("parameter"):
            assert ins.param is not None and ins.value is not None
            result.setdefault(ins.param, []).append(ins.value)
        return result

    @property
    def system(self) -> str | None:
        return self._one("system")

    @property
    def template(self) -> str | None:
        return self._one("template")

    @property
    def adapter(self) -> str | None:
        return self._one("adapter")

    @property
    def requires(self) -> str | None:
        return self._one("requires")

    @property
    def licenses(self) -> tuple[str, ...]:
        return tuple(ins.args for ins in self._all("license"))

    @property
    def messages(self) -> tuple[tuple[str, str], ...]:
        return tuple((ins.role or "", ins.args) for ins in self._all("message"))

    def base_is_file(self) -> bool:
        """Whether FROM is a local file or directory (see :func:`is_local_path`)."""
        return is_local_path(self.from_)

    def canonical(self) -> str:
        """Deterministic text: same meaning, same text, whatever the original layout.

        Comments and spacing go; instructions are ordered (FROM, ADAPTER, DRAFT,
        TEMPLATE, SYSTEM, PARAMETER sorted by name, MESSAGE, LICENSE, REQUIRES,
        RENDERER, PARSER) keeping the relative order of repeated ones, since that
        order matters for messages, licenses and stop sequences; model names are
        normalised and parameter values written in one spelling.
        """
        ordered = sorted(
            enumerate(self.instructions),
            key=lambda item: (
                _CANONICAL_ORDER[item[1].name],
                (item[1].param or "") if item[1].name == "parameter" else "",
                item[0],
            ),
        )
        lines = [_canonical_line(ins) for _, ins in ordered]
        return "\n".join(lines) + "\n"


def _canonical_line(ins: Instruction) -> str:
    if ins.name == "from":
        value = ins.args if is_local_path(ins.args) else normalize_model_name(ins.args)
        return f"FROM {quote_value(value)}"
    if ins.name == "parameter":
        assert ins.value is not None
        return f"PARAMETER {ins.param} {quote_value(_format_parameter(ins.value))}"
    if ins.name == "message":
        return f"MESSAGE {ins.role} {quote_value(ins.args)}"
    if ins.name == "requires":
        return f"REQUIRES {quote_value(ins.args.removeprefix('v'))}"
    return f"{ins.name.upper()} {quote_value(ins.args)}"


# --------------------------------------------------------------------------- validation


_ACCEPTS = "Ollama itself would accept the file and"


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """Line (counted like the tokenizer: \r\n, \r or \n) and 1-based column of ``offset``."""
    before = text[:offset]
    line = 1 + len(re.findall(r"\r\n|\r|\n", before))
    last = max(before.rfind("\n"), before.rfind("\r"))
    return line, offset - last


def _version_text(version: Version | None) -> str:
    return "the newest release" if version is None else f"Ollama {format_version(version)}"


def _check_template(
    raw: _Raw, text: str, source: str, version: Version | None
) -> None:
    """Refuse a TEMPLATE that Ollama's Go template parser (for ``version``) refuses."""
    if not raw.value:
        return
    try:
        check_go_template(
            raw.value,
            template_functions_for(version),
            else_with=version is None or ELSE_WITH.present(version),
        )
    except GoTemplateError as exc:
        line, column = _line_column(text, raw.value_offset)
        if exc.line > 1:
            line, column = line + exc.line - 1, exc.column
        else:
            column += exc.column - 1
        reason = exc.reason
        name = re.fullmatch(r'function "(.+)" not defined', reason)
        if name:
            row = TEMPLATE_FUNCTIONS.get(name.group(1))
            later = too_new(row, version) if row else None
            if later:
                reason += f" (it {later}; this host runs {_version_text(version)})"
            else:
                reason += (
                    " (Ollama's templates know Go's builtins and "
                    f"{', '.join(sorted(template_functions_for(version) - GO_BUILTINS))})"
                )
        raise ModelfileError(
            source, line, f"TEMPLATE is not a valid Go template: {reason}; `ollama create` "
            "would refuse it", column=column) from None


def _validate(
    raws: list[_Raw], source: str, text: str = "", version: Version | None = None
) -> tuple[Instruction, ...]:
    def fail(line: int, reason: str) -> ModelfileError:
        return ModelfileError(source, line, reason)

    parameter_types = parameter_types_for(version)
    deprecated = deprecated_for(version)
    instructions: list[Instruction] = []
    first_seen: dict[str, int] = {}
    froms: list[_Raw] = []
    drafts: list[_Raw] = []

    for raw in raws:
        name = raw.keyword
        label = name.upper()
        if name == "parameter":
            label = f"PARAMETER {raw.key}"
        elif name == "message":
            label = f"MESSAGE {raw.key}"

        later = too_new(INSTRUCTION_ROWS[name], version)
        if later:
            raise fail(
                raw.line,
                f"{name.upper()} {later}; this host's ollama_version is "
                f"{format_version(version) if version else '?'} (Ollama answers: command must "
                f"be one of {', '.join(n.upper() for n in INSTRUCTIONS if not too_new(INSTRUCTION_ROWS[n], version))})",  # noqa: E501
            )

        if name == "draft" and too_new(DRAFT_WITHOUT_EXPERIMENTAL, version):
            raise fail(
                raw.line,
                f"DRAFT {too_new(DRAFT_WITHOUT_EXPERIMENTAL, version)} without `ollama create "
                f"--experimental`, which ollama-fleet does not use; on this host's "
                f"ollama_version {format_version(version) if version else '?'} Ollama answers "
                "'DRAFT requires --experimental'",
            )

        if name == "parameter":
            param = raw.key or ""
            row = PARAMETER_ROWS.get(param)
            if param in deprecated:
                raise fail(
                    raw.line,
                    f"PARAMETER {param} is deprecated: {_ACCEPTS} print 'warning: parameter "
                    f"{param} is deprecated' and silently ignore this line; remove it",
                )
            if param not in parameter_types:
                hint = ""
                if row is not None:
                    hint = " (" + (too_new(row.present, version) or gone(row.present, version)
                                   or "") + f"; this host runs {_version_text(version)})"
                elif param.lower() in parameter_types:
                    hint = f" (names are case-sensitive: did you mean {param.lower()!r}?)"
                raise fail(
                    raw.line,
                    f"unknown parameter {param!r}{hint}; expected one of "
                    f"{', '.join(sorted(parameter_types))}",
                )

        # A "#" after the closing quote of a value that then runs over further instructions
        # means the author wrote a trailing comment; Ollama would swallow the next lines.
        if raw.quoted and ("\n" in raw.value or "\r" in raw.value):
            quote = '"""' if raw.first_line_text.startswith('"""') else '"'
            if _swallowed_comment(raw.value, quote):
                raise fail(
                    raw.line,
                    f"{label}: a '#' comment after the closing {quote} is not allowed: "
                    f"{_ACCEPTS} read the comment and the following lines, instructions "
                    f"included, as part of the value (up to a line ending in {quote})",
                )

        kind = parameter_types.get(raw.key or "") if name == "parameter" else None
        if raw.value == "" and name not in _EMPTY_OK and kind is not list:
            raise fail(raw.line, f"{label} has an empty value")
        # Typed parameters fail their conversion below, with the same hint.
        untyped = name != "parameter" or kind is list
        if untyped and name not in _FREE_TEXT and not raw.quoted and re.search(r"\s#", raw.value):
            raise fail(
                raw.line,
                f"{label}: {raw.value!r} contains ' #'; '#' starts a comment only at the "
                f"beginning of a line: {_ACCEPTS} make the '#' and what follows part of the "
                "value (quote the value if the '#' is meant)",
            )

        if name in _SINGLE_USE:
            if name in first_seen:
                raise fail(
                    raw.line,
                    f"{label} given twice (first on line {first_seen[name]}): {_ACCEPTS} "
                    "silently keep only the last one",
                )
            first_seen[name] = raw.line

        if name == "from":
            froms.append(raw)
            value = _validate_from(raw, froms, fail, version)
            instructions.append(Instruction("from", value, raw.line, quoted=raw.quoted))
        elif name == "draft":
            drafts.append(raw)
            _validate_draft(raw, fail)
            instructions.append(Instruction("draft", raw.value, raw.line, quoted=raw.quoted))
        elif name == "parameter":
            param = raw.key or ""
            try:
                value = _convert_parameter(param, raw.value, parameter_types[param])
            except ValueError as exc:
                raise fail(raw.line, f"PARAMETER {param}: {exc}") from None
            key = f"parameter:{param}"
            if parameter_types[param] is not list:
                if key in first_seen:
                    raise fail(
                        raw.line,
                        f"PARAMETER {param} given twice (first on line {first_seen[key]}): "
                        f"{_ACCEPTS} silently keep only the last value; only stop may repeat",
                    )
                first_seen[key] = raw.line
            instructions.append(
                Instruction(
                    "parameter", raw.value, raw.line, param=param, value=value, quoted=raw.quoted
                )
            )
        elif name == "message":
            instructions.append(
                Instruction("message", raw.value, raw.line, role=raw.key, quoted=raw.quoted)
            )
        else:
            if name == "requires":
                version_text = raw.value if raw.value.startswith("v") else "v" + raw.value
                if not _SEMVER.fullmatch(version_text):
                    raise fail(
                        raw.line,
                        f"REQUIRES {raw.value!r} is not a semantic version; expected e.g. 0.14.0",
                    )
            elif name == "template":
                _check_template(raw, text, source, version)
            instructions.append(Instruction(name, raw.value, raw.line, quoted=raw.quoted))

    if not froms:
        # Nothing to point at: report the top of the file.
        raise fail(1, "no FROM line; a Modelfile needs FROM <model or path>")
    for draft in drafts:
        _draft_not_from(draft, froms, fail, version)
    return tuple(instructions)


def _validate_from(
    raw: _Raw, froms: Sequence[_Raw], fail: Callable[[int, str], ModelfileError],
    version: Version | None = None,
) -> str:
    """The FROM value as Ollama uses it (a padded model name trimmed where Ollama trims it)."""
    value = raw.value
    if raw.quoted and value != value.strip(_TRIM) and value.strip(_TRIM):
        trimmed = value.strip(_TRIM)
        if is_local_path(trimmed) or too_new(FROM_NAME_TRIMMED, version):
            raise fail(
                raw.line,
                f"FROM {value!r} has spaces inside the quotes; Ollama "
                f"{'reads them as part of the path' if is_local_path(trimmed) else 'older than ' + format_version(FROM_NAME_TRIMMED.since) + ' refuses the padded name'}"  # noqa: E501
                f" (write FROM {trimmed})",
            )
        value = trimmed
    if len(froms) > 1:
        first = froms[0]
        if not (is_local_path(first.value.strip(_TRIM)) and is_local_path(value)):
            raise fail(
                raw.line,
                f"second FROM (first on line {first.line}): only local files may be combined "
                f"(e.g. a GGUF and its projector); with a model name {_ACCEPTS} silently use "
                "only the last FROM",
            )
    if is_local_path(value):
        return value
    try:
        normalize_model_name(value)
    except ModelNameError as exc:
        raise fail(
            raw.line,
            f"FROM {value!r}: {exc.reason}; expected a model name like llama3.2:3b or "
            "a local path starting with ./, ../, / or ~",
        ) from None
    return value


def _same_path(a: str, b: str) -> bool:
    """Whether two spellings of a local path name the same file or folder (as far as the
    controller can tell: both relative to the Modelfile's folder, without symlinks)."""
    def norm(path: str) -> str:
        path = path.replace("\\", "/")
        return posixpath.normpath(path).rstrip("/") or "/"

    return norm(a) == norm(b)


def _validate_draft(raw: _Raw, fail: Callable[[int, str], ModelfileError]) -> None:
    if not is_local_path(raw.value):
        raise fail(
            raw.line,
            f"DRAFT {raw.value!r}: expected a local file or folder (a path starting with ./, ../, "
            "/ or ~, or a .gguf/.safetensors file); Ollama reads DRAFT only from local files",
        )


def _draft_not_from(
    raw: _Raw, froms: Sequence[_Raw], fail: Callable[[int, str], ModelfileError],
    version: Version | None,
) -> None:
    for base in froms:
        if not _same_path(raw.value, base.value.strip(_TRIM)):
            continue
        # Every release that takes DRAFT from a plain `ollama create` refuses this too.
        why = "Ollama refuses it: DRAFT must not reference the same local path as FROM"
        raise fail(
            raw.line,
            f"DRAFT {raw.value!r} names the same file or folder as FROM on line {base.line}; {why}",
        )


# --------------------------------------------------------------------------- API


def decode_modelfile(data: bytes, source: str = "<Modelfile>") -> str:
    """The text of a Modelfile's bytes, read as Ollama reads them: UTF-8, with or without a
    byte-order mark, or UTF-16 (little or big endian) with a byte-order mark. Anything else
    raises :class:`ModelfileError` naming the file and the problem (Ollama itself would read
    invalid bytes as U+FFFD replacement characters and carry on)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, body = "utf-8", data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        body = data[2:]
    else:
        encoding, body = "utf-8", data
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        good = body[: exc.start].decode(encoding, errors="replace")
        line, column = _line_column(good, len(good))
        bad = body[exc.start : exc.end].hex(" ")
        if encoding == "utf-8":
            hint = (
                " (it looks like UTF-16 without a byte-order mark: save it as UTF-8, or UTF-16 "
                "with a BOM)" if b"\x00" in data[:200] else " (save it as UTF-8)")
            what = f"is not valid UTF-8: byte(s) {bad} at line {line}, column {column}{hint}"
        else:
            what = (f"is not valid {encoding.upper()} (it starts with that byte-order mark): "
                    f"{exc.reason} at line {line}, column {column}")
        raise ModelfileError(
            source, line, f"the file {what}; Ollama reads Modelfiles as UTF-8, or UTF-16 with a "
            f"byte-order mark ({_ACCEPTS} read the bad bytes as U+FFFD replacement "
            "characters)") from None


def parse_modelfile(
    text: str, source: str = "<Modelfile>", version: str | Version | None = None
) -> Modelfile:
    """Parse and validate a Modelfile; raise :class:`ModelfileError` at the first problem.

    ``version`` is the Ollama release that will read it (the host's ``ollama_version``): an
    instruction, parameter or template function newer than that is refused with "needs Ollama
    X or later". ``None`` checks against the newest release this module knows.
    """
    if text.startswith("\ufeff"):  # Ollama's reader drops a byte-order mark
        text = text[1:]
    raws = _Tokenizer(text, source).run()
    return Modelfile(_validate(raws, source, text, effective(version)))


def tokenize_modelfile(text: str, source: str = "<Modelfile>") -> list[RawInstruction]:
    """The instructions as Ollama's parser splits them, before any validation of their values
    (for comparing the structure of two renderings of one template)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _Tokenizer(text, source).run()


def _parameter_lines(parameters: Mapping[str, object]) -> Iterable[tuple[str, str]]:
    for name in sorted(parameters):
        value = parameters[name]
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, float):
                # Full double precision here; the parse below rounds to float32.
                yield name, repr(item)
            elif isinstance(item, bool | int | str):
                yield name, _format_parameter(item)
            else:
                raise ValueError(
                    f"parameter {name!r}: {item!r} is a {type(item).__name__}, expected a "
                    "string, number or boolean"
                )


def render_declaration(
    from_: str,
    parameters: dict[str, object] | None = None,
    system: str | None = None,
    template: str | None = None,
    messages: list[tuple[str, str]] | None = None,
    adapter: str | None = None,
    license: str | None = None,
    version: str | Version | None = None,
) -> str:
    """Render a Modelfile from a short declaration, quoting every value safely.

    The result is parsed back before it is returned, so an invalid declaration
    raises :class:`ModelfileError` (source ``<declaration>``) and the text always
    round-trips through :func:`parse_modelfile`. A value no quoting can carry
    raises ValueError.
    """

    def field(label: str, value: str) -> str:
        try:
            return quote_value(value)
        except ValueError as exc:
            raise ValueError(f"{label}: the value {exc}") from None

    lines = [f"FROM {field('FROM', from_)}"]
    if adapter is not None:
        lines.append(f"ADAPTER {field('ADAPTER', adapter)}")
    if template is not None:
        lines.append(f"TEMPLATE {field('TEMPLATE', template)}")
    if system is not None:
        lines.append(f"SYSTEM {field('SYSTEM', system)}")
    for name, value in _parameter_lines(parameters or {}):
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"parameter name {name!r} may only use letters, digits and '_'")
        lines.append(f"PARAMETER {name} {field(f'PARAMETER {name}', value)}")
    for role, content in messages or []:
        if role not in MESSAGE_ROLES:
            raise ValueError(
                f"message role {role!r}: expected one of {', '.join(MESSAGE_ROLES)}"
            )
        lines.append(f"MESSAGE {role} {field(f'MESSAGE {role}', content)}")
    if license is not None:
        lines.append(f"LICENSE {field('LICENSE', license)}")
    text = "\n".join(lines) + "\n"
    parse_modelfile(text, source="<declaration>", version=version)
    return text
