"""Canonical JSON Lines read by DuckDB: bad records named exactly as the record checks
name them, good ones converted exactly as the record checks convert them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess import jsonl_sql
from solidify.assess.ingest import read_logs
from solidify.errors import InputError
from tests.conftest import record


@pytest.fixture(autouse=True)
def _every_file_through_duckdb(monkeypatch):
    """These tests are about DuckDB's path, which small files skip."""
    monkeypatch.setattr(jsonl_sql, "SMALL_FILE_BYTES", 0)


def test_a_small_file_read_by_the_record_checks_gives_what_duckdb_gives(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    rows = [record(step=f"s{i % 3}", input={"b": i, "a": [i, 1.5]}, output=f"x{i}", extra=i)
            for i in range(40)]  # fmt: skip
    log.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with read_logs([str(log)]) as read:
        by_duckdb = read.frame()
    monkeypatch.setattr(jsonl_sql, "SMALL_FILE_BYTES", 1 << 20)
    spied: list[int] = []
    original = jsonl_sql.read_block
    monkeypatch.setattr("solidify.assess.ingest.read_block",
                        lambda *a: spied.append(1) or original(*a))  # fmt: skip
    with read_logs([str(log)]) as read:
        by_checks = read.frame()
    assert not spied  # the small file never reached DuckDB's query
    pd.testing.assert_frame_equal(by_checks, by_duckdb, check_categorical=False)


GOOD = '{"workflow": "w", "run_id": "r0", "step": "s"}'


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"workflow": 5, "run_id": "r", "step": "s"}', "workflow: expected a string, got 5"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "model": ["x"]}',
         "model: expected a string, got a list"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "attempt": "three"}',
         "attempt: expected an integer (of at most 64 bits), got 'three'"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "attempt": 1.5}',
         "attempt: expected an integer (of at most 64 bits), got 1.5"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "input_tokens": true}',
         "input_tokens: expected an integer (of at most 64 bits), got True"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "input_tokens": 99999999999999999999999}',
         "input_tokens: expected an integer (of at most 64 bits), got 99999999999999999999999"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "cost_usd": "1.0"}',
         "cost_usd: expected a number, got '1.0'"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "started_at": 17}',
         "started_at: expected an ISO 8601 timestamp string, got 17"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "ended_at": "yesterday"}',
         "ended_at: not an ISO 8601 timestamp: 'yesterday'"),
        ('{"workflow": "w", "step": "s"}', "run_id: required field is missing"),
        ('{"workflow": "w", "run_id": null, "step": "s"}', "run_id: required field is missing"),
        ('{"workflow": "w", "run_id": "\\u00a0 ", "step": "s"}', "run_id: must not be empty"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "kind": "robot"}',
         "kind: must be one of llm, agent, tool, code, human, got 'robot'"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "output_tokens": -1}',
         "output_tokens: must not be negative, got -1"),
        ('{"workflow": "w", "run_id": "r", "step": "s", "attempt": 0}',
         "attempt: must be 1 or more, got 0"),
        ('{"workflow": "w", "run_id": ',
         "not valid JSON: Expecting value: line 2 column 1 (char 29)"),
        ("[1, 2]", "record is not a JSON object (got list)"),
    ],
    ids=["string", "string-list", "integer-text", "integer-fraction", "integer-bool",
         "integer-beyond-64-bits", "number-text", "timestamp-type", "timestamp-text",
         "missing", "null", "blank", "kind", "negative", "attempt-0", "malformed", "array"],
)  # fmt: skip
def test_a_bad_record_is_named_skipped_and_counted(tmp_path: Path, line: str, message: str):
    path = tmp_path / "log.jsonl"
    path.write_text(f"{GOOD}\n\n{line}\n{GOOD}\n", encoding="utf-8")
    with read_logs([str(path)]) as result:
        assert [str(p) for p in result.problems.first] == [f"{path}:3: {message}"]
        assert result.problems.count == 1
        assert result.frame()["line"].tolist() == [1, 4]
    with pytest.raises(InputError) as stopped:
        read_logs([str(path)], strict=True)
    assert str(stopped.value) == f"{path}:3: {message}"


