"""Programs found earlier, re-checked before a search (kept by `assess --record`).

A kept program belongs to a step and to the shape of the step's inputs (the type and
keys the program reads them through: a prompt-form step's slots, an object's fields).
On a new assessment it is tried first, on the new sample, and reused when it still
holds: it reproduces at least `REUSE_COVERAGE` of the new training examples and of the
new held-out inputs, and no fewer than when it was found (give or take `SLACK`, the
noise of a new sample). Otherwise the full search runs as if nothing were kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solidify.assess.synthesis.program import Node

REUSE_COVERAGE = 0.95  # the coverage a program needs to replace a step (thresholds' default)
SLACK = 0.01  # a new sample may reproduce this much less and still tell the same story
SHAPE_PROBE = 200  # inputs looked at for the shape


@dataclass(frozen=True)
class Kept:
    """A program kept in the history for one step and input shape."""

    program: Node
    input_shape: str
    train_coverage: float
    coverage: float  # held-out, when it was found
    found_at: str | None = None  # when it was found (ISO 8601); None: this assessment

    def holds(self, train_coverage: float, coverage: float) -> bool:
        """Whether the program still does what it did, on a new sample."""
        return (
            train_coverage >= REUSE_COVERAGE
            and coverage >= REUSE_COVERAGE
            and train_coverage >= self.train_coverage - SLACK
            and coverage >= self.coverage - SLACK
        )


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, dict) else type(value).__name__


def input_shape(xs: Sequence[Any]) -> str:
    """The inputs' type, and for objects the keys most of them have with their most
    common type: `object{amount:number,name:string}`, `string`, `list`."""
    probe = xs[:SHAPE_PROBE]
    if not probe:
        return "nothing"
    kinds = Counter(kind_of(x) for x in probe)
    kind = kinds.most_common(1)[0][0]
    if kind != "object":
        return kind
    objects = [x for x in probe if isinstance(x, dict)]
    by_key: dict[str, Counter[str]] = {}
    for x in objects:
        for key, value in x.items():
            by_key.setdefault(str(key), Counter())[kind_of(value)] += 1
    keys = sorted(k for k, c in by_key.items() if c.total() * 2 > len(objects))
    return "object{" + ",".join(f"{k}:{by_key[k].most_common(1)[0][0]}" for k in keys) + "}"


def matching(known: Sequence[Kept], shape: str) -> list[Kept]:
    return [k for k in known if k.input_shape == shape]
