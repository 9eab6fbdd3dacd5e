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

COSTS = [float("nan"), 1.0, float("inf"), 2.0]


def _rows() -> list[dict]:
    return [record(run_id=f"r{i}", kind="code", status="ok", cost_usd=cost, output="x")
            for i, cost in enumerate(COSTS)]  # fmt: skip


def _jsonl(path: Path) -> Path:
    path = path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _rows()), encoding="utf-8")
    return path


def _csv(path: Path) -> Path:
    path = path / "log.csv"
    lines = ["workflow,run_id,step,kind,status,cost_usd,output"]
    lines += [f"wf,{r['run_id']},s,code,ok,{r['cost_usd']},x" for r in _rows()]
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
        assert read.table.query("SELECT cost_usd FROM steps ORDER BY rowid").column(
            0
        ).to_pylist() == [None, 1.0, 2.0]
        step = assess(read.table).workflows[0].steps[0]
    assert step.cost_usd == 3.0
