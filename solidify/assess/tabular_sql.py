"""CSV and Parquet logs with the contract's columns, read by DuckDB into the step table.

One query per file reads it (`read_csv` with every column VARCHAR, `read_parquet` with
the file's own types, cast explicitly), checks each field as the record checks do and
writes the good rows into `steps` with the contract's defaults. Only the rows the query
flags come back to Python, where `records.BatchBuilder` names the line and field (and
keeps a row the query flagged only to be safe): the query is stricter than the record
checks, never looser, so a message is always the one the Python readers give. A file
this path cannot read exactly as the Python reader would (a column of a type it does
not map, a CSV that DuckDB parses otherwise: ragged rows, stray quotes, lone carriage
returns) returns False before anything is added, and the Python reader takes it.

Lines: a Parquet row's line is its row number. DuckDB's CSV reader numbers records, not
lines, so the line where each record starts is found from the file's bytes (a newline
ends a record when the quotes before it are balanced; blank records are skipped, as
both readers skip them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from solidify.assess.jsonl_sql import (
    _BLANK,
    _LOWER_BOUNDS,
    _TIMESTAMP,
    _canonical_sql,
    _flat_keys,
    _sql_string,
)
from solidify.assess.jsonl_sql import _prepare as prepare
from solidify.assess.records import BatchBuilder
from solidify.assess.schema import KINDS, RECORD_FIELDS, REQUIRED, STATUSES, STEP_TABLE_SCHEMA
from solidify.assess.steptable import TABLE, StepTable

# Below these sizes the Python readers are as quick as DuckDB's planning (measured:
# docs/performance.md). Parquet is compressed: its bytes hold more rows than CSV's.
SMALL_CSV_BYTES = 1024 * 1024
SMALL_PARQUET_BYTES = 16 * 1024
SCAN_BYTES = 16 * 1024 * 1024
LINES = "solidify_csv_lines"
NAMES = ", ".join(f'"{n}"' for n in STEP_TABLE_SCHEMA.names)

_INTEGER = "-?[0-9]{1,18}"
_FLOAT = "-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?"
# JSON text DuckDB and the Python readers could read apart: NaN and Infinity in any case
# (DuckDB takes "nan", the stdlib "NaN"), a trailing comma (DuckDB drops it, Python reads
# the cell as text), exponents beyond a double (Python makes them null), and surrogate
# escapes (Python decodes a lone one, then cannot encode it). A text cell that merely
# looks so is flagged too, and the record checks read it as before.
_JSON_DOUBT = (
    "(^|[:\\[,])\\s*[-+]?(?i:nan|inf(inity)?)([^a-zA-Z]|$)|,\\s*[\\]}]|[0-9][eE][-+]?[0-9]{3,}"
    "|\\\\u[dD][89a-fA-F]"
)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the checks and the step table's columns, over typed values -------------------------


class Columns:
    """How each field of the contract is read from a file's columns: `values[name]` is a
    SQL expression of the field in the contract's type (NULL when absent), `wrong[name]`
    a condition that the cell is not of that type (the record checks decide)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.wrong: dict[str, str] = {}
        self.json: dict[str, str] = {}  # input/output: canonical-able JSON text
        self.texts: set[str] = set()  # timestamps given as text (checked as text)
        self.rollup = "false"
        self.extra = "NULL"


