"""The four stages of the workflow-engineering journey, measured from the logs.

The stage describes the workflow as it runs now, so it is measured on the
latest `maturity_window_days` of its logs (all of them when there are no
timestamps). The criteria and thresholds are in docs/maturity-model.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from solidify.assess.config import Thresholds
from solidify.assess.model import Maturity, NextStep, StepAssessment
from solidify.assess.recommend import program_problems
from solidify.assess.steptable import Engine
from solidify.assess.words import how_sure, what_code_does
from solidify.assess.workflow_facts import ORCHESTRATOR_MARK

AI_KINDS = ("llm", "agent")
VALIDATION_NAME = re.compile(r"valid|verif|check|guard|schema|assert", re.IGNORECASE)


@dataclass(frozen=True)
class WindowFacts:
    """What the latest window of logs says about how the workflow runs."""

    executions: int
    ai_executions: int
    code_executions: int
    tool_executions: int
    mechanical_ai_executions: int
    ai_calls_first_failed: int
    ai_calls_retried_after_failure: int
    runs: int
    runs_failed: int
    run_shape_stability: float
    validation_steps: tuple[str, ...]
    declared: bool
    start: str | None
    end: str | None

    @property
    def ai_share(self) -> float:
        return self.ai_executions / self.executions if self.executions else 0.0

    @property
    def code_share(self) -> float:
        return self.code_executions / self.executions if self.executions else 0.0

    @property
    def mechanical_ai_share(self) -> float:
        return self.mechanical_ai_executions / self.ai_executions if self.ai_executions else 0.0

    @property
    def retry_coverage(self) -> float | None:
        if not self.ai_calls_first_failed:
            return None
        return self.ai_calls_retried_after_failure / self.ai_calls_first_failed

    @property
    def run_failure_rate(self) -> float:
        return self.runs_failed / self.runs if self.runs else 0.0


def reproducible_steps(steps: list[StepAssessment], th: Thresholds) -> set[str]:
    """Steps whose work code can do: a program reproduces them at the `replace` threshold,
    whatever runs them now (a step already moved to code was mechanical AI work before)."""
    return {
        s.step
        for s in steps
        if s.recommendation.action == "replace"
        or (
            s.synthesis is not None
            and s.synthesis.program is not None
            and s.synthesis.heldout_coverage >= th.replace_coverage
            and s.synthesis.confidence >= th.replace_confidence
            and not program_problems(s.synthesis, th)
        )
    }


@dataclass(frozen=True)
class WindowCounts:
    """What a stretch of one workflow's logs says about how it runs, before knowing which
    steps code can reproduce (`facts_of` adds that)."""

    executions: int
    ai_executions: int
    code_executions: int
    tool_executions: int
    ai_calls_first_failed: int
    ai_calls_retried_after_failure: int
    runs: int
    runs_failed: int
    run_shape_stability: float
    validation_steps: tuple[str, ...]
    start: str | None
    end: str | None
    ai_executions_by_step: dict[str, int]


def facts_of(counts: WindowCounts, replace_steps: set[str], *, declared: bool) -> WindowFacts:
    """The window's facts once the steps code can reproduce are known."""
    return WindowFacts(
        executions=counts.executions,
        ai_executions=counts.ai_executions,
        code_executions=counts.code_executions,
        tool_executions=counts.tool_executions,
        mechanical_ai_executions=sum(
            n for step, n in counts.ai_executions_by_step.items() if step in replace_steps
        ),
        ai_calls_first_failed=counts.ai_calls_first_failed,
        ai_calls_retried_after_failure=counts.ai_calls_retried_after_failure,
        runs=counts.runs,
        runs_failed=counts.runs_failed,
        run_shape_stability=counts.run_shape_stability,
        validation_steps=counts.validation_steps,
        declared=declared,
        start=counts.start,
        end=counts.end,
    )


