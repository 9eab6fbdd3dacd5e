"""What to do with each AI step, why, and what it saves. Pure functions of the measures.

Order of precedence: `replace` (code reproduces it) before `route` (code answers the
inputs it is sure of, the model the rest) before `harden` (it fails too often) before
`cache` (exact inputs recur) before `downgrade` (a simple task on an expensive model)
before `keep`. Whatever else applies is listed in `also`. Below the evidence minimum
(`min_executions`, `min_runs`) nothing that saves money is recommended.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solidify.assess.config import Thresholds
from solidify.assess.model import Money, Recommendation
from solidify.assess.synthesis.engine import Synthesis
from solidify.assess.synthesis.route import RouteResult

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
    runs: int = 0


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
        return Money(observed, per_1000, per_month, self.runs, self.days)


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
    enough = _enough(facts, th)
    caching = (
        facts.repeat_share >= th.cache_hit_rate
        and (facts.repeat_agreement or 0) >= th.cache_agreement
    )
    problems = program_problems(syn, th) if syn is not None else ["no program"]
    if found and syn.constant and facts.distinct_outputs > 1 and not problems:
        # The sample always said it, but the whole log did not.
        problems = [f"the step gave {facts.distinct_outputs} different outputs in the log"]
    sure = found and syn.confidence >= th.replace_confidence
    # A program that reproduces every distinct input logged answers whatever a cache
    # would, and new inputs too: with recurring inputs it wins over the cache.
    beats_cache = found and caching and syn.heldout_coverage == 1 and syn.train_coverage == 1
    if (
        enough
        and found
        and syn.heldout_coverage >= th.replace_coverage
        and (sure or beats_cache)
        and not problems
    ):
        reasons = [
            f"{syn.strategy} program reproduces {syn.heldout_coverage:.1%} of "
            f"{syn.heldout_examples} distinct held-out inputs: {syn.description}",
        ]
        if not syn.constant:
            reasons.append(f"the most common output alone gets {syn.baseline_coverage:.1%} of them")
        if not sure:
            reasons.append(
                "inputs recur, and the program reproduces every distinct input logged: "
                "it answers all a cache would, and new inputs too"
            )
        if syn.failures:
            f = syn.failures
            reasons.append(
                f"the model failed on {f['executions']} execution(s) ({f['inputs']} input(s)); "
                f"the program answers {f['program_answers']} of those inputs"
            )
        if syn.heldout_coverage < 1:
            reasons.append("keep the model as a fallback for the exceptions, or fix them in code")
        candidates.append(("replace", reasons, _part(cost, syn.heldout_coverage), {}))

    routed = syn.route if syn is not None else None
    if enough and not candidates and routed is not None and route_ok(routed, th):
        reasons = [
            f"{routed.route.strategy} code answers {routed.routed_share:.0%} of "
            f"{routed.heldout} distinct held-out inputs, {routed.purity:.1%} of them as logged "
            f"(by chance {routed.chance:.0%}): {routed.route.describe()}",
            "the model answers the rest: route them through the shadow wrapper",
        ]
        candidates.append(
            (
                "route",
                reasons,
                _part(cost, routed.routed_share),
                {"routed_share": round(routed.routed_share, 4)},
            )
        )

    hardening = _hardening(facts, th)
    if hardening:
        candidates.append(("harden", hardening, facts.failed_cost_usd, {}))

    if enough and caching:
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

    if enough and _simple(facts, th):
        option = cheaper(facts)
        if option is not None and cost:
            name, cheaper_cost = option
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

    draft = None if candidates and candidates[0][0] == "replace" else _draft(syn, th)
    evidence = _evidence(facts, th)
    if not candidates:
        reasons = [_keep_reason(facts, th)] if enough else [_thin_reason(facts, th)]
        return Recommendation(
            action="keep",
            reasons=reasons,
            savings=scale.money(0.0) if enough else Money(),
            draft=draft,
            evidence=evidence,
        )
    action, reasons, saved, details = candidates[0]
    if not enough:
        # Reliability is worth fixing whatever the count; no saving is claimed from it.
        reasons = [*reasons, _thin_reason(facts, th)]
        saved = None
    elif (
        found and action not in ("replace", "route") and syn.heldout_coverage >= th.replace_coverage
    ):
        reasons = [*reasons, _keep_reason(facts, th)]  # code fits, on too little evidence yet
    elif draft is not None and action != "route":
        reasons = [*reasons, _nearly(syn)]
    return Recommendation(
        action=action,
        reasons=reasons,
        savings=scale.money(saved),
        details=details,
        also=[f"{a}: {r[0]}" for a, r, _, _ in candidates[1:]],
        draft=draft,
        evidence=evidence,
    )


def program_problems(syn: Synthesis, th: Thresholds) -> list[str]:
    """Why a program's held-out coverage is not evidence that it does the step's job, beyond
    the coverage and confidence thresholds: it must beat the trivial answer clearly, get
    every label with real support, and a constant must be what the step always says."""
    if syn.program is None:
        return ["no program"]
    if syn.constant:
        if syn.always_same:
            return []
        return [
            f"the constant {_short(syn.baseline_output)} is only the most common output: "
            "the step also says other things"
        ]
    problems = []
    base = syn.baseline_coverage
    if syn.lift < th.replace_lift or syn.confidence <= base:
        problems.append(
            f"the most common output alone ({_short(syn.baseline_output)}) gets {base:.1%} of "
            f"held-out inputs, the program {syn.heldout_coverage:.1%}: not clearly better"
        )
    missed = [
        f"{label!r} {recall:.0%} of {support}"
        for label, (support, recall) in syn.label_recall.items()
        if support >= th.label_min_support and recall < th.label_recall
    ]
    if missed:
        problems.append("labels it does not reproduce (recall): " + ", ".join(missed))
    return problems


def route_ok(routed: RouteResult, th: Thresholds) -> bool:
    """A route is trusted when what it answers is right often enough, surely enough, more
    surely than its labels' shares would give by chance, on a real part of the inputs."""
    return (
        routed.purity >= th.route_purity
        and routed.purity_confidence >= th.route_confidence
        and routed.purity_confidence > routed.chance
        and routed.routed_share >= th.route_min_share
    )


