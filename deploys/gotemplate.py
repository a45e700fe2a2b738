"""A syntax check for Go ``text/template`` text: what Ollama's template.Parse refuses.

``ollama create`` parses a Modelfile's TEMPLATE with Go's text/template (plus the functions
Ollama adds, see :mod:`.modelfile_versions`) and refuses the model when that fails. This module
accepts and refuses the same texts, without running anything, so a broken TEMPLATE is reported
on the controller with the file, line and column instead of failing on every host.

What Go checks while parsing, and so what is checked here: the ``{{ }}`` delimiters, trim
markers (``{{- `` / `` -}}``), comments (``{{/* */}}``), the lexical syntax inside actions
(strings, raw strings, characters, numbers, fields, variables, parentheses), the control
structures and their ``{{end}}`` (if / else if / else with / else, range with break and
continue, with, define, block, template), that each function is defined and each variable
declared, and that a template is not defined twice. What Go leaves to execution is not checked:
unknown fields (``.Foo``), argument counts and types, templates named but never defined.

Ollama refuses one more thing after parsing: ``{{template "name"}}`` without a value.

Stdlib only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_SPACE = " \t\r\n"
_KEYWORDS = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template",
     "with"})


class GoTemplateError(ValueError):
    """A template problem at ``line``:``column`` (1-based, in the template text)."""

    def __init__(self, line: int, column: int, reason: str) -> None:
        super().__init__(f"{line}:{column}: {reason}")
        self.line = line
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class _Tok:
    kind: str  # see _lex
    val: str
    pos: int


def _go_quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _describe(tok: _Tok) -> str:
    """How Go names a token in "unexpected X in Y"."""
    if tok.kind == "EOF":
        return "EOF"
    if tok.kind == "ERROR":
        return tok.val
    if tok.kind in _KEYWORDS or tok.kind == "DOT":
        return f"<{tok.val}>"
    if len(tok.val) > 10:
        return _go_quote(tok.val[:10]) + "..."
    return _go_quote(tok.val)


def _rune(ch: str) -> str:
    """Go's %#U: U+0078 'x'."""
    code = f"U+{ord(ch):04X}"
    return f"{code} '{ch}'" if ch.isprintable() else code


def _alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


# --------------------------------------------------------------------------- lexer