# The window's rows: per workflow, those of its latest days (and those without a
# timestamp). Every counting query below reads `rows`, keyed by (workflow, grp): grp
# is one constant here, the period in trends.
WINDOW_ROWS = """
rows AS (
    SELECT s.workflow, 0 AS grp, s.run_id, s.step, s.kind, s.status, s.attempt,
           s.started_at, s.source, s.line, s.rowid AS pos, s.step_id, s.parent_id
    FROM {source} AS s
    JOIN (SELECT workflow, max(started_at) AS last_started FROM {source} GROUP BY workflow)
         AS b ON s.workflow = b.workflow
    WHERE {keep}
)"""

# Per (workflow, grp, step): executions by kind and failures. Code that holds other
# spans (a trace's root, a framework's wrapper: its step_id is some row's parent_id in
# the same stretch) is not code doing work of its own: only leaf code counts as code.
STEP_COUNTS = """
WITH {rows},
parents AS (
    SELECT DISTINCT workflow, grp, parent_id FROM rows WHERE parent_id IS NOT NULL
),
marked AS (
    SELECT r.workflow, r.grp, r.step, r.kind, r.status, p.parent_id IS NOT NULL AS wrapper
    FROM rows AS r
    LEFT JOIN parents AS p
      ON r.workflow = p.workflow AND r.grp = p.grp AND r.step_id = p.parent_id
)
SELECT workflow, grp, step,
       count(*) AS executions,
       sum(CASE WHEN kind IN ('llm', 'agent') THEN 1 ELSE 0 END) AS ai_executions,
       sum(CASE WHEN kind = 'tool' THEN 1 ELSE 0 END) AS tool_executions,
       sum(CASE WHEN kind = 'code' AND NOT wrapper THEN 1 ELSE 0 END) AS code_executions,
       sum(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS failed
FROM marked
GROUP BY workflow, grp, step
ORDER BY workflow, grp, step
"""

# Per (workflow, grp): its period, runs, calls and run shapes. A run's shape is its set
# of steps, summarised as the sum of their distinct hashes (as `_run_shape_stability`
# does; a list of the steps costs twice as much). Retries fold into calls as
# measures.CALLS folds them: a call starts at attempt 1, or where the attempt does not
# increase, in a step of a run, in chronological order. Only the (run, step) pairs
# with a retry need that ordering (a window); elsewhere each execution is a call.
# Per run shape of each (workflow, grp): Python sums them up (the most common shape's
# runs over all runs is the run shape stability).
RUN_SHAPES_TAIL = """
SELECT workflow, grp,
       count(*) AS runs,
       min(first_started) AS first_started,
       max(last_started) AS last_started,
       sum(first_failed) AS ai_calls_first_failed,
       sum(retried_after_failure) AS ai_calls_retried_after_failure,
       sum(failed) AS runs_failed
FROM merged
GROUP BY workflow, grp, shape
"""

