"""Langfuse blob exports (Parquet) read by DuckDB into the step table.

The query applies the mapping of formats/langfuse.py `export_records` to every row:
the workflow is the trace's name, else its root observation's name, else the file's
default; kind, step, status, usage buckets, cost, input and output as canonical JSON.
What needs Python (the step-name rules, whose regexes DuckDB lacks; the kind rules over
the span's attributes) runs over the DISTINCT values only, registered as a small table
and joined back. Rows the query cannot map exactly as the Python reader would (JSON
text that DuckDB and Python may read apart, a usage key beyond ASCII, a count held as
text) and rows the record checks would reject are flagged: the Python reader maps just
those rows, and `records.BatchBuilder` names the line and field. A file of a shape this
path does not take returns False before anything is added (the Python reader takes it).

Lines: a record's line is its number among the records the file gives, as the Python
reader numbers them (an EVENT under another observation gives none).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from solidify.assess.formats import common, langfuse
from solidify.assess.jsonl_sql import _BLANK, _TIMESTAMP, MAY_DIFFER, _sql_string
from solidify.assess.records import BatchBuilder
from solidify.assess.schema import STEP_TABLE_SCHEMA
from solidify.assess.steptable import StepTable
from solidify.assess.tabular_sql import (
    _JSON_DOUBT,
    NAMES,
    insert_kept,
    quiet,
    quoted,
    sorted_keys,
)

# Python's str.strip() removes these (RE2's \s is ASCII only).
_WS = "[\\s\\x0B\\x1C-\\x1F\\x{85}\\p{Z}]"
_EDGE_WS = f"^{_WS}|{_WS}$"
# Text Python's decode() would read once more (JSON inside a JSON string).
_DECODES = f'^{_WS}*([{{\\["]|(null|true|false){_WS}*$)'
_INT_LIMIT = "9223372036854775808"

# Columns the mapping reads, by the Arrow types this path takes for each.
TEXT = ("id", "trace_id", "parent_observation_id", "name", "type", "level", "status_message",
        "trace_name", "model", "provided_model_name", "prompt_name", "input", "output",
        "metadata")  # fmt: skip
TIMES = ("start_time", "end_time")
MAPS = ("usage_details", "cost_details")
# camelCase spellings the Python reader also reads: a file with any is left to it.
ALIASES = ("traceName", "traceId", "startTime", "endTime", "providedModelName",
           "statusMessage", "parentObservationId", "promptName", "promptVersion",
           "costDetails", "totalCost", "usageDetails", "observations")  # fmt: skip
ATTRIBUTES = ("openinference.span.kind", "gen_ai.operation.name", *common.TOOL_ATTRIBUTES,
              "gen_ai.agent.name", "agent_name", "gen_ai.system", "gen_ai.provider.name",
              "llm.provider")  # fmt: skip
# Below this size the Python reader is as quick as DuckDB's planning (measured:
# docs/performance.md).
SMALL_EXPORT_BYTES = 200 * 1024
KINDS_TABLE = "solidify_langfuse_kinds"
WORKFLOWS_TABLE = "solidify_langfuse_workflows"


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def as_double(col: str, kind: pa.DataType) -> str:
    """A numeric column as DOUBLE; a decimal through its text, rounded once as Python's
    float(Decimal) rounds it."""
    return f"{col}::VARCHAR::DOUBLE" if pa.types.is_decimal(kind) else f"{col}::DOUBLE"


# Above 2**53 a DOUBLE no longer holds every integer: such counts are left to Python.
EXACT_LIMIT = "9007199254740992"


def time_doubt(text: str) -> str:
    """True when common.iso and the record checks may read a time given as text otherwise
    than a cast does ("" is no time; digits are epoch seconds; other text as it is)."""
    return (
        f"{text} <> '' AND (regexp_matches({text}, {_sql_string(_EDGE_WS)}) "
        f"OR NOT regexp_matches({text}, {_sql_string(_TIMESTAMP)}) "
        f"OR try_cast({text} AS TIMESTAMPTZ) IS NULL)"
    )


def _columns(schema: pa.Schema) -> list[str] | None:
    """The base relation's select list (every column the mapping reads, NULL when the
    file has none; a time given as text also as text, t_NAME), or None when a column is
    of a type this path does not take."""
    names = schema.names
    if len(set(names)) != len(names) or any(a in names for a in ALIASES) or "trace" in names:
        return None
    out = []
    for name in (*TEXT, *TIMES, *MAPS, "total_cost", "prompt_version"):
        at = schema.get_field_index(name)
        kind = schema.field(at).type if at >= 0 else pa.null()
        col = quoted(name)
        if name in TIMES:
            text = f"{col}::VARCHAR" if _is_text(kind) else "NULL::VARCHAR"
            out.append(f"{text} AS {quoted('t_' + name)}")
        if pa.types.is_null(kind):
            sql_type = {"total_cost": "DOUBLE", "prompt_version": "VARCHAR"}.get(name)
            if name in TIMES:
                sql_type = "TIMESTAMPTZ"
            elif name in MAPS:
                sql_type = "MAP(VARCHAR, DOUBLE)"
            out.append(f"NULL::{sql_type or 'VARCHAR'} AS {col}")
        elif name in TEXT and _is_text(kind):
            out.append(f"{col}::VARCHAR AS {col}")
        elif (name == "metadata" and pa.types.is_map(kind) and _is_text(kind.key_type)
              and _is_text(kind.item_type)):  # fmt: skip
            # The Python reader makes a dict of a map: the same object as JSON.
            out.append(f"to_json({col})::VARCHAR AS {col}")
        elif name in TIMES and pa.types.is_timestamp(kind) and kind.unit in ("s", "ms", "us"):
            out.append(f"{col}::TIMESTAMPTZ AS {col}")
        elif name in TIMES and _is_text(kind):
            out.append(f"try_cast(nullif({col}, '') AS TIMESTAMPTZ) AS {col}")
        elif (name in MAPS and pa.types.is_map(kind) and _is_text(kind.key_type)
              and _is_number(kind.item_type)):  # fmt: skip
            if pa.types.is_decimal(kind.item_type):
                out.append(f"map_from_entries([struct_pack(key := e.key, value := "
                           f"e.value::VARCHAR::DOUBLE) for e in map_entries({col})]) "
                           f"AS {col}")  # fmt: skip
            else:
                out.append(f"{col}::MAP(VARCHAR, DOUBLE) AS {col}")
        elif name == "total_cost" and _is_number(kind):
            out.append(f"{as_double(col, kind)} AS {col}")
        elif name == "prompt_version" and (_is_text(kind) or pa.types.is_integer(kind)):
            # Written into `extra` as JSON: text quoted, integers as they are.
            out.append(f"to_json({col})::VARCHAR AS {col}")
        else:
            return None
    return out


def _present(j: str) -> str:
    """A JSON value, NULL when absent or JSON null (`first` skips both)."""
    j = f"({j})"
    return f"CASE WHEN json_type({j}) <> 'NULL' THEN {j} END"


def _integer(j: str) -> str:
    """common.integer of a JSON number: whole part of a finite value in [0, 2**63)."""
    j = f"({j})"
    return (
        # Non-negative integers are UBIGINT to DuckDB: those below 2**63 fit a BIGINT.
        f"CASE json_type({j}) WHEN 'UBIGINT' THEN try_cast({j}::VARCHAR AS BIGINT) "
        f"WHEN 'BIGINT' THEN CASE WHEN {j}::BIGINT >= 0 THEN {j}::BIGINT END "  # -0
        f"WHEN 'DOUBLE' THEN CASE WHEN isfinite({j}::DOUBLE) AND {j}::DOUBLE >= 0 "
        f"AND {j}::DOUBLE < {_INT_LIMIT}::DOUBLE THEN trunc({j}::DOUBLE)::BIGINT END END"
    )


def _decoded(t: str) -> tuple[str, str]:
    """(canonical JSON text of common.decode(t), true when the query doubts it)."""
    # A JSON string's text (CASE: DuckDB evaluates both sides of an AND on every row).
    inner = f"(CASE WHEN left({t}, 1) = '\"' AND json_valid({t}) THEN {t} ->> '$' END)"
    value = (
        f"CASE WHEN {t} IS NULL OR {t} = 'null' THEN NULL "
        f"WHEN {t} IN ('true', 'false') THEN {t} "
        f"WHEN left({t}, 1) IN ('{{', '[') AND json_valid({t}) THEN sorted_keys_here "
        f"WHEN left({t}, 1) = '\"' AND json_valid({t}) THEN to_json({inner})::VARCHAR "
        f"ELSE to_json({t})::VARCHAR END"
    ).replace("sorted_keys_here", sorted_keys(f"json({t})::VARCHAR"))
    doubt = (
        f"{t} IS NOT NULL AND (regexp_matches({t}, {_sql_string(_EDGE_WS)}) "
        f"OR (left({t}, 1) IN ('{{', '[', '\"') AND (NOT json_valid({t}) "
        f"OR regexp_matches({t}, {_sql_string(_JSON_DOUBT)}))) "
        f"OR (left({t}, 1) = '\"' AND regexp_matches({inner}, {_sql_string(_DECODES)})))"
    )
    return value, doubt


def _usage_sum(u: str, keys: str) -> str:
    """The sum of the usage buckets whose lower-case key `{k}` passes `keys`."""
    return (
        f"list_sum([trunc(e.value)::HUGEINT for e in map_entries({u}) "
        f"if e.key <> 'total' AND isfinite(e.value) AND e.value >= 0 "
        f"AND e.value < {_INT_LIMIT}::DOUBLE AND ({keys.format(k='lower(e.key)')})])"
    )


def _attribute(*names: str) -> str:
    """common.first over the span's attributes: the first present, non-null value."""
    return "coalesce(" + ", ".join(_present(f"attrs -> '$.\"{n}\"'") for n in names) + ")"


