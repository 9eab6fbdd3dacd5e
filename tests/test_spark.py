"""Spark and DuckDB agree: the same step table from the same logs, the same answers to the
kinds of queries the measures ask, the same assessment.

Marked `spark` (CI runs them with `pytest -m spark`); one local Spark session serves all.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import SAMPLES, cli_command, record, write_jsonl

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
pytestmark = [
    pytest.mark.spark,
    # PySpark warns about pandas 3 where it meets pandas; the step table reaches it as Arrow.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]

from solidify.assess.ingest import read_logs, write_step_table  # noqa: E402
from solidify.assess.schema import STEP_TABLE_SCHEMA  # noqa: E402
from solidify.assess.spark import SparkStepTable, read_with_spark  # noqa: E402
from solidify.assess.steptable import StepTable  # noqa: E402
from solidify.errors import InputError  # noqa: E402


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every test: each table works in a child session of it."""
    import tempfile

    from solidify.assess.spark import start_session, stop_session

    folder = tempfile.mkdtemp(prefix="solidify-spark-test-")
    session = start_session("local[2]", folder)
    yield session
    stop_session(session)
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def duck(paths: list[str]) -> StepTable:
    """The DuckDB side, filled by today's reader."""
    with read_logs(paths) as read:
        frame = read.frame()
    return StepTable.of([pa.Table.from_pandas(frame, preserve_index=False)])


def spark_table(spark, paths: list[str], **options: Any) -> SparkStepTable:
    table = SparkStepTable(session=spark)
    table.read(paths, **options)
    return table


def canonical_parquet(source: Path, out: Path) -> Path:
    """A sample as a user's Parquet export: the record's fields as columns, input and
    output as JSON text."""
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    for r in records:
        for key in ("input", "output"):
            if key in r:
                r[key] = json.dumps(r[key])
    pq.write_table(pa.Table.from_pylist(records), out)
    return out


def assert_same_rows(spark_side: pa.Table, duck_side: pa.Table) -> None:
    assert spark_side.num_rows == duck_side.num_rows
    assert spark_side.column_names == duck_side.column_names
    for name in duck_side.column_names:
        left = spark_side[name].to_pylist()
        right = duck_side[name].to_pylist()
        if left != right:
            first = next(i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a != b)
            pytest.fail(
                f"column {name} differs at row {first}: {left[first]!r} != {right[first]!r}"
            )


def test_step_table_is_the_same_on_both_engines(spark, tmp_path):
    parquet = canonical_parquet(SAMPLES / "support-triage.jsonl.gz", tmp_path / "triage.parquet")
    paths = [
        str(SAMPLES / "release-cleanup"),  # JSON Lines, read by Spark
        str(SAMPLES / "order-desk.jsonl.gz"),  # gzip: one split per file
        str(SAMPLES / "invoice-intake.csv"),  # read locally, handed to Spark as Arrow
        str(parquet),  # Parquet, read by Spark
    ]
    columns = ", ".join(f'"{name}"' for name in STEP_TABLE_SCHEMA.names)
    order = f"SELECT {columns} FROM steps ORDER BY source, line"
    with spark_table(spark, paths) as on_spark, duck(paths) as on_duck:
        got = on_spark.query(order)
        expected = on_duck.query(order)
        # Both number the rows in the order they were read (samples and examples use it).
        in_order = "SELECT source, line FROM steps ORDER BY rowid"
        assert on_spark.query(in_order).to_pylist() == on_duck.query(in_order).to_pylist()
        # DuckDB names the zone Etc/UTC, Spark UTC: the same instants.
        assert [(f.name, str(f.type).replace("Etc/UTC", "UTC")) for f in got.schema] == [
            (f.name, str(f.type).replace("Etc/UTC", "UTC")) for f in expected.schema
        ]
        assert {s.rsplit("/", 1)[-1] for s in got["source"].to_pylist()} >= {
            "month1.jsonl", "order-desk.jsonl.gz", "invoice-intake.csv", "triage.parquet"
        }  # fmt: skip
        assert_same_rows(got, expected)


