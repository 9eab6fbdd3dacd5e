"""The held-out protocol around the search: sample, split, fit, measure.

1. Examples are the step's successful executions, as (input, output) JSON text.
2. At most `max_examples` executions are kept, chosen by a hash (the same log
   always gives the same sample, whatever order it was written in).
3. Each kept execution falls on the held-out side by another hash (30 %).
4. The search sees only the training part; coverage is measured on the held-out
   part. Only a lookup table memorises, and it is credited only for keys it saw:
   in training, keys seen twice or more; held out, keys seen in training.
5. Held-out trials are distinct inputs: repeats of an input collapse to one trial, and
   an input logged with different outputs is a miss whatever the program says.
6. The evidence is read against the trivial answer: the training's most common output
   (the baseline), per label for label-valued outputs, and whether the step ever said
   anything else (a constant is only a replacement for a step that always says it).
7. When no program reproduces the step, a route is looked for: code for the part of the
   inputs it is sure of, the model for the rest (solidify.assess.synthesis.route).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from solidify.assess.shapes import NULL
from solidify.assess.synthesis.program import Const, Node, apply, describe, size, strategy, to_dict
from solidify.assess.synthesis.reuse import Kept, input_shape, matching
from solidify.assess.synthesis.route import RouteResult, find_and_measure
from solidify.assess.synthesis.search import (
    MAX_LABELS,
    Best,
    Deadline,
    count_correct,
    expectations,
    output_key,
    solve,
)

MAX_EXAMPLES = 1000
TIME_LIMIT = 2.0
HELDOUT_SHARE = 0.3
MIN_TRAIN = 6
MIN_HELDOUT = 3
COUNTEREXAMPLES = 3
ROUTE_BELOW = 0.99  # a route is looked for when the program reproduces less than this


@dataclass
class Synthesis:
    """What synthesis found for one step, with its evidence."""

    program: Node | None
    train_coverage: float = 0.0
    heldout_coverage: float = 0.0
    train_examples: int = 0
    heldout_examples: int = 0
    confidence: float = 0.0
    seconds: float = 0.0
    counterexamples: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    # Held-out executions before repeats of an input collapse into one trial.
    heldout_executions: int = 0
    disagreeing_inputs: int = 0  # held-out inputs logged with different outputs
    misses: int = 0  # distinct held-out inputs the program does not reproduce
    baseline_coverage: float = 0.0  # the training's most common output, on held-out inputs
    baseline_output: Any = None
    always_same: bool = False  # every sampled execution gave the same output
    # For label-valued outputs: label -> (held-out support, share of it reproduced).
    label_recall: dict[str, tuple[int, float]] = field(default_factory=dict)
    route: RouteResult | None = None
    # The step's failed executions, next to the program: what the model failed on and
    # whether the program answers those inputs.
    failures: dict[str, Any] | None = None
    input_shape: str | None = None  # the type and keys of the inputs searched on
    reused: bool = False  # the program was kept from an earlier assessment and still holds
    found_at: str | None = None  # when a reused program was found

    @property
    def constant(self) -> bool:
        return isinstance(self.program, Const)

    @property
    def lift(self) -> float:
        """Share of the baseline's held-out misses that the program gets right."""
        if self.baseline_coverage >= 1:
            return 0.0
        gained = self.heldout_coverage - self.baseline_coverage
        return gained / (1 - self.baseline_coverage)

    @property
    def strategy(self) -> str | None:
        return strategy(self.program) if self.program is not None else None

    @property
    def description(self) -> str:
        return describe(self.program) if self.program is not None else self.note

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "description": self.description,
            "train_coverage": round(self.train_coverage, 4),
            "coverage": round(self.heldout_coverage, 4),
            "train_examples": self.train_examples,
            "heldout_examples": self.heldout_examples,
            "confidence": round(self.confidence, 4),
            "seconds": round(self.seconds, 3),
            "counterexamples": self.counterexamples,
            "program": to_dict(self.program) if self.program is not None else None,
            "note": self.note,
            "heldout_executions": self.heldout_executions,
            "disagreeing_inputs": self.disagreeing_inputs,
            "misses": self.misses,
            "baseline_coverage": round(self.baseline_coverage, 4),
            "lift": round(self.lift, 4),
            "always_same": self.always_same,
            "label_recall": {
                label: {"support": n, "recall": round(r, 4)}
                for label, (n, r) in self.label_recall.items()
            },
            "route": self.route.to_dict() if self.route is not None else None,
            "failures": self.failures,
            "input_shape": self.input_shape,
            "reused": self.reused,
            "found_at": self.found_at,
        }

    def keepable(self) -> list[Kept]:
        """What the history keeps of this result for the next assessment: the program,
        when it reproduces enough to be reused (found_at None: found now)."""
        if self.program is None or self.input_shape is None:
            return []
        kept = Kept(self.program, self.input_shape, self.train_coverage, self.heldout_coverage,
                    self.found_at if self.reused else None)  # fmt: skip
        return [kept] if kept.holds(self.train_coverage, self.heldout_coverage) else []