GROUP_COUNTS = (
    """
WITH {rows},
retried AS (
    SELECT DISTINCT workflow, grp, run_id, step FROM rows WHERE attempt > 1
),
flagged AS (
    SELECT r.workflow, r.grp, r.run_id, r.step, r.started_at, r.source, r.line, r.pos,
           coalesce(r.status = 'ok', false) AS ok,
           coalesce(r.kind IN ('llm', 'agent'), false) AS ai,
           coalesce(r.attempt, 1) AS attempt,
           k.step IS NOT NULL AS folds
    FROM rows AS r
    LEFT JOIN retried AS k
      ON r.workflow = k.workflow AND r.grp = k.grp AND r.run_id = k.run_id AND r.step = k.step
),
attempts AS (
    SELECT workflow, grp, run_id, step, ok, ai, attempt,
           lag(attempt) OVER w AS previous,
           row_number() OVER w AS n
    FROM flagged
    WHERE folds
    WINDOW w AS (PARTITION BY workflow, grp, run_id, step
                 ORDER BY started_at NULLS FIRST, source NULLS FIRST, line NULLS FIRST, pos)
),
numbered AS (
    SELECT workflow, grp, run_id, step, ok, ai, n,
           sum(CASE WHEN attempt = 1 OR previous IS NULL OR attempt <= previous
                    THEN 1 ELSE 0 END)
               OVER (PARTITION BY workflow, grp, run_id, step ORDER BY n
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS call
    FROM attempts
),
calls AS (
    SELECT workflow, grp, run_id, count(*) AS attempts,
           arg_min(ok, n) AS first_ok, arg_max(ok, n) AS last_ok, arg_min(ai, n) AS ai
    FROM numbered
    GROUP BY workflow, grp, run_id, step, call
),
folded AS (
    SELECT workflow, grp, run_id,
           sum(CASE WHEN ai AND NOT first_ok THEN 1 ELSE 0 END) AS first_failed,
           sum(CASE WHEN ai AND NOT first_ok AND attempts > 1 THEN 1 ELSE 0 END)
               AS retried_after_failure,
           max(CASE WHEN last_ok THEN 0 ELSE 1 END) AS failed
    FROM calls
    GROUP BY workflow, grp, run_id
),
runs AS (
    SELECT workflow, grp, run_id,
           sum(DISTINCT hash(step)) AS shape,
           sum(CASE WHEN NOT folds AND ai AND NOT ok THEN 1 ELSE 0 END) AS first_failed,
           max(CASE WHEN NOT folds AND NOT ok THEN 1 ELSE 0 END) AS failed,
           min(started_at) AS first_started,
           max(started_at) AS last_started
    FROM flagged
    GROUP BY workflow, grp, run_id
),
merged AS (
    SELECT r.workflow, r.grp, r.shape, r.first_started, r.last_started,
           r.first_failed + coalesce(f.first_failed, 0) AS first_failed,
           coalesce(f.retried_after_failure, 0) AS retried_after_failure,
           greatest(r.failed, coalesce(f.failed, 0)) AS failed
    FROM runs AS r
    LEFT JOIN folded AS f
      ON r.workflow = f.workflow AND r.grp = f.grp AND r.run_id = f.run_id
)"""
    + RUN_SHAPES_TAIL
)

# The same where no execution is a retry (most traces): each execution is a call.
UNFOLDED_GROUP_COUNTS = (
    """
WITH {rows},
merged AS (
    SELECT workflow, grp, run_id,
           sum(DISTINCT hash(step)) AS shape,
           sum(CASE WHEN kind IN ('llm', 'agent') AND coalesce(status <> 'ok', true)
                    THEN 1 ELSE 0 END) AS first_failed,
           0 AS retried_after_failure,
           max(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS failed,
           min(started_at) AS first_started,
           max(started_at) AS last_started
    FROM rows
    GROUP BY workflow, grp, run_id
)"""
    + RUN_SHAPES_TAIL
)

# Without any parent_id, no code wraps other spans.
UNPARENTED_STEP_COUNTS = """
WITH {rows}
SELECT workflow, grp, step,
       count(*) AS executions,
       sum(CASE WHEN kind IN ('llm', 'agent') THEN 1 ELSE 0 END) AS ai_executions,
       sum(CASE WHEN kind = 'tool' THEN 1 ELSE 0 END) AS tool_executions,
       sum(CASE WHEN kind = 'code' THEN 1 ELSE 0 END) AS code_executions,
       sum(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS failed
FROM rows
GROUP BY workflow, grp, step
ORDER BY workflow, grp, step
"""

# What decides which of the queries above a source needs, per workflow.
PROBE = """
SELECT workflow,
       min(started_at) AS first_started,
       max(started_at) AS last_started,
       sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END) AS retries,
       count(parent_id) AS with_parent,
       max(CASE WHEN extra LIKE '{mark}' THEN 1 ELSE 0 END) AS orchestrated
FROM {source}
GROUP BY workflow
"""


