"""Reference implementations in pandas and numpy of what the engine's queries compute.

They are what the assessment ran before its stages became SQL (issue 14), kept here
only as oracles: the tests check that the queries equal them on the samples and on
generated tables. Nothing in `solidify` imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from solidify.assess.config import Config
from solidify.assess.maturity import VALIDATION_NAME, WindowFacts, reproducible_steps, stage
from solidify.assess.model import Assessment
from solidify.assess.pricing import TOKEN_COLUMNS, Pricer, _genai_rates, _model_price
from solidify.assess.rollups import CONTAINS, EQUALS, MARKED, RollupNote, _note
from solidify.assess.sampling import FAILED_SHOWN, LIGHT_EXAMPLES, LIGHT_SECONDS
from solidify.assess.schema import AI_KINDS, as_strings
from solidify.assess.synthesis.engine import MAX_EXAMPLES, TIME_LIMIT, Synthesis, sample_indices
from solidify.assess.synthesis.job import Job
from solidify.assess.synthesis.reuse import Kept
from solidify.assess.trends import PERIODS, Period
from tests.reference.metrics import Texts, codes_of, fold_calls, positions_by_code

KEYS = ["workflow", "run_id", "step_id"]


def _children(table: pd.DataFrame) -> pd.DataFrame:
    """Per row: the number of direct children with usage and their summed tokens."""
    kids = table[table["parent_id"].notna()]
    used = kids["input_tokens"].fillna(0).gt(0) | kids["output_tokens"].fillna(0).gt(0)
    kids = kids.assign(used=used.astype("int64"))
    sums = kids.groupby(["workflow", "run_id", "parent_id"], observed=True)[
        ["input_tokens", "output_tokens", "used"]
    ].sum()
    sums.index = sums.index.set_names(KEYS)
    sums.columns = ["children_input", "children_output", "children"]
    return table[[*KEYS, "input_tokens", "output_tokens"]].join(sums, on=KEYS)


def _verdicts(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(equals, contains): per row, whether its usage equals or contains its children's."""
    if table["step_id"].isna().all() or table["parent_id"].isna().all():
        none = pd.Series(False, index=table.index)
        return none, none
    joined = _children(table)
    has = joined["children"].fillna(0).gt(0)
    own_in = joined["input_tokens"].astype("Float64").fillna(0)
    own_out = joined["output_tokens"].astype("Float64").fillna(0)
    kids_in = joined["children_input"].astype("Float64").fillna(0)
    kids_out = joined["children_output"].astype("Float64").fillna(0)
    usage = own_in.gt(0) | own_out.gt(0)
    equals = (has & usage & own_in.eq(kids_in) & own_out.eq(kids_out)).fillna(False)
    contains = (has & usage & own_in.ge(kids_in) & own_out.ge(kids_out)).fillna(False)
    return equals.astype(bool), (contains & ~equals).astype(bool)


def mark_rollups(table: pd.DataFrame) -> pd.DataFrame:
    """The table with `rollup` set on every parent whose usage equals or contains its
    children's (rows a reader or the log marked stay marked)."""
    equals, contains = _verdicts(table)
    found = equals | contains
    if not found.any():
        return table
    table = table.copy()
    table["rollup"] = table["rollup"].astype(bool) | found.to_numpy()
    return table


def frame_notes(table: pd.DataFrame) -> dict[tuple[str, str], RollupNote]:
    """`step_notes` of a pandas step table whose `rollup` column `mark_rollups` set."""
    marked = table["rollup"].astype(bool)
    if not marked.any():
        return {}
    equals, contains = _verdicts(table)
    why = np.where(equals, EQUALS, np.where(contains, CONTAINS, MARKED))
    rows = pd.DataFrame({
        "workflow": table["workflow"].astype(str), "step": table["step"].astype(str),
        "why": why, "marked": marked.to_numpy(),
    })[marked.to_numpy()]  # fmt: skip
    notes: dict[tuple[str, str], RollupNote] = {}
    for (workflow, step), group in rows.groupby(["workflow", "step"], sort=False):
        reason = group["why"].value_counts().index[0]
        notes[(str(workflow), str(step))] = _note(len(group), str(reason))
    return notes


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


def _frame_trends(
    table: pd.DataFrame, assessment: Assessment, config: Config | None = None, by: str = "month"
) -> list[Period]:
    config = config or Config()
    if by not in PERIODS:
        raise ValueError(f"by must be one of {', '.join(PERIODS)}")
    timed = table[table["started_at"].notna()]
    if timed.empty:
        return []
    # Roll-ups found by usage (children may lack a time) are counted on their children.
    rollup = mark_rollups(table)["rollup"].astype(bool)[table["started_at"].notna()]
    cost = price(Pricer(overrides=config.prices), timed).where(~rollup, 0.0)
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


