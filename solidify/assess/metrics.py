"""Per-step measures computed over the whole step table at once (vectorised).

Failure accounting groups retries into calls: a call starts at attempt 1 and
takes the following attempts of the same step in the same run; it fails when
its last attempt did. Determinism parts come from grouping executions by their
exact input (canonical JSON).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import orjson
import pandas as pd

KEYS = ["workflow", "step"]
SHAPE_SAMPLE = 2000
SIMILARITY_GROUPS = 200


def _codes(series: pd.Series) -> np.ndarray:
    """Integer ids of equal values (missing values share one id): arrow's dictionary
    encoding does this in C for the string columns."""
    return pd.factorize(series, use_na_sentinel=False)[0]


def step_metrics(table: pd.DataFrame, cost: pd.Series) -> pd.DataFrame:
    """One row per (workflow, step): counts, cost, failures, latency, determinism parts."""
    data = table.assign(
        # Plain strings as keys, so that every partial result joins on the same index.
        workflow=table["workflow"].astype(str),
        step=table["step"].astype(str),
        cost=cost,
        _ok=(table["status"] == "ok").to_numpy(),
        _timeout=(table["status"] == "timeout").to_numpy(),
        _run=_codes(table["run_id"]),
        _cost_known=cost.notna().to_numpy() | table["rollup"].to_numpy(),
        _counted_cost=cost.where(~table["rollup"], 0.0),
    )
    grouped = data.groupby(KEYS, observed=True, sort=False)
    out = pd.DataFrame(
        {
            "executions": grouped.size(),
            "runs": grouped["_run"].nunique(),
            "ok": grouped["_ok"].sum(),
            "timeouts": grouped["_timeout"].sum(),
            "cost_usd": grouped["_counted_cost"].sum(min_count=0),
            "cost_known": grouped["_cost_known"].sum(),
            "rollup_executions": grouped["rollup"].sum(),
            "input_tokens": grouped["input_tokens"].sum(),
            "output_tokens": grouped["output_tokens"].sum(),
            "cache_read_tokens": grouped["cache_read_tokens"].sum(),
            "cache_write_tokens": grouped["cache_write_tokens"].sum(),
            "p50_ms": grouped["duration_ms"].quantile(0.5),
            "p95_ms": grouped["duration_ms"].quantile(0.95),
            "first_seen": grouped["started_at"].min(),
            "last_seen": grouped["started_at"].max(),
        }
    )
    out["cost_unknown_executions"] = out["executions"] - out["cost_known"]
    for part in (_kinds, _models, _calls, _outputs, _repeats):
        out = out.join(_named(part(data)))
    return out


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame.index) == 0:
        frame.index = pd.MultiIndex.from_arrays([[], []], names=KEYS)
    else:
        frame.index = pd.MultiIndex.from_tuples(list(frame.index), names=KEYS)
    return frame


def _kinds(data: pd.DataFrame) -> pd.DataFrame:
    """The step's current kind (its latest execution's) and how many executions had each kind."""
    order = data.sort_values(["started_at", "source", "line"], na_position="first")
    latest = order.groupby(KEYS, observed=True, sort=False)["kind"].last().astype(str)
    counts = data.groupby([*KEYS, "kind"], observed=True).size()
    kinds = {key: {} for key in latest.index}
    for (workflow, step, kind), n in counts.items():
        kinds[(workflow, step)][str(kind)] = int(n)
    return pd.DataFrame({"kind": latest, "kinds": pd.Series(kinds)})


def _models(data: pd.DataFrame) -> pd.DataFrame:
    rows = data[data["model"].notna()]
    if rows.empty:
        return pd.DataFrame({"model": pd.Series(dtype=object), "provider": pd.Series(dtype=object)})
    latest = rows.sort_values(["started_at", "source", "line"], na_position="first")
    grouped = latest.groupby(KEYS, observed=True, sort=False)
    return pd.DataFrame(
        {
            "model": grouped["model"].last().astype(object),
            "provider": grouped["provider"].last().astype(object),
        }
    )


def _calls(data: pd.DataFrame) -> pd.DataFrame:
    """Retries folded into calls: attempts, failure after retries, retry after failure."""
    wf, step = _codes(data["workflow"]), _codes(data["step"])
    run = data["_run"].to_numpy()
    started = data["started_at"].to_numpy(dtype="datetime64[us]").astype("int64")
    position = np.lexsort(
        (data["line"].to_numpy(dtype="int64"), _codes(data["source"]), started, step, run, wf)
    )
    order = data.iloc[position]
    wf, run, step = wf[position], run[position], step[position]
    attempt = order["attempt"].to_numpy(dtype="int64", na_value=1)
    same_group = (wf == np.roll(wf, 1)) & (run == np.roll(run, 1)) & (step == np.roll(step, 1))
    if len(same_group):
        same_group[0] = False
    new_call = ~same_group | (attempt <= np.roll(attempt, 1)) | (attempt == 1)
    call = np.cumsum(new_call)
    frame = pd.DataFrame(
        {
            "workflow": order["workflow"].to_numpy(),
            "step": order["step"].to_numpy(),
            "call": call,
            "ok": order["_ok"].to_numpy(),
            "attempt": attempt,
        }
    )
    per_call = frame.groupby("call", sort=False).agg(
        workflow=("workflow", "first"),
        step=("step", "first"),
        attempts=("attempt", "size"),
        first_ok=("ok", "first"),
        last_ok=("ok", "last"),
    )
    per_call["failed"] = ~per_call["last_ok"]
    per_call["retried"] = per_call["attempts"] > 1
    per_call["first_failed"] = ~per_call["first_ok"]
    per_call["retried_after_failure"] = per_call["first_failed"] & per_call["retried"]
    grouped = per_call.groupby(["workflow", "step"], observed=True, sort=False)
    return pd.DataFrame(
        {
            "calls": grouped.size(),
            "calls_failed": grouped["failed"].sum(),
            "calls_retried": grouped["retried"].sum(),
            "calls_first_failed": grouped["first_failed"].sum(),
            "calls_retried_after_failure": grouped["retried_after_failure"].sum(),
        }
    )


def _outputs(data: pd.DataFrame) -> pd.DataFrame:
    """Output distribution of successful executions: majority, entropy, shape, soft failures.

    A soft failure is a successful execution whose output is an empty string where the
    step usually writes text, or whose shape (type, and keys of an object) is not the
    step's usual one. null, [] and {} are ordinary values ("nothing found").
    """
    ok = data[data["_ok"]]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for key, group in ok.groupby(KEYS, observed=True, sort=False):
        outputs = group["output"]
        n = len(outputs)
        counts = outputs.fillna("null").value_counts()
        probs = counts.to_numpy() / n
        entropy = float(-(probs * np.log2(probs)).sum())
        if len(counts) <= SHAPE_SAMPLE:
            sample, weights = counts.index, counts.to_numpy()
        else:
            sample = outputs.sample(SHAPE_SAMPLE, random_state=0).fillna("null")
            weights = np.ones(len(sample), dtype=int)
        shapes: Counter[str] = Counter()
        for text, weight in zip(sample, weights, strict=True):
            shape = _shape(text)
            if shape != "null":
                shapes[shape] += int(weight)
        total = sum(shapes.values())
        usual, usual_count = shapes.most_common(1)[0] if shapes else ("", 0)
        stability = usual_count / total if total else 1.0
        empty = int((outputs == '""').sum())
        non_null = int(outputs.notna().sum() - (outputs == "null").sum())
        mismatched = (1 - stability) * non_null
        rows[key] = {
            "distinct_outputs": len(counts),
            "majority_share": float(counts.iloc[0] / n) if n else 0.0,
            "entropy": entropy / math.log2(n) if n > 1 else 0.0,
            "structure_stability": stability,
            "usual_shape": usual,
            "empty_outputs": empty,
            "soft_failures": round(max(empty if usual == "string" else 0, mismatched)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _shape(text: str) -> str:
    """Type of a JSON value, with the sorted keys of an object: its 'schema' in short."""
    first = text[:1]
    if first == "{":
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return "object"
        return "object:" + ",".join(sorted(value))
    if first == "[":
        return "list"
    if first == '"':
        return "string"
    if text in ("true", "false"):
        return "boolean"
    if text == "null":
        return "null"
    return "number"


def _repeats(data: pd.DataFrame) -> pd.DataFrame:
    """Repeated identical inputs: how often they recur and whether outputs agree."""
    has_input = data[data["input"].notna()]
    ok = has_input[has_input["_ok"]]
    frame = pd.DataFrame(
        {
            "workflow": ok["workflow"].to_numpy(),
            "step": ok["step"].to_numpy(),
            "inp": _codes(ok["input"]),
            "out": _codes(ok["output"]),
        }
    )
    pair_counts = frame.groupby(["workflow", "step", "inp", "out"], observed=True).size()
    per_input = pair_counts.groupby(level=[0, 1, 2], observed=True).agg(["sum", "max", "size"])
    per_input.columns = ["n", "top", "variants"]
    repeated = per_input[per_input["n"] >= 2]
    by_step = per_input.groupby(level=[0, 1], observed=True)
    rep_by_step = repeated.groupby(level=[0, 1], observed=True)
    all_inputs = pd.DataFrame(
        {
            "workflow": has_input["workflow"].to_numpy(),
            "step": has_input["step"].to_numpy(),
            "inp": _codes(has_input["input"]),
        }
    )
    seen = all_inputs.groupby(["workflow", "step"], observed=True).agg(
        with_input=("inp", "size"), distinct_inputs=("inp", "nunique")
    )
    out = pd.DataFrame(
        {
            "distinct_ok_inputs": by_step.size(),
            "distinct_pairs": by_step["variants"].sum(),
            "repeated_inputs": rep_by_step.size(),
            "repeat_executions": rep_by_step["n"].sum(),
            "repeat_agreeing": rep_by_step["top"].sum(),
        }
    )
    out = seen.join(out, how="left").fillna(0)
    out["repeat_share"] = np.where(
        out["with_input"] > 0, (out["with_input"] - out["distinct_inputs"]) / out["with_input"], 0.0
    )
    out["repeat_agreement"] = np.where(
        out["repeat_executions"] > 0,
        out["repeat_agreeing"] / out["repeat_executions"].clip(lower=1),
        np.nan,
    )
    out["outputs_per_input"] = np.where(
        out["distinct_ok_inputs"] > 0,
        out["distinct_pairs"] / out["distinct_ok_inputs"].clip(lower=1),
        np.nan,
    )
    out = _named(out).join(_named(_repeat_similarity(ok)))
    return out


def _repeat_similarity(ok: pd.DataFrame) -> pd.DataFrame:
    """Near-match of text outputs on repeated inputs: mean word overlap (Jaccard) with the
    most common output, over at most 200 repeated inputs per step."""
    frame = pd.DataFrame(
        {
            "workflow": ok["workflow"].to_numpy(),
            "step": ok["step"].to_numpy(),
            "inp": _codes(ok["input"]),
            "pos": np.arange(len(ok)),
        }
    )
    sizes = frame.groupby(["workflow", "step", "inp"], observed=True).size()
    repeated = sizes[sizes >= 2]
    if repeated.empty:
        return pd.DataFrame({"repeat_similarity": pd.Series(dtype=float)})
    # The first 200 repeated inputs of each step (by input id: deterministic).
    chosen = repeated.groupby(level=[0, 1], observed=True).head(SIMILARITY_GROUPS)
    keys = frame.set_index(["workflow", "step", "inp"]).index
    picked = frame[keys.isin(chosen.index)]
    outputs = ok["output"].to_numpy(dtype=object, na_value="null")
    rows = {}
    for key, group in picked.groupby(["workflow", "step"], observed=True, sort=False):
        scores = []
        for _, members in group.groupby("inp", sort=False)["pos"]:
            texts = [str(outputs[i]) for i in members]
            mode = max(set(texts), key=texts.count)
            mode_words = set(mode.lower().split())
            for text in texts:
                words = set(text.lower().split())
                union = words | mode_words
                scores.append(len(words & mode_words) / len(union) if union else 1.0)
        rows[key] = {"repeat_similarity": float(np.mean(scores))}
    return pd.DataFrame.from_dict(rows, orient="index")
