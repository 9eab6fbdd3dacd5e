"""Large plain JSON Lines logs read by both cores: blocks of the file are shared with a
forked worker process, each through the fast path (solidify.assess.fastjsonl).

The worker hands its tables over as Arrow files in a private temporary folder, which
the parent maps without copying. `prefetch` starts it before anything heavy is
imported, so that the worker parses while the parent loads pyarrow and pandas; this
module imports neither at the top for that reason.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from solidify.assess.searches import (
    FORK_IS_SAFE,
    follow_the_caller,
    signals_deferred,
    workers_wanted,
)

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


def _parse(path: str, source: str, start: int, end: int) -> tuple[int, pa.Table | None]:
    """One block through the fast path: its number of lines and its table (None when the
    careful path must read it)."""
    from solidify.assess.fastjsonl import fast_block

    with open(path, "rb") as handle:
        handle.seek(start)
        block = handle.read(end - start)
    return block.count(b"\n"), fast_block(block, 1, source)


def _parse_to_file(
    path: str, source: str, start: int, end: int, target: str
) -> tuple[int, str | None]:
    """In a worker: one block, its table handed over as an Arrow file at `target`."""
    import pyarrow as pa

    lines, table = _parse(path, source, start, end)
    if table is None:
        return lines, None
    with pa.OSFile(target, "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
        out.write_table(table)
    return lines, target


class SharedRead:
    """Every block of a plain JSON Lines file through the fast path, in a pool of worker
    processes (one per core: the caller is busy loading pandas meanwhile). The workers
    hand their tables over as Arrow files in a private temporary folder, which the caller
    maps without copying."""

    def __init__(self, path: str, source: str, *, helper: bool) -> None:
        self.path, self.source = path, source
        self.ranges = byte_ranges(path, SHARED_BLOCK_BYTES)
        self._folder: tempfile.TemporaryDirectory | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future] = []
        if not (helper and FORK_IS_SAFE and len(self.ranges) > 1):
            return
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        try:
            prefix = f"solidify-{os.getpid()}-"  # whose it is, should it ever be left
            self._folder = tempfile.TemporaryDirectory(prefix=prefix, dir=shm)
        except OSError:  # nowhere to hand tables over: this process reads alone
            return
        # The workers are forked with the fast path loaded, so that each does not load
        # it again; pandas and the rest load here while they read.
        import solidify.assess.fastjsonl  # noqa: F401

        context = multiprocessing.get_context("fork")
        with signals_deferred():
            self._pool = ProcessPoolExecutor(
                workers_wanted(os.path.getsize(path), threshold=SHARED_FROM_BYTES) or 2,
                mp_context=context,
                initializer=follow_the_caller,
            )
            for at, (start, end) in enumerate(self.ranges):
                target = os.path.join(self._folder.name, f"{at}.arrow")
                self._futures.append(
                    self._pool.submit(_parse_to_file, path, source, start, end, target)
                )

    def close(self) -> None:
        """Stop the worker and remove the folder of handed-over tables."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        folder, self._folder = self._folder, None
        if folder is not None:
            folder.cleanup()

    def _results(self) -> list[tuple[int, pa.Table | str | None]]:
        done: list[tuple[int, pa.Table | str | None]] = []
        for at, (start, end) in enumerate(self.ranges):
            try:
                done.append(self._futures[at].result())
            except (IndexError, BrokenProcessPool):  # no worker, or it died (out of memory)
                done.append(_parse(self.path, self.source, start, end))
        return done

    def blocks(self) -> list[SharedBlock]:
        import pyarrow as pa
        import pyarrow.compute as pc

        out = []
        line = 1
        try:
            for (start, end), (lines, table) in zip(self.ranges, self._results(), strict=True):
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
    return workers_wanted(os.path.getsize(path), threshold=SHARED_FROM_BYTES) > 0


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
