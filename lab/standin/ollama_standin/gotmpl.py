"""The TEMPLATE check of `ollama create` (template.Parse on Go's text/template). TEST FIXTURE.

Upstream's server parses a create request's TEMPLATE with Go's text/template (plus the functions
template/template.go adds) and answers `template error: <Go's error>` when that fails; after
parsing it walks the trees and refuses `{{template "x"}}` without a value (`undefined template
specified`). This module plays that part: a small lexer and parser that follow the states of Go's
text/template/parse (lex.go, parse.go) closely enough to refuse the same texts with the same
messages, including Go's line numbers (`template: :LINE: ...`). It builds no nodes beyond what
the checks need and executes nothing. It is an independent implementation, kept apart from the
fleet tool's own checker so the two cross-check each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# text/template/funcs.go builtins, then template/template.go's FuncMap with the release that
# added each name.
GO_BUILTINS = ("and", "call", "html", "index", "slice", "js", "len", "not", "or", "print",
               "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne")
OLLAMA_FUNCS_SINCE = {"json": (0, 2, 6), "currentDate": (0, 11, 1),
                      "toTypeScriptType": (0, 11, 3), "yesterdayDate": (0, 13, 3)}
# Releases built with Go 1.23 or later accept {{else with}} (go.mod says go 1.23.4 from 0.5.2).
ELSE_WITH_SINCE = (0, 5, 2)
# {{template "x"}} without a value: refused from 0.12.4 (crashed the request before).
TEMPLATE_VALUE_REQUIRED_SINCE = (0, 12, 4)

_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "nil",
             "template", "with"}
_SPACES = " \t\r\n"
_ENDS_WORD = set(_SPACES) | set(".,|:)(")


class TemplateError(Exception):
    """Go's error text, e.g. `template: :1: function "foo" not defined`."""


