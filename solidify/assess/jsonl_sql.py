"""Canonical JSON Lines read by DuckDB into the step table.

A plain file (not compressed, no carriage return, NUL or \\x01 byte) is read in one
scan by DuckDB's CSV reader, one line per row with its exact line number (`WITH
ORDINALITY`; blank lines count), into a temporary table that the parse reads in
parallel. Any other file (gzipped, stdin, a line DuckDB cannot take as UTF-8 or longer
than 8 MB) is cut into blocks that end at a newline by Python (numpy finds the
newlines), each block's lines handed to DuckDB as one Arrow array.

Either way one query parses each line once (`json_transform` to the fields' JSON texts)
and takes the typed values from those texts with cheap tests (a string starts with a
quote, an integer is the text of its own cast, ...). A row with anything unusual is
flagged, and goes into `steps` with no `workflow` and its line in `extra`; after the
file, only those lines come back to Python, where the same checks as every other
reader's (`records.BatchBuilder`) name the line and field, and the rows they accept
replace the flagged ones in place. The query is stricter than the record checks, never
looser, so a message is always the one the Python readers give.

`input`, `output` and `extra` are stored with their objects' keys sorted at every depth,
so that equal values have equal text: flat objects already in order are kept as DuckDB
writes them, any other object is rewritten by msgspec (`canonical.py`). Scalars keep
DuckDB's spelling, which differs from msgspec's only for a few floats and escapes
(`MAY_DIFFER`; `ingest.canonical_texts` rewrites those few for Python).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

import duckdb
import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from solidify.assess.canonical import canonical_bytes
from solidify.assess.records import KNOWN_FIELDS, BatchBuilder
from solidify.assess.schema import KINDS, RECORD_FIELDS, REQUIRED, STATUSES, STEP_TABLE_SCHEMA
from solidify.assess.steptable import TABLE, StepTable

BLOCK_BYTES = 32 * 1024 * 1024
SMALL_FILE_BYTES = 256 * 1024  # read by the record checks (see ingest._read_jsonl)
RAW = "solidify_raw_lines"
LINES = "solidify_lines"
CANONICAL_UDF = "solidify_canonical"
FLAGGED_CHUNK = 50_000
SCAN_LINE_BYTES = 8 * 1024 * 1024  # a longer line: the file is read by blocks
SCAN_WINDOW = 16 * 1024 * 1024

# Where DuckDB's compact JSON and msgspec's may spell one scalar apart: floats from 1e16
# (DuckDB writes every digit) and from 1e-6 to 1e-5, hex letters of \u escapes.
MAY_DIFFER = r"[0-9]{17,}\.|0\.00000[1-9]|\\u00[01][A-F]"

# Strings DuckDB and the record checks read alike; anything else is flagged and read by
# Python (which also takes dates alone, nanoseconds, other zones' spellings).
_TIMESTAMP = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)
# What Arrow's utf8_trim_whitespace removes (Unicode White_Space), for "must not be empty".
_BLANK = r"^[\s\x0B\x{85}\p{Z}]*$"
_LOWER_BOUNDS = {
    "attempt": 1,
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "duration_ms": 0,
    "cost_usd": 0,
}


def blocks(handle: IO[bytes], size: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(number of the block's first line, bytes) pieces of a file, each ending at a newline."""
    size = size or BLOCK_BYTES
    line = 1
    rest = b""
    while True:
        data = handle.read(size)
        if not data:
            if rest:
                yield line, rest
            return
        data = rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[: cut + 1], data[cut + 1 :]
        yield line, block
        line += block.count(b"\n")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_FIELDS = [*RECORD_FIELDS, "rollup"]


def _kind(name: str) -> str:
    return RECORD_FIELDS.get(name, "rollup")


def _structure(types: dict[str, str]) -> str:
    return _sql_string("{" + ", ".join(f'"{k}": "{v}"' for k, v in types.items()) + "}")


def _value(name: str) -> tuple[str, str]:
    """(SQL of the field's value in the contract's type, SQL true when its JSON text is
    of another type) from `j`, the field's JSON text (NULL when absent or null). DuckDB
    converts leniently (1.5 to an integer, a number to text), so each value is checked
    against the text it came from."""
    j = f'(f."{name}"::VARCHAR)'
    kind = _kind(name)
    if kind in ("string", "timestamp"):
        # A string without escapes is its text without the quotes.
        value = f"CASE WHEN contains({j}, '\\') THEN {j} ->> '$' ELSE {j}[2:-2] END"
        return value, f"NOT starts_with({j}, '\"')"
    if kind == "integer":
        value = f"TRY_CAST({j} AS BIGINT)"
        return value, f"{value}::VARCHAR IS DISTINCT FROM {j}"
    if kind == "number":
        value = f"TRY_CAST({j} AS DOUBLE)"
        return value, f"NOT coalesce(isfinite({value}), false)"
    if kind == "rollup":
        return f"{j} = 'true'", f"{j} NOT IN ('true', 'false')"
    return j, "false"  # json: any value


