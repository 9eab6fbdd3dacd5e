"""What to do with each AI step, why, and what it saves. Pure functions of the measures.

Order of precedence: `replace` (code reproduces it) before `harden` (it fails
too often) before `cache` (exact inputs recur) before `downgrade` (a simple task
on an expensive model) before `keep`. Whatever else applies is listed in `also`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solidify.assess.config import Thresholds
from solidify.assess.model import Money, Recommendation
from solidify.assess.synthesis.engine import Synthesis

AI_KINDS = ("llm", "agent")


@dataclass(frozen=True)
class StepFacts:
    """The measures a recommendation is made from."""

    kind: str
    model: str | None
    provider: str | None
    executions: int
    cost_usd: float | None
    failed_cost_usd: float
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    failure_rate: float
    run_failure_rate: float
    retry_rate: float
    soft_failures: int
    structure_stability: float
    distinct_outputs: int
    repeat_share: float
    repeat_agreement: float | None
    synthesis: Synthesis | None


@dataclass(frozen=True)
class Scale:
    """Turns a saving over the logged period into per-1000-runs and per-month figures."""

    runs: int
    days: float | None

    def money(self, observed: float | None) -> Money:
        if observed is None:
            return Money()
        per_1000 = observed / self.runs * 1000 if self.runs else None
        per_month = observed / self.days * 30 if self.days else None
        return Money(observed, per_1000, per_month)


# (cheaper model name, cost of the same tokens on it) or None
CheaperCost = Callable[["StepFacts"], "tuple[str, float] | None"]


def recommend(
    facts: StepFacts, th: Thresholds, scale: Scale, cheaper: CheaperCost
) -> Recommendation:
    if facts.kind not in AI_KINDS:
        return Recommendation(action=None)
    cost = facts.cost_usd
    candidates: list[tuple[str, list[str], float | None, dict[str, Any]]] = []

    syn = facts.synthesis
    found = syn is not None and syn.program is not None
    if (
        found
        and syn.heldout_coverage >= th.replace_coverage
        and (syn.confidence >= th.replace_confidence)
    ):
        reasons = [
            f"{syn.strategy} program reproduces {syn.heldout_coverage:.1%} of "
            f"{syn.heldout_examples} held-out examples: {syn.description}",
        ]
        if syn.heldout_coverage < 1:
            reasons.append("keep the model as a fallback for the exceptions, or fix them in code")
        candidates.append(("replace", reasons, _part(cost, syn.heldout_coverage), {}))

    hardening = _hardening(facts, th)
    if hardening:
        candidates.append(("harden", hardening, facts.failed_cost_usd, {}))

    if (
        facts.repeat_share >= th.cache_hit_rate
        and (facts.repeat_agreement or 0) >= th.cache_agreement
    ):
        reasons = [
            f"{facts.repeat_share:.0%} of executions repeat an input seen before, and repeated "
            f"inputs got the same output {facts.repeat_agreement:.0%} of the time: memoise it",
        ]
        candidates.append(
            (
                "cache",
                reasons,
                _part(cost, facts.repeat_share),
                {"hit_rate": round(facts.repeat_share, 4)},
            )
        )

    if _simple(facts, th):
        found = cheaper(facts)
        if found is not None and cost:
            name, cheaper_cost = found
            if cheaper_cost <= th.downgrade_price_ratio * cost:
                average_out = facts.output_tokens / max(facts.executions, 1)
                reasons = [
                    f"a simple task ({facts.distinct_outputs} distinct outputs, "
                    f"{average_out:.0f} output tokens on average) "
                    f"on {facts.model}; on {name} the same tokens cost ${cheaper_cost:.4f} "
                    f"instead of ${cost:.4f}",
                ]
                candidates.append(
                    (
                        "downgrade",
                        reasons,
                        cost - cheaper_cost,
                        {"cheaper_model": name, "cheaper_cost_usd": round(cheaper_cost, 6)},
                    )
                )

    if not candidates:
        return Recommendation(
            action="keep",
            reasons=[_keep_reason(facts)],
            savings=scale.money(0.0),
        )
    action, reasons, saved, details = candidates[0]
    if found and action != "replace" and syn.heldout_coverage >= th.replace_coverage:
        reasons = [*reasons, _keep_reason(facts)]  # code fits, on too few examples yet
    return Recommendation(
        action=action,
        reasons=reasons,
        savings=scale.money(saved),
        details=details,
        also=[f"{a}: {r[0]}" for a, r, _, _ in candidates[1:]],
    )


def _part(cost: float | None, share: float) -> float | None:
    return None if cost is None else cost * share


def _hardening(facts: StepFacts, th: Thresholds) -> list[str]:
    reasons = []
    # Failed attempts that retries absorb are a cost, not a reliability problem.
    absorbed = facts.retry_rate > 0 and facts.run_failure_rate < th.harden_run_failure_rate
    if facts.failure_rate >= th.harden_failure_rate and not absorbed:
        reasons.append(
            f"{facts.failure_rate:.1%} of executions fail (errors, timeouts, empty or "
            "malformed output): validate outputs and retry"
        )
    if facts.run_failure_rate >= th.harden_run_failure_rate:
        if facts.retry_rate == 0:
            reasons.append(
                f"{facts.run_failure_rate:.1%} of calls fail and none is retried: add retries "
                "with backoff"
            )
        else:
            reasons.append(f"{facts.run_failure_rate:.1%} of calls still fail after retries")
    if facts.structure_stability < th.harden_structure:
        reasons.append(
            f"only {facts.structure_stability:.0%} of outputs have the usual shape: "
            "ask for structured output and validate it"
        )
    return reasons


def _simple(facts: StepFacts, th: Thresholds) -> bool:
    if not facts.model or facts.executions == 0:
        return False
    average_out = facts.output_tokens / facts.executions
    few_labels = 0 < facts.distinct_outputs <= th.downgrade_max_labels
    return few_labels or average_out <= th.downgrade_max_output_tokens


def _keep_reason(facts: StepFacts) -> str:
    syn = facts.synthesis
    if syn is None or syn.program is None:
        why = syn.note if syn is not None and syn.note else "no program reproduces it"
        return f"judgment or generation: {why}, and failures are within bounds"
    if syn.heldout_coverage >= 0.95:
        # Code reproduces it, but on too few examples to be sure: say so rather than "keep".
        return (
            f"a {syn.strategy} program reproduces {syn.heldout_coverage:.0%} of only "
            f"{syn.heldout_examples} held-out examples (confidence {syn.confidence:.2f}): "
            "log more runs before replacing it"
        )
    return (
        f"judgment or generation: the closest program reproduces only "
        f"{syn.heldout_coverage:.0%} of held-out examples, and failures are within bounds"
    )
