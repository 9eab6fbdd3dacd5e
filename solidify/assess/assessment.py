"""The assessment: step table in, scores, found programs, recommendations and stages out."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
import pyarrow as pa

from solidify.assess.config import Config
from solidify.assess.maturity import reproducible_steps, stage, window, window_facts
from solidify.assess.measures import step_measures
from solidify.assess.metrics import Texts, codes_of, positions_by_code
from solidify.assess.model import Assessment, StepAssessment, WorkflowAssessment
from solidify.assess.pricing import Pricer, model_rates, provider_of, register_rates
from solidify.assess.recommend import Scale, StepFacts, recommend
from solidify.assess.rollups import annotate, frame_notes, mark_rollups
from solidify.assess.schema import STEP_TABLE_SCHEMA, as_strings
from solidify.assess.searches import Searches, workers_wanted
from solidify.assess.steptable import StepTable
from solidify.assess.synthesis.engine import (
    MAX_EXAMPLES,
    TIME_LIMIT,
    Synthesis,
    sample_indices,
)
from solidify.assess.synthesis.job import Job
from solidify.assess.synthesis.reuse import Kept

AI_KINDS = ("llm", "agent")
LIGHT_EXAMPLES = 300
LIGHT_SECONDS = 0.5
FAILED_SHOWN = 200  # failed executions per step checked against its program
Progress = Callable[[str], None]


def assess(
    table: pd.DataFrame,
    config: Config | None = None,
    *,
    workflows: Sequence[str] = (),
    steps: Sequence[str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
    known: Mapping[tuple[str, str], tuple[Kept, ...]] | None = None,
) -> Assessment:
    """Assess every workflow in the step table. `workflows` and `steps` are glob patterns;
    `workers` is the number of processes for the searches, 1 for this one alone
    (default: one per core on a large log); `known`: programs kept from earlier
    assessments per (workflow, step) (solidify.assess.kept), re-checked first."""
    config = config or Config()
    if workflows:
        names = pd.Series(as_strings(table["workflow"]), index=table.index)
        table = table[names.map(lambda n: any(fnmatchcase(n, p) for p in workflows))]
    if table.empty:
        return Assessment([], [], tuple(steps))
    table = mark_rollups(table)
    inputs, outputs = Texts.of(table, "input"), Texts.of(table, "output")
    return _assess(table, config, inputs, outputs, steps=steps, progress=progress,
                   workers=workers, known=known or {})  # fmt: skip


def _assess(
    table: pd.DataFrame,
    config: Config,
    inputs: Texts,
    outputs: Texts,
    *,
    steps: Sequence[str],
    progress: Progress | None,
    workers: int | None,
    known: Mapping[tuple[str, str], tuple[Kept, ...]],
) -> Assessment:
    plan = replace(SearchPlan.of(table, inputs, outputs), known=known)
    pricer = Pricer(overrides=config.prices)

    def report(key: tuple[str, str]) -> None:
        if progress:
            progress("/".join(key))

    # The searches start in worker processes (on a large log) while this one measures.
    workers = workers_wanted(len(table), workers)
    with Searches(plan, plan.keys, workers=workers, progress=report) as searches:
        if not (inputs.exact() and outputs.exact()):
            # Two texts shared a hash (about one chance in 10**7 for a million distinct
            # texts): everything is done again on codes from the texts themselves.
            searches.cancel()
            inputs, outputs = Texts.encode(table["input"]), Texts.encode(table["output"])
            return _assess(table, config, inputs, outputs, steps=steps, progress=progress,
                           workers=workers, known=known)  # fmt: skip
        measures = _measures(table, pricer)
        failed_cost = measures["failed_cost_usd"]
        unknown_models = pricer.unknown_models
        relays = tool_relays(table, inputs, outputs)
        syntheses = searches.results()
    warnings = [
        f"no price known for model {m!r}: its cost is shown as unknown "
        "(set one under prices: in solidify.yaml)"
        for m in sorted(unknown_models)
    ]
    # The per-workflow work needs no text columns: leave them out of the copies.
    slim = table.drop(columns=["input", "output", "extra", "error", "input_hash", "output_hash"],
                      errors="ignore")  # fmt: skip
    declared = set(config.declared) | orchestrated(table)
    out: list[WorkflowAssessment] = []
    codes, names = pd.factorize(slim["workflow"])
    names = np.asarray(names, dtype=object)
    groups = {str(names[code]): at for code, at in positions_by_code(codes).items()}
    for name, at in sorted(groups.items()):
        out.append(
            _workflow(
                name,
                slim.iloc[at],
                measures.loc[name],
                failed_cost.loc[name],
                {step: found for (wf, step), found in syntheses.items() if wf == name},
                config,
                declared=name in declared,
                relays={step: tool for (wf, step), tool in relays.items() if wf == name},
            )
        )
    # rollup and its reason, per step
    annotate((s for w in out for s in w.steps), frame_notes(table))
    return Assessment(out, warnings, tuple(steps))


def _measures(table: pd.DataFrame, pricer: Pricer) -> pd.DataFrame:
    """The per-step measures, by the engine's queries over the step table."""
    columns = list(STEP_TABLE_SCHEMA.names)
    with StepTable.viewing(pa.Table.from_pandas(table[columns], preserve_index=False)) as engine:
        register_rates(engine, pricer)
        return step_measures(engine)


