"""Time reading a canonical CSV and Parquet log into the step table: DuckDB's path
(solidify/assess/tabular_sql.py) against the Python readers it replaces.

    pip install -e ".[bench]"
    python benchmarks/tabular.py [--records 500000] [--repeat 3] [--dir FOLDER]

The log is benchmarks/assess.py's generator, written as CSV and as Parquet by DuckDB
(the contract's columns; input and output as JSON text, Parquet timestamps typed).
Each reading runs in its own process, the two paths alternating, and prints wall time
and peak resident memory of each run and their medians.
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
           "started_at VARCHAR, ended_at VARCHAR, model VARCHAR, provider VARCHAR, "
           "input_tokens BIGINT, output_tokens BIGINT, input JSON, output JSON, "
           "error VARCHAR")  # fmt: skip

READ = """
import sys
from solidify.assess import tabular_sql
from solidify.assess.ingest import read_logs
if sys.argv[2] == "python":
    # every file to the Python readers (before)
    tabular_sql.SMALL_CSV_BYTES = tabular_sql.SMALL_PARQUET_BYTES = 1 << 62
with read_logs([sys.argv[1]]) as result:
    print(len(result.table), result.problems.count)
"""


def convert(jsonl: Path, folder: Path) -> dict[str, Path]:
    import duckdb

    names = [c.split()[0] for c in COLUMNS.split(", ")]
    types = ", ".join(f"'{c.split()[0]}': '{c.split()[1]}'" for c in COLUMNS.split(", "))
    source = f"read_json('{jsonl}', format = 'newline_delimited', columns = {{{types}}})"
    texts = ", ".join(f"{n}::VARCHAR AS {n}" if n in ("input", "output") else n for n in names)
    typed = ", ".join(
        f"{n}::TIMESTAMPTZ AS {n}" if n in ("started_at", "ended_at")
        else f"{n}::VARCHAR AS {n}" if n in ("input", "output") else n
        for n in names
    )  # fmt: skip
    out = {"csv": folder / "log.csv", "parquet": folder / "log.parquet"}
    con = duckdb.connect()
    con.execute(f"COPY (SELECT {texts} FROM {source}) TO '{out['csv']}' (HEADER)").fetchall()
    con.execute(f"COPY (SELECT {typed} FROM {source}) TO '{out['parquet']}' "
                "(FORMAT parquet, COMPRESSION zstd)").fetchall()  # fmt: skip
    con.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, help="write the logs here (default: a temporary folder)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="solidify-bench-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        generate(folder / "log.jsonl", args.records)
        files = convert(folder / "log.jsonl", folder)
        (folder / "log.jsonl").unlink()
        sizes = ", ".join(f"{k} {p.stat().st_size / 1e6:.0f} MB" for k, p in files.items())
        print(f"log: {args.records} records ({sizes}), made in {time.perf_counter() - t0:.1f} s")
        for kind, path in files.items():
            runs: dict[str, list[tuple[float, float, str]]] = {"python": [], "duckdb": []}
            for number in range(1, args.repeat + 1):
                for way in runs:
                    runs[way].append(timed([sys.executable, "-c", READ, str(path), way]))
                print(f"{kind} run {number}: " + "; ".join(
                    f"{way} {r[-1][0]:.2f} s {r[-1][1]:.0f} MB ({r[-1][2].strip()})"
                    for way, r in runs.items()))  # fmt: skip
            for way, r in runs.items():
                print(f"  {kind} {way:<7} median {statistics.median(x[0] for x in r):6.2f} s, "
                      f"peak RSS {max(x[1] for x in r):5.0f} MB")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
