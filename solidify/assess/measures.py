"""Per-step measures as queries over the step table (any `Engine`).

The SQL is written once, in DuckDB's dialect, in a form SQLGlot transpiles to Spark:
GROUP BY, window functions, CASE, count(DISTINCT), quantile_cont. Only aggregates,
and the few distinct outputs per step that need Python (their JSON shape, word
overlap), reach Python. The result is one row per (workflow, step), in order of
first execution, with the columns `_step` reads.

Rows are put in chronological order (file order breaks ties) by `seq`, which
"latest" and retries rely on. Two texts are the same when their text in `steps`
is the same; a missing output reads as `null`.

Failure accounting groups retries into calls: a call starts at attempt 1, or where
the attempt does not increase, and takes the following attempts of the same step
in the same run; it fails when its last attempt did.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from solidify.assess.pricing import priced_sql
from solidify.assess.rollups import CHILDREN_JOIN, VERDICT, children_sql, has_family_sql
from solidify.assess.shapes import shape_facts
from solidify.assess.steptable import Engine

KEYS = ["workflow", "step"]
SHAPE_SAMPLE = 2000  # most frequent distinct outputs per step whose shape is read
SIMILARITY_GROUPS = 200  # repeated inputs per step whose outputs' word overlap is read
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

# The rows measured, keyed and ordered: `source` with the cost of each row (from
# pricing.priced_sql, which needs `pricing.register_rates` first), whether it is a
# roll-up, and its place in time (`seq`). Computed once and kept as `ordered`, which
# every query below reads; text columns are reduced to what the measures compare.
# Cost, roll-up and order are computed over narrow row keys (`keys`) and joined back
# by rowid: a price join or a window that carries every column, texts included,
# costs twice as much. A row is a roll-up when the log or its reader says so, or when
# its usage equals or contains its children's (rollups.VERDICT; the join is left out
# when no row names a parent).
ORDERED = """
WITH {priced}{children},
keys AS (
    SELECT p.rid, p.cost,{found}
           row_number() OVER (
               ORDER BY p.started_at NULLS FIRST, p.source NULLS FIRST, p.line NULLS FIRST, p.rid
           ) AS seq
    FROM priced AS p{join}
)
SELECT s.workflow, s.step, s.run_id, s.kind, s.model, s.provider, s.status, s.duration_ms,
       k.cost,
       coalesce(s.rollup, false){or_found} AS rollup,
       coalesce(s.attempt, 1) AS attempt,
       s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens,
       s.input, coalesce(s.output, 'null') AS output,
       k.seq
FROM {source} AS s
JOIN keys AS k ON s.rowid = k.rid
"""


def ordered_sql(source: str = "steps", *, family: bool = True) -> str:
    """The query kept as `ordered`; `family`: whether roll-ups are looked for by usage."""
    parts = {"priced": priced_sql(source), "source": source, "children": "", "found": "",
             "join": "", "or_found": ""}  # fmt: skip
    if family:
        parts["children"] = f",\nchildren AS ({children_sql(source)}\n)"
        parts["found"] = f"\n           ({VERDICT}) IS NOT NULL AS found,"
        parts["join"] = f"\n    LEFT JOIN children AS {CHILDREN_JOIN}"
        parts["or_found"] = " OR k.found"
    return ORDERED.format(**parts)


COUNTS = """
SELECT workflow, step,
       min(seq) AS first_seq,
       count(*) AS executions,
       count(DISTINCT run_id) AS runs,
       sum(CASE WHEN status = 'ok' THEN 1 ELSE 0 END) AS ok,
       sum(CASE WHEN status = 'timeout' THEN 1 ELSE 0 END) AS timeouts,
       CAST(sum(CASE WHEN rollup OR cost IS NULL THEN 0 ELSE cost END) AS DOUBLE) AS cost_usd,
       sum(CASE WHEN rollup OR cost IS NOT NULL THEN 1 ELSE 0 END) AS cost_known,
       sum(CASE WHEN rollup THEN 1 ELSE 0 END) AS rollup_executions,
       CAST(sum(CASE WHEN status <> 'ok' AND NOT rollup AND cost IS NOT NULL THEN cost ELSE 0 END)
            AS DOUBLE) AS failed_cost_usd,
       CAST(sum(coalesce(input_tokens, 0)) AS DOUBLE) AS input_tokens,
       CAST(sum(coalesce(output_tokens, 0)) AS DOUBLE) AS output_tokens,
       CAST(sum(coalesce(cache_read_tokens, 0)) AS DOUBLE) AS cache_read_tokens,
       CAST(sum(coalesce(cache_write_tokens, 0)) AS DOUBLE) AS cache_write_tokens,
       count(duration_ms) AS timed,
       max(attempt) AS most_attempts,
       arg_max(kind, seq) FILTER (WHERE kind IS NOT NULL) AS kind,
       arg_max(model, seq) FILTER (WHERE model IS NOT NULL) AS model,
       arg_max(provider, seq) FILTER (WHERE model IS NOT NULL AND provider IS NOT NULL)
           AS provider,
       count(input) AS with_input
