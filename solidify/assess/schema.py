"""The step table: one row per step execution, the shape every later stage reads.

The canonical record (docs/log-format.md) maps onto these columns. `input` and
`output` are kept as canonical JSON text (sorted keys, compact) so that they
can be hashed, compared and stored in Parquet whatever their shape.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

KINDS = ("llm", "agent", "tool", "code", "human")
AI_KINDS = ("llm", "agent")
STATUSES = ("ok", "error", "timeout", "cancelled")

REQUIRED = ("workflow", "run_id", "step")

# Field name -> value type of the canonical record ("json" means any JSON value).
RECORD_FIELDS: dict[str, str] = {
    "workflow": "string",
    "run_id": "string",
    "step": "string",
    "kind": "string",
    "status": "string",
    "attempt": "integer",
    "started_at": "timestamp",
    "ended_at": "timestamp",
    "duration_ms": "number",
    "model": "string",
    "provider": "string",
    "input_tokens": "integer",
    "output_tokens": "integer",
    "cache_read_tokens": "integer",
    "cache_write_tokens": "integer",
    "cost_usd": "number",
    "input": "json",
    "output": "json",
    "error": "string",
    "step_id": "string",
    "parent_id": "string",
}

# Columns added by solidify beside the record's own fields.
#   rollup: the row repeats its children's token usage (set by trace readers);
#           its tokens and cost are not counted again.
#   extra:  unknown fields of the record, as JSON text (kept, otherwise ignored).
#   source, line: where the record came from, for messages.
TIMESTAMP = pa.timestamp("us", tz="UTC")

STEP_TABLE_SCHEMA = pa.schema(
    [
        ("workflow", pa.string()),
        ("run_id", pa.string()),
        ("step", pa.string()),
        ("kind", pa.string()),
        ("status", pa.string()),
        ("attempt", pa.int64()),
        ("started_at", TIMESTAMP),
        ("ended_at", TIMESTAMP),
        ("duration_ms", pa.float64()),
        ("model", pa.string()),
        ("provider", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cache_read_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("input", pa.string()),
        ("output", pa.string()),
        ("error", pa.string()),
        ("step_id", pa.string()),
        ("parent_id", pa.string()),
        ("rollup", pa.bool_()),
        ("extra", pa.string()),
        ("source", pa.string()),
        ("line", pa.int64()),
    ],
    metadata={b"solidify": b"step-table/1"},
)

COLUMNS = tuple(STEP_TABLE_SCHEMA.names)
# Grouping keys: held as categories (Arrow dictionaries) from reading on.
CATEGORY_COLUMNS = ("workflow", "run_id", "step", "kind", "status", "model", "provider", "source")
STEP_TABLE_MARKER = (b"solidify", b"step-table/1")


def as_strings(series: Any) -> Any:
    """A column as a numpy array of Python strings (None where missing), cheaply for
    categorical columns: their few categories are converted, not every row."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = np.asarray(series.cat.categories.astype(object), dtype=object)
        codes = series.cat.codes.to_numpy()
        out = np.empty(len(codes), dtype=object)
        present = codes >= 0
        out[present] = categories[codes[present]]
        return out
    return series.astype(object).where(series.notna(), None).to_numpy()
