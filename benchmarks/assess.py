"""Time `solidify assess` on a 500 000-record log against DuckDB doing only the counting.

    pip install -e ".[bench]"
    python benchmarks/assess.py [--records 500000] [--dir FOLDER] [--keep] [--read-only]

DuckDB computes per-step counts, error rates, token sums and distinct inputs on the
same file; solidify does all of that and prices, failure accounting, determinism,
program synthesis, recommendations and stages. Each runs in its own process, alternately
with solidify's reading alone (`read_logs` into the DuckDB step table), so that the time
splits into reading and the rest; the figures are wall time and peak resident memory of
each process, and each run's ratio to DuckDB's run before it. `--read-only` leaves the
whole assessment out (a 10 M-record log, about 3.4 GB: `--records 10000000 --dir /big`).
Targets (issue 14): 500 k ratio <= 2.5 and RSS <= 1 GB; 10 M ratio <= 3 and RSS <= 3 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
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


READ_ONLY = """
import sys
from solidify.assess.ingest import read_logs
with read_logs([sys.argv[1]]) as result:
    print(len(result.table))
"""


def timed(command: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS in MB of the child (and of the processes it waited for),
    its stdout, and its CPU seconds (user + system: steadier than wall time on a shared
    machine)."""
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
        cpu = usage.ru_utime + usage.ru_stime
        return seconds, usage.ru_maxrss / 1024, out.read().decode(), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--dir", type=Path, help="write the log here (default: a temporary folder)")
    parser.add_argument("--read-only", action="store_true", help="time reading, not assessing")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--log", type=Path, help="time this log instead of generating one")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool (median)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="solidify-bench-", dir=args.dir))
    try:
        run(args, folder)
    finally:
        if args.log is not None or not args.keep:
            shutil.rmtree(folder, ignore_errors=True)  # also after a failure or Ctrl-C
        else:
            print(f"kept {folder / 'log.jsonl'}")


def run(args: argparse.Namespace, folder: Path) -> None:
    log = args.log or folder / "log.jsonl"
    if args.log is None:
        t0 = time.perf_counter()
        generate(log, args.records)
        print(f"log: {args.records} records, {log.stat().st_size / 1e6:.0f} MB, "
              f"generated in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    duck = [sys.executable, "-c",
            "import duckdb, sys; print(len(duckdb.sql(sys.argv[1]).fetchall()))",
            DUCKDB_QUERY.format(path=log)]  # fmt: skip
    reading = [sys.executable, "-c", READ_ONLY, str(log)]
    ours = [sys.executable, "-m", "solidify", "assess", str(log), "--format", "json"]
    # Alternate them, so that all meet the machine in the same state.
    duck_runs, read_runs, our_runs = [], [], []
    for number in range(1, max(1, args.repeat) + 1):
        duck_runs.append(timed(duck))
        read_runs.append(timed(reading))
        line = (f"run {number}: duckdb {duck_runs[-1][0]:.2f} s (cpu {duck_runs[-1][3]:.2f} s) "
                f"{duck_runs[-1][1]:.0f} MB; reading {read_runs[-1][0]:.2f} s "
                f"(cpu {read_runs[-1][3]:.2f} s) {read_runs[-1][1]:.0f} MB "
                f"(ratio {read_runs[-1][0] / duck_runs[-1][0]:.2f})")  # fmt: skip
        if not args.read_only:
            our_runs.append(timed(ours))
            line += (f"; assess {our_runs[-1][0]:.2f} s {our_runs[-1][1]:.0f} MB "
                     f"(ratio {our_runs[-1][0] / duck_runs[-1][0]:.2f}, reading "
                     f"{read_runs[-1][0] / our_runs[-1][0]:.0%} of it)")  # fmt: skip
        print(line, flush=True)
    duck_s = statistics.median(run[0] for run in duck_runs)

    def spread(runs: list) -> str:
        return ", ".join(f"{run[0]:.2f}" for run in runs)

    print(f"{'duckdb (counts only)':<29} {duck_s:7.2f} s   peak RSS "
          f"{max(run[1] for run in duck_runs):7.0f} MB   runs: {spread(duck_runs)}; "
          f"cpu {statistics.median(run[3] for run in duck_runs):.2f} s")  # fmt: skip
    rows = [("solidify reading (read_logs)", read_runs)]
    if our_runs:
        steps_assessed = sum(len(w["steps"]) for w in json.loads(our_runs[-1][2])["workflows"])
        rows.append((f"solidify assess ({steps_assessed} steps)", our_runs))
    for label, runs in rows:
        median = statistics.median(run[0] for run in runs)
        peak = max(run[1] for run in runs)
        cpu = statistics.median(run[3] for run in runs)
        print(f"{label:<29} {median:7.2f} s   peak RSS {peak:7.0f} MB   runs: {spread(runs)}; "
              f"cpu {cpu:.2f} s")  # fmt: skip
        print(f"  ratio to duckdb (medians of {len(runs)}): {median / duck_s:.2f}; "
              f"peak RSS {peak / 1024:.2f} GB")  # fmt: skip


if __name__ == "__main__":
    main()
