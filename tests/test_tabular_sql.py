"""CSV and Parquet logs read by DuckDB (tabular_sql): the same step table and the same
problem messages as the Python readers give."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess import tabular_sql
from solidify.assess.ingest import read_logs
from solidify.errors import InputError


@pytest.fixture(autouse=True)
def _every_file_through_duckdb(monkeypatch):
    """These tests are about DuckDB's path, which small files skip."""
    _small(monkeypatch, 0)


def _small(monkeypatch, size: int) -> None:
    monkeypatch.setattr(tabular_sql, "SMALL_CSV_BYTES", size)
    monkeypatch.setattr(tabular_sql, "SMALL_PARQUET_BYTES", size)


def _both(path: Path, monkeypatch, *, strict: bool = False):
    """(frame, problems, whether DuckDB read it) by DuckDB's path, then by the Python reader."""
    taken: list[bool] = []

    def spy(original):
        def read(*args, **options):
            taken.append(original(*args, **options))
            return taken[-1]

        return read

    for name in ("read_csv", "read_parquet"):
        monkeypatch.setattr(tabular_sql, name, spy(getattr(tabular_sql, name)))
    with read_logs([str(path)], strict=strict) as read:
        duck = read.frame(), [str(p) for p in read.problems.first], read.problems.count
    monkeypatch.undo()
    _small(monkeypatch, 1 << 40)
    with read_logs([str(path)], strict=strict) as read:
        python = read.frame(), [str(p) for p in read.problems.first], read.problems.count
    _small(monkeypatch, 0)
    return duck, python, bool(taken) and all(taken)


def _same(duck, python) -> None:
    pd.testing.assert_frame_equal(duck[0], python[0], check_categorical=False)
    assert duck[1:] == python[1:]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], end: str = "\n") -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=end)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


HEADER = ["workflow", "run_id", "step", "kind", "attempt", "cost_usd", "started_at", "input",
          "output", "rollup", "note"]  # fmt: skip


def test_a_csv_log_read_by_duckdb_gives_the_python_readers_table(tmp_path, monkeypatch):
    rows = [
        ["w", "r1", "s", "llm", "2", "0.5", "2026-09-01T10:00:00Z", '{"b": 1, "a": [1, 2]}',
         "plain text", "", "n1"],
        ["w", "r2", "s", "", "", "", "", "", "", "yes", ""],
        # A prompt over lines: the row starts on line 4, the next one on line 6.
        ["w", "r3", "s", "tool", "1", "1e-3", "2026-09-01 10:00:00.5", "line one\nline two",
         "null", "", ""],
        ["w", "r4", "s", "code", "3", "2", "2026-09-01T10:00:00+05:30", "  5 ", '"x"', "", "ü"],
    ]  # fmt: skip
    path = _write_csv(tmp_path / "log.csv", HEADER, rows)
    duck, python, taken = _both(path, monkeypatch)
    assert taken
    _same(duck, python)
    assert duck[0]["line"].tolist() == [2, 3, 4, 6]
    assert duck[0]["input"].tolist()[0] == '{"a":[1,2],"b":1}'


BAD_CELLS = [
    ({"attempt": "three"}, "attempt: expected integer, got 'three'"),
    ({"attempt": "1.5"}, "attempt: expected an integer (of at most 64 bits), got 1.5"),
    ({"cost_usd": "cheap"}, "cost_usd: expected number, got 'cheap'"),
    ({"run_id": ""}, "run_id: required field is missing"),
    ({"run_id": " \u00a0"}, "run_id: must not be empty"),
    ({"kind": "robot"}, "kind: must be one of llm, agent, tool, code, human, got 'robot'"),
    ({"output_tokens": "-1"}, "output_tokens: must not be negative, got -1"),
    ({"attempt": "0"}, "attempt: must be 1 or more, got 0"),
    ({"started_at": "yesterday"}, "started_at: not an ISO 8601 timestamp: 'yesterday'"),
    ({"input": '"\\ud800"'}, "input: holds an escape (\\uD800-\\uDFFF) that is no character"),
]


