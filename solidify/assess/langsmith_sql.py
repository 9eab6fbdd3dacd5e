"""LangSmith bulk exports (Parquet runs) read by DuckDB into the step table.

The query applies formats/langsmith.py `run_records` to every row: the workflow is the
run's project (`session_name`, else `project_name`; not LangSmith's `default`), else its
trace's project, else the name of the trace's root run, else the file's default; kind
from `run_type`; usage from `outputs.usage_metadata`, `outputs.llm_output.token_usage`,
`outputs.usage` or the run's own token columns; an LLM run's output is the answer out of
the API response (the message text, or the message when it calls tools; LangChain's
first generation's text); an LLM run under a chain or prompt run takes that run's inputs
as its prompt variables; a run seen twice counts once. Names (steps, workflows,
providers) are mapped in Python over their DISTINCT values and joined back. Rows the
query doubts or the record checks would reject are mapped by the Python reader and
checked by `records.BatchBuilder` (see exports_sql).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from solidify.assess.exports_sql import (
    _INT_LIMIT,
    EXACT_LIMIT,
    _decoded,
    _either,
    _integer,
    _is_number,
    _is_text,
    _present,
    as_double,
    insert,
    rows_at,
    time_doubt,
)
from solidify.assess.formats import common, langsmith
from solidify.assess.jsonl_sql import _BLANK, MAY_DIFFER, _sql_string
from solidify.assess.records import BatchBuilder
from solidify.assess.schema import STEP_TABLE_SCHEMA
from solidify.assess.steptable import StepTable
from solidify.assess.tabular_sql import quiet, quoted, sorted_keys

TEXT = ("id", "trace_id", "name", "run_type", "session_name", "project_name", "error",
        "parent_run_id", "inputs", "outputs", "extra")  # fmt: skip
TIMES = ("start_time", "end_time")
NUMBERS = ("prompt_tokens", "completion_tokens", "total_cost")
NAMES_TABLE = "solidify_langsmith_names"
PROJECTS_TABLE = "solidify_langsmith_projects"
TRACES_TABLE = "solidify_langsmith_traces"
PARENTS_TABLE = "solidify_langsmith_parents"


def _columns(schema: pa.Schema) -> tuple[list[str], set[str]] | None:
    """The base relation's select list and the times given as text, or None when a
    column is of a type this path does not take."""
    names = schema.names
    if len(set(names)) != len(names) or "post" in names or "patch" in names:
        return None
    out, texts = [], set()
    for name in (*TEXT, *TIMES, *NUMBERS):
        at = schema.get_field_index(name)
        kind = schema.field(at).type if at >= 0 else pa.null()
        col = quoted(name)
        if pa.types.is_null(kind):
            sql_type = "DOUBLE" if name in NUMBERS else "VARCHAR"
            out.append(f"NULL::{sql_type} AS {col}")
            if name in TIMES:
                texts.add(name)
        elif (name in TEXT or name in TIMES) and _is_text(kind):
            out.append(f"{col}::VARCHAR AS {col}")
            if name in TIMES:
                texts.add(name)
        elif name in TIMES and pa.types.is_timestamp(kind) and kind.unit in ("s", "ms", "us"):
            out.append(f"{col}::TIMESTAMPTZ AS {col}")
        elif name in NUMBERS and _is_number(kind):
            out.append(f"{as_double(col, kind)} AS {col}")
        else:
            return None
    return out, texts


def _object(t: str) -> str:
    """The JSON object common.decode makes of text `t` (NULL when it is no object;
    texts it may read otherwise are doubted by `_decoded`)."""
    return f"CASE WHEN left({t}, 1) = '{{' AND json_valid({t}) THEN json({t}) END"


def _truthy(j: str) -> str:
    """Python's truth of a JSON value (NULL: absent)."""
    j = f"({j})"
    return (
        f"CASE json_type({j}) WHEN 'ARRAY' THEN json_array_length({j}) > 0 "
        f"WHEN 'OBJECT' THEN {j}::VARCHAR <> '{{}}' WHEN 'VARCHAR' THEN ({j} ->> '$') <> '' "
        f"WHEN 'BOOLEAN' THEN {j}::VARCHAR = 'true' WHEN 'NULL' THEN false "
        f"ELSE {j}::DOUBLE <> 0 END"
    )


