"""Run the per-step searches on both cores: a forked helper starts on them at once,
and the caller joins in when it has finished measuring.

Each search is independent and deterministic, so the results do not depend on who
ran which. The helper is forked, so the step table reaches it without being copied
or pickled; it only runs Python and numpy code (no pyarrow), so the pyarrow threads
of the parent do not matter to it. Where fork is not available, or the helper dies,
the caller does the remaining work itself: the answer is the same.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from solidify.assess.synthesis.engine import Synthesis, fit_and_measure

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Job:
    train: list[tuple[str, str]]
    held: list[tuple[str, str]]
    time_limit: float

    def run(self) -> Synthesis:
        return fit_and_measure(self.train, self.held, time_limit=self.time_limit)


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
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self._next = context.Value("q", 0)
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=self._help, args=(sender,), daemon=True)
        self._process.start()
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
        done: dict[int, V] = {}
        try:
            while (at := self._take()) is not None:
                done[at] = self._do(at)
        except BaseException:  # what failed is done again, and reported, by the caller
            pass
        sender.send(done)
        sender.close()

    def results(self) -> dict[K, V]:
        done: dict[int, V] = {}
        if self._process is not None:
            while (at := self._take()) is not None:
                done[at] = self._do(at)
            try:
                done.update(self._receiver.recv())
            except (EOFError, OSError):
                pass
            finally:
                self._receiver.close()
                self._process.join()
                self._process = None
        for at in range(len(self._items)):
            if at not in done:
                done[at] = self._do(at)
        return {self._items[at]: done[at] for at in range(len(self._items))}