def _either(*conditions: str) -> str:
    """Conditions or'ed, each unknown (NULL) taken as false."""
    return "(" + " OR ".join(f"coalesce({c}, false)" for c in conditions) + ")"


def _mapped_sql(base: str, renumber: bool) -> str:
    """Every row of `base` with its step-table columns (c_NAME), whether the query
    doubts it or the record checks would reject it (`flagged`), and its line."""
    inputs = "(starts_with({k}, 'input') OR starts_with({k}, 'prompt'))"
    outputs = "(starts_with({k}, 'output') OR starts_with({k}, 'completion'))"
    cached = "(contains({k}, 'cache_read') OR contains({k}, 'cached'))"
    u = '"usage_details"'
    tokens_in = _usage_sum(u, inputs)
    tokens_out = _usage_sum(u, outputs)
    read = _usage_sum(u, f"{inputs} AND {cached}")
    write = _usage_sum(
        u,
        f"{inputs} AND NOT {cached} AND (contains({{k}}, 'cache_creation') "
        "OR contains({k}, 'cache_write'))",
    )
    attr_in = _attribute("gen_ai.usage.input_tokens", "llm.token_count.prompt")
    attr_out = _attribute("gen_ai.usage.output_tokens", "llm.token_count.completion")
    attr_model = _attribute("gen_ai.response.model", "gen_ai.request.model", "model_name")
    inp, inp_doubt = _decoded('"input"')
    out, out_doubt = _decoded('"output"')
    meta = '"metadata"'
    meta_doubt = (
        f"regexp_matches({meta}, {_sql_string(_EDGE_WS)}) OR left({meta}, 1) = '\"' "
        f"OR (left({meta}, 1) = '{{' AND (NOT json_valid({meta}) "
        f"OR regexp_matches({meta}, {_sql_string(_JSON_DOUBT)})))"
    )
    cost = (
        'coalesce("total_cost", CASE WHEN cardinality("cost_details") > 0 '
        "THEN \"cost_details\"['total'] END)"
    )
    extra = (
        "nullif('{' || concat_ws(',', '\"prompt_name\":' || to_json(\"prompt_name\")::VARCHAR, "
        "'\"prompt_version\":' || \"prompt_version\") || '}', '{}')"
    )
    blank = _sql_string(_BLANK)
    usage_keys = f"len([k for k in map_keys({u}) if regexp_matches(k, '[^\\x00-\\x7F]')]) > 0"
    doubt = _either(
        time_doubt('"t_start_time"'),
        time_doubt('"t_end_time"'),
        f"len([v for v in map_values({u}) if abs(v) >= {EXACT_LIMIT}]) > 0",
        inp_doubt,
        f"NOT c_failed AND ({out_doubt})",
        meta_doubt,
        usage_keys,
        "attr_usage AND json_type(a_in) = 'VARCHAR'",
        "attr_usage AND json_type(a_out) = 'VARCHAR'",
        "attr_usage AND c_model IS NULL AND json_type(a_model) <> 'VARCHAR'",
    )
    flagged = _either(
        "doubt",
        "c_cost_usd < 0",
        f"regexp_matches(c_workflow, {blank})",
        f"regexp_matches(c_run_id, {blank})",
        f"regexp_matches(c_step, {blank})",
        *(f"{s} >= {_INT_LIMIT}" for s in ("c_in_sum", "c_out_sum", "c_read_sum", "c_write_sum")),
        f"regexp_matches(concat(c_input, c_output, c_extra), {_sql_string(MAY_DIFFER)})",
    )
    line = "row_number() OVER (ORDER BY solidify_row)" if renumber else "solidify_row"
    return f"""
    SELECT *, {line} AS line, {flagged} AS flagged
    FROM (
      SELECT *,
        CASE WHEN c_failed THEN NULL ELSE {out} END AS c_output,
        {extra} AS c_extra,
        CASE WHEN has_usage AND isfinite({cost}) THEN {cost} END AS c_cost_usd,
        CASE WHEN attr_usage THEN {_integer("a_in")} END AS a_in_n,
        CASE WHEN attr_usage THEN {_integer("a_out")} END AS a_out_n,
        {doubt} AS doubt
      FROM (
        SELECT *,
          NOT has_usage AND c_kind IN ('agent', 'code') AS attr_usage,
          {attr_in} AS a_in, {attr_out} AS a_out, {attr_model} AS a_model
        FROM (
          SELECT *,
            coalesce(c_in_sum, 0) <> 0 OR coalesce(c_out_sum, 0) <> 0 AS has_usage
          FROM (
            SELECT *,
              {tokens_in} AS c_in_sum, {tokens_out} AS c_out_sum,
              {read} AS c_read_sum, {write} AS c_write_sum,
              {inp} AS c_input
            FROM {base}
          )
        )
      )
    )
    """


