"""Routes: code for the part of the inputs it is sure of, the model for the rest.

A step whose outputs are partly mechanical (a pattern that matched, a key in a table, a
rule that fired) and partly judgment has no program that reproduces it whole. A route is a
partial program: where it answers, it answers as the logs did; elsewhere it hands the
input back to the model. Routes are learned on the training examples only, with the
learners of search.py (rule conditions, tables, patterns), keeping only the parts that
are at least `TRAIN_PURITY` pure there; the one chosen is then measured once on the
held-out distinct inputs, so that its figures are not picked on the data that judges them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from solidify.assess.synthesis.program import (
    Fail,
    Lookup,
    Node,
    Rules,
    apply,
    canonical,
    describe,
    holds,
    size,
    to_dict,
)
from solidify.assess.synthesis.search import (
    MAX_LABELS,
    MAX_RULES,
    Columns,
    Deadline,
    _conditions,
    _extractions,
    _features,
    _lookups,
    output_key,
)

TRAIN_PURITY = 0.99  # each part a route answers is at least this pure on training examples
MIN_PART = 5  # and answers at least this many training examples
COUNTEREXAMPLES = 3


@dataclass(frozen=True)
class Route:
    """A partial program. `kind` says where it answers: `rules` where a rule fires (the
    decision list's default is never used), `table` for keys in its table, `pattern` where
    the pattern matches."""

    kind: str
    node: Node

    @property
    def strategy(self) -> str:
        return {"rules": "rules", "table": "lookup", "pattern": "regex"}[self.kind]

    def describe(self) -> str:
        if self.kind == "rules" and isinstance(self.node, Rules):
            fields = ", ".join(sorted({describe(c.arg) for c, _ in self.node.rules}))
            return f"{len(self.node.rules)} rule(s) on {fields}; otherwise the model answers"
        if self.kind == "table" and isinstance(self.node, Lookup):
            return (
                f"table of {len(self.node.table)} entries keyed by {describe(self.node.key)}; "
                "other keys go to the model"
            )
        return f"{describe(self.node)}; where nothing matches, the model answers"


def answer(route: Route, x: Any) -> tuple[bool, Any]:
    """(True, output) where the route answers, (False, None) where it hands x back."""
    if route.kind == "rules" and isinstance(route.node, Rules):
        try:
            for cond, value in route.node.rules:
                if holds(cond, x):
                    return True, value
        except Fail:
            # A field the input lacks: the rendered route raises KeyError (a LookupError)
            # there, which hands the input to the model too.
            pass
        return False, None
    ok, got = apply(route.node, x)
    if not ok or (route.kind == "pattern" and got is None):
        return False, None
    return True, got


@dataclass
class RouteResult:
    """A route and its held-out evidence (on distinct inputs)."""

    route: Route
    heldout: int  # distinct held-out inputs
    answered: int  # of which the route answers
    right: int  # of which it answers as logged
    chance: float  # the purity its answers would have by their labels' training shares
    purity_confidence: float  # Wilson lower bound of right / answered
    counterexamples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def routed_share(self) -> float:
        return self.answered / self.heldout if self.heldout else 0.0

    @property
    def coverage(self) -> float:
        return self.right / self.heldout if self.heldout else 0.0

    @property
    def purity(self) -> float:
        return self.right / self.answered if self.answered else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.route.strategy,
            "description": self.route.describe(),
            "routed_share": round(self.routed_share, 4),
            "coverage": round(self.coverage, 4),
            "purity": round(self.purity, 4),
            "purity_confidence": round(self.purity_confidence, 4),
            "chance": round(self.chance, 4),
            "heldout_examples": self.heldout,
            "answered": self.answered,
            "counterexamples": self.counterexamples,
            "program": to_dict(self.route.node),
        }


def find_and_measure(
    xs: list[Any], ys: list[Any], held: list[tuple[Any, list[Any]]], deadline: Deadline
) -> RouteResult | None:
    """The best route learned on (xs, ys), measured on the held-out distinct inputs."""
    route = find_route(xs, ys, deadline)
    if route is None or not held:
        return None
    return measure(route, ys, held)


def measure(route: Route, ys: list[Any], held: list[tuple[Any, list[Any]]]) -> RouteResult:
    from solidify.assess.synthesis.engine import wilson_lower

    shares = Counter(output_key(y) for y in ys)
    answered = right = 0
    chance = 0.0
    wrong: list[dict[str, Any]] = []
    for x, outs in held:
        ok, got = answer(route, x)
        if not ok:
            continue
        answered += 1
        key = output_key(got)
        chance += shares.get(key, 0) / len(ys)
        # An input logged with different outputs counts against the route.
        if len(outs) == 1 and key == output_key(outs[0]):
            right += 1
        elif len(wrong) < COUNTEREXAMPLES:
            wrong.append({"input": x, "expected": outs[0], "got": got})
    return RouteResult(
        route=route,
        heldout=len(held),
        answered=answered,
        right=right,
        chance=chance / answered if answered else 0.0,
        purity_confidence=wilson_lower(right, answered),
        counterexamples=wrong,
    )


def find_route(xs: list[Any], ys: list[Any], deadline: Deadline) -> Route | None:
    """The route that answers the most training examples right, each of its parts at least
    TRAIN_PURITY pure; among equals the smallest."""
    n = len(ys)
    if n < 2 * MIN_PART:
        return None
    keys = [output_key(y) for y in ys]
    cols = Columns(xs)
    candidates: list[Route] = []
    if 2 <= len(set(keys)) <= MAX_LABELS:
        rules = pure_rules(cols, ys, keys, deadline)
        if rules is not None:
            candidates.append(Route("rules", rules))
        for table, _ in _lookups(cols, ys, keys):
            if deadline.passed():
                break
            pure = pure_table(table, xs, keys)  # type: ignore[arg-type]
            if pure is not None:
                candidates.append(Route("table", pure))
    if all(isinstance(y, str) or y is None for y in ys):
        for node in _extractions(cols, ys, keys):
            if deadline.passed():
                break
            candidates.append(Route("pattern", node))
    best: tuple[int, int] | None = None
    chosen = None
    for route in candidates:
        answered = right = 0
        for x, key in zip(xs, keys, strict=True):
            ok, got = answer(route, x)
            if ok:
                answered += 1
                right += output_key(got) == key
        if answered < MIN_PART or right < TRAIN_PURITY * answered:
            continue
        score = (right, -size(route.node))
        if best is None or score > best:
            best, chosen = score, route
    return chosen


def pure_rules(cols: Columns, ys: list[Any], keys: list[str], deadline: Deadline) -> Rules | None:
    """A decision list of conditions each at least TRAIN_PURITY pure on the examples that
    reach it; what no rule takes is left to the model (the default is never used)."""
    n = len(keys)
    min_support = max(MIN_PART, math.ceil(0.02 * n))
    value_of = {k: y for k, y in zip(keys, ys, strict=True)}
    features = _features(cols)
    remaining = list(range(n))
    rules = []
    while remaining and len(rules) < MAX_RULES and not deadline.passed():
        best = None
        for feature in features:
            for cond, label, covered in _conditions(feature, remaining, keys, min_support):
                hits = sum(1 for i in covered if keys[i] == label)
                if hits < TRAIN_PURITY * len(covered):
                    continue
                score = (hits - 3 * (len(covered) - hits), -len(str(cond.value)))
                if best is None or score > best[0]:
                    best = (score, cond, label, covered)
        if best is None:
            break
        _, cond, label, covered = best
        rules.append((cond, value_of[label]))
        taken = set(covered)
        remaining = [i for i in remaining if i not in taken]
    return Rules(tuple(rules), None) if rules else None


def pure_table(table: Lookup, xs: list[Any], keys: list[str]) -> Lookup | None:
    """The rows of a table whose key is seen at least MIN_PART times in training and gives
    the same output at least TRAIN_PURITY of the time."""
    groups: dict[str, Counter] = defaultdict(Counter)
    for x, key in zip(xs, keys, strict=True):
        ok, value = apply(table.key, x)
        if ok:
            groups[canonical(value)][key] += 1
    rows = []
    for known, value in table.table:
        counts = groups.get(known)
        if not counts:
            continue
        total = sum(counts.values())
        if total >= MIN_PART and counts[output_key(value)] >= TRAIN_PURITY * total:
            rows.append((known, value))
    return None if not rows else Lookup(table.key, tuple(rows))
