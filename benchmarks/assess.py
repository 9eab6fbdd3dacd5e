"""Time `solidify assess` on a 500 000-record log against DuckDB doing only the counting.

    pip install -e ".[bench]"
    python benchmarks/assess.py [--records 500000] [--keep]

DuckDB computes per-step counts, error rates, token sums and distinct inputs on the
same file; solidify does all of that and prices, failure accounting, determinism,
program synthesis, recommendations and stages. Both run in their own process; the
figures are wall time and peak resident memory of each process.
Targets (issue 3): ratio <= 5, solidify's peak RSS <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

MODELS = [("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("claude-sonnet-4-5", "anthropic"),
          ("claude-haiku-4-5", "anthropic")]  # fmt: skip


def steps(rng: random.Random, run: int) -> list[tuple[str, str, object, object]]:
    """(step, kind, input, output) of one run of a support-triage-like workflow."""
    order = f"{rng.choice('ABC')}-{rng.randint(10000, 99999)}"
    tier = rng.choice(["free", "pro", "enterprise"])
    total = round(rng.uniform(5, 600), 2)
    name = f"Name{rng.randint(1, 900)} Last{rng.randint(1, 900)}"
    body = f"My order {order} is late. Call +1-555-{rng.randint(1000, 9999)}."
    intent = rng.choice(["refund", "shipping", "account", "billing"])
    reply = " ".join(
        rng.choice(["We", "will", "look", "into", "it", "soon", "sorry"]) for _ in range(12)
    )
    return [
        ("extract_order_id", "llm", {"subject": "Order", "body": body}, order),
        ("lookup_customer", "tool", {"email": f"u{run}@example.com"}, {"tier": tier}),
        ("classify_intent", "llm", {"body": body}, intent),
        (
            "set_priority",
            "llm",
            {"tier": tier, "order_total": total},
            "P1" if tier == "enterprise" else "P2" if total >= 200 else "P3",
        ),
        ("route_ticket", "llm", {"intent": intent}, {"refund": "payments"}.get(intent, "general")),
        (
            "acknowledge",
            "llm",
            {"customer_name": name, "ticket": f"T-{run}"},
            f"Hi {name.split()[0]}, ticket T-{run} is open.",
        ),
        ("draft_reply", "llm", {"body": body, "intent": intent}, reply),
        ("send_reply", "code", {"ticket": f"T-{run}"}, {"sent": True}),
    ]


def generate(path: Path, records: int) -> None:
    rng = random.Random(1)
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    written = 0
    run = 0
    with open(path, "wb") as f:
        while written < records:
            run += 1
            workflow = f"support-{run % 5}"
            clock = start + timedelta(seconds=run * 5)
            for step, kind, inp, out in steps(rng, run):
                if written >= records:
                    break
                failed = kind == "llm" and rng.random() < 0.03
                model, provider = rng.choice(MODELS) if kind == "llm" else (None, None)
                end = clock + timedelta(milliseconds=rng.randint(5, 3000))
                rec = {
                    "workflow": workflow, "run_id": f"run-{run}", "step": step, "kind": kind,
                    "status": "error" if failed else "ok",
                    "started_at": clock.isoformat(), "ended_at": end.isoformat(),
                    "input": inp, "output": None if failed else out,
                }  # fmt: skip
                if model:
                    rec.update(
                        model=model,
                        provider=provider,
                        input_tokens=rng.randint(200, 900),
                        output_tokens=rng.randint(5, 80),
                    )
                if failed:
                    rec["error"] = "overloaded_error: Overloaded"
                f.write(orjson.dumps(rec) + b"\n")
                written += 1
                clock = end
        # On disk before any timing: the kernel writing it back must not share the CPU
        # with the tools being timed.
        f.flush()
        os.fsync(f.fileno())


DUCKDB_QUERY = """
SELECT workflow, step, count(*) AS executions,
       avg(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END) AS error_rate,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       count(DISTINCT CAST(input AS VARCHAR)) AS distinct_inputs
FROM read_json_auto('{path}', format='newline_delimited', maximum_object_size=1048576)
GROUP BY ALL ORDER BY ALL
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB of the child (and of the processes it waited for),
    and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"{command[:3]} failed:\n{err.read().decode()[-2000:]}")
        # ru_maxrss is in KB on Linux.
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--log", type=Path, help="time this log instead of generating one")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool (median)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="solidify-bench-"))
    log = args.log or folder / "log.jsonl"
    if args.log is None:
        t0 = time.perf_counter()
        generate(log, args.records)
        print(f"log: {args.records} records, {log.stat().st_size / 1e6:.0f} MB, "
              f"generated in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    duck = [sys.executable, "-c",
            "import duckdb, sys; print(len(duckdb.sql(sys.argv[1]).fetchall()))",
            DUCKDB_QUERY.format(path=log)]  # fmt: skip
    ours = [sys.executable, "-m", "solidify", "assess", str(log), "--format", "json"]
    # Alternate the two, so that both meet the machine in the same state.
    duck_runs, our_runs = [], []
    for _ in range(max(1, args.repeat)):
        duck_runs.append(timed(duck))
        our_runs.append(timed(ours))
    duck_s = statistics.median(run[0] for run in duck_runs)
    ours_s = statistics.median(run[0] for run in our_runs)
    duck_mb = max(run[1] for run in duck_runs)
    ours_mb = max(run[1] for run in our_runs)
    steps_assessed = sum(len(w["steps"]) for w in json.loads(our_runs[-1][2])["workflows"])

    def spread(runs: list) -> str:
        return ", ".join(f"{run[0]:.2f}" for run in runs)

    print(f"{'duckdb (counts only)':<29} {duck_s:7.2f} s   peak RSS {duck_mb:7.0f} MB"
          f"   runs: {spread(duck_runs)}")  # fmt: skip
    label = f"solidify assess (full, {steps_assessed} steps)"
    print(f"{label:<29} {ours_s:7.2f} s   peak RSS {ours_mb:7.0f} MB   runs: {spread(our_runs)}")
    print(
        f"ratio solidify/duckdb (medians of {len(our_runs)}): {ours_s / duck_s:.2f} (target <= 5); "
        f"peak RSS {ours_mb / 1024:.2f} GB (target <= 2 GB)"
    )
    if args.log is None and not args.keep:
        log.unlink()
        folder.rmdir()
    elif args.log is None:
        print(f"kept {log}")


if __name__ == "__main__":
    main()
