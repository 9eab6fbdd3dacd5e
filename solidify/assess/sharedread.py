"""Large plain JSON Lines logs read by both cores: blocks of the file are shared with a
forked helper process (solidify.assess.sharing), each through the fast path
(solidify.assess.fastjsonl).

The helper hands its tables over as Arrow files in a private temporary folder, which
the parent maps without copying. `prefetch` starts it before anything heavy is
imported, so that the helper parses while the parent loads pyarrow and pandas; this
module imports neither at the top for that reason.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

SHARED_BLOCK_BYTES = 2 * 1024 * 1024  # small: the two processes finish together
SHARED_FROM_BYTES = 24 * 1024 * 1024  # below this, forking costs more than it saves


@dataclass(frozen=True)
class SharedBlock:
    """One block of a file read by `read_shared`: its table (line numbers already
    counted from the start of the file), or None when the careful path must read it."""

    first_line: int
    start: int
    end: int
    table: Any  # pyarrow.Table or None


def byte_ranges(path: str, size: int) -> list[tuple[int, int]]:
    """(start, end) byte offsets of blocks of about `size` bytes, each ending at a newline."""
    total = os.path.getsize(path)
    ranges = []
    start = 0
    with open(path, "rb") as handle:
        while start < total:
            handle.seek(min(start + size, total))
            end = handle.tell()
            while end < total:
                chunk = handle.read(64 * 1024)
                if not chunk:
                    end = total
                    break
                cut = chunk.find(b"\n")
                if cut >= 0:
                    end += cut + 1
                    break
                end += len(chunk)
            ranges.append((start, max(end, start + 1) if end < total else total))
            start = ranges[-1][1]
    return ranges


class SharedRead:
    """Every block of a plain JSON Lines file through the fast path, shared with a forked
    helper process. The helper hands its tables over as Arrow files in a private temporary
    folder, which the parent maps without copying."""

    def __init__(self, path: str, source: str, *, helper: bool) -> None:
        from solidify.assess.sharing import Shared

        self.path, self.source = path, source
        self.ranges = byte_ranges(path, SHARED_BLOCK_BYTES)
        self._parent = os.getpid()
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self._folder: tempfile.TemporaryDirectory | None = None
        if helper:
            try:
                prefix = f"solidify-{self._parent}-"  # whose it is, should it ever be left
                self._folder = tempfile.TemporaryDirectory(prefix=prefix, dir=shm)
            except OSError:  # nowhere to hand tables over: this process reads alone
                helper = False
        self._shared = Shared(list(range(len(self.ranges))), self._work, helper=helper)

    def _work(self, at: int) -> tuple[int, pa.Table | str | None]:
        import pyarrow as pa

        from solidify.assess.fastjsonl import fast_block

        start, end = self.ranges[at]
        with open(self.path, "rb") as handle:
            handle.seek(start)
            block = handle.read(end - start)
        table = fast_block(block, 1, self.source)
        if table is None or os.getpid() == self._parent:
            return block.count(b"\n"), table
        target = os.path.join(self._folder.name, f"{at}.arrow")
        with pa.OSFile(target, "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
            out.write_table(table)
        return block.count(b"\n"), target

    def close(self) -> None:
        """Stop the helper and remove the folder of handed-over tables."""
        self._shared.stop()
        folder, self._folder = self._folder, None
        if folder is not None:
            folder.cleanup()

    def blocks(self) -> list[SharedBlock]:
        import pyarrow as pa
        import pyarrow.compute as pc

        out = []
        line = 1
        try:
            done = self._shared.results()
            for at, (start, end) in enumerate(self.ranges):
                lines, table = done[at]
                if isinstance(table, str):
                    table = pa.ipc.open_file(pa.memory_map(table)).read_all()
                if table is not None and line != 1:
                    numbers = pc.add(table.column("line"), pa.scalar(line - 1, pa.int64()))
                    at_line = table.schema.get_field_index("line")
                    table = table.set_column(at_line, "line", numbers)
                out.append(SharedBlock(line, start, end, table))
                line += lines
        finally:
            self.close()
        return out


_STARTED: dict[str, SharedRead] = {}


def shared_wanted(path: str) -> bool:
    from solidify.assess.sharing import helper_wanted

    return helper_wanted(os.path.getsize(path), SHARED_FROM_BYTES)


def prefetch(paths: Iterable[str]) -> None:
    """Start reading the first large plain JSON Lines log of canonical records in a helper
    process, while the caller goes on (loading pandas, say). `read_shared` picks it up."""
    for path in paths:
        if not (path.lower().endswith(".jsonl") and os.path.isfile(path)):
            continue
        if not shared_wanted(path):
            continue
        with open(path, "rb") as handle:
            first = handle.readline(1024 * 1024)
        try:
            record = json.loads(first)
        except ValueError:
            return
        if isinstance(record, dict) and {"workflow", "run_id", "step"} <= record.keys():
            _STARTED[path] = SharedRead(path, path, helper=True)
        return


@atexit.register
def discard_started() -> None:
    """Readings started but never picked up (the command failed before): stop them."""
    while _STARTED:
        _STARTED.popitem()[1].close()


def read_shared(path: str, source: str) -> list[SharedBlock]:
    """The blocks of a large plain file: from the reading `prefetch` started, or now."""
    started = _STARTED.pop(path, None)
    if started is None or started.source != source:
        started = SharedRead(path, source, helper=True)
    return started.blocks()
