"""Per-step measures computed over the whole step table at once (vectorised).

Failure accounting groups retries into calls: a call starts at attempt 1 and
takes the following attempts of the same step in the same run; it fails when
its last attempt did. Determinism parts come from grouping executions by their
exact input (canonical JSON). Inputs and outputs are handled as integer codes
(one per distinct text), so the text columns are never copied.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from solidify.assess.schema import as_strings
from solidify.assess.shapes import NULL, shape_facts

KEYS = ["workflow", "step"]
SHAPE_SAMPLE = 2000
SIMILARITY_GROUPS = 200


class Texts:
    """A text column as codes into its distinct values; missing values read as "null".

    The distinct values are held as an Arrow array when they come from hashes taken
    while reading, and become Python strings only where asked for (`uniques`, `of`):
    the searches need all of them, the measures only a few.
    """

    def __init__(
        self,
        codes: np.ndarray,
        uniques: np.ndarray | None = None,
        *,
        arrow: pa.Array | None = None,
        check: Callable[[], bool] | None = None,
    ) -> None:
        self.codes = codes
        self._uniques = uniques
        self._arrow = arrow
        self._check = check
        self.size = len(uniques) if uniques is not None else len(arrow)

    @classmethod
    def encode(cls, series: pd.Series) -> Texts:
        codes, uniques = pd.factorize(series, use_na_sentinel=False)
        values = np.asarray(uniques, dtype=object)
        values[pd.isna(values)] = NULL
        return cls(codes.astype(np.int64), values)

    @classmethod
    def of(cls, table: pd.DataFrame, column: str) -> Texts:
        """`input` or `output` as codes: from the hashes reading left beside the table,
        else by encoding the texts. Codes from hashes must be confirmed with `exact()`
        (two texts could share a hash); it is left for later so that it can run beside
        other work."""
        hashes = table.get(f"{column}_hash")
        if hashes is None or len(table) == 0:
            return cls.encode(table[column])
        codes, _ = pd.factorize(hashes.to_numpy(dtype=np.uint64))
        codes = codes.astype(np.int64)
        # Codes are numbered in order of first appearance: a row opens a new code where
        # the running maximum grows.
        first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
        texts = pa.array(table[column].array, type=pa.string())
        firsts = texts.take(pa.array(first))

        def check() -> bool:
            again = firsts.take(pa.array(codes))
            return bool(
                pc.all(pc.equal(pc.fill_null(texts, NULL), pc.fill_null(again, NULL))).as_py()
            )

        return cls(codes, arrow=firsts, check=check)

    def exact(self) -> bool:
        """Whether every text is its code's text (always, unless two texts share a hash)."""
        return self._check() if self._check is not None else True

    @functools.cached_property
    def uniques(self) -> np.ndarray:
        if self._uniques is not None:
            return self._uniques
        values = np.asarray(self._arrow.to_numpy(zero_copy_only=False), dtype=object)
        values[pd.isna(values)] = NULL
        return values

    def of_codes(self, codes: np.ndarray) -> np.ndarray:
        """The texts of some codes, without making Python strings of all of them."""
        if self._uniques is not None or "uniques" in self.__dict__:
            return self.uniques[codes]
        values = np.asarray(
            self._arrow.take(pa.array(codes, type=pa.int64())).to_numpy(zero_copy_only=False),
            dtype=object,
        )
        values[pd.isna(values)] = NULL
        return values

    def hashes(self) -> np.ndarray:
        """A stable 64-bit hash per row, computed once per distinct value."""
        # categorize=False: the same hashes, ten times faster on mostly distinct texts.
        return pd.util.hash_array(self.uniques, categorize=False)[self.codes]

    def row_hashes(self, positions: np.ndarray) -> np.ndarray:
        """The same hashes as `hashes()`, for some rows only."""
        return pd.util.hash_array(self.uniques[self.codes[positions]], categorize=False)

    def text(self, positions: np.ndarray) -> np.ndarray:
        return self.uniques[self.codes[positions]]