def _draft(syn: Synthesis | None, th: Thresholds) -> dict[str, Any] | None:
    """A near miss worth writing down: most held-out inputs, clearly better than the
    trivial answer, but not enough to replace the step."""
    if syn is None or syn.program is None or syn.constant:
        return None
    if syn.heldout_coverage < th.draft_coverage or syn.lift < th.replace_lift:
        return None
    if syn.heldout_coverage >= th.replace_coverage and not program_problems(syn, th):
        return None  # a replacement, or one on too few examples yet: not a near miss
    return {
        "strategy": syn.strategy,
        "coverage": round(syn.heldout_coverage, 4),
        "counterexamples": syn.misses,
        "description": syn.description,
    }


def _nearly(syn: Synthesis) -> str:
    return (
        f"nearly there: a {syn.strategy} program reproduces {syn.heldout_coverage:.1%} of "
        f"held-out inputs; {syn.misses} counterexamples to review (written as a draft by "
        "`solidify migrate`)"
    )


def _enough(facts: StepFacts, th: Thresholds) -> bool:
    return facts.executions >= th.min_executions and facts.runs >= th.min_runs


def _evidence(facts: StepFacts, th: Thresholds) -> dict[str, Any]:
    return {
        "sufficient": _enough(facts, th),
        "executions": facts.executions,
        "runs": facts.runs,
        "min_executions": th.min_executions,
        "min_runs": th.min_runs,
    }


def _thin_reason(facts: StepFacts, th: Thresholds) -> str:
    need = []
    if facts.executions < th.min_executions:
        need.append(f"{th.min_executions - facts.executions} more execution(s)")
    if facts.runs < th.min_runs:
        need.append(f"{th.min_runs - facts.runs} more run(s)")
    return (
        f"not enough executions to judge: {facts.executions} execution(s) in {facts.runs} "
        f"run(s); at least {th.min_executions} executions over {th.min_runs} runs "
        f"({' and '.join(need)}) would settle it, and no saving is counted before"
    )


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def _keep_reason(facts: StepFacts, th: Thresholds) -> str:
    syn = facts.synthesis
    if syn is None or syn.program is None:
        why = syn.note if syn is not None and syn.note else "no program reproduces it"
        return f"judgment or generation: {why}, and failures are within bounds"
    problems = program_problems(syn, th)
    if syn.heldout_coverage >= th.replace_coverage and problems:
        return (
            f"judgment: a {syn.strategy} program reproduces {syn.heldout_coverage:.0%} of "
            f"held-out inputs, but {problems[0]}"
        )
    draft = _draft(syn, th)
    if draft is not None:
        return _nearly(syn)
    if syn.heldout_coverage >= th.replace_coverage:
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
