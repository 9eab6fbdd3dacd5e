"""Per-step measures computed over the whole step table at once (vectorised).

Failure accounting groups retries into calls: a call starts at attempt 1 and
takes the following attempts of the same step in the same run; it fails when
its last attempt did. Determinism parts come from grouping executions by their
exact input (canonical JSON). Inputs and outputs are handled as integer codes
(one per distinct text), so the text columns are never copied.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from solidify.assess.schema import as_strings

KEYS = ["workflow", "step"]
SHAPE_SAMPLE = 2000
SIMILARITY_GROUPS = 200
NULL = "null"


@dataclass(frozen=True)
class Texts:
    """A text column as codes into its distinct values; missing values read as "null"."""

    codes: np.ndarray
    uniques: np.ndarray

    @classmethod
    def encode(cls, series: pd.Series) -> Texts:
        codes, uniques = pd.factorize(series, use_na_sentinel=False)
        values = np.asarray(uniques, dtype=object)
        values[pd.isna(values)] = NULL
        return cls(codes.astype(np.int64), values)

    def hashes(self) -> np.ndarray:
        """A stable 64-bit hash per row, computed once per distinct value."""
        return pd.util.hash_array(self.uniques)[self.codes]

    def text(self, positions: np.ndarray) -> np.ndarray:
        return self.uniques[self.codes[positions]]


def _codes(series: pd.Series) -> np.ndarray:
    return pd.factorize(series, use_na_sentinel=False)[0]


def step_metrics(
    table: pd.DataFrame, cost: pd.Series, inputs: Texts, outputs: Texts
) -> pd.DataFrame:
    """One row per (workflow, step): counts, cost, failures, latency, determinism parts."""
    rollup = table["rollup"].to_numpy(dtype=bool)
    data_keys = {"workflow": as_strings(table["workflow"]), "step": as_strings(table["step"])}
    cost_values = cost.to_numpy(dtype=float)
    data = pd.DataFrame(
        {
            # Plain strings as keys, so that every partial result joins on the same index.
            **data_keys,
            "kind": as_strings(table["kind"]),
            "model": as_strings(table["model"]),
            "provider": as_strings(table["provider"]),
            "run": _codes(table["run_id"]),
            "source": _codes(table["source"]),
            "line": table["line"].to_numpy(dtype="int64", na_value=0),
            "started": table["started_at"]
            .dt.tz_convert(None)
            .to_numpy(dtype="datetime64[us]")
            .astype("int64"),
            "attempt": table["attempt"].to_numpy(dtype="int64", na_value=1),
            "duration_ms": table["duration_ms"].to_numpy(dtype=float),
            "ok": (table["status"] == "ok").to_numpy(),
            "timeout": (table["status"] == "timeout").to_numpy(),
            "cost_known": ~np.isnan(cost_values) | rollup,
            "counted_cost": np.where(rollup, 0.0, cost_values),
            "rollup": rollup,
            "inp": inputs.codes,
            "out": outputs.codes,
            "has_input": table["input"].notna().to_numpy(),
            **{
                name: table[name].to_numpy(dtype=float, na_value=0.0)
                for name in (
                    "input_tokens",
                    "output_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                )
            },
        }
    )
    # Chronological order (file order breaks ties), which "latest" and retries rely on.
    data = data.iloc[
        np.lexsort((data["line"].to_numpy(), data["source"].to_numpy(), data["started"].to_numpy()))
    ].reset_index(drop=True)
    grouped = data.groupby(KEYS, sort=False)
    out = pd.DataFrame(
        {
            "executions": grouped.size(),
            "runs": grouped["run"].nunique(),
            "ok": grouped["ok"].sum(),
            "timeouts": grouped["timeout"].sum(),
            "cost_usd": grouped["counted_cost"].sum(min_count=0),
            "cost_known": grouped["cost_known"].sum(),
            "rollup_executions": grouped["rollup"].sum(),
            "input_tokens": grouped["input_tokens"].sum(),
            "output_tokens": grouped["output_tokens"].sum(),
            "cache_read_tokens": grouped["cache_read_tokens"].sum(),
            "cache_write_tokens": grouped["cache_write_tokens"].sum(),
            "p50_ms": grouped["duration_ms"].quantile(0.5),
            "p95_ms": grouped["duration_ms"].quantile(0.95),
            "kind": grouped["kind"].last(),
        }
    )
    out["cost_unknown_executions"] = out["executions"] - out["cost_known"]
    out = _named(out)
    for part in (_kinds, _models, _calls):
        out = out.join(_named(part(data)))
    out = out.join(_named(_outputs(data, outputs)))
    out = out.join(_named(_repeats(data)))
    out = out.join(_named(_repeat_similarity(data, outputs)))
    return out


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame.index) == 0:
        frame.index = pd.MultiIndex.from_arrays([[], []], names=KEYS)
    else:
        frame.index = pd.MultiIndex.from_tuples(list(frame.index), names=KEYS)
    return frame


def _kinds(data: pd.DataFrame) -> pd.DataFrame:
    """How many executions had each kind (the step's kind is its latest execution's)."""
    counts = data.groupby([*KEYS, "kind"], sort=False).size()
    kinds: dict[tuple[str, str], dict[str, int]] = {}
    for (workflow, step, kind), n in counts.items():
        kinds.setdefault((workflow, step), {})[str(kind)] = int(n)
    return pd.DataFrame({"kinds": pd.Series(kinds, dtype=object)})


def _models(data: pd.DataFrame) -> pd.DataFrame:
    rows = data[pd.notna(data["model"])]
    if rows.empty:
        return pd.DataFrame({"model": pd.Series(dtype=object), "provider": pd.Series(dtype=object)})
    grouped = rows.groupby(KEYS, sort=False)
    return pd.DataFrame({"model": grouped["model"].last(), "provider": grouped["provider"].last()})


@dataclass(frozen=True)
class Calls:
    """Retries folded into calls: a call starts at attempt 1 and takes the following
    attempts of the same step in the same run; it fails when its last attempt did."""

    first_row: np.ndarray  # position of each call's first attempt in the frame given
    attempts: np.ndarray
    first_ok: np.ndarray
    last_ok: np.ndarray


def fold_calls(
    workflow: np.ndarray,
    run: np.ndarray,
    step: np.ndarray,
    attempt: np.ndarray,
    ok: np.ndarray,
    order: tuple[np.ndarray, ...] = (),
) -> Calls:
    """Fold rows into calls. Keys are integer codes; `order` (least significant first, as
    numpy's lexsort takes them) puts attempts in time order within a step of a run."""
    position = np.lexsort((*(order or (np.arange(len(ok)),)), step, run, workflow))
    wf, rn, st = workflow[position], run[position], step[position]
    tries = attempt[position]
    same = (wf == np.roll(wf, 1)) & (rn == np.roll(rn, 1)) & (st == np.roll(st, 1))
    if len(same):
        same[0] = False
    new_call = ~same | (tries <= np.roll(tries, 1)) | (tries == 1)
    starts = np.flatnonzero(new_call)
    ends = np.append(starts[1:], len(position)) - 1
    ok_sorted = ok[position]
    return Calls(
        first_row=position[starts],
        attempts=ends - starts + 1,
        first_ok=ok_sorted[starts],
        last_ok=ok_sorted[ends],
    )


def _calls(data: pd.DataFrame) -> pd.DataFrame:
    """Per step: calls, calls failed after retries, retried, and retried after a failure."""
    calls = fold_calls(
        _codes(data["workflow"]), data["run"].to_numpy(), _codes(data["step"]),
        data["attempt"].to_numpy(), data["ok"].to_numpy(),
    )  # fmt: skip
    first_failed = ~calls.first_ok
    per_call = pd.DataFrame(
        {
            "workflow": data["workflow"].to_numpy()[calls.first_row],
            "step": data["step"].to_numpy()[calls.first_row],
            "failed": ~calls.last_ok,
            "retried": calls.attempts > 1,
            "first_failed": first_failed,
            "retried_after_failure": first_failed & (calls.attempts > 1),
        }
    )
    grouped = per_call.groupby(KEYS, sort=False)
    return pd.DataFrame(
        {
            "calls": grouped.size(),
            "calls_failed": grouped["failed"].sum(),
            "calls_retried": grouped["retried"].sum(),
            "calls_first_failed": grouped["first_failed"].sum(),
            "calls_retried_after_failure": grouped["retried_after_failure"].sum(),
        }
    )


def _outputs(data: pd.DataFrame, outputs: Texts) -> pd.DataFrame:
    """Output distribution of successful executions: majority, entropy, shape, soft failures.

    A soft failure is a successful execution whose output is an empty string where the
    step usually writes text, or whose shape (type, and keys of an object) is not the
    step's usual one. null, [] and {} are ordinary values ("nothing found").
    """
    ok = data[data["ok"]]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for key, codes in ok.groupby(KEYS, sort=False)["out"]:
        n = len(codes)
        counts = codes.value_counts()
        probs = counts.to_numpy() / n
        entropy = float(-(probs * np.log2(probs)).sum())
        # Shapes of the most frequent distinct outputs, weighted by how often each occurs.
        top = counts.iloc[:SHAPE_SAMPLE]
        texts = outputs.uniques[top.index.to_numpy()]
        shapes: Counter[str] = Counter()
        for text, weight in zip(texts, top.to_numpy(), strict=True):
            shape = _shape(text)
            if shape != "null":
                shapes[shape] += int(weight)
        total = sum(shapes.values())
        usual, usual_count = shapes.most_common(1)[0] if shapes else ("", 0)
        stability = usual_count / total if total else 1.0
        text_counts = dict(zip(texts, top.to_numpy(), strict=True))
        empty = int(text_counts.get('""', 0))
        non_null = n - int(text_counts.get(NULL, 0))
        rows[key] = {
            "distinct_outputs": len(counts),
            "majority_share": float(counts.iloc[0] / n) if n else 0.0,
            "entropy": entropy / math.log2(n) if n > 1 else 0.0,
            "structure_stability": stability,
            "usual_shape": usual,
            "empty_outputs": empty,
            "soft_failures": round(max(empty if usual == "string" else 0,
                                       (1 - stability) * non_null)),
        }  # fmt: skip
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
    if text == NULL:
        return "null"
    return "number"


def _repeats(data: pd.DataFrame) -> pd.DataFrame:
    """Repeated identical inputs: how often they recur and whether outputs agree."""
    has_input = data[data["has_input"]]
    ok = has_input[has_input["ok"]]
    pair_counts = ok.groupby([*KEYS, "inp", "out"], sort=False).size()
    per_input = pair_counts.groupby(level=[0, 1, 2], sort=False).agg(["sum", "max", "size"])
    per_input.columns = ["n", "top", "variants"]
    repeated = per_input[per_input["n"] >= 2]
    by_step = per_input.groupby(level=[0, 1], sort=False)
    rep_by_step = repeated.groupby(level=[0, 1], sort=False)
    seen = has_input.groupby(KEYS, sort=False).agg(
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
    out = _named(seen).join(_named(out), how="left").fillna(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["repeat_share"] = np.where(
            out["with_input"] > 0,
            (out["with_input"] - out["distinct_inputs"]) / out["with_input"],
            0.0,
        )
        out["repeat_agreement"] = np.where(
            out["repeat_executions"] > 0, out["repeat_agreeing"] / out["repeat_executions"], np.nan
        )
        out["outputs_per_input"] = np.where(
            out["distinct_ok_inputs"] > 0, out["distinct_pairs"] / out["distinct_ok_inputs"], np.nan
        )
    return out


def _repeat_similarity(data: pd.DataFrame, outputs: Texts) -> pd.DataFrame:
    """Near-match of text outputs on repeated inputs: mean word overlap (Jaccard) with the
    most common output, over at most 200 repeated inputs per step."""
    ok = data[data["ok"] & data["has_input"]]
    sizes = ok.groupby([*KEYS, "inp"], sort=True).size()
    repeated = sizes[sizes >= 2]
    if repeated.empty:
        return pd.DataFrame({"repeat_similarity": pd.Series(dtype=float)})
    chosen = repeated.groupby(level=[0, 1], sort=False).head(SIMILARITY_GROUPS)
    picked = ok[pd.MultiIndex.from_frame(ok[[*KEYS, "inp"]]).isin(chosen.index)]
    rows = {}
    for key, group in picked.groupby(KEYS, sort=False):
        scores = []
        for _, codes in group.groupby("inp", sort=False)["out"]:
            texts = [str(t) for t in outputs.uniques[codes.to_numpy()]]
            mode = max(set(texts), key=texts.count)
            mode_words = set(mode.lower().split())
            for text in texts:
                words = set(text.lower().split())
                union = words | mode_words
                scores.append(len(words & mode_words) / len(union) if union else 1.0)
        rows[key] = {"repeat_similarity": float(np.mean(scores))}
    return pd.DataFrame.from_dict(rows, orient="index")
