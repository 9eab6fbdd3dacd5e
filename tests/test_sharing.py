"""A large log read by two processes: the same table as one process reads, whatever
the worker does."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from solidify.assess import sharedread
from solidify.assess.canonical import canonical_json
from solidify.assess.ingest import read_logs
from solidify.assess.metrics import _quantiles
from tests.conftest import record, write_jsonl

# ------------------------------------------------------------------ reading a large file


def test_byte_ranges_cover_the_file_and_end_at_newlines(tmp_path: Path) -> None:
    lines = [(f'{{"n": {i}, "pad": "{"x" * (i * 37 % 500)}"}}\n').encode() for i in range(400)]
    lines[123] = b'{"long": "' + b"y" * 5000 + b'"}\n'  # longer than a block
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(lines[:-1]) + lines[-1].rstrip(b"\n"))  # no final newline
    data = path.read_bytes()
    ranges = sharedread.byte_ranges(str(path), 1024)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end == start
        assert data[end - 1 : end] == b"\n"
    assert all(end > start for start, end in ranges)


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


def _read(path: Path, monkeypatch, workers: str) -> tuple[pd.DataFrame, list]:
    monkeypatch.setenv("SOLIDIFY_WORKERS", workers)
    result = read_logs([str(path)])
    problems = [(p.line, p.field) for p in result.problems.first]
    return result.table, problems


def test_a_shared_read_gives_the_table_one_process_gives(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sharedread, "SHARED_BLOCK_BYTES", 4096)
    path = _mixed_log(tmp_path)
    alone, alone_problems = _read(path, monkeypatch, "1")
    shared, shared_problems = _read(path, monkeypatch, "2")
    assert alone_problems == shared_problems == [(335, "attempt"), (557, "attempt")]
    pd.testing.assert_frame_equal(alone, shared)
    assert len(shared) == 598
    assert shared["line"].iloc[-1] == 601
    assert shared["extra"].notna().sum() == 60


def test_prefetch_starts_the_read_that_read_logs_finishes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sharedread, "SHARED_BLOCK_BYTES", 4096)
    path = _mixed_log(tmp_path)
    alone, _ = _read(path, monkeypatch, "1")
    monkeypatch.setenv("SOLIDIFY_WORKERS", "2")
    sharedread.prefetch([str(path)])
    assert str(path) in sharedread._STARTED
    shared, _ = _read(path, monkeypatch, "2")
    assert str(path) not in sharedread._STARTED
    pd.testing.assert_frame_equal(alone, shared)


def test_prefetch_leaves_other_formats_and_small_files_alone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOLIDIFY_WORKERS", "2")
    otlp = tmp_path / "spans.jsonl"
    otlp.write_text(json.dumps({"resourceSpans": []}) + "\n")
    csv = tmp_path / "log.csv"
    csv.write_text("workflow,run_id,step\nwf,r,s\n")
    sharedread.prefetch([str(otlp), str(csv), str(tmp_path / "missing.jsonl")])
    assert sharedread._STARTED == {}
    monkeypatch.setenv("SOLIDIFY_WORKERS", "1")
    small = write_jsonl(tmp_path / "small.jsonl", [record()])
    sharedread.prefetch([str(small)])
    assert sharedread._STARTED == {}


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


def test_the_same_value_written_differently_is_one_input(tmp_path: Path, monkeypatch) -> None:
    """Key order and spacing differ between the fast path and the careful one; the
    canonical text must not."""
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"workflow":"wf","run_id":"r1","step":"s","input":{"b":1,"a":2},"output":"x"}\n'
        '{"workflow":"wf","run_id":"r2","step":"s","input":{ "a" : 2, "b" : 1 },"output":"x"}\n'
        '{"workflow":"wf","run_id":"r3","step":"s","input":{"a":2,"b":1},"output":"x","z":1}\n'
    )
    table = read_logs([str(path)]).table
    assert set(table["input"]) == {'{"a":2,"b":1}'}
    assert table["extra"].isna()[:2].all()
    assert table["extra"].iloc[2] == '{"z":1}'


def test_quantiles_match_pandas() -> None:
    rng = np.random.default_rng(3)
    key = rng.integers(0, 7, size=500)
    values = rng.normal(size=500)
    values[rng.random(500) < 0.1] = np.nan
    key[key == 6] = 5  # key 6 has no rows
    p50, p95 = _quantiles(key, values, 7, (0.5, 0.95))
    frame = pd.DataFrame({"k": key, "v": values})
    expected = frame.groupby("k")["v"].quantile([0.5, 0.95]).unstack()
    np.testing.assert_allclose(p50[:6], expected[0.5].reindex(range(6)).to_numpy())
    np.testing.assert_allclose(p95[:6], expected[0.95].reindex(range(6)).to_numpy())
    assert np.isnan(p50[6])


def test_every_fast_path_reads_what_the_careful_path_reads(tmp_path: Path, monkeypatch) -> None:
    """The typed msgspec pass, the pyarrow-and-msgspec pass (unknown fields) and the
    line-by-line path must build the same step table from the same records."""
    monkeypatch.setenv("SOLIDIFY_WORKERS", "1")
    path = _mixed_log(tmp_path)
    fast = read_logs([str(path)])
    monkeypatch.setattr("solidify.assess.ingest.fast_block", lambda *args: None)
    careful = read_logs([str(path)])
    pd.testing.assert_frame_equal(fast.table, careful.table)
    assert [str(p) for p in fast.problems.first] == [str(p) for p in careful.problems.first]


def test_texts_that_share_a_hash_are_told_apart(tmp_path: Path, monkeypatch) -> None:
    """Codes come from hashes taken while reading; if two texts ever shared one, the
    assessment must notice and use the texts themselves."""
    from solidify.assess import records
    from solidify.assess.assessment import assess

    monkeypatch.setenv("SOLIDIFY_WORKERS", "1")
    rows = [
        record(run_id=f"r{i}", step="pick", input={"n": i % 9}, output=f"v{i % 9}", model="gpt-4o")
        for i in range(120)
    ]
    path = write_jsonl(tmp_path / "log.jsonl", rows)
    honest = assess(read_logs([str(path)]).table).to_dict()
    monkeypatch.setattr(records, "hash_texts", lambda texts: np.zeros(len(texts), dtype=np.uint64))
    table = read_logs([str(path)]).table
    assert table["input_hash"].nunique() == 1  # every text "collides"
    colliding = assess(table).to_dict()
    for result in (honest, colliding):
        for step in result["workflows"][0]["steps"]:
            step.get("synthesis", {}).pop("seconds", None)
    assert colliding == honest
    step = colliding["workflows"][0]["steps"][0]
    assert step["determinism_parts"]["distinct_outputs"] == 9


def test_without_a_writable_temporary_folder_one_process_reads(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sharedread, "SHARED_BLOCK_BYTES", 4096)
    path = _mixed_log(tmp_path)
    alone, _ = _read(path, monkeypatch, "1")

    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(sharedread.tempfile, "TemporaryDirectory", refuse)
    shared, _ = _read(path, monkeypatch, "2")
    pd.testing.assert_frame_equal(alone, shared)


def _dies(*args) -> None:
    os._exit(3)  # the worker killed mid-way (out of memory, say)


def test_a_worker_that_dies_leaves_the_reading_to_the_caller(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sharedread, "SHARED_BLOCK_BYTES", 4096)
    path = _mixed_log(tmp_path)
    alone, alone_problems = _read(path, monkeypatch, "1")
    monkeypatch.setattr(sharedread, "_parse_to_file", _dies)
    shared, shared_problems = _read(path, monkeypatch, "2")
    pd.testing.assert_frame_equal(alone, shared)
    assert shared_problems == alone_problems