FROM ordered
GROUP BY workflow, step
ORDER BY first_seq
"""

KINDS = """
SELECT workflow, step, kind, count(*) AS n, min(seq) AS first_seq
FROM ordered
WHERE kind IS NOT NULL
GROUP BY workflow, step, kind
ORDER BY workflow, step, first_seq
"""

# Each row of a (workflow, run, step) in order: whether it opens a call (attempt 1, the
# first row, or an attempt that does not increase) and whether it closes one (the next
# row opens one, or there is none). One window pass, no numbering of calls.
CALLS = """
WITH
edges AS (
    SELECT workflow, step, status = 'ok' AS ok,
           attempt = 1 OR lag(attempt) OVER w IS NULL OR attempt <= lag(attempt) OVER w
               AS opens,
           lead(attempt) OVER w IS NULL OR lead(attempt) OVER w = 1
               OR lead(attempt) OVER w <= attempt AS closes
    FROM ordered
    WINDOW w AS (PARTITION BY workflow, run_id, step ORDER BY seq)
)
SELECT workflow, step,
       sum(CASE WHEN opens THEN 1 ELSE 0 END) AS calls,
       sum(CASE WHEN closes AND NOT ok THEN 1 ELSE 0 END) AS calls_failed,
       sum(CASE WHEN opens AND NOT closes THEN 1 ELSE 0 END) AS calls_retried,
       sum(CASE WHEN opens AND NOT ok THEN 1 ELSE 0 END) AS calls_first_failed,
       sum(CASE WHEN opens AND NOT closes AND NOT ok THEN 1 ELSE 0 END)
           AS calls_retried_after_failure
FROM edges
GROUP BY workflow, step
"""

# Distinct outputs of successful executions, in one pass: the distribution (as
# window aggregates, on every row of a step) and the most frequent SHAPE_SAMPLE texts
# (first logged first among equals) for their shape.
OUTPUTS = f"""
WITH
outputs AS (
    SELECT workflow, step, output, count(*) AS n, min(seq) AS first_seq
    FROM ordered
    WHERE status = 'ok'
    GROUP BY workflow, step, output
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY workflow, step ORDER BY n DESC, first_seq)
              AS rank,
           sum(n) OVER (PARTITION BY workflow, step) AS total
    FROM outputs
),
described AS (
    SELECT workflow, step, output, n, rank, total,
           count(*) OVER (PARTITION BY workflow, step) AS distinct_outputs,
           CAST(max(n) OVER (PARTITION BY workflow, step) AS DOUBLE) / total AS majority_share,
           -sum(CAST(n AS DOUBLE) / total * log2(CAST(n AS DOUBLE) / total))
               OVER (PARTITION BY workflow, step) AS entropy_bits
    FROM ranked
)
SELECT *
FROM described
WHERE rank <= {SHAPE_SAMPLE}
ORDER BY workflow, step, rank
"""

# Successful executions grouped by (step, input), kept as `inputs`, and those of the
# inputs given more than once grouped by (step, input, output), kept as `pairs`: the
# repeats and their outputs read both. An input given once has one output: only
# repeated inputs need the second grouping over texts.
INPUTS = """
SELECT workflow, step, input, count(*) AS n, min(seq) AS first_seq
FROM ordered
WHERE status = 'ok' AND input IS NOT NULL
GROUP BY workflow, step, input
"""

PAIRS = """
SELECT o.workflow, o.step, o.input, o.output, count(*) AS n, min(o.seq) AS first_seq
FROM ordered AS o
JOIN inputs AS i ON o.workflow = i.workflow AND o.step = i.step AND o.input = i.input
WHERE o.status = 'ok' AND i.n >= 2
GROUP BY o.workflow, o.step, o.input, o.output
"""

# Distinct inputs of every execution: those of successful ones (`inputs`) and those
# only failed executions were given (few: the big grouping over texts is not redone).
DISTINCT_INPUTS = """
WITH
ok AS (
    SELECT workflow, step, count(*) AS n
    FROM inputs
    GROUP BY workflow, step
),
failed AS (
    SELECT o.workflow, o.step, count(DISTINCT o.input) AS n
    FROM ordered AS o
    LEFT JOIN inputs AS i ON o.workflow = i.workflow AND o.step = i.step AND o.input = i.input
    WHERE (o.status <> 'ok' OR o.status IS NULL) AND o.input IS NOT NULL AND i.input IS NULL
    GROUP BY o.workflow, o.step
)
SELECT coalesce(ok.workflow, failed.workflow) AS workflow,
       coalesce(ok.step, failed.step) AS step,
       coalesce(ok.n, 0) + coalesce(failed.n, 0) AS distinct_inputs
