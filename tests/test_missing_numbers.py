"""A number logged as NaN is a missing number (pandas and Python's json write a missing
value so); an infinite one is a bad record. Every reader agrees, and a missing cost
leaves the step's logged costs counted."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from solidify.assess import jsonl_sql, tabular_sql
from solidify.assess.assessment import assess
from solidify.assess.ingest import read_logs
from tests.conftest import record

NAN = float("nan")
COSTS = [NAN, 1.0, float("inf"), 2.0]
# A token count or attempt with a gap, as pandas writes one from a float column.
TOKENS = [5.0, NAN, 7.0, 8.0]
ATTEMPTS = [1.0, 2.0, 1.0, NAN]  # a missing attempt is the first


def _rows() -> list[dict]:
    values = zip(COSTS, TOKENS, ATTEMPTS, strict=True)
    return [record(run_id=f"r{i}", kind="code", status="ok", cost_usd=cost, output="x",
                   input_tokens=tokens, attempt=attempt)
            for i, (cost, tokens, attempt) in enumerate(values)]  # fmt: skip


def _jsonl(path: Path) -> Path:
    path = path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _rows()), encoding="utf-8")
    return path


def _csv(path: Path) -> Path:
    path = path / "log.csv"
    lines = ["workflow,run_id,step,kind,status,cost_usd,input_tokens,attempt,output"]
    lines += [f"wf,{r['run_id']},s,code,ok,{r['cost_usd']},{r['input_tokens']},{r['attempt']},x"
              for r in _rows()]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _parquet(path: Path) -> Path:
    path = path / "log.parquet"
    rows = _rows()
    table = pa.table({name: [r[name] for r in rows] for name in rows[0]})
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("by_duckdb", [False, True], ids=["record-checks", "duckdb"])
@pytest.mark.parametrize("write", [_jsonl, _csv, _parquet], ids=["jsonl", "csv", "parquet"])
def test_nan_is_missing_and_infinity_is_named(tmp_path, monkeypatch, write, by_duckdb):
    size = 0 if by_duckdb else 1 << 30
    monkeypatch.setattr(jsonl_sql, "SMALL_FILE_BYTES", size)
    monkeypatch.setattr(tabular_sql, "SMALL_CSV_BYTES", size)
    monkeypatch.setattr(tabular_sql, "SMALL_PARQUET_BYTES", size)
    path = write(tmp_path)
    line = {"log.csv": 4}.get(path.name, 3)
    with read_logs([str(path)]) as read:
        assert [str(p) for p in read.problems.first] == [
            f"{path}:{line}: cost_usd: expected a number, got inf"
        ]
        got = read.table.query(
            "SELECT cost_usd, input_tokens, attempt FROM steps ORDER BY rowid"
        ).to_pylist()
        assert [tuple(r.values()) for r in got] == [(None, 5, 1), (1.0, None, 2), (2.0, 8, 1)]
        step = assess(read.table).workflows[0].steps[0]
    assert step.cost_usd == 3.0