@dataclass
class _Item:
    typ: str  # a keyword, or TEXT, LEFT, RIGHT, SPACE, ERROR, EOF, IDENT, FIELD, VAR, DOT, ...
    val: str
    line: int

    def __str__(self) -> str:  # item.String()
        if self.typ == "EOF":
            return "EOF"
        if self.typ == "ERROR":
            return self.val
        if self.typ in _KEYWORDS or self.typ == "DOT":
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def go_quote(s: str) -> str:
    """strconv.Quote for the characters templates contain."""
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a",
               "\b": "\\b", "\f": "\\f", "\v": "\\v"}
    out = []
    for ch in s:
        if ch in escapes:
            out.append(escapes[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _u(ch: str) -> str:
    """fmt's %#U."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


def _alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


class _Lexer:
    """lex.go's state functions, run to completion up front (the parser cannot tell)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.start = 0
        self.pos = 0
        self.parens = 0
        self.items: list[_Item] = []
        self.at = 0
        state = self.text
        while state is not None:
            state = state()

    # helpers
    def line_of(self, pos: int) -> int:
        return self.s.count("\n", 0, pos) + 1

    def emit(self, typ: str) -> None:
        self.items.append(_Item(typ, self.s[self.start:self.pos], self.line_of(self.start)))
        self.start = self.pos

    def fail(self, message: str) -> None:
        self.items.append(_Item("ERROR", message, self.line_of(self.start)))
        return None

    def peekc(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def nextc(self) -> str:
        ch = self.peekc()
        self.pos += 1
        return ch

    def accept(self, chars: str) -> bool:
        if self.peekc() and self.peekc() in chars:
            self.pos += 1
            return True
        return False

    def accept_run(self, chars: str) -> None:
        while self.accept(chars):
            pass

    def right_delim(self, at: int) -> tuple[bool, bool]:
        """(at a closing delimiter, with a ` -` trim marker before it)."""
        s = self.s
        if at + 1 < len(s) and s[at] in _SPACES and s[at + 1] == "-" and s.startswith("}}",
                                                                                      at + 2):
            return True, True
        return s.startswith("}}", at), False

    def skip_leading_space(self) -> None:
        while self.pos < len(self.s) and self.s[self.pos] in _SPACES:
            self.pos += 1

    def at_terminator(self) -> bool:
        ch = self.peekc()
        return ch == "" or ch in _ENDS_WORD or self.s.startswith("}}", self.pos)

    # states
    def text(self):  # type: ignore[no-untyped-def]
        found = self.s.find("{{", self.pos)
        if found < 0:
            self.pos = len(self.s)
            if self.pos > self.start:
                self.emit("TEXT")
            self.emit("EOF")
            return None
        if found > self.pos or found > self.start:
            self.pos = found
            body = self.s[self.start:found]
            after = self.s[found + 2:found + 4]
            if len(after) == 2 and after[0] == "-" and after[1] in _SPACES:
                body = body.rstrip(_SPACES)
            if body:
                self.items.append(_Item("TEXT", body, self.line_of(self.start)))
            self.start = found
        return self.left_delim

    def left_delim(self):  # type: ignore[no-untyped-def]
        self.pos += 2
        trim = self.s[self.pos:self.pos + 1] == "-" and self.s[self.pos + 1:self.pos + 2] in (
            tuple(_SPACES))
        after = self.pos + (2 if trim else 0)
        if self.s.startswith("/*", after):
            self.pos = after
            self.start = self.pos
            return self.comment
        self.emit("LEFT")
        self.pos = after
        self.start = self.pos
        self.parens = 0
        return self.inside

    def comment(self):  # type: ignore[no-untyped-def]
        end = self.s.find("*/", self.pos + 2)
        if end < 0:
            return self.fail("unclosed comment")
        self.pos = end + 2
        delim, trim = self.right_delim(self.pos)
        if not delim:
            return self.fail("comment ends before closing delimiter")
        self.pos += (2 if trim else 0) + 2
        if trim:
            self.skip_leading_space()
        self.start = self.pos
        return self.text

    def right(self):  # type: ignore[no-untyped-def]
        _, trim = self.right_delim(self.pos)
        if trim:
            self.pos += 2
            self.start = self.pos
        self.pos += 2
        self.emit("RIGHT")
        if trim:
            self.skip_leading_space()
            self.start = self.pos
        return self.text

    def inside(self):  # type: ignore[no-untyped-def]
        delim, _ = self.right_delim(self.pos)
        if delim:
            return self.right if self.parens == 0 else self.fail("unclosed left paren")
        ch = self.nextc()
        if ch == "":
            return self.fail("unclosed action")
        if ch in _SPACES:
            self.pos -= 1
            return self.space
        simple = {"=": "ASSIGN", "|": "PIPE", "(": "LPAREN"}
        if ch in simple:
            self.emit(simple[ch])
            self.parens += ch == "("
        elif ch == ":":
            if self.nextc() != "=":
                return self.fail("expected :=")
            self.emit("DECLARE")
        elif ch == '"':
            return self.quoted('"', "STRING", "unterminated quoted string")
        elif ch == "'":
            return self.quoted("'", "CHAR", "unterminated character constant")
        elif ch == "`":
            end = self.s.find("`", self.pos)
            if end < 0:
                return self.fail("unterminated raw quoted string")
            self.pos = end + 1
            self.emit("RAW")
        elif ch == "$":
            return self.word("VAR")
        elif ch == "." and self.peekc() != "" and not "0" <= self.peekc() <= "9":
            return self.word("FIELD")
        elif ch in "+-." or "0" <= ch <= "9":
            self.pos -= 1
            return self.number
        elif _alnum(ch):
            self.pos -= 1
            return self.identifier
        elif ch == ")":
            self.emit("RPAREN")
            self.parens -= 1
            if self.parens < 0:
                return self.fail(f"unexpected right paren {_u(ch)}")
        elif ord(ch) < 128 and ch.isprintable():
            self.emit("CHAR_ITEM")
        else:
            return self.fail(f"unrecognized character in action: {_u(ch)}")
        return self.inside

    def space(self):  # type: ignore[no-untyped-def]
        count = 0
        while self.peekc() and self.peekc() in _SPACES:
            self.pos += 1
            count += 1
        if self.s[self.pos:self.pos + 1] == "-" and self.s.startswith("}}", self.pos + 1):
            self.pos -= 1  # the last space belongs to " -}}"
            if count == 1:
                return self.right
        self.emit("SPACE")
        return self.inside

    def quoted(self, quote: str, typ: str, unterminated: str):  # type: ignore[no-untyped-def]
        while True:
            ch = self.nextc()
            if ch == "\\":
                ch = self.nextc()
                if ch not in ("", "\n"):
                    continue
            if ch in ("", "\n"):
                return self.fail(unterminated)
            if ch == quote:
                break
        self.emit(typ)
        return self.inside

    def word(self, typ: str):  # type: ignore[no-untyped-def]
        if self.at_terminator():
            self.emit("VAR" if typ == "VAR" else "DOT")
            return self.inside
        while self.peekc() and _alnum(self.peekc()):
            self.pos += 1
        if not self.at_terminator():
            return self.fail(f"bad character {_u(self.peekc())}")
        self.emit(typ)
        return self.inside

    def identifier(self):  # type: ignore[no-untyped-def]
        while self.peekc() and _alnum(self.peekc()):
            self.pos += 1
        if not self.at_terminator():
            return self.fail(f"bad character {_u(self.peekc())}")
        word = self.s[self.start:self.pos]
        self.emit(word if word in _KEYWORDS else "BOOL" if word in ("true", "false")
                  else "IDENT")
        return self.inside

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            for marks, ds in (("xX", "0123456789abcdefABCDEF_"), ("oO", "01234567_"),
                              ("bB", "01_")):
                if self.accept(marks):
                    digits = ds
                    break
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if self.peekc() and _alnum(self.peekc()):
            self.pos += 1
            return False
        return True

    def number(self):  # type: ignore[no-untyped-def]
        if not self.scan_number():
            return self.fail(f"bad number syntax: {go_quote(self.s[self.start:self.pos])}")
        if self.peekc() in ("+", "-") and self.peekc():
            if not self.scan_number() or self.s[self.pos - 1] != "i":
                return self.fail(f"bad number syntax: {go_quote(self.s[self.start:self.pos])}")
            self.emit("COMPLEX")
        else:
            self.emit("NUMBER")
        return self.inside

    def next_item(self) -> _Item:
        if self.at < len(self.items):
            self.at += 1
            return self.items[self.at - 1]
        return _Item("EOF", "", self.items[-1].line if self.items else 1)


# --------------------------------------------------------------------------- literal checks

_ESC = re.compile(r"\\(?:[abfnrtv\\'\"]|[0-7]{3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def _escape_end(body: str, i: int, quote: str) -> int:
    """strconv.UnquoteChar on the escape at body[i]: where it ends, or -1 (invalid syntax)."""
    m = _ESC.match(body, i)
    if not m:
        return -1
    esc = m.group(0)
    if esc[1] in "'\"" and esc[1] != quote:
        return -1
    if esc[1] in "01234567" and int(esc[1:], 8) > 255:
        return -1
    if esc[1] in "uU":
        code = int(esc[2:], 16)
        if code > 0x10FFFF or 0xD800 <= code < 0xE000:
            return -1
    return m.end()


def _unquote_ok(token: str) -> bool:
    """strconv.Unquote succeeds for a string token (raw strings always do)."""
    if token.startswith("`"):
        return True
    body, i = token[1:-1], 0
    while i < len(body):
        if body[i] == "\\":
            i = _escape_end(body, i, '"')
            if i < 0:
                return False
        else:
            i += 1
    return True


def _underscores_ok(text: str) -> bool:
    """strconv's underscoreOK: underscores only between digits or after a base prefix."""
    s = text[1:] if text[:1] in "+-" else text
    saw, i, hexa = "^", 0, False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        saw, i, hexa = "0", 2, s[1] in "xX"
    for ch in s[i:]:
        if ch.isdigit() or (hexa and ch in "abcdefABCDEF"):
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


def _go_int(text: str, signed: bool) -> bool:
    """strconv.ParseInt/ParseUint(text, 0, 64) succeeds."""
    body, sign = text, 1
    if body[:1] in "+-":
        if not signed:
            return False
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if "_" in body and not _underscores_ok(body):
        return False
    body = body.replace("_", "")
    base, digits = 10, body
    if body[:2] in ("0x", "0X"):
        base, digits = 16, body[2:]
    elif body[:2] in ("0b", "0B"):
        base, digits = 2, body[2:]
    elif body[:2] in ("0o", "0O"):
        base, digits = 8, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, digits = 8, body[1:]
    if not digits or not all(c in "0123456789abcdefABCDEF"[:base + (6 if base == 16 else 0)]
                             for c in digits):
        return False
    value = sign * int(digits, base)
    return -(1 << 63) <= value < (1 << 63) if signed else 0 <= value < (1 << 64)


def _go_float(text: str) -> bool:
    """strconv.ParseFloat(text, 64) succeeds (finite)."""
    body = text[1:] if text[:1] in "+-" else text
    if "_" in body and not _underscores_ok(body):
        return False
    body = body.replace("_", "")
    try:
        if body[:2] in ("0x", "0X"):
            if not re.fullmatch(r"0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+",
                                body):
                return False
            value = float.fromhex(body)
        else:
            if not re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", body):
                return False
            value = float(body)
    except (ValueError, OverflowError):
        return False
    return value not in (float("inf"), float("-inf"))


def _number_error(item: _Item) -> str | None:
    """newNumber's error for a number or character token, or None."""
    text = item.val
    if item.typ == "CHAR":
        body = text[1:]
        if body.startswith("\\"):
            end = _escape_end(body, 0, "'")
            if end < 0:
                return "invalid syntax"
        elif body.startswith("'"):
            return "invalid syntax"
        else:
            end = 1
        return None if body[end:] == "'" else f"malformed character constant: {text}"
    if item.typ == "COMPLEX":
        return None
    if text.endswith("i") and _go_float(text[:-1]):
        return None
    if _go_int(text, False) or _go_int(text, True):
        return None
    if _go_float(text):
        if not any(c in text for c in ".eEpP"):
            return f"integer overflow: {go_quote(text)}"
        return None
    return f"illegal number syntax: {go_quote(text)}"


# --------------------------------------------------------------------------- parser


class _Stop(Exception):
    pass


class _Tree:
    """parse.Tree: a three-token look-ahead over the shared lexer, variables, range depth."""

    def __init__(self, shared: _Parse) -> None:
        self.p = shared
        self.token: list[_Item] = [_Item("EOF", "", 1)] * 3
        self.peeked = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0

    # look-ahead, as parse.go's next/backup/peek
    def next(self) -> _Item:
        if self.peeked:
            self.peeked -= 1
        else:
            self.token[0] = self.p.lex.next_item()
        return self.token[self.peeked]

    def backup(self) -> None:
        self.peeked += 1

    def backup2(self, t1: _Item) -> None:
        self.token[1] = t1
        self.peeked = 2

    def backup3(self, t2: _Item, t1: _Item) -> None:
        self.token[1], self.token[2] = t1, t2
        self.peeked = 3

    def peek(self) -> _Item:
        if self.peeked:
            return self.token[self.peeked - 1]
        self.peeked = 1
        self.token[0] = self.p.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> _Item:
        item = self.next()
        while item.typ == "SPACE":
            item = self.next()
        return item

    def peek_non_space(self) -> _Item:
        item = self.next_non_space()
        self.backup()
        return item

    # errors
    def errorf(self, message: str) -> _Stop:
        self.p.error = f"template: :{self.token[0].line}: {message}"
        return _Stop()

    def unexpected(self, item: _Item, context: str) -> _Stop:
        if item.typ == "ERROR":
            extra = ""
            if self.action_line and self.action_line != item.line:
                extra = f" in action started at :{self.action_line}"
                if item.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            return self.errorf(f"{item}{extra}")
        return self.errorf(f"unexpected {item} in {context}")

    def expect(self, typ: str, context: str) -> _Item:
        item = self.next_non_space()
        if item.typ != typ:
            raise self.unexpected(item, context)
        return item

    # structure; nodes are reduced to (kind, empty?) strings
    def parse_root(self) -> None:
        nodes: list[str] = []
        while self.peek().typ != "EOF":
            if self.peek().typ == "LEFT":
                delim = self.next()
                if self.next_non_space().typ == "define":
                    _Tree(self.p).definition()
                    continue
                self.backup2(delim)
            node = self.text_or_action()
            if node in ("end", "else"):
                raise self.errorf(f"unexpected {{{{{node}}}}}")
            nodes.append(node)
        self.p.add("", nodes, self)

    def definition(self) -> None:
        item = self.next_non_space()
        if item.typ not in ("STRING", "RAW"):
            raise self.unexpected(item, "define clause")
        name = self.unquote(item)
        self.expect("RIGHT", "define clause")
        nodes, end = self.item_list()
        if end != "end":
            raise self.errorf(f"unexpected {{{{{end}}}}} in define clause")
        self.p.add(name, nodes, self)

    def unquote(self, item: _Item) -> str:
        if not _unquote_ok(item.val):
            raise self.errorf("invalid syntax")
        return item.val[1:-1]

    def item_list(self) -> tuple[list[str], str]:
        nodes: list[str] = []
        while self.peek_non_space().typ != "EOF":
            node = self.text_or_action()
            if node in ("end", "else"):
                return nodes, node
            nodes.append(node)
        raise self.errorf("unexpected EOF")

    def text_or_action(self) -> str:
        item = self.next_non_space()
        if item.typ == "TEXT":
            return "text" if item.val.strip(_SPACES) else "blank"
        if item.typ == "LEFT":
            self.action_line = item.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        raise self.unexpected(item, "input")

    def action(self) -> str:
        item = self.next_non_space()
        typ = item.typ
        if typ == "block":
            return self.block()
        if typ in ("break", "continue"):
            after = self.next_non_space()
            if after.typ != "RIGHT":
                raise self.unexpected(after, f"{{{{{typ}}}}}")
            if self.range_depth == 0:
                raise self.errorf(f"{{{{{typ}}}}} outside {{{{range}}}}")
            return typ
        if typ == "else":
            ahead = self.peek_non_space()
            if ahead.typ == "if" or (ahead.typ == "with" and self.p.else_with):
                return "else"
            self.expect("RIGHT", "else")
            return "else"
        if typ == "end":
            self.expect("RIGHT", "end")
            return "end"
        if typ in ("if", "range", "with"):
            self.control(typ)
            return typ
        if typ == "template":
            name = self.next_non_space()
            if name.typ not in ("STRING", "RAW"):
                raise self.unexpected(name, "template clause")
            self.unquote(name)
            if self.next_non_space().typ != "RIGHT":
                self.backup()
                self.pipeline("template clause", "RIGHT")
            else:
                self.p.template_without_value = True
            return "template"
        self.backup()
        self.pipeline("command", "RIGHT")
        return "action"

    def block(self) -> str:
        item = self.next_non_space()
        if item.typ not in ("STRING", "RAW"):
            raise self.unexpected(item, "block clause")
        name = self.unquote(item)
        self.pipeline("block clause", "RIGHT")
        inner = _Tree(self.p)
        nodes, end = inner.item_list()
        if end != "end":
            raise self.errorf(f"unexpected {{{{{end}}}}} in block clause")
        self.p.add(name, nodes, inner)
        return "template"

    def control(self, context: str) -> None:
        depth = len(self.vars)
        self.pipeline(context, "RIGHT")
        self.range_depth += context == "range"
        _, end = self.item_list()
        self.range_depth -= context == "range"
        if end == "else":
            if context == "if" and self.peek().typ == "if":
                self.next()
                self.control("if")
            elif context == "with" and self.peek().typ == "with":
                self.next()
                self.control("with")
            else:
                _, end = self.item_list()
                if end != "end":
                    raise self.errorf(f"expected end; found {{{{{end}}}}}")
        del self.vars[depth:]

    def pipeline(self, context: str, end: str) -> None:
        declared = 0
        while True:
            var = self.peek_non_space()
            if var.typ != "VAR":
                break
            self.next()
            after_var = self.peek()
            following = self.peek_non_space()
            if following.typ in ("ASSIGN", "DECLARE"):
                self.next_non_space()
                self.vars.append(var.val)
            elif following.typ == "CHAR_ITEM" and following.val == ",":
                self.next_non_space()
                self.vars.append(var.val)
                declared += 1
                if context == "range" and declared < 2:
                    if self.peek_non_space().typ in ("VAR", "RIGHT", "RPAREN"):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            elif after_var.typ == "SPACE":
                self.backup3(var, after_var)
            else:
                self.backup2(var)
            break
        heads: list[str] = []
        while True:
            item = self.next_non_space()
            if item.typ == end:
                if not heads:
                    raise self.errorf(f"missing value for {context}")
                for stage, head in enumerate(heads[1:], start=2):
                    if head in ("BOOL", "DOT", "nil", "NUMBER", "STRING"):
                        raise self.errorf(f"non executable command in pipeline stage {stage}")
                return
            if item.typ in ("BOOL", "CHAR", "COMPLEX", "DOT", "FIELD", "IDENT", "NUMBER", "nil",
                            "RAW", "STRING", "VAR", "LPAREN"):
                self.backup()
                heads.append(self.command())
            else:
                raise self.unexpected(item, context)

    def command(self) -> str:
        args: list[str] = []
        while True:
            self.peek_non_space()
            kind = self.operand()
            if kind is not None:
                args.append(kind)
            item = self.next()
            if item.typ == "SPACE":
                continue
            if item.typ in ("RIGHT", "RPAREN"):
                self.backup()
            elif item.typ != "PIPE":
                raise self.unexpected(item, "operand")
            break
        if not args:
            raise self.errorf("empty command")
        return args[0]

    def operand(self) -> str | None:
        kind, shown = self.term()
        if kind is None:
            return None
        if self.peek().typ == "FIELD":
            while self.peek().typ == "FIELD":
                self.next()
            if kind in ("BOOL", "STRING", "NUMBER", "nil", "DOT"):
                raise self.errorf(f"unexpected . after term {go_quote(shown)}")
            if kind not in ("FIELD", "VAR"):
                kind = "CHAIN"
        return kind

    def term(self) -> tuple[str | None, str]:
        item = self.next_non_space()
        typ = item.typ
        if typ == "IDENT":
            if item.val not in self.p.functions:
                raise self.errorf(f"function {go_quote(item.val)} not defined")
            return "IDENT", item.val
        if typ in ("DOT", "nil", "FIELD", "BOOL"):
            return typ, {"DOT": ".", "nil": "nil"}.get(typ, item.val)
        if typ == "VAR":
            if item.val not in self.vars:
                raise self.errorf(f"undefined variable {go_quote(item.val)}")
            return "VAR", item.val
        if typ in ("CHAR", "COMPLEX", "NUMBER"):
            problem = _number_error(item)
            if problem:
                raise self.errorf(problem)
            return "NUMBER", item.val
        if typ == "LPAREN":
            self.pipeline("parenthesized pipeline", "RPAREN")
            return "PIPE", ""
        if typ in ("STRING", "RAW"):
            self.unquote(item)
            return "STRING", item.val
        self.backup()
        return None, ""


class _Parse:
    def __init__(self, text: str, functions: set[str], else_with: bool) -> None:
        self.lex = _Lexer(text)
        self.functions = functions
        self.else_with = else_with
        self.trees: dict[str, bool] = {}  # name -> tree is empty
        self.error = ""
        self.template_without_value = False

    def add(self, name: str, nodes: list[str], tree: _Tree) -> None:
        empty = all(n == "blank" for n in nodes)
        if name not in self.trees or self.trees[name]:
            self.trees[name] = empty
        elif not empty:
            raise tree.errorf(f"template: multiple definition of template {go_quote(name)}")


def check(text: str, release: tuple[int, int, int]) -> None:
    """template.Parse as the release plays it; raises TemplateError with upstream's text."""
    functions = set(GO_BUILTINS) | {f for f, since in OLLAMA_FUNCS_SINCE.items()
                                    if since <= release}
    p = _Parse(text, functions, release >= ELSE_WITH_SINCE)
    try:
        _Tree(p).parse_root()
    except _Stop:
        raise TemplateError(p.error) from None
    if p.template_without_value and release >= TEMPLATE_VALUE_REQUIRED_SINCE:
        raise TemplateError("undefined template specified")