def _string(j: str) -> str:
    """A truthy JSON string's text (`str(x) if x` of a string), NULL otherwise."""
    j = f"({j})"
    return f"CASE WHEN json_type({j}) = 'VARCHAR' AND ({j} ->> '$') <> '' THEN {j} ->> '$' END"


def _number_column(col: str) -> str:
    """common.integer of a numeric column."""
    return (
        f"CASE WHEN isfinite({col}) AND {col} >= 0 AND {col} < {_INT_LIMIT}::DOUBLE "
        f"THEN trunc({col})::BIGINT END"
    )


def _time(name: str, texts: set[str]) -> tuple[str, str]:
    """(the time as TIMESTAMPTZ, true when the query doubts it)."""
    col = quoted(name)
    if name not in texts:
        return col, "false"
    return f"try_cast(nullif({col}, '') AS TIMESTAMPTZ)", time_doubt(col)


def _mapped_sql(base: str, texts: set[str], renumber: bool) -> str:
    """Every kept run of `base` with its step-table columns, `flagged` and its line."""
    inp, inp_doubt = _decoded('"inputs"')
    out, out_doubt = _decoded('"outputs"')
    _, extra_doubt = _decoded('"extra"')
    started, started_doubt = _time("start_time", texts)
    ended, ended_doubt = _time("end_time", texts)
    um, tu1, usage = "um", "lo -> '$.token_usage'", "usage"
    tu = (f"CASE WHEN json_type({tu1}) = 'OBJECT' AND ({tu1})::VARCHAR <> '{{}}' THEN {tu1} "
          f"WHEN json_type({usage}) = 'OBJECT' THEN {usage} END")  # fmt: skip
    um_details = f"{um} -> '$.input_token_details'"
    tu_details = "tu -> '$.prompt_tokens_details'"

    def first(j: str, *keys: str) -> str:
        return "coalesce(" + ", ".join(_present(f"{j} -> '$.\"{k}\"'") for k in keys) + ")"

    counts = {
        "input_tokens": (first(um, "input_tokens"), first("tu", "prompt_tokens", "input_tokens"),
                         _number_column('"prompt_tokens"')),
        "output_tokens": (first(um, "output_tokens"),
                          first("tu", "completion_tokens", "output_tokens"),
                          _number_column('"completion_tokens"')),
        "cache_read_tokens": (first(um_details, "cache_read"),
                              first(tu_details, "cached_tokens"), "NULL"),
        "cache_write_tokens": (first(um_details, "cache_creation"), "NULL", "NULL"),
    }  # fmt: skip
    tokens = {
        name: f"nullif(CASE WHEN json_type({um}) = 'OBJECT' THEN {_integer(a)} "
        f"WHEN tu IS NOT NULL THEN {_integer(b) if b != 'NULL' else 'NULL'} ELSE {c} END, 0)"
        for name, (a, b, c) in counts.items()
    }
    as_text = [a for a, _, _ in counts.values()] + [b for _, b, _ in counts.values() if b != "NULL"]
    msg, top = "msg", "top"
    answer = (
        f"CASE WHEN {msg} IS NOT NULL THEN CASE WHEN json_type({msg} -> '$.content') = 'VARCHAR' "
        f"AND NOT coalesce({_truthy(msg + ' -> ' + chr(39) + '$.tool_calls' + chr(39))}, false) "
        f"THEN to_json({msg} ->> '$.content')::VARCHAR ELSE {sorted_keys(msg + '::VARCHAR')} END "
        f"WHEN json_type({top}) = 'OBJECT' AND json_type({top} -> '$.text') = 'VARCHAR' "
        f"AND ({top} ->> '$.text') <> '' THEN to_json({top} ->> '$.text')::VARCHAR "
        f"ELSE {out} END"
    )
    variables = (
        "CASE WHEN \"run_type\" = 'llm' AND p_run_type IN ('chain', 'prompt') "
        "AND json_type(pv) = 'OBJECT' AND pv::VARCHAR <> '{}' "
        f"THEN '{{\"prompt_variables\":' || {sorted_keys('pv::VARCHAR')} || '}}' END"
    )
    _, p_doubt = _decoded("p_inputs")
    doubt = _either(
        inp_doubt,
        out_doubt,
        extra_doubt,
        started_doubt,
        ended_doubt,
        f"\"run_type\" = 'llm' AND p_run_type IN ('chain', 'prompt') AND ({p_doubt})",
        # Values Python reads otherwise than these rules: non-objects where objects are
        # read, counts given as text, an empty list of generations (IndexError).
        f"json_type({um}) NOT IN ('OBJECT', 'NULL')",
        f"json_type({tu1}) NOT IN ('OBJECT', 'NULL')",
        "json_type(lo) NOT IN ('OBJECT', 'NULL')",
        f"json_type({usage}) NOT IN ('OBJECT', 'NULL')",
        f"json_type({um_details}) NOT IN ('OBJECT', 'NULL')",
        f"json_type({tu_details}) NOT IN ('OBJECT', 'NULL')",
        *(f"json_type({j}) = 'VARCHAR'" for j in as_text),
        "json_type(m1) NOT IN ('VARCHAR', 'NULL')",
        "json_type(m2) NOT IN ('VARCHAR', 'NULL')",
        "json_type(xm) NOT IN ('OBJECT', 'NULL')",
        "json_type(g0) = 'ARRAY' AND json_array_length(g0) = 0",
        f'abs("prompt_tokens") >= {EXACT_LIMIT} OR abs("completion_tokens") >= {EXACT_LIMIT}',
    )
    blank = _sql_string(_BLANK)
    finished = {
        "workflow": "c_workflow",
        "run_id": "c_run_id",
        "step": "c_step",
        "kind": "c_kind",
        "status": "CASE WHEN c_failed THEN 'error' ELSE 'ok' END",
        "attempt": "1::BIGINT",
        "started_at": started,
        "ended_at": ended,
        "duration_ms": f"date_diff('microsecond', {started}, {ended})::DOUBLE / 1000.0",
        "model": "coalesce(" + _string("m1") + ", " + _string("m2") + ")",
        "provider": "c_provider",
        **{name: f"{sql}::BIGINT" for name, sql in tokens.items()},
        "cost_usd": 'CASE WHEN isfinite("total_cost") THEN "total_cost" END',
        "input": inp,
        "output": f"CASE WHEN c_failed THEN NULL WHEN c_kind = 'llm' THEN {answer} ELSE {out} END",
        "error": 'CASE WHEN c_failed THEN "error" END',
        "step_id": "nullif(\"id\", '')",
        "parent_id": '"parent_run_id"',
        "rollup": "false",
        "extra": variables,
        "source": "$source::VARCHAR",
        "line": "line",
    }
    assert list(finished) == STEP_TABLE_SCHEMA.names
    columns = ", ".join(f"{v} AS {quoted(k)}" for k, v in finished.items())
    line = "row_number() OVER (ORDER BY solidify_row)" if renumber else "solidify_row"
    flagged = _either(
        "doubt",
        '"cost_usd" < 0',
        f'regexp_matches("workflow", {blank})',
        f'regexp_matches("run_id", {blank})',
        f'regexp_matches("step", {blank})',
        f'regexp_matches(concat("input", "output", "extra"), {_sql_string(MAY_DIFFER)})',
    )
    return f"""
    SELECT *, {flagged} AS flagged FROM (
      SELECT {columns}, doubt, solidify_row, c_trace_workflow, p_row FROM (
        SELECT *, {line} AS line, {doubt} AS doubt FROM (
          SELECT *,
            CASE WHEN json_type(choices) = 'ARRAY' AND json_array_length(choices) > 0
                 AND json_type(choices -> '$[0]') = 'OBJECT'
                 AND json_type(choices -> '$[0].message') = 'OBJECT'
                 THEN choices -> '$[0].message' END AS msg,
            CASE WHEN json_type(g0) = 'ARRAY' THEN g0 -> '$[0]' ELSE g0 END AS top
          FROM (
            SELECT *, {tu} AS tu,
              CASE WHEN json_type(gens) = 'ARRAY' AND json_array_length(gens) > 0
                   THEN gens -> '$[0]' END AS g0
            FROM (
              SELECT *,
                {_present("meta -> '$.ls_model_name'")} AS m1,
                CASE WHEN json_type(meta -> '$.ls_model_name') IN ('VARCHAR', 'NULL')
                     AND {_string("meta -> '$.ls_model_name'")} IS NOT NULL THEN NULL
                     ELSE {_present("om")} END AS m2
              FROM (
                -- One parse of each document: its parts as JSON (NULL when absent).
                SELECT *, CASE WHEN json_type(xm) = 'OBJECT' THEN xm END AS meta,
                  parts[1] AS um, parts[2] AS lo, parts[3] AS usage, parts[4] AS choices,
                  parts[5] AS gens, parts[6] AS om
                FROM (
                  SELECT *, json_extract(x, '$.metadata') AS xm,
                    json_extract(o, ['$.usage_metadata', '$.llm_output', '$.usage',
                                     '$.choices', '$.generations', '$.model']) AS parts
                FROM (SELECT *, {_object('"outputs"')} AS o, {_object('"extra"')} AS x,
                             {_object("p_inputs")} AS pv FROM {base})
                )
              )
            )
          )
        )
      )
    )
    """