RELAY_SHARE = 0.9
RELAY_MIN = 5


def tool_relays(table: pd.DataFrame, inputs: Texts, outputs: Texts) -> dict[tuple[str, str], str]:
    """AI steps whose every output is a tool's output for the same input in the same run:
    the model only passes a tool call through (an agent fetching through its tools)."""
    kind = as_strings(table["kind"])
    ok = (table["status"] == "ok").to_numpy() & table["input"].notna().to_numpy()
    is_tool = ok & (kind == "tool")
    is_ai = ok & np.isin(kind, AI_KINDS)
    if not is_tool.any() or not is_ai.any():
        return {}
    # A relay's (input, output) pairs must be a tool's: steps with too few such pairs
    # are left out before the exact, per-run matching.
    width = outputs.size
    pair = inputs.codes * width + outputs.codes
    could = is_ai & np.isin(pair, pair[is_tool])
    step_key = _combine(codes_of(table["workflow"]), codes_of(table["step"]))
    ai_rows = np.bincount(step_key[is_ai], minlength=step_key.max(initial=0) + 1)
    candidates = np.bincount(step_key[could], minlength=len(ai_rows))
    possible = (ai_rows >= RELAY_MIN) & (candidates >= RELAY_SHARE * ai_rows)
    if not possible.any():
        return {}
    chosen = is_tool | (is_ai & possible[step_key])
    # One code per (workflow, run, input, output), shared by tool and AI rows.
    call = _combine(
        codes_of(table["workflow"])[chosen], codes_of(table["run_id"])[chosen],
        inputs.codes[chosen], outputs.codes[chosen],
    )  # fmt: skip
    step = as_strings(table["step"])[chosen]
    tool = is_tool[chosen]
    # The first tool that gave this output for this input in this run.
    tool_calls, first = np.unique(call[tool], return_index=True)
    tool_steps = step[tool][first]
    ai_call = call[~tool]
    at = np.minimum(np.searchsorted(tool_calls, ai_call), len(tool_calls) - 1)
    found = tool_calls[at] == ai_call
    workflow = as_strings(table["workflow"])[chosen][~tool]
    ai_step = step[~tool]
    out: dict[tuple[str, str], str] = {}
    groups = pd.DataFrame({"w": workflow, "s": ai_step}).groupby(["w", "s"], sort=False).indices
    for key, rows in groups.items():
        matched = tool_steps[at[rows][found[rows]]]
        if len(rows) >= RELAY_MIN and len(matched) >= RELAY_SHARE * len(rows):
            out[key] = ", ".join(pd.Series(matched).value_counts().index.astype(str))
    return out


def _combine(*codes: np.ndarray) -> np.ndarray:
    """One code per distinct tuple of codes, without overflowing 64 bits."""
    combined = codes[0]
    for more in codes[1:]:
        combined = pd.factorize(combined * (int(more.max(initial=0)) + 1) + more)[0]
    return combined


def orchestrated(table: pd.DataFrame) -> set[str]:
    """Workflows whose logs come from an orchestrator running a declared definition."""
    marked = table["extra"].fillna("").str.contains('"orchestrator":', regex=False)
    if not marked.any():
        return set()
    return set(as_strings(table.loc[marked, "workflow"]))


