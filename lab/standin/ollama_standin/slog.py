"""Log lines in the shape of Go's log/slog text handler, as upstream's logutil configures it.

TEST FIXTURE. Operators (and deploy checks) grep the journal for upstream's lines such as
`msg="server config"` and `msg="Listening on ..."`, so the stand-in writes the same
key=value layout to stderr: time=... level=INFO source=file.go:N msg="..." k=v ...
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime

_lock = threading.Lock()
_LEVELS = {"DEBUG": -4, "INFO": 0, "WARN": 4, "ERROR": 8}
_min_level = 0


def set_level(level: int) -> None:
    """OLLAMA_DEBUG maps to a slog level; lines below it are dropped."""
    global _min_level
    _min_level = level


def _needs_quote(s: str) -> bool:
    # slog's TextHandler quotes empty strings and anything with spaces, quotes, '=' or controls.
    return s == "" or any(c in ' ="\\' or not c.isprintable() for c in s)


def _fmt_value(v: object) -> str:
    from .gocompat import go_quote

    s = v if isinstance(v, str) else str(v)
    return go_quote(s) if _needs_quote(s) else s


def _timestamp() -> str:
    now = datetime.now().astimezone()
    base = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
    off = now.strftime("%z")
    return base + ("Z" if off in ("+0000", "-0000") else f"{off[:3]}:{off[3:]}")


def log(level: str, source: str, msg: str, **attrs: object) -> None:
    """Write one line; `source` mimics slog's AddSource (base file name and line)."""
    if _LEVELS.get(level, 0) < _min_level:
        return
    parts = [f"time={_timestamp()}", f"level={level}", f"source={source}",
             f"msg={_fmt_value(msg)}"]
    parts += [f"{_fmt_value(k)}={_fmt_value(v)}" for k, v in attrs.items()]
    with _lock:
        sys.stderr.write(" ".join(parts) + "\n")
        sys.stderr.flush()


def info(source: str, msg: str, **attrs: object) -> None:
    log("INFO", source, msg, **attrs)


def warn(source: str, msg: str, **attrs: object) -> None:
    log("WARN", source, msg, **attrs)


def error(source: str, msg: str, **attrs: object) -> None:
    log("ERROR", source, msg, **attrs)


def debug(source: str, msg: str, **attrs: object) -> None:
    log("DEBUG", source, msg, **attrs)