def problem_sql(c: Columns) -> str:
    """A CASE naming the first field a row fails, or NULL (see jsonl_sql._problem_sql)."""
    checks: list[tuple[str, str]] = []
    for name, condition in c.wrong.items():
        checks.append((f"({condition})", _sql_string(name)))
    for name in REQUIRED:
        v = c.values.get(name, "NULL")
        checks.append((f"({v} IS NULL OR regexp_matches({v}, {_sql_string(_BLANK)}))",
                       _sql_string(name)))  # fmt: skip
    for name, allowed in (("kind", KINDS), ("status", STATUSES)):
        if name in c.values:
            listed = ", ".join(_sql_string(v) for v in allowed)
            checks.append((f"({c.values[name]} NOT IN ({listed}))", _sql_string(name)))
    for name, low in _LOWER_BOUNDS.items():
        if name in c.values:
            checks.append((f"({c.values[name]} < {low})", _sql_string(name)))
    for name in ("started_at", "ended_at"):
        if name in c.texts:
            v = c.values[name]
            checks.append(
                (f"({v} IS NOT NULL AND (NOT regexp_matches({v}, "
                 f"{_sql_string(_TIMESTAMP)}) OR try_cast({v} AS TIMESTAMPTZ) IS NULL))",
                 _sql_string(name))
            )  # fmt: skip
    for name, text in c.json.items():
        checks.append((f"regexp_matches({text}, {_sql_string(_JSON_DOUBT)})", _sql_string(name)))
    anyone = " OR ".join(f"({condition})" for condition, _ in checks)
    first = "CASE " + " ".join(f"WHEN {condition} THEN {f}" for condition, f in checks) + " END"
    return f"CASE WHEN coalesce({anyone}, false) THEN {first} END"


def sorted_keys(text: str) -> str:
    """JSON text with its objects' keys sorted at every depth, as JSON Lines are stored."""
    return _canonical_sql(text, _flat_keys(text))


def json_text(cell: str) -> str:
    """A text cell as JSON text: the cell itself when it is JSON, else the cell as a JSON
    string (the contract's rule for input and output cells); NULL for JSON null."""
    return (
        f"CASE WHEN json_valid({cell}) THEN nullif(json({cell})::VARCHAR, 'null') "
        f"ELSE to_json({cell})::VARCHAR END"
    )


def insert_sql(c: Columns) -> str:
    """The step table's columns with the contract's defaults."""

    def v(name: str) -> str:
        return c.values.get(name, "NULL")

    out: list[str] = []
    for field in STEP_TABLE_SCHEMA:
        name = field.name
        if name == "kind":
            default = f"CASE WHEN {v('model')} IS NULL THEN 'code' ELSE 'llm' END"
            value = f"coalesce({v('kind')}, {default})"
        elif name == "status":
            value = f"coalesce({v('status')}, 'ok')"
        elif name == "attempt":
            value = f"coalesce({v('attempt')}, 1)::BIGINT"
        elif name in ("started_at", "ended_at"):
            value = f"try_cast({v(name)} AS TIMESTAMPTZ)"
        elif name == "duration_ms":
            value = (
                f"coalesce(date_diff('microsecond', try_cast({v('started_at')} AS TIMESTAMPTZ), "
                f"try_cast({v('ended_at')} AS TIMESTAMPTZ))::DOUBLE / 1000.0, "
                f"{v('duration_ms')}::DOUBLE)"
            )
        elif name == "rollup":
            value = c.rollup
        elif name in ("input", "output"):
            value = c.json.get(name, "NULL")
            if name in c.json:
                value = sorted_keys(json_text(c.values[name]))
        elif name == "extra":
            value = sorted_keys(c.extra)
        elif name == "source":
            value = "$source::VARCHAR"
        elif name == "line":
            value = "solidify_line"
        else:
            value = v(name)
        out.append(f'{value} AS "{name}"')
    return ", ".join(out)


def _extra(pairs: list[tuple[str, str]], keep_nulls: bool) -> str:
    """Unknown columns as one JSON object (keys sorted, as the canonical form has them)."""
    if not pairs:
        return "NULL"
    parts = []
    for name, json_value in sorted(pairs):
        key = _sql_string(_json_key(name) + ":")
        if keep_nulls:
            parts.append(f"{key} || coalesce({json_value}, 'null')")
        else:
            parts.append(f"{key} || {json_value}")
    body = f"'{{' || concat_ws(',', {', '.join(parts)}) || '}}'"
    return body if keep_nulls else f"nullif({body}, '{{}}')"


def _json_key(name: str) -> str:
    import json

    return json.dumps(name, ensure_ascii=False)


# --- running the query ---------------------------------------------------------------------


def quiet(steps: StepTable) -> None:
    """No progress bar from DuckDB (it draws one on stdout for queries over 2 s), and the
    function that sorts keys where SQL cannot."""
    prepare(steps.con)


