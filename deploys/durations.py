"""Go duration syntax (time.ParseDuration), as Ollama reads OLLAMA_KEEP_ALIVE and friends."""

from __future__ import annotations

import re

_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
             "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")

ACCEPTED = (
    "a Go duration such as 300ms, 90s, 5m, 1h30m or -1s (units ns, us, ms, s, m, h; "
    "there is no d or w), or a whole number of seconds such as 3600 or -1"
)


def parse_go_duration(text: str) -> float:
    """Seconds for a Go duration string; ValueError for anything Go would reject.

    The text is judged exactly as given: surrounding whitespace is an error, not stripped.
    """
    s = text
    sign = -1.0 if s.startswith("-") else 1.0
    body = s[1:] if s[:1] in "+-" else s
    if body == "0":
        return 0.0
    if not body:
        raise ValueError("empty duration")
    total_ns = 0.0
    pos = 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if not match:
            raise ValueError(f"invalid duration {text!r}")
        total_ns += float(match.group(1)) * _UNITS_NS[match.group(2)]
        pos = match.end()
    return sign * total_ns / 1e9


def parse_keep_alive(value: str | int) -> float:
    """Ollama's rule: a Go duration, else integer seconds; anything else is an error here."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a duration")
    if isinstance(value, int):
        return float(value)
    text = value
    if text != text.strip() or (text[:1] in ("\"", "'") and text[-1:] == text[:1]):
        raise ValueError(f"{value!r} has surrounding whitespace or quotes; write the duration "
                         "alone (nothing is stripped)")
    try:
        return parse_go_duration(text)
    except ValueError:
        pass
    if re.fullmatch(r"[-+]?\d+", text):
        return float(int(text))
    raise ValueError(f"{value!r} is neither a Go duration nor whole seconds")