def test_only_flagged_lines_reach_the_record_checks(tmp_path: Path, monkeypatch) -> None:
    """A clean block is read by the query alone; a flagged row the checks accept (an
    integral float, a date without a time) keeps its place in the file's order."""
    seen: list[int] = []
    original = jsonl_sql._checked

    def spy(builder, flagged):
        seen.extend(line for line, _ in flagged)
        return original(builder, flagged)

    monkeypatch.setattr(jsonl_sql, "_checked", spy)
    rows = [record(run_id=f"r{i}", attempt=2) for i in range(5)]
    rows[1]["attempt"] = 3.0
    rows[3]["started_at"] = "2026-09-01"
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with read_logs([str(path)]) as result:
        frame = result.frame()
    assert seen == [2, 4]
    assert result.problems.count == 0
    assert frame["run_id"].tolist() == [f"r{i}" for i in range(5)]
    assert frame["attempt"].tolist() == [2, 3, 2, 2, 2]
    assert str(frame["started_at"].iloc[3]) == "2026-09-01 00:00:00+00:00"


def test_a_csv_input_that_is_not_json_is_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        'workflow,run_id,step,input,attempt\nw,r,s,not json,1\nw,r,s,"{""a"": 1}",x\n',
        encoding="utf-8",
    )
    with read_logs([str(path)]) as result:
        assert result.frame()["input"].tolist() == ['"not json"']
        assert [str(p) for p in result.problems.first] == [
            f"{path}:3: attempt: expected integer, got 'x'"
        ]


def test_a_parquet_column_of_the_wrong_type_names_each_row(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    table = {"workflow": ["w", "w"], "run_id": ["r", "r"], "step": ["s", "s"],
             "attempt": ["1", "two"]}  # fmt: skip
    pq.write_table(pa.table(table), path)
    with read_logs([str(path)]) as result:
        assert len(result.table) == 0
        assert [str(p) for p in result.problems.first] == [
            f"{path}:1: attempt: expected an integer (of at most 64 bits), got '1'",
            f"{path}:2: attempt: expected an integer (of at most 64 bits), got 'two'",
        ]


def test_nothing_of_the_database_is_left_after_close(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    path = tmp_path / "log.jsonl"
    path.write_text(GOOD + "\n", encoding="utf-8")
    with read_logs([str(path)]) as result:
        assert [p.name[:9] for p in (tmp_path / "tmp").iterdir()] == ["solidify-"]
        assert len(result.table) == 1
    assert list((tmp_path / "tmp").iterdir()) == []


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False,
    allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
_records = st.fixed_dictionaries(
    {"workflow": st.sampled_from(["w", " ", 5]), "run_id": _text, "step": st.just("s")},
    optional={
        "kind": st.sampled_from(["llm", "tool", "robot"]),
        "attempt": st.integers(-1, 3) | st.sampled_from([2.0, 1.5, "2"]),
        "input_tokens": st.integers(-(2**64), 2**64),
        "cost_usd": st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
        "duration_ms": st.floats(-1, 1e9) | st.integers(-5, 2**65),
        "started_at": st.sampled_from(["2026-09-01T10:00:00+05:30", "2026-09-01 10:00:00.5",
                                       "2026-09-01", "2026-13-01T00:00:00Z", "x", 3]),
        "ended_at": st.sampled_from(["2026-09-01T10:00:01Z", None]),
        "model": st.sampled_from(["gpt-4o", None, 1]),
        "rollup": st.sampled_from([True, False, 1, "yes"]),
        "input": _json,
        "output": _json,
        "zz": _json,
        "Workflow": _json,
    },
)  # fmt: skip


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_records, min_size=1, max_size=8), whole=st.booleans())
def test_duckdb_and_the_record_checks_agree(tmp_path: Path, rows: list, whole: bool) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        if not whole:  # block by block, as a gzipped file or stdin is read
            patch.setattr("solidify.assess.ingest.scannable", lambda path: False)
        with read_logs([str(path)]) as duck:
            got = duck.frame()
            problems = [str(p) for p in duck.problems.first]
    # The same lines through the record checks alone.
    from solidify.assess.ingest import parse_line, to_frame
    from solidify.assess.records import BatchBuilder, Problems, in_memory

    expected_problems = Problems()
    builder = BatchBuilder(str(path), expected_problems)
    lines = path.read_bytes().split(b"\n")[:-1]
    table = builder.build(list(range(1, len(lines) + 1)), [parse_line(x) for x in lines])
    want = to_frame(in_memory(table))
    assert problems == [str(p) for p in expected_problems.first]
    pd.testing.assert_frame_equal(got, want, check_categorical=False)


