"""A step's scores and recommendation from its measures and its program search: pure
functions, no engine (the orchestrator in `assessment.py` gathers their inputs)."""

from __future__ import annotations

import math

import pandas as pd

from solidify.assess.config import Config
from solidify.assess.model import StepAssessment
from solidify.assess.pricing import model_rates, provider_of
from solidify.assess.recommend import Scale, StepFacts, recommend
from solidify.assess.synthesis.engine import Synthesis

AI_KINDS = ("llm", "agent")


def step_assessment(
    workflow: str,
    name: str,
    m: pd.Series,
    failed_cost: float,
    synthesis: Synthesis | None,
    workflow_cost: float,
    runs: int,
    scale: Scale,
    config: Config,
) -> StepAssessment:
    executions = int(m["executions"])
    known = int(m["cost_known"])
    cost = float(m["cost_usd"]) if known else None
    ok = int(m["ok"])
    # Only a model's output can be malformed: code and tools change shape by design.
    soft = int(_get(m, "soft_failures", 0)) if str(m["kind"]) in AI_KINDS else 0
    failed = executions - ok
    calls = int(_get(m, "calls", executions))
    failure_rate = min(1.0, (failed + soft) / executions) if executions else 0.0
    run_failure_rate = int(_get(m, "calls_failed", 0)) / calls if calls else 0.0
    retry_rate = int(_get(m, "calls_retried", 0)) / calls if calls else 0.0
    failure = {
        "attempt_error_rate": round(failed / executions, 4) if executions else 0.0,
        "run_failure_rate": round(run_failure_rate, 4),
        "retry_rate": round(retry_rate, 4),
        "errors": failed,
        "timeouts": int(m["timeouts"]),
        "timeout_rate": round(int(m["timeouts"]) / executions, 4) if executions else 0.0,
        "soft_failures": soft,
        "soft_failure_rate": round(soft / ok, 4) if ok else 0.0,
        "calls": calls,
        "calls_failed_after_retries": int(_get(m, "calls_failed", 0)),
    }
    parts = _determinism_parts(m, synthesis)
    determinism = _determinism(parts)
    tokens = {
        k: int(_get(m, k, 0))
        for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    }
    facts = StepFacts(
        kind=str(m["kind"]),
        model=_text(m.get("model")),
        provider=_text(m.get("provider")),
        executions=executions,
        cost_usd=cost,
        failed_cost_usd=failed_cost,
        input_tokens=tokens["input_tokens"],
        output_tokens=tokens["output_tokens"],
        cache_read_tokens=tokens["cache_read_tokens"],
        cache_write_tokens=tokens["cache_write_tokens"],
        failure_rate=failure_rate,
        run_failure_rate=run_failure_rate,
        retry_rate=retry_rate,
        soft_failures=soft,
        structure_stability=float(_get(m, "structure_stability", 1.0)),
        distinct_outputs=int(_get(m, "distinct_outputs", 0)),
        repeat_share=float(_get(m, "repeat_share", 0.0)),
        repeat_agreement=_float(m.get("repeat_agreement")),
        synthesis=synthesis,
        runs=int(m["runs"]),
    )
    rec = recommend(facts, config.thresholds, scale, lambda f: _cheaper_cost(f, config))
    return StepAssessment(
        workflow=workflow,
        step=name,
        kind=str(m["kind"]),
        kinds=dict(m["kinds"]),
        model=facts.model,
        provider=facts.provider,
        executions=executions,
        runs=int(m["runs"]),
        calls=calls,
        cost_usd=cost,
        cost_unknown_executions=int(m["cost_unknown_executions"]),
        cost_per_execution=cost / executions if cost is not None and executions else None,
        cost_per_run=cost / runs if cost is not None and runs else None,
        cost_share=(cost or 0.0) / workflow_cost if workflow_cost else 0.0,
        tokens=tokens,
        failure_rate=failure_rate,
        failure=failure,
        determinism=determinism,
        determinism_parts=parts,
        latency={"p50": _float(m["p50_ms"]), "p95": _float(m["p95_ms"])},
        synthesis=synthesis,
        recommendation=rec,
    )


def _determinism_parts(m: pd.Series, synthesis: Synthesis | None) -> dict[str, float | int | None]:
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    repeated = int(_get(m, "repeated_inputs", 0))
    return {
        "repeat_agreement": r(_float(m.get("repeat_agreement"))) if repeated else None,
        "repeat_similarity": r(_float(m.get("repeat_similarity"))) if repeated else None,
        "repeated_inputs": repeated,
        "repeat_share": r(float(_get(m, "repeat_share", 0.0))),
        "outputs_per_input": r(_float(m.get("outputs_per_input"))),
        "distinct_outputs": int(_get(m, "distinct_outputs", 0)),
        "majority_share": r(_float(m.get("majority_share"))),
        "entropy": r(_float(m.get("entropy"))),
        "structure_stability": r(_float(m.get("structure_stability"))),
        "program_coverage": r(synthesis.heldout_coverage) if synthesis is not None else None,
        "baseline_coverage": r(synthesis.baseline_coverage) if synthesis is not None else None,
    }


def _determinism(parts: dict[str, float | int | None]) -> float:
    """The strongest evidence that the same input gives the same output: a program that
    reproduces held-out examples, or agreement on inputs that were logged more than once
    (counted only with at least 3 repeated inputs)."""
    program = float(parts["program_coverage"] or 0.0)
    base = float(parts.get("baseline_coverage") or 0.0)
    # A program is evidence only by what it adds to the most common output (a step that
    # always says the same has nothing to add, and its constant is evidence).
    if base < 1 and program - base < 0.5 * (1 - base):
        program = 0.0
    evidence = [program]
    if (parts["repeated_inputs"] or 0) >= 3 and parts["repeat_agreement"] is not None:
        evidence.append(float(parts["repeat_agreement"]))
    return float(min(1.0, max(evidence)))


def _cheaper_cost(facts: StepFacts, config: Config) -> tuple[str, float] | None:
    provider = facts.provider or (provider_of(facts.model) if facts.model else None)
    target = config.cheaper_models.get(provider or "")
    if not target or target == facts.model:
        return None
    rates = config.prices.get(target) or model_rates(target, provider)
    if rates is None:
        return None
    uncached = max(facts.input_tokens - facts.cache_read_tokens - facts.cache_write_tokens, 0)
    cost = (
        uncached * rates.input
        + facts.cache_read_tokens * rates.cache_read
        + facts.cache_write_tokens * rates.cache_write
        + facts.output_tokens * rates.output
    )
    return (target, cost) if math.isfinite(cost) else None


def rank(steps: list[StepAssessment]) -> None:
    """Which step to do first: the largest saving among steps with something to do."""
    actionable = [s for s in steps if s.recommendation.action not in (None, "keep")]
    actionable.sort(
        key=lambda s: (
            -(
                s.recommendation.savings.per_month_usd
                or s.recommendation.savings.observed_usd
                or 0.0
            )
        )
    )
    for rank, step in enumerate(actionable, 1):
        step.priority = rank


def _get(m: pd.Series, key: str, default: float) -> float:
    value = m.get(key, default)
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _float(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
