"""Modelfile grammar, errors and rendering as upstream parser/parser.go (v0.13.5). TEST FIXTURE.

The fleet tool validates Modelfiles before shipping them; the stand-in must accept and reject
exactly what upstream does, with the same messages, so the parser is a character-level state
machine with upstream's transitions (including its quirks, e.g. line numbers counted before the
newline is consumed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from .buildinfo import VERSION
from .gocompat import GoError, float32_shortest, format_v, parse_bool, parse_int

ERR_MISSING_FROM = "no FROM line"
ERR_INVALID_ROLE = 'message role must be one of "system", "user", or "assistant"'
ERR_MODEL_NOT_FOUND = "no Modelfile or safetensors files found"
# DRAFT files are uploaded as blobs and stored as a draft layer from 0.30.0 (9db4bdbad, #16031).
DRAFT_FILES_SINCE = (0, 30, 0)
# When each command arrived upstream (parser/parser.go isValidCommand): renderer/parser in
# v0.12.0, requires in v0.14.0, draft in v0.23.1. The error text lists the commands of the
# release the stand-in plays, in upstream's order.
_COMMAND_SINCE = {"from": (0, 0, 0), "license": (0, 0, 0), "template": (0, 0, 0),
                  "system": (0, 0, 0), "adapter": (0, 0, 0), "draft": (0, 23, 1),
                  "renderer": (0, 12, 0), "parser": (0, 12, 0), "parameter": (0, 0, 0),
                  "message": (0, 0, 0), "requires": (0, 14, 0)}


def _release() -> tuple[int, int, int]:
    parts = re.findall(r"[0-9]+", VERSION.split("-")[0])[:3]
    return tuple(int(p) for p in parts) if len(parts) == 3 else (0, 0, 0)  # type: ignore[return-value]


def played_release() -> tuple[int, int, int]:
    """The release this build plays; an unbuilt source tree plays the one its docs name."""
    release = _release()
    return (0, 13, 5) if release == (0, 0, 0) else release


def commands_for(release: tuple[int, int, int] | None = None) -> list[str]:
    release = release or played_release()
    return [c for c, since in _COMMAND_SINCE.items() if since <= release]


def invalid_command_error(release: tuple[int, int, int] | None = None) -> str:
    names = [f'"{c}"' for c in commands_for(release)]
    return f"command must be one of {', '.join(names[:-1])}, or {names[-1]}"


ERR_INVALID_COMMAND = invalid_command_error((0, 13, 5))


def decode(data: bytes) -> str:
    """How upstream's reader turns a Modelfile's bytes into text: a UTF-8 or UTF-16 byte-order
    mark selects the encoding (and is dropped); otherwise UTF-8; bad bytes become U+FFFD."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", errors="replace")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace")
    return data.decode("utf-8", errors="replace")


_ROLES = {"system", "user", "assistant"}
# api.Options / api.Runner json tags (what api.FormatParams accepts) with their Go kinds and the
# releases that have them: (kind, first release, first release without it). Found with
# `git log -S` on api/types.go and `git tag --contains`.
_ALWAYS = (0, 0, 0)
_PARAMETERS: dict[str, tuple[str, tuple[int, int, int], tuple[int, int, int] | None]] = {
    **{k: ("int", _ALWAYS, None) for k in ("num_keep", "seed", "num_predict", "top_k",
                                           "repeat_last_n", "num_ctx", "num_batch", "num_gpu",
                                           "main_gpu", "num_thread")},
    **{k: ("float", _ALWAYS, None) for k in ("top_p", "typical_p", "temperature",
                                             "repeat_penalty", "presence_penalty",
                                             "frequency_penalty")},
    "stop": ("list", _ALWAYS, None),
    "use_mmap": ("bool", _ALWAYS, None),
    "min_p": ("float", (0, 3, 1), None),  # f3d7a481b (#1825)
    "draft_num_predict": ("int", (0, 30, 0), None),  # 9db4bdbad (#16031)
    "numa": ("bool", _ALWAYS, (0, 3, 4)),  # f457d6340
    "tfs_z": ("float", _ALWAYS, (0, 5, 2)),  # 527cc9789 (#7875)
    "penalize_newline": ("bool", _ALWAYS, (0, 5, 5)),  # 1deafd825 (#8308)
    **{k: ("bool", _ALWAYS, (0, 7, 0)) for k in ("low_vram", "f16_kv", "logits_all",
                                                 "vocab_only", "use_mlock")},
    "mirostat": ("int", _ALWAYS, (0, 7, 0)),  # 3b2d2c832 (#10574)
    "mirostat_tau": ("float", _ALWAYS, (0, 7, 0)),
    "mirostat_eta": ("float", _ALWAYS, (0, 7, 0)),
}
# parser/parser.go deprecatedParameters: warned about and dropped, with the release that added
# each to the list (the same commits that removed them from api.Options).
_DEPRECATED_SINCE = {"penalize_newline": (0, 5, 5),
                     **dict.fromkeys(["low_vram", "f16_kv", "logits_all", "vocab_only",
                                      "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta"],
                                     (0, 7, 0))}


