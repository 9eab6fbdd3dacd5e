"""The assessment as data: what `assess` computes and every report renders."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from solidify.assess.synthesis.engine import Synthesis

STAGE_NAMES = {1: "Pure AI", 2: "Hybrid", 3: "Orchestrated", 4: "Composable"}
ACTIONS = ("replace", "route", "cache", "downgrade", "harden", "keep")


def plain_number(value: float | None, digits: int = 6) -> float | None:
    """A plain float with 12 significant digits, whatever its size, as JSON carries every
    number (`digits` is kept for callers): a trace that cost $0.0000103 says so, and sums
    lose their float noise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(f"{float(value):.12g}")


@dataclass
class Money:
    """A saving over the logged period, per 1 000 runs and per month at the observed rate."""

    observed_usd: float | None = None
    per_1000_runs_usd: float | None = None
    per_month_usd: float | None = None
    # What the figures were extrapolated from: the workflow's logged runs and days.
    from_runs: int | None = None
    from_days: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "observed_usd": plain_number(self.observed_usd),
            "per_1000_runs_usd": plain_number(self.per_1000_runs_usd, 4),
            "per_month_usd": plain_number(self.per_month_usd, 4),
        }
        if self.observed_usd is not None:
            out["extrapolated_from"] = {
                "runs": self.from_runs,
                "days": plain_number(self.from_days, 4),
            }
        return out


@dataclass
class Recommendation:
    action: str | None
    reasons: list[str] = field(default_factory=list)
    savings: Money = field(default_factory=Money)
    details: dict[str, Any] = field(default_factory=dict)
    also: list[str] = field(default_factory=list)
    # A near miss written down for review: strategy, coverage, counterexamples (a count).
    draft: dict[str, Any] | None = None
    # Whether the step has the executions and runs a saving needs (recommend._evidence).
    evidence: dict[str, Any] | None = None


@dataclass
class StepAssessment:
    workflow: str
    step: str
    kind: str
    kinds: dict[str, int]
    model: str | None
    provider: str | None
    executions: int
    runs: int
    calls: int
    cost_usd: float | None
    cost_unknown_executions: int
    cost_per_execution: float | None
    cost_per_run: float | None
    cost_share: float
    tokens: dict[str, int]
    failure_rate: float
    failure: dict[str, Any]
    determinism: float
    determinism_parts: dict[str, Any]
    latency: dict[str, float | None]
    synthesis: Synthesis | None
    recommendation: Recommendation
    priority: int | None = None
    relays_tool: str | None = None  # the model only passes this tool's result through
    relay_savings_per_month: float | None = None
    rollup: bool = False  # reports the usage of the calls under it (solidify/assess/rollups.py)
    rollup_reason: str | None = None

    @property
    def is_ai(self) -> bool:
        return self.kind in ("llm", "agent")

    def to_dict(self) -> dict[str, Any]:
        rec = self.recommendation
        out: dict[str, Any] = {
            "step": self.step,
            "kind": self.kind,
            "executions": self.executions,
            "cost_usd": plain_number(self.cost_usd),
            "cost_share": plain_number(self.cost_share, 4),
            "failure_rate": plain_number(self.failure_rate, 4),
            "determinism": plain_number(self.determinism, 4),
            "recommendation": rec.action,
            "reasons": rec.reasons,
        }
        if rec.action == "replace" and self.synthesis is not None:
            out["replacement"] = {
                "strategy": self.synthesis.strategy,
                "coverage": plain_number(self.synthesis.heldout_coverage, 4),
                "description": self.synthesis.description,
                "confidence": plain_number(self.synthesis.confidence, 4),
                "baseline_coverage": plain_number(self.synthesis.baseline_coverage, 4),
                "label_recall": {
                    label: {"support": n, "recall": plain_number(r, 4)}
                    for label, (n, r) in self.synthesis.label_recall.items()
                },
            }
        elif rec.action == "route" and self.synthesis is not None and self.synthesis.route:
            routed = self.synthesis.route
            out["replacement"] = {
                "strategy": routed.route.strategy,
                "coverage": plain_number(routed.coverage, 4),
                "routed_share": plain_number(routed.routed_share, 4),
                "description": routed.route.describe(),
                "purity": plain_number(routed.purity, 4),
                "confidence": plain_number(routed.purity_confidence, 4),
            }
        out.update(
            {
                "priority": self.priority,
                "relays_tool": self.relays_tool,
                "rollup": self.rollup,
                "rollup_reason": self.rollup_reason,
                "savings": rec.savings.to_dict(),
                "recommendation_details": rec.details,
                "also": rec.also,
                "draft": rec.draft,
                "evidence": rec.evidence,
                "kinds": self.kinds,
                "model": self.model,
                "provider": self.provider,
                "runs": self.runs,
                "calls": self.calls,
                "cost_unknown_executions": self.cost_unknown_executions,
                "cost_per_execution_usd": plain_number(self.cost_per_execution),
                "cost_per_run_usd": plain_number(self.cost_per_run),
                "tokens": self.tokens,
                "failure": self.failure,
                "determinism_parts": self.determinism_parts,
                "latency_ms": self.latency,
                "synthesis": self.synthesis.to_dict() if self.synthesis is not None else None,
            }
        )
        return out


