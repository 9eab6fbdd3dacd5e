"""A weekly re-assessment: the samples assessed with and without a history holding
their programs (one process, one core).

    python benchmarks/reuse.py [repeats, default 3]

Reads the samples once, assesses them once and records the assessment in a history
database in a temporary folder (as `assess --record` does), then assesses them again
`repeats` times without kept programs and `repeats` times with the kept programs read
back from that database. Prints the median wall time of each, the searches' own
seconds (the sum of `synthesis.seconds` over the steps), and how many steps reused
their kept program.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from solidify.assess import kept
from solidify.assess.assessment import assess
from solidify.assess.ingest import read_logs
from solidify.reports import history

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def searched(assessment, keys) -> tuple[float, float, int, int]:
    """(seconds of all searches, of the searches of `keys`, steps reused, steps)."""
    steps = {(w.workflow, s.step): s.synthesis for w in assessment.workflows for s in w.steps
             if s.synthesis is not None}  # fmt: skip
    return (
        sum(s.seconds for s in steps.values()),
        sum(s.seconds for k, s in steps.items() if k in keys),
        sum(1 for s in steps.values() if s.reused),
        len(steps),
    )


def timed(table, known, repeats: int) -> tuple[float, float, float, int, int]:
    walls, search, kept_steps = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        assessment = assess(table, workers=1, known=known)
        walls.append(time.perf_counter() - started)
        seconds, of_kept, reused, steps = searched(assessment, KEPT)
        search.append(seconds)
        kept_steps.append(of_kept)
    median = statistics.median
    return median(walls), median(search), median(kept_steps), reused, steps


KEPT: set[tuple[str, str]] = set()  # the steps with a kept program


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    table = read_logs([str(SAMPLES)]).table
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "history.db"
        history.record(assess(table, workers=1), db)
        known = kept.load(db)
        KEPT.update(known)
        programs = sum(len(v) for v in known.values())
        fresh = timed(table, {}, repeats)
        again = timed(table, known, repeats)
    print(f"samples: {len(table)} executions, {fresh[4]} steps searched, "
          f"{programs} programs kept for {len(KEPT)} steps")  # fmt: skip
    print(f"{'':<24} {'assess (s)':>10} {'all searches (s)':>17} "
          f"{'searches of kept steps (s)':>27} {'reused':>7}")  # fmt: skip
    rows = (("without kept programs", fresh), ("with kept programs", again))
    for name, (wall, search, of_kept, reused, steps) in rows:
        print(f"{name:<24} {wall:>10.2f} {search:>17.2f} {of_kept:>27.2f} {reused:>4}/{steps}")
    print(
        f"saved: assessment {1 - again[0] / fresh[0]:.0%}, all searches "
        f"{1 - again[1] / fresh[1]:.0%}, searches of kept steps {1 - again[2] / fresh[2]:.0%}"
    )


if __name__ == "__main__":
    main()