def parameter_types(release: tuple[int, int, int] | None = None) -> dict[str, str]:
    """The typed parameters of a release (default: the one this build plays)."""
    release = release or played_release()
    return {k: kind for k, (kind, since, until) in _PARAMETERS.items()
            if since <= release and (until is None or release < until)}


def deprecated_parameters(release: tuple[int, int, int] | None = None) -> set[str]:
    release = release or played_release()
    return {k for k, since in _DEPRECATED_SINCE.items() if since <= release}


PARAMETER_TYPES = parameter_types((0, 13, 5))
DEPRECATED_PARAMETERS = deprecated_parameters((0, 13, 5))
_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)",
                       re.IGNORECASE)
_FLOAT32_MAX = 3.4028234663852886e38

NIL, NAME, VALUE, PARAMETER, MESSAGE, COMMENT = range(6)


class ModelfileError(ValueError):
    """Carries upstream's exact error text."""


@dataclass(frozen=True)
class Command:
    name: str
    args: str

    def __str__(self) -> str:
        if self.name == "model":
            return f"FROM {self.args}"
        if self.name in ("license", "template", "system", "adapter", "renderer", "parser",
                         "requires", "draft"):
            return f"{self.name.upper()} {quote(self.args)}"
        if self.name == "message":
            role, _, message = self.args.partition(": ")
            return f"MESSAGE {role} {quote(message)}"
        return f"PARAMETER {self.name} {quote(self.args)}"


class _StateError(Exception):
    def __init__(self, kind: str) -> None:
        self.kind = kind


def _is_space(c: str) -> bool:
    return c in " \t"


def _is_newline(c: str) -> bool:
    return c in "\r\n"


