"""The step table on Apache Spark: the same `Engine` as `steptable.StepTable`, for logs
that outgrow one machine.

Spark reads canonical JSON Lines and Parquet itself (local folders or any URI its
file systems know: s3a://, gs://, abfss://, hdfs://); each record is then checked by
the same rules as the local reader (`records.BatchBuilder`, run on the executors on
Arrow batches), so defaults, `input`/`output` text and bad-record messages are the
ones DuckDB's table gets. Files of other formats (CSV, OpenTelemetry, Langfuse …) are
read by the local readers and handed to Spark as Arrow.

Queries are written once, in DuckDB's dialect, and transpiled by SQLGlot; only their
results (aggregates and samples) come back to the driver, as Arrow.

Line numbers on Spark: for JSON Lines, the line in the file (counted from the start
of each split Spark reads plus the line's place in the split, so blank lines count
as they do locally); for Parquet, the row number in the file, as locally.

PySpark is an optional extra (`pip install "solidify[spark]"`) and needs Java 17+.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from solidify.assess.records import BatchBuilder, Problem, Problems, Unreadable
from solidify.assess.schema import STEP_TABLE_SCHEMA
from solidify.assess.steptable import TABLE, filled
from solidify.errors import ExitStatus, InputError, SolidifyError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Local mode on a laptop or a CI runner: the driver is also the only executor.
DEFAULT_DRIVER_MEMORY = os.environ.get("SOLIDIFY_SPARK_MEMORY", "1g")
LOCAL = "local[*]"
NATIVE = {"jsonl", "parquet"}  # what Spark reads itself; the rest goes through Python
PROBLEM = "_problem"  # column of the parsed rows naming what is wrong with a bad record
PROBLEM_FIELD = "_problem_field"
INSTALL_HINT = 'install solidify[spark] (pip install "solidify[spark]") and Java 17 or later'

_SPARK_TYPES = {
    pa.string(): "STRING",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


class EngineUnavailable(SolidifyError):
    """The engine asked for cannot start here (PySpark or Java missing, master unreachable)."""

    exit_code = ExitStatus.USAGE


def spark_type(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    return _SPARK_TYPES[kind]


STEPS_DDL = ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in STEP_TABLE_SCHEMA)
# The view `steps` also has `rowid`, the order rows were read in (file by file, line by
# line), as DuckDB's tables have: the stages order samples and examples by it.
VIEW_DDL = f"{STEPS_DDL}, `rowid` BIGINT"
FILE_SHIFT = 1 << 40  # rowid = the file's rank * FILE_SHIFT + the row's place in the file


@functools.lru_cache(maxsize=512)
def to_spark_sql(sql: str) -> str:
    """DuckDB SQL in Spark's dialect (cached: the stages ask the same questions per step)."""
    import sqlglot

    tree = sqlglot.parse_one(sql, read="duckdb").transform(_spark_forms)
    return tree.sql(dialect="spark")


def _spark_forms(node: Any) -> Any:
    """What SQLGlot leaves in a form Spark refuses or reads differently (docs/performance.md,
    "Engines"): DuckDB's quantile_cont(x, q) is Spark's percentile(x, q) (the same linear
    interpolation) and quantile_disc(x, q) is percentile_disc(q) WITHIN GROUP (ORDER BY x)."""
    from sqlglot import exp

    if isinstance(node, exp.PercentileCont) and node.args.get("expression") is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    if isinstance(node, exp.PercentileDisc) and node.args.get("expression") is not None:
        ordered = exp.Order(expressions=[exp.Ordered(this=node.this, nulls_first=False)])
        return exp.WithinGroup(
            this=exp.Anonymous(this="percentile_disc", expressions=[node.expression]),
            expression=ordered,
        )
    return node


@dataclass
class Reading:
    """What reading into Spark found: the files and the records it skipped."""

    files: list[str] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)


def check_available() -> None:
    """One clear line, before anything starts, when PySpark or Java is missing."""
    for module, name in (("pyspark", "PySpark"), ("sqlglot", "SQLGlot")):
        try:
            __import__(module)
        except ImportError:
            raise EngineUnavailable(
                f"--engine spark: {name} is not installed; {INSTALL_HINT}"
            ) from None
    if os.environ.get("SPARK_REMOTE"):
        return  # Spark Connect: the server runs Java, not this machine
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home, "bin", "java") if java_home else None
    if not (java and java.exists()) and not shutil.which("java"):
        raise EngineUnavailable(f"--engine spark: no Java found (java, JAVA_HOME); {INSTALL_HINT}")