def test_bad_csv_rows_are_named_skipped_and_counted(tmp_path, monkeypatch):
    """One bad row per check (wrong type, missing, blank, unknown kind, negative, bad
    timestamp, surrogate), each between good rows, one of which (3.0) the query flags and
    the record checks keep in its place."""
    header = ["workflow", "run_id", "step", "kind", "attempt", "cost_usd", "output_tokens",
              "started_at", "input"]  # fmt: skip
    good = {"workflow": "w", "run_id": "r", "step": "s"}
    cells = [c for bad, _ in BAD_CELLS for c in (bad, {"attempt": "3.0"})]
    rows = [[{**good, **c}.get(h, "") for h in header] for c in cells]
    path = _write_csv(tmp_path / "log.csv", header, rows)
    duck, python, taken = _both(path, monkeypatch)
    assert taken
    _same(duck, python)
    # Rows are on lines 2, 3, 4...: the bad ones on the even lines.
    assert duck[1] == [f"{path}:{2 + 2 * i}: {m}" for i, (_, m) in enumerate(BAD_CELLS)]
    assert duck[2] == len(BAD_CELLS)
    assert duck[0]["line"].tolist() == [3 + 2 * i for i in range(len(BAD_CELLS))]
    assert duck[0]["attempt"].tolist() == [3] * len(BAD_CELLS)
    with pytest.raises(InputError) as stopped:
        read_logs([str(path)], strict=True)
    assert str(stopped.value) == f"{path}:2: {BAD_CELLS[0][1]}"


@pytest.mark.parametrize(
    "text",
    [
        "workflow,run_id,step\nw,r,s\nw,r\n",  # a short row
        'workflow,run_id,step\nw,r,x"y\nw,r,s\nw,r,t\n',  # a quote inside a bare cell
        "workflow,run_id,step\rw,r,s\r",  # carriage returns alone
        "workflow,run_id,step\nw,r,s\n   \nw,r,t\n",  # a line of spaces
    ],
    ids=["ragged", "stray-quote", "cr", "spaces"],
)
def test_a_csv_duckdb_would_read_otherwise_is_left_to_the_python_reader(
    tmp_path, monkeypatch, text
):
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode())
    duck, python, taken = _both(path, monkeypatch)
    assert not taken
    _same(duck, python)


_cell = st.sampled_from(["", " ", "x", "1", "-2", "2.0", "1e3", "nan", "\u00a0", "a\nb",
                         '{"k": [1, "v"]}', "null", "llm", "robot", "ok", "2026-09-01",
                         "2026-09-01T10:00:00Z", '"q"', "NaN", "12345678901234567890",
                         "[1,]", "1e999", "[-inf]", "x, inf"])  # fmt: skip
_columns = st.lists(
    st.sampled_from(["kind", "status", "attempt", "input_tokens", "cost_usd", "duration_ms",
                     "started_at", "ended_at", "model", "input", "output", "rollup", "other"]),
    unique=True, max_size=5,
)  # fmt: skip


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    columns=_columns,
    rows=st.lists(st.lists(_cell, min_size=8, max_size=8), min_size=1, max_size=6),
    end=st.sampled_from(["\n", "\r\n"]),
    data=st.data(),
)
def test_csv_duckdb_and_the_python_reader_agree(tmp_path, monkeypatch, columns, rows, end, data):
    header = ["workflow", "run_id", "step", *columns]
    required = st.sampled_from(["w", "", " ", "r"])
    body = [[data.draw(required) for _ in range(3)] + row[: len(columns)] for row in rows]
    path = _write_csv(tmp_path / "log.csv", header, body, end)
    duck, python, _ = _both(path, monkeypatch)
    _same(duck, python)


def test_record_lines_are_where_pythons_csv_module_starts_each_row(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular_sql, "SCAN_BYTES", 5)  # records cut across blocks
    text = 'a,b\n1,"x\n\ny"\n\n,\n"q""\n",2\r\n3,4'
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode())
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, line = [], 1
    for row in reader:
        if row:
            starts.append(line)
        line = reader.line_num + 1
    assert tabular_sql.record_lines(str(path)).tolist() == starts == [1, 2, 6, 7, 9]


# --- Parquet ---------------------------------------------------------------------------------


