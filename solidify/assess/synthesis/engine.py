"""The held-out protocol around the search: sample, split, fit, measure.

1. Examples are the step's successful executions, as (input, output) JSON text.
2. At most `max_examples` executions are kept, chosen by a hash (the same log
   always gives the same sample, whatever order it was written in).
3. Each kept execution falls on the held-out side by another hash (30 %).
4. The search sees only the training part; coverage is measured on the held-out
   part. Only a lookup table memorises, and it is credited only for keys it saw:
   in training, keys seen twice or more; held out, keys seen in training.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from solidify.assess.metrics import Texts
from solidify.assess.synthesis.program import Node, apply, describe, strategy, to_dict
from solidify.assess.synthesis.search import Deadline, output_key, solve

MAX_EXAMPLES = 1000
TIME_LIMIT = 2.0
HELDOUT_SHARE = 0.3
MIN_TRAIN = 6
MIN_HELDOUT = 3
COUNTEREXAMPLES = 3


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
        }


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
    """The same hashes `assess` samples with (metrics.Texts), so that `migrate` and `verify`
    hold out exactly the examples the assessment held out."""
    return Texts.encode(pd.Series(values, dtype=object)).hashes()


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
) -> Synthesis:
    """Search on the training pairs, measure on the held-out pairs (JSON text)."""
    started = time.perf_counter() if started is None else started
    result = Synthesis(
        program=None, train_examples=len(train_text), heldout_examples=len(held_text)
    )
    if len(train_text) < MIN_TRAIN or len(held_text) < MIN_HELDOUT:
        result.note = (
            f"too few distinct examples ({len(train_text)} to learn from, "
            f"{len(held_text)} held out)"
        )
        return result
    train = [(orjson.loads(i), orjson.loads(o)) for i, o in train_text]
    held = [(orjson.loads(i), orjson.loads(o)) for i, o in held_text]
    xs = [x for x, _ in train]
    ys = [y for _, y in train]
    best = solve(xs, ys, Deadline(time_limit))
    result.seconds = time.perf_counter() - started
    if best.node is None:
        result.note = "no program in the search space fits"
        return result
    result.program = best.node
    result.train_coverage = best.correct / len(train)
    hits = 0
    for x, y in held:
        ok, got = apply(best.node, x)
        if ok and output_key(got) == output_key(y):
            hits += 1
        elif len(result.counterexamples) < COUNTEREXAMPLES:
            result.counterexamples.append(
                {"input": x, "expected": y, "got": got if ok else None, "applies": ok}
            )
    result.heldout_coverage = hits / len(held)
    result.confidence = wilson_lower(hits, len(held))
    result.note = _note(result, train_text)
    result.seconds = time.perf_counter() - started
    return result


def _note(result: Synthesis, train_text: list[tuple[str, str]]) -> str:
    outputs_by_input: dict[str, set[str]] = defaultdict(set)
    for inp, out in train_text:
        outputs_by_input[inp].add(out)
    varying = sum(1 for outs in outputs_by_input.values() if len(outs) > 1)
    parts = []
    if varying:
        parts.append(f"{varying} input(s) logged with different outputs")
    if 0 < result.heldout_coverage < 1:
        parts.append(
            f"reproduces {result.heldout_coverage:.0%} of held-out examples; "
            "the rest are exceptions"
        )
    return "; ".join(parts)