def start_session(master: str | None, folder: str, memory: str = DEFAULT_DRIVER_MEMORY):
    """A Spark session: Spark Connect when SPARK_REMOTE is set, else `master` (local[*] by
    default) with a small driver, no UI, quiet logs, and scratch space under `folder`."""
    check_available()
    import warnings

    # PySpark warns about pandas 3 on import; the step table reaches it as Arrow, not pandas.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from pyspark.sql import SparkSession

    remote = os.environ.get("SPARK_REMOTE")
    if remote and master in (None, LOCAL):
        return connect_session(remote)
    # Workers run this interpreter (with pyarrow and solidify), not whatever `python3` is.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    quiet = Path(folder, "log4j2.properties")
    # Errors only; the shell logger at the same level keeps Spark from announcing its own.
    quiet.write_text("rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
                     "logger.repl.name = org.apache.spark.repl.Main\nlogger.repl.level = error\n"
                     "appender.console.type = Console\nappender.console.name = console\n"
                     "appender.console.target = SYSTEM_ERR\n"
                     "appender.console.layout.type = PatternLayout\n"
                     "appender.console.layout.pattern = spark: %p %m%n\n")  # fmt: skip
    # The JVM's own temporary files go to the private folder too, removed on close.
    scratch = os.path.join(folder, "tmp")
    os.makedirs(scratch, exist_ok=True)
    java_options = (
        f"-Dlog4j2.configurationFile=file:{quiet} -Dderby.system.home={folder} "
        f"-Djava.io.tmpdir={scratch}"
    )
    local = (master or LOCAL).startswith("local")
    settings = {
        "spark.master": master or LOCAL,
        "spark.app.name": "solidify",
        "spark.driver.memory": memory,
        "spark.driver.extraJavaOptions": java_options,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.local.dir": os.path.join(folder, "local"),
        "spark.sql.warehouse.dir": os.path.join(folder, "warehouse"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Local mode: a partition per core after each shuffle, not Spark's 200 (each one
        # a task; on the samples 2 against 8 took 23 s of queries against 25 s).
        "spark.sql.shuffle.partitions": str(local_cores(master or LOCAL)) if local else "200",
    }
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    conf = SparkConf().setAll(list(settings.items()))
    # The JVM's own output (its banner, its logs, the workers' stderr) goes to a file in the
    # private folder: standard output carries only what the command writes, and standard
    # error only solidify's messages; a start that fails quotes the file's last line.
    log_path = os.path.join(folder, "spark.log")
    interrupt = signal.getsignal(signal.SIGINT)
    logging.getLogger().addFilter(_quiet_py4j)
    # Py4J logs each broken call with a traceback; the error reaches us as an exception.
    logging.getLogger("py4j").setLevel(logging.CRITICAL)
    gateway = None
    try:
        with open(log_path, "wb") as log:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
        context = SparkContext(conf=conf, gateway=gateway)
    except BaseException as exc:  # the JVM did not start, the master is unreachable, Ctrl-C
        _end_jvm(gateway)
        if not isinstance(exc, Exception):
            raise
        detail = _last_line(log_path) or _one_line(exc)
        raise EngineUnavailable(f"--engine spark: Spark did not start: {detail}") from None
    finally:
        # PySpark's Ctrl-C handler calls into the JVM from inside a call to it (a traceback
        # on stderr); a plain KeyboardInterrupt stops the command, and closing the table
        # stops Spark's jobs.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, interrupt)
    context.setLogLevel("ERROR")
    return SparkSession(context)


def local_cores(master: str) -> int:
    """The cores a `local`, `local[N]` or `local[*]` master runs on (`local[N, F]` too)."""
    inside = master.partition("[")[2].partition("]")[0].partition(",")[0].strip()
    if not inside:
        return 1
    if inside == "*":
        return os.cpu_count() or 1
    return max(int(inside), 1) if inside.isdigit() else os.cpu_count() or 1


def connect_session(remote: str) -> SparkSession:
    """A session of its own on the Spark Connect server at `remote` (sc://HOST:PORT), checked
    with one query: an unreachable server is one line at once, not ten minutes of retries."""
    import warnings

    if not remote.startswith("sc://"):
        # PySpark's `local[...]` form starts a server inside this process, its JVM writing
        # to our stdout and stderr: local mode does the same work without it.
        raise EngineUnavailable(
            f"--engine spark: SPARK_REMOTE={remote}: expected sc://HOST:PORT of a running "
            "Spark Connect server (for local mode, unset SPARK_REMOTE)"
        )
    # gRPC's C core notes each fork (the searches' process pool) on stderr at its default
    # verbosity; read when gRPC loads, so set before the client is imported.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    try:
        from pyspark.sql.connect.client.retries import DefaultPolicy
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as exc:  # grpcio and the rest of the Connect client
        raise EngineUnavailable(
            f"--engine spark: Spark Connect at {remote} (SPARK_REMOTE) needs {exc.name or exc}; "
            f"{INSTALL_HINT}"
        ) from None
    from pyspark.logger import PySparkLogger

    # The client logs each failed query (JSON, on stderr) before raising it: the error
    # reaches the command as an exception, told once.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)
    session = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the client's RETRIES_EXCEEDED, told as one line
            # The Connect builder itself, not pyspark.sql's: that one marks the whole process
            # as Connect (pyspark.sql.functions would then build Connect columns for a
            # classic session started later).
            session = ConnectSession.builder.remote(remote).create()
            session.client.set_retry_policies([DefaultPolicy(max_retries=2)])
            # The same instants as locally: the session's zone, not the server's default.
            session.conf.set("spark.sql.session.timeZone", "UTC")
            session.client.set_retry_policies([DefaultPolicy()])
    except Exception as exc:  # a bad URL, the server not there or refusing us
        if session is not None:
            with contextlib.suppress(Exception), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                session.stop()
        raise EngineUnavailable(
            f"--engine spark: Spark Connect at {remote} (SPARK_REMOTE): {_grpc_detail(exc)}"
        ) from None
    return session


def is_connect(session: Any) -> bool:
    """A Spark Connect client session (no JVM here: no sparkContext, no Py4J)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


@contextlib.contextmanager
def _server_sees(session: Any) -> Iterator[None]:
    """A path the Spark Connect server cannot see (it reads files itself, on its own
    machine) is bad input naming the file, not the server's stack trace."""
    try:
        yield
    except Exception as exc:
        from pyspark.errors import AnalysisException

        if not (is_connect(session) and isinstance(exc, AnalysisException)):
            raise
        if exc.getCondition() != "PATH_NOT_FOUND":
            raise
        path = (exc.getMessageParameters() or {}).get("path", "")
        raise InputError(
            "the Spark Connect server cannot read it (SPARK_REMOTE: the server reads the "
            "logs itself, from paths or URIs it can see)",
            file=path.removeprefix("file:"),
        ) from None


def _functions(session: Any) -> Any:
    """pyspark.sql.functions for the session's kind (Connect columns or the JVM's)."""
    if is_connect(session):
        from pyspark.sql.connect import functions
    else:
        from pyspark.sql import functions
    return functions


def _grpc_detail(exc: BaseException) -> str:
    """gRPC's `details = "..."` line when there is one, else the error's first line."""
    import re

    found = re.search(r'details = "([^"]*)"', str(exc))
    return found.group(1)[:160] if found else _one_line(exc)


def _connection_lost(exc: BaseException) -> bool:
    """The Connect server went away or cannot be reached (not an error in a query)."""
    try:
        from pyspark.errors.exceptions.connect import SparkConnectGrpcException
    except ImportError:
        return False
    text = str(exc)
    return isinstance(exc, SparkConnectGrpcException) and (
        "StatusCode.UNAVAILABLE" in text or "StatusCode.CANCELLED" in text
    )


def stop_session(session: SparkSession) -> None:
    """Stop a session this process started, and its JVM with it: nothing may write to the
    scratch folder once it is removed (a later session starts a new JVM). A Connect session
    is released on the server, which keeps running."""
    if is_connect(session):
        session.stop()
        return
    from pyspark import SparkContext

    gateway = getattr(session.sparkContext, "_gateway", None)
    try:
        session.stop()
    finally:
        _end_jvm(gateway)
        SparkContext._gateway = None  # type: ignore[attr-defined]
        SparkContext._jvm = None  # type: ignore[attr-defined]


def _end_jvm(gateway: Any) -> None:
    """The JVM ends when its standard input closes; killed if it has not within 20 s."""
    proc = getattr(gateway, "proc", None)
    if proc is None:
        return
    with contextlib.suppress(Exception):  # already gone
        gateway.close()
    if proc.stdin:
        proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except Exception:
        proc.kill()
        proc.wait()


def _quiet_py4j(record: logging.LogRecord) -> bool:
    """Py4J logs the Ctrl-C that stopped a call to the JVM with a traceback, on the root
    logger; the command says it was stopped, in one line."""
    return "while sending command" not in record.getMessage()


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _running_session(master: str | None) -> SparkSession | None:
    if master not in (None, LOCAL) or os.environ.get("SPARK_REMOTE"):
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


class SparkStepTable:
    """The `steps` table as a Spark temp view; use it as a context manager.

    Given a `session`, or when one is already running in this process, it works in an
    isolated child session (its own temp views) and leaves the session running on close;
    otherwise it starts one and stops it on close.
    """

    def __init__(
        self,
        master: str | None = None,
        *,
        session: SparkSession | None = None,
        memory: str = DEFAULT_DRIVER_MEMORY,
    ) -> None:
        check_available()
        # A session already running in this process (a notebook, the tests) is joined, not
        # stopped: the table keeps to a child session of its own.
        session = session or _running_session(master)
        self._folder = tempfile.mkdtemp(prefix="solidify-spark-")
        self._owned = session is None
        self._cached: list[DataFrame] = []
        self._views: set[str] = {TABLE}  # dropped on close: a Connect server outlives us
        base = None
        try:
            base = session or start_session(master, self._folder, memory)
            self.spark = base if self._owned else base.newSession()
            if not self._owned and is_connect(self.spark):
                # A Connect child session starts from the server's settings, not base's.
                self.spark.conf.set("spark.sql.session.timeZone", "UTC")
            self._frames: list[DataFrame] = []
            self._steps: DataFrame | None = None  # their union, kept
            self._whole: DataFrame | None = None  # a union kept whole, that the parse left
            self._files: list[str] = []  # in the order read: their rank makes the rowid
            self._appended = 0
            self.spark.createDataFrame([], VIEW_DDL).createOrReplaceTempView(TABLE)
        except BaseException:
            try:
                if self._owned and base is not None:
                    stop_session(base)
            finally:
                shutil.rmtree(self._folder, ignore_errors=True)
            raise

    # --- the Engine protocol -------------------------------------------------------

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Run DuckDB SQL (`$name` parameters) on Spark; the result as Arrow."""
        with _jvm_calls():
            return self.spark.sql(to_spark_sql(sql), args=params or None).toArrow()

    def register(self, name: str, table: pa.Table) -> None:
        schema = None
        if not len(table):  # Spark Connect infers no schema from no rows; classic does
            from pyspark.sql.pandas.types import from_arrow_schema

            schema = from_arrow_schema(table.schema)
        with _jvm_calls():
            self.spark.createDataFrame(table, schema).createOrReplaceTempView(name)
        self._views.add(name)

    def materialize(self, name: str, sql: str) -> None:
        """The query's rows kept (cached) under `name` for the queries after it."""
        with _jvm_calls():
            frame = self.spark.sql(to_spark_sql(sql)).persist()
            self._cached.append(frame)
            frame.createOrReplaceTempView(name)
        self._views.add(name)

    # --- filling the table ---------------------------------------------------------

    @classmethod
    def of(cls, tables: Iterable[pa.Table], **options: Any) -> SparkStepTable:
        return filled(cls(**options), tables)

    def append(self, batch: pa.Table, rowid: pa.Array | None = None) -> None:
        """Add rows given in STEP_TABLE_SCHEMA (from the local readers); `rowid`: their
        order among all rows (default: after every row appended so far)."""
        data = batch.select(STEP_TABLE_SCHEMA.names).cast(STEP_TABLE_SCHEMA)
        if rowid is None:
            rowid = pa.array(range(self._appended, self._appended + len(data)), pa.int64())
            self._appended += len(data)
        data = data.append_column("rowid", rowid.cast(pa.int64()))
        self._add(self.spark.createDataFrame(data.replace_schema_metadata(None), VIEW_DDL))

    def read(
        self, paths: Sequence[str], *, strict: bool = False, input_format: str | None = None
    ) -> Reading:
        """Read logs into `steps`: JSON Lines and Parquet by Spark, the rest locally."""
        if input_format not in (None, "canonical"):
            return self._read_locally(list(paths), strict, input_format)
        native: dict[str, list[str]] = {"jsonl": [], "parquet": []}
        local: list[str] = []
        reading = Reading()
        for path in paths:
            for name in _expand(path):
                kind = _native_kind(name, input_format)
                (native[kind] if kind else local).append(name)
                reading.files.append(name)
                self._files.append(name)
        with _server_sees(self.spark):
            parsed = [self._parse(kind, names) for kind, names in native.items() if names]
        kept = []
        for frame in parsed:
            frame = frame.persist()
            kept.append(frame)
            self._cached.append(frame)
            _collect_problems(frame, reading.problems, strict)
            self._add(self._with_rowid(frame.where(f"{PROBLEM} IS NULL")))
        if local:
            found = self._read_locally(local, strict, input_format)
            reading.problems.count += found.problems.count
            for problem in found.problems.first:
                if len(reading.problems.first) < reading.problems.keep:
                    reading.problems.first.append(problem)
        if kept and self._steps is not None:
            # The table kept now, so the parse's own copy of every row can go: one copy
            # in the cache, not two.
            with _jvm_calls():
                self._steps.count()
                for frame in kept:
                    frame.unpersist()
                    self._cached.remove(frame)
            # Aliased: classic Spark would otherwise merge the next union into this one's
            # parts, reading the released parse again rather than the kept rows. Rows added
            # later build on it, and it stays kept (a second copy) until close.
            self._frames = [self._steps.alias("kept")]
            self._whole = self._steps
        return reading

    def _read_locally(self, names: list[str], strict: bool, input_format: str | None) -> Reading:
        from solidify.assess.ingest import canonical_texts, read_logs

        # Texts in the canonical form, as the records Spark checks itself are written.
        with read_logs(names, strict=strict, input_format=input_format) as result:
            if len(result.table):
                rows = canonical_texts(result.table.arrow())
                self.append(rows, self._rowids(rows["source"].to_pylist()))
        return Reading(files=result.files, problems=result.problems)

    def _rank(self, source: str) -> int:
        return self._files.index(source) if source in self._files else len(self._files)

    def _rowids(self, sources: list[str]) -> pa.Array:
        """Rows read locally, in their order: their file's rank, then their place in it."""
        out, place, last = [], 0, None
        for source in sources:
            place = place + 1 if source == last else 0
            last = source
            out.append(self._rank(source) * FILE_SHIFT + place)
        return pa.array(out, pa.int64())

    def _with_rowid(self, frame: DataFrame) -> DataFrame:
        """Rows read by Spark with their rowid: their file's rank, then their line."""
        ranks = self.spark.createDataFrame(
            [(name, self._rank(name)) for name in self._files], "source STRING, _rank BIGINT"
        )
        rowid = f"_rank * {FILE_SHIFT} + line AS rowid"
        return frame.join(ranks.hint("broadcast"), "source", "left").selectExpr(
            *(f"`{name}`" for name in STEP_TABLE_SCHEMA.names), rowid
        )

    def _parse(self, kind: str, names: list[str]) -> DataFrame:
        # Columns as SQL text, not pyspark.sql.functions: the same on a classic session and a
        # Spark Connect one, whichever of the two this process started first.
        uris = [_spark_uri(name) for name in names]
        # Keyed as `_source` looks Spark's URIs up: a local path is already plain text.
        sources = {_uri_key(uri, decode=_is_uri(name)): name
                   for uri, name in zip(uris, names, strict=True)}  # fmt: skip
        if kind == "jsonl":
            raw = self.spark.read.text(uris).selectExpr(
                "value",
                "_metadata.file_path AS file",
                "_metadata.file_block_start AS block",
                "monotonically_increasing_id() AS row",
            )
            # A split's lines are consecutive rows of one partition: a line's number is the
            # lines of the file's earlier splits plus its place in its own split.
            F = _functions(self.spark)
            splits = raw.groupBy("file", "block").agg(
                F.count("*").alias("lines"), F.min("row").alias("first_row")
            )
            splits = splits.selectExpr(
                "file", "block", "first_row",
                "sum(lines) OVER (PARTITION BY file ORDER BY block) - lines AS before",
            )  # fmt: skip
            lines = raw.join(splits.hint("broadcast"), ["file", "block"]).selectExpr(
                "value", "file", "before + row - first_row + 1 AS line"
            )
            parse = functools.partial(_parse_jsonl_batches, sources=sources)
            return lines.mapInArrow(parse, PARSED_DDL)
        table = self.spark.read.option("mergeSchema", "true").parquet(*uris)
        table = table.selectExpr(
            "*", "_metadata.file_path AS _file", "_metadata.row_index + 1 AS _row"
        )
        return table.mapInArrow(
            functools.partial(_parse_parquet_batches, sources=sources), PARSED_DDL
        )

    def _add(self, frame: DataFrame) -> None:
        self._frames.append(frame)
        steps = self._frames[0]
        for more in self._frames[1:]:
            steps = steps.unionByName(more)
        # Kept once filled, as DuckDB keeps its table: every measure reads `steps` several
        # times, and each read would otherwise join the rowids and filter the parse again
        # (on the samples, 39 s of queries against 25 s kept).
        steps = steps.persist()
        old = self._steps
        if old is not None and old is not self._whole:  # (rows added later build on that)
            self._cached.remove(old)
            with _jvm_calls():
                old.unpersist()
        self._steps = steps
        self._cached.append(steps)
        steps.createOrReplaceTempView(TABLE)

    # --- conveniences ----------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.spark.sql(f"SELECT count(*) AS n FROM {TABLE}").collect()[0][0])

    def arrow(self, where: str = "true") -> pa.Table:
        """Rows as Arrow, by source and line (for small logs and the local assessment)."""
        names = ", ".join(f'"{n}"' for n in STEP_TABLE_SCHEMA.names)
        table = self.query(f"SELECT {names} FROM {TABLE} WHERE {where} ORDER BY rowid")
        return table.cast(STEP_TABLE_SCHEMA)

    def close(self) -> None:
        try:
            # Views and cached frames go first, whoever owns the session: on Spark Connect
            # they live on a server that keeps running.
            # Frames first: on Connect a frame is its plan, resolved again (views and all)
            # to be unpersisted.
            with _jvm_calls():
                for frame in reversed(self._cached):
                    frame.unpersist()
                for name in sorted(self._views):
                    self.spark.catalog.dropTempView(name)
        finally:
            try:
                if self._owned:
                    stop_session(self.spark)
                elif is_connect(self.spark):
                    self.spark.stop()  # the child session, released on the server; not base
            finally:
                shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> SparkStepTable:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


PARSED_DDL = f"{STEPS_DDL}, `{PROBLEM}` STRING, `{PROBLEM_FIELD}` STRING"


@contextlib.contextmanager
def _jvm_calls() -> Iterator[None]:
    """A JVM that ends mid-call (Ctrl-C reaches it first) or a Connect server that goes away
    is one line, not Py4J's or gRPC's traceback."""
    from py4j.protocol import Py4JError, Py4JJavaError

    try:
        yield
    except Py4JJavaError:
        raise  # Spark's own error about the query: a bug to see whole
    except Py4JError as exc:
        raise EngineUnavailable(f"--engine spark: Spark stopped: {_one_line(exc)}") from None
    except Exception as exc:
        if not _connection_lost(exc):
            raise
        raise EngineUnavailable(
            f"--engine spark: Spark Connect stopped: {_grpc_detail(exc)}"
        ) from None


def _is_uri(path: str) -> bool:
    return "://" in path


def _expand(path: str) -> list[str]:
    """A local folder is listed as the local reader lists it; a URI is Spark's to list."""
    if _is_uri(path):
        return [path]
    from solidify.assess.ingest import discover

    return discover([path])


def _native_kind(name: str, input_format: str | None) -> str | None:
    """`jsonl` or `parquet` when Spark can read the file itself as canonical records."""
    from solidify.assess.ingest import _check_content, _jsonl_format, reader_for

    if _is_uri(name):
        # Spark lists and reads it: a file, folder or glob of Parquet when the name ends in
        # .parquet, else of JSON Lines (optionally gzipped).
        if input_format not in (None, "canonical") or reader_for(name) not in (*NATIVE, None):
            raise InputError(
                "from a URI Spark reads canonical JSON Lines and Parquet; read other formats "
                "from a local path",
                file=name,
            )
        return "parquet" if reader_for(name) == "parquet" else "jsonl"
    kind = reader_for(name)
    if kind not in NATIVE:
        return None
    _check_content(name, name.lower().endswith(".gz"))
    if kind == "parquet":
        import pyarrow.parquet as pq

        from solidify.assess.schema import STEP_TABLE_MARKER

        schema = pq.read_schema(name)
        marked = (schema.metadata or {}).get(STEP_TABLE_MARKER[0]) == STEP_TABLE_MARKER[1]
        canonical = {"workflow", "run_id", "step"} <= set(schema.names)
        return "parquet" if marked or (canonical and "run_type" not in schema.names) else None
    import gzip

    opener = gzip.open if name.lower().endswith(".gz") else open
    with opener(name, "rb") as handle:
        head = handle.read(1 << 16)
    if input_format is None and _jsonl_format(head, name) != "canonical":
        return None
    # A file that does not start with a record is refused by the local reader's words.
    first = next((raw for raw in head.split(b"\n") if raw.strip()), b"")
    return "jsonl" if first.lstrip().startswith(b"{") else None


def _spark_uri(name: str) -> str:
    """The path Spark is asked to read. Absolute: a Spark Connect server resolves relative
    paths in its own folder. Not percent-encoded: Hadoop reads a `%` in a path as itself."""
    if _is_uri(name):
        return name
    return f"file://{Path(name).resolve()}"


def _source(uri: str, sources: dict[str, str]) -> str:
    """The name a file was given by, from the URI Spark's `_metadata.file_path` gives
    (`file:/` or `file:///`, its characters percent-encoded or not)."""
    return sources.get(_uri_key(uri)) or uri


def _uri_key(uri: str, decode: bool = True) -> str:
    from urllib.parse import unquote

    key = unquote(uri) if decode else uri
    return "file:///" + key[len("file:/") :].lstrip("/") if key.startswith("file:/") else key


def _parsed(table: pa.Table, problems: dict[int, tuple[str | None, str]], source: str) -> pa.Table:
    """The parsed rows plus one row per bad record (only its source, line and problem)."""
    good = table.append_column(PROBLEM, pa.nulls(len(table), pa.string()))
    good = good.append_column(PROBLEM_FIELD, pa.nulls(len(table), pa.string()))
    if not problems:
        return good
    bad = {name: pa.nulls(len(problems), STEP_TABLE_SCHEMA.field(name).type)
           for name in STEP_TABLE_SCHEMA.names}  # fmt: skip
    bad["source"] = pa.array([source] * len(problems), pa.string())
    bad["line"] = pa.array(list(problems), pa.int64())
    bad[PROBLEM] = pa.array([m for _, m in problems.values()], pa.string())
    bad[PROBLEM_FIELD] = pa.array([f for f, _ in problems.values()], pa.string())
    return pa.concat_tables([good, pa.table(bad, schema=good.schema)])


def _build(source: str, lines: list[int], records: list[Any]) -> pa.RecordBatch:
    """One file's records checked by the local reader's rules, bad ones as problem rows."""
    problems = Problems(keep=len(records))
    table = BatchBuilder(source, problems).build(lines, records)
    bad = {p.line: (p.field, p.message) for p in problems.first}
    return _parsed(table, bad, source).cast(_PARSED_SCHEMA)


_PARSED_SCHEMA = pa.schema(
    [*STEP_TABLE_SCHEMA, pa.field(PROBLEM, pa.string()), pa.field(PROBLEM_FIELD, pa.string())]
)


def _by_file(batch: pa.RecordBatch, file_column: str) -> Iterator[tuple[str, pa.RecordBatch]]:
    """A batch's rows grouped by file (a partition may hold several small files)."""
    files = batch.column(file_column).to_pylist()
    start = 0
    for i in range(1, len(files) + 1):
        if i == len(files) or files[i] != files[start]:
            yield files[start], batch.slice(start, i - start)
            start = i


def _parse_jsonl_batches(batches: Iterator[pa.RecordBatch], sources: dict[str, str]):
    from solidify.assess.ingest import _loads, _short

    for batch in batches:
        for uri, part in _by_file(batch, "file"):
            lines: list[int] = []
            records: list[Any] = []
            for line, raw in zip(part.column("line").to_pylist(),
                                 part.column("value").to_pylist(), strict=True):  # fmt: skip
                if not raw.strip():
                    continue
                try:
                    records.append(_loads(raw.encode()))
                except (ValueError, UnicodeDecodeError) as exc:
                    records.append(Unreadable(f"not valid JSON: {_short(exc)}"))
                lines.append(line)
            if records:
                yield from _build(_source(uri, sources), lines, records).to_batches()


def _parse_parquet_batches(batches: Iterator[pa.RecordBatch], sources: dict[str, str]):
    from solidify.assess.ingest import parquet_record
    from solidify.assess.schema import STEP_TABLE_SCHEMA as SCHEMA

    names = SCHEMA.names
    for batch in batches:
        for uri, part in _by_file(batch, "_file"):
            source = _source(uri, sources)
            rows = part.drop_columns(["_file", "_row"]) if hasattr(part, "drop_columns") else part
            if {"rollup", "extra", "source", "line"} <= set(rows.schema.names):
                # Written by `solidify ingest`: already checked, kept as it is.
                table = pa.Table.from_batches([rows]).select(names).cast(SCHEMA)
                yield from _parsed(table, {}, source).cast(_PARSED_SCHEMA).to_batches()
                continue
            records = [
                {k: v for k, v in parquet_record(record).items() if v is not None}
                for record in rows.to_pylist()
            ]
            lines = part.column("_row").to_pylist()
            yield from _build(source, lines, records).to_batches()


def _collect_problems(frame: DataFrame, problems: Problems, strict: bool) -> None:
    """Count the bad records; bring back the first few (by file and line) for the message."""
    bad = frame.where(f"`{PROBLEM}` IS NOT NULL")
    count = bad.count()
    if not count:
        return
    first = bad.orderBy("source", "line").select("source", "line", PROBLEM_FIELD, PROBLEM)
    rows = first.limit(1 if strict else problems.keep).collect()
    if strict:
        source, line, field_name, message = rows[0]
        raise InputError(message, file=source, line=line, field=field_name)
    for source, line, field_name, message in rows:
        problems.add(Problem(source, line, field_name, message))
    problems.count += count - len(rows)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def parse_engine(value: str) -> tuple[str, str | None]:
    """`--engine`: ("duckdb", None), ("spark", None) or ("spark", "spark://HOST:PORT")."""
    if value == "duckdb":
        return "duckdb", None
    if value == "spark":
        return "spark", None
    if value.startswith("spark://") and len(value) > len("spark://"):
        return "spark", value
    raise ValueError(f"{value!r}: expected duckdb, spark or spark://HOST:PORT")


def read_with_spark(
    paths: Sequence[str],
    *,
    master: str | None = None,
    strict: bool = False,
    input_format: str | None = None,
    session: SparkSession | None = None,
) -> Any:
    """Read the logs on Spark: an `ingest.Ingested` whose step table is the Spark view,
    open until it is closed. The assessment asks it the same SQL as DuckDB's; only
    aggregates and per-step samples come back."""
    from solidify.assess.ingest import Ingested

    table = SparkStepTable(master, session=session)  # says what to install if PySpark is not
    from py4j.protocol import Py4JError

    try:
        with _jvm_calls():
            reading = table.read(paths, strict=strict, input_format=input_format)
    except Py4JError as exc:
        _close_quietly(table)
        raise EngineUnavailable(f"--engine spark: Spark stopped: {_one_line(exc)}") from None
    except BaseException:
        _close_quietly(table)
        raise
    return Ingested(table=table, problems=reading.problems, files=reading.files)


def _close_quietly(table: SparkStepTable) -> None:
    """Close after a failed read; an engine already gone has nothing left to drop."""
    with contextlib.suppress(EngineUnavailable):
        table.close()