def _finished_sql(mapped: str) -> str:
    """The step table's columns of the mapped rows."""
    tokens = (
        "CASE WHEN attr_usage AND (coalesce(a_in_n, 0) <> 0 OR coalesce(a_out_n, 0) <> 0) "
        "THEN {attr} ELSE nullif({usage}, 0)::BIGINT END"
    )
    model = (
        "CASE WHEN c_model IS NULL AND attr_usage AND (coalesce(a_in_n, 0) <> 0 "
        "OR coalesce(a_out_n, 0) <> 0) AND (a_model ->> '$') <> '' THEN a_model ->> '$' "
        "ELSE c_model END"
    )
    values = {
        "workflow": "c_workflow",
        "run_id": "c_run_id",
        "step": "c_step",
        "kind": "c_kind",
        "status": "CASE WHEN c_failed THEN 'error' ELSE 'ok' END",
        "attempt": "1::BIGINT",
        "started_at": '"start_time"',
        "ended_at": '"end_time"',
        "duration_ms": 'date_diff(\'microsecond\', "start_time", "end_time")::DOUBLE / 1000.0',
        "model": model,
        "provider": "c_provider",
        "input_tokens": tokens.format(attr="a_in_n", usage="c_in_sum"),
        "output_tokens": tokens.format(attr="a_out_n", usage="c_out_sum"),
        "cache_read_tokens": "CASE WHEN has_usage THEN nullif(c_read_sum, 0)::BIGINT END",
        "cache_write_tokens": "CASE WHEN has_usage THEN nullif(c_write_sum, 0)::BIGINT END",
        "cost_usd": "c_cost_usd",
        "input": "c_input",
        "output": "c_output",
        "error": "CASE WHEN c_failed THEN coalesce(nullif(\"status_message\", ''), 'error') END",
        "step_id": '"id"',
        "parent_id": '"parent_observation_id"',
        "rollup": "false",
        "extra": "c_extra",
        "source": "$source::VARCHAR",
        "line": "line",
    }
    assert list(values) == STEP_TABLE_SCHEMA.names
    columns = ", ".join(f"{v} AS {quoted(k)}" for k, v in values.items())
    return f"SELECT {columns}, flagged FROM {mapped}"


