"""`--engine`: parsed before anything is read, and a clear line when Spark cannot start.

These need no Spark session (the agreement of the engines is tests/test_spark.py)."""

from __future__ import annotations

import sys

import pytest

from solidify.errors import ExitStatus
from tests.conftest import SAMPLES, cli_command

LOG = str(SAMPLES / "support-triage.jsonl.gz")


@pytest.mark.parametrize("value", ["spork", "spark://", "postgres://db:5432"])
def test_an_unknown_engine_is_a_usage_error(runner, value):
    result = runner.invoke(cli_command(), ["assess", LOG, "--engine", value])
    assert result.exit_code == ExitStatus.USAGE
    assert "expected duckdb, spark or spark://HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_spark_without_pyspark_says_what_to_install(runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark fails
    result = runner.invoke(cli_command(), ["assess", LOG, "--engine", "spark"])
    assert result.exit_code == ExitStatus.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "PySpark is not installed" in lines[0] and "solidify[spark]" in lines[0]


def test_spark_without_java_says_so(runner, monkeypatch, tmp_path):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    result = runner.invoke(cli_command(), ["report", LOG, "--out", str(tmp_path / "r.html"),
                                           "--engine", "spark://cluster:7077"])  # fmt: skip
    assert result.exit_code == ExitStatus.USAGE
    assert "no Java found" in result.stderr and "solidify[spark]" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_duckdb_sql_is_written_for_spark():
    pytest.importorskip("sqlglot")
    from solidify.assess.spark import to_spark_sql

    sql = to_spark_sql(
        "SELECT step, quantile_cont(duration_ms, 0.95) AS p95, quantile_disc(attempt, 0.5) "
        "FROM steps WHERE workflow = $workflow GROUP BY ALL"
    )
    assert "PERCENTILE(duration_ms, 0.95)" in sql
    assert "PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY attempt NULLS LAST)" in sql
    assert ":workflow" in sql and "$" not in sql


def test_a_uri_of_another_format_is_refused_in_one_line(runner):
    pytest.importorskip("pyspark")
    from solidify.assess.spark import _native_kind
    from solidify.errors import InputError

    assert _native_kind("s3a://bucket/logs/*.parquet", None) == "parquet"
    assert _native_kind("s3a://bucket/logs/", None) == "jsonl"
    with pytest.raises(InputError, match=r"^s3a://bucket/a\.csv: from a URI Spark reads"):
        _native_kind("s3a://bucket/a.csv", None)


def test_spark_connect_without_its_client_says_what_to_install(runner, monkeypatch):
    pytest.importorskip("pyspark")
    import importlib.util

    if importlib.util.find_spec("grpc") is not None:
        pytest.skip("the Spark Connect client is installed")
    monkeypatch.setenv("SPARK_REMOTE", "sc://localhost:15999")
    result = runner.invoke(cli_command(), ["assess", LOG, "--engine", "spark"])
    assert result.exit_code == ExitStatus.USAGE
    assert "Spark Connect at sc://localhost:15999" in result.stderr
    assert 'pip install "pyspark[connect]"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
