"""Turn canonical records (dicts) into step-table batches, validating every field.

The fast path converts whole columns with pyarrow and validates them in
vectorised form; only a column that pyarrow refuses is walked value by value,
so that each bad record is still named with its line and field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from solidify.assess.canonical import canonical_json
from solidify.assess.schema import (
    CATEGORY_COLUMNS,
    KINDS,
    RECORD_FIELDS,
    REQUIRED,
    STATUSES,
    STEP_TABLE_SCHEMA,
)

KNOWN_FIELDS = frozenset(RECORD_FIELDS) | {"rollup"}
CHUNK_RECORDS = 50_000


@dataclass(frozen=True)
class Problem:
    """One record that was skipped, and why."""

    file: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: "
        return where + (f"{self.field}: " if self.field else "") + self.message


@dataclass
class Problems:
    """Skipped records: all counted, the first few kept for the message."""

    keep: int = 20
    count: int = 0
    first: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(problem)


@dataclass(frozen=True)
class Unreadable:
    """Stands in for a record that could not even be parsed, so its line is still reported."""

    message: str
    field: str | None = None


INT64 = 2**63


def _is_integer(v: Any) -> bool:
    """An integer (or an integral float) that fits the step table's 64-bit columns."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return -INT64 <= v < INT64
    return isinstance(v, float) and math.isfinite(v) and v.is_integer() and abs(v) < INT64


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_TYPE_CHECK = {
    "string": (lambda v: isinstance(v, str), "expected a string"),
    "integer": (_is_integer, "expected an integer (of at most 64 bits)"),
    "number": (_is_number, "expected a number"),
    "timestamp": (lambda v: isinstance(v, str), "expected an ISO 8601 timestamp string"),
}
_ARROW_TYPE = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64()}


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; naive times are taken as UTC."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class BatchBuilder:
    """Collects (line, record) pairs and emits validated pyarrow tables."""

    def __init__(self, source: str, problems: Problems, *, strict: bool = False) -> None:
        self.source = source
        self.problems = problems
        self.strict = strict

    def batches(self, records: Iterable[tuple[int, Any]]) -> Iterator[pa.Table]:
        lines: list[int] = []
        recs: list[Any] = []
        for line, rec in records:
            lines.append(line)
            recs.append(rec)
            if len(recs) >= CHUNK_RECORDS:
                yield self.build(lines, recs)
                lines, recs = [], []
        if recs:
            yield self.build(lines, recs)

    def _problem(self, line: int, field_name: str | None, message: str) -> None:
        from solidify.errors import InputError

        if self.strict:
            raise InputError(message, file=self.source, line=line, field=field_name)
        self.problems.add(Problem(self.source, line, field_name, message))

    def build(self, lines: list[int], recs: list[Any]) -> pa.Table:
        n = len(recs)
        found: dict[int, tuple[str | None, str]] = {}

        def flag(i: int, field_name: str | None, message: str) -> None:
            found.setdefault(i, (field_name, message))

        for i, rec in enumerate(recs):
            if isinstance(rec, Unreadable):
                flag(i, rec.field, rec.message)
                recs[i] = {}
            elif not isinstance(rec, dict):
                flag(i, None, f"record is not a JSON object (got {type(rec).__name__})")
                recs[i] = {}

        def text(i: int, name: str | None, value: Any) -> str | None:
            try:
                return canonical_json(value)
            except UnicodeEncodeError:  # a lone surrogate escape ("\\ud800") is no text
                flag(i, name, "holds an escape (\\uD800-\\uDFFF) that is no character")
                return None

        columns: dict[str, pa.Array] = {}
        for name, kind in RECORD_FIELDS.items():
            values = [r.get(name) for r in recs]
            if kind == "json":
                texts = [text(i, name, v) for i, v in enumerate(values)]
                columns[name] = pa.array(texts, type=pa.string())
                continue
            columns[name] = self._typed_column(name, kind, values, flag)

        check_columns(columns, flag)
        rollup = [bool(r.get("rollup")) for r in recs]
        extra = [
            text(i, None, {k: v for k, v in r.items() if k not in KNOWN_FIELDS})
            if not r.keys() <= KNOWN_FIELDS
            else None
            for i, r in enumerate(recs)
        ]
        table = pa.table(
            {
                **columns,
                "rollup": pa.array(rollup, type=pa.bool_()),
                "extra": pa.array(extra, type=pa.string()),
                "source": pa.array([self.source] * n, type=pa.string()),
                "line": pa.array(lines, type=pa.int64()),
            }
        )
        if found:
            # Reported in line order, so that --strict names the first bad line.
            for i in sorted(found):
                self._problem(lines[i], *found[i])
            table = table.filter(pa.array([i not in found for i in range(n)]))
        return finish_table(table)

    def _typed_column(self, name: str, kind: str, values: list[Any], flag) -> pa.Array:
        check, message = _TYPE_CHECK[kind]
        arrow_type = _ARROW_TYPE.get(kind, pa.string())
        try:
            if kind == "integer" and any(isinstance(v, (bool, float)) for v in values):
                raise pa.ArrowInvalid("needs the careful path")
            column = pa.array(values, type=arrow_type)
            if kind == "number" and pc.any(pc.invert(pc.is_finite(column))).as_py():
                raise pa.ArrowInvalid("needs the careful path")
            return column
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            clean = []
            for i, v in enumerate(values):
                if kind in ("number", "integer") and isinstance(v, float) and math.isnan(v):
                    # NaN is how pandas and Python's json write a missing value.
                    clean.append(None)
                elif v is None or check(v):
                    # float(): an integer beyond 2**53 is still a number, not an error.
                    clean.append(None if v is None else int(v) if kind == "integer"
                                 else float(v) if kind == "number" else v)  # fmt: skip
                else:
                    flag(i, name, f"{message}, got {_describe(v)}")
                    clean.append(None)
            return pa.array(clean, type=arrow_type)


