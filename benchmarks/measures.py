"""Time the engine stages after reading: prices, measures, tool relays and roll-up notes.

    pip install -e ".[bench]"
    python benchmarks/measures.py [--records 500000] [--log FILE] [--rounds 3]

The log (the generator of benchmarks/assess.py, written to a temporary folder unless
--log names one) is read once into a DuckDB step table; then, each round, the stages
run over it in turn, with DuckDB's per-step counts on the same table before them for
scale. Printed per stage: the median wall time and the median CPU time of this process
(DuckDB's threads included: on a shared machine it moves less than wall time).
Target (issue 14, item 2): prices, measures, relays and roll-ups <= 1.0 s at 500 k.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assess import generate

from solidify.assess.ingest import read_logs
from solidify.assess.measures import step_measures
from solidify.assess.pricing import Pricer, register_rates
from solidify.assess.relays import tool_relays
from solidify.assess.rollups import step_notes

COUNTS = """
SELECT workflow, step, count(*), sum(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END),
       sum(input_tokens), sum(output_tokens), count(DISTINCT input)
FROM steps GROUP BY workflow, step
"""


def clock(work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--log", type=Path, help="a canonical JSON Lines log (else generated)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="solidify-bench-") as folder:
        log = args.log or Path(folder) / "log.jsonl"
        if args.log is None:
            generate(log, args.records)
        with read_logs([str(log)]) as read:
            engine = read.table
            stages: dict[str, Callable[[], object]] = {
                "duckdb counts": lambda: engine.query(COUNTS),
                "prices": lambda: register_rates(engine, Pricer()),
                "measures": lambda: step_measures(engine),
                "relays": lambda: tool_relays(engine),
                "roll-ups": lambda: step_notes(engine),
            }
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in stages}
            for _ in range(args.rounds):
                for name, work in stages.items():
                    times[name].append(clock(work))
            print(f"{len(engine):,} records, median of {args.rounds} rounds (wall / CPU):")
            total_wall = total_cpu = 0.0
            for name, runs in times.items():
                wall = statistics.median(w for w, _ in runs)
                cpu = statistics.median(c for _, c in runs)
                if name != "duckdb counts":
                    total_wall, total_cpu = total_wall + wall, total_cpu + cpu
                print(f"  {name:<14} {wall:6.2f} s  {cpu:6.2f} s")
            print(f"  {'all but counts':<14} {total_wall:6.2f} s  {total_cpu:6.2f} s")


if __name__ == "__main__":
    main()