FROM ok
FULL OUTER JOIN failed ON ok.workflow = failed.workflow AND ok.step = failed.step
"""

REPEATS = """
WITH
counted AS (
    SELECT workflow, step,
           count(*) AS distinct_ok_inputs,
           sum(CASE WHEN n >= 2 THEN 0 ELSE 1 END) AS single,
           sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) AS repeated_inputs,
           sum(CASE WHEN n >= 2 THEN n ELSE 0 END) AS repeat_executions
    FROM inputs
    GROUP BY workflow, step
),
tops AS (
    SELECT workflow, step, max(n) AS top, count(*) AS variants
    FROM pairs
    GROUP BY workflow, step, input
),
agreeing AS (
    SELECT workflow, step, sum(top) AS agreeing, sum(variants) AS variants
    FROM tops
    GROUP BY workflow, step
)
SELECT c.workflow, c.step, c.distinct_ok_inputs,
       c.single + coalesce(a.variants, 0) AS distinct_pairs,
       c.repeated_inputs, c.repeat_executions,
       coalesce(a.agreeing, 0) AS repeat_agreeing
FROM counted AS c
LEFT JOIN agreeing AS a ON c.workflow = a.workflow AND c.step = a.step
"""

# The outputs of the first SIMILARITY_GROUPS repeated inputs of each step, kept as
# `picked` (few rows): the query after it reads them twice, which Spark would otherwise
# compute twice.
PICKED = f"""
WITH
chosen AS (
    SELECT workflow, step, input, group_rank
    FROM (
        SELECT workflow, step, input,
               row_number() OVER (PARTITION BY workflow, step ORDER BY first_seq) AS group_rank
        FROM inputs
        WHERE n >= 2
    ) AS repeated
    WHERE group_rank <= {SIMILARITY_GROUPS}
)
SELECT p.workflow, p.step, c.group_rank, p.output, p.n
FROM pairs AS p
JOIN chosen AS c ON p.workflow = c.workflow AND p.step = c.step AND p.input = c.input
"""

# The picked outputs, ordered by when each was first logged (anywhere): it breaks ties
# between equally common outputs of an input.
REPEATED_OUTPUTS = """
WITH
first_logged AS (
    SELECT output, min(seq) AS first_seq
    FROM ordered
    JOIN (SELECT DISTINCT output AS wanted FROM picked) AS w ON output = w.wanted
    GROUP BY output
)
SELECT p.workflow, p.step, p.group_rank, p.output, p.n
FROM picked AS p
JOIN first_logged AS f ON p.output = f.output
ORDER BY p.workflow, p.step, p.group_rank, f.first_seq
"""

# Latency quantiles with linear interpolation (as numpy and pandas): the engine ranks
# the durations, Python names the ranks wanted (`positions`) and interpolates, so every
# engine gives the same bits.
LATENCY_RANKS = """
WITH
ranked AS (
    SELECT workflow, step, duration_ms,
           row_number() OVER (PARTITION BY workflow, step ORDER BY duration_ms) - 1 AS position
    FROM ordered
    WHERE duration_ms IS NOT NULL
)
SELECT r.workflow, r.step, r.position, r.duration_ms
FROM ranked AS r
JOIN positions AS p
  ON r.workflow = p.workflow AND r.step = p.step AND r.position = p.position
