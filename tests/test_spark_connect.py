"""`--engine spark` through Spark Connect (SPARK_REMOTE=sc://HOST:PORT), against a real
server: the one in PySpark's pip package, started once for this module on a free port
and stopped at its end.

Marked `spark` (CI runs them with `pytest -m spark`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, cli_command

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
pytest.importorskip("grpc")  # the Connect client (solidify[spark] brings pyspark[connect])
pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]

from solidify.assess.ingest import read_logs  # noqa: E402
from solidify.assess.spark import SparkStepTable, connect_session  # noqa: E402
from solidify.errors import InputError  # noqa: E402
from tests.test_spark import bad_log, canonical_parquet, without_seconds  # noqa: E402

SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`sc://localhost:PORT` of a Connect server in local mode, gone after the module."""
    import pyspark

    home = Path(pyspark.__file__).parent
    folder = tmp_path_factory.mktemp("connect")
    port = free_port()
    log = (folder / "server.log").open("wb")
    env = dict(os.environ, SPARK_HOME=str(home), PYSPARK_PYTHON=sys.executable)
    env.pop("SPARK_REMOTE", None)
    # spark-submit execs the JVM in its own process group: ended as one at teardown.
    process = subprocess.Popen(
        [str(home / "bin" / "spark-submit"), "--class", SERVER, "--master", "local[2]",
         "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=2",
         "--conf", f"spark.local.dir={folder}", "--conf", f"spark.sql.warehouse.dir={folder}/w",
         "--driver-java-options", f"-Dderby.system.home={folder}"],
        stdout=log, stderr=log, env=env, cwd=folder, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while b"Spark Connect server started" not in (folder / "server.log").read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the Connect server did not start: " + str(folder / "server.log"))
            time.sleep(0.2)
        yield f"sc://localhost:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    # Nothing of the server's left running (its Python workers end with the JVM).
    deadline = time.monotonic() + 20
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_alive(process.pid), "the Connect server's processes still running"


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


# Every path Connect takes on two sample files and a log with bad records: gzip JSON Lines
# (split once), plain JSON Lines, CSV read locally and handed over as Arrow. The whole
# samples folder is compared in local mode (test_spark.py); through Connect it would take
# the Spark suite past its time.
CONNECT_SAMPLES = ["support-triage.jsonl.gz", "invoice-intake.csv"]


def test_assessment_through_connect_equals_duckdbs(server, runner, tmp_path, monkeypatch):
    """The same JSON (seconds aside) and the same bad records named on stderr."""
    logs = [*(str(SAMPLES / name) for name in CONNECT_SAMPLES), str(bad_log(tmp_path))]
    args = ["assess", *logs, "--format", "json"]
    on_duck = runner.invoke(cli_command(), args)
    monkeypatch.setenv("SPARK_REMOTE", server)
    on_spark = runner.invoke(cli_command(), [*args, "--engine", "spark"])
    assert on_duck.exit_code == 0, on_duck.stderr
    assert on_spark.exit_code == 0, on_spark.stderr
    assert "bad.jsonl:2: not valid JSON" in on_duck.stderr
    assert on_spark.stderr == on_duck.stderr
    got, expected = (without_seconds(json.loads(r.stdout)) for r in (on_spark, on_duck))
    assert got == expected, first_difference(got, expected)


def first_difference(got, expected, path: str = "") -> str:
    """Where two JSON values first differ, for the failure message."""
    if isinstance(got, dict) and isinstance(expected, dict):
        for key in sorted(got.keys() | expected.keys()):
            if got.get(key) != expected.get(key):
                return first_difference(got.get(key), expected.get(key), f"{path}.{key}")
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            if a != b:
                return first_difference(a, b, f"{path}[{i}]")
    return f"{path}: {got!r} != {expected!r}"


def test_a_table_in_a_given_session_leaves_its_child_session_released(server, tmp_path):
    """Joined, not owned: the table works in a child session of its own on the server,
    drops its views and releases that session on close; the given one keeps working."""
    parquet = canonical_parquet(SAMPLES / "support-triage.jsonl.gz", tmp_path / "t.parquet")
    paths = [str(bad_log(tmp_path)), str(parquet)]
    with read_logs(paths) as local:
        rows = [(r.source, r.line) for r in local.frame().itertuples()]
    base = connect_session(server)
    try:
        table = SparkStepTable(session=base)
        child = table.spark
        reading = table.read(paths)
        assert reading.problems.count == 6
        got = table.query("SELECT source, line FROM steps ORDER BY rowid").to_pylist()
        assert [(r["source"], r["line"]) for r in got] == rows
        table.materialize("kept", "SELECT line FROM steps")
        assert {t.name for t in child.catalog.listTables()} >= {"steps", "kept"}
        assert "steps" not in {t.name for t in base.catalog.listTables()}
        table.close()
        assert child.is_stopped
        assert base.sql("SELECT 1 AS one").collect()[0].one == 1
    finally:
        base.stop()


def test_a_path_the_server_cannot_see_is_bad_input_naming_it(server, monkeypatch):
    """The server reads the logs itself: a path missing on its machine (here: sent as
    another path) is named in one line, exit 3, not the server's stack trace."""
    import solidify.assess.spark as spark_module

    monkeypatch.setattr(spark_module, "_spark_uri", lambda name: "file:///elsewhere/log.jsonl")
    base = connect_session(server)
    try:
        with SparkStepTable(session=base) as table, pytest.raises(InputError) as error:
            table.read([str(SAMPLES / "support-triage.jsonl.gz")])
    finally:
        base.stop()
    assert str(error.value).startswith("/elsewhere/log.jsonl: the Spark Connect server cannot")
    assert error.value.exit_code == 3


@pytest.mark.parametrize("remote", ["unreachable", "local[2]"])
def test_an_unusable_spark_remote_is_one_line_and_exit_2(runner, monkeypatch, remote):
    if remote == "unreachable":
        remote = f"sc://localhost:{free_port()}"  # nothing listens there
    monkeypatch.setenv("SPARK_REMOTE", remote)
    result = runner.invoke(cli_command(), ["assess", str(SAMPLES), "--engine", "spark"])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert remote in lines[0]
    assert "SPARK_REMOTE" in lines[0]
