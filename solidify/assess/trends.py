"""Trends from the logs themselves: executions bucketed by day, week or month.

Per period: runs, cost, cost per run, failure rate, AI share of executions and the
stage. The stage of a period uses that period's executions with what the whole log
says about each step (its recommendation), as `assess` does for the latest window.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from solidify.assess.assessment import orchestrated
from solidify.assess.config import Config
from solidify.assess.maturity import reproducible_steps, stage, window_facts
from solidify.assess.model import Assessment
from solidify.assess.pricing import Pricer
from solidify.assess.schema import AI_KINDS, as_strings

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
            "cost_usd": round(self.cost_usd, 6),
            "cost_per_run_usd": None if self.cost_per_run_usd is None
            else round(self.cost_per_run_usd, 6),
            "failure_rate": round(self.failure_rate, 4),
            "ai_execution_share": round(self.ai_execution_share, 4),
            "stage": self.stage,
        }  # fmt: skip


def trends(
    table: pd.DataFrame, assessment: Assessment, config: Config | None = None, by: str = "month"
) -> list[Period]:
    """One Period per workflow and period that has timestamped executions, oldest first."""
    config = config or Config()
    if by not in PERIODS:
        raise ValueError(f"by must be one of {', '.join(PERIODS)}")
    timed = table[table["started_at"].notna()]
    if timed.empty:
        return []
    cost = Pricer(overrides=config.prices).price(timed).where(~timed["rollup"], 0.0)
    starts = timed["started_at"].dt.tz_convert(None).dt.to_period(PERIODS[by]).dt.start_time
    names = as_strings(timed["workflow"])
    out: list[Period] = []
    by_name = {w.workflow: w for w in assessment.workflows}
    declared = set(config.declared) | orchestrated(table)
    for (workflow, start), at in timed.groupby([names, starts.to_numpy()]).indices.items():
        w = by_name.get(workflow)
        if w is None:
            continue
        rows = timed.iloc[at]
        mechanical = reproducible_steps(w.steps, config.thresholds)
        facts = window_facts(rows, mechanical, declared=workflow in declared)
        level = stage(facts, w.steps, config.thresholds).level
        runs = int(rows["run_id"].nunique())
        spent = float(cost.iloc[at].sum())
        out.append(
            Period(
                workflow=workflow,
                start=pd.Timestamp(start).date().isoformat(),
                runs=runs,
                executions=len(rows),
                cost_usd=spent,
                cost_per_run_usd=spent / runs if runs else None,
                failure_rate=float((rows["status"] != "ok").mean()),
                ai_execution_share=float(rows["kind"].isin(AI_KINDS).mean()),
                stage=level,
            )
        )
    out.sort(key=lambda p: (p.workflow, p.start))
    return out
