"""The fast path for JSON Lines: pyarrow parses the scalar fields, orjson only `input`/`output`.

pyarrow's JSON reader (C++, multi-threaded) refuses any value of the wrong type,
which is exactly the contract's check; it cannot hold "any JSON value", so a
Python pass over the same block canonicalises `input` and `output` and collects
unknown fields. When pyarrow refuses a block, or any vectorised check flags a
record, the block is read again by the line-by-line path, which names the exact
line and field. Blocks end at a newline, so memory is bounded by the block.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from solidify.assess.canonical import canonical_json
from solidify.assess.records import KNOWN_FIELDS, check_columns, finish_table
from solidify.assess.schema import RECORD_FIELDS, STEP_TABLE_SCHEMA

BLOCK_BYTES = 32 * 1024 * 1024
_SORT = orjson.OPT_SORT_KEYS

SCALARS = pa.schema(
    [
        (name, pa.string() if kind == "timestamp" else STEP_TABLE_SCHEMA.field(name).type)
        for name, kind in RECORD_FIELDS.items()
        if kind != "json"
    ]
    + [("rollup", pa.bool_())]
)


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
        if len(data) < size:
            # The end of the file is in hand: keep the last line with the rest.
            more = handle.read(size)
            if not more:
                yield line, data
                return
            data += more
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[: cut + 1], data[cut + 1 :]
        yield line, block
        line += block.count(b"\n")


@contextmanager
def no_gc() -> Iterator[None]:
    """Millions of short-lived dicts make the cyclic collector run constantly; none form cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _NotARecord(Exception):
    pass


def _canonicalise(
    block: bytes,
    number: int,
    inputs: list[str | None],
    outputs: list[str | None],
    extras: list[str | None],
    lines: list[int],
) -> None:
    """The one per-record Python loop of the fast path, kept tight: local names only."""
    loads, dumps, known = orjson.loads, orjson.dumps, KNOWN_FIELDS
    add_input, add_output, add_extra, add_line = (
        inputs.append, outputs.append, extras.append, lines.append
    )  # fmt: skip
    for raw in block.split(b"\n"):
        if raw and not raw.isspace():
            record = loads(raw)
            if type(record) is not dict:
                raise _NotARecord
            value = record.get("input")
            add_input(None if value is None else dumps(value, option=_SORT).decode())
            value = record.get("output")
            add_output(None if value is None else dumps(value, option=_SORT).decode())
            if record.keys() <= known:
                add_extra(None)
            else:
                add_extra(canonical_json({k: v for k, v in record.items() if k not in known}))
            add_line(number)
        number += 1


def fast_block(block: bytes, first_line: int, source: str) -> pa.Table | None:
    """The block as a validated step table, or None to send it to the line-by-line path."""
    try:
        scalars = pj.read_json(
            io.BytesIO(block),
            parse_options=pj.ParseOptions(
                explicit_schema=SCALARS, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    inputs: list[str | None] = []
    outputs: list[str | None] = []
    extras: list[str | None] = []
    lines: list[int] = []
    try:
        with no_gc():
            _canonicalise(block, first_line, inputs, outputs, extras, lines)
    except (orjson.JSONDecodeError, TypeError, _NotARecord):
        return None
    n = len(lines)
    if n != scalars.num_rows:
        return None
    columns = {name: scalars.column(name) for name in SCALARS.names}
    flagged: list[int] = []
    check_columns(columns, lambda i, field, message: flagged.append(i))
    if flagged:
        return None
    table = pa.table(
        {
            **{name: columns[name] for name in RECORD_FIELDS if name in columns},
            "input": pa.array(inputs, type=pa.string()),
            "output": pa.array(outputs, type=pa.string()),
            "rollup": pc.fill_null(columns["rollup"], False),
            "extra": pa.array(extras, type=pa.string()),
            "source": pa.array([source] * n, type=pa.string()),
            "line": pa.array(lines, type=pa.int64()),
        }
    )
    return finish_table(table)
