"""Time each stage of `solidify assess` in one process, on a log read once.

    python benchmarks/stages.py LOG.jsonl [--rounds 3]

Prints seconds per stage (imports, reading, facts, samples, prices, measures, relays,
notes, windows, the searches in this process) for each round, and the fastest of each
stage over the rounds: on a shared machine the fastest is the least disturbed. Each
round is a fresh process, so the imports and the reading are timed each time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

ROUND = r"""
import sys, time
marks = [time.perf_counter()]
def lap(label):
    marks.append(time.perf_counter())
    print(f"{label}\t{marks[-1] - marks[-2]:.3f}")
from solidify.assess.assessment import _selected
from solidify.assess.ingest import read_logs
from solidify.assess.maturity import window_counts
from solidify.assess.measures import step_measures
from solidify.assess.pricing import Pricer, register_rates
from solidify.assess.relays import tool_relays
from solidify.assess.rollups import step_notes
from solidify.assess.sampling import SearchPlan
from solidify.assess.searches import Searches
from solidify.assess.workflow_facts import workflow_facts
lap("imports")
with read_logs([sys.argv[1]]) as read:
    engine = read.table
    lap("reading")
    source = _selected(engine, ())
    workflow_facts(engine, source); lap("workflow facts")
    plan = SearchPlan.of(engine, source); lap("samples")
    register_rates(engine, Pricer(), source); lap("prices")
    step_measures(engine, source); lap("measures")
    tool_relays(engine, source); lap("relays")
    step_notes(engine, source); lap("roll-up notes")
    window_counts(engine, 30, source); lap("windows")
    with Searches(plan, plan.keys, workers=0) as searches:
        searches.results()
    lap("searches (here)")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fastest: dict[str, float] = {}
    for number in range(1, args.rounds + 1):
        out = subprocess.run([sys.executable, "-c", ROUND, args.log], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        row = dict(line.split("\t") for line in out.splitlines() if "\t" in line)
        print(f"round {number}: " + ", ".join(f"{k} {v}" for k, v in row.items()), flush=True)
        for label, seconds in row.items():
            fastest[label] = min(fastest.get(label, float("inf")), float(seconds))
    for label, seconds in fastest.items():
        print(f"{label:<18} {seconds:6.3f} s")


if __name__ == "__main__":
    main()
