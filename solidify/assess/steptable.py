"""The step table in an engine: one row per step execution, held by DuckDB.

Every later stage asks the table questions in SQL (DuckDB's dialect) and gets back
Arrow tables of aggregates and samples; only those reach Python. The same questions
run on Spark through `solidify.assess.spark` (the SQL is transpiled by SQLGlot).

The table is named `steps` and has the columns of `schema.STEP_TABLE_SCHEMA`
(`input` and `output` as compact JSON text). The database lives in memory and
spills to a private temporary folder, removed when the table is closed, so memory
stays bounded as logs grow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa

from solidify.assess.schema import STEP_TABLE_SCHEMA

TABLE = "steps"
# DuckDB's own default is 80 % of the machine; a command-line tool should leave room.
DEFAULT_MEMORY = os.environ.get("SOLIDIFY_MEMORY", "1GB")


class Engine(Protocol):
    """What the stages after reading need from an engine."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Run one query in DuckDB's SQL dialect over `steps` and registered tables."""
        ...

    def register(self, name: str, table: pa.Table) -> None:
        """Make a small Arrow table (prices, a plan) queryable under `name`."""
        ...

    def materialize(self, name: str, sql: str) -> None:
        """Compute a query once and keep its rows in the engine under `name` (a
        temporary table or a cached view), for the queries that read it after."""
        ...


class StepTable:
    """A DuckDB database holding the `steps` table; use it as a context manager."""

    def __init__(self, *, memory_limit: str = DEFAULT_MEMORY, threads: int | None = None) -> None:
        self._folder = tempfile.mkdtemp(prefix="solidify-")
        # Also removed if the owner forgets to close it, at the latest when Python exits.
        self._removal = weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        try:
            self.con = duckdb.connect(
                config={
                    "memory_limit": memory_limit,
                    "temp_directory": os.path.join(self._folder, "spill"),
                    **({"threads": threads} if threads else {}),
                }
            )
            columns = ", ".join(
                f'"{field.name}" {_duck_type(field.type)}' for field in STEP_TABLE_SCHEMA
            )
            self.con.execute(f"CREATE TABLE {TABLE} ({columns})").fetchall()
            # Days (for prices) are UTC days whatever the machine's zone.
            self.con.execute("SET TimeZone = 'UTC'").fetchall()
            # DuckDB draws a progress bar on stdout for long queries: stdout is the output.
            self.con.execute("SET enable_progress_bar = false").fetchall()
        except BaseException:
            self._removal()
            raise

    @classmethod
    def of(cls, tables: Iterable[pa.Table], **options: Any) -> StepTable:
        """A step table holding the given Arrow tables (each in STEP_TABLE_SCHEMA)."""
        return filled(cls(**options), tables)

    @classmethod
    def viewing(cls, table: pa.Table, **options: Any) -> StepTable:
        """A step table that reads an Arrow table in STEP_TABLE_SCHEMA where it lies,
        without copying it in (for callers that already hold the rows)."""
        out = cls(**options)
        try:
            out.con.execute(f"DROP TABLE {TABLE}").fetchall()
            rows = _as_read(table.select(STEP_TABLE_SCHEMA.names))
            # A view has no `rowid`: the order rows were given in, as the queries expect.
            rows = rows.append_column("rowid", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
            out.con.register(TABLE, rows)
        except BaseException:
            out.close()
            raise
        return out

    def append(self, batch: pa.Table) -> None:
        """Add rows given in STEP_TABLE_SCHEMA (extra columns are left out)."""
        data = batch.select(STEP_TABLE_SCHEMA.names).cast(STEP_TABLE_SCHEMA)  # noqa: F841
        self.con.execute(f"INSERT INTO {TABLE} SELECT * FROM data").fetchall()

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        return self.con.sql(sql, params=params or None).to_arrow_table()

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}").fetchall()

    def __len__(self) -> int:
        return int(self.con.sql(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0])

    def arrow(self, where: str = "true") -> pa.Table:
        """Rows as Arrow, in the order they were added (for small logs and migrate)."""
        columns = ", ".join(f'"{name}"' for name in STEP_TABLE_SCHEMA.names)
        return self.query(f"SELECT {columns} FROM {TABLE} WHERE {where}").cast(STEP_TABLE_SCHEMA)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self._removal()

    def __enter__(self) -> StepTable:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _as_read(table: pa.Table) -> pa.Table:
    """The table in STEP_TABLE_SCHEMA's types, except that text stays as it is (large
    strings, dictionaries of strings): DuckDB reads those as VARCHAR, and a cast would
    copy every text."""
    columns = []
    for field, column in zip(STEP_TABLE_SCHEMA, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        textual = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        if field.type == column.type or (pa.types.is_string(field.type) and textual):
            columns.append(column)
        else:
            columns.append(column.cast(field.type))
    return pa.table(columns, names=STEP_TABLE_SCHEMA.names)


def _duck_type(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "VARCHAR"
    if pa.types.is_int64(kind):
        return "BIGINT"
    if pa.types.is_floating(kind):
        return "DOUBLE"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMPTZ"
    raise TypeError(f"no DuckDB type for {kind}")


def filled(table: Any, tables: Iterable[pa.Table]) -> Any:
    """`table` (any engine's step table) holding `tables`; closed if adding them fails."""
    try:
        for batch in tables:
            table.append(batch)
    except BaseException:
        table.close()
        raise
    return table