def _name_tables(con: duckdb.DuckDBPyConnection, raw: str, params: dict[str, Any]) -> bool:
    """Register the steps, providers and projects of the distinct names (Python's rules);
    False when one cannot be mapped."""
    steps = con.execute(f"SELECT DISTINCT name, run_type FROM {raw}", params).fetchall()
    providers = con.execute(
        f"SELECT DISTINCT (CASE WHEN json_type(x -> '$.metadata') = 'OBJECT' "
        f"THEN x -> '$.metadata.ls_provider' END)::VARCHAR FROM "
        f"(SELECT {_object('extra')} AS x FROM {raw})",
        params,
    ).fetchall()
    projects = con.execute(
        f"SELECT DISTINCT session_name, project_name FROM {raw}", params
    ).fetchall()
    try:
        con.register(NAMES_TABLE, pa.table({
            "name": pa.array([n for n, _ in steps], pa.string()),
            "run_type": pa.array([t for _, t in steps], pa.string()),
            "step": pa.array([common.stable_name(n, default=str(t or "run")) for n, t in steps],
                             pa.string()),
        }))  # fmt: skip
        con.register("solidify_langsmith_providers", pa.table({
            "p": pa.array([p for (p,) in providers], pa.string()),
            "provider": pa.array([common.provider_name(json.loads(p)) if p else None
                                  for (p,) in providers], pa.string()),
        }))  # fmt: skip
        con.register(PROJECTS_TABLE, pa.table({
            "session_name": pa.array([s for s, _ in projects], pa.string()),
            "project_name": pa.array([p for _, p in projects], pa.string()),
            "project": pa.array([langsmith._project({"session_name": s, "project_name": p})
                                 for s, p in projects], pa.string()),
        }))  # fmt: skip
    except common.READ_ERRORS:
        return False
    return True