def _kind_key() -> str:
    """The values the kind and step rules read, as one JSON array (the join key)."""
    parts = ['"type"', '"name"', "md -> '$.langgraph_node'"]
    parts += [f"attrs -> '$.\"{name}\"'" for name in ATTRIBUTES]
    parts.append("attrs IS NOT NULL")
    return f"to_json([{', '.join(f'({p})::VARCHAR' for p in parts)}])::VARCHAR"


def _observation(key: str) -> dict[str, Any]:
    """An observation holding just the values of a kind key (what _kind and _step read)."""
    type_, name, node, *values, has_attributes = json.loads(key)
    attributes = {k: json.loads(v) for k, v in zip(ATTRIBUTES, values, strict=True) if v}
    metadata: dict[str, Any] = {"attributes": attributes} if has_attributes == "true" else {}
    if node is not None:
        metadata["langgraph_node"] = json.loads(node)
    return {"type": type_, "name": name, "metadata": metadata}


def _kinds(keys: list[str]) -> pa.Table | None:
    """kind, step, provider and whether it is a dropped EVENT, for each distinct key;
    None when a step is an event of a call (fold_events merges those: Python's work)."""
    rows: dict[str, list[Any]] = {"key": [], "kind": [], "step": [], "provider": [], "event": []}
    for key in keys:
        o = _observation(key)
        try:
            kind = langfuse._kind(o)
            step = langfuse._step(o, kind)
            provider = common.provider_name(langfuse._provider(o))
        except common.READ_ERRORS:
            return None
        if common._EVENT.match(step):
            return None
        rows["key"].append(key)
        rows["kind"].append(kind)
        rows["step"].append(step)
        rows["provider"].append(provider)
        rows["event"].append(str(o["type"] or "").upper() == "EVENT")
    types = {"key": pa.string(), "kind": pa.string(), "step": pa.string(),
             "provider": pa.string(), "event": pa.bool_()}  # fmt: skip
    return pa.table(rows, schema=pa.schema(list(types.items())))


