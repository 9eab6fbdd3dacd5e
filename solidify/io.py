"""Atomic file writes that never overwrite what the user has unless asked."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from solidify.errors import OutputError


def check_writable(path: str | Path, *, force: bool) -> Path:
    target = Path(path)
    if target.exists() and not force:
        raise OutputError(f"{target}: exists; pass --force to overwrite it")
    if target.exists() and target.is_dir():
        raise OutputError(f"{target}: is a folder, not a file")
    return target


def atomic_write(
    path: str | Path,
    write: Callable[[IO[Any]], None],
    *,
    force: bool = False,
    binary: bool = False,
) -> Path:
    """Write through a temporary file in the same folder, then rename it into place."""
    target = check_writable(path, force=force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror}") from None
    try:
        # mkstemp makes the file private; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(
            fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})
        ) as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def write_text(path: str | Path, text: str, *, force: bool = False) -> Path:
    return atomic_write(path, lambda f: f.write(text), force=force)