def _rows_sql(source: str) -> tuple[str, str]:
    """Every non-blank line of `source` (columns line, text): its fields' JSON texts (f),
    its keys, each field's typed value (v_NAME) and whether it is flagged."""
    as_json = _structure({name: "JSON" for name in _FIELDS})
    values, wrongs = [], []
    for name in _FIELDS:
        value, wrong = _value(name)
        values.append(f'{value} AS "v_{name}"')
        if wrong != "false":
            wrongs.append(f'(f."{name}" IS NOT NULL AND {wrong})')
    checks = [
        # Not an object, not JSON (try: NULL), or read otherwise by the record checks:
        # DuckDB takes NaN and Infinity, and the first of a repeated key.
        "keys IS NULL",
        "contains(text, 'NaN') OR contains(text, 'Infinity')",
        # Only a record with more keys than fields present may repeat one (hashing every
        # record's keys would cost more than the rest of the checks).
        "CASE WHEN len(keys) > present THEN len(keys) <> list_unique(keys) END",
        *wrongs,
    ]
    for name in REQUIRED:
        v = f'"v_{name}"'
        # A first character that is visible ASCII cannot be blank: the regex is for the rest.
        checks.append(f"{v} IS NULL OR NOT (unicode({v}) BETWEEN 33 AND 126 "
                      f"OR NOT regexp_matches({v}, {_sql_string(_BLANK)}))")  # fmt: skip
    for name, allowed in (("kind", KINDS), ("status", STATUSES)):
        listed = ", ".join(_sql_string(v) for v in allowed)
        checks.append(f'"v_{name}" NOT IN ({listed})')
    for name, low in _LOWER_BOUNDS.items():
        checks.append(f'"v_{name}" < {low}')
    for name in ("started_at", "ended_at"):
        v = f'"v_{name}"'
        checks.append(f"{v} IS NOT NULL AND (NOT regexp_matches({v}, {_sql_string(_TIMESTAMP)}) "
                      f"OR t_{name} IS NULL)")  # fmt: skip
    # A check on a missing field is NULL: false, not unknown.
    flagged = " OR ".join(f"coalesce({c}, false)" for c in checks)
    present = " + ".join(f'(f."{n}" IS NOT NULL)::INTEGER' for n in _FIELDS)
    return (
        "SELECT *, try_cast(v_started_at AS TIMESTAMPTZ) AS t_started_at, "
        "try_cast(v_ended_at AS TIMESTAMPTZ) AS t_ended_at FROM ("
        f"SELECT line, text, f, keys, {present} AS present, {', '.join(values)} FROM ("
        "SELECT line, text, f, CASE WHEN f IS NOT NULL AND starts_with(ltrim(text), '{') "
        "THEN json_keys(text) END AS keys FROM ("
        f"SELECT line, text, try(json_transform(text, {as_json})) AS f "
        f"FROM {source} WHERE text IS NOT NULL)))"
    ), flagged


def _flat_keys(text: str) -> str:
    """The keys of `text` when it is one object without objects inside (else NULL)."""
    return f"CASE WHEN {text} LIKE '{{%' AND {text} NOT LIKE '{{%{{%' THEN json_keys({text}) END"


def _canonical_sql(text: str, keys: str) -> str:
    """`text` (JSON) with its objects' keys sorted: as it is when it holds no object, or
    one flat object (`keys`, from `_flat_keys`) whose keys are in strict order; rewritten
    by msgspec otherwise. Most objects have one or two keys: a list sort only for more."""
    ordered = (f"CASE WHEN len({keys}) < 2 THEN true WHEN len({keys}) = 2 "
               f"THEN {keys}[1] < {keys}[2] ELSE list_sort({keys}) = {keys} "
               f"AND list_unique({keys}) = len({keys}) END")  # fmt: skip
    return (f"CASE WHEN {text} IS NULL OR NOT contains({text}, '{{') OR ({ordered}) "
            f"THEN {text} ELSE {CANONICAL_UDF}({text}) END")  # fmt: skip