def wilson_lower(successes: int, total: int, z: float = 1.96) -> float:
    """Lower bound of the 95 % interval of a share: the confidence we report."""
    if total == 0:
        return 0.0
    p = successes / total
    denom = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / denom)


_PAIR = 0x9E3779B97F4A7C15
_NTH = 0xC2B2AE3D27D4EB4F
_SIDE = 0x5BD1E9955BD1E995


def text_hashes(values) -> np.ndarray:
    """The same hashes `assess` samples with (sampling.SearchPlan), so that `migrate` and
    `verify` hold out exactly the examples the assessment held out (a missing text is
    hashed as `null`, as the engine reads it)."""
    texts = np.asarray([NULL if v is None else v for v in values], dtype=object)
    return pd.util.hash_array(texts, categorize=False)


def sample_indices(
    input_hash: np.ndarray,
    output_hash: np.ndarray,
    *,
    max_examples: int = MAX_EXAMPLES,
    heldout_share: float = HELDOUT_SHARE,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the sampled training and held-out executions.

    Executions are ranked by a hash of their content (so the same log gives the same
    sample in any order); the n-th repeat of a pair gets its own hash, so repeats are
    sampled like any execution. Repeated executions stay repeated: a table earns held-out
    credit only for keys it saw in training, which is the point of a table; a one-off
    input never does.
    """
    if len(input_hash) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty
    with np.errstate(over="ignore"):
        pair = input_hash ^ (output_hash * np.uint64(_PAIR))
        nth = pd.Series(pair).groupby(pair, sort=False).cumcount().to_numpy(dtype=np.uint64)
        key = pd.util.hash_array(pair ^ (nth * np.uint64(_NTH)))
        chosen = np.argsort(key, kind="stable")[:max_examples]
        # A second, independent hash decides the side, so sampling does not bias it.
        side = pd.util.hash_array(key[chosen] ^ np.uint64(_SIDE))
    cut = np.uint64(int(heldout_share * (2**64 - 1)))
    return chosen[side >= cut], chosen[side < cut]


def split(
    pairs: Iterable[tuple[str, str]],
    *,
    max_examples: int = MAX_EXAMPLES,
    heldout_share: float = HELDOUT_SHARE,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Sample (input, output) JSON text pairs and split them: (train, held_out)."""
    rows = list(pairs)
    if not rows:
        return [], []
    inputs = [i for i, _ in rows]
    outputs = [o for _, o in rows]
    train, held = sample_indices(
        text_hashes(inputs),
        text_hashes(outputs),
        max_examples=max_examples,
        heldout_share=heldout_share,
    )
    return [rows[i] for i in train], [rows[i] for i in held]


def synthesize(
    pairs: Iterable[tuple[str, str]],
    *,
    max_examples: int = MAX_EXAMPLES,
    time_limit: float = TIME_LIMIT,
    heldout_share: float = HELDOUT_SHARE,
) -> Synthesis:
    """Find the simplest program mapping logged inputs to outputs; measure it on held-out ones.

    `pairs` are (input, output) as canonical JSON text, the step table's form.
    """
    started = time.perf_counter()
    train_text, held_text = split(pairs, max_examples=max_examples, heldout_share=heldout_share)
    return fit_and_measure(train_text, held_text, time_limit=time_limit, started=started)


def fit_and_measure(
    train_text: list[tuple[str, str]],
    held_text: list[tuple[str, str]],
    *,
    time_limit: float = TIME_LIMIT,
    started: float | None = None,
    failed: Sequence[tuple[str, str | None]] = (),
    routes: bool = True,
    known: Sequence[Kept] = (),
) -> Synthesis:
    """Search on the training pairs, measure on the held-out pairs (JSON text). `failed`
    are the inputs (JSON text) and error messages of the step's failed executions;
    `known`, programs found earlier for the step, tried first (synthesis/reuse.py)."""
    started = time.perf_counter() if started is None else started
    result = Synthesis(
        program=None, train_examples=len(train_text), heldout_examples=len(held_text)
    )
    held = distinct_trials(held_text)
    result.heldout_examples = len(held)
    result.heldout_executions = len(held_text)
    result.disagreeing_inputs = sum(1 for _, outs in held if len(outs) > 1)
    if len(train_text) < MIN_TRAIN or len(held) < MIN_HELDOUT:
        result.note = "; ".join(
            [
                f"too few distinct examples ({len(train_text)} to learn from, "
                f"{len(held)} distinct inputs held out)",
                *_varying(train_text),
            ]
        )
        return result
    train = [(orjson.loads(i), orjson.loads(o)) for i, o in train_text]
    xs = [x for x, _ in train]
    ys = [y for _, y in train]
    deadline = Deadline(time_limit)
    result.input_shape = input_shape(xs)
    best = _reused(result, matching(known, result.input_shape), xs, ys, held)
    if best is None:
        best = solve(xs, ys, deadline)
    _baseline(result, ys, held, {o for _, o in train_text} | {o for _, o in held_text})
    result.seconds = time.perf_counter() - started
    if best.node is None:
        result.note = "no program in the search space fits"
        return result
    result.program = best.node
    result.train_coverage = best.correct / len(train)
    hits = 0
    support: dict[str, int] = defaultdict(int)
    reproduced: dict[str, int] = defaultdict(int)
    labels = _labels(ys)
    for x, outs in held:
        y = outs[0]
        right, ok, got = _reproduces(best.node, x, outs)
        if labels is not None:
            label = _label_name(y)
            support[label] += 1
            reproduced[label] += right
        if right:
            hits += 1
        elif len(result.counterexamples) < COUNTEREXAMPLES:
            result.counterexamples.append(
                {"input": x, "expected": y, "got": got if ok else None, "applies": ok}
            )
    n = len(held)
    result.heldout_coverage = hits / n
    result.misses = n - hits
    result.confidence = wilson_lower(hits, n)
    result.label_recall = {
        label: (count, reproduced[label] / count) for label, count in sorted(support.items())
    }
    if failed:
        result.failures = failures(best.node, failed)
    if routes and result.heldout_coverage < ROUTE_BELOW and not deadline.passed():
        result.route = find_and_measure(xs, ys, held, deadline)
    result.note = _note(result, train_text)
    result.seconds = time.perf_counter() - started
    return result


def _reproduces(node: Node, x: Any, outs: list[Any]) -> tuple[bool, bool, Any]:
    """(right, applies, output) of a program on one held-out trial."""
    ok, got = apply(node, x)
    # An input logged with different outputs is a miss: no program can be right on it.
    return len(outs) == 1 and ok and output_key(got) == output_key(outs[0]), ok, got


def _reused(
    result: Synthesis, known: Sequence[Kept], xs: list[Any], ys: list[Any], held
) -> Best | None:
    """The first kept program that still holds on this sample, as the search's answer."""
    if not known:
        return None
    expected = expectations(ys, [output_key(y) for y in ys])
    for kept in known:
        correct = count_correct(kept.program, xs, expected)
        hits = sum(_reproduces(kept.program, x, outs)[0] for x, outs in held)
        if kept.holds(correct / len(xs), hits / len(held)):
            result.reused, result.found_at = True, kept.found_at
            return Best(kept.program, correct, size(kept.program))
    return None


def failures(program: Node, failed: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    """What the model failed on, and whether the program answers those inputs."""
    answered = 0
    examples = []
    inputs = {}
    for text, error in failed:
        inputs.setdefault(text, error)
    for text, error in inputs.items():
        x = orjson.loads(text)
        ok, got = apply(program, x)
        answered += ok
        if len(examples) < COUNTEREXAMPLES:
            examples.append({"input": x, "error": error, "program": got, "answers": ok})
    return {
        "executions": len(failed),
        "inputs": len(inputs),
        "program_answers": answered,
        "examples": examples,
    }


def distinct_trials(held_text: list[tuple[str, str]]) -> list[tuple[Any, list[Any]]]:
    """Held-out examples as distinct inputs, each with its distinct logged outputs (most
    common first): a repeated input is one trial, not several."""
    outputs: dict[str, dict[str, int]] = {}
    for inp, out in held_text:
        seen = outputs.setdefault(inp, {})
        seen[out] = seen.get(out, 0) + 1
    trials = []
    for inp, outs in outputs.items():
        ranked = sorted(outs, key=lambda o: -outs[o])
        trials.append((orjson.loads(inp), [orjson.loads(o) for o in ranked]))
    return trials


def _labels(ys: list[Any]) -> set[str] | None:
    """The distinct outputs when the step answers with a few labels (scalars), else None."""
    if any(isinstance(y, (dict, list)) for y in ys):
        return None
    labels = {output_key(y) for y in ys}
    return labels if 2 <= len(labels) <= MAX_LABELS else None


def _label_name(y: Any) -> str:
    return y if isinstance(y, str) else output_key(y)


def _baseline(
    result: Synthesis, ys: list[Any], held: list[tuple[Any, list[Any]]], outputs: set[str]
) -> None:
    """The trivial answer (the training's most common output), measured like a program."""
    if not ys:
        return
    keys = [output_key(y) for y in ys]
    counts = Counter(keys)
    common = max(counts, key=lambda k: (counts[k], k))
    result.baseline_output = ys[keys.index(common)]
    right = sum(1 for _, outs in held if len(outs) == 1 and output_key(outs[0]) == common)
    result.baseline_coverage = right / len(held) if held else 0.0
    result.always_same = len(outputs) == 1


def _note(result: Synthesis, train_text: list[tuple[str, str]]) -> str:
    parts = _varying(train_text)
    if 0 < result.heldout_coverage < 1:
        parts.append(
            f"reproduces {result.heldout_coverage:.0%} of held-out examples; "
            "the rest are exceptions"
        )
    return "; ".join(parts)


def _varying(train_text: list[tuple[str, str]]) -> list[str]:
    outputs_by_input: dict[str, set[str]] = defaultdict(set)
    for inp, out in train_text:
        outputs_by_input[inp].add(out)
    varying = sum(1 for outs in outputs_by_input.values() if len(outs) > 1)
    return [f"{varying} input(s) logged with different outputs"] if varying else []
