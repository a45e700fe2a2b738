"""Go standard-library parsing/formatting rules that leak into Ollama's observable output.

TEST FIXTURE. Upstream is a Go program, so what a deploy tool sees (accepted env values,
durations in logs, numbers in `ollama show`) follows strconv/time/fmt semantics, not Python's.
Only the subset Ollama's observable surface needs is implemented.
"""

from __future__ import annotations

import re
import struct
from decimal import Decimal

_NS = 1
_UNITS: dict[str, int] = {
    "ns": _NS,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
INT64_MAX = (1 << 63) - 1
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class GoError(ValueError):
    """A parse failure carrying the message Go would produce."""


def parse_bool(s: str) -> bool:
    """strconv.ParseBool: only these spellings are accepted."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise GoError(f'strconv.ParseBool: parsing "{s}": invalid syntax')


def parse_uint(s: str, bits: int = 64) -> int:
    """strconv.ParseUint(s, 10, bits): digits only, no sign, range-checked."""
    if not re.fullmatch(r"[0-9]+", s):
        raise GoError(f'strconv.ParseUint: parsing "{s}": invalid syntax')
    n = int(s)
    if n >= 1 << bits:
        raise GoError(f'strconv.ParseUint: parsing "{s}": value out of range')
    return n


def parse_int(s: str, bits: int = 64) -> int:
    """strconv.ParseInt(s, 10, bits): optional sign, digits, range-checked."""
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        raise GoError(f'strconv.ParseInt: parsing "{s}": invalid syntax')
    n = int(s)
    if not -(1 << (bits - 1)) <= n < 1 << (bits - 1):
        raise GoError(f'strconv.ParseInt: parsing "{s}": value out of range')
    return n


def parse_duration(orig: str) -> int:
    """time.ParseDuration, returning nanoseconds. `1d`, `24hours`, bare `5` are errors."""
    s = orig
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise GoError(f'time: invalid duration "{orig}"')
    total = 0
    while s:
        m = re.match(r"([0-9]*)(\.([0-9]*))?", s)
        assert m is not None
        whole, frac = m.group(1), m.group(3) or ""
        if not whole and not frac:
            raise GoError(f'time: invalid duration "{orig}"')
        s = s[m.end():]
        u = re.match(r"[^0-9.]*", s)
        assert u is not None
        unit = u.group(0)
        s = s[u.end():]
        if not unit:
            raise GoError(f'time: missing unit in duration "{orig}"')
        if unit not in _UNITS:
            raise GoError(f'time: unknown unit "{unit}" in duration "{orig}"')
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            # Go converts the fraction through float64, truncating.
            value += int(int(frac) * (scale / 10 ** len(frac)))
        total += value
        if total > INT64_MAX + (1 if neg else 0):
            raise GoError(f'time: invalid duration "{orig}"')
    return -total if neg else total


def _frac(v: int, prec: int) -> str:
    whole, rest = divmod(v, 10**prec)
    digits = str(rest).rjust(prec, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def format_duration(ns: int) -> str:
    """time.Duration.String(): 5m0s, 1h30m0s, 300ms, 0s."""
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u == 0:
        return "0s"
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_frac(u, 3)}\u00b5s"
    if u < 1_000_000_000:
        return f"{sign}{_frac(u, 6)}ms"
    minutes, rem = divmod(u, 60_000_000_000)
    secs = _frac(rem, 9) + "s"
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return f"{sign}{secs}"


def float32_shortest(x: float) -> float:
    """Round to float32 and back via the shortest decimal, as Go's JSON does for float32."""
    f32 = struct.unpack("f", struct.pack("f", x))[0]
    for prec in range(1, 10):
        cand = float(f"{f32:.{prec}g}")
        if struct.unpack("f", struct.pack("f", cand))[0] == f32:
            return cand
    return f32


def format_float_v(x: float) -> str:
    """fmt's %v for float64 ('g', shortest): exponent form when exponent < -4 or >= 6."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if str(x).startswith("-") else "0"
    d = Decimal(repr(x)).normalize()
    sign, digits, exp10 = d.as_tuple()
    assert isinstance(exp10, int)
    ds = "".join(map(str, digits))
    exp = len(ds) + exp10 - 1  # scientific exponent
    neg = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        esign = "-" if exp < 0 else "+"
        return f"{neg}{mant}e{esign}{abs(exp):02d}"
    if exp < 0:
        return f"{neg}0.{'0' * (-exp - 1)}{ds}"
    if len(ds) <= exp + 1:
        return f"{neg}{ds}{'0' * (exp + 1 - len(ds))}"
    return f"{neg}{ds[: exp + 1]}.{ds[exp + 1:]}"


def go_quote(s: str) -> str:
    """strconv.Quote: double-quoted with Go escapes."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_v(value: object) -> str:
    """fmt's %v for JSON-decoded values (what Ollama prints for Modelfile parameters)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float_v(value)
    if isinstance(value, list):
        return "[" + " ".join(format_v(v) for v in value) + "]"
    return str(value)


def format_sharp_v(value: object) -> str:
    """fmt's %#v for JSON-decoded scalars: strings quoted, numbers as %v."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_float_v(float(value))  # JSON numbers decode to float64 in Go
    return format_v(value)
