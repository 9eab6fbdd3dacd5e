"""Time reading Langfuse and LangSmith exports (Parquet) into the step table: DuckDB's
paths (solidify/assess/exports_sql.py, langsmith_sql.py) against the Python readers.

    pip install -e ".[bench]"
    python benchmarks/exports.py [--records 500000] [--repeat 3] [--dir FOLDER]

The export is benchmarks/assess.py's generated log written as the observations table
of Langfuse's blob export by DuckDB: a root span per trace named after the workflow
(the export names no trace: the root names it), each step an observation under it
(GENERATION, TOOL or SPAN; `usage_details` and `cost_details` maps, `metadata` with the
provider in its OTel attributes, an ERROR level for failed calls); and as LangSmith's
bulk export of runs: a chain run per trace named after the workflow, each step a run
under it (llm, tool or chain; an LLM run's outputs an OpenAI chat completion with its
usage, `extra.metadata` naming provider and model). Each reading runs in
its own process, the two paths alternating, and prints wall time and peak resident
memory of each run and their medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from assess import generate, timed

COLUMNS = ("workflow VARCHAR, run_id VARCHAR, step VARCHAR, kind VARCHAR, status VARCHAR, "
           "started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ, model VARCHAR, provider VARCHAR, "
           "input_tokens BIGINT, output_tokens BIGINT, input JSON, output JSON, "
           "error VARCHAR")  # fmt: skip

READ = """
import sys
from solidify.assess import exports_sql
from solidify.assess.ingest import read_logs
if sys.argv[2] == "python":
    exports_sql.SMALL_EXPORT_BYTES = 1 << 62  # every file to the Python reader (before)
with read_logs([sys.argv[1]]) as result:
    print(len(result.table), result.problems.count)