def price(self: Pricer, table: pd.DataFrame) -> pd.Series:
    """Cost in USD of each row; NaN where it cannot be known."""
    cost = pd.Series(np.nan, index=table.index, dtype="float64")
    given = table["cost_usd"].astype("float64")
    cost[given.notna()] = given[given.notna()]
    has_model = table["model"].notna() & given.isna()
    no_model = table["model"].isna() & given.isna()
    # Code, tools and people cost nothing in model terms; an AI step without a model is unknown.
    cost[no_model & ~table["kind"].isin(["llm", "agent"])] = 0.0
    if not has_model.any():
        return cost
    # Only the columns pricing reads: selecting rows copies every column it keeps.
    needed = ["model", "provider", "started_at", "extra", *TOKEN_COLUMNS]
    rows = table[needed][has_model.to_numpy()]
    tokens = {
        name: rows[name].astype("float64").fillna(0.0).to_numpy()
        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    }
    no_tokens = rows["input_tokens"].isna() & rows["output_tokens"].isna()
    day = rows["started_at"].dt.floor("D")
    # Group rows by (model, provider, day, tier, batch) on integer codes: a price
    # is looked up once per group.
    model, models = pd.factorize(rows["model"])
    provider, providers = pd.factorize(rows["provider"])
    when, days = pd.factorize(day)
    floor = (
        np.array(
            [
                _tier_floor(str(m), p if isinstance(p, str) else None, d, int(t))
                for m, p, d, t in zip(
                    rows["model"].astype(object), rows["provider"].astype(object),
                    _days(day), tokens["input_tokens"], strict=True,
                )
            ],
            dtype=np.int64,
        )
        if _any_tiers(rows)
        else np.zeros(len(rows), dtype=np.int64)
    )  # fmt: skip
    # Batch APIs bill about half: genai-prices knows each model's batch prices.
    batch = rows["extra"].str.contains('"processing":"batch"', regex=False)
    batch = batch.fillna(False).to_numpy(dtype=bool)
    key = model.astype(np.int64)
    for codes, size in ((provider, len(providers) + 1), (when, len(days) + 1)):
        key = key * size + (codes + 1)  # -1 (missing) becomes 0
    floors, floor = np.unique(floor, return_inverse=True)
    key = (key * len(floors) + floor) * 2 + batch
    values = np.full(len(rows), np.nan)
    for positions in positions_by_code(key).values():
        at = int(positions[0])  # the group's first row stands for it
        name = str(models[model[at]])
        vendor = str(providers[provider[at]]) if provider[at] >= 0 else None
        stamp = days[when[at]].to_pydatetime() if when[at] >= 0 else None
        rates = (
            self.overrides.get(name)
            if name in self.overrides
            else _genai_rates(name, vendor, stamp, int(floors[floor[at]]),
                              "batch" if batch[at] else None)
        )  # fmt: skip
        if rates is None:
            self.unknown_models.add(name)
            continue
        inp = tokens["input_tokens"][positions]
        cr = tokens["cache_read_tokens"][positions]
        cw = tokens["cache_write_tokens"][positions]
        uncached = np.maximum(inp - cr - cw, 0.0)
        values[positions] = (
            uncached * rates.input
            + cr * rates.cache_read
            + cw * rates.cache_write
            + tokens["output_tokens"][positions] * rates.output
        )
    values[no_tokens.to_numpy()] = np.nan
    cost.loc[rows.index] = values
    return cost


def _days(day: pd.Series) -> list[datetime | None]:
    return [None if pd.isna(d) else d.to_pydatetime() for d in day]


def _any_tiers(rows: pd.DataFrame) -> bool:
    """Tiers only matter for very long prompts; skip the per-row work when none is long."""
    longest = rows["input_tokens"].max()
    return bool(pd.notna(longest) and longest >= 32_000)


@lru_cache(maxsize=4096)
def _tier_floor(model: str, provider: str | None, day: datetime | None, input_tokens: int) -> int:
    """The start of the price tier this request falls in (0 for the base tier)."""
    price = _model_price(model, provider, day)
    if price is None:
        return 0
    from genai_prices.types import TieredPrices

    floor = 0
    for value in vars(price).values():
        if isinstance(value, TieredPrices):
            for tier in value.tiers:
                # A tier applies above its start (genai-prices: total_input_tokens > start).
                if input_tokens > tier.start:
                    floor = max(floor, tier.start)
    return floor