def _insert_sql(source: str) -> str:
    """The step table's columns of each row of `source`; a flagged row has no workflow
    and its line as `extra`."""
    rows, flagged = _rows_sql(source)
    known = "{" + ", ".join(f'"{name}": null' for name in sorted(KNOWN_FIELDS)) + "}"
    columns: list[str] = []
    for field in STEP_TABLE_SCHEMA:
        name = field.name
        if name == "workflow":
            value = "CASE WHEN NOT flagged THEN v_workflow END"
        elif name == "kind":
            value = "coalesce(v_kind, CASE WHEN v_model IS NULL THEN 'code' ELSE 'llm' END)"
        elif name == "status":
            value = "coalesce(v_status, 'ok')"
        elif name == "attempt":
            value = "coalesce(v_attempt, 1)"
        elif name in ("started_at", "ended_at"):
            value = f"t_{name}"
        elif name == "duration_ms":
            value = (
                "coalesce(date_diff('microsecond', t_started_at, t_ended_at)::DOUBLE / 1000.0, "
                "v_duration_ms)"
            )
        elif name == "rollup":
            value = "coalesce(v_rollup, false)"
        elif name in ("input", "output"):
            value = f"CASE WHEN NOT flagged THEN {_canonical_sql(f'v_{name}', f'k_{name}')} END"
        elif name == "extra":
            value = f"CASE WHEN flagged THEN text ELSE {_canonical_sql('unknown', 'k_unknown')} END"
        elif name == "source":
            value = "$source::VARCHAR"
        elif name == "line":
            value = "line"
        else:
            value = f'"v_{name}"'
        columns.append(f'{value} AS "{name}"')
    # Only records with more keys than their known fields hold have an `extra`:
    # counting keys is cheaper than patching every record.
    patched = f"nullif(json_merge_patch(text, {_sql_string(known)})::VARCHAR, '{{}}')"
    unknown = f"CASE WHEN NOT flagged AND len(keys) > present THEN {patched} END AS unknown"
    keys = ", ".join(
        f"{_flat_keys(name)} AS k_{name.removeprefix('v_')}"
        for name in ("v_input", "v_output", "unknown")
    )
    return (
        f"SELECT {', '.join(columns)} FROM (SELECT *, {keys} FROM (SELECT *, {unknown} FROM "
        f"(SELECT *, {flagged} AS flagged FROM ({rows}))))"
    )


def _lines_sql(line_bytes: int, buffer_bytes: int) -> str:
    """Every line of the file `$path` with its number, in one parallel scan. DuckDB sizes
    its read buffers from the longest line allowed: a longer line makes the scan refuse
    the file (read by blocks then), a larger allowance costs memory (1 GB: a buffer the
    size of a 3 GB file)."""
    return (
        "(SELECT ordinality AS line, text FROM read_csv($path, columns={'text': 'VARCHAR'}, "
        "delim='\\x01', quote='', escape='', header=false, auto_detect=false, "
        f"strict_mode=false, comment='', skip=0, max_line_size={line_bytes}, "
        f"buffer_size={buffer_bytes}) WITH ORDINALITY)"
    )


INSERT_LINES = _insert_sql(LINES)
INSERT_BLOCK = _insert_sql(RAW)


def _canonical_text(text: str) -> str:
    return canonical_bytes(msgspec.json.decode(text)).decode()


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    """The msgspec rewrite as a function of the connection (once), and no
    progress bar: DuckDB draws one on the terminal for a query over 2 s (a large file's
    scan), in the middle of the command's own output."""
    con.execute("SET enable_progress_bar = false").fetchall()
    text = duckdb.sqltype("VARCHAR")
    # One Python call per text (NULL skipped): as fast as an Arrow function on the few
    # rows it gets, and without the pandas import DuckDB's Arrow functions bring.
    with contextlib.suppress(duckdb.NotImplementedException):  # already there
        con.create_function(CANONICAL_UDF, _canonical_text, [text], text)


def scannable(path: str) -> bool:
    """Whether DuckDB's one scan numbers the file's lines exactly: a plain file with no
    carriage return (a lone one splits a line), NUL or \\x01 (the scan's delimiter).
    Read into one reused buffer (a mapping of the file would count it in the process's
    resident memory); looking for the three bytes costs about 0.1 s per 170 MB."""
    buffer = bytearray(SCAN_WINDOW)
    with open(path, "rb", buffering=0) as handle:
        size = handle.readinto(buffer)
        if not size or buffer.startswith(b"\xef\xbb\xbf"):
            return False  # empty, or a byte-order mark: the record checks name it
        while size:
            if any(buffer.find(byte, 0, size) >= 0 for byte in (b"\r", b"\x00", b"\x01")):
                return False
            size = handle.readinto(buffer)
    return True