@pytest.mark.parametrize(
    "line",
    [
        '{"workflow": "w", "run_id": "r", "step": "s", "input": NaN}',
        '{"workflow": "w", "run_id": "r", "step": "s", "output": [1, -Infinity]}',
        '{"workflow": "w", "run_id": "r", "step": "s", "input": {"a": 1}, "input": {"a": 2}}',
    ],
    ids=["nan", "infinity", "repeated-key"],
)
def test_lines_duckdb_reads_otherwise_are_left_to_the_record_checks(tmp_path, monkeypatch, line):
    good = json.dumps(record(input={"a": 0}, output="x"))
    log = tmp_path / "log.jsonl"
    log.write_text(f"{good}\n{line}\n{good}\n", encoding="utf-8")
    with read_logs([str(log)]) as read:  # through DuckDB (this module's fixture)
        by_duckdb = read.frame()
    monkeypatch.setattr(jsonl_sql, "SMALL_FILE_BYTES", 1 << 20)
    with read_logs([str(log)]) as read:
        by_checks = read.frame()
    assert len(by_duckdb) == 3
    pd.testing.assert_frame_equal(by_duckdb, by_checks, check_categorical=False)


def test_a_lone_surrogate_escape_is_a_bad_record_not_a_crash(tmp_path):
    log = tmp_path / "log.jsonl"
    good = json.dumps(record())
    log.write_text(f'{good}\n{{"workflow": "w", "run_id": "r", "step": "s", "input": "\\ud800"}}\n',
                   encoding="utf-8")  # fmt: skip
    with read_logs([str(log)]) as read:
        assert len(read.frame()) == 1
        assert [str(p) for p in read.problems.first] == [
            f"{log}:2: input: holds an escape (\\uD800-\\uDFFF) that is no character"
        ]


def _paths_taken(monkeypatch) -> list[str]:
    """Which of DuckDB's two ways read each file: "whole" (one scan) or "blocks"."""
    from solidify.assess import ingest

    taken: list[str] = []
    whole, block = ingest.read_whole, ingest.read_block

    def read_whole(*args):
        done = whole(*args)
        taken.append("whole" if done else "whole refused")
        return done

    monkeypatch.setattr(ingest, "read_whole", read_whole)
    monkeypatch.setattr(ingest, "read_block", lambda *a: taken.append("blocks") or block(*a))
    return taken


_LINES = [json.dumps(record(run_id=f"r{i}", input={"b": i, "a": {"y": [i], "x": None}},
                            output=f"é{i}", attempt=1 + i % 2)) for i in range(6)]  # fmt: skip
_LINES[2] = _LINES[2].replace('"attempt": 1', '"attempt": "one"')


@pytest.mark.parametrize(
    "data, taken",
    [
        ("\n".join(_LINES) + "\n", ["whole"]),
        ("\n".join(_LINES), ["whole"]),  # no newline at the end
        ("\r\n".join(_LINES) + "\r\n", ["blocks"]),
        # A lone carriage return (JSON whitespace) would split the line in DuckDB's scan.
        ("\n".join(_LINES).replace(', "step"', ',\r "step"', 1) + "\n", ["blocks"]),
        ("\n\n  \n".join(_LINES) + "\n\t\n", ["whole"]),  # blank and white lines count
        ("\n".join([*_LINES[:3], _LINES[3].replace("r3", "x" * 2_500_000), *_LINES[4:]]),
         ["whole"]),  # a line over 2 MB
        ("\n".join([_LINES[0], "#" + _LINES[1], *_LINES[2:]]) + "\n", ["whole"]),  # no comment
    ],
    ids=["plain", "no-final-newline", "crlf", "lone-cr", "blank-lines", "long-line", "hash"],
)  # fmt: skip
def test_each_way_of_reading_gives_the_record_checks_rows(tmp_path, monkeypatch, data, taken):
    path = tmp_path / "log.jsonl"
    path.write_bytes(data.encode())
    seen = _paths_taken(monkeypatch)
    with read_logs([str(path)]) as read:
        by_duckdb, problems = read.frame(), [str(p) for p in read.problems.first]
    assert seen == taken
    monkeypatch.setattr(jsonl_sql, "SMALL_FILE_BYTES", 1 << 30)
    with read_logs([str(path)]) as read:
        pd.testing.assert_frame_equal(by_duckdb, read.frame(), check_categorical=False)
        assert problems == [str(p) for p in read.problems.first]
    assert len(by_duckdb) + len(problems) == 6 and ": attempt: " in problems[-1]


