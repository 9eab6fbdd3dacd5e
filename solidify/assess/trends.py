"""Trends from the logs themselves: executions bucketed by day, week or month.

Per period: runs, cost, cost per run, failure rate, AI share of executions and the
stage. The stage of a period uses that period's executions with what the whole log
says about each step (its recommendation), as `assess` does for the latest window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from solidify.assess.config import Config
from solidify.assess.maturity import (
    counting_queries,
    facts_of,
    group_counts,
    probe,
    reproducible_steps,
    stage,
)
from solidify.assess.model import Assessment, plain_number
from solidify.assess.pricing import Pricer, priced_sql, register_rates
from solidify.assess.rollups import found_rowids_sql
from solidify.assess.steptable import Engine

PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}  # weeks start on Monday


@dataclass(frozen=True)
class Period:
    workflow: str
    start: str
    runs: int
    executions: int
    cost_usd: float
    cost_per_run_usd: float | None
    failure_rate: float
    ai_execution_share: float
    stage: int

    def to_dict(self) -> dict[str, object]:
        return {
            "workflow": self.workflow,
            "period": self.start,
            "runs": self.runs,
            "executions": self.executions,
            "cost_usd": plain_number(self.cost_usd),
            "cost_per_run_usd": plain_number(self.cost_per_run_usd),
            "failure_rate": plain_number(self.failure_rate),
            "ai_execution_share": plain_number(self.ai_execution_share),
            "stage": self.stage,
        }


# A period is DuckDB's and Spark's date_trunc: weeks start on Monday.
PERIOD_ROWS = """
rows AS (
    SELECT workflow, date_trunc('{unit}', started_at) AS grp, run_id, step, kind, status,
           attempt, started_at, source, line, rowid AS pos, step_id, parent_id
    FROM {source}
    WHERE started_at IS NOT NULL
)"""

TIME_SPAN = """
SELECT min(started_at) AS first_started, max(started_at) AS last_started FROM {source}
"""


# The cost of each (workflow, period), as pricing.PRICED prices each row (unknown
# costs count nothing, roll-ups are counted on their children): the log's own costs,
# plus the tokens of each (model, provider, day, batch) group priced once. Prices are
# linear in tokens, so the group's token sums price it exactly; where a price has
# tiers (a row's band depends on its own input tokens) rows are priced one by one.
PERIOD_COSTS = """
WITH {found}
usage AS (
    SELECT workflow, model, provider, date_trunc('day', started_at) AS day,
           {batch} AS batch,
           sum(greatest(CAST(coalesce(input_tokens, 0) AS DOUBLE)
                        - coalesce(cache_read_tokens, 0)
                        - coalesce(cache_write_tokens, 0), 0.0)) AS uncached,
           sum(coalesce(cache_read_tokens, 0)) AS cache_read,
           sum(coalesce(cache_write_tokens, 0)) AS cache_write,
           sum(coalesce(output_tokens, 0)) AS output
    FROM {source}
    WHERE started_at IS NOT NULL AND NOT coalesce(rollup, false) AND cost_usd IS NULL{counted}
      AND model IS NOT NULL AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL)
    GROUP BY workflow, model, provider, date_trunc('day', started_at), {batch}
),
costs AS (
    -- A day lies in one period: the period of a day's group is the rows' period.
    SELECT u.workflow, date_trunc('{unit}', u.day) AS grp,
           u.uncached * r.input + u.cache_read * r.cache_read
           + u.cache_write * r.cache_write + u.output * r.output AS cost
    FROM usage AS u
    JOIN rates AS r
      ON u.model = r.model
     AND u.provider IS NOT DISTINCT FROM r.provider
     AND u.day IS NOT DISTINCT FROM r.day
     AND u.batch = r.batch
    UNION ALL
    SELECT workflow, date_trunc('{unit}', started_at) AS grp, cost_usd AS cost
    FROM {source}
    WHERE started_at IS NOT NULL AND NOT coalesce(rollup, false) AND cost_usd IS NOT NULL{counted}
)
SELECT workflow, grp, CAST(sum(coalesce(cost, 0.0)) AS DOUBLE) AS cost_usd
FROM costs
GROUP BY workflow, grp
"""

ROW_COSTS = """
WITH {found}{priced}
SELECT workflow, date_trunc('{unit}', started_at) AS grp,
       CAST(sum(CASE WHEN coalesce(rollup, false) OR cost IS NULL THEN 0.0 ELSE cost END)
            AS DOUBLE) AS cost_usd
