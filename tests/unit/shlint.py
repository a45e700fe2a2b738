"""A small lexer for the shell templates: where does each {{ }} land?

Returns, for every ``{{ ... }}`` of a template, the shell context it sits in: ``word`` (an
unquoted word: where the sh escaper is correct), or ``'...'``, ``"..."``, ``heredoc``, ``comment``.
Jinja comments and statements are removed first (their text is not shell)."""

from __future__ import annotations

import re

_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def placements(source: str) -> list[tuple[int, str, str]]:
    """(line, context, expression) for every {{ }} in a shell template."""
    text = _JINJA_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), source)
    text = _JINJA_STATEMENT.sub(lambda m: "\n" * m.group().count("\n"), text)
    found: list[tuple[int, str, str]] = []
    # Stack of contexts: "top", "sq", "dq", "sub" (command substitution in dq), "arith".
    stack = ["top"]
    depth = [0]  # parentheses open in each "sub"
    i, line, n = 0, 1, len(text)
    heredocs: list[str] = []
    while i < n:
        ch = text[i]
        state = stack[-1]
        if text.startswith("{{", i):
            end = text.index("}}", i) + 2
            context = {"top": "word", "sub": "word", "arith": "word", "sq": "'...'",
                       "dq": '"..."'}[state]
            found.append((line, context, text[i:end]))
            i = end
            continue
        if ch == "\n":
            line += 1
            i += 1
            if heredocs and state in ("top", "sub"):
                # Heredoc bodies follow this line until each terminator line.
                for word in heredocs:
                    while i < n:
                        eol = text.find("\n", i)
                        eol = n if eol == -1 else eol
                        body_line = text[i:eol]
                        if body_line.strip() == word:
                            i, line = eol + 1, line + 1
                            break
                        for m in re.finditer(r"\{\{.*?\}\}", body_line):
                            found.append((line, "heredoc", m.group()))
                        i, line = eol + 1, line + 1
                heredocs = []
            continue
        if state == "arith":
            if text.startswith("))", i) and depth[-1] == 0:
                stack.pop()
                depth.pop()
                i += 2
                continue
            depth[-1] += {"(": 1, ")": -1}.get(ch, 0)
            i += 1
            continue
        if state == "sq":
            if ch == "'":
                stack.pop()
            i += 1
            continue
        if state == "dq":
            if ch == "\\":
                i += 2
            elif ch == '"':
                stack.pop()
                i += 1
            elif text.startswith("$((", i):
                stack.append("arith")
                depth.append(0)
                i += 3
            elif text.startswith("$(", i):
                stack.append("sub")
                depth.append(0)
                i += 2
            elif ch == "`":
                stack.append("sub")
                depth.append(-1)  # closed by the next backtick
                i += 1
            else:
                i += 1
            continue
        # top or sub: unquoted shell
        if text.startswith("$((", i):
            stack.append("arith")
            depth.append(0)
            i += 3
        elif ch == "\\":
            i += 2
        elif ch == "'":
            stack.append("sq")
            i += 1
        elif ch == '"':
            stack.append("dq")
            i += 1
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n;(|&"):
            eol = text.find("\n", i)
            eol = n if eol == -1 else eol
            for m in re.finditer(r"\{\{.*?\}\}", text[i:eol]):
                found.append((line, "comment", m.group()))
            i = eol
        elif text.startswith("<<", i) and not text.startswith("<<<", i) and _HEREDOC.match(text, i):
            m = _HEREDOC.match(text, i)
            assert m
            heredocs.append(m.group(2))
            i = m.end()
        elif state == "sub" and ch == "`" and depth[-1] == -1:
            stack.pop()
            depth.pop()
            i += 1
        elif state == "sub" and ch == "(":
            depth[-1] += 1
            i += 1
        elif state == "sub" and ch == ")":
            if depth[-1] == 0:
                stack.pop()
                depth.pop()
            else:
                depth[-1] -= 1
            i += 1
        else:
            i += 1
    if len(stack) != 1:
        found.append((line, "unterminated " + stack[-1], ""))
    return found


def violations(source: str) -> list[tuple[int, str, str]]:
    return [p for p in placements(source) if p[1] != "word"]