def test_a_line_longer_than_the_scan_takes_sends_the_file_to_the_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl_sql, "SCAN_LINE_BYTES", 64 * 1024)
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join([*_LINES[:5], _LINES[5].replace("r5", "x" * 100_000)]) + "\n")
    seen = _paths_taken(monkeypatch)
    with read_logs([str(path)]) as read:
        assert seen == ["whole refused", "blocks"]
        assert read.frame()["line"].tolist() == [1, 2, 4, 5, 6]
        assert len(read.frame()["run_id"].iloc[-1]) == 100_000


def test_a_line_that_is_not_utf8_in_a_big_file_is_named_by_its_line(tmp_path, monkeypatch):
    path = tmp_path / "log.jsonl"
    lines = [line.encode() for line in _LINES]
    lines[4] = lines[4].replace(b'"r4"', b'"r\xff"')
    path.write_bytes(b"\n".join(lines) + b"\n")
    seen = _paths_taken(monkeypatch)
    with read_logs([str(path)]) as read:
        # DuckDB's scan refuses the file; the blocks find the line the checks name.
        assert seen == ["whole refused", "blocks"]
        assert read.frame()["line"].tolist() == [1, 2, 4, 6]
        assert [(p.line, p.field) for p in read.problems.first] == [(3, "attempt"), (5, None)]
        assert "not valid JSON" in read.problems.first[1].message


def test_one_value_logged_with_its_keys_in_any_order_is_one_text(tmp_path):
    """In the step table itself, at any depth, in input, output and extra; a repeated
    key in a value keeps the last, as Python reads it."""
    values = [
        ({"b": 1, "a": 2}, {"a": 2, "b": 1}),
        ({"c": 3, "a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}),
        ({"z": {"y": [{"q": 1, "p": 2}], "x": 0}, "a": "{"},
         {"a": "{", "z": {"x": 0, "y": [{"p": 2, "q": 1}]}}),
    ]  # fmt: skip
    lines = []
    for i, (one, other) in enumerate(values):
        for value in (one, other):
            lines.append(json.dumps(record(step=f"s{i}", input=value, output=[value], tag=value)))
    lines.append('{"workflow": "w", "run_id": "r", "step": "dup", "input": {"a": 1, "a": 2}}')
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with read_logs([str(path)]) as read:
        rows = read.table.query(
            "SELECT step, list_distinct(list(input)) AS i, list_distinct(list(output)) AS o, "
            "list_distinct(list(extra)) AS e FROM steps GROUP BY step ORDER BY step"
        ).to_pylist()
    from solidify.assess.canonical import canonical_json

    by_step = {row.pop("step"): row for row in rows}
    for i, (value, _) in enumerate(values):
        want = [canonical_json(value)], [canonical_json([value])], [canonical_json({"tag": value})]
        assert (by_step[f"s{i}"]["i"], by_step[f"s{i}"]["o"], by_step[f"s{i}"]["e"]) == want
    assert by_step["dup"]["i"] == ['{"a":2}']


def test_no_progress_bar_is_drawn_over_the_commands_output(tmp_path):
    """DuckDB draws one on the terminal for a query over 2 s (a large file's scan)."""
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(_LINES) + "\n", encoding="utf-8")
    with read_logs([str(path)]) as read:
        setting = read.table.query("SELECT current_setting('enable_progress_bar') AS on_")
        assert setting.column("on_").to_pylist() == [False]