def _lex(text: str) -> list[_Tok]:
    """Tokens; a lexical error becomes an ERROR token and ends the list (like Go's lexer,
    whose error surfaces only when the parser reaches it)."""
    toks: list[_Tok] = []
    n = len(text)
    pos = 0

    def right_delim(at: int) -> int:
        """Length of the closing delimiter at ``at`` (4 with a trim marker), or 0."""
        if (at + 1 < n and text[at] in _SPACE and text[at + 1] == "-"
                and text.startswith("}}", at + 2)):
            return 4
        return 2 if text.startswith("}}", at) else 0

    def terminator(at: int) -> bool:
        return at >= n or text[at] in _SPACE or text[at] in ".,|:)(" or text.startswith("}}", at)

    while True:
        start = text.find("{{", pos)
        if start < 0:
            if pos < n:
                toks.append(_Tok("TEXT", text[pos:], pos))
            toks.append(_Tok("EOF", "", n))
            return toks
        if start > pos:
            toks.append(_Tok("TEXT", text[pos:start], pos))
        inner = start + 2
        if inner + 1 < n and text[inner] == "-" and text[inner + 1] in _SPACE:
            inner += 2  # left trim marker
        if text.startswith("/*", inner):
            close = text.find("*/", inner + 2)
            if close < 0:
                toks.append(_Tok("ERROR", "unclosed comment", inner))
                return toks
            width = right_delim(close + 2)
            if not width:
                toks.append(_Tok("ERROR", "comment ends before closing delimiter", close + 2))
                return toks
            toks.append(_Tok("COMMENT", text[inner:close + 2], inner))
            pos = close + 2 + width
            continue
        toks.append(_Tok("LEFT", "{{", start))
        pos = inner
        depth = 0
        while True:
            width = right_delim(pos)
            if width:
                if depth:
                    toks.append(_Tok("ERROR", "unclosed left paren", pos))
                    return toks
                toks.append(_Tok("RIGHT", "}}", pos))
                pos += width
                break
            if pos >= n:
                toks.append(_Tok("ERROR", "unclosed action", pos))
                return toks
            ch = text[pos]
            if ch in _SPACE:
                end = pos
                while end < n and text[end] in _SPACE:
                    end += 1
                if right_delim(end - 1) == 4:
                    end -= 1  # the last space belongs to " -}}"
                if end > pos:
                    toks.append(_Tok("SPACE", text[pos:end], pos))
                pos = end
            elif ch == "=":
                toks.append(_Tok("ASSIGN", "=", pos))
                pos += 1
            elif ch == ":":
                if not text.startswith(":=", pos):
                    toks.append(_Tok("ERROR", "expected :=", pos))
                    return toks
                toks.append(_Tok("DECLARE", ":=", pos))
                pos += 2
            elif ch == "|":
                toks.append(_Tok("PIPE", "|", pos))
                pos += 1
            elif ch in "\"'":
                end = pos + 1
                while True:
                    if end >= n or text[end] == "\n":
                        what = "quoted string" if ch == '"' else "character constant"
                        toks.append(_Tok("ERROR", f"unterminated {what}", pos))
                        return toks
                    if text[end] == "\\":
                        if end + 1 >= n or text[end + 1] == "\n":
                            what = "quoted string" if ch == '"' else "character constant"
                            toks.append(_Tok("ERROR", f"unterminated {what}", pos))
                            return toks
                        end += 2
                        continue
                    if text[end] == ch:
                        break
                    end += 1
                toks.append(_Tok("STRING" if ch == '"' else "CHAR", text[pos:end + 1], pos))
                pos = end + 1
            elif ch == "`":
                end = text.find("`", pos + 1)
                if end < 0:
                    toks.append(_Tok("ERROR", "unterminated raw quoted string", pos))
                    return toks
                toks.append(_Tok("RAW", text[pos:end + 1], pos))
                pos = end + 1
            elif ch == "$" or (ch == "." and pos + 1 < n and text[pos + 1] not in "0123456789"):
                end = pos + 1
                if terminator(end):
                    toks.append(_Tok("VAR" if ch == "$" else "DOT", ch, pos))
                    pos = end
                    continue
                while end < n and _alnum(text[end]):
                    end += 1
                if not terminator(end):
                    toks.append(_Tok("ERROR", f"bad character {_rune(text[end])}", end))
                    return toks
                toks.append(_Tok("VAR" if ch == "$" else "FIELD", text[pos:end], pos))
                pos = end
            elif ch in "+-." or (ch.isascii() and ch.isdigit()):
                end = _scan_number(text, pos)
                if end < 0:
                    bad = _go_quote(text[pos:-end])
                    toks.append(_Tok("ERROR", f"bad number syntax: {bad}", pos))
                    return toks
                kind = "NUMBER"
                if end < n and text[end] in "+-":
                    second = _scan_number(text, end)
                    if second < 0 or text[second - 1] != "i":
                        stop = -second if second < 0 else second
                        toks.append(_Tok("ERROR", f"bad number syntax: {_go_quote(text[pos:stop])}",
                                         pos))
                        return toks
                    end, kind = second, "COMPLEX"
                toks.append(_Tok(kind, text[pos:end], pos))
                pos = end
            elif _alnum(ch):
                end = pos
                while end < n and _alnum(text[end]):
                    end += 1
                if not terminator(end):
                    toks.append(_Tok("ERROR", f"bad character {_rune(text[end])}", end))
                    return toks
                word = text[pos:end]
                if word in _KEYWORDS:
                    kind = word
                elif word in ("true", "false"):
                    kind = "BOOL"
                else:
                    kind = "IDENT"
                toks.append(_Tok(kind, word, pos))
                pos = end
            elif ch == "(":
                depth += 1
                toks.append(_Tok("LPAREN", ch, pos))
                pos += 1
            elif ch == ")":
                depth -= 1
                toks.append(_Tok("RPAREN", ch, pos))
                if depth < 0:
                    toks.append(_Tok("ERROR", f"unexpected right paren {_rune(ch)}", pos))
                    return toks
                pos += 1
            elif ch.isascii() and ch.isprintable():
                toks.append(_Tok("CHAR_ITEM", ch, pos))
                pos += 1
            else:
                toks.append(_Tok("ERROR", f"unrecognized character in action: {_rune(ch)}", pos))
                return toks
        # right trim marker: the following text loses its leading spaces (no effect on syntax)