def test_a_file_named_with_spaces_and_accents_is_read_as_named(spark, tmp_path):
    """Spark reads the path as given (not percent-encoded) and names its rows after it."""
    folder = tmp_path / "my logs"
    folder.mkdir()
    log = folder / "run é.jsonl"
    log.write_bytes((SAMPLES / "release-cleanup" / "month3.jsonl").read_bytes()[:20_000])
    log.write_text(log.read_text(encoding="utf-8").rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    order = "SELECT source, line, step, output FROM steps ORDER BY rowid"
    with spark_table(spark, [str(log)]) as on_spark, duck([str(log)]) as on_duck:
        got = on_spark.query(order).to_pylist()
        assert got == on_duck.query(order).to_pylist()
    assert got and {row["source"] for row in got} == {str(log)}


def test_spark_chooses_the_same_step_samples_as_duckdb(spark, monkeypatch):
    """md5 is the same on both engines: the same sample above the cap, the same rows under
    it, the same failures and prompts (`rowid` given as a column, as Spark has none)."""
    from solidify.assess import sampling

    monkeypatch.setattr(sampling, "LIGHT_EXAMPLES", 20)
    rows = [
        {
            "workflow": "w",
            "run_id": "r",
            "step": "big",
            "kind": "tool",
            "status": "ok",
            "input": f'{{"n":{n % 7}}}',
            "output": str(n % 7 * 3),
        }
        for n in range(60)
    ]
    rows += [{"workflow": "w", "run_id": "r", "step": "s", "kind": "llm", "status": status,
              "input": '{"b":1,"a":2}', "output": '"o"' if status == "ok" else None,
              "error": None if status == "ok" else "boom", "extra": '{"prompt_x":1}'}
             for status in ("ok", "error", "ok")]  # fmt: skip
    arrow = pa.Table.from_pylist(rows, schema=STEP_TABLE_SCHEMA)
    numbered = arrow.append_column("rowid", pa.array(range(len(rows)), pa.int64()))
    with SparkStepTable(session=spark) as on_spark, StepTable.of([arrow]) as on_duck:
        on_spark.register("numbered", numbered)
        got = sampling.step_samples(on_spark, source="numbered")
        expected = sampling.step_samples(on_duck)
    assert len(expected[("w", "big")].rows) == 20 and expected[("w", "s")].failed
    assert got == expected


def test_line_numbers_hold_when_spark_splits_a_file(spark, tmp_path):
    """Many small splits of one file (and blank lines): every line number is the file's."""
    lines = (SAMPLES / "release-cleanup" / "month1.jsonl").read_text().splitlines()
    path = tmp_path / "split.jsonl"
    path.write_text(
        "".join(line + ("\n\n" if i % 7 == 0 else "\n") for i, line in enumerate(lines))
    )
    table = SparkStepTable(session=spark)
    table.spark.conf.set("spark.sql.files.maxPartitionBytes", "65536")
    table.spark.conf.set("spark.sql.files.openCostInBytes", "0")
    with table, duck([str(path)]) as on_duck:
        table.read([str(path)])
        splits = table.spark.read.text(str(path)).rdd.getNumPartitions()
        assert splits > 4
        order = "SELECT source, line, run_id, step, input FROM steps ORDER BY line"
        assert_same_rows(table.query(order), on_duck.query(order))


BAD_LINES = [
    record(step="fine", input={"b": 1, "a": "é"}, output="x"),
    "{not json",
    {"workflow": "wf", "step": "no run"},
    record(attempt="two"),
    record(kind="robot"),
    "",
    record(started_at="yesterday"),
    record(input_tokens=-3),
    record(step="fine", status="error", error="boom", attempt=2),
]


def bad_log(tmp_path: Path) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in BAD_LINES))
    return path


def test_bad_records_are_named_as_the_local_reader_names_them(spark, tmp_path):
    path = bad_log(tmp_path)
    with read_logs([str(path)]) as local:
        pass
    with SparkStepTable(session=spark) as table:
        reading = table.read([str(path)])
        assert reading.problems.count == local.problems.count == 6
        assert [str(p) for p in reading.problems.first] == [str(p) for p in local.problems.first]
        assert table.query("SELECT line FROM steps ORDER BY line")["line"].to_pylist() == [1, 9]


