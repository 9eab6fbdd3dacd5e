"""The per-step program searches, in a pool of worker processes when the log is large
enough to pay for starting them, else in this process.

Each search is independent and deterministic (solidify.assess.synthesis.job), so the
results do not depend on which process ran it. The workers are forked from the caller
and inherit the search plan as it is (nothing large is pickled): the plan holds each
step's sample (solidify.assess.sampling), never the engine, whose connection must not
cross a fork. Where fork is not safe (anywhere but Linux) the searches run here.
Workers leave with the caller however it leaves: an error or Ctrl-C cancels what has
not started, and a killed caller takes its workers with it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Protocol

# Fork is Linux's default way to start processes. macOS offers it but makes spawn the
# default, since system libraries there are not fork-safe; Windows has no fork.
FORK_IS_SAFE = sys.platform.startswith("linux")
POOL_FROM_ROWS = 5_000  # below this, starting workers costs more than it saves (measured)


class Plan(Protocol):
    def search(self, key: Any) -> Any: ...


def workers_wanted(
    amount: int, workers: int | None = None, *, threshold: int = POOL_FROM_ROWS
) -> int:
    """How many worker processes: `workers` (or the SOLIDIFY_WORKERS variable) when
    given, else one per core when `amount` reaches `threshold`; 0 means the work is done
    in this process."""
    configured = os.environ.get("SOLIDIFY_WORKERS")
    if workers is None and configured:
        workers = int(configured) if configured.isdigit() else 1
    if workers is None:
        workers = (os.cpu_count() or 1) if amount >= threshold else 1
    return workers if workers > 1 and FORK_IS_SAFE else 0


_PLAN: Plan | None = None  # in a worker: the plan it inherited


def _adopt(plan: Plan) -> None:
    """In a new worker: keep the plan, leave Ctrl-C to the caller (which cancels the
    work), and end with the caller should it be killed without doing so."""
    global _PLAN
    _PLAN = plan
    follow_the_caller()


def follow_the_caller() -> None:
    """In a worker: the caller alone answers Ctrl-C and stops the workers; should the
    caller be killed without doing so, Linux ends the worker too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM arriving while workers are forked is acted on once they are:
    an interrupt in the middle of a fork leaves a pool that never shuts down."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda n, _f: caught.append(n)) for s in wanted}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            signal.raise_signal(caught[0])  # handled now as it would have been


def _search(key: Any) -> Any:
    assert _PLAN is not None
    return _PLAN.search(key)


class Searches:
    """`plan.search(key)` for every key, started at once in worker processes (when
    `workers` > 0) while the caller does other work; `results()` collects them.
    Use as a context manager, so that the workers end whatever happens."""

    def __init__(
        self,
        plan: Plan,
        keys: Sequence[Hashable],
        *,
        workers: int,
        progress: Callable[[Any], None] | None = None,
    ) -> None:
        self._plan, self._keys, self._progress = plan, list(keys), progress
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Hashable, Future] = {}
        if workers and len(self._keys) > 1:
            with signals_deferred():
                self._pool = ProcessPoolExecutor(
                    max_workers=min(workers, len(self._keys)),
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=_adopt,
                    initargs=(plan,),
                )
                # Given largest first, so that the last to finish are short.
                self._futures = {key: self._pool.submit(_search, key) for key in self._keys}

    def __enter__(self) -> Searches:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            # On an error or Ctrl-C, what has not started is dropped; the searches under
            # way end within their time limit and the workers exit.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def cancel(self) -> None:
        """Drop the searches: their plan is wrong."""
        for future in self._futures.values():
            future.cancel()
        self._futures = {}

    def results(self) -> dict[Hashable, Any]:
        done: dict[Hashable, Any] = {}
        for key in self._keys:
            future = self._futures.get(key)
            if self._progress:
                self._progress(key)
            try:
                done[key] = future.result() if future else self._plan.search(key)
            except BrokenProcessPool:  # a worker died (out of memory, say): do it here
                done[key] = self._plan.search(key)
        return done