def read_langsmith(
    steps: StepTable, path: str, builder: BatchBuilder, default_workflow: str
) -> bool:
    """Add a LangSmith bulk export's good rows to `steps`; False (nothing added) when
    this path does not take the file."""
    found = _columns(pq.read_schema(path))
    if found is None:
        return False
    columns, texts = found
    quiet(steps)
    con = steps.con
    params = {"path": path}
    raw = (
        f"(SELECT file_row_number + 1 AS solidify_row, {', '.join(columns)} "
        "FROM read_parquet($path, file_row_number = true))"
    )
    tables = [NAMES_TABLE, "solidify_langsmith_providers", PROJECTS_TABLE, TRACES_TABLE,
              PARENTS_TABLE]  # fmt: skip
    try:
        if not _name_tables(con, raw, params):
            return False
        projected = (
            f"(SELECT b.*, p.project, coalesce(b.trace_id, b.id, 'None') AS tk FROM {raw} AS b "
            f"JOIN {PROJECTS_TABLE} AS p ON b.session_name IS NOT DISTINCT FROM p.session_name "
            "AND b.project_name IS NOT DISTINCT FROM p.project_name)"
        )
        # A trace's project: the last its runs name; else its first root run's name.
        traces = con.execute(
            f"""
            SELECT tk, arg_max(project, solidify_row) FILTER (WHERE project IS NOT NULL),
                   arg_min(name, solidify_row) FILTER (
                       WHERE coalesce(parent_run_id, '') = '' AND name <> '')
            FROM {projected} GROUP BY tk
            """,
            params,
        ).fetchall()
        con.register(TRACES_TABLE, pa.table({
            "tk": pa.array([t for t, _, _ in traces], pa.string()),
            "trace_workflow": pa.array([
                p if p is not None else
                common.stable_workflow(common.stable_name(r, default="")) if r is not None
                else None for _, p, r in traces], pa.string()),
        }))  # fmt: skip
        # by_id: the last run of each id.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {PARENTS_TABLE} AS SELECT id AS p_id, "
            "arg_max(run_type, solidify_row) AS p_run_type, arg_max(inputs, solidify_row) "
            f"AS p_inputs, max(solidify_row) AS p_row FROM {raw} WHERE id <> '' GROUP BY id",
            params,
        ).fetchall()
        tables.remove(PARENTS_TABLE)
        dup = con.execute(
            f"SELECT count(*) - count(DISTINCT id) FILTER (WHERE id <> '') "
            f"- count(*) FILTER (WHERE coalesce(id, '') = '') FROM {raw}",
            params,
        ).fetchall()[0][0]
        joined = f"""
            (SELECT b.*, n.step AS c_step, pr.provider AS c_provider,
                coalesce(b.project, t.trace_workflow, $default) AS c_workflow,
                t.trace_workflow AS c_trace_workflow,
                CASE WHEN coalesce(b.trace_id, b.id, '') = '' THEN 'unknown-trace'
                     ELSE coalesce(b.trace_id, b.id) END AS c_run_id,
                coalesce(b.error <> '', false) AS c_failed,
                CASE coalesce(nullif(b.run_type, ''), 'chain') WHEN 'llm' THEN 'llm'
                     WHEN 'embedding' THEN 'llm' WHEN 'tool' THEN 'tool' ELSE 'code' END
                  AS c_kind,
                par.p_run_type, par.p_inputs, par.p_row
             FROM {projected} AS b
             JOIN {NAMES_TABLE} AS n ON b.name IS NOT DISTINCT FROM n.name
                  AND b.run_type IS NOT DISTINCT FROM n.run_type
             JOIN solidify_langsmith_providers AS pr ON pr.p IS NOT DISTINCT FROM
                  (CASE WHEN json_type({_object("b.extra")} -> '$.metadata') = 'OBJECT'
                   THEN {_object("b.extra")} -> '$.metadata.ls_provider' END)::VARCHAR
             LEFT JOIN {TRACES_TABLE} AS t ON t.tk = b.tk
             LEFT JOIN {PARENTS_TABLE} AS par ON par.p_id = b.parent_run_id
             QUALIFY coalesce(b.id, '') = ''
                OR row_number() OVER (PARTITION BY b.id ORDER BY b.solidify_row) = 1)
        """
        mapped = f"({_mapped_sql(joined, texts, renumber=dup > 0)})"
        values = {**params, "default": default_workflow, "source": builder.source}
        flagged = con.execute(
            f"SELECT line, solidify_row, c_trace_workflow, p_row FROM {mapped} WHERE flagged "
            "ORDER BY line",
            values,
        ).fetchall()
        insert(con, f"SELECT * FROM {mapped}", bool(flagged),
               lambda: _checked(path, flagged, builder, default_workflow), values)  # fmt: skip
    except duckdb.Error:
        return False
    finally:
        with contextlib.suppress(duckdb.Error):  # no error may hide the one raised
            for name in tables:
                con.unregister(name)
            con.execute(f"DROP TABLE IF EXISTS {PARENTS_TABLE}").fetchall()
    return True


def _checked(
    path: str, flagged: list[tuple[int, int, Any, Any]], builder: BatchBuilder, default: str
) -> pa.Table | None:
    """The flagged runs mapped by the Python reader, with the trace's workflow and the
    parent run the query found, and checked by the record checks."""
    found = rows_at(path, [r for _, r, _, _ in flagged] + [p for *_, p in flagged if p])
    lines, recs = [], []
    for line, row, trace_workflow, parent_row in flagged:
        run = common.plain_row(found[row])
        run_id = str(run.get("id") or "")
        trace = str(common.first(run, "trace_id", "id"))
        by_id = {str(run.get("parent_run_id")): common.plain_row(found[parent_row])} if (
            parent_row) else {}  # fmt: skip
        for record in common.each(
            [run],
            lambda r, i=run_id, t=trace, w=trace_workflow, b=by_id: [
                langsmith._run_record(r, i, {t: w}, default, b)
            ],
            "run",
        ):
            lines.append(line)
            recs.append(record)
    return builder.build(lines, recs)