@dataclass(frozen=True)
class Probe:
    """What a source holds that decides the queries it needs."""

    retries: bool  # some execution has attempt > 1
    parents: bool  # some execution names its parent span
    spans: dict[str, tuple[Any, Any]]  # workflow -> (first, last timestamp)
    orchestrated: frozenset[str]

    def within(self, days: int) -> bool:
        """Whether every workflow's logs lie within its latest `days` days."""
        return days <= 0 or all(
            first is None or last - first <= timedelta(days=days)
            for first, last in self.spans.values()
        )


def probe(engine: Engine, source: str = "steps") -> Probe:
    """What `source` holds that decides the queries it needs, in one grouped scan."""
    rows = engine.query(PROBE.format(source=source, mark=ORCHESTRATOR_MARK)).to_pylist()
    return Probe(
        retries=any(r["retries"] for r in rows),
        parents=any(r["with_parent"] for r in rows),
        spans={r["workflow"]: (r["first_started"], r["last_started"]) for r in rows},
        orchestrated=frozenset(r["workflow"] for r in rows if r["orchestrated"]),
    )


def counting_queries(found: Probe) -> tuple[str, str]:
    """(step counts, group counts) for a source as probed."""
    return (
        STEP_COUNTS if found.parents else UNPARENTED_STEP_COUNTS,
        GROUP_COUNTS if found.retries else UNFOLDED_GROUP_COUNTS,
    )


WHOLE_ROWS = """
rows AS (
    SELECT workflow, 0 AS grp, run_id, step, kind, status, attempt, started_at, source,
           line, rowid AS pos, step_id, parent_id
    FROM {source}
)"""


def window_rows(source: str, days: int) -> str:
    """The `rows` of each workflow's latest `days` days (all of them for days <= 0)."""
    keep = (
        "b.last_started IS NULL OR s.started_at IS NULL OR s.started_at >= "
        f"b.last_started - INTERVAL '{int(days) * 24}' HOUR"
        if days > 0
        else "true"
    )
    return WINDOW_ROWS.format(source=source, keep=keep)


def window_counts(engine: Engine, days: int, source: str = "steps") -> dict[str, WindowCounts]:
    """Per workflow of `source`: the counts of its latest `days` days of logs (all of
    them when it has no timestamps), as `window` and `window_facts` take them."""
    found = probe(engine, source)
    # Where every workflow's logs lie within the window, the window is all of them.
    rows = WHOLE_ROWS.format(source=source) if found.within(days) else window_rows(source, days)
    counts, _ = group_counts(engine, rows, queries=counting_queries(found))
    return {workflow: facts for (workflow, _), facts in counts.items()}


Key = tuple[str, Any]  # (workflow, grp)


def group_counts(
    engine: Engine, rows: str, queries: tuple[str, str] = (STEP_COUNTS, GROUP_COUNTS)
) -> tuple[dict[Key, WindowCounts], dict[Key, dict[str, Any]]]:
    """Per (workflow, grp) of the `rows` CTE given: the counts a stage is measured on,
    and the group's failed executions. `queries`: (step counts, group counts), the
    general ones unless a probe of the source allows simpler ones (`counting_queries`)."""
    step_counts, counts = queries
    by_step: dict[Key, list[dict[str, Any]]] = {}
    for row in engine.query(step_counts.format(rows=rows)).to_pylist():
        by_step.setdefault((row["workflow"], row["grp"]), []).append(row)
    out: dict[Key, WindowCounts] = {}
    totals: dict[Key, dict[str, Any]] = {}
    shapes: dict[Key, list[dict[str, Any]]] = {}
    for row in engine.query(counts.format(rows=rows)).to_pylist():
        shapes.setdefault((row["workflow"], row["grp"]), []).append(row)
    for key, group in shapes.items():
        steps = by_step[key]
        starts = [s["first_started"] for s in group if s["first_started"] is not None]
        ends = [s["last_started"] for s in group if s["last_started"] is not None]
        runs = sum(int(s["runs"]) for s in group)
        out[key] = WindowCounts(
            executions=sum(int(s["executions"]) for s in steps),
            ai_executions=sum(int(s["ai_executions"]) for s in steps),
            code_executions=sum(int(s["code_executions"]) for s in steps),
            tool_executions=sum(int(s["tool_executions"]) for s in steps),
            ai_calls_first_failed=sum(int(s["ai_calls_first_failed"]) for s in group),
            ai_calls_retried_after_failure=sum(
                int(s["ai_calls_retried_after_failure"]) for s in group
            ),
            runs=runs,
            runs_failed=sum(int(s["runs_failed"]) for s in group),
            run_shape_stability=max(int(s["runs"]) for s in group) / runs,
            validation_steps=_validation(steps),
            start=min(starts).isoformat() if starts else None,
            end=max(ends).isoformat() if ends else None,
            ai_executions_by_step={
                s["step"]: int(s["ai_executions"]) for s in steps if s["ai_executions"]
            },
        )
        totals[key] = {
            "failed": sum(int(s["failed"]) for s in steps),
        }
    order = sorted(out, key=lambda key: (key[0], str(key[1])))
    return {key: out[key] for key in order}, totals