def check_columns(columns: dict[str, pa.Array], flag) -> None:
    """Vectorised checks of required fields, enums, ranges and timestamps; calls
    `flag(row, field, message)` for each bad row, and parses the timestamp columns."""
    for name in REQUIRED:
        col = columns[name]
        for i in _where(pc.is_null(col)):
            flag(i, name, "required field is missing")
        for i in _where(pc.equal(pc.utf8_trim_whitespace(col), "")):
            flag(i, name, "must not be empty")
    for name, allowed in (("kind", KINDS), ("status", STATUSES)):
        col = columns[name]
        unknown = pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, value_set=pa.array(allowed))))
        for i in _where(unknown):
            flag(i, name, f"must be one of {', '.join(allowed)}, got {col[i].as_py()!r}")
    for name, low, message in (
        ("attempt", 1, "must be 1 or more"),
        ("input_tokens", 0, "must not be negative"),
        ("output_tokens", 0, "must not be negative"),
        ("cache_read_tokens", 0, "must not be negative"),
        ("cache_write_tokens", 0, "must not be negative"),
        ("duration_ms", 0, "must not be negative"),
        ("cost_usd", 0, "must not be negative"),
    ):
        col = columns[name]
        for i in _where(pc.less(col, low)):
            flag(i, name, f"{message}, got {col[i].as_py()}")
    for name in ("started_at", "ended_at"):
        columns[name] = _timestamps(name, columns[name], flag)


def _where(mask: pa.Array | pa.ChunkedArray) -> list[int]:
    """Row numbers where a boolean array is true (nulls count as false)."""
    filled = pc.fill_null(mask, False)
    if not pc.any(filled).as_py():
        return []
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    return [int(i) for i in np.flatnonzero(filled.to_numpy(zero_copy_only=False))]


def _timestamps(name: str, col: pa.Array, flag) -> pa.Array:
    if col.null_count == len(col):
        return pa.nulls(len(col), type=STEP_TABLE_SCHEMA.field(name).type)
    try:
        # Arrow's own parser takes the usual layouts (with a zone) in C++ ...
        return pc.cast(col, STEP_TABLE_SCHEMA.field(name).type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # ... pandas the rest (no zone, dates alone, nanoseconds, mixed layouts).
    import pandas as pd  # only here: reading can start before pandas is loaded

    text = col.to_pandas()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    failed = text.notna() & parsed.isna()
    if failed.any():
        # pandas wants one ISO layout per column; mixed layouts are parsed one by one.
        for i in _indices(failed):
            try:
                parsed.iloc[i] = parse_timestamp(text.iloc[i])
            except (ValueError, TypeError):
                flag(i, name, f"not an ISO 8601 timestamp: {text.iloc[i]!r}")
    return pa.array(parsed.dt.as_unit("us"), type=STEP_TABLE_SCHEMA.field(name).type)


def _indices(mask) -> list[int]:
    return [int(i) for i in mask.to_numpy().nonzero()[0]]


def _describe(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return "an object" if isinstance(v, dict) else "a list"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def in_memory(table: pa.Table) -> pa.Table:
    """The step table as pandas holds it: the grouping keys dictionary-encoded (pandas
    turns the dictionaries into categories)."""
    for name in CATEGORY_COLUMNS:
        at = table.schema.get_field_index(name)
        if not pa.types.is_dictionary(table.schema.field(at).type):
            table = table.set_column(at, name, pc.dictionary_encode(table.column(at)))
    return table


def finish_table(table: pa.Table) -> pa.Table:
    """Fill the contract's defaults: kind from model, status ok, attempt 1, duration."""
    model = table["model"]
    kind = pc.if_else(
        pc.is_null(table["kind"]),
        pc.if_else(pc.is_null(model), pa.scalar("code"), pa.scalar("llm")),
        table["kind"],
    )
    status = pc.fill_null(table["status"], "ok")
    attempt = pc.fill_null(table["attempt"], 1)
    span = pc.divide(
        # safe=False: spans of centuries are beyond float's exact integers, not errors.
        pc.cast(
            pc.microseconds_between(table["started_at"], table["ended_at"]),
            pa.float64(),
            safe=False,
        ),
        1000.0,
    )
    duration = pc.if_else(pc.is_null(span), table["duration_ms"], span)
    table = table.set_column(table.schema.get_field_index("kind"), "kind", kind)
    table = table.set_column(table.schema.get_field_index("status"), "status", status)
    table = table.set_column(table.schema.get_field_index("attempt"), "attempt", attempt)
    table = table.set_column(table.schema.get_field_index("duration_ms"), "duration_ms", duration)
    return table.select(STEP_TABLE_SCHEMA.names).cast(STEP_TABLE_SCHEMA)