@dataclass(frozen=True)
class SearchPlan:
    """Which executions each step's search learns from; each job is built by whichever
    process runs it, so the hashing is shared too."""

    keys: list[tuple[str, str]]  # largest first
    rows: dict[tuple[str, str], np.ndarray]  # successful executions of each step
    on_ai: set[tuple[str, str]]
    inputs: Texts
    outputs: Texts
    prompts: pd.Series | None = None  # `extra` of records naming their prompt (else None)
    failed: dict[tuple[str, str], list[tuple[str, str | None]]] | None = None  # (input, error)
    known: Mapping[tuple[str, str], tuple[Kept, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, table: pd.DataFrame, inputs: Texts, outputs: Texts) -> SearchPlan:
        workflow, workflows = pd.factorize(table["workflow"])
        step, steps = pd.factorize(table["step"])
        workflows, steps = np.asarray(workflows, dtype=object), np.asarray(steps, dtype=object)
        key = workflow.astype(np.int64) * len(steps) + step
        ai = table["kind"].isin(AI_KINDS).to_numpy()
        on_ai = {(workflows[k // len(steps)], steps[k % len(steps)]) for k in np.unique(key[ai])}
        at = np.flatnonzero((table["status"] == "ok").to_numpy())
        rows = {
            (str(workflows[k // len(steps)]), str(steps[k % len(steps)])): at[positions]
            for k, positions in positions_by_code(key[at]).items()
        }
        keys = sorted(rows, key=lambda k: (-min(len(rows[k]), MAX_EXAMPLES), k))
        # The first failed executions of each step, to show next to its program.
        bad = np.flatnonzero((table["status"] != "ok").to_numpy())
        errors = table["error"].to_numpy(dtype=object)
        failed = {
            (str(workflows[k // len(steps)]), str(steps[k % len(steps)])): [
                (text, None if errors[i] is None else str(errors[i]))
                for i, text in zip(bad[p[:FAILED_SHOWN]], inputs.text(bad[p[:FAILED_SHOWN]]),
                                   strict=True)
            ]
            for k, p in positions_by_code(key[bad]).items()
        }  # fmt: skip
        # The trace's own prompt fields, where records name their prompt.
        extra = table.get("extra")
        named = extra is not None and bool(
            extra.dropna().astype(str).str.contains('"prompt_', regex=False).any()
        )
        return cls(keys, rows, on_ai, inputs, outputs, extra if named else None, failed)

    def job(self, key: tuple[str, str]) -> Job:
        """A sample of the step's successful executions, split for fitting and measuring."""
        rows = self.rows[key]
        # Steps that never ran on a model only need determinism evidence: a light search.
        ran_on_ai = key in self.on_ai
        train, held = sample_indices(
            self.inputs.row_hashes(rows),
            self.outputs.row_hashes(rows),
            max_examples=MAX_EXAMPLES if ran_on_ai else LIGHT_EXAMPLES,
        )

        def texts(chosen: np.ndarray) -> list[tuple[str, str]]:
            at = rows[chosen]
            return list(zip(self.inputs.text(at), self.outputs.text(at), strict=True))

        # The trace's own prompt names, versions and variables, where it logged them.
        prompts = None if self.prompts is None else list(self.prompts.iloc[rows[train]])
        failed = tuple((self.failed or {}).get(key, ()))
        return Job(texts(train), texts(held), TIME_LIMIT if ran_on_ai else LIGHT_SECONDS, prompts,
                   failed, routes=ran_on_ai, known=self.known.get(key, ()))  # fmt: skip

    def search(self, key: tuple[str, str]) -> Synthesis:
        return self.job(key).run()


def _workflow(
    name: str,
    rows: pd.DataFrame,
    measures: pd.DataFrame,
    failed_cost: pd.Series,
    syntheses: dict[str, Synthesis],
    config: Config,
    *,
    declared: bool = False,
    relays: dict[str, str] | None = None,
) -> WorkflowAssessment:
    th = config.thresholds
    runs = int(rows["run_id"].nunique())
    started = rows["started_at"].dropna()
    days = None
    period = {"start": None, "end": None, "days": None}
    if len(started):
        span = (started.max() - started.min()).total_seconds() / 86400
        days = max(span, 1.0)
        period = {
            "start": started.min().isoformat(),
            "end": started.max().isoformat(),
            "days": round(span, 2),
        }
    scale = Scale(runs=runs, days=days)
    workflow_cost = float(np.nansum(measures["cost_usd"].to_numpy(dtype=float)))
    steps: list[StepAssessment] = []
    for step_name, m in measures.iterrows():
        step_name = str(step_name)
        synthesis = syntheses.get(step_name)
        steps.append(
            _step(
                name,
                step_name,
                m,
                float(failed_cost.get(step_name, 0.0)),
                synthesis,
                workflow_cost,
                runs,
                scale,
                config,
            )
        )
    for step in steps:
        tool = (relays or {}).get(step.step)
        if tool and step.is_ai:
            step.relays_tool = tool
            step.relay_savings_per_month = scale.money(step.cost_usd).per_month_usd
            step.recommendation.reasons.insert(
                0, f"the model only relays the result of the tool {tool!r}: call it from code"
            )
    _rank(steps)
    recent = window(rows, th.maturity_window_days)
    mechanical = reproducible_steps(steps, th)
    facts = window_facts(recent, mechanical, declared=declared)
    maturity = stage(facts, steps, th)
    executions = len(rows)
    ai_executions = int(rows["kind"].isin(AI_KINDS).sum())
    replace_cost = sum(s.cost_usd or 0.0 for s in steps if s.recommendation.action == "replace")
    return WorkflowAssessment(
        workflow=name,
        runs=runs,
        executions=executions,
        cost_usd=workflow_cost,
        cost_unknown_executions=int(measures["cost_unknown_executions"].sum()),
        period=period,
        runs_per_month=runs / days * 30 if days else None,
        ai_execution_share=ai_executions / executions if executions else 0.0,
        replaceable_cost_share=replace_cost / workflow_cost if workflow_cost else 0.0,
        maturity=maturity,
        steps=steps,
    )


def _step(
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


def _rank(steps: list[StepAssessment]) -> None:
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