"""

EXPORT = """
WITH log AS (
  SELECT *, row_number() OVER () AS n FROM {source}
), runs AS (
  SELECT run_id, min(n) AS n, any_value(workflow) AS workflow, min(started_at) AS started_at,
         max(ended_at) AS ended_at
  FROM log GROUP BY run_id
), observations AS (
  SELECT n, 1 AS sub, 'root-' || run_id AS id, run_id AS trace_id, 'SPAN' AS type,
         NULL::VARCHAR AS parent_observation_id, workflow AS name, 'DEFAULT' AS level,
         NULL::VARCHAR AS status_message, started_at AS start_time, ended_at AS end_time,
         NULL::VARCHAR AS input, NULL::VARCHAR AS output, NULL::VARCHAR AS metadata,
         NULL::VARCHAR AS provided_model_name,
         MAP {{}}::MAP(VARCHAR, BIGINT) AS usage_details,
         MAP {{}}::MAP(VARCHAR, DOUBLE) AS cost_details, NULL::DOUBLE AS total_cost
  FROM runs
  UNION ALL
  SELECT n, 2, 'obs-' || n, run_id,
         CASE kind WHEN 'llm' THEN 'GENERATION' WHEN 'tool' THEN 'TOOL' ELSE 'SPAN' END,
         'root-' || run_id, step, CASE WHEN status = 'error' THEN 'ERROR' ELSE 'DEFAULT' END,
         error, started_at, ended_at, input::VARCHAR, output::VARCHAR,
         CASE WHEN provider IS NOT NULL
              THEN json_object('attributes', json_object('gen_ai.system', provider))::VARCHAR
         END,
         model,
         CASE WHEN model IS NULL THEN MAP {{}}::MAP(VARCHAR, BIGINT)
              ELSE MAP {{'input': input_tokens, 'output': output_tokens,
                        'total': input_tokens + output_tokens}} END,
         CASE WHEN model IS NULL THEN MAP {{}}::MAP(VARCHAR, DOUBLE)
              ELSE MAP {{'total': (input_tokens + 4 * output_tokens) / 1e6}} END,
         CASE WHEN model IS NOT NULL THEN (input_tokens + 4 * output_tokens) / 1e6 END
  FROM log
)
SELECT * EXCLUDE (n, sub) FROM observations ORDER BY n, sub
"""

RUNS = """
WITH log AS (
  SELECT *, row_number() OVER () AS n FROM {source}
), traces AS (
  SELECT run_id, min(n) AS n, any_value(workflow) AS workflow, min(started_at) AS started_at,
         max(ended_at) AS ended_at
  FROM log GROUP BY run_id
), runs AS (
  SELECT n, 1 AS sub, 'root-' || run_id AS id, 'root-' || run_id AS trace_id,
         NULL::VARCHAR AS parent_run_id, workflow AS name, 'chain' AS run_type,
         started_at AS start_time, ended_at AS end_time, NULL::VARCHAR AS inputs,
         NULL::VARCHAR AS outputs, NULL::VARCHAR AS extra, NULL::VARCHAR AS error,
         NULL::DOUBLE AS total_cost
  FROM traces
  UNION ALL
  SELECT n, 2, 'run-' || n, 'root-' || run_id, 'root-' || run_id, step,
         CASE kind WHEN 'llm' THEN 'llm' WHEN 'tool' THEN 'tool' ELSE 'chain' END,
         started_at, ended_at, json_object('input', input)::VARCHAR,
         CASE WHEN kind = 'llm' AND output IS NOT NULL THEN json_object(
                'choices', [json_object('message', json_object('role', 'assistant',
                                                               'content', output::VARCHAR))],
                'usage', json_object('prompt_tokens', input_tokens,
                                     'completion_tokens', output_tokens))::VARCHAR
              WHEN output IS NOT NULL THEN json_object('output', output)::VARCHAR END,
         CASE WHEN model IS NOT NULL THEN json_object('metadata', json_object(
                'ls_provider', provider, 'ls_model_name', model))::VARCHAR END,
         error,
         CASE WHEN model IS NOT NULL THEN (input_tokens + 4 * output_tokens) / 1e6 END
  FROM log
)
SELECT * EXCLUDE (n, sub) FROM runs ORDER BY n, sub
"""


def convert(jsonl: Path, folder: Path) -> dict[str, Path]:
    import duckdb

    types = ", ".join(f"'{c.split()[0]}': '{c.split()[1]}'" for c in COLUMNS.split(", "))
    source = f"read_json('{jsonl}', format = 'newline_delimited', columns = {{{types}}})"
    out = {"langfuse": folder / "observations.parquet", "langsmith": folder / "runs.parquet"}
    con = duckdb.connect()
    for path, query in zip(out.values(), (EXPORT, RUNS), strict=True):
        con.execute(f"COPY ({query.format(source=source)}) TO '{path}' "
                    "(FORMAT parquet, COMPRESSION zstd)").fetchall()  # fmt: skip
    con.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, help="write the export here (default: a temporary folder)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="solidify-bench-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        generate(folder / "log.jsonl", args.records)
        files = convert(folder / "log.jsonl", folder)
        (folder / "log.jsonl").unlink()
        import pyarrow.parquet as pq

        print(f"{args.records} records, made in {time.perf_counter() - t0:.1f} s")
        for kind, path in files.items():
            rows = pq.ParquetFile(path).metadata.num_rows
            print(f"{kind} export: {rows} rows ({path.stat().st_size / 1e6:.0f} MB)")
            runs: dict[str, list[tuple[float, float, str, float]]] = {"python": [], "duckdb": []}
            for number in range(1, args.repeat + 1):
                for way in runs:
                    runs[way].append(timed([sys.executable, "-c", READ, str(path), way]))
                print(f"{kind} run {number}: " + "; ".join(
                    f"{way} {r[-1][0]:.2f} s {r[-1][1]:.0f} MB ({r[-1][2].strip()})"
                    for way, r in runs.items()))  # fmt: skip
            for way, r in runs.items():
                print(f"  {kind} {way:<7} median {statistics.median(x[0] for x in r):6.2f} s, "
                      f"CPU {statistics.median(x[3] for x in r):6.2f} s, "
                      f"peak RSS {max(x[1] for x in r):5.0f} MB")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
