"""CLI text formats: tablewriter layout, HumanBytes/HumanTime, progress lines. TEST FIXTURE.

`ollama list` columns are parsed by scripts in the wild, so the layout follows upstream's
tablewriter settings (no borders, cells padded to the column width, four-space padding, a header
row whose last cell gets one trailing space).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any

_PAD = "    "
_BAR = "\u2595" + "\u2588" * 20 + "\u258f"


def table(rows: list[list[str]], header: list[str] | None = None) -> str:
    all_rows = ([header] if header else []) + rows
    if not all_rows:
        return ""
    widths = [max(len(r[i]) for r in all_rows if i < len(r)) for i in range(len(all_rows[0]))]
    out = []
    if header:
        cells = [c.ljust(widths[i]) for i, c in enumerate(header)]
        out.append(_PAD.join(cells) + " ")
    for r in rows:
        out.append("".join(c.ljust(widths[i]) + _PAD for i, c in enumerate(r)))
    return "\n".join(out) + "\n"


def human_bytes(b: int) -> str:
    """format.HumanBytes (SI units)."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if b >= scale:
            v = b / scale
            if v >= 10 or v == int(v):
                return f"{int(v)} {unit}"
            return f"{v:.1f} {unit}"
    return f"{b} B"


def _human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_time(iso: str, zero: str = "Never") -> str:
    """format.HumanTime: "4 hours ago", "About a minute from now"."""
    if not iso or iso.startswith("0001-01-01"):
        return zero
    t = datetime.fromisoformat(_trim_nanos(iso.replace("Z", "+00:00"))).timestamp()
    delta = time.time() - t
    if delta / 86400 / 365 < -20:
        return "Forever"
    if delta < 0:
        return _human_duration(-delta) + " from now"
    return _human_duration(delta) + " ago"


def _trim_nanos(iso: str) -> str:
    # Go emits up to 9 fractional digits; Python parses at most 6.
    if "." not in iso:
        return iso
    head, rest = iso.split(".", 1)
    i = 0
    while i < len(rest) and rest[i].isdigit():
        i += 1
    return f"{head}.{rest[:min(i, 6)].ljust(6, '0')}{rest[i:]}"


class Progress:
    """Final-state progress lines on stderr, one per status, one per completed layer.

    Upstream repaints a TTY spinner/bar area even when stderr is a pipe; the stand-in writes
    only the lines that area ends up showing, without escape codes.
    """

    def __init__(self, skip_zero: bool = False) -> None:
        self.status = ""
        self.done: set[str] = set()
        self.skip_zero = skip_zero

    def line(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def __call__(self, msg: dict[str, Any]) -> None:
        digest = msg.get("digest", "")
        if digest:
            total, completed = int(msg.get("total") or 0), int(msg.get("completed") or 0)
            if digest in self.done or completed < total or (self.skip_zero and not completed):
                return
            self.done.add(digest)
            name = digest.removeprefix("sha256:")[:12]
            self.line(f"pulling {name}: 100% {_BAR} {human_bytes(total)}")
        elif msg.get("status") and msg["status"] != self.status:
            self.status = msg["status"]
            self.line(self.status)
