"""Time the per-step samples and the search plan on a 500 000-record step table.

    python benchmarks/samples.py [--records 500000] [--repeat 3]

The log is `benchmarks/assess.py`'s (40 steps, all above their cap), read once into
a DuckDB step table; then `sampling.step_samples` and `sampling.SearchPlan.of` (which
runs the same queries again and sorts the steps) are timed, alternately. Prints the
medians and the sample's size. Target (issue 14): step_samples + plan <= 0.4 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assess import generate  # benchmarks/assess.py's generator

from solidify.assess.ingest import read_logs
from solidify.assess.sampling import SearchPlan, step_samples
from solidify.assess.steptable import StepTable


class Timed:
    """The engine, counting the seconds its queries take."""

    def __init__(self, engine: StepTable) -> None:
        self.engine, self.seconds = engine, 0.0

    def query(self, sql: str, params: dict | None = None):
        start = time.perf_counter()
        try:
            return self.engine.query(sql, params)
        finally:
            self.seconds += time.perf_counter() - start

    def register(self, name: str, table) -> None:
        self.engine.register(name, table)

    def materialize(self, name: str, sql: str) -> None:
        self.engine.materialize(name, sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="solidify-bench-"))
    try:
        log = folder / "log.jsonl"
        generate(log, args.records)
        with read_logs([str(log)]) as read:
            engine = Timed(read.table)
            samples_s, plan_s, cpu_s, query_s = [], [], [], []
            for _ in range(max(1, args.repeat)):
                engine.seconds = 0.0
                start, cpu = time.perf_counter(), time.process_time()
                samples = step_samples(engine)
                samples_s.append(time.perf_counter() - start)
                cpu_s.append(time.process_time() - cpu)
                query_s.append(engine.seconds)
                start = time.perf_counter()
                plan = SearchPlan.of(engine)
                plan_s.append(time.perf_counter() - start)
            rows = sum(len(s.rows) for s in samples.values())
            failed = sum(len(s.failed) for s in samples.values())
            print(f"{args.records} records, {len(samples)} steps ({len(plan.keys)} searched): "
                  f"{rows} sampled executions, {failed} failed ones shown")  # fmt: skip
            print(f"step_samples: median {statistics.median(samples_s):.3f} s "
                  f"(runs {', '.join(f'{s:.3f}' for s in samples_s)}), of which queries "
                  f"{statistics.median(query_s):.3f} s; CPU time (all threads) "
                  f"{statistics.median(cpu_s):.3f} s")  # fmt: skip
            print(f"SearchPlan.of (samples + plan): median {statistics.median(plan_s):.3f} s "
                  f"(runs {', '.join(f'{s:.3f}' for s in plan_s)})")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