def _load(
    steps: StepTable,
    relation: str,
    c: Columns,
    builder: BatchBuilder,
    checked: Callable[[list[int]], pa.Table | None],
    params: dict[str, Any] | None = None,
) -> None:
    """Find the rows the checks flag, hand them to `checked` (the record checks: problems
    reported, rows they accept returned) and add the others to `steps`.

    Two passes over the file rather than one into a staged copy of every row: the first
    reads only what the checks need (Parquet reads only those columns), a clean file's
    second computes no checks, and no staged copy is held (quicker and less memory on
    500 000 rows: docs/performance.md)."""
    con = steps.con
    values = {"source": builder.source, **(params or {})}
    problem = problem_sql(c)
    flagged = [
        row[0]
        for row in con.execute(
            f"SELECT solidify_line FROM {relation} WHERE ({problem}) IS NOT NULL "
            "ORDER BY solidify_line",
            params or {},
        ).fetchall()
    ]
    if not flagged:
        insert_kept(con, f"SELECT {insert_sql(c)} FROM {relation}", None, values)
        return
    good = f"SELECT {insert_sql(c)} FROM {relation} WHERE ({problem}) IS NULL"
    insert_kept(con, good, checked(flagged), values)


def insert_kept(
    con: duckdb.DuckDBPyConnection,
    good: str,
    kept: pa.Table | None,
    values: dict[str, Any],
    *,
    ordered: bool = False,
) -> None:
    """Add the rows of `good` (a SELECT of the step table's columns) and `kept` (flagged
    rows the record checks accept), each at its line's place. `ordered`: `good` alone is
    put in line order too (a query with joins may reorder its rows)."""
    if kept is None or len(kept) == 0:
        order = " ORDER BY line" if ordered else ""
        con.execute(f"INSERT INTO {TABLE} {good}{order}", values).fetchall()
        return
    con.register("solidify_kept", kept.select(STEP_TABLE_SCHEMA.names))
    try:
        con.execute(
            f"INSERT INTO {TABLE} SELECT {NAMES} FROM ({good} UNION ALL "
            f"SELECT {NAMES} FROM solidify_kept) ORDER BY line",
            values,
        ).fetchall()
    finally:
        con.unregister("solidify_kept")


# --- Parquet -------------------------------------------------------------------------------


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _is_int(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) and kind != pa.uint64()


def parquet_columns(schema: pa.Schema) -> Columns | None:
    """The mapping of a Parquet file's columns onto the contract, or None when a column's
    type is one the record checks judge row by row (the Python reader takes the file)."""
    c = Columns()
    extra: list[tuple[str, str]] = []
    if len(set(schema.names)) != len(schema.names):
        return None
    for field in schema:
        name, kind, col = field.name, field.type, quoted(field.name)
        if pa.types.is_null(kind):
            if name in RECORD_FIELDS or name == "rollup":
                continue
            extra.append((name, "NULL"))
            continue
        expected = RECORD_FIELDS.get(name)
        if expected == "string" and _is_text(kind):
            c.values[name] = col
        elif expected == "integer" and _is_int(kind):
            c.values[name] = f"{col}::BIGINT"
        elif expected == "number" and (_is_int(kind) or pa.types.is_floating(kind)):
            c.values[name] = f"{col}::DOUBLE"
            c.wrong[name] = f"NOT isfinite({col}::DOUBLE)"
        elif expected == "timestamp" and _is_text(kind):
            c.values[name] = col
            c.texts.add(name)
        elif (expected == "timestamp" and pa.types.is_timestamp(kind)
              and kind.unit in ("s", "ms", "us")):  # fmt: skip
            # A naive time is UTC (the table's session zone), as the record checks take it.
            c.values[name] = f"{col}::TIMESTAMPTZ"
        elif expected == "json" and _is_text(kind):
            c.values[name] = col
            c.json[name] = col
        elif name == "rollup" and pa.types.is_boolean(kind):
            c.rollup = f"coalesce({col}, false)"
        elif (
            expected is None
            and name != "rollup"
            and (_is_text(kind) or _is_int(kind) or pa.types.is_boolean(kind))
        ):
            extra.append((name, f"to_json({col})::VARCHAR"))
        else:
            return None
    # The record checks put every unknown column in `extra`, nulls too (a row's dict
    # holds them).
    c.extra = _extra(extra, keep_nulls=True)
    return c


