"""Candidates built from the operations of ops.py, learned from the examples.

Each generator reads what it can off the examples (a format spec, a date form, a
separator, a filter condition) and yields candidate programs; `search.solve` scores
every candidate on all training examples, as for the other families. Numeric terms
built here (numeric text, sums over list items, list lengths) feed the arithmetic
search, so that operations compose: `round(sum(qty * price for line in lines) * 1.19, 2)`.
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from solidify.assess.synthesis import helpers as H
from solidify.assess.synthesis.ops import (
    NUMBER_SPECS,
    PAD_SPECS,
    PARSE_DATES,
    WRITE_DATES,
    Aggregate,
    DateFormat,
    FilterMap,
    Format,
    IfElse,
    Join,
    Slice,
    ToDict,
    Truncate,
)
from solidify.assess.synthesis.program import (
    Arith,
    Cond,
    Convert,
    Get,
    Node,
    apply,
    canonical,
)

MISSING = object()
SEPARATORS = (", ", ",", "; ", ";", " ", "\n", " | ", "|", "/", " / ", "-", " - ", ", and ")


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _values(node: Node, xs: Sequence[Any]) -> list[Any]:
    out = []
    for x in xs:
        ok, v = apply(node, x)
        out.append(v if ok else MISSING)
    return out


# ------------------------------------------------------------------ numbers


def number_terms(cols, xs: Sequence[Any]) -> list[tuple[Node, np.ndarray]]:
    """Numbers the input holds in other forms: numeric text ("$1,234.50"), sums (and the
    smallest and largest) over list items or their products, list lengths."""
    terms: list[tuple[Node, np.ndarray]] = []

    def add(node: Node) -> None:
        values = [_num(v) if v is not MISSING else None for v in _values(node, xs)]
        if sum(v is not None for v in values) >= 0.9 * len(values):
            terms.append((node, np.array([np.nan if v is None else v for v in values])))

    for path in cols.strings()[:16]:
        column = cols.column(path)
        probe = [v for v in column[:50] if isinstance(v, str)]
        if probe and all(_numeric_text(v) for v in probe):
            add(Convert("float", Get(path)))
    for path in cols.lists()[:6]:
        add(Convert("len", Get(path)))
        elements = [e for lst in cols.column(path)[:50] if isinstance(lst, list) for e in lst]
        if not elements:
            continue
        items: list[Node] = []
        if all(_num(e) is not None for e in elements):
            items.append(Get(()))
        elif all(isinstance(e, dict) for e in elements):
            keys = [k for k in elements[0] if all(_num(e.get(k)) is not None for e in elements)]
            items += [Get((k,)) for k in keys[:6]]
            items += [Arith("*", Get((a,)), Get((b,)))
                      for i, a in enumerate(keys[:4]) for b in keys[i + 1 : 4]]  # fmt: skip
        for item in items:
            add(Aggregate("sum", Get(path), item))
            if isinstance(item, Get):
                add(Aggregate("max", Get(path), item))
                add(Aggregate("min", Get(path), item))
    return terms


def _numeric_text(text: str) -> bool:
    try:
        H._as_number(text)
    except ValueError:
        return False
    return any(c.isdigit() for c in text)


def constants_near(raw: float, score) -> float | int | None:
    """The constant with the fewest decimals that does as well as the best: a factor or an
    offset visible only through rounded outputs (1.19, 1.8, 2.20462, 32)."""
    if not math.isfinite(raw) or raw == 0:
        return None
    best, best_score = None, -1
    for digits in range(0, 7):
        c = round(raw, digits)
        if c == 0:
            continue
        c = int(c) if digits == 0 else float(c)
        s = score(c)
        if s > best_score:
            best, best_score = c, s
    return best


# ------------------------------------------------------------------ text


def _pivots(n: int) -> list[int]:
    return sorted({0, n // 3, (2 * n) // 3})


def text_candidates(cols, xs, ys) -> Iterator[Node]:
    """Formats of numbers, slices and truncations of text, dates, joined lists."""
    n = len(ys)
    pivots = [p for p in _pivots(n) if isinstance(ys[p], str)]
    if not pivots:
        return
    # numbers written with a format spec
    for path in cols.numbers()[:12]:
        column = cols.column(path)
        for spec in (*NUMBER_SPECS, *PAD_SPECS):
            if all(_formatted(column[p], spec) == ys[p] for p in pivots):
                yield Format(Get(path), spec)
    for path in cols.strings()[:16]:
        column = cols.column(path)
        yield from _slices(path, column, ys, pivots)
        yield from _truncations(path, column, ys)
        yield from dates(path, column, ys, pivots)
    for path in cols.lists()[:6]:
        yield from _joins(path, cols, ys, pivots)


def _formatted(value: Any, spec: str) -> str | None:
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return None


def _slices(path, column, ys, pivots) -> Iterator[Node]:
    p = pivots[0]
    text, y = column[p], ys[p]
    if not isinstance(text, str) or not y or y == text:
        return
    if text.startswith(y):
        yield Slice(Get(path), None, len(y))
    if text.endswith(y):
        yield Slice(Get(path), -len(y), None)


def _truncations(path, column, ys) -> Iterator[Node]:
    for ellipsis in ("…", "...", " …", " ..."):
        cut = [
            len(y)
            for t, y in zip(column, ys, strict=True)
            if isinstance(t, str) and isinstance(y, str) and y != t and y.endswith(ellipsis)
        ]
        if len(cut) >= 2:
            yield Truncate(Get(path), Counter(cut).most_common(1)[0][0], ellipsis)
            yield Truncate(Get(path), max(cut), ellipsis)


def parse_form(column: Sequence[Any]) -> str | None:
    """The first common date form that reads every probed value."""
    probe = [v for v in column[:30] if isinstance(v, str)]
    if not probe or not any(c.isdigit() for c in probe[0]):
        return None
    for form in PARSE_DATES:
        try:
            for v in probe:
                datetime.datetime.strptime(v, form)
        except ValueError:
            continue
        return form
    return None


def dates(path, column, ys, pivots) -> Iterator[Node]:
    parse = parse_form(column)
    if parse is None:
        return
    p = pivots[0]
    try:
        when = datetime.datetime.strptime(column[p], parse)
    except (TypeError, ValueError):
        return
    for write in WRITE_DATES:
        if when.strftime(write) == ys[p]:
            yield DateFormat(Get(path), parse, write)
            if "%-d" in write:  # a day of 10 or more reads the same with "%d"
                yield DateFormat(Get(path), parse, write.replace("%-d", "%d"))
            continue
        # the same form some days later: "due 30 days after the invoice date"
        try:
            later = datetime.datetime.strptime(ys[p], write.replace("%-d", "%d"))
        except ValueError:
            continue
        if "%d" in write.replace("%-d", "%d") and "%Y" in write:
            days = (later.date() - when.date()).days
            if days:
                yield DateFormat(Get(path), parse, write, days)


def date_atoms(cols, positions) -> list[tuple[Node, dict[int, Any]]]:
    """Dates written in each common form, as parts that templates may use."""
    atoms = []
    for path in cols.strings()[:16]:
        column = cols.column(path)
        parse = parse_form(column)
        if parse is None:
            continue
        for write in WRITE_DATES:
            node = DateFormat(Get(path), parse, write)
            atoms.append((node, {at: apply(node, cols.xs[at])[1] for at in positions}))
    return atoms


def _joins(path, cols, ys, pivots) -> Iterator[Node]:
    p = pivots[0]
    items = cols.column(path)[p]
    if not isinstance(items, list) or not items:
        return
    programs: list[Node] = []
    if all(isinstance(e, str) for e in items):
        programs.append(Get(()))
    elif all(isinstance(e, dict) for e in items):
        programs += [Get((k,)) for k in items[0] if isinstance(items[0][k], str)]
    for item in programs:
        for sep in SEPARATORS:
            node = Join(sep, Get(path), item)
            if all(apply(node, cols.xs[q])[1] == ys[q] for q in pivots):
                yield node


# ------------------------------------------------------------------ lists and objects


def filter_candidates(cols, ys) -> Iterator[Node]:
    """[item(e) for e in list if cond(e)]: the condition learned from kept and dropped items."""
    for path in cols.lists()[:6]:
        column = cols.column(path)
        pairs = [(s, y) for s, y in zip(column, ys, strict=True)
                 if isinstance(s, list) and isinstance(y, list)]  # fmt: skip
        if len(pairs) < 0.9 * len(ys) or not any(len(y) < len(s) for s, y in pairs):
            continue
        first = next((s[0] for s, _ in pairs if s), None)
        items: list[Node] = [Get(())]
        if isinstance(first, dict):
            items += [Get((k,)) for k in first]
        for item in items:
            kept, dropped = [], []
            for s, y in pairs:
                mapped = [apply(item, e) for e in s]
                wanted = Counter(canonical(v) for v in y)
                for e, (ok, v) in zip(s, mapped, strict=True):
                    key = canonical(v) if ok else None
                    if key is not None and wanted[key] > 0:
                        wanted[key] -= 1
                        kept.append(e)
                    else:
                        dropped.append(e)
            if not kept or not dropped:
                continue
            for cond in _separating(kept, dropped):
                yield FilterMap(Get(path), cond, item)


def _separating(kept: list[Any], dropped: list[Any]) -> Iterator[Cond]:
    if not all(isinstance(e, dict) for e in kept + dropped):
        return
    for key in kept[0]:
        inside = [e.get(key, MISSING) for e in kept]
        outside = [e.get(key, MISSING) for e in dropped]
        texts_in = {canonical(v) for v in inside if v is not MISSING}
        texts_out = {canonical(v) for v in outside if v is not MISSING}
        if len(texts_in) == 1 and not texts_in & texts_out:
            yield Cond("equals", Get((key,)), next(iter(texts_in)))
        nums_in = [_num(v) for v in inside if v is not MISSING]
        nums_out = [_num(v) for v in outside if v is not MISSING]
        if nums_in and nums_out and None not in nums_in and None not in nums_out:
            from solidify.assess.synthesis.search import _round_between

            if min(nums_in) > max(nums_out):
                yield Cond("at_least", Get((key,)), _round_between(max(nums_out), min(nums_in)))
            if max(nums_in) < min(nums_out):
                threshold = _round_between(max(nums_in), min(nums_out))
                yield Cond("below", Get((key,)), threshold)


def to_dict_candidates(cols, ys) -> Iterator[Node]:
    """{item[k]: item[v] for item in list}: outputs keyed by a field of the input's items."""
    for path in cols.lists()[:6]:
        column = cols.column(path)
        p = next((i for i, s in enumerate(column) if isinstance(s, list) and s), None)
        if p is None or not isinstance(ys[p], dict) or not isinstance(column[p][0], dict):
            continue
        first, y = column[p][0], ys[p]
        for k in first:
            key = Get((k,)) if isinstance(first[k], str) else Convert("str", Get((k,)))
            ok, name = apply(key, first)
            if not ok or name not in y:
                continue
            for value in [Get(()), *(Get((v,)) for v in first if v != k)]:
                yield ToDict(Get(path), key, value)


# ------------------------------------------------------------------ conditionals


def conditionals(features, candidates, correct_sets, n: int) -> Iterator[Node]:
    """then if cond else otherwise, for two programs that are each right on a part of the
    examples, with the condition that best tells the parts apart."""
    from solidify.assess.synthesis.search import _conditions

    ranked = sorted(range(len(candidates)), key=lambda i: -len(correct_sets[i]))[:6]
    for a in ranked:
        for b in ranked:
            if a == b:
                continue
            only_a = correct_sets[a] - correct_sets[b]
            only_b = correct_sets[b] - correct_sets[a]
            if len(only_a) < 2 or len(only_b) < 2:
                continue
            remaining = sorted(only_a | only_b)
            labels = ["A" if i in only_a else "B" for i in range(n)]
            best = None
            for feature in features:
                for cond, label, covered in _conditions(feature, remaining, labels, 2):
                    if label == "A" and (best is None or len(covered) > best[1]):
                        best = (cond, len(covered))
            if best is not None:
                yield IfElse(best[0], candidates[a], candidates[b])
