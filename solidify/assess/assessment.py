"""The assessment: the step table in an engine in; scores, found programs,
recommendations and stages out.

It runs in stages, each its own module with typed records between them; every stage
before the scoring asks the engine SQL, so only aggregates and per-step samples reach
Python, whatever the size of the log:

    stage                          module                     gives
    which workflows                here (`_selected`)         the relation the stages read
    samples and the search plan    sampling                   a SearchPlan (StepSample per step)
    program searches               searches, synthesis        a Synthesis per step
    per-step measures              measures, pricing          one row of aggregates per step
    roll-ups, tool relays          rollups, relays            notes and relayed tools per step
    per-workflow facts             workflow_facts             runs, period, orchestrated
    the latest window              maturity.window_counts     what the workflow does now
    scores and recommendations     scoring, recommend         a StepAssessment per step
    stages                         maturity.stage             a Maturity per workflow

The searches start first (in worker processes on a large log) and the measures are
asked for while they run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
import pyarrow as pa

from solidify.assess.config import Config
from solidify.assess.ingest import engine_of
from solidify.assess.maturity import (
    WindowCounts,
    facts_of,
    reproducible_steps,
    stage,
    window_counts,
)
from solidify.assess.measures import step_measures
from solidify.assess.model import Assessment, StepAssessment, WorkflowAssessment
from solidify.assess.pricing import Pricer, register_rates
from solidify.assess.recommend import Scale
from solidify.assess.relays import tool_relays
from solidify.assess.rollups import annotate, step_notes
from solidify.assess.sampling import SearchPlan
from solidify.assess.scoring import AI_KINDS, rank, step_assessment
from solidify.assess.searches import Searches, workers_wanted
from solidify.assess.steptable import TABLE, Engine
from solidify.assess.synthesis.engine import Synthesis
from solidify.assess.synthesis.reuse import Kept
from solidify.assess.workflow_facts import WorkflowFacts, workflow_facts

Progress = Callable[[str], None]
CHOSEN = "solidify_chosen_steps"  # the rows of the workflows asked for, when some are


def assess(
    table: Engine | pd.DataFrame | pa.Table,
    config: Config | None = None,
    *,
    workflows: Sequence[str] = (),
    steps: Sequence[str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
    known: Mapping[tuple[str, str], tuple[Kept, ...]] | None = None,
) -> Assessment:
    """Assess every workflow of the step table: an engine holding `steps` (a StepTable,
    Spark's), or rows in STEP_TABLE_SCHEMA as pandas or Arrow. `workflows` and `steps`
    are glob patterns; `workers` is the number of processes for the searches, 1 for this
    one alone (default: one per core on a large log); `known`: programs kept from earlier
    assessments per (workflow, step) (solidify.assess.kept), re-checked first."""
    config = config or Config()
    with engine_of(table) as engine:
        source = _selected(engine, workflows)
        if source is None:
            return Assessment([], [], tuple(steps))
        return _assess(engine, source, config, steps=steps, progress=progress,
                       workers=workers, known=known or {})  # fmt: skip


def _selected(engine: Engine, patterns: Sequence[str]) -> str | None:
    """The relation holding the rows of the workflows asked for (None: no row)."""
    names = engine.query(f"SELECT DISTINCT workflow FROM {TABLE}").column(0).to_pylist()
    chosen = sorted(n for n in names if n is not None and
                    (not patterns or any(fnmatchcase(n, p) for p in patterns)))  # fmt: skip
    if not chosen:
        return None
    if len(chosen) == len(names):
        return TABLE
    engine.register("solidify_chosen_names", pa.table({"workflow": pa.array(chosen, pa.string())}))
    engine.materialize(
        CHOSEN,
        f"SELECT * FROM {TABLE} WHERE workflow IN "
        "(SELECT workflow FROM solidify_chosen_names) ORDER BY rowid",
    )
    return CHOSEN


def _assess(
    engine: Engine,
    source: str,
    config: Config,
    *,
    steps: Sequence[str],
    progress: Progress | None,
    workers: int | None,
    known: Mapping[tuple[str, str], tuple[Kept, ...]],
) -> Assessment:
    def report(key: tuple[str, str]) -> None:
        if progress:
            progress("/".join(key))

    pricer = Pricer(overrides=config.prices)
    facts = workflow_facts(engine, source)
    plan = SearchPlan.of(engine, source, known=known)
    executions = sum(f.executions for f in facts.values())
    # The searches start in worker processes (on a large log) while the engine measures.
    with Searches(plan, plan.keys, workers=workers_wanted(executions, workers),
                  progress=report) as searches:  # fmt: skip
        register_rates(engine, pricer, source)  # (unknown models: of these workflows only)
        measures = step_measures(engine, source)
        relays = tool_relays(engine, source)
        notes = step_notes(engine, source)
        windows = window_counts(engine, config.thresholds.maturity_window_days, source)
        syntheses = searches.results()
    warnings = [
        f"no price known for model {m!r}: its cost is shown as unknown "
        "(set one under prices: in solidify.yaml)"
        for m in sorted(pricer.unknown_models)
    ]
    out: list[WorkflowAssessment] = []
    for name in sorted(facts):
        out.append(
            _workflow(
                facts[name],
                windows.get(name),
                measures.loc[name],
                {step: found for (wf, step), found in syntheses.items() if wf == name},
                config,
                relays={step: tool for (wf, step), tool in relays.items() if wf == name},
            )
        )
    annotate((s for w in out for s in w.steps), notes)  # rollup and its reason, per step
    return Assessment(out, warnings, tuple(steps), samples=plan.samples)


def _workflow(
    facts: WorkflowFacts,
    window: WindowCounts | None,
    measures: pd.DataFrame,
    syntheses: dict[str, Synthesis],
    config: Config,
    *,
    relays: dict[str, str],
) -> WorkflowAssessment:
    th = config.thresholds
    name, runs = facts.workflow, facts.runs
    scale = Scale(runs=runs, days=facts.scale_days)
    workflow_cost = float(np.nansum(measures["cost_usd"].to_numpy(dtype=float)))
    failed_cost = measures["failed_cost_usd"]
    steps: list[StepAssessment] = []
    for step_name, m in measures.iterrows():
        step_name = str(step_name)
        steps.append(
            step_assessment(name, step_name, m, float(failed_cost.get(step_name, 0.0)),
                            syntheses.get(step_name), workflow_cost, runs, scale, config)
        )  # fmt: skip
    for step in steps:
        tool = relays.get(step.step)
        if tool and step.is_ai:
            step.relays_tool = tool
            step.relay_savings_per_month = scale.money(step.cost_usd).per_month_usd
            step.recommendation.reasons.insert(
                0, f"the model only relays the result of the tool {tool!r}: call it from code"
            )
    rank(steps)
    declared = facts.orchestrated or name in set(config.declared)
    mechanical = reproducible_steps(steps, th)
    maturity = stage(facts_of(window, mechanical, declared=declared), steps, th)
    executions = facts.executions
    replace_cost = sum(s.cost_usd or 0.0 for s in steps if s.recommendation.action == "replace")
    return WorkflowAssessment(
        workflow=name,
        runs=runs,
        executions=executions,
        cost_usd=workflow_cost,
        cost_unknown_executions=int(measures["cost_unknown_executions"].sum()),
        period=facts.period,
        runs_per_month=facts.runs_per_month,
        ai_execution_share=facts.ai_execution_share,
        replaceable_cost_share=replace_cost / workflow_cost if workflow_cost else 0.0,
        maturity=maturity,
        steps=steps,
    )


__all__ = ["AI_KINDS", "assess"]