def _scan_number(text: str, pos: int) -> int:
    """Go's lexer scanNumber from ``pos``: the end index, or minus the end of the bad text."""
    n = len(text)
    i = pos

    def accept(chars: str) -> bool:
        nonlocal i
        if i < n and text[i] in chars:
            i += 1
            return True
        return False

    def accept_run(chars: str) -> None:
        nonlocal i
        while i < n and text[i] in chars:
            i += 1

    accept("+-")
    digits = "0123456789_"
    if accept("0"):
        if accept("xX"):
            digits = "0123456789abcdefABCDEF_"
        elif accept("oO"):
            digits = "01234567_"
        elif accept("bB"):
            digits = "01_"
    accept_run(digits)
    if accept("."):
        accept_run(digits)
    if len(digits) == 11 and accept("eE"):
        accept("+-")
        accept_run("0123456789_")
    if len(digits) == 23 and accept("pP"):
        accept("+-")
        accept_run("0123456789_")
    accept("i")
    if i < n and _alnum(text[i]):
        return -(i + 1)
    return i


# --------------------------------------------------------------------------- literal values


def _underscores_ok(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    saw = "^"
    i = 0
    if len(body) >= 2 and body[0] == "0" and body[1] in "bBoOxX":
        i, saw = 2, "0"
    hexadecimal = body[1:2] in ("x", "X")
    for ch in body[i:]:
        if ch.isdigit() or (hexadecimal and ch in "abcdefABCDEF"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
    return saw != "_"


_INT_BODY = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[0-7_]*|[1-9][0-9_]*")
_DEC_FLOAT = re.compile(
    r"(?=[0-9_]*\.?[0-9_]*[0-9])[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]*[0-9][0-9_]*)?")
_HEX_FLOAT = re.compile(
    r"0[xX](?=[0-9a-fA-F_]*\.?[0-9a-fA-F_]*[0-9a-fA-F])[0-9a-fA-F_]*\.?[0-9a-fA-F_]*"
    r"[pP][+-]?[0-9_]*[0-9][0-9_]*")


def _int_value(text: str, signed: bool) -> int | None:
    """strconv.ParseInt / ParseUint(text, 0, 64)."""
    sign = 1
    body = text
    if text[:1] in "+-":
        if not signed:
            return None
        sign = -1 if text[0] == "-" else 1
        body = text[1:]
    if not _INT_BODY.fullmatch(body) or not _underscores_ok(body):
        return None
    clean = body.replace("_", "")
    if clean[:2].lower() in ("0x", "0b", "0o"):
        if len(clean) == 2:
            return None
        value = int(clean, 0)
    elif len(clean) > 1 and clean[0] == "0":
        value = int(clean[1:], 8)
    else:
        value = int(clean)
    value *= sign
    if signed:
        return value if -(2**63) <= value < 2**63 else None
    return value if value < 2**64 else None


def _float_ok(text: str) -> bool:
    """strconv.ParseFloat(text, 64) without error (finite, in range)."""
    body = text[1:] if text[:1] in "+-" else text
    if _HEX_FLOAT.fullmatch(body):
        try:
            value = float.fromhex(body.replace("_", ""))
        except (ValueError, OverflowError):
            return False
    elif _DEC_FLOAT.fullmatch(body):
        try:
            value = float(body.replace("_", ""))
        except ValueError:
            return False
    else:
        return False
    if "_" in body and not _underscores_ok(body):
        return False
    return value != float("inf")


_ESCAPE = re.compile(
    r"\\(?:[abfnrtv\\]|[0-7]{3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def _escapes_ok(body: str, quote: str) -> bool:
    """Whether every escape in a Go string/char body is valid (strconv.Unquote)."""
    i = 0
    while i < len(body):
        if body[i] != "\\":
            i += 1
            continue
        if body[i + 1:i + 2] == quote:
            i += 2
            continue
        match = _ESCAPE.match(body, i)
        if not match:
            return False
        esc = match.group(0)
        if esc[1] in "01234567" and int(esc[1:], 8) > 255:
            return False
        if esc[1] in "uU":
            code = int(esc[2:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return False
        i = match.end()
    return True


def _char_ok(token: str) -> bool:
    body = token[1:-1]
    if not body:
        return False
    if body[0] != "\\":
        return len(body) == 1 and body != "'"
    return _escapes_ok(body, "'") and (_ESCAPE.fullmatch(body) is not None or body == "\\'")


def _number_problem(tok: _Tok) -> str | None:
    text = tok.val
    if tok.kind == "CHAR":
        return None if _char_ok(text) else f"malformed character constant: {text}"
    if tok.kind == "COMPLEX" or text.endswith("i"):
        parts = re.fullmatch(r"([+-]?[^+-]*?)(?:([+-].*))?i?", text)
        ok = parts is not None and all(
            _float_ok(p.rstrip("i")) or _int_value(p.rstrip("i"), True) is not None
            for p in parts.groups() if p)
        return None if ok else f"illegal number syntax: {_go_quote(text)}"
    if _int_value(text, False) is not None or _int_value(text, True) is not None:
        return None
    if _float_ok(text):
        if not any(c in text for c in ".eEpP"):
            return f"integer overflow: {_go_quote(text)}"
        return None
    return f"illegal number syntax: {_go_quote(text)}"


def _string_ok(tok: _Tok) -> bool:
    if tok.kind == "RAW":
        return True
    return _escapes_ok(tok.val[1:-1], '"') and "\\'" not in tok.val.replace("\\\\", "")


# --------------------------------------------------------------------------- parser


class _Fail(Exception):
    def __init__(self, pos: int, reason: str) -> None:
        self.pos = pos
        self.reason = reason


@dataclass
class _Parser:
    toks: list[_Tok]
    functions: frozenset[str]
    else_with: bool
    i: int = 0
    vars: list[str] = field(default_factory=lambda: ["$"])
    range_depth: int = 0
    trees: dict[str, bool] = field(default_factory=dict)  # name -> whether empty
    template_without_value: int | None = None

    # tokens -------------------------------------------------------------

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind != "EOF":
            self.i += 1
        return tok

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def backup(self) -> None:
        self.i -= 1

    def next_non_space(self) -> _Tok:
        tok = self.next()
        while tok.kind == "SPACE":
            tok = self.next()
        return tok

    def peek_non_space(self) -> _Tok:
        while self.toks[self.i].kind == "SPACE":
            self.i += 1
        return self.toks[self.i]

    def fail(self, tok: _Tok, reason: str) -> _Fail:
        return _Fail(tok.pos, reason)

    def unexpected(self, tok: _Tok, context: str) -> _Fail:
        if tok.kind == "ERROR":
            return _Fail(tok.pos, tok.val)
        return _Fail(tok.pos, f"unexpected {_describe(tok)} in {context}")

    def expect(self, kind: str, context: str) -> _Tok:
        tok = self.next_non_space()
        if tok.kind != kind:
            raise self.unexpected(tok, context)
        return tok

    # structure ----------------------------------------------------------

    def parse(self) -> None:
        root: list[str] = []
        while self.peek().kind != "EOF":
            if self.peek().kind == "LEFT":
                mark = self.i
                self.next()
                if self.next_non_space().kind == "define":
                    self.definition()
                    continue
                self.i = mark
            node, tok = self.text_or_action()
            if node in ("end", "else"):
                raise self.fail(tok, f"unexpected {{{{{node}}}}}")
            root.append(node)
        self.add("", root, self.toks[-1])

    def add(self, name: str, nodes: list[str], tok: _Tok) -> None:
        empty = all(node in ("blank", "comment") for node in nodes)
        if name in self.trees and not self.trees[name] and not empty:
            raise self.fail(tok, f"template: multiple definition of template {_go_quote(name)}")
        if name not in self.trees or self.trees[name]:
            self.trees[name] = empty

    def fresh_scope(self) -> tuple[list[str], int]:
        saved = (self.vars, self.range_depth)
        self.vars, self.range_depth = ["$"], 0
        return saved

    def definition(self) -> None:
        saved = self.fresh_scope()
        tok = self.next_non_space()
        if tok.kind not in ("STRING", "RAW"):
            raise self.unexpected(tok, "define clause")
        name = self.template_name(tok)
        self.expect("RIGHT", "define clause")
        nodes, end, end_tok = self.item_list()
        if end != "end":
            raise self.fail(end_tok, f"unexpected {{{{{end}}}}} in define clause")
        self.add(name, nodes, tok)
        self.vars, self.range_depth = saved

    def template_name(self, tok: _Tok) -> str:
        if not _string_ok(tok):
            raise self.fail(tok, f"invalid syntax (a bad escape in the template name {tok.val})")
        return tok.val[1:-1]

    def item_list(self) -> tuple[list[str], str, _Tok]:
        nodes: list[str] = []
        while self.peek_non_space().kind != "EOF":
            node, tok = self.text_or_action()
            if node in ("end", "else"):
                return nodes, node, tok
            nodes.append(node)
        raise self.fail(self.peek(), "unexpected EOF")

    def text_or_action(self) -> tuple[str, _Tok]:
        tok = self.next_non_space()
        if tok.kind == "TEXT":
            return ("blank" if not tok.val.strip(_SPACE) else "text"), tok
        if tok.kind == "COMMENT":
            return "comment", tok
        if tok.kind == "LEFT":
            return self.action(), tok
        raise self.unexpected(tok, "input")

    def action(self) -> str:
        tok = self.next_non_space()
        kind = tok.kind
        if kind in ("break", "continue"):
            after = self.next_non_space()
            if after.kind != "RIGHT":
                raise self.unexpected(after, f"{{{{{kind}}}}}")
            if self.range_depth == 0:
                raise self.fail(tok, f"{{{{{kind}}}}} outside {{{{range}}}}")
            return kind
        if kind == "else":
            after = self.peek_non_space()
            if after.kind == "if" or (self.else_with and after.kind == "with"):
                return "else"
            self.expect("RIGHT", "else")
            return "else"
        if kind == "end":
            self.expect("RIGHT", "end")
            return "end"
        if kind in ("if", "range", "with"):
            self.control(kind)
            return kind
        if kind == "template":
            name_tok = self.next_non_space()
            if name_tok.kind not in ("STRING", "RAW"):
                raise self.unexpected(name_tok, "template clause")
            self.template_name(name_tok)
            if self.next_non_space().kind != "RIGHT":
                self.backup()
                self.pipeline("template clause", "RIGHT")
            elif self.template_without_value is None:
                self.template_without_value = tok.pos
            return "template"
        if kind == "block":
            name_tok = self.next_non_space()
            if name_tok.kind not in ("STRING", "RAW"):
                raise self.unexpected(name_tok, "block clause")
            name = self.template_name(name_tok)
            self.pipeline("block clause", "RIGHT")
            saved = self.fresh_scope()
            nodes, end, end_tok = self.item_list()
            if end != "end":
                raise self.fail(end_tok, f"unexpected {{{{{end}}}}} in block clause")
            self.add(name, nodes, name_tok)
            self.vars, self.range_depth = saved
            return "template"
        self.backup()
        self.pipeline("command", "RIGHT")
        return "action"

    def control(self, context: str) -> None:
        depth = len(self.vars)
        self.pipeline(context, "RIGHT")
        if context == "range":
            self.range_depth += 1
        _, end, end_tok = self.item_list()
        if context == "range":
            self.range_depth -= 1
        if end == "else":
            chained = self.peek()
            if context == "if" and chained.kind == "if":
                self.next()
                self.control("if")
            elif context == "with" and self.else_with and chained.kind == "with":
                self.next()
                self.control("with")
            else:
                _, end, end_tok = self.item_list()
                if end != "end":
                    raise self.fail(end_tok, f"expected end; found {{{{{end}}}}}")
        del self.vars[depth:]

    # pipelines ------------------------------------------------------------

    def pipeline(self, context: str, end: str) -> None:
        first = self.peek_non_space()
        declared = 0
        while True:  # declarations
            var = self.peek_non_space()
            if var.kind != "VAR":
                break
            var_index = self.i
            self.next()
            following = self.peek_non_space()
            if following.kind in ("ASSIGN", "DECLARE"):
                self.next_non_space()
                self.vars.append(var.val)
                break
            if following.kind == "CHAR_ITEM" and following.val == ",":
                self.next_non_space()
                self.vars.append(var.val)
                declared += 1
                if context == "range" and declared < 2:
                    if self.peek_non_space().kind in ("VAR", "RIGHT", "RPAREN"):
                        continue
                    raise self.fail(following, "range can only initialize variables")
                raise self.fail(following, f"too many declarations in {context}")
            self.i = var_index  # not a declaration: the command starts at the variable
            break
        commands: list[str] = []
        while True:
            tok = self.next_non_space()
            if tok.kind == end:
                if not commands:
                    raise self.fail(tok if tok.kind != "EOF" else first,
                                    f"missing value for {context}")
                for index, head in enumerate(commands[1:], start=2):
                    if head in ("BOOL", "DOT", "NIL", "NUMBER", "STRING"):
                        raise self.fail(tok, f"non executable command in pipeline stage {index}")
                return
            if tok.kind in ("BOOL", "CHAR", "COMPLEX", "DOT", "FIELD", "IDENT", "NUMBER", "nil",
                            "RAW", "STRING", "VAR", "LPAREN"):
                self.backup()
                commands.append(self.command())
            else:
                raise self.unexpected(tok, context)

    def command(self) -> str:
        head: str | None = None
        while True:
            self.peek_non_space()
            kind = self.operand()
            if kind is not None and head is None:
                head = kind
            tok = self.next()
            if tok.kind == "SPACE":
                continue
            if tok.kind in ("RIGHT", "RPAREN"):
                self.backup()
            elif tok.kind != "PIPE":
                raise self.unexpected(tok, "operand")
            break
        if head is None:
            raise self.fail(self.peek(), "empty command")
        return head

    def operand(self) -> str | None:
        start = self.peek()
        kind = self.term()
        if kind is None:
            return None
        if self.peek().kind == "FIELD":
            while self.peek().kind == "FIELD":
                self.next()
            if kind in ("BOOL", "STRING", "NUMBER", "NIL", "DOT"):
                shown = {"NIL": "nil", "DOT": "."}.get(kind, start.val)
                raise self.fail(start, f"unexpected . after term {_go_quote(shown)}")
            if kind not in ("FIELD", "VAR"):
                kind = "CHAIN"
        return kind

    def term(self) -> str | None:
        tok = self.next_non_space()
        kind = tok.kind
        if kind == "IDENT":
            if tok.val not in self.functions:
                raise self.fail(tok, f"function {_go_quote(tok.val)} not defined")
            return "IDENT"
        if kind in ("DOT", "FIELD", "BOOL"):
            return kind
        if kind == "nil":
            return "NIL"
        if kind == "VAR":
            if tok.val not in self.vars:
                raise self.fail(tok, f"undefined variable {_go_quote(tok.val)}")
            return "VAR"
        if kind in ("CHAR", "COMPLEX", "NUMBER"):
            problem = _number_problem(tok)
            if problem:
                raise self.fail(tok, problem)
            return "NUMBER"
        if kind == "LPAREN":
            self.pipeline("parenthesized pipeline", "RPAREN")
            return "PIPE"
        if kind in ("STRING", "RAW"):
            if not _string_ok(tok):
                raise self.fail(tok, f"invalid syntax (a bad escape in the string {tok.val})")
            return "STRING"
        self.backup()
        return None


def _line_column(text: str, pos: int) -> tuple[int, int]:
    before = text[:pos]
    line = before.count("\n") + 1
    return line, pos - (before.rfind("\n") + 1) + 1


def check_go_template(
    text: str,
    functions: Iterable[str],
    *,
    else_with: bool = True,
    template_needs_value: bool = True,
) -> None:
    """Raise :class:`GoTemplateError` where Go's text/template (with ``functions`` defined)
    would refuse ``text``; with ``template_needs_value``, also refuse ``{{template "x"}}``
    without a value, as Ollama does after parsing."""
    parser = _Parser(_lex(text), frozenset(functions), else_with)
    try:
        parser.parse()
    except _Fail as exc:
        line, column = _line_column(text, exc.pos)
        raise GoTemplateError(line, column, exc.reason) from None
    if template_needs_value and parser.template_without_value is not None:
        line, column = _line_column(text, parser.template_without_value)
        raise GoTemplateError(
            line, column, '{{template "name"}} needs a value to pass, e.g. {{template "name" .}} '
            "(Ollama refuses it: undefined template specified)")
