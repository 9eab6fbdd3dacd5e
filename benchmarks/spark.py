"""Time the Spark engine in local mode on a generated log: start, reading, one query.

    pip install -e ".[bench,spark]"
    python benchmarks/spark.py [--records 100000] [--master local[2]]

Prints the seconds Spark takes to start, to read the log into `steps` (records checked
on the executors by the local reader's rules), to answer the per-step counts
`benchmarks/assess.py` asks DuckDB, and DuckDB's time for the same question on the
same file, with the peak memory of this process and what Spark's JVM holds.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psutil

HERE = Path(__file__).resolve().parent
COUNTS = """
SELECT workflow, step, count(*) AS executions,
       avg(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END) AS error_rate,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       count(DISTINCT input) AS distinct_inputs
FROM steps GROUP BY ALL ORDER BY ALL
"""


def generator():
    spec = importlib.util.spec_from_file_location("bench_assess", HERE / "assess.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from solidify.assess.spark import SparkStepTable

    bench = generator()
    with tempfile.TemporaryDirectory(prefix="solidify-bench-") as folder:
        log = Path(folder, "log.jsonl")
        bench.generate(log, args.records)
        print(f"log: {args.records} records, {log.stat().st_size / 1e6:.0f} MB")
        start = time.perf_counter()
        duck = duckdb.sql(
            bench.DUCKDB_QUERY.format(path=log).replace("CAST(input AS VARCHAR)", "input")
        ).fetchall()
        duck_s = time.perf_counter() - start
        start = time.perf_counter()
        with SparkStepTable(args.master) as table:
            started = time.perf_counter()
            reading = table.read([str(log)])
            rows = len(table)  # the reading happens here (the parsed rows are cached)
            read = time.perf_counter()
            answer = table.query(COUNTS)
            done = time.perf_counter()
            jvm = max(
                (c.memory_info().rss for c in psutil.Process().children(recursive=True)),
                default=0,
            )
        assert answer.num_rows == len(duck), (answer.num_rows, len(duck))
        assert rows == args.records - reading.problems.count
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux
    print(f"spark start          {started - start:7.2f} s")
    print(f"spark read + check   {read - started:7.2f} s   ({rows} rows)")
    print(f"spark per-step query {done - read:7.2f} s")
    print(f"duckdb same counts   {duck_s:7.2f} s   (read_json on the file)")
    print(
        f"peak RSS of the driver {own / 1e6:.0f} MB; Spark's JVM held {jvm / 1e6:.0f} MB at the end"
        " (its heap is capped by the driver memory, 1 GB)"
    )


if __name__ == "__main__":
    main()
