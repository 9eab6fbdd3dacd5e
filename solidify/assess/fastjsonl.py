"""The fast path for JSON Lines: msgspec reads the records, pyarrow holds the columns.

A block whose records hold only the contract's fields, each of the right type, is
read by one msgspec pass typed as the contract (`_typed`): no other parser reads it.
A block with unknown fields (kept as `extra`) is read by pyarrow for the known
scalars and by msgspec for `input`, `output` and the rest (`_mixed`). In the typed
pass `input` and `output` stay unparsed until they are canonicalised, all of a
block's at once. (orjson, used before, faulted in a fresh memory page for almost every value it
wrote, which cost more than the parsing itself.) When both refuse a block, or any
vectorised check flags a record, the block is read again by the line-by-line path,
which names the exact line and field. Blocks end at a newline, so memory is bounded
by the block.
"""

from __future__ import annotations

import gc
import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from operator import attrgetter
from typing import IO, Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from solidify.assess import records
from solidify.assess.canonical import canonical_bytes
from solidify.assess.records import KNOWN_FIELDS, check_columns, finish_table, in_memory
from solidify.assess.schema import RECORD_FIELDS, STEP_TABLE_SCHEMA

BLOCK_BYTES = 32 * 1024 * 1024

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


# A value that is missing reads as JSON null.
_NULL = msgspec.Raw(b"null")
_VALUES = msgspec.json.Decoder()


def _canonical_column(raws: list[msgspec.Raw]) -> tuple[pa.Array, np.ndarray]:
    """Canonical JSON of unparsed values (null where a value is null or missing), and
    the hash of each text (`records.text_hashes`). One decode of all of them as one JSON
    array, then the encoder and the hash mapped over the values: no Python code runs
    per value."""
    values = _VALUES.decode(b"[" + b",".join(raws) + b"]")
    encoded = list(map(canonical_bytes, values))
    hashes = records.hash_texts(encoded)
    texts = pa.array(encoded, type=pa.binary())
    missing = pc.equal(texts, pa.scalar(b"null", pa.binary()))
    return pc.if_else(missing, pa.scalar(None, pa.binary()), texts).cast(pa.string()), hashes


def _canonicalise(block: bytes) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Canonical `input`, `output` and unknown fields of each record of a block that has
    unknown fields, as string arrays."""
    inputs, outputs, extras = [], [], []
    known = KNOWN_FIELDS
    for record in _VALUES.decode_lines(block):
        if type(record) is not dict:
            raise _NotARecord
        value = record.get("input")
        inputs.append(None if value is None else canonical_bytes(value))
        value = record.get("output")
        outputs.append(None if value is None else canonical_bytes(value))
        if record.keys() <= known:
            extras.append(None)
        else:
            extras.append(canonical_bytes({k: v for k, v in record.items() if k not in known}))
    return tuple(pa.array(c, type=pa.binary()).cast(pa.string()) for c in (inputs, outputs, extras))


def _line_numbers(block: bytes, first_line: int, records: int) -> pa.Array:
    """The line of each record; blank lines (which hold none) are rare, so counted apart."""
    lines = block.count(b"\n") + (not block.endswith(b"\n"))
    if lines == records:
        return pa.array(np.arange(first_line, first_line + records, dtype=np.int64))
    numbers = [n for n, raw in enumerate(block.split(b"\n"), first_line) if raw.strip()]
    return pa.array(numbers[:records], type=pa.int64())


def _scalars(block: bytes) -> pa.Table | None:
    try:
        return pj.read_json(
            io.BytesIO(block),
            parse_options=pj.ParseOptions(
                explicit_schema=SCALARS, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


_PARSER: tuple[int, ThreadPoolExecutor] | None = None


def _parser() -> ThreadPoolExecutor:
    """The thread for pyarrow's pass; a forked process (see `read_shared`) needs its own."""
    global _PARSER
    if _PARSER is None or _PARSER[0] != os.getpid():
        _PARSER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="solidify-scalars"))
    return _PARSER[1]


def _python_type(field: pa.Field) -> Any:
    if pa.types.is_string(field.type):
        return str | None
    if pa.types.is_integer(field.type):
        return int | None
    if pa.types.is_floating(field.type):
        return float | None
    return bool | None


# The whole record, typed as the contract says. One msgspec pass checks the types and
# reads every field, no other parser reads the block; an unknown field or a wrong type
# sends the block to `_mixed`.
_Record = msgspec.defstruct(
    "_Record",
    [(field.name, _python_type(field), None) for field in SCALARS]
    + [("input", msgspec.Raw, _NULL), ("output", msgspec.Raw, _NULL)],
    forbid_unknown_fields=True,
    gc=False,
)
_RECORDS = msgspec.json.Decoder(_Record)
_SCALAR_VALUES = attrgetter(*SCALARS.names)
_SCALAR_STRUCT = pa.struct(list(SCALARS))


_Read = tuple[dict[str, pa.Array], pa.Array, pa.Array, pa.Array | None, dict[str, np.ndarray]]


def _typed(block: bytes) -> _Read | None:
    """Scalars, inputs, outputs and their hashes of a block whose records hold only
    known fields of the right types; None otherwise. The scalars reach pyarrow as one
    tuple per record, converted in C++."""
    try:
        with no_gc():
            decoded = _RECORDS.decode_lines(block)
            scalars = pa.array(list(map(_SCALAR_VALUES, decoded)), type=_SCALAR_STRUCT)
            inputs, input_hashes = _canonical_column(list(map(attrgetter("input"), decoded)))
            outputs, output_hashes = _canonical_column(list(map(attrgetter("output"), decoded)))
    except (msgspec.DecodeError, msgspec.ValidationError, pa.ArrowException, OverflowError):
        return None
    columns = dict(zip(SCALARS.names, scalars.flatten(), strict=True))
    hashes = {"input_hash": input_hashes, "output_hash": output_hashes}
    return columns, inputs, outputs, None, hashes


def _mixed(block: bytes) -> _Read | None:
    """Records with unknown fields (kept as `extra`): pyarrow reads the known scalars
    while msgspec reads `input`, `output` and the unknown fields (pyarrow runs without
    the GIL, beside it)."""
    parsing = _parser().submit(_scalars, block)
    try:
        with no_gc():
            inputs, outputs, extras = _canonicalise(block)
    except (msgspec.DecodeError, _NotARecord):
        parsing.result()
        return None
    scalars = parsing.result()
    if scalars is None or len(inputs) != scalars.num_rows:
        return None
    return {name: scalars.column(name) for name in SCALARS.names}, inputs, outputs, extras, {}


def fast_block(block: bytes, first_line: int, source: str) -> pa.Table | None:
    """The block as a validated step table, or None to send it to the line-by-line path."""
    read = _typed(block) or _mixed(block)
    if read is None:
        return None
    columns, inputs, outputs, extras, hashes = read
    n = len(inputs)
    flagged: list[int] = []
    check_columns(columns, lambda i, field, message: flagged.append(i))
    if flagged:
        return None
    table = pa.table(
        {
            **{name: columns[name] for name in RECORD_FIELDS if name in columns},
            "input": inputs,
            "output": outputs,
            "rollup": pc.fill_null(columns["rollup"], False),
            "extra": pa.nulls(n, pa.string()) if extras is None else extras,
            "source": pa.repeat(pa.scalar(source, pa.string()), n),
            "line": _line_numbers(block, first_line, n),
        }
    )
    table = finish_table(table)
    for name, values in hashes.items():
        table = table.append_column(name, pa.array(values))
    return in_memory(table)