def _is_alpha(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _next(c: str, state: int) -> tuple[int, str]:
    """parseRuneForState: the next state and the rune to buffer ("" for none)."""
    if state == NIL:
        if c == "#":
            return COMMENT, ""
        if _is_space(c) or _is_newline(c):
            return NIL, ""
        return NAME, c
    if state == NAME:
        if _is_alpha(c):
            return NAME, c
        if _is_space(c):
            return VALUE, ""
        raise _StateError("command")
    if state == VALUE:
        return (NIL, c) if _is_newline(c) or _is_space(c) else (VALUE, c)
    if state in (PARAMETER, MESSAGE):
        ok = _is_alpha(c) or (state == PARAMETER and (c.isdigit() and c.isascii() or c == "_"))
        if ok:
            return state, c
        if _is_space(c):
            return VALUE, ""
        raise _StateError("eof")
    return (NIL, "") if _is_newline(c) else (COMMENT, "")


def unquote(s: str) -> tuple[str, bool]:
    if s.startswith('"""'):
        return (s[3:-3], True) if len(s) >= 6 and s.endswith('"""') else ("", False)
    if s.startswith('"'):
        return (s[1:-1], True) if len(s) >= 2 and s.endswith('"') else ("", False)
    return s, True


def quote(s: str) -> str:
    if "\n" in s or s.startswith(" ") or s.endswith(" "):
        return f'"""{s}"""' if '"' in s else f'"{s}"'
    return s


def parse(text: str) -> list[Command]:
    """ParseFile. Raises ModelfileError with upstream's message."""
    text = text.removeprefix("\ufeff")
    commands: list[Command] = []
    state, line, role, name = NIL, 1, "", ""
    buf: list[str] = []
    for c in text:
        if _is_newline(c):
            line += 1
        try:
            nxt, r = _next(c, state)
        except _StateError as e:
            if e.kind == "eof":
                raise ModelfileError(f"unexpected EOF: {''.join(buf)}") from None
            raise ModelfileError(f"(line {line}): {invalid_command_error()}") from None
        if nxt != state:
            word = "".join(buf)
            if state == NAME:
                if word.lower() not in commands_for():
                    raise ModelfileError(f"(line {line}): {invalid_command_error()}")
                low = word.lower()
                if low == "parameter":
                    nxt = PARAMETER
                else:
                    nxt = MESSAGE if low == "message" else nxt
                    name = "model" if low == "from" else low
            elif state == PARAMETER:
                name = word
            elif state == MESSAGE:
                if word not in _ROLES:
                    raise ModelfileError(f"(line {line}): {ERR_INVALID_ROLE}")
                role = word
            elif state == VALUE:
                value, ok = unquote(word.strip())
                if not ok or _is_space(r):
                    buf.append(r)  # a quoted value continues across spaces and lines
                    continue
                if role:
                    value, role = f"{role}: {value}", ""
                commands.append(Command(name, value))
            buf = []
            state = nxt
        if r and r.isprintable():
            buf.append(r)
    if state == VALUE:
        value, ok = unquote("".join(buf).strip())
        if not ok:
            raise ModelfileError("unexpected EOF")
        commands.append(Command(name, f"{role}: {value}" if role else value))
    elif state not in (NIL, COMMENT):
        raise ModelfileError("unexpected EOF")
    if not any(c.name == "model" for c in commands):
        raise ModelfileError(ERR_MISSING_FROM)
    return commands


def format_param(key: str, value: str) -> Any:
    """api.FormatParams for one value: typed by the Options field, upstream's error texts."""
    kind = parameter_types().get(key)
    if kind is None:
        raise ModelfileError(f"unknown parameter '{key}'")
    try:
        if kind == "int":
            return parse_int(value, 64)
        if kind == "bool":
            return parse_bool(value)
    except GoError:
        raise ModelfileError(f"invalid {kind} value [{value}]") from None
    if kind == "float":
        if "_" in value or not _FLOAT_RE.fullmatch(value):
            raise ModelfileError(f"invalid float value [{value}]")
        f = float(value)
        if abs(f) > _FLOAT32_MAX and f == f and abs(f) != float("inf"):
            raise ModelfileError(f"invalid float value [{value}]")
        return float32_shortest(f)
    return [value]


def expand_path(path: str, relative_dir: str) -> str:
    if os.path.isabs(path) or path.startswith("\\"):
        return os.path.abspath(path)
    if path.startswith("~"):
        return os.path.abspath(os.path.expanduser(path))
    return os.path.abspath(os.path.join(relative_dir, path))


def _model_files(path: str) -> list[str]:
    """filesForModel, reduced to what the stand-in can use: GGUF files in a directory."""
    found = sorted(os.path.join(path, f) for f in os.listdir(path)
                   if f.endswith((".gguf", ".bin")) or f.endswith(".safetensors"))
    if not found:
        raise ModelfileError(ERR_MODEL_NOT_FOUND)
    return found


def file_list(path: str) -> list[str] | None:
    """Local files a FROM/ADAPTER refers to, or None when the path does not exist."""
    if not os.path.exists(path):
        return None
    return _model_files(path) if os.path.isdir(path) else [path]


@dataclass
class CreateRequest:
    """What the CLI sends to /api/create before files are uploaded (paths still local)."""

    body: dict[str, Any]
    files: list[str]
    adapters: list[str]
    drafts: list[str] = field(default_factory=list)


def create_request(commands: list[Command], relative_dir: str) -> CreateRequest:
    """Modelfile.CreateRequest: FROM a path -> files to upload, FROM a name -> `from`."""
    body: dict[str, Any] = {}
    files: list[str] = []
    adapters: list[str] = []
    drafts: list[str] = []
    params: dict[str, Any] = {}
    messages: list[dict[str, str]] = []
    licenses: list[str] = []
    for c in commands:
        if c.name == "model":
            found = file_list(expand_path(c.args, relative_dir))
            if found is None:
                body["from"] = c.args
            else:
                files += found
        elif c.name == "adapter":
            path = expand_path(c.args, relative_dir)
            found = file_list(path)
            if found is None:
                raise ModelfileError(f"stat {path}: no such file or directory")
            adapters = found
        elif c.name == "draft":
            if played_release() < DRAFT_FILES_SINCE:
                # 0.23.1 to 0.29.x: only `ollama create --experimental` handles DRAFT.
                raise ModelfileError("DRAFT requires --experimental")
            path = expand_path(c.args, relative_dir)
            found = file_list(path)
            if found is None:
                raise ModelfileError(f"stat {path}: no such file or directory")
            if any(
                    os.path.realpath(path) == os.path.realpath(expand_path(m.args, relative_dir))
                    for m in commands if m.name == "model"):
                raise ModelfileError(
                    f"DRAFT must not reference the same local path as FROM: {path}")
            drafts += found
        elif c.name == "requires":
            version = c.args if c.args.startswith("v") else "v" + c.args
            if not re.fullmatch(r"v[0-9]+(\.[0-9]+(\.[0-9]+([-+][0-9A-Za-z.+-]*)?)?)?", version):
                raise ModelfileError("requires must be a valid semver (e.g. 0.14.0)")
            body["requires"] = version[1:]
        elif c.name in ("template", "system", "renderer", "parser"):
            body[c.name] = c.args
        elif c.name == "license":
            licenses.append(c.args)
        elif c.name == "message":
            role, _, content = c.args.partition(": ")
            messages.append({"role": role, "content": content})
        elif c.name in deprecated_parameters():
            print(f"warning: parameter {c.name} is deprecated")
        else:
            value = format_param(c.name, c.args)
            if isinstance(value, list) and isinstance(params.get(c.name), list):
                params[c.name] = params[c.name] + value
            else:
                params[c.name] = value
    if params:
        body["parameters"] = params
    if messages:
        body["messages"] = messages
    if licenses:
        body["license"] = licenses
    return CreateRequest(body, files, adapters, drafts)


def render(commands: list[Command]) -> str:
    """Modelfile.String(): one command per line."""
    return "".join(f"{c}\n" for c in commands)


def option_commands(options: dict[str, Any]) -> list[Command]:
    """PARAMETER lines for stored options; list values repeat the line (stop)."""
    out: list[Command] = []
    for k in sorted(options):  # upstream iterates a Go map (random order); sorted is stable
        v = options[k]
        for item in v if isinstance(v, list) else [v]:
            out.append(Command(k, format_v(item)))
    return out