def _parquet(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_a_parquet_log_read_by_duckdb_gives_the_python_readers_table(tmp_path, monkeypatch):
    n = 4
    path = _parquet(tmp_path / "log.parquet", {
        "workflow": pa.array(["w"] * n), "run_id": pa.array([f"r{i}" for i in range(n)]),
        "step": pa.array(["s", "s", "t", "t"]),
        "kind": pa.array(["llm", None, "tool", "code"]),
        "attempt": pa.array([1, 2, None, 3], pa.int32()),
        "input_tokens": pa.array([10, None, 0, 7], pa.int64()),
        "cost_usd": pa.array([0.5, None, 1, 2.5]),
        "started_at": pa.array([0, 1_000_000, None, 5], pa.timestamp("us", "UTC")),
        "ended_at": pa.array(["2026-09-01T00:00:01Z", None, "1970-01-01 00:00:03", None]),
        "input": pa.array(['{"b": 1, "a": 2}', "plain", None, "null"]),
        "output": pa.array(["[1, 2.50]", "", "7", None]),
        "rollup": pa.array([True, False, None, True]),
        "note": pa.array(["x", None, "y", None]),
        "count": pa.array([1, 2, None, 4]),
    })  # fmt: skip
    duck, python, taken = _both(path, monkeypatch)
    assert taken
    _same(duck, python)
    assert duck[0]["extra"].tolist()[:2] == ['{"count":1,"note":"x"}', '{"count":2,"note":null}']


def test_bad_parquet_rows_are_named_by_their_row_number(tmp_path, monkeypatch):
    path = _parquet(tmp_path / "log.parquet", {
        "workflow": pa.array(["w"] * 6), "run_id": pa.array(["r", None, " ", "r", "r", "r"]),
        "step": pa.array(["s"] * 6), "kind": pa.array([None, None, None, "robot", None, None]),
        "input_tokens": pa.array([1, 1, 1, 1, -5, 2]),
        "started_at": pa.array(["2026-09-01", None, None, None, None, "soon"]),
    })  # fmt: skip
    duck, python, taken = _both(path, monkeypatch)
    assert taken
    _same(duck, python)
    assert duck[1] == [
        f"{path}:2: run_id: required field is missing",
        f"{path}:3: run_id: must not be empty",
        f"{path}:4: kind: must be one of llm, agent, tool, code, human, got 'robot'",
        f"{path}:5: input_tokens: must not be negative, got -5",
        f"{path}:6: started_at: not an ISO 8601 timestamp: 'soon'",
    ]
    assert duck[0]["line"].tolist() == [1]  # the date alone, flagged, kept by the checks


def test_a_parquet_column_of_a_type_the_query_does_not_map_goes_to_the_python_reader(
    tmp_path, monkeypatch
):
    path = _parquet(tmp_path / "log.parquet", {
        "workflow": pa.array(["w", "w"]), "run_id": pa.array(["r", "r"]),
        "step": pa.array(["s", "s"]), "attempt": pa.array(["1", "two"]),
    })  # fmt: skip
    duck, python, taken = _both(path, monkeypatch)
    assert not taken
    _same(duck, python)
    assert len(duck[1]) == 2


def test_a_step_table_written_by_ingest_reads_back_by_duckdb(tmp_path, monkeypatch):
    from solidify.assess.ingest import write_step_table

    source = _write_csv(tmp_path / "log.csv", HEADER, [
        ["w", "r1", "s", "llm", "2", "0.5", "2026-09-01T10:00:00Z", '{"a": 1}', "x", "", "n"],
        ["w", "r2", "t", "", "", "", "", "", "", "", ""],
    ])  # fmt: skip
    with read_logs([str(source)]) as read:
        frame = read.frame()
    out = tmp_path / "steps.parquet"
    write_step_table(frame, str(out))
    duck, python, taken = _both(out, monkeypatch)
    assert taken
    _same(duck, python)
    pd.testing.assert_frame_equal(duck[0], frame, check_categorical=False)


_optional = st.one_of(st.none(), st.just("x"))


@pytest.mark.slow
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(n=st.integers(1, 5), data=st.data())
def test_parquet_duckdb_and_the_python_reader_agree(tmp_path, monkeypatch, n, data):
    def column(values, kind):
        return pa.array([data.draw(values) for _ in range(n)], kind)

    text = st.none() | st.sampled_from(["", " ", "w", "llm", "robot", "ok", "error"])
    stamp = st.none() | st.sampled_from(["2026-09-01", "2026-09-01T10:00:00+02:00", "x"])
    json_cell = st.none() | st.sampled_from(["", "null", "1e2", '{"b": [1], "a": "z"}', "NaN",
                                             "text", "[1, 2]", '"s"', "[1,]", "-Infinity",
                                             "[1e400]", '{"a": nan}'])  # fmt: skip
    candidates = {
        "kind": lambda: column(text, pa.string()),
        "status": lambda: column(text, pa.string()),
        "attempt": lambda: column(st.none() | st.integers(-1, 3), pa.int64()),
        "output_tokens": lambda: column(st.none() | st.integers(-2, 9), pa.int16()),
        "duration_ms": lambda: column(st.none() | st.floats(-1, 1e6), pa.float64()),
        "started_at": lambda: column(stamp, pa.string()),
        "ended_at": lambda: column(st.none() | st.integers(0, 10**12), pa.timestamp("ms")),
        "model": lambda: column(text, pa.string()),
        "input": lambda: column(json_cell, pa.string()),
        "output": lambda: column(json_cell, pa.large_string()),
        "rollup": lambda: column(st.none() | st.booleans(), pa.bool_()),
        "other": lambda: column(st.none() | st.integers(-5, 5), pa.int64()),
    }
    chosen = data.draw(st.lists(st.sampled_from(sorted(candidates)), unique=True, max_size=6))
    table = {
        "workflow": column(st.sampled_from(["w", "v"]), pa.string()),
        "run_id": column(text, pa.string()),
        "step": column(st.just("s"), pa.string()),
        **{name: candidates[name]() for name in chosen},
    }
    path = _parquet(tmp_path / "log.parquet", table)
    duck, python, taken = _both(path, monkeypatch)
    assert taken
    _same(duck, python)


def test_the_row_checks_and_defaults_are_sql_that_sqlglot_carries_to_spark() -> None:
    import sqlglot

    schema = pa.schema([("workflow", pa.string()), ("run_id", pa.string()), ("step", pa.string()),
                        ("attempt", pa.int32()), ("cost_usd", pa.float64()),
                        ("started_at", pa.timestamp("us", "UTC")), ("input", pa.string()),
                        ("rollup", pa.bool_()), ("note", pa.string())])  # fmt: skip
    for columns in (tabular_sql.parquet_columns(schema), tabular_sql.csv_columns(schema.names)):
        assert columns is not None
        sql = f"SELECT {tabular_sql.insert_sql(columns)}, {tabular_sql.problem_sql(columns)} FROM t"
        (spark,) = sqlglot.transpile(sql, read="duckdb", write="spark")
        assert "SELECT" in spark
        for construct in ("LIST(", "STRUCT_PACK", "LIST_CONTAINS"):
            assert construct not in spark.upper()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    rows=st.lists(
        st.lists(st.text(st.sampled_from('a,"\n \r'), max_size=4), max_size=3), max_size=6
    ),
    end=st.sampled_from(["\n", "\r\n"]),
    size=st.integers(1, 9),
)
def test_record_lines_agree_with_pythons_csv_module(tmp_path, monkeypatch, rows, end, size):
    monkeypatch.setattr(tabular_sql, "SCAN_BYTES", size)
    out = io.StringIO()
    csv.writer(out, lineterminator=end).writerows([["h"], *rows])
    path = tmp_path / "x.csv"
    path.write_bytes(out.getvalue().encode())
    reader = csv.reader(io.StringIO(out.getvalue(), newline=""))
    starts, line = [], 1
    for row in reader:
        if row:
            starts.append(line)
        line = reader.line_num + 1
    found = tabular_sql.record_lines(str(path))
    if "\r" in "".join(c for row in rows for c in row):
        return  # a carriage return in a cell: the file may go to the Python reader
    assert found is not None
    assert found.tolist() == starts