@dataclass
class NextStep:
    action: str
    text: str
    step: str | None = None
    savings_per_month_usd: float | None = None
    program: str | None = None  # for engineers: the code the text describes in words

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "step": self.step,
            "text": self.text,
            "savings_per_month_usd": plain_number(self.savings_per_month_usd, 4),
            "program": self.program,
        }


@dataclass
class Maturity:
    level: int
    reasons: list[str]
    metrics: dict[str, Any]
    next_steps: list[NextStep]

    @property
    def name(self) -> str:
        return STAGE_NAMES[self.level]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "name": self.name,
            "reasons": self.reasons,
            "metrics": self.metrics,
            "next_steps": [s.to_dict() for s in self.next_steps],
        }


@dataclass
class WorkflowAssessment:
    workflow: str
    runs: int
    executions: int
    cost_usd: float
    cost_unknown_executions: int
    period: dict[str, Any]
    runs_per_month: float | None
    ai_execution_share: float
    replaceable_cost_share: float
    maturity: Maturity
    steps: list[StepAssessment]

    @property
    def cost_per_run(self) -> float | None:
        return self.cost_usd / self.runs if self.runs else None

    @property
    def steps_by_recommendation(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            if step.recommendation.action:
                counts[step.recommendation.action] = counts.get(step.recommendation.action, 0) + 1
        return counts

    @property
    def savings_per_month(self) -> float | None:
        values = [
            s.recommendation.savings.per_month_usd
            for s in self.steps
            if s.recommendation.savings.per_month_usd is not None
        ]
        return sum(values) if values else None

    @property
    def failure_rate(self) -> float:
        executions = sum(s.executions for s in self.steps)
        failed = sum(s.failure_rate * s.executions for s in self.steps)
        return failed / executions if executions else 0.0

    def to_dict(self, steps: list[StepAssessment] | None = None) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "runs": self.runs,
            "executions": self.executions,
            "cost_usd": plain_number(self.cost_usd),
            "maturity": self.maturity.to_dict(),
            "steps": [s.to_dict() for s in (self.steps if steps is None else steps)],
            "cost_per_run_usd": plain_number(self.cost_per_run),
            "cost_unknown_executions": self.cost_unknown_executions,
            "failure_rate": plain_number(self.failure_rate, 4),
            "period": self.period,
            "runs_per_month": plain_number(self.runs_per_month, 2),
            "ai_execution_share": plain_number(self.ai_execution_share, 4),
            "replaceable_cost_share": plain_number(self.replaceable_cost_share, 4),
            "steps_by_recommendation": self.steps_by_recommendation,
            "savings_per_month_usd": plain_number(self.savings_per_month, 4),
        }


@dataclass
class Assessment:
    workflows: list[WorkflowAssessment]
    warnings: list[str] = field(default_factory=list)
    step_filter: tuple[str, ...] = ()
    # What each step's search learnt from and was checked on, per (workflow, step)
    # (sampling.StepSample): migrate's tests are built from the same; not in the JSON.
    samples: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def visible_steps(self, workflow: WorkflowAssessment) -> list[StepAssessment]:
        if not self.step_filter:
            return workflow.steps
        from fnmatch import fnmatchcase

        return [s for s in workflow.steps if any(fnmatchcase(s.step, p) for p in self.step_filter)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflows": [w.to_dict(self.visible_steps(w)) for w in self.workflows],
            "warnings": self.warnings,
        }