"""
QUANTILES = {"p50_ms": 0.5, "p95_ms": 0.95}

QUERIES = {
    "ordered": ordered_sql(),
    "ordered_without_family": ordered_sql(family=False),
    "counts": COUNTS,
    "latency_ranks": LATENCY_RANKS,
    "kinds": KINDS,
    "calls": CALLS,
    "outputs": OUTPUTS,
    "inputs": INPUTS,
    "pairs": PAIRS,
    "distinct_inputs": DISTINCT_INPUTS,
    "repeats": REPEATS,
    "picked": PICKED,
    "repeated_outputs": REPEATED_OUTPUTS,
}


def step_measures(engine: Engine, source: str = "steps") -> pd.DataFrame:
    """One row per (workflow, step) of `source`, in order of first execution: counts,
    cost, failures, latency and determinism parts. The prices are those registered by
    `pricing.register_rates`."""
    family = bool(engine.query(has_family_sql(source)).column(0)[0].as_py())
    engine.materialize("ordered", ordered_sql(source, family=family))
    counts = engine.query(COUNTS).to_pandas()
    if counts.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=KEYS))
    frame = counts.set_index(KEYS)
    order = frame.index
    frame = frame.drop(columns="first_seq")
    frame["cost_unknown_executions"] = frame["executions"] - frame["cost_known"]
    for name, values in _latency(engine, frame).items():
        frame[name] = values
    frame = frame.drop(columns="timed")
    frame["kinds"] = _kinds(engine.query(KINDS), order)
    frame = frame.join(_calls(engine, frame))
    frame = frame.drop(columns="most_attempts")
    frame = frame.join(_outputs(engine), how="left")
    engine.materialize("inputs", INPUTS)
    engine.materialize("pairs", PAIRS)
    distinct = engine.query(DISTINCT_INPUTS).to_pandas().set_index(KEYS)["distinct_inputs"]
    frame["distinct_inputs"] = distinct.reindex(frame.index).fillna(0).astype(float)
    repeats = _repeats(engine, frame)
    frame = frame.drop(columns=["with_input", "distinct_inputs"]).join(repeats, how="left")
    engine.materialize("picked", PICKED)
    frame["repeat_similarity"] = _similarity(engine.query(REPEATED_OUTPUTS), order)
    return frame.reindex(order)


def _calls(engine: Engine, counts: pd.DataFrame) -> pd.DataFrame:
    """Calls with retries folded. Where no execution was a retry, each execution is a
    call of its own: the window query is skipped."""
    if (counts["most_attempts"].fillna(1) > 1).any():
        return engine.query(CALLS).to_pandas().set_index(KEYS)
    failed = counts["executions"] - counts["ok"]
    return pd.DataFrame({
        "calls": counts["executions"], "calls_failed": failed, "calls_retried": 0,
        "calls_first_failed": failed, "calls_retried_after_failure": 0,
    }, index=counts.index)  # fmt: skip


def _latency(engine: Engine, counts: pd.DataFrame) -> dict[str, np.ndarray]:
    """p50 and p95 of each step's durations (NaN where none was logged)."""
    sizes = counts["timed"].to_numpy(dtype=np.int64)
    wanted: list[tuple[str, str, int]] = []
    for (workflow, step), n in zip(counts.index, sizes.tolist(), strict=True):
        for q in QUANTILES.values():
            at = q * (n - 1)
            wanted += [(workflow, step, math.floor(at)), (workflow, step, math.ceil(at))]
    positions = pa.table(
        dict(zip(("workflow", "step", "position"), zip(*wanted, strict=True), strict=True))
        if wanted
        else {"workflow": [], "step": [], "position": []},
        schema=pa.schema([("workflow", pa.string()), ("step", pa.string()),
                          ("position", pa.int64())]),
    )  # fmt: skip
    engine.register("positions", positions)
    found = {
        (row["workflow"], row["step"], row["position"]): row["duration_ms"]
        for row in engine.query(LATENCY_RANKS).to_pylist()
    }
    out = {name: np.full(len(sizes), np.nan) for name in QUANTILES}
    for k, ((workflow, step), n) in enumerate(zip(counts.index, sizes.tolist(), strict=True)):
        if n == 0:
            continue
        for name, q in QUANTILES.items():
            at = q * (n - 1)
            low = found[(workflow, step, math.floor(at))]
            high = found[(workflow, step, math.ceil(at))]
            out[name][k] = low + (high - low) * (at - math.floor(at))
    return out


def _kinds(table: pa.Table, order: pd.Index) -> pd.Series:
    kinds: dict[tuple[str, str], dict[str, int]] = {key: {} for key in order}
    for row in table.to_pylist():
        kinds[(row["workflow"], row["step"])][row["kind"]] = int(row["n"])
    return pd.Series([kinds[key] for key in order], index=order, dtype=object)