def _validation(steps: list[dict[str, Any]]) -> tuple[str, ...]:
    """Leaf code steps whose name says they validate."""
    names = (s["step"] for s in steps if s["code_executions"])
    return tuple(sorted(name for name in names if VALIDATION_NAME.search(name)))


def stage(facts: WindowFacts, steps: list[StepAssessment], th: Thresholds) -> Maturity:
    """The stage, the reasons for it, and the concrete next steps with their savings."""
    reasons: list[str] = []
    ai_pct = f"{facts.ai_share:.0%} of executions are LLM or agent calls"
    retry = facts.retry_coverage
    reliable = (retry is None or retry >= th.retry_coverage) and (
        facts.run_failure_rate <= th.stage3_run_failure_rate
    )
    validated = bool(facts.validation_steps) or not _soft_failing(steps)
    if facts.executions and not facts.ai_executions:
        # Nothing for a model to hand over: the stage of the AI work is moot.
        level = 3
        reasons.append(
            f"no LLM or agent call is logged ({facts.tool_executions} tool and "
            f"{facts.code_executions} code executions): there is no AI work to move to code"
        )
        if facts.declared and facts.run_shape_stability >= 0.9:
            level = 4
            reasons.append(
                f"the workflow is a declared definition, and {facts.run_shape_stability:.0%} of "
                "runs follow the same steps"
            )
    elif facts.code_share < th.code_share:
        level = 1
        reasons.append(
            f"{ai_pct} and {facts.code_share:.0%} are code: an agent or a chain of model calls "
            "does everything, mechanical work included"
        )
    elif facts.mechanical_ai_share >= th.mechanical_ai_share:
        level = 2
        reasons.append(
            f"{facts.code_share:.0%} of executions are code, but {facts.mechanical_ai_share:.0%} "
            "of AI executions are in steps that code can reproduce"
        )
    elif not reliable or not validated:
        level = 2
        reasons.append(
            "AI is used only where it is needed, but the orchestration does not yet "
            "make it reliable:"
        )
        if retry is not None and retry < th.retry_coverage:
            reasons.append(f"only {retry:.0%} of failed AI calls were retried")
        if facts.run_failure_rate > th.stage3_run_failure_rate:
            reasons.append(f"{facts.run_failure_rate:.0%} of runs still fail after retries")
        if not validated:
            reasons.append("AI outputs break their usual shape and no validation step is logged")
    else:
        level = 3
        reasons.append(
            f"AI is used only where judgment is needed ({ai_pct}; none of them in steps code "
            "can reproduce)"
        )
        if retry is not None:
            reasons.append(f"{retry:.0%} of failed AI calls were retried")
        if facts.validation_steps:
            reasons.append("outputs are validated by " + ", ".join(facts.validation_steps))
        if facts.declared and facts.run_shape_stability >= 0.9:
            level = 4
            reasons.append(
                f"the workflow is a declared definition, and {facts.run_shape_stability:.0%} of "
                "runs follow the same steps"
            )
    metrics = {
        "window_start": facts.start,
        "window_end": facts.end,
        "executions": facts.executions,
        "ai_execution_share": round(facts.ai_share, 4),
        "code_execution_share": round(facts.code_share, 4),
        "mechanical_ai_share": round(facts.mechanical_ai_share, 4),
        "retry_coverage": None if retry is None else round(retry, 4),
        "run_failure_rate": round(facts.run_failure_rate, 4),
        "run_shape_stability": round(facts.run_shape_stability, 4),
        "validation_steps": list(facts.validation_steps),
        "declared": facts.declared,
    }
    return Maturity(level, reasons, metrics, next_steps(level, facts, steps, th))