def codes_of(column: pd.Series) -> np.ndarray:
    """One integer per distinct value of a column (missing values get one too)."""
    return pd.factorize(column, use_na_sentinel=False)[0].astype(np.int64)


def positions_by_code(codes: np.ndarray) -> dict[int, np.ndarray]:
    """The rows of each code, in row order: one stable sort instead of a mask per code."""
    if len(codes) == 0:
        return {}
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    return dict(zip(ordered[np.r_[0, cuts]].tolist(), np.split(order, cuts), strict=True))


def step_metrics(
    table: pd.DataFrame, cost: pd.Series, inputs: Texts, outputs: Texts
) -> pd.DataFrame:
    """One row per (workflow, step), in order of first execution: counts, cost,
    failures, latency and determinism parts."""
    rows = _Rows.of(table, cost, inputs, outputs)
    if rows.n == 0:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=KEYS))
    columns: dict[str, np.ndarray] = {}
    for part in (_counts, _calls, _outputs, _repeats, _repeat_similarity):
        columns.update(part(rows))
    return pd.DataFrame(
        columns, index=pd.MultiIndex.from_arrays([rows.workflows, rows.steps], names=KEYS)
    )


@dataclass(frozen=True)
class _Rows:
    """The step table as integer codes, in chronological order (file order breaks ties),
    which "latest" and retries rely on. `key` numbers the (workflow, step) pairs in order
    of their first execution."""

    n: int
    key: np.ndarray
    workflows: np.ndarray  # name of each key
    steps: np.ndarray
    workflow: np.ndarray  # codes, per row
    step: np.ndarray
    run: np.ndarray
    kind: np.ndarray  # strings, per row
    model: np.ndarray
    provider: np.ndarray
    attempt: np.ndarray
    duration_ms: np.ndarray
    ok: np.ndarray
    timeout: np.ndarray
    rollup: np.ndarray
    cost: np.ndarray
    tokens: dict[str, np.ndarray]
    inp: np.ndarray
    out: np.ndarray
    has_input: np.ndarray
    outputs: Texts

    @property
    def keys(self) -> int:
        return len(self.workflows)

    @classmethod
    def of(cls, table: pd.DataFrame, cost: pd.Series, inputs: Texts, outputs: Texts) -> _Rows:
        started = (
            table["started_at"].dt.tz_convert(None).to_numpy(dtype="datetime64[us]").astype("int64")
        )
        line = table["line"].to_numpy(dtype="int64", na_value=0)
        order = np.lexsort((line, codes_of(table["source"]), started))
        workflow, workflow_names = _in_order(table["workflow"], order)
        step, step_names = _in_order(table["step"], order)
        key, pairs = pd.factorize(workflow.astype(np.int64) * len(step_names) + step)
        status = table["status"]
        return cls(
            n=len(order),
            key=key,
            workflows=np.asarray(workflow_names, dtype=object)[pairs // len(step_names)],
            steps=np.asarray(step_names, dtype=object)[pairs % len(step_names)],
            workflow=workflow,
            step=step,
            run=codes_of(table["run_id"])[order],
            kind=as_strings(table["kind"])[order],
            model=as_strings(table["model"])[order],
            provider=as_strings(table["provider"])[order],
            attempt=table["attempt"].to_numpy(dtype="int64", na_value=1)[order],
            duration_ms=table["duration_ms"].to_numpy(dtype=float)[order],
            ok=(status == "ok").to_numpy(dtype=bool)[order],
            timeout=(status == "timeout").to_numpy(dtype=bool)[order],
            rollup=table["rollup"].to_numpy(dtype=bool)[order],
            cost=cost.to_numpy(dtype=float)[order],
            tokens={
                name: table[name].to_numpy(dtype=float, na_value=0.0)[order] for name in TOKENS
            },
            inp=inputs.codes[order],
            out=outputs.codes[order],
            has_input=table["input"].notna().to_numpy()[order],
            outputs=outputs,
        )

    def count(self, mask: np.ndarray | None = None, weights: np.ndarray | None = None):
        key = self.key if mask is None else self.key[mask]
        if weights is not None and mask is not None:
            weights = weights[mask]
        return np.bincount(key, weights=weights, minlength=self.keys)

    def distinct(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Number of distinct values per key."""
        key, values = (self.key, values) if mask is None else (self.key[mask], values[mask])
        width = int(values.max(initial=0)) + 1
        pairs = pd.unique(key.astype(np.int64) * width + values)
        return np.bincount(pairs // width, minlength=self.keys)

    def last(self, values: np.ndarray, present: np.ndarray) -> np.ndarray:
        """The latest present value per key (None where there is none)."""
        out = np.full(self.keys, None, dtype=object)
        at = np.flatnonzero(present)
        latest = np.full(self.keys, -1)
        latest[self.key[at]] = at  # later rows overwrite earlier ones
        found = latest >= 0
        out[found] = values[latest[found]]
        return out


def _in_order(column: pd.Series, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a column's values numbered in the given order of rows, and the values."""
    codes, values = pd.factorize(column)  # the category codes, for categories
    again, firsts = pd.factorize(codes[order])
    return again, np.asarray(values, dtype=object)[firsts]


TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _counts(rows: _Rows) -> dict[str, np.ndarray]:
    executions = rows.count()
    cost_known = rows.count(weights=(~np.isnan(rows.cost) | rows.rollup).astype(float))
    counted = np.where(rows.rollup | np.isnan(rows.cost), 0.0, rows.cost)
    kinds: list[dict[str, int]] = [{} for _ in range(rows.keys)]
    kind, names = pd.factorize(rows.kind)
    pairs, counts = np.unique(rows.key.astype(np.int64) * len(names) + kind, return_counts=True)
    for pair, n in zip(pairs.tolist(), counts.tolist(), strict=True):
        kinds[pair // len(names)][str(names[pair % len(names)])] = n
    has_model = pd.notna(rows.model)
    p50, p95 = _quantiles(rows.key, rows.duration_ms, rows.keys, (0.5, 0.95))
    return {
        "executions": executions,
        "runs": rows.distinct(rows.run),
        "ok": rows.count(weights=rows.ok.astype(float)).astype(np.int64),
        "timeouts": rows.count(weights=rows.timeout.astype(float)).astype(np.int64),
        "cost_usd": rows.count(weights=counted),
        "cost_known": cost_known.astype(np.int64),
        "rollup_executions": rows.count(weights=rows.rollup.astype(float)).astype(np.int64),
        **{name: rows.count(weights=rows.tokens[name]) for name in TOKENS},
        "p50_ms": p50,
        "p95_ms": p95,
        "kind": rows.last(rows.kind, pd.notna(rows.kind)),
        "cost_unknown_executions": executions - cost_known.astype(np.int64),
        "kinds": _objects(kinds),
        "model": rows.last(rows.model, has_model),
        "provider": rows.last(rows.provider, has_model & pd.notna(rows.provider)),
    }


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _quantiles(key: np.ndarray, values: np.ndarray, keys: int, qs: tuple[float, ...]):
    """Per-key quantiles with linear interpolation (as pandas), NaN values left out.
    Each key's values are only partitioned around the positions wanted, not sorted."""
    present = ~np.isnan(values)
    key, values = key[present], values[present]
    order = np.argsort(key, kind="stable")
    values = values[order]
    sizes = np.bincount(key, minlength=keys)
    ends = np.cumsum(sizes)
    out = [np.full(keys, np.nan) for _ in qs]
    for k in np.flatnonzero(sizes):
        group = values[ends[k] - sizes[k] : ends[k]]
        positions = [q * (len(group) - 1) for q in qs]
        around = sorted({math.floor(x) for x in positions} | {math.ceil(x) for x in positions})
        ordered = np.partition(group, around)
        for result, position in zip(out, positions, strict=True):
            low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
            result[k] = low + (high - low) * (position - math.floor(position))
    return out


def _missing(keys: int) -> np.ndarray:
    return np.full(keys, np.nan)


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


def _calls(rows: _Rows) -> dict[str, np.ndarray]:
    """Per step: calls, calls failed after retries, retried, and retried after a failure."""
    calls = fold_calls(rows.workflow, rows.run, rows.step, rows.attempt, rows.ok)
    key = rows.key[calls.first_row]
    first_failed = ~calls.first_ok
    retried = calls.attempts > 1

    def per_key(flags: np.ndarray) -> np.ndarray:
        return np.bincount(key, weights=flags.astype(float), minlength=rows.keys).astype(np.int64)

    return {
        "calls": np.bincount(key, minlength=rows.keys),
        "calls_failed": per_key(~calls.last_ok),
        "calls_retried": per_key(retried),
        "calls_first_failed": per_key(first_failed),
        "calls_retried_after_failure": per_key(first_failed & retried),
    }


def _outputs(rows: _Rows) -> dict[str, np.ndarray]:
    """Output distribution of successful executions: majority, entropy, shape, soft failures.

    A soft failure is a successful execution whose output is an empty string where the
    step usually writes text, or whose shape (type, and keys of an object) is not the
    step's usual one. null, [] and {} are ordinary values ("nothing found").
    """
    names = ("distinct_outputs", "majority_share", "entropy", "structure_stability",
             "empty_outputs", "soft_failures")  # fmt: skip
    out = {name: _missing(rows.keys) for name in names}
    out["usual_shape"] = np.full(rows.keys, None, dtype=object)
    width = rows.outputs.size
    pairs, counts = np.unique(
        rows.key[rows.ok].astype(np.int64) * width + rows.out[rows.ok], return_counts=True
    )
    owner = pairs // width
    bounds = np.flatnonzero(np.diff(owner)) + 1
    for segment, codes, n_codes in zip(
        np.split(owner, bounds),
        np.split(pairs % width, bounds),
        np.split(counts, bounds),
        strict=True,
    ):
        k = int(segment[0])
        # Most frequent first; first-logged first among equals.
        rank = np.lexsort((codes, -n_codes))
        codes, n_codes = codes[rank], n_codes[rank]
        n = int(n_codes.sum())
        probs = n_codes / n
        entropy = float(-(probs * np.log2(probs)).sum())
        # Shapes of the most frequent distinct outputs, weighted by how often each occurs.
        texts = rows.outputs.of_codes(codes[:SHAPE_SAMPLE])
        weights = n_codes[:SHAPE_SAMPLE].tolist()
        usual, stability, empty, soft = shape_facts(texts, weights, n)
        out["distinct_outputs"][k] = len(codes)
        out["majority_share"][k] = n_codes[0] / n
        out["entropy"][k] = entropy / math.log2(n) if n > 1 else 0.0
        out["structure_stability"][k] = stability
        out["usual_shape"][k] = usual
        out["empty_outputs"][k] = empty
        out["soft_failures"][k] = soft
    return out


def _repeats(rows: _Rows) -> dict[str, np.ndarray]:
    """Repeated identical inputs: how often they recur and whether outputs agree."""
    with_input = rows.count(rows.has_input)
    seen = with_input > 0
    distinct_inputs = rows.distinct(rows.inp, rows.has_input)
    use = rows.has_input & rows.ok
    # Each (step, input) of a successful execution, then each (step, input, output).
    step_input, per = pd.factorize(
        rows.key[use].astype(np.int64) * (len(rows.inp) + 1) + rows.inp[use]
    )
    owner = (per // (len(rows.inp) + 1)).astype(np.int64)
    width = rows.outputs.size
    triples, counts = np.unique(step_input.astype(np.int64) * width + rows.out[use],
                                return_counts=True)  # fmt: skip
    group = triples // width
    n = np.bincount(group, weights=counts, minlength=len(per))
    top = np.zeros(len(per))
    np.maximum.at(top, group, counts)
    variants = np.bincount(group, minlength=len(per))
    repeated = n >= 2

    def per_key(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        who = owner if mask is None else owner[mask]
        values = values if mask is None else values[mask]
        return np.bincount(who, weights=values, minlength=rows.keys)

    distinct_ok = np.bincount(owner, minlength=rows.keys).astype(float)
    pairs = per_key(variants.astype(float))
    repeat_executions = per_key(n, repeated)
    repeat_agreeing = per_key(top, repeated)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "with_input": with_input,
            "distinct_inputs": distinct_inputs.astype(float),
            "distinct_ok_inputs": distinct_ok,
            "distinct_pairs": pairs,
            "repeated_inputs": per_key(np.ones(len(per)), repeated),
            "repeat_executions": repeat_executions,
            "repeat_agreeing": repeat_agreeing,
            "repeat_share": np.where(
                with_input > 0, (with_input - distinct_inputs) / with_input, 0.0
            ),
            "repeat_agreement": np.where(
                repeat_executions > 0, repeat_agreeing / repeat_executions, np.nan
            ),
            "outputs_per_input": np.where(distinct_ok > 0, pairs / distinct_ok, np.nan),
        }
    # Steps never logged with an input have no evidence either way.
    return {name: np.where(seen, values, np.nan) for name, values in out.items()}


def _repeat_similarity(rows: _Rows) -> dict[str, np.ndarray]:
    """Near-match of text outputs on repeated inputs: mean word overlap (Jaccard) with the
    input's most common output (the earliest logged among equally common ones), over at
    most 200 repeated inputs per step (the first logged). Computed once per distinct
    output of an input, weighted by how often it was given."""
    similarity = _missing(rows.keys)
    use = np.flatnonzero(rows.ok & rows.has_input)
    width = len(rows.inp) + 1  # more than any input code
    step_input = rows.key[use].astype(np.int64) * width + rows.inp[use]
    values, sizes = np.unique(step_input, return_counts=True)
    repeated = values[sizes >= 2]
    if len(repeated) == 0:
        return {"repeat_similarity": similarity}
    owner = repeated // width
    # The first SIMILARITY_GROUPS repeated inputs of each step, by input code.
    rank = np.arange(len(repeated)) - np.searchsorted(owner, owner)
    chosen = repeated[rank < SIMILARITY_GROUPS]
    picked = np.isin(step_input, chosen)
    group, at = np.unique(step_input[picked], return_inverse=True)
    outputs = rows.out[use][picked]
    n_out = rows.outputs.size
    pairs, counts = np.unique(at.astype(np.int64) * n_out + outputs, return_counts=True)
    pair_group, pair_out = pairs // n_out, pairs % n_out
    total = np.zeros(rows.keys)
    weight = np.zeros(rows.keys)
    bounds = np.flatnonzero(np.diff(pair_group)) + 1
    texts_of_pairs = rows.outputs.of_codes(pair_out)  # one fetch for all of them
    for members, texts, n in zip(
        np.split(np.arange(len(pairs)), bounds), np.split(texts_of_pairs, bounds),
        np.split(counts, bounds), strict=True,
    ):  # fmt: skip
        # The first of the most common is the earliest logged (codes follow the log).
        mode_words = set(str(texts[int(np.argmax(n))]).lower().split())
        k = int(group[pair_group[members[0]]] // width)
        for text, times in zip(texts, n.tolist(), strict=True):
            words = set(str(text).lower().split())
            union = words | mode_words
            total[k] += times * (len(words & mode_words) / len(union) if union else 1.0)
            weight[k] += times
    has = weight > 0
    similarity[has] = total[has] / weight[has]
    return {"repeat_similarity": similarity}
