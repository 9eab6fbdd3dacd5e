"""The four stages of the workflow-engineering journey, measured from the logs.

The stage describes the workflow as it runs now, so it is measured on the
latest `maturity_window_days` of its logs (all of them when there are no
timestamps). The criteria and thresholds are in docs/maturity-model.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from solidify.assess.config import Thresholds
from solidify.assess.metrics import fold_calls
from solidify.assess.model import Maturity, NextStep, StepAssessment
from solidify.assess.recommend import program_problems
from solidify.assess.words import how_sure, what_code_does

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


def window(table: pd.DataFrame, days: int) -> pd.DataFrame:
    """The rows of the latest `days` days of this workflow's logs."""
    started = table["started_at"]
    if started.isna().all() or days <= 0:
        return table
    end = started.max()
    return table[started.isna() | (started >= end - pd.Timedelta(days=days))]


def window_facts(
    rows: pd.DataFrame,
    replace_steps: set[str],
    *,
    declared: bool,
) -> WindowFacts:
    is_ai = rows["kind"].isin(AI_KINDS).to_numpy()
    # A span that holds other spans (a trace's root, a framework's wrapper) is not code
    # doing work of its own: only leaf code counts as code.
    parents = rows["parent_id"].dropna()
    wrapper = rows["step_id"].isin(set(parents.astype(str))).to_numpy(dtype=bool)
    is_code = (rows["kind"] == "code").to_numpy(dtype=bool) & ~wrapper
    step, step_names = pd.factorize(rows["step"])
    step_names = np.asarray(step_names, dtype=object)
    run_codes = pd.factorize(rows["run_id"])[0]
    calls = fold_calls(
        np.zeros(len(rows), dtype=np.int64),
        run_codes,
        step,
        rows["attempt"].to_numpy(dtype="int64", na_value=1),
        (rows["status"] == "ok").to_numpy(),
        order=(
            rows["line"].to_numpy(dtype="int64", na_value=0),
            pd.factorize(rows["source"])[0],
            rows["started_at"].dt.tz_convert(None).to_numpy(dtype="datetime64[us]").astype("int64"),
        ),
    )
    runs = run_codes[calls.first_row]
    ai_call = is_ai[calls.first_row]
    first_failed = ai_call & ~calls.first_ok
    failed_runs = len(set(runs[~calls.last_ok]))
    stability = _run_shape_stability(run_codes, step, len(step_names))
    code_steps = set(step_names[np.unique(step[is_code])]) if is_code.any() else set()
    started = rows["started_at"].dropna()
    return (
        WindowFacts(
            executions=len(rows),
            ai_executions=int(is_ai.sum()),
            code_executions=int(is_code.sum()),
            tool_executions=int((rows["kind"] == "tool").sum()),
            mechanical_ai_executions=int(
                (is_ai & rows["step"].isin(list(replace_steps)).to_numpy()).sum()
            ),
            ai_calls_first_failed=int(first_failed.sum()),
            ai_calls_retried_after_failure=int((first_failed & (calls.attempts > 1)).sum()),
            runs=int(run_codes.max(initial=-1)) + 1,
            runs_failed=int(failed_runs),
            run_shape_stability=stability,
            validation_steps=tuple(sorted(s for s in code_steps if VALIDATION_NAME.search(s))),
            declared=declared,
            start=started.min().isoformat() if len(started) else None,
            end=started.max().isoformat() if len(started) else None,
        )
        if len(rows)
        else WindowFacts(0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0, (), declared, None, None)
    )


def _run_shape_stability(runs: np.ndarray, steps: np.ndarray, distinct: int) -> float:
    """Share of runs whose set of steps is the most common set. A run's set is summarised
    as the sum of one random 64-bit number per distinct step (vectorised, no Python loop)."""
    if len(runs) == 0:
        return 1.0
    salt = np.random.default_rng(0).integers(1, 2**62, size=distinct, dtype=np.uint64)
    pairs = pd.DataFrame({"run": runs, "step": steps}).drop_duplicates()
    signature = pd.Series(salt[pairs["step"].to_numpy()], index=pairs["run"].to_numpy())
    per_run = signature.groupby(level=0).sum()
    return float(per_run.value_counts(normalize=True).iloc[0])


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