def _soft_failing(steps: list[StepAssessment]) -> bool:
    return any(s.is_ai and s.failure.get("soft_failure_rate", 0) >= 0.05 for s in steps)


def next_steps(
    level: int, facts: WindowFacts, steps: list[StepAssessment], th: Thresholds
) -> list[NextStep]:
    """What would move the workflow to the next stage, most valuable first."""
    out: list[NextStep] = []
    by_value = sorted(
        (s for s in steps if s.is_ai and s.recommendation.action not in (None, "keep")),
        key=lambda s: (
            -(s.recommendation.savings.per_month_usd or s.recommendation.savings.observed_usd or 0)
        ),
    )
    for s in by_value:
        rec = s.recommendation
        program = None
        if rec.action == "replace" and level <= 3 and s.synthesis is not None:
            # Plain words for the reader; the program itself one click away (`program`).
            text = (
                f"Replace {s.step} with code that {what_code_does(s.synthesis)}: "
                f"{how_sure(s.synthesis)}"
            )
            program = s.synthesis.description
        elif rec.action == "route" and level <= 3:
            text = f"Route {s.step} through code where it is sure: {rec.reasons[0]}"
        elif rec.action == "harden" and level <= 3:
            text = f"Harden {s.step}: {rec.reasons[0]}"
        elif rec.action in ("cache", "downgrade"):
            text = f"{rec.action.capitalize()} {s.step}: {rec.reasons[0]}"
        else:
            continue
        out.append(NextStep(rec.action, text, s.step, rec.savings.per_month_usd, program))
    for s in steps:
        if s.relays_tool and level <= 2:
            out.append(NextStep(
                "call-tool",
                f"Call {s.relays_tool} from code instead of through the model in {s.step}",
                s.step,
                s.relay_savings_per_month,
            ))  # fmt: skip
    if level == 1:
        # Only where models call tools is there fetching to take out of their hands (an
        # agent span without tools is a wrapper around model calls: a chain).
        agentic = facts.tool_executions > 0 and facts.ai_executions > 0
        out.append(
            NextStep(
                "structure",
                "Take fetching, matching and closing out of the agent: call those tools from code "
                "and keep the model for the steps that need judgment"
                if agentic
                else "Write the chain's mechanical steps as code around the model calls that "
                "need judgment",
            )
        )
    if level <= 2 and facts.retry_coverage is not None and facts.retry_coverage < th.retry_coverage:
        out.append(NextStep("retry", "Retry failed AI calls with backoff in the orchestration"))
    if level <= 2 and not facts.validation_steps:
        out.append(
            NextStep(
                "validate",
                "Validate AI outputs in code (schema, allowed labels) "
                "before the next step uses them",
            )
        )
    # The most valuable first; the general advice (no figure) keeps its order at the end.
    out.sort(key=lambda n: -(n.savings_per_month_usd or 0.0))
    if level == 3:
        out.append(
            NextStep(
                "declare",
                "Declare the workflow as a definition an orchestrator runs (for example a Kestra "
                "flow), and name it under `declared:` in solidify.yaml",
            )
        )
    return out
