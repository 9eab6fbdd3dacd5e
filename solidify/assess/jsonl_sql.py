"""Canonical JSON Lines read by DuckDB into the step table.

Python only cuts the file into blocks that end at a newline and numbers their lines
(numpy finds the newlines; the lines reach DuckDB as one Arrow array over the block's
bytes, without a Python object per line); one query per block parses every line,
checks each field's type, the required fields, the enums, ranges and timestamps, and
the good rows go into `steps` with the contract's defaults.
Only the lines that query flags come back to Python, where the same checks as every
other reader's (`records.BatchBuilder`) name the line and field and keep any row the
query flagged only to be safe: the query is stricter than the record checks, never
looser (but for a record repeating a key), so a message is always the one the Python
readers give.

`input`, `output` and `extra` are DuckDB's compact JSON (keys in logged order);
`Ingested.frame` turns them into the canonical form before Python uses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import numpy as np
import pyarrow as pa

from solidify.assess.records import KNOWN_FIELDS, BatchBuilder
from solidify.assess.schema import KINDS, RECORD_FIELDS, REQUIRED, STATUSES, STEP_TABLE_SCHEMA
from solidify.assess.steptable import TABLE, StepTable

BLOCK_BYTES = 32 * 1024 * 1024
SMALL_FILE_BYTES = 256 * 1024  # read by the record checks (see ingest._read_jsonl)
RAW = "solidify_raw_lines"

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


def _names(kind: str) -> list[str]:
    return [name for name, k in RECORD_FIELDS.items() if k == kind]


_FIELDS = [*RECORD_FIELDS, "rollup"]
_DUCK_TYPE = {"string": "VARCHAR", "timestamp": "VARCHAR", "integer": "BIGINT",
              "number": "DOUBLE", "json": "JSON", "rollup": "BOOLEAN"}  # fmt: skip
# JSON number literals DuckDB converts exactly: integers of at most 18 digits, and floats.
_INTEGER = "-?[0-9]{1,18}"
_FLOAT = "-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?"


def _kind(name: str) -> str:
    return RECORD_FIELDS.get(name, "rollup")


def _structure(types: dict[str, str]) -> str:
    return _sql_string("{" + ", ".join(f'"{k}": "{v}"' for k, v in types.items()) + "}")


def _parse_sql() -> str:
    """One row per non-blank line: whether it is a JSON object (ok), and each field as
    JSON text (f.) and in the contract's type (v.), each from one parse of the line.
    DuckDB converts leniently (1.5 to an integer, a number to text), so types are judged
    on the JSON text."""
    as_json = _structure({name: "JSON" for name in _FIELDS})
    typed = _structure({name: _DUCK_TYPE[_kind(name)] for name in _FIELDS})
    return (
        "SELECT line, text, ok, "
        f"CASE WHEN ok THEN json_transform(text, {as_json}) END AS f, "
        f"CASE WHEN ok THEN json_transform(text, {typed}) END AS v "
        "FROM (SELECT line, text, keys IS NOT NULL "
        # DuckDB takes NaN and Infinity, and the first of a repeated key, where the record
        # checks do otherwise: such lines are theirs to judge.
        "AND NOT (contains(text, 'NaN') OR contains(text, 'Infinity')) "
        "AND len(keys) = list_unique(keys) AS ok "
        "FROM (SELECT line, text, "
        # Only CASE keeps DuckDB from reading the type of text that is not JSON.
        "CASE WHEN json_valid(text) AND json_type(text) = 'OBJECT' THEN json_keys(text) "
        "END AS keys "
        f"FROM {RAW} WHERE NOT regexp_matches(text, '^[ \\t\\n\\r\\x0B\\x0C]*$')))"
    )


def _problem_sql() -> str:
    """A CASE naming the first field a row fails (or NULL): a field whose JSON type is not
    the contract's, a required field missing or blank, an unknown kind or status, a value
    out of range, a timestamp DuckDB and Python might read apart. It may flag more rows
    than the record checks do, never fewer (a record that repeats a key is the exception:
    DuckDB reads the first, Python the last)."""
    checks: list[tuple[str, str]] = [("NOT ok", "'record'")]
    for name in _FIELDS:
        kind = _kind(name)
        if kind == "json":
            continue
        f, v = f'f."{name}"::VARCHAR', f'v."{name}"'
        if kind in ("string", "timestamp"):
            wrong = f"NOT starts_with({f}, '\"')"
        elif kind == "integer":
            wrong = f"NOT regexp_full_match({f}, '{_INTEGER}')"
        elif kind == "number":
            wrong = (f"NOT (regexp_full_match({f}, '{_INTEGER}') OR "
                     f"(regexp_full_match({f}, '{_FLOAT}') AND regexp_matches({f}, '[.eE]'))) "
                     f"OR NOT isfinite({v})")  # fmt: skip
        else:
            wrong = f"{f} NOT IN ('true', 'false')"
        checks.append((f"({f} <> 'null' AND ({wrong}))", _sql_string(name)))
    for name in REQUIRED:
        v = f'v."{name}"'
        checks.append((f"({v} IS NULL OR regexp_matches({v}, {_sql_string(_BLANK)}))",
                       _sql_string(name)))  # fmt: skip
    for name, values in (("kind", KINDS), ("status", STATUSES)):
        listed = ", ".join(_sql_string(v) for v in values)
        checks.append((f'(v."{name}" NOT IN ({listed}))', _sql_string(name)))
    for name, low in _LOWER_BOUNDS.items():
        checks.append((f'(v."{name}" < {low})', _sql_string(name)))
    for name in _names("timestamp"):
        v = f'v."{name}"'
        checks.append(
            (f"({v} IS NOT NULL AND (NOT regexp_matches({v}, {_sql_string(_TIMESTAMP)}) "
             f"OR try_cast({v} AS TIMESTAMPTZ) IS NULL))", _sql_string(name))
        )  # fmt: skip
    # Any problem at all is one OR (cheap on good rows); which one, only on the bad.
    anyone = " OR ".join(f"({c})" for c, _ in checks)
    first = "CASE " + " ".join(f"WHEN {c} THEN {f}" for c, f in checks) + " END"
    return f"CASE WHEN coalesce({anyone}, false) THEN {first} END"


def _insert_sql() -> str:
    """The step table's columns with the contract's defaults (for rows without a problem)."""
    known = "{" + ", ".join(f'"{name}": null' for name in sorted(KNOWN_FIELDS)) + "}"
    columns: list[str] = []
    for field in STEP_TABLE_SCHEMA:
        name = field.name
        if name == "kind":
            value = "coalesce(v.kind, CASE WHEN v.model IS NULL THEN 'code' ELSE 'llm' END)"
        elif name == "status":
            value = "coalesce(v.status, 'ok')"
        elif name == "attempt":
            value = "coalesce(v.attempt, 1)"
        elif name in ("started_at", "ended_at"):
            value = f"try_cast(v.{name} AS TIMESTAMPTZ)"
        elif name == "duration_ms":
            value = (
                "coalesce(date_diff('microsecond', try_cast(v.started_at AS TIMESTAMPTZ), "
                "try_cast(v.ended_at AS TIMESTAMPTZ))::DOUBLE / 1000.0, v.duration_ms)"
            )
        elif name == "rollup":
            value = "coalesce(v.rollup, false)"
        elif name in ("input", "output"):
            value = f"nullif(f.{name}::VARCHAR, 'null')"
        elif name == "extra":
            # Only records with more keys than their known fields hold have an `extra`:
            # counting keys is cheaper than patching every record.
            present = " + ".join(f'(f."{n}" IS NOT NULL)::INTEGER' for n in _FIELDS)
            patched = f"json_merge_patch(text, {_sql_string(known)})::VARCHAR"
            more = f"len(json_keys(text)) > {present}"
            value = f"CASE WHEN ok AND {more} THEN nullif({patched}, '{{}}') END"
        elif name == "source":
            value = "$source::VARCHAR"
        elif name == "line":
            value = "line"
        else:
            value = f'v."{name}"'
        columns.append(f'{value} AS "{name}"')
    return ", ".join(columns)


PARSE = _parse_sql()
PROBLEM = _problem_sql()
INSERT = _insert_sql()
NAMES = ", ".join(f'"{n}"' for n in STEP_TABLE_SCHEMA.names)


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
    """Add one block's good rows to `steps`; flagged lines go through `builder`."""
    text = lines_of(block)
    if text is None:  # not UTF-8 somewhere: the record checks say which line
        python_rows(steps, builder, block.split(b"\n"), first_line)
        return
    numbers = pa.array(np.arange(first_line, first_line + len(text), dtype=np.int64))
    raw = pa.table({"line": numbers, "text": text})
    con = steps.con
    con.register(RAW, raw)
    try:
        # One parse: the step table's columns of every row, the problem of the bad ones.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE solidify_block AS SELECT {INSERT}, problem, "
            f"CASE WHEN problem IS NOT NULL THEN text END AS bad_text "
            f"FROM (SELECT *, {PROBLEM} AS problem FROM ({PARSE}))",
            {"source": builder.source},
        ).fetchall()
        flagged = con.sql(
            "SELECT line, bad_text FROM solidify_block WHERE problem IS NOT NULL ORDER BY line"
        ).fetchall()
        good = f"SELECT {NAMES} FROM solidify_block WHERE problem IS NULL"
        kept = _checked(builder, flagged) if flagged else None
        if kept is None or len(kept) == 0:
            con.execute(f"INSERT INTO {TABLE} {good}").fetchall()
            return
        # Rows the query flagged but the record checks accept go in at their place.
        con.register("solidify_kept", kept.select(STEP_TABLE_SCHEMA.names))
        con.execute(
            f"INSERT INTO {TABLE} SELECT {NAMES} FROM ({good} UNION ALL "
            f"SELECT {NAMES} FROM solidify_kept) ORDER BY line"
        ).fetchall()
        con.unregister("solidify_kept")
    finally:
        con.unregister(RAW)
        con.execute("DROP TABLE IF EXISTS solidify_block").fetchall()


def _checked(builder: BatchBuilder, flagged: list[tuple[int, str]]) -> pa.Table | None:
    """The record checks on the flagged lines: problems reported (or raised, --strict),
    the rows they accept returned."""
    from solidify.assess.ingest import parse_line

    lines = [line for line, _ in flagged]
    recs = [parse_line(text.encode()) for _, text in flagged]
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
