"""Render Python OS errors the way Go's os/net errors read. TEST FIXTURE.

Upstream failures reach operators as e.g. `Error: mkdir /x/blobs: permission denied`; keeping
that text lets the fleet tool's diagnostics be tested against the stand-in.
"""

from __future__ import annotations

import errno
import os


def errno_text(err: OSError) -> str:
    """Go's syscall.Errno strings are strerror text starting lower-case."""
    if err.errno is None:
        return str(err)
    text = os.strerror(err.errno)
    return text[:1].lower() + text[1:]


def path_error(op: str, path: str, err: OSError) -> str:
    """*fs.PathError.Error(): `<op> <path>: <errno text>`."""
    return f"{op} {path}: {errno_text(err)}"


def is_not_exist(err: BaseException) -> bool:
    return isinstance(err, FileNotFoundError) or (
        isinstance(err, OSError) and err.errno == errno.ENOENT)


class GoStyleError(Exception):
    """An error whose str() is already the upstream-shaped message."""
