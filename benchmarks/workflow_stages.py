"""Time the workflow stages asked of the engine: workflow facts, maturity windows and
trends by month, on benchmarks/assess.py's log read once into a DuckDB step table.

    python benchmarks/workflow_stages.py [--records 500000] [--repeat 3]

Prints each stage's wall time per repeat, their sum and the CPU time they took (target,
issue 14: <= 0.5 s together at 500 k records). The prices are registered once before,
as the measures do; registering them again is timed apart. Trends need each workflow's
step assessments only for the stage's wording and the steps code can reproduce:
workflows without steps stand in for them, so that the engine's work alone is timed.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assess import generate

from solidify.assess.config import Config
from solidify.assess.ingest import read_logs
from solidify.assess.maturity import window_counts
from solidify.assess.model import Assessment, Maturity, WorkflowAssessment
from solidify.assess.pricing import Pricer, register_rates
from solidify.assess.trends import trends
from solidify.assess.workflow_facts import workflow_facts


def _cpu() -> float:
    """CPU seconds of this process and its threads (DuckDB's): on a shared machine,
    what the work costs whatever else runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stand_in(names: list[str]) -> Assessment:
    return Assessment([
        WorkflowAssessment(name, 0, 0, 0.0, 0, {}, None, 0.0, 0.0, Maturity(1, [], {}, []), [])
        for name in names
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = Config()
    with tempfile.TemporaryDirectory(prefix="solidify-bench-") as folder:
        path = Path(folder) / "log.jsonl"
        generate(path, args.records)
        start = time.perf_counter()
        with read_logs([str(path)]) as read:
            print(f"{len(read.table):,} records read in {time.perf_counter() - start:.1f} s")
            engine = read.table
            # The measures register the rates before trends run: once, untimed.
            register_rates(engine, Pricer(overrides=config.prices))
            for _ in range(args.repeat):
                times = {}
                cpu = _cpu()
                start = time.perf_counter()
                facts = workflow_facts(engine)
                times["workflow_facts"] = time.perf_counter() - start
                start = time.perf_counter()
                window_counts(engine, config.thresholds.maturity_window_days)
                times["window_counts"] = time.perf_counter() - start
                start = time.perf_counter()
                periods = trends(engine, stand_in(list(facts)), config, by="month", priced=True)
                times["trends(month)"] = time.perf_counter() - start
                cpu = _cpu() - cpu
                shown = "  ".join(f"{name} {s:.3f} s" for name, s in times.items())
                print(f"{shown}  together {sum(times.values()):.3f} s, {cpu:.3f} s of CPU "
                      f"({len(periods)} periods)")  # fmt: skip
                start = time.perf_counter()
                register_rates(engine, Pricer(overrides=config.prices))
                print(f"  (and the prices registered again: {time.perf_counter() - start:.3f} s)")


if __name__ == "__main__":
    main()