def read_parquet(
    steps: StepTable, path: str, builder: BatchBuilder, *, step_table: bool = False
) -> bool:
    """Add a Parquet file's good rows to `steps`; False (nothing added) when this path
    does not take the file."""
    quiet(steps)
    relation = (
        "(SELECT *, file_row_number + 1 AS solidify_line "
        "FROM read_parquet($path, file_row_number = true))"
    )
    if step_table:
        # Written by `solidify ingest --out`: already validated, read as it is.
        casts = ", ".join(f'"{f.name}"::{_duck(f.type)} AS "{f.name}"' for f in STEP_TABLE_SCHEMA)
        try:
            steps.con.execute(
                f"INSERT INTO {TABLE} SELECT {casts} FROM read_parquet($path)", {"path": path}
            ).fetchall()
        except duckdb.Error:
            return False
        return True
    columns = parquet_columns(pq.read_schema(path))
    if columns is None:
        return False

    def checked(lines: list[int]) -> pa.Table | None:
        from solidify.assess.ingest import parquet_record

        wanted = np.asarray(lines, dtype=np.int64) - 1
        recs: list[Any] = []
        start = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
            inside = wanted[(wanted >= start) & (wanted < start + len(batch))] - start
            if len(inside):
                recs.extend(parquet_record(r) for r in batch.take(pa.array(inside)).to_pylist())
            start += len(batch)
        return builder.build(lines, recs)

    try:
        _load(steps, relation, columns, builder, checked, {"path": path})
    except duckdb.Error:
        return False
    return True


def _duck(kind: pa.DataType) -> str:
    from solidify.assess.steptable import _duck_type

    return _duck_type(kind)


# --- CSV -----------------------------------------------------------------------------------


def csv_columns(header: list[str]) -> Columns:
    """Every cell is text: each field's text is checked for the contract's type."""
    c = Columns()
    extra: list[tuple[str, str]] = []
    for at, name in enumerate(header):
        cell = f"c{at}"
        kind = RECORD_FIELDS.get(name)
        if kind in ("string", "timestamp"):
            c.values[name] = cell
            if kind == "timestamp":
                c.texts.add(name)
        elif kind == "integer":
            c.values[name] = f"try_cast({cell} AS BIGINT)"
            c.wrong[name] = f"NOT regexp_full_match({cell}, '{_INTEGER}')"
        elif kind == "number":
            c.values[name] = f"try_cast({cell} AS DOUBLE)"
            c.wrong[name] = (f"NOT regexp_full_match({cell}, '{_FLOAT}') "
                             f"OR NOT isfinite(try_cast({cell} AS DOUBLE))")  # fmt: skip
        elif kind == "json":
            c.values[name] = cell
            c.json[name] = cell
        elif name == "rollup":
            # Any text is true to the record checks (a non-empty string).
            c.rollup = f"({cell} IS NOT NULL)"
        else:
            extra.append((name, f"to_json({cell})::VARCHAR"))
    c.extra = _extra(extra, keep_nulls=False)
    return c


