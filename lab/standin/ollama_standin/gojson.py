"""JSON bytes as Go's encoding/json writes them. TEST FIXTURE.

Blob digests are content hashes, so a params/config blob written by the stand-in should hash
the same as upstream's for the same input: compact separators, map keys sorted, and the HTML
characters <, >, & escaped (Go escapes them by default; stop tokens like <|im_end|> hit this).
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any, newline: bool = True) -> bytes:
    """json.Encoder.Encode output (trailing newline) unless newline=False (json.Marshal)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    # Outside strings JSON never contains these characters, so a global replace is safe.
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return (text + ("\n" if newline else "")).encode()


def sorted_map(m: dict[str, Any]) -> dict[str, Any]:
    """Go marshals maps with sorted keys (structs keep declaration order)."""
    return {k: m[k] for k in sorted(m)}