FROM priced
WHERE started_at IS NOT NULL{counted}
GROUP BY workflow, date_trunc('{unit}', started_at)
"""

# What the registered rates need: tiers (rows priced one by one), batch prices (the
# batch mark read from `extra`).
RATE_KINDS = """
SELECT sum(CASE WHEN low IS NOT NULL OR high IS NOT NULL THEN 1 ELSE 0 END) AS tiered,
       sum(CASE WHEN batch THEN 1 ELSE 0 END) AS batch
FROM rates
"""
BATCH_MARK = """coalesce(extra LIKE '%"processing":"batch"%', false)"""


def period_rows(source: str, by: str) -> str:
    """The timestamped `rows` of `source`, grouped by the period they fall in."""
    return PERIOD_ROWS.format(unit=by, source=source)


def period_costs_sql(
    source: str, by: str, *, per_row: bool, batch: bool = True, family: bool = True
) -> str:
    """`family`: whether rows name parents, so that roll-ups are looked for by usage
    (rollups.found_rowids_sql) and left out like the rows marked `rollup`."""
    found = f"found AS ({found_rowids_sql(source)}\n),\n" if family else ""
    if per_row:
        counted = "\n  AND rid NOT IN (SELECT rid FROM found)" if family else ""
        return ROW_COSTS.format(found=found, priced=priced_sql(source), unit=by, counted=counted)
    counted = "\n      AND rowid NOT IN (SELECT rid FROM found)" if family else ""
    return PERIOD_COSTS.format(source=source, unit=by, batch=BATCH_MARK if batch else "false",
                               found=found, counted=counted)  # fmt: skip


def period_costs(
    engine: Engine, source: str, by: str, *, per_row: bool | None = None, family: bool = True
) -> dict[tuple[str, Any], float]:
    """The cost of each (workflow, period) of `source`, by the rates `register_rates`
    registered (`per_row`: price each row, as tiered prices need; default: when some
    price has tiers). Without batch prices no row is read for a batch mark."""
    (kinds,) = engine.query(RATE_KINDS).to_pylist()
    if per_row is None:
        per_row = bool(kinds["tiered"])
    sql = period_costs_sql(source, by, per_row=per_row, batch=bool(kinds["batch"]), family=family)
    return {(r["workflow"], r["grp"]): r["cost_usd"] for r in engine.query(sql).to_pylist()}


def trends(
    table: Engine | pd.DataFrame,
    assessment: Assessment,
    config: Config | None = None,
    by: str = "month",
    source: str = "steps",
    *,
    priced: bool = False,
) -> list[Period]:
    """One Period per workflow and period that has timestamped executions, oldest first,
    asked of the engine (`source`: the relation read; `priced`: the engine holds the rates
    of `config`'s prices already, as after the measures). Rows given as pandas or Arrow
    are put in a DuckDB step table first."""
    from solidify.assess.ingest import engine_of

    with engine_of(table) as engine:
        # Rows given as a table are priced here: nothing registered their rates before.
        return _trends(engine, assessment, config, by, source, priced=priced and engine is table)


def _trends(
    engine: Engine,
    assessment: Assessment,
    config: Config | None,
    by: str,
    source: str,
    *,
    priced: bool,
) -> list[Period]:
    config = config or Config()
    if by not in PERIODS:
        raise ValueError(f"by must be one of {', '.join(PERIODS)}")
    if not priced:
        register_rates(engine, Pricer(overrides=config.prices))
    found = probe(engine, source)
    counts, totals = group_counts(engine, period_rows(source, by),
                                  queries=counting_queries(found))  # fmt: skip
    costs = period_costs(engine, source, by, family=found.parents)
    by_name = {w.workflow: w for w in assessment.workflows}
    declared = set(config.declared) | found.orchestrated
    th = config.thresholds
    out: list[Period] = []
    for (workflow, start), counted in counts.items():
        w = by_name.get(workflow)
        if w is None:
            continue
        facts = facts_of(counted, reproducible_steps(w.steps, th), declared=workflow in declared)
        spent = costs.get((workflow, start), 0.0)
        runs, executions = counted.runs, counted.executions
        out.append(
            Period(
                workflow=workflow,
                start=start.date().isoformat(),
                runs=runs,
                executions=executions,
                cost_usd=spent,
                cost_per_run_usd=spent / runs if runs else None,
                failure_rate=totals[(workflow, start)]["failed"] / executions,
                ai_execution_share=counted.ai_executions / executions,
                stage=stage(facts, w.steps, th).level,
            )
        )
    out.sort(key=lambda p: (p.workflow, p.start))
    return out


def auto_period(engine: Engine, source: str = "steps") -> str:
    """Months over two months or more, weeks over two weeks, else days."""
    (span,) = engine.query(TIME_SPAN.format(source=source)).to_pylist()
    if span["first_started"] is None:
        return "month"
    days = (span["last_started"] - span["first_started"]).days
    return "month" if days >= 60 else "week" if days >= 14 else "day"
