"""Work shared by the two cores: a forked helper starts on the items at once, and the
caller joins in when it is free; whoever is free takes the next item.

The helper is forked, so what it works on reaches it without being copied or pickled.
Where fork is not safe (anywhere but Linux), or the helper dies, the caller does the
remaining items itself: the answer is the same. Kept free of heavy imports, so that
reading can start before pandas is even loaded.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from solidify.assess.searches import FORK_IS_SAFE, end_with_parent

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Helpers still running, stopped when the caller exits however it exits (see stop_all).
_RUNNING: weakref.WeakSet[Shared] = weakref.WeakSet()


def helper_wanted(amount: int, threshold: int, workers: int | None = None) -> bool:
    """Whether a helper process pays: enough work and a second core, unless `workers`
    (or the SOLIDIFY_WORKERS variable) says 1."""
    configured = os.environ.get("SOLIDIFY_WORKERS")
    if workers is None and configured:
        workers = int(configured) if configured.isdigit() else 1
    if workers is not None:
        return workers > 1
    return amount >= threshold and (os.cpu_count() or 1) > 1


class Shared(Generic[K, V]):
    """`work(item)` for every item, shared by a forked helper and the caller: whoever
    is free takes the next item. Items go largest first when given in that order."""

    def __init__(
        self,
        items: Sequence[K],
        work: Callable[[K], V],
        *,
        helper: bool,
        progress: Callable[[K], None] | None = None,
    ) -> None:
        self._items = list(items)
        self._work = work
        self._progress = progress
        self._process = None
        self._next = None
        if not helper or len(self._items) < 2:
            return
        if not FORK_IS_SAFE:
            return
        context = multiprocessing.get_context("fork")
        self._next = context.Value("q", 0)
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=self._help, args=(sender,), daemon=True)
        self._process.start()
        _RUNNING.add(self)
        sender.close()

    def _take(self) -> int | None:
        if self._next is None:
            return None
        with self._next.get_lock():
            at = self._next.value
            self._next.value = at + 1
        return at if at < len(self._items) else None

    def _do(self, at: int) -> V:
        if self._progress:
            self._progress(self._items[at])
        return self._work(self._items[at])

    def _help(self, sender) -> None:
        """In the helper: take items until none is left, then send what was done."""
        _follow_the_caller()
        done: dict[int, V] = {}
        try:
            while (at := self._take()) is not None:
                done[at] = self._do(at)
        except BaseException:  # what failed is done again, and reported, by the caller
            pass
        sender.send(done)
        sender.close()

    def stop(self, *, finished: bool = False) -> None:
        """Wait for a helper that has `finished`; else stop it at once, whatever it is
        doing (the caller failed or was interrupted)."""
        process, self._process = self._process, None
        _RUNNING.discard(self)
        if process is None:
            return
        if not finished:
            process.terminate()
        process.join()
        self._receiver.close()

    def results(self) -> dict[K, V]:
        done: dict[int, V] = {}
        if self._process is not None:
            finished = False
            try:
                while (at := self._take()) is not None:
                    done[at] = self._do(at)
                done.update(self._receiver.recv())
                finished = True
            except (EOFError, OSError):  # the helper died: its items are done below
                finished = True
            finally:
                self.stop(finished=finished)
        for at in range(len(self._items)):
            if at not in done:
                done[at] = self._do(at)
        return {self._items[at]: done[at] for at in range(len(self._items))}


def _follow_the_caller() -> None:
    """In the helper: the caller alone answers Ctrl-C and stops the helper; if the caller
    dies without doing so (killed), the kernel ends the helper too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    end_with_parent()


@atexit.register
def stop_all() -> None:
    """Stop every helper still running: the caller is leaving (an error, Ctrl-C)."""
    for shared in list(_RUNNING):
        shared.stop()