def read_whole(steps: StepTable, path: str, builder: BatchBuilder) -> bool:
    """Add a plain file's good rows to `steps` in one scan, then its flagged lines
    through `builder`; False (nothing added) when DuckDB's scan refuses the file."""
    con = steps.con
    _prepare(con)
    lines = _lines_sql(SCAN_LINE_BYTES, 4 * SCAN_LINE_BYTES)
    try:
        # Numbering the lines keeps DuckDB's pipeline on one thread, so they are numbered
        # into a table first (spilled to disk when large) and parsed from it in parallel:
        # half the time of one query on two cores.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {LINES} AS SELECT * FROM {lines}",
                    {"path": path}).fetchall()  # fmt: skip
    except (duckdb.InvalidInputException, duckdb.OutOfMemoryException):
        # Not UTF-8, a line longer than the scan takes, or no room to number the lines
        # (nowhere to spill): the blocks' way reads it, 32 MB at a time.
        con.execute(f"DROP TABLE IF EXISTS {LINES}").fetchall()
        return False
    try:
        con.execute(f"INSERT INTO {TABLE} {INSERT_LINES}", {"source": builder.source}).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {LINES}").fetchall()
    settle(steps, builder)
    return True


def lines_of(block: bytes) -> pa.LargeStringArray | None:
    """The block's lines (each with its newline) as one Arrow array over the block's own
    bytes, or None when the block is not UTF-8."""
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n")) + 1
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    offsets = np.concatenate([np.zeros(1, np.int64), ends.astype(np.int64)])
    text = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return text


def read_block(steps: StepTable, block: bytes, first_line: int, builder: BatchBuilder) -> None:
    """Add one block's rows to `steps`; flagged lines wait for `settle`."""
    text = lines_of(block)
    if text is None:  # not UTF-8 somewhere: the record checks say which line
        python_rows(steps, builder, block.split(b"\n"), first_line)
        return
    numbers = pa.array(np.arange(first_line, first_line + len(text), dtype=np.int64))
    # The newline stays out of the text, as in the whole-file scan.
    text = pc.utf8_rtrim(text, characters="\n")
    con = steps.con
    _prepare(con)
    con.register(RAW, pa.table({"line": numbers, "text": text}))
    try:
        con.execute(f"INSERT INTO {TABLE} {INSERT_BLOCK}", {"source": builder.source}).fetchall()
    finally:
        con.unregister(RAW)


def settle(steps: StepTable, builder: BatchBuilder) -> None:
    """The flagged rows of the file just read (no workflow) through the record checks, in
    line order: the rows they accept take the flagged rows' places, the rest go."""
    con = steps.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE solidify_flagged AS "
        f"SELECT line, extra AS text FROM {TABLE} WHERE workflow IS NULL"
    ).fetchall()
    try:
        after = 0
        while True:
            flagged = con.execute(
                "SELECT line, text FROM solidify_flagged WHERE line > $after "
                f"ORDER BY line LIMIT {FLAGGED_CHUNK}",
                {"after": after},
            ).fetchall()
            if not flagged:
                break
            after = flagged[-1][0]
            kept = _checked(builder, [(line, text) for line, text in flagged
                                      if text.encode().strip()])  # fmt: skip
            if kept is not None and len(kept):
                con.register("solidify_kept", kept.select(STEP_TABLE_SCHEMA.names))
                names = [f'"{n}" = k."{n}"' for n in STEP_TABLE_SCHEMA.names]
                con.execute(
                    f"UPDATE {TABLE} SET {', '.join(names)} FROM solidify_kept k "
                    f"WHERE {TABLE}.workflow IS NULL AND {TABLE}.line = k.line"
                ).fetchall()
                con.unregister("solidify_kept")
        con.execute(f"DELETE FROM {TABLE} WHERE workflow IS NULL").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS solidify_flagged").fetchall()


def _checked(builder: BatchBuilder, flagged: list[tuple[int, str]]) -> pa.Table | None:
    """The record checks on the flagged lines: problems reported (or raised, --strict),
    the rows they accept returned."""
    from solidify.assess.ingest import parse_line

    if not flagged:
        return None
    lines = [line for line, _ in flagged]
    # With its newline, as the line was read (a message may count it).
    recs = [parse_line(text.encode() + b"\n") for _, text in flagged]
    return builder.build(lines, recs)


def python_rows(
    steps: StepTable, builder: BatchBuilder, raw_lines: list[bytes], first_line: int
) -> None:
    from solidify.assess.ingest import parse_line

    lines, recs = [], []
    for number, raw in enumerate(raw_lines, first_line):
        if raw.strip():
            lines.append(number)
            recs.append(parse_line(raw))
    if recs:
        steps.append(builder.build(lines, recs))