def test_strict_stops_at_the_first_bad_line(spark, tmp_path):
    path = bad_log(tmp_path)
    with pytest.raises(InputError) as local:
        read_logs([str(path)], strict=True)
    with SparkStepTable(session=spark) as table, pytest.raises(InputError) as on_spark:
        table.read([str(path)], strict=True)
    assert str(on_spark.value) == str(local.value)
    assert re.match(r".*bad\.jsonl:2: not valid JSON", str(on_spark.value))


def test_a_step_table_written_by_ingest_is_read_as_it_is(spark, tmp_path):
    log = write_jsonl(tmp_path / "a.jsonl", [record(step=f"s{i}", output=i) for i in range(5)])
    with read_logs([str(log)]) as read:
        frame = read.frame()
    out = tmp_path / "steps.parquet"
    write_step_table(frame, str(out))
    with SparkStepTable(session=spark) as table:
        table.read([str(out)])
        rows = table.query("SELECT step, output, source, line FROM steps ORDER BY line")
    assert rows.to_pylist() == [
        {"step": f"s{i}", "output": str(i), "source": str(log), "line": i + 1} for i in range(5)
    ]


# The kinds of questions the measures ask, in DuckDB's dialect; each must give the same
# answer on Spark after SQLGlot (floats within rounding of the summation order).
QUERIES = {
    "counts and sums": """
        SELECT workflow, step, kind, count(*) AS executions, sum(input_tokens) AS tokens,
               sum(cost_usd) AS cost, count(DISTINCT input) AS inputs,
               count(DISTINCT run_id) AS runs, avg(duration_ms) AS mean_ms,
               sum(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END) AS failures,
               count(*) FILTER (WHERE status = 'timeout') AS timeouts
        FROM steps GROUP BY workflow, step, kind ORDER BY workflow, step, kind""",
    "retries folded": """
        SELECT workflow, step, count(*) AS calls, sum(tries) AS tries,
               sum(CASE WHEN before = 'error' THEN 1 ELSE 0 END) AS after_error,
               max(spent) AS most_spent
        FROM (SELECT workflow, step, run_id,
                     row_number() OVER (PARTITION BY workflow, run_id, step
                                        ORDER BY attempt DESC, line DESC) AS last,
                     count(*) OVER (PARTITION BY workflow, run_id, step) AS tries,
                     lag(status) OVER (PARTITION BY workflow, run_id, step
                                       ORDER BY attempt, line) AS before,
                     sum(coalesce(input_tokens, 0)) OVER (
                         PARTITION BY workflow, run_id ORDER BY source, line
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS spent
              FROM steps)
        WHERE last = 1 GROUP BY workflow, step ORDER BY workflow, step""",
    "quantiles": """
        SELECT workflow, step, quantile_cont(duration_ms, 0.5) AS p50,
               quantile_cont(duration_ms, 0.95) AS p95, median(duration_ms) AS median,
               quantile_disc(output_tokens, 0.9) AS p90_tokens, min(started_at) AS first,
               max(ended_at) AS last
        FROM steps GROUP BY ALL ORDER BY ALL""",
    "stable sample and hold-out by md5": """
        SELECT workflow, step, source, line,
               md5(run_id || ':' || CAST(line AS VARCHAR)) < '4ccccccd' AS held_out
        FROM (SELECT *, row_number() OVER (
                  PARTITION BY workflow, step
                  ORDER BY md5(workflow || run_id || step || CAST(attempt AS VARCHAR)), line
              ) AS rank FROM steps)
        WHERE rank <= 7 ORDER BY workflow, step, rank""",
    "strings": """
        SELECT lower(step) AS low, length(step) AS n, substr(step, 2, 4) AS middle,
               replace(step, '_', '-') AS dashed, regexp_matches(step, '^[a-m]') AS early,
               starts_with(workflow, 'order') AS orders, concat(workflow, '/', step) AS name,
               upper(coalesce(model, 'none')) AS model, count(*) AS n_rows,
               max(length(input)) AS longest_input
        FROM steps GROUP BY ALL ORDER BY ALL""",
    "decimal sums": """
        SELECT workflow, sum(CAST(cost_usd AS DECIMAL(18, 9))) AS cost,
               round(sum(cost_usd), 6) AS rounded
        FROM steps GROUP BY workflow ORDER BY workflow""",
    "months": """
        SELECT workflow, date_trunc('month', started_at) AS month,
               strftime(started_at, '%Y-%m') AS label, count(*) AS n
        FROM steps WHERE started_at IS NOT NULL GROUP BY ALL ORDER BY ALL""",
    "the forms to write instead": """
        SELECT step, date_diff('millisecond', TIMESTAMP '1970-01-01', min(started_at)) AS ms,
               arg_max(line, (duration_ms, line)) AS slowest, arg_min(line, line) AS first,
               string_agg(CAST(line AS VARCHAR), ',' ORDER BY line DESC) AS lines,
               count(*) FILTER (WHERE md5(run_id) < '4ccccccd') AS held_out
        FROM steps WHERE workflow = 'support-triage' GROUP BY step ORDER BY step""",
    "a parameter and a registered table": """
        SELECT s.model, p.per_token, sum(s.output_tokens * p.per_token) AS cost
        FROM steps s JOIN prices p ON s.model = p.model
        WHERE s.workflow = $workflow GROUP BY ALL ORDER BY ALL""",
}


