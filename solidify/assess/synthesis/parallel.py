"""Run the per-step searches beside the rest of the assessment, or in worker processes.

Each search is independent and deterministic, so the results do not depend on where
they ran. On a large log the searches go to one forked process (`Background`) while
the parent measures the steps: both cores work, and nothing is copied or pickled on
the way in. Pool workers, for more than two processes, are spawned (not forked) so
that no thread state of the parent (pyarrow's pools) is copied into them.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Hashable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from solidify.assess.synthesis.engine import Synthesis, fit_and_measure

PARALLEL_FROM_EXAMPLES = 60_000  # below this, starting workers costs more than it saves
MAX_WORKERS = 4


@dataclass(frozen=True)
class Job:
    train: list[tuple[str, str]]
    held: list[tuple[str, str]]
    time_limit: float


def default_workers(total_examples: int) -> int:
    configured = os.environ.get("SOLIDIFY_WORKERS")
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            return 1
    if total_examples < PARALLEL_FROM_EXAMPLES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _run(job: Job) -> Synthesis:
    return fit_and_measure(job.train, job.held, time_limit=job.time_limit)


def run_all(
    jobs: dict[Hashable, Job],
    *,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[Hashable, Synthesis]:
    total = sum(len(job.train) + len(job.held) for job in jobs.values())
    workers = default_workers(total) if workers is None else workers
    if workers <= 1 or len(jobs) < 2:
        results = {}
        for key, job in jobs.items():
            if progress:
                progress("/".join(map(str, key)) if isinstance(key, tuple) else str(key))
            results[key] = _run(job)
        return results
    keys = list(jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # The largest searches first, so that the workers finish together.
        order = sorted(keys, key=lambda k: -len(jobs[k].train))
        futures = {key: pool.submit(_run, jobs[key]) for key in order}
        results = {}
        for key in order:
            results[key] = futures[key].result()
            if progress:
                progress("/".join(map(str, key)) if isinstance(key, tuple) else str(key))
    return {key: results[key] for key in keys}


T = TypeVar("T")


class Background(Generic[T]):
    """`work()` computed in a forked child process while the caller goes on.

    The child only runs Python and numpy code (no pyarrow), so the pyarrow threads of
    the parent do not matter to it. Where fork is not available, or the child dies,
    `result()` computes the work in the caller instead: the answer is the same.
    """

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._process = None
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(work, sender), daemon=True)
        self._process.start()
        sender.close()

    def result(self) -> T:
        if self._process is not None:
            try:
                done, value = self._receiver.recv()
            except (EOFError, OSError):
                done, value = False, None
            finally:
                self._receiver.close()
                self._process.join()
                self._process = None
            if done:
                return value
        return self._work()


def _child(work: Callable[[], object], sender) -> None:
    try:
        payload = (True, work())
    except BaseException:  # the parent computes it again and reports the error itself
        payload = (False, None)
    sender.send(payload)
    sender.close()