def _outputs(engine: Engine) -> pd.DataFrame:
    """Output distribution of successful executions: majority, entropy, shape, soft failures.

    A soft failure is a successful execution whose output is an empty string where the
    step usually writes text, or whose shape (type, and keys of an object) is not the
    step's usual one. null, [] and {} are ordinary values ("nothing found").
    """
    top = engine.query(OUTPUTS)
    if top.num_rows == 0:
        # (As before: a log without a successful execution has none of these facts.)
        return pd.DataFrame(
            columns=["distinct_outputs", "majority_share", "entropy_bits", "total"],
            index=pd.MultiIndex.from_arrays([[], []], names=KEYS),
        )
    # Each step's distribution is on every row of it: its first row (rank 1) stands for it.
    first = pc.equal(top["rank"], 1)
    frame = (
        top.filter(first)
        .select([*KEYS, "distinct_outputs", "majority_share", "entropy_bits", "total"])
        .to_pandas()
        .set_index(KEYS)
    )
    total = frame["total"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["entropy"] = np.where(total > 1, frame["entropy_bits"] / np.log2(total), 0.0)
    shapes: dict[tuple[str, str], tuple[str, float, int, int]] = {}
    workflows, steps = top["workflow"].to_pylist(), top["step"].to_pylist()
    texts, counts = top["output"].to_pylist(), top["n"].to_pylist()
    start = 0
    for end in [*_cuts(workflows, steps), len(texts)]:
        key = (workflows[start], steps[start])
        shapes[key] = shape_facts(texts[start:end], counts[start:end], int(frame.at[key, "total"]))
        start = end
    facts = pd.DataFrame.from_dict(
        shapes, orient="index",
        columns=["usual_shape", "structure_stability", "empty_outputs", "soft_failures"],
    )  # fmt: skip
    facts.index = pd.MultiIndex.from_tuples(facts.index, names=KEYS)
    frame = frame.join(facts)
    return frame[["distinct_outputs", "majority_share", "entropy", *facts.columns]].astype(
        {"distinct_outputs": float, "empty_outputs": float, "soft_failures": float}
    )


def _cuts(workflows: list, steps: list) -> list[int]:
    """Positions where the (workflow, step) of consecutive rows changes."""
    return [
        i
        for i in range(1, len(workflows))
        if workflows[i] != workflows[i - 1] or steps[i] != steps[i - 1]
    ]


def _repeats(engine: Engine, counts: pd.DataFrame) -> pd.DataFrame:
    """Repeated identical inputs: how often they recur and whether outputs agree.
    Steps never logged with an input have no evidence either way (NaN)."""
    groups = engine.query(REPEATS).to_pandas().set_index(KEYS).reindex(counts.index)
    with_input = counts["with_input"].to_numpy(dtype=float)
    distinct_inputs = counts["distinct_inputs"].to_numpy(dtype=float)
    # A step with inputs but no successful execution has none of these groups.
    ok = groups.fillna(0).to_numpy(dtype=float)
    distinct_ok, pairs, repeated, executions, agreeing = ok.T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "with_input": with_input,
            "distinct_inputs": distinct_inputs,
            "distinct_ok_inputs": distinct_ok,
            "distinct_pairs": pairs,
            "repeated_inputs": repeated,
            "repeat_executions": executions,
            "repeat_agreeing": agreeing,
            "repeat_share": np.where(
                with_input > 0, (with_input - distinct_inputs) / with_input, 0.0
            ),
            "repeat_agreement": np.where(executions > 0, agreeing / executions, np.nan),
            "outputs_per_input": np.where(distinct_ok > 0, pairs / distinct_ok, np.nan),
        }
    seen = with_input > 0
    return pd.DataFrame(
        {name: np.where(seen, values, np.nan) for name, values in out.items()},
        index=counts.index,
    )


def _similarity(table: pa.Table, order: pd.Index) -> pd.Series:
    """Near-match of text outputs on repeated inputs: mean word overlap (Jaccard) with the
    input's most common output (the earliest logged among equally common ones), over at
    most SIMILARITY_GROUPS repeated inputs per step (the first logged), weighted by how
    often each output was given."""
    total: dict[tuple[str, str], float] = {}
    weight: dict[tuple[str, str], float] = {}
    rows = table.to_pylist()
    start = 0
    while start < len(rows):
        first = rows[start]
        end = start
        while end < len(rows) and (
            rows[end]["workflow"],
            rows[end]["step"],
            rows[end]["group_rank"],
        ) == (first["workflow"], first["step"], first["group_rank"]):
            end += 1
        group = rows[start:end]
        # Rows come earliest logged first: max() keeps the first of the most common.
        mode = max(group, key=lambda r: r["n"])
        mode_words = set(str(mode["output"]).lower().split())
        key = (first["workflow"], first["step"])
        for row in group:
            words = set(str(row["output"]).lower().split())
            union = words | mode_words
            total[key] = total.get(key, 0.0) + row["n"] * (
                len(words & mode_words) / len(union) if union else 1.0
            )
            weight[key] = weight.get(key, 0.0) + row["n"]
        start = end
    return pd.Series(
        [total[k] / weight[k] if weight.get(k) else math.nan for k in order],
        index=order,
        dtype=float,
    )