def close_enough(left: Any, right: Any) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is right
        return math.isclose(float(left), float(right), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return left is not None and right is not None and Decimal(left) == Decimal(right)
    return left == right


@pytest.fixture(scope="module")
def both(spark):
    paths = [str(p) for p in sorted(SAMPLES.iterdir()) if p.suffix in (".gz", ".csv") or p.is_dir()]
    prices = pa.table(
        {"model": ["claude-haiku-4-5", "claude-sonnet-4-5"], "per_token": [1e-6, 3e-6]}
    )
    with spark_table(spark, paths) as on_spark, duck(paths) as on_duck:
        for engine in (on_spark, on_duck):
            engine.register("prices", prices)
        yield on_spark, on_duck


@pytest.mark.parametrize("name", list(QUERIES))
def test_queries_answer_the_same_on_both_engines(both, name):
    on_spark, on_duck = both
    params = {"workflow": "order-desk"} if "$workflow" in QUERIES[name] else None
    got = on_spark.query(QUERIES[name], params).to_pylist()
    expected = on_duck.query(QUERIES[name], params).to_pylist()
    assert len(expected) > 0
    assert len(got) == len(expected)
    for row, (left, right) in enumerate(zip(got, expected, strict=True)):
        assert list(left) == list(right)
        for key in right:
            assert close_enough(left[key], right[key]), (name, row, key, left[key], right[key])


def test_assessment_json_from_spark_equals_duckdbs(spark, runner, tmp_path):
    """The whole command: `--engine spark` gives the JSON the default engine gives, and
    names the skipped bad records as it does."""
    args = ["assess", str(SAMPLES), str(bad_log(tmp_path)), "--format", "json"]
    on_duck = runner.invoke(cli_command(), args)
    on_spark = runner.invoke(cli_command(), [*args, "--engine", "spark"])
    assert on_duck.exit_code == 0, on_duck.stderr
    assert on_spark.exit_code == 0, on_spark.stderr
    assert "bad.jsonl:2: not valid JSON" in on_duck.stderr
    assert on_spark.stderr == on_duck.stderr
    assert without_seconds(json.loads(on_spark.stdout)) == without_seconds(
        json.loads(on_duck.stdout)
    )
    assert spark.getActiveSession() is not None  # the command joined the session, left it running


def without_seconds(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_seconds(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [without_seconds(v) for v in value]
    return value


def test_reading_with_spark_gives_the_local_rows_in_the_local_order(spark):
    paths = [str(SAMPLES / "support-triage.jsonl.gz"), str(SAMPLES / "invoice-intake.csv")]
    with read_with_spark(paths, session=spark) as got, read_logs(paths) as expected:
        assert got.files == expected.files
        mine, theirs = got.frame(), expected.frame()
    assert mine["source"].astype(str).tolist() == theirs["source"].astype(str).tolist()
    assert mine["input"].tolist() == theirs["input"].tolist()


def test_a_closed_table_leaves_no_folder_and_the_session_running(spark):
    table = SparkStepTable(session=spark)
    folder = Path(table._folder)
    assert folder.is_dir()
    table.read([str(SAMPLES / "support-triage.jsonl.gz")])
    table.close()
    assert not folder.exists()
    assert spark.sql("SELECT 1 AS one").collect()[0].one == 1


def test_the_table_is_kept_once_and_released_on_close(spark, tmp_path):
    """Read logs are kept in Spark's cache as one table (not the parse and the table), the
    measures read it there, and closing releases it."""

    def cached() -> int:  # Spark's kept RDDs (other tests' tables too)
        return spark.sparkContext._jsc.getPersistentRDDs().size()

    before = cached()
    with SparkStepTable(session=spark) as table:
        # Spark parses the JSON Lines; the CSV is read locally and appended.
        copy = tmp_path / "triage.jsonl.gz"
        copy.write_bytes((SAMPLES / "support-triage.jsonl.gz").read_bytes())
        table.read([str(copy), str(SAMPLES / "invoice-intake.csv")])
        assert cached() == before + 1
        # A query reads the kept rows: the rowids are not joined nor the parts united again.
        plan = table.spark.sql("SELECT count(*) FROM steps")._jdf.queryExecution()
        top = plan.optimizedPlan().toString().split("InMemoryRelation")[0]
        assert "Join" not in top and "Union" not in top, top
        rows = len(table)
        copy.unlink()  # rows added afterwards build on the kept table, not on the parse
        table.append(table.arrow().slice(0, 3))
        assert len(table) == rows + 3
    assert cached() == before


def test_texts_hold_the_values_duckdbs_json_reads(spark):
    """DuckDB's own reader keeps the logged key order (`json(...)`); the step table holds
    the canonical form (sorted keys). Texts may differ, the values they hold may not."""
    import duckdb
    import orjson

    log = SAMPLES / "order-desk.jsonl.gz"
    with SparkStepTable(session=spark) as table:
        table.read([str(log)])
        ours = table.query("SELECT input, output FROM steps ORDER BY line").to_pylist()
    theirs = duckdb.sql(
        f"SELECT json(input) AS input, json(output) AS output FROM read_json('{log}', "
        "columns={'input': 'JSON', 'output': 'JSON'}, format='newline_delimited')"
    ).fetchall()
    assert len(ours) == len(theirs)
    for row, (raw_input, raw_output) in zip(ours, theirs, strict=True):
        for text, raw in ((row["input"], raw_input), (row["output"], raw_output)):
            assert (text is None) == (raw is None)
            if text is not None:
                assert orjson.loads(text) == orjson.loads(raw)


def test_an_assessment_stopped_while_spark_reads_leaves_nothing(tmp_path):
    """Ctrl-C while Spark reads: the command stops with one line, and neither Spark's JVM
    nor its scratch folder is left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.test_nothing_left_behind import _ours, big_log

    log = big_log(tmp_path / "big.jsonl", records=60_000)
    temp = tmp_path / "tmp"
    temp.mkdir()
    marker = f"spark-{os.getpid()}-{time.monotonic_ns()}"
    child = subprocess.Popen(
        [sys.executable, "-m", "solidify", "assess", str(log), "--engine", "spark"],
        env=dict(os.environ, TMPDIR=str(temp), SOLIDIFY_TEST_RUN=marker),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    # Reading has begun when Spark's Python workers check records.
    while child.poll() is None and time.monotonic() < deadline:
        if any(b"pyspark.daemon" in _cmdline(pid) for pid in _ours(marker)):
            break
        time.sleep(0.05)
    if child.poll() is not None:
        pytest.skip("the assessment finished before it could be stopped")
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert (child.returncode, err.decode().splitlines()[-1]) == (130, "Aborted!"), err.decode()
    assert "Traceback" not in err.decode(), err.decode()
    deadline = time.monotonic() + 10
    while _ours(marker) and time.monotonic() < deadline:
        time.sleep(0.1)  # the JVM exits when its parent's pipe closes
    assert _ours(marker) == [], "Spark's JVM still running"
    assert list(temp.iterdir()) == [], "left in the temporary folder"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# (Skipped bad records through the command: the JSON equality test above.)
def test_strict_stops_the_command_as_it_does_locally(spark, runner, tmp_path):
    log = str(bad_log(tmp_path))
    args = ["assess", log, "--format", "json", "--strict"]
    local = runner.invoke(cli_command(), args)
    on_spark = runner.invoke(cli_command(), [*args, "--engine", "spark"])
    assert on_spark.exit_code == local.exit_code == 3
    assert on_spark.stderr == local.stderr
    assert "bad.jsonl:2: not valid JSON" in on_spark.stderr