def test_json_cells_duckdb_reads_otherwise_are_left_to_the_record_checks(tmp_path, monkeypatch):
    cells = ["[1,]", "nan", "[1, -Infinity]", "1e999", '{"a": [1e400]}', "an inf, infinite", "ok"]
    rows = [["w", f"r{i}", "s", cell] for i, cell in enumerate(cells)]
    path = _write_csv(tmp_path / "log.csv", ["workflow", "run_id", "step", "input"], rows)
    duck, python, taken = _both(path, monkeypatch)
    assert taken
    _same(duck, python)
    assert duck[0]["input"].tolist()[0] == '"[1,]"'  # text, as the record checks read it


def test_csv_and_parquet_texts_are_stored_with_keys_sorted(tmp_path, monkeypatch):
    """As JSON Lines are: the engine compares texts, so one value has one text."""
    cell = '{"b": {"d": 1, "c": [{"z": 0, "y": 1}]}, "a": 1}'
    path = _write_csv(tmp_path / "log.csv", HEADER, [
        ["w", "r1", "s", "llm", "1", "", "", cell, cell, "", "x"],
    ])  # fmt: skip
    with read_logs([str(path)]) as read:
        stored = read.table.query("SELECT input, output FROM steps").to_pylist()
    want = '{"a":1,"b":{"c":[{"y":1,"z":0}],"d":1}}'
    assert stored == [{"input": want, "output": want}]
    out = tmp_path / "log.parquet"
    pq.write_table(pa.table({"workflow": ["w"], "run_id": ["r1"], "step": ["s"], "input": [cell]}),
                   out)  # fmt: skip
    with read_logs([str(out)]) as read:
        assert read.table.query("SELECT input FROM steps").to_pylist() == [{"input": want}]