def record_lines(path: str) -> np.ndarray | None:
    """The line on which each non-blank CSV record starts, the header's included; None
    when the file holds what DuckDB and Python's csv module may read apart (a carriage
    return not before a newline, a NUL byte)."""
    found: list[np.ndarray] = []
    start, blank = 1, True  # the record being read: its first line, whether blank so far
    quotes = newlines = 0  # quotes and newlines before this block
    cr_last = False
    with open(path, "rb") as handle:
        while data := handle.read(SCAN_BYTES):
            if b"\x00" in data or (cr_last and not data.startswith(b"\n")):
                return None
            crs = data.count(b"\r") - data.count(b"\r\n") - data.endswith(b"\r")
            if crs:
                return None
            cr_last = data.endswith(b"\r")
            raw = np.frombuffer(data, np.uint8)
            quoted_at = np.flatnonzero(raw == 34)
            nl = np.flatnonzero(raw == 10)
            # A newline ends a record when the quotes before it are balanced.
            ends = nl[((quotes + np.searchsorted(quoted_at, nl)) & 1) == 0]
            if len(ends):
                begins = np.concatenate([[0], ends[:-1] + 1])
                # A blank record is empty or a lone "\r" (a blank line of a CRLF file).
                size = ends - begins
                empty = (size == 0) | ((size == 1) & (raw[begins] == 13))
                empty[0] &= blank
                first = newlines + np.searchsorted(nl, ends[:-1]) + 2  # after each end
                lines = np.concatenate([[start], first])
                found.append(lines[~empty])
                start = newlines + int(np.searchsorted(nl, ends[-1])) + 2
                tail = data[ends[-1] + 1 :]
                blank = tail in (b"", b"\r")
            else:
                blank = blank and data in (b"", b"\r")
            quotes += len(quoted_at)
            newlines += len(nl)
    if cr_last:
        return None
    if not blank:
        found.append(np.array([start]))
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, np.int64)


def read_csv(steps: StepTable, path: str, header: list[str], builder: BatchBuilder) -> bool:
    """Add a CSV file's good rows to `steps`; False (nothing added) when DuckDB would read
    the file otherwise than Python's csv module: the caller reads it then."""
    if len(set(header)) != len(header) or "" in header:
        return False
    lines = record_lines(path)
    if lines is None or not len(lines) or lines[0] != 1:
        return False
    numbers = pa.table({"n": pa.array(np.arange(1, len(lines)), pa.int64()),
                        "line": pa.array(lines[1:], pa.int64())})  # fmt: skip
    types = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    cells = ", ".join(f"c{i}" for i in range(len(header)))
    # A row whose cells are all blank is no record to the Python reader: skipped silently
    # when DuckDB's blank and Python's agree, else left to the record checks.
    all_blank = " AND ".join(f"coalesce(regexp_full_match(c{i}, '[ \\t]*'), true)"
                             for i in range(len(header)))  # fmt: skip
    read = (
        f"read_csv($path, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', strict_mode = true, max_line_size = 1073741824, "
        f"columns = {{{types}}})"
    )
    if lines[-1] == len(lines):
        # One line per record (the usual file): a record's line is its number + 1, and
        # no join (nor the sort after it, which held every row in memory) is needed.
        relation = (
            f"(SELECT {cells}, n + 1 AS solidify_line FROM {read} WITH ORDINALITY "
            f"AS r({cells}, n) WHERE NOT ({all_blank}))"
        )
    else:
        relation = (
            f"(SELECT {cells}, l.line AS solidify_line FROM {read} WITH ORDINALITY "
            f"AS r({cells}, n) JOIN {LINES} AS l USING (n) WHERE NOT ({all_blank}) ORDER BY n)"
        )
    con = steps.con
    quiet(steps)
    try:
        count = con.sql(f"SELECT count(*) FROM {read}", params={"path": path}).fetchall()[0][0]
    except duckdb.Error:
        return False
    if count != len(lines) - 1:
        return False  # DuckDB sees other records than the lines do: Python reads the file

    def checked(flagged: list[int]) -> pa.Table | None:
        from solidify.assess.ingest import _csv_row

        got = con.sql(
            f"SELECT solidify_line, {cells} FROM {relation} "
            "WHERE list_contains($want, solidify_line)",
            params={"path": path, "want": flagged},
        ).fetchall()
        keep_lines, recs = [], []
        for line, *row in got:
            present = {h: v for h, v in zip(header, row, strict=True) if v is not None}
            if any(v.strip() for v in present.values()):
                keep_lines.append(line)
                recs.append(_csv_row(present))
        return builder.build(keep_lines, recs) if recs else None

    con.register(LINES, numbers)
    try:
        _load(steps, relation, csv_columns(header), builder, checked, {"path": path})
    except duckdb.Error:
        return False
    finally:
        con.unregister(LINES)
    return True
