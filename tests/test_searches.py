"""The per-step searches in a process pool: the same answers as in this process,
whatever a worker does."""

from __future__ import annotations

import os

import pytest

from solidify.assess import searches
from solidify.assess.searches import Searches, workers_wanted

PARENT = os.getpid()


class Squares:
    def search(self, key: int) -> tuple[int, bool]:
        return key * key, os.getpid() != PARENT


class DiesInAWorker:
    def search(self, key: int) -> int:
        if key == 3 and os.getpid() != PARENT:
            os._exit(3)  # a worker killed mid-way (out of memory, say)
        return -key


class Fails:
    def search(self, key: int) -> int:
        if key == 2:
            raise ValueError("no search for two")
        return key


def test_the_pool_gives_every_result_in_order_from_the_workers() -> None:
    seen: list[int] = []
    with Searches(Squares(), range(12), workers=2, progress=seen.append) as work:
        done = work.results()
    assert list(done) == list(range(12))
    assert {k: v for k, (v, _) in done.items()} == {k: k * k for k in range(12)}
    assert all(in_worker for _, in_worker in done.values())
    assert seen == list(range(12))


def test_without_workers_the_caller_does_everything() -> None:
    with Searches(Squares(), [3, 1, 2], workers=0) as work:
        done = work.results()
    assert done == {3: (9, False), 1: (1, False), 2: (4, False)}


def test_a_worker_that_dies_leaves_the_work_to_the_caller() -> None:
    with Searches(DiesInAWorker(), range(8), workers=2) as work:
        assert work.results() == {k: -k for k in range(8)}


def test_an_error_in_a_search_reaches_the_caller() -> None:
    with pytest.raises(ValueError, match="two"), Searches(Fails(), range(5), workers=2) as work:
        work.results()


def test_workers_are_wanted_for_large_logs_unless_told_otherwise(monkeypatch) -> None:
    monkeypatch.delenv("SOLIDIFY_WORKERS", raising=False)
    monkeypatch.setattr(searches.os, "cpu_count", lambda: 4)
    assert workers_wanted(searches.POOL_FROM_ROWS) == 4
    assert workers_wanted(searches.POOL_FROM_ROWS - 1) == 0
    assert workers_wanted(10, workers=3) == 3
    assert workers_wanted(10**9, workers=1) == 0
    monkeypatch.setenv("SOLIDIFY_WORKERS", "1")
    assert workers_wanted(10**9) == 0
    monkeypatch.setattr(searches, "FORK_IS_SAFE", False)
    assert workers_wanted(10, workers=2) == 0


def test_an_interrupt_while_workers_start_is_acted_on_once_they_have() -> None:
    import signal

    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), searches.signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