def _workflows(names: list[str]) -> pa.Table:
    out = [common.stable_workflow(n) or "langfuse" for n in names]
    return pa.table({"w": pa.array(names, pa.string()), "workflow": pa.array(out, pa.string())})


def read_langfuse(
    steps: StepTable, path: str, builder: BatchBuilder, default_workflow: str
) -> bool:
    """Add a Langfuse blob export's good rows to `steps`; False (nothing added) when this
    path does not take the file."""
    schema = pq.read_schema(path)
    columns = _columns(schema)
    if columns is None:
        return False
    quiet(steps)
    con = steps.con
    params = {"path": path}
    maps = [n for n in MAPS if n in schema.names and pa.types.is_map(schema.field(n).type)]
    if maps and _repeated_map_keys(con, path, maps):
        # DuckDB refuses such a map, and its cast fails badly enough to close the
        # connection: the Python reader takes the file (the last value of a key wins).
        return False
    raw = (
        f"(SELECT file_row_number + 1 AS solidify_row, {', '.join(columns)} "
        "FROM read_parquet($path, file_row_number = true))"
    )
    # metadata as common.decode reads it: a JSON object, its `attributes` object.
    parsed = (
        "(SELECT *, CASE WHEN json_type(md -> '$.attributes') = 'OBJECT' "
        "THEN md -> '$.attributes' END AS attrs FROM ("
        'SELECT *, CASE WHEN left("metadata", 1) = \'{\' AND json_valid("metadata") '
        f'THEN "metadata"::JSON END AS md FROM {raw}))'
    )
    try:
        # The trace's root: an observation without parent that others hang from (the
        # last such row wins, as in the Python reader's dict).
        roots = con.sql(
            f"""
            SELECT trace_id, arg_max(name, solidify_row) FROM {raw}
            WHERE coalesce(parent_observation_id, '') = '' AND name <> ''
              AND (id IN (SELECT parent_observation_id FROM {raw})
                   OR (id IS NULL AND EXISTS (SELECT 1 FROM {raw}
                                              WHERE parent_observation_id IS NULL)))
            GROUP BY trace_id
            """,
            params=params,
        ).to_arrow_table()
        roots = roots.rename_columns(["trace_id", "root_name"])
        keys = [row[0] for row in con.execute(
            f"SELECT DISTINCT {_kind_key()} FROM {parsed}", params).fetchall()]  # fmt: skip
    except duckdb.Error:
        return False
    kinds = _kinds(keys)
    if kinds is None:
        return False
    workflow_of = (
        'CASE WHEN "trace_name" <> \'\' THEN "trace_name" ELSE coalesce(r.root_name, $default) END'
    )
    con.register("solidify_langfuse_roots", roots)
    con.register(KINDS_TABLE, kinds)
    try:
        names = [row[0] for row in con.execute(
            f"SELECT DISTINCT {workflow_of} FROM {raw} AS b LEFT JOIN solidify_langfuse_roots "
            "AS r ON b.trace_id IS NOT DISTINCT FROM r.trace_id",
            {**params, "default": default_workflow}).fetchall()]  # fmt: skip
        con.register(WORKFLOWS_TABLE, _workflows(names))
        dropped = "k.event AND coalesce(b.parent_observation_id, '') <> ''"
        joined = f"""
            (SELECT b.*, k.kind AS c_kind, k.step AS c_step, k.provider AS c_provider,
                w.workflow AS c_workflow, {workflow_of} AS c_w,
                CASE WHEN coalesce(b.trace_id, '') = '' THEN 'unknown-trace'
                     ELSE b.trace_id END AS c_run_id,
                upper(coalesce(nullif(b.level, ''), 'DEFAULT')) = 'ERROR' AS c_failed,
                nullif(coalesce(b.model, b.provided_model_name), '') AS c_model
             FROM {parsed} AS b
             JOIN {KINDS_TABLE} AS k ON k.key = {_kind_key()}
             LEFT JOIN solidify_langfuse_roots AS r ON b.trace_id IS NOT DISTINCT FROM r.trace_id
             JOIN {WORKFLOWS_TABLE} AS w ON w.w = {workflow_of}
             WHERE NOT ({dropped}))
        """
        any_dropped = con.execute(
            f"SELECT count(*) FROM {parsed} AS b JOIN {KINDS_TABLE} AS k ON k.key = "
            f"{_kind_key()} WHERE {dropped}",
            params,
        ).fetchall()[0][0]
        mapped = f"({_mapped_sql(joined, renumber=bool(any_dropped))})"
        values = {**params, "default": default_workflow, "source": builder.source}
        flagged = con.execute(
            f"SELECT line, solidify_row, c_w FROM {mapped} WHERE flagged ORDER BY line",
            {**params, "default": default_workflow},
        ).fetchall()
        insert(con, _finished_sql(mapped), bool(flagged),
               lambda: _checked(path, flagged, builder), values)  # fmt: skip
    except duckdb.Error:
        return False
    finally:
        for name in ("solidify_langfuse_roots", KINDS_TABLE, WORKFLOWS_TABLE):
            with contextlib.suppress(duckdb.Error):  # no error may hide the one raised
                con.unregister(name)
    return True


