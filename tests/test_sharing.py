"""Reading paths agree: DuckDB's reading of canonical JSON Lines builds the table the
record checks build, and texts are compared in their canonical form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from solidify.assess.canonical import canonical_json
from solidify.assess.ingest import read_logs
from tests.conftest import record


def _mixed_log(tmp_path: Path) -> Path:
    """Good records, unknown fields in one stretch, bad records and blank lines in others."""
    rows: list = []
    for i in range(600):
        row = record(
            run_id=f"r{i // 4}",
            step=f"s{i % 4}",
            input={"b": i % 7, "a": [i, "x"]},
            output=f"out {i % 5}",
            started_at=f"2026-09-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
        )
        if i % 3 == 0:
            row.update(model="gpt-4o", input_tokens=i, output_tokens=2, duration_ms=i, cost_usd=0)
        if i % 11 == 0:
            row.update(status="error", error="overloaded \u00e9", output=None, attempt=2)
        if i % 13 == 0:
            row.update(rollup=True, ended_at="2026-09-01T01:00:00+02:00", output={"k": [1, 2.5]})
        if 200 <= i < 260:
            row["tags"] = {"team": "t"}  # unknown field: kept in `extra`
        if i in (333, 555):
            row["attempt"] = "two"  # bad: skipped and named by its line
        rows.append(row)
    path = tmp_path / "mixed.jsonl"
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    lines = text.splitlines(keepends=True)
    lines.insert(100, "\n")  # a blank line moves every later line number
    path.write_text("".join(lines))
    return path


# ------------------------------------------------------------------ canonical JSON


def test_canonical_json_sorts_keys_and_keeps_any_integer() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1.5, True], "c": None}}) == (
        '{"a":{"c":null,"d":[1.5,true]},"b":1}'
    )
    assert canonical_json(2**80) == str(2**80)
    assert canonical_json('é\n"') == '"é\\n\\""'
    assert canonical_json(np.float64(2.5)) == "2.5"
    assert canonical_json(np.int64(7)) == "7"
    assert canonical_json(None) is None


def test_the_same_value_written_differently_is_one_input(tmp_path: Path) -> None:
    """Key order and spacing differ in the engine's text; the canonical text must not."""
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"workflow":"wf","run_id":"r1","step":"s","input":{"b":1,"a":2},"output":"x"}\n'
        '{"workflow":"wf","run_id":"r2","step":"s","input":{ "a" : 2, "b" : 1 },"output":"x"}\n'
        '{"workflow":"wf","run_id":"r3","step":"s","input":{"a":2,"b":1},"output":"x","z":1}\n'
    )
    table = read_logs([str(path)]).frame()
    assert set(table["input"]) == {'{"a":2,"b":1}'}
    assert table["extra"].isna()[:2].all()
    assert table["extra"].iloc[2] == '{"z":1}'


def test_duckdb_reads_what_the_record_checks_read(tmp_path: Path, monkeypatch) -> None:
    """DuckDB's query and the line-by-line record checks must build the same step table
    from the same records, and name the same bad lines."""
    from solidify.assess import jsonl_sql

    path = _mixed_log(tmp_path)
    duck = read_logs([str(path)])
    monkeypatch.setattr(
        "solidify.assess.ingest.read_block",
        lambda steps, block, first, builder: jsonl_sql.python_rows(
            steps, builder, block.split(b"\n"), first
        ),
    )
    careful = read_logs([str(path)])
    pd.testing.assert_frame_equal(duck.frame(), careful.frame())
    assert [str(p) for p in duck.problems.first] == [str(p) for p in careful.problems.first]
    assert [(p.line, p.field) for p in duck.problems.first] == [(335, "attempt"), (557, "attempt")]