def _repeated_map_keys(con: duckdb.DuckDBPyConnection, path: str, maps: list[str]) -> bool:
    """Whether a row's map in one of the `maps` columns holds a key twice (Parquet allows
    it; a DuckDB MAP does not)."""
    repeated = " OR ".join(
        f'cardinality("{n}") <> len(list_distinct(map_keys("{n}")))' for n in maps
    )
    sql = f"SELECT count(*) FROM read_parquet($path) WHERE {repeated}"
    return bool(con.execute(sql, {"path": path}).fetchall()[0][0])


def insert(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    any_flagged: bool,
    checked: Callable[[], pa.Table | None],
    values: dict[str, Any],
) -> None:
    """Add the rows of `rows` (a SELECT of the step table's columns and `flagged`) that
    are not flagged, and those `checked` returns (the flagged rows the record checks
    accept), in the order of their lines (the joins before may reorder rows)."""
    if not any_flagged:
        insert_kept(con, f"SELECT {NAMES} FROM ({rows})", None, values, ordered=True)
        return
    good = f"SELECT {NAMES} FROM ({rows}) WHERE NOT flagged"
    insert_kept(con, good, checked(), values, ordered=True)


def rows_at(path: str, numbers: list[int]) -> dict[int, dict[str, Any]]:
    """Parquet rows by their number (from 1), as Python dicts."""
    wanted = np.unique(np.asarray(numbers, dtype=np.int64) - 1)
    found: dict[int, dict[str, Any]] = {}
    start = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
        inside = wanted[(wanted >= start) & (wanted < start + len(batch))]
        if len(inside):
            taken = batch.take(pa.array(inside - start)).to_pylist()
            found.update(zip((inside + 1).tolist(), taken, strict=True))
        start += len(batch)
    return found


def _checked(
    path: str, flagged: list[tuple[int, int, str]], builder: BatchBuilder
) -> pa.Table | None:
    """The flagged rows mapped by the Python reader (with the workflow the query found)
    and checked by the record checks: problems reported, accepted rows returned."""
    found = rows_at(path, [row for _, row, _ in flagged])
    lines, recs = [], []
    for line, row, workflow in flagged:
        observation = common.plain_row(found[row])
        for record in langfuse.observation_records([observation], str(workflow), None):
            lines.append(line)
            recs.append(record)
    return builder.build(lines, recs)
