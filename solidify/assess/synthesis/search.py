"""Search the program space for the simplest program that reproduces the training examples.

Families are tried from the simplest (a field of the input, a constant) to the
richest (templates, patterns, arithmetic, rules, tables). Each family *learns*
its candidates from the examples (a pattern, a threshold, a table) rather than
enumerating blindly, and every candidate is scored on all training examples.
A table is only credited for keys it saw at least twice, so that memorising
unique inputs earns nothing.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solidify.assess.synthesis import compose, objects, regex
from solidify.assess.synthesis.equality import output_key
from solidify.assess.synthesis.ops import (
    NUMBER_SPECS,
    PAD_SPECS,
    TEXT_CONVERSIONS,
    DateFormat,
    Format,
    MinMax,
)
from solidify.assess.synthesis.program import (
    ALNUM,
    CONVERSIONS,
    NUMBER_TEXT_CONVERSIONS,
    STRING_CONVERSIONS,
    Arith,
    Concat,
    Cond,
    Const,
    Convert,
    Extract,
    ExtractAll,
    Fail,
    Get,
    Lookup,
    MapList,
    Node,
    Object,
    Pair,
    Path,
    Round,
    Rules,
    Token,
    apply,
    canonical,
    size,
    words,
)

MISSING = compose.MISSING
# Conversions worth trying on a field that does not hold text.
VALUE_CONVERSIONS = ("str", "int", "float", "len", "fixed2", "grouped2")
MAX_LEAVES = 160
MAX_DEPTH = 5
SCREEN = 64
MAX_LABELS = 16
MAX_RULES = 12


@dataclass
class Best:
    node: Node | None = None
    correct: int = -1
    size: int = 0

    def offer(self, node: Node, correct: int) -> None:
        s = size(node)
        if correct > self.correct or (correct == self.correct and s < self.size):
            self.node, self.correct, self.size = node, correct, s


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.perf_counter() + seconds

    def passed(self) -> bool:
        return time.perf_counter() > self.end


def expectations(ys: Sequence[Any], keys: Sequence[str]) -> list[str | tuple[str]]:
    """What `count_correct` compares with: a text output as it is (most outputs are text,
    and equal texts need no canonical form), any other output as its key, in a tuple so
    that it never equals a text."""
    return [y if type(y) is str else (k,) for y, k in zip(ys, keys, strict=True)]


def count_correct(
    node: Node, xs: Sequence[Any], expected: Sequence[str | tuple[str]], need: int = 0
) -> int:
    """How many examples the program reproduces; stops early once `need` is out of reach."""
    correct = 0
    allowed_misses = len(expected) - need
    misses = 0
    for x, e in zip(xs, expected, strict=True):
        ok, out = apply(node, x)
        if ok and (out == e if type(out) is str else type(e) is tuple and output_key(out) == e[0]):
            correct += 1
        else:
            misses += 1
            if misses > allowed_misses:
                return correct
    return correct


# ------------------------------------------------------------------ the input's leaves


class Columns:
    """Values of the input at each path, computed once per path."""

    def __init__(self, xs: Sequence[Any]) -> None:
        self.xs = xs
        self._cache: dict[Path, list[Any]] = {}
        self.paths = self._find_paths()

    def _find_paths(self) -> list[Path]:
        counts: Counter[Path] = Counter()
        probe = self.xs[:50]
        for x in probe:
            for path in _walk(x, (), 0):
                counts[path] += 1
        need = max(1, len(probe) // 2)
        paths = [p for p, c in counts.items() if c >= need]
        paths.sort(key=lambda p: (len(p), [str(k) for k in p]))
        return paths[:MAX_LEAVES]

    def column(self, path: Path) -> list[Any]:
        if path not in self._cache:
            values = []
            for x in self.xs:
                ok, value = apply(Get(path), x)
                values.append(value if ok else MISSING)
            self._cache[path] = values
        return self._cache[path]

    def strings(self) -> list[Path]:
        return [p for p in self.paths if _mostly(self.column(p), lambda v: isinstance(v, str))]

    def numbers(self) -> list[Path]:
        return [p for p in self.paths if all(_is_num(v) for v in self.column(p))]

    def lists(self) -> list[Path]:
        return [p for p in self.paths if _mostly(self.column(p), lambda v: isinstance(v, list))]


def _walk(value: Any, path: Path, depth: int) -> Iterator[Path]:
    yield path
    if depth >= MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key in value:
            yield from _walk(value[key], (*path, key), depth + 1)
    elif isinstance(value, list) and value:
        yield from _walk(value[0], (*path, 0), depth + 1)
        if len(value) > 1:
            yield from _walk(value[-1], (*path, -1), depth + 1)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _mostly(values: list[Any], test) -> bool:
    hits = sum(1 for v in values if v is not MISSING and test(v))
    return hits >= max(1, int(0.9 * len(values)))


# ------------------------------------------------------------------ the search


def solve(xs: Sequence[Any], ys: Sequence[Any], deadline: Deadline, depth: int = 0) -> Best:
    """The best program for these examples: most reproduced, then smallest."""
    keys = [output_key(y) for y in ys]
    expected = expectations(ys, keys)
    n = len(keys)
    best = Best()
    if n == 0:
        return best
    cols = Columns(xs)

    screen = min(n, SCREEN)
    best_screen = [-1]

    def offer(node: Node, correct: int | None = None) -> bool:
        if correct is None:
            # Screen on the first examples: a candidate that does worse there than the best
            # so far is not worth a full count (the full count still decides).
            on_screen = count_correct(node, xs[:screen], expected[:screen])
            # The sample is in random order, so the screened examples stand for the rest:
            # a candidate that reproduces none of them is not worth a full count either.
            if on_screen < best_screen[0] or (on_screen == 0 and screen < n):
                return False
            best_screen[0] = max(best_screen[0], on_screen)
            correct = count_correct(node, xs, expected, need=max(best.correct, 0))
        best.offer(node, correct)
        if correct > 0:
            offered.append((correct, node))
        return best.correct == n

    offered: list[tuple[int, Node]] = []

    # 1. A field as it is (preferred over a constant it happens to equal).
    for path in cols.paths:
        column = cols.column(path)
        correct = sum(
            1 for v, k in zip(column, keys, strict=True) if v is not MISSING and output_key(v) == k
        )
        if correct:
            offer(Get(path), correct)
    if best.correct == n:
        return best

    # 2. A constant.
    common, freq = Counter(keys).most_common(1)[0]
    offer(Const(ys[keys.index(common)]), freq)
    if best.correct == n or deadline.passed():
        return best

    # 3. A converted field (text conversions only for fields that hold text).
    text_paths = set(cols.strings())
    for path in cols.paths:
        for fn in CONVERSIONS if path in text_paths else VALUE_CONVERSIONS:
            node = Convert(fn, Get(path))
            offer(node)
    if best.correct == n or deadline.passed():
        return best

    kinds = Counter(_kind(y) for y in ys)
    main_kind, main_count = kinds.most_common(1)[0]
    if main_kind == "object" and main_count >= 0.9 * n and depth < MAX_DEPTH:
        for node in compose.to_dict_candidates(cols, ys):
            if offer(node):
                return best
        for node in _object_candidates(xs, ys, deadline, depth, cols):
            if offer(node):
                return best
    if main_kind == "list" and main_count >= 0.9 * n and depth < MAX_DEPTH:
        for node in _list_candidates(xs, ys, cols, deadline, depth):
            if offer(node):
                return best
        for node in compose.filter_candidates(cols, ys):
            if offer(node):
                return best
    if main_kind == "number" and main_count >= 0.9 * n:
        for node in _arithmetic(cols, ys, keys, deadline, compose.number_terms(cols, xs)):
            offer(node)
    if main_kind in ("string", "null") and kinds["string"] + kinds["null"] >= 0.9 * n:
        for family in (_templates, _flashfill, _extractions, _text_ops, _table_templates):
            if deadline.passed() or (family in (_text_ops, _table_templates) and best.correct == n):
                break
            for node in family(cols, ys, keys):
                offer(node)
    if best.correct < n and n >= 8 and not deadline.passed() and main_kind != "object":
        # Two programs each right on a part, and a condition that tells the parts apart.
        pool = [node for node in _contenders(offered) if node is not None]
        sets = [_correct_set(node, xs, expected) for node in pool]
        for node in compose.conditionals(_features(cols), pool, sets, n):
            if offer(node) or deadline.passed():
                break
    if best.correct < n and not deadline.passed():
        labels = len(set(keys))
        if 2 <= labels <= MAX_LABELS and n >= 8:
            node = learn_rules(cols, ys, keys, deadline)
            if node is not None:
                offer(node)
        # Tables of any size, as long as outputs repeat (a table credits repeated keys only).
        if 2 <= labels <= max(MAX_LABELS, n // 2) and n >= 8:
            for node, credited in _lookups(cols, ys, keys):
                best.offer(node, credited)
    return best


def _contenders(offered: list[tuple[int, Node]], count: int = 6) -> list[Node]:
    """The programs that reproduced the most examples, one of each."""
    seen: list[Node] = []
    for _, node in sorted(offered, key=lambda o: (-o[0], size(o[1]))):
        if node not in seen and not isinstance(node, (Const, Rules)):
            seen.append(node)
        if len(seen) == count:
            break
    return seen


def _correct_set(node: Node, xs, expected) -> set[int]:
    out = set()
    for i, (x, e) in enumerate(zip(xs, expected, strict=True)):
        ok, got = apply(node, x)
        if ok and (got == e if type(got) is str else type(e) is tuple and output_key(got) == e[0]):
            out.add(i)
    return out


def _text_ops(cols: Columns, ys, keys) -> Iterator[Node]:
    yield from compose.text_candidates(cols, cols.xs, ys)


def _kind(y: Any) -> str:
    if y is None:
        return "null"
    if isinstance(y, bool):
        return "bool"
    if _is_num(y):
        return "number"
    if isinstance(y, str):
        return "string"
    if isinstance(y, list):
        return "list"
    return "object" if isinstance(y, dict) else "other"


# ------------------------------------------------------------------ objects and lists


MIN_OPTIONAL = 2  # examples a key must appear in to be written at all
MAX_KEYS = 40  # more distinct keys than this: keys are data, not a record's fields


def _object_candidates(xs, ys, deadline: Deadline, depth: int, cols: Columns) -> Iterator[Node]:
    """One program per key of the most common set of keys (every key always written);
    and when the keys vary, every key's program with the condition under which it is
    written (objects.OptionalObject)."""
    dicts = [y for y in ys if isinstance(y, dict)]
    shapes = Counter(tuple(sorted(y)) for y in dicts)
    common, _ = shapes.most_common(1)[0]
    counts = Counter(k for y in dicts for k in y)
    varies = len(shapes) > 1 and len(counts) <= MAX_KEYS
    keys = [k for k in sorted(counts) if counts[k] >= MIN_OPTIONAL] if varies else list(common)
    if not keys:
        return
    programs: dict[str, Node | None] = {}
    for name in keys:
        sub = [(x, y[name]) for x, y in zip(xs, ys, strict=True)
               if isinstance(y, dict) and name in y]  # fmt: skip
        programs[name] = solve([x for x, _ in sub], [y for _, y in sub], deadline, depth + 1).node
    if common and all(programs.get(name) is not None for name in common):
        yield Object(tuple((name, programs[name]) for name in common))
    if not varies or deadline.passed():
        return
    required, optional = [], []
    paths = objects.containers(xs)
    for name in keys:
        node = programs[name]
        always = counts[name] == len(dicts)
        if node is None and always:
            return  # a key every output has, and no program for it
        if node is None:
            continue  # the examples with this key stay misses
        if always:
            required.append((name, node))
            continue
        present = [isinstance(y, dict) and name in y for y in ys]
        test, _ = objects.learn_presence(xs, present, node, paths,
                                         _presence_conditions(cols, present))  # fmt: skip
        optional.append((name, node, test))
    if optional:
        yield objects.OptionalObject(tuple(required), tuple(optional))


def _presence_conditions(cols: Columns, present: list[bool]) -> list[Cond]:
    """Conditions on the input's values (thresholds, equalities, words) under which a key
    is written, learned as the rules are: pure sides of a cut or a value."""
    labels = ["yes" if p else "no" for p in present]
    everything = list(range(len(labels)))
    out = []
    for feature in _features(cols):
        for cond, label, _ in _conditions(feature, everything, labels, MIN_OPTIONAL):
            if label == "yes":
                out.append(cond)
    return out[:64]


def _list_candidates(xs, ys, cols: Columns, deadline: Deadline, depth: int) -> Iterator[Node]:
    for path in cols.lists():
        column = cols.column(path)
        pairs = [
            (src, y)
            for src, y in zip(column, ys, strict=True)
            if isinstance(src, list) and isinstance(y, list) and len(src) == len(y)
        ]
        if len(pairs) < 0.9 * len(ys) or not any(pairs_ for pairs_, _ in pairs):
            continue
        item_xs = [e for src, _ in pairs for e in src][:2000]
        item_ys = [e for _, y in pairs for e in y][:2000]
        found = solve(item_xs, item_ys, deadline, depth + 1)
        if found.node is not None and found.correct >= 0.9 * len(item_ys):
            yield MapList(Get(path), found.node)
    if all(isinstance(y, list) and all(isinstance(e, str) for e in y) for y in ys):
        for path in cols.strings():
            column = cols.column(path)
            pairs = [
                (t, e) for t, y in zip(column, ys, strict=True) if isinstance(t, str) for e in y
            ]
            if not pairs or sum(1 for t, e in pairs if e in t) < 0.9 * len(pairs):
                continue
            for pattern in regex.candidate_patterns(pairs, capture=False):
                yield ExtractAll(Get(path), pattern)


# ------------------------------------------------------------------ strings


def _atoms(cols: Columns, positions: Sequence[int]) -> list[tuple[Node, dict[int, Any]]]:
    """Values that may appear inside output text (string fields, their words, numbers),
    at the given examples only: templates are read off a few pivots."""
    atoms: list[tuple[Node, dict[int, Any]]] = []
    for path in cols.paths:
        column = cols.column(path)
        if _mostly(column, lambda v: isinstance(v, str)):
            atoms.append((Get(path), {at: column[at] for at in positions}))
            functions: tuple[str, ...] = STRING_CONVERSIONS + TEXT_CONVERSIONS
        elif _mostly(column, lambda v: _is_num(v) and not isinstance(v, bool)):
            functions = NUMBER_TEXT_CONVERSIONS
            for spec in (*NUMBER_SPECS, *PAD_SPECS):
                node = Format(Get(path), spec)
                atoms.append((node, {at: apply(node, cols.xs[at])[1] for at in positions}))
        else:
            continue
        for fn in functions:
            node = Convert(fn, Get(path))
            atoms.append((node, {at: _converted(fn, column[at]) for at in positions}))
    return atoms + compose.date_atoms(cols, positions)


def _converted(fn: str, value: Any) -> Any:
    """What Convert(fn, ...) gives for this value; None where it does not apply."""
    if value is MISSING:
        return None
    try:
        return CONVERSIONS[fn](value)
    except (Fail, ArithmeticError, ValueError, TypeError, AttributeError, IndexError):
        return None


def _templates(cols: Columns, ys, keys) -> Iterator[Node]:
    """Literal text around input values, read off a few pivot examples."""
    n = len(ys)
    pivots = sorted({0, n // 3, (2 * n) // 3})
    atoms = _atoms(cols, pivots)
    if not atoms:
        return
    # Values of two characters or more first; then also single characters (an initial, a
    # one-digit number), which a template may only place into the gaps left.
    for pivot, shortest in [(p, s) for s in (2, 1) for p in pivots]:
        parts = _template_at(atoms, ys, pivot, shortest)
        if parts is None:
            continue
        if len(parts) == 1:
            yield parts[0]  # a value as it is, not a one-part template
        yield Concat(tuple(parts))
        yield from _number_format_variants(parts)


def _template_at(atoms, ys, pivot: int, shortest: int) -> list[Node] | None:
    """The parts of one pivot output: input values located in it, literal text around."""
    y = ys[pivot]
    if not isinstance(y, str) or not y:
        return None
    found: list[tuple[int, int, Node]] = []
    taken = [False] * len(y)
    ranked = sorted(
        (
            (node, values[pivot])
            for node, values in atoms
            if isinstance(values[pivot], str) and len(values[pivot]) >= shortest
        ),
        key=lambda a: (-len(a[1]), size(a[0]), isinstance(a[0], Format)),
    )
    if shortest == 1 and not any(len(v) == 1 for _, v in ranked):
        return None
    for node, value in ranked:
        start = y.find(value)
        while start >= 0:
            end = start + len(value)
            if not any(taken[start:end]):
                for i in range(start, end):
                    taken[i] = True
                found.append((start, end, node))
                break
            start = y.find(value, start + 1)
    if not found:
        return None
    found.sort()
    parts: list[Node] = []
    at = 0
    for start, end, node in found:
        if start > at:
            parts.append(Const(y[at:start]))
        parts.append(node)
        at = end
    if at < len(y):
        parts.append(Const(y[at:]))
    return parts


def _same_shape(parts: list[Node], other: list[Node]) -> bool:
    """The same values at the same places; literals may differ."""
    return len(parts) == len(other) and all(
        isinstance(a, Const) == isinstance(b, Const) and (isinstance(a, Const) or a == b)
        for a, b in zip(parts, other, strict=True)
    )


def _table_templates(cols: Columns, ys, keys) -> Iterator[Node]:
    """A template whose literal text depends on a small-domain field through a table
    (`high` -> `P1` inside `"[P1] ticket 4711"`): one pivot per value of the field, the
    same template at each, the differing literals read into a table."""
    fields: list[tuple[Path, dict[str, int]]] = []
    for path in cols.paths[:40]:
        column = cols.column(path)
        if any(isinstance(v, (dict, list)) for v in column[:50]):
            continue
        groups: dict[str, int] = {}
        counts: Counter[str] = Counter()
        for i, v in enumerate(column):
            if v is not MISSING and isinstance(ys[i], str):
                key = canonical(v)
                groups.setdefault(key, i)
                counts[key] += 1
        if 2 <= len(groups) <= MAX_LABELS and min(counts.values()) >= 2:
            fields.append((path, groups))
        if len(fields) == 6:
            break  # (time) the values inside the text are read once, at every pivot below
    if not fields:
        return
    every = _atoms(cols, sorted({at for _, groups in fields for at in groups.values()}))
    for path, groups in fields:
        atoms = [(node, values) for node, values in every
                 if not (isinstance(node, Get) and node.path == path)]  # fmt: skip
        shapes = {key: _template_at(atoms, ys, at, 1) for key, at in groups.items()}
        if any(parts is None for parts in shapes.values()):
            continue
        first = next(iter(shapes.values()))
        same = all(_same_shape(p, first) for p in shapes.values())
        if not same:
            continue
        parts: list[Node] = []
        varied = False
        for i, part in enumerate(first):
            if not isinstance(part, Const):
                parts.append(part)
                continue
            literals = {key: shape[i].value for key, shape in shapes.items()}
            if len(set(literals.values())) > 1:
                parts.append(Lookup(Get(path), tuple(sorted(literals.items()))))
                varied = True
            else:
                parts.append(part)
        if varied:
            yield Concat(tuple(parts))


def _number_format_variants(parts: list[Node]) -> Iterator[Node]:
    """One pivot cannot tell "1234.5" from "1234.50" when its number has two decimals:
    try the other number formats for each number in the template."""
    numeric = [i for i, p in enumerate(parts)
               if (isinstance(p, Convert) and p.fn in NUMBER_TEXT_CONVERSIONS)
               or isinstance(p, Format)]  # fmt: skip
    for i in numeric:
        part = parts[i]
        options: list[Node] = [Convert(fn, part.arg) for fn in NUMBER_TEXT_CONVERSIONS]
        # "00042" and "12345" are both "05d": a zero padding shows only on short numbers
        options += [Format(part.arg, spec) for spec in (*NUMBER_SPECS, *PAD_SPECS)]
        for option in options:
            if option != part:
                variant = list(parts)
                variant[i] = option
                yield Concat(tuple(variant))
    # Pivot days of 10 or more cannot tell "%d" from "%-d" (05 or 5): try the other.
    for i, part in enumerate(parts):
        if isinstance(part, DateFormat) and "d" in part.write:
            other = (part.write.replace("%-d", "%d") if "%-d" in part.write
                     else part.write.replace("%d", "%-d"))  # fmt: skip
            variant = list(parts)
            variant[i] = DateFormat(part.arg, part.parse, other, part.days)
            yield Concat(tuple(variant))


def _flashfill(cols: Columns, ys, keys) -> Iterator[Node]:
    """Output built from the letter/digit tokens of one input string, plus literal text."""
    n = len(ys)
    for path in cols.strings()[:20]:
        column = cols.column(path)
        for pivot in sorted({0, n // 2}):
            text, y = column[pivot], ys[pivot]
            if not isinstance(text, str) or not isinstance(y, str) or not y:
                continue
            tokens = ALNUM.findall(text)
            for from_end in (False, True):
                parts: list[Node] = []
                used_token = False
                at = 0
                for match in ALNUM.finditer(y):
                    if match.start() > at:
                        parts.append(Const(y[at : match.start()]))
                    for node in _decompose(match.group(0), tokens, path, from_end):
                        used_token |= not isinstance(node, Const)
                        parts.append(node)
                    at = match.end()
                if at < len(y):
                    parts.append(Const(y[at:]))
                if used_token:
                    yield Concat(tuple(_merge_consts(parts)))


def _decompose(piece: str, tokens: list[str], path: Path, from_end: bool) -> list[Node]:
    """Cover a run of letters and digits with input tokens (joined, as in "03112026"),
    falling back to literal characters; the fewest parts win, tokens before literals."""
    variants: list[tuple[str, Node]] = []
    for fn in (None, "upper", "lower", "capitalize"):
        for i, tok in enumerate(tokens):
            value = tok if fn is None else CONVERSIONS[fn](tok)
            index = i - len(tokens) if from_end else i
            node: Node = Token(Get(path), index)
            variants.append((value, node if fn is None else Convert(fn, node)))
    n = len(piece)
    # best[i]: (cost, parts) covering piece[i:]
    best: list[tuple[int, list[Node]]] = [(0, [])] * (n + 1)
    for i in range(n - 1, -1, -1):
        options = [(2 + best[i + 1][0], [Const(piece[i]), *best[i + 1][1]])]
        for value, node in variants:
            if value and piece.startswith(value, i):
                rest = best[i + len(value)]
                options.append((1 + rest[0], [node, *rest[1]]))
        best[i] = min(options, key=lambda o: o[0])
    return _merge_consts(best[0][1])


def _merge_consts(parts: list[Node]) -> list[Node]:
    merged: list[Node] = []
    for part in parts:
        if merged and isinstance(part, Const) and isinstance(merged[-1], Const):
            merged[-1] = Const(merged[-1].value + part.value)
        else:
            merged.append(part)
    return merged


def _extractions(cols: Columns, ys, keys) -> Iterator[Node]:
    """A pattern learned from where the answers sit inside an input string."""
    for path in cols.strings():
        column = cols.column(path)
        pairs = [
            (t, y)
            for t, y in zip(column, ys, strict=True)
            if isinstance(t, str) and isinstance(y, str)
        ]
        if not pairs or sum(1 for t, y in pairs if y and y in t) < 0.9 * len(pairs):
            continue
        for pattern in regex.candidate_patterns(pairs, capture=True):
            yield Extract(Get(path), pattern)


# ------------------------------------------------------------------ numbers


def _decimals(ys) -> int | None:
    """Rounding read off the outputs: the most decimals any output shows (None: not rounded)."""
    most = 0
    for y in ys:
        if isinstance(y, float) and not y.is_integer():
            text = repr(y)
            if "e" in text:
                return None
            most = max(most, len(text.split(".")[1]))
    return most if most <= 6 else None


def _arithmetic(
    cols: Columns, ys, keys, deadline: Deadline, extra: Sequence[tuple[Node, Any]] = ()
) -> Iterator[Node]:
    paths = cols.numbers()[:12]
    y = np.array([float(v) if _is_num(v) else np.nan for v in ys])
    terms: list[tuple[Node, np.ndarray]] = [
        (Get(p), np.array([float(v) for v in cols.column(p)])) for p in paths
    ]
    terms = (terms + list(extra))[:14]  # the time grows with the square of the terms
    if not terms:
        return
    consts = [(Const(1), np.ones_like(y)), (Const(100), np.full_like(y, 100.0))]
    digits = _decimals(ys)
    ops = ("+", "-", "*", "/")

    def close(values: np.ndarray) -> int:
        with np.errstate(all="ignore"):
            if digits is None:
                hit = np.isclose(values, y, rtol=1e-9, atol=1e-12)
            else:
                hit = np.abs(np.round(values, digits) - y) < 0.5 * 10.0**-digits
        return int(np.sum(hit))

    def wrap(node: Node) -> Node:
        if digits is None:
            return node
        return Round(node, digits)

    level1: list[tuple[Node, np.ndarray]] = list(terms)
    with np.errstate(all="ignore"):
        for a, va in terms:
            for b, vb in terms + consts:
                for op in ops:
                    if a == b and op in "-/":
                        continue
                    level1.append((Arith(op, a, b), _np_op(op, va, vb)))
                    if isinstance(b, Const) and op in "-/":
                        level1.append((Arith(op, b, a), _np_op(op, vb, va)))
        for i, (a, va) in enumerate(terms):
            for b, vb in terms[i + 1 :]:
                level1.append((MinMax("min", a, b), np.minimum(va, vb)))
                level1.append((MinMax("max", a, b), np.maximum(va, vb)))
    scored: list[tuple[int, int, Node]] = []
    for at, (node, values) in enumerate(level1):
        scored.append((close(values), -size(node), node))
        learn = at < len(terms)  # constants through rounding: on single terms only (time)
        # A constant factor or offset read off the examples (tax rates, unit conversions),
        # with as few decimals as reproduce the rounded outputs (1.19, not 1.1900003).
        if at >= len(terms) + 150:
            continue  # learned constants on the simpler candidates only (time)
        with np.errstate(all="ignore"):
            raw_ratio = np.nanmedian(y / values)
            raw_offset = np.nanmedian(y - values)
            ratio = _nice(raw_ratio)
            if ratio is None and learn:
                ratio = compose.constants_near(raw_ratio, lambda c, v=values: close(v * c))
            offset = _nice(raw_offset)
            if offset is None and learn:
                offset = compose.constants_near(raw_offset, lambda c, v=values: close(v + c))
        for op, c in (("*", ratio), ("+", offset)):
            if c is not None and c not in (0, 1):
                node_c = Arith(op, node, Const(c))
                scored.append((close(_np_op(op, values, c)), -size(node_c), node_c))
    # A line through the examples: factor and offset both learned (°C -> °F).
    for node, values in terms:
        fit = _affine(values, y, close)
        if fit is not None:
            line = Arith("+", Arith("*", node, Const(fit[1])), Const(fit[2]))
            scored.append((fit[0], -size(line), line))
    # Two operations only when one does not reproduce every example.
    if not deadline.passed() and max(s[0] for s in scored) < int(np.sum(np.isfinite(y))):
        with np.errstate(all="ignore"):
            for a, va in level1[len(terms) : len(terms) + 1500]:
                if deadline.passed():
                    break
                for b, vb in terms[:10] + consts:
                    for op in ops:
                        node = Arith(op, a, b)
                        scored.append((close(_np_op(op, va, vb)), -size(node), node))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    for _, _, node in scored[:5]:
        yield wrap(node)


def _affine(values: np.ndarray, y: np.ndarray, close) -> tuple[int, Any, Any] | None:
    """(hits, factor, offset) of y = values * factor + offset, both with few decimals."""
    ok = np.isfinite(values) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(values[ok]) == 0:
        return None
    with np.errstate(all="ignore"):
        factor, offset = np.polyfit(values[ok], y[ok], 1)
    a = compose.constants_near(float(factor), lambda c: close(values * c + offset))
    if a is None:
        return None
    b = compose.constants_near(float(offset), lambda c: close(values * a + c))
    if b is None:
        return None
    return close(values * a + b), a, b


def _np_op(op: str, a, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b


def _nice(value: float) -> float | None:
    if not math.isfinite(value):
        return None
    for digits in range(0, 5):
        rounded = round(value, digits)
        if abs(rounded - value) <= 1e-9 * max(1.0, abs(value)):
            return int(rounded) if digits == 0 else float(rounded)
    return None


# ------------------------------------------------------------------ labels: rules and tables


def learn_rules(cols: Columns, ys, keys, deadline: Deadline) -> Rules | None:
    """A decision list learned greedily: each rule the purest, widest condition left."""
    n = len(keys)
    min_support = max(2, math.ceil(0.02 * n))
    value_of = {k: y for k, y in zip(keys, ys, strict=True)}
    features = _features(cols)
    remaining = list(range(n))
    rules: list[tuple[Cond, Any]] = []
    while remaining and len(rules) < MAX_RULES and not deadline.passed():
        labels = Counter(keys[i] for i in remaining)
        if len(labels) == 1:
            break
        choice = _best_condition(features, remaining, keys, min_support)
        if choice is None:
            break
        cond, label, covered = choice
        rules.append((cond, value_of[label]))
        covered_set = set(covered)
        remaining = [i for i in remaining if i not in covered_set]
    if not rules:
        return None
    rest = Counter(keys[i] for i in remaining) or Counter(keys)
    default = value_of[rest.most_common(1)[0][0]]
    # Drop trailing rules that say what the default says anyway.
    while rules and output_key(rules[-1][1]) == output_key(default):
        rules.pop()
    return Rules(tuple(rules), default) if rules else None


@dataclass
class _Feature:
    kind: str  # words, equals, number
    path: Path
    values: list[Any]


def _features(cols: Columns) -> list[_Feature]:
    out = []
    for path in cols.paths:
        column = cols.column(path)
        present = [v for v in column if v is not MISSING]
        if not present:
            continue
        distinct = {canonical(v) for v in present if not isinstance(v, (dict, list))}
        if all(_is_num(v) for v in present) and len(distinct) > 2:
            out.append(_Feature("number", path, column))
        if (
            distinct
            and len(distinct) <= 20
            and all(not isinstance(v, (dict, list)) for v in present)
        ):
            out.append(
                _Feature(
                    "equals", path, [canonical(v) if v is not MISSING else None for v in column]
                )
            )
        if _mostly(column, lambda v: isinstance(v, str)) and len(distinct) > 20:
            out.append(
                _Feature(
                    "words", path, [words(v) if isinstance(v, str) else frozenset() for v in column]
                )
            )
    return out


def _best_condition(features, remaining, keys, min_support):
    best = None  # (score tuple, cond, label, covered)
    preference = {"equals": 3, "number": 2, "words": 1}
    for feature in features:
        for cond, label, covered in _conditions(feature, remaining, keys, min_support):
            hits = sum(1 for i in covered if keys[i] == label)
            gain = hits - 3 * (len(covered) - hits)
            score = (gain, preference[feature.kind], -len(str(cond.value)))
            if best is None or score > best[0]:
                best = (score, cond, label, covered)
    return None if best is None else best[1:]


def _pure(counter: Counter, total: int, min_support: int):
    label, hits = counter.most_common(1)[0]
    if hits >= min_support and hits >= 0.98 * total:
        return label
    return None


def _conditions(feature: _Feature, remaining, keys, min_support):
    if feature.kind in ("equals", "words"):
        groups: dict[Any, list[int]] = defaultdict(list)
        for i in remaining:
            value = feature.values[i]
            if feature.kind == "equals":
                if value is not None:
                    groups[value].append(i)
            else:
                for word in value:
                    groups[word].append(i)
        test = "equals" if feature.kind == "equals" else "has_word"
        for value, members in groups.items():
            if len(members) < min_support:
                continue
            label = _pure(Counter(keys[i] for i in members), len(members), min_support)
            if label is not None:
                yield Cond(test, Get(feature.path), value), label, members
        return
    ordered = sorted(
        (i for i in remaining if _is_num(feature.values[i])), key=lambda i: feature.values[i]
    )
    if len(ordered) < 2 * min_support:
        return
    values = [feature.values[i] for i in ordered]
    # Cuts between distinct values; for each direction, the widest pure side per label.
    for direction in ("at_least", "below"):
        seq = ordered[::-1] if direction == "at_least" else ordered
        vals = values[::-1] if direction == "at_least" else values
        counts: Counter = Counter()
        best_for: dict[str, tuple[int, int]] = {}
        for j, i in enumerate(seq):
            counts[keys[i]] += 1
            total = j + 1
            at_boundary = j + 1 < len(seq) and vals[j + 1] != vals[j]
            if not at_boundary:
                continue
            label, hits = counts.most_common(1)[0]
            if hits >= min_support and hits >= 0.98 * total:
                # A wider side must pay for each exception it lets in.
                gain = hits - 3 * (total - hits)
                if label not in best_for or gain > best_for[label][1]:
                    best_for[label] = (total, gain)
        for label, (total, _) in best_for.items():
            inside, outside = vals[total - 1], vals[total]
            lo, hi = (outside, inside) if direction == "at_least" else (inside, outside)
            threshold = _round_between(lo, hi)
            yield Cond(direction, Get(feature.path), threshold), label, seq[:total]


def _round_between(lo: float, hi: float) -> float:
    """The roundest number t with lo < t <= hi (thresholds people write: 1000, 200, 0.5)."""
    span = hi - lo
    magnitude = 10 ** math.floor(math.log10(max(abs(hi), abs(lo), 1e-9)))
    step = magnitude
    while step >= span * 1e-6 and step > 1e-9:
        t = math.ceil(lo / step) * step
        if t == lo:
            t += step
        if lo < t <= hi:
            t = round(t, 10)
            return int(t) if float(t).is_integer() else t
        step /= 10
    return hi


PAIR_FIELDS = 8  # small-domain fields considered two at a time for a table key


def _lookups(cols: Columns, ys, keys) -> Iterator[tuple[Node, int]]:
    """Tables from one small-domain field, or a pair of them; credited only for keys seen
    twice or more."""
    n = len(keys)
    # Any size, as long as keys repeat: only keys seen twice are credited anyway.
    limit = max(2, n // 2)
    value_of = {k: y for k, y in zip(keys, ys, strict=True)}
    small: list[tuple[Path, list[str | None]]] = []
    for path in cols.paths:
        column = cols.column(path)
        if any(isinstance(v, (dict, list)) for v in column[:50]):
            continue
        texts = [canonical(v) if v is not MISSING else None for v in column]
        distinct = len(set(texts) - {None})
        if 2 <= distinct <= limit:
            small.append((path, texts))
            table = _table(texts, keys, value_of, limit)
            if table is not None:
                yield Lookup(Get(path), table[0]), table[1]
        if _mostly(column, lambda v: isinstance(v, str)):
            # Keys written in different cases or spacings: normalised before the lookup.
            key = Convert("normalized", Get(path))
            normal = [canonical(v) if v is not MISSING else None for v in _values_of(key, column)]
            if len(set(normal) - {None}) < distinct:
                table = _table(normal, keys, value_of, limit)
                if table is not None:
                    yield Lookup(key, table[0]), table[1]
    small = small[:PAIR_FIELDS]
    for a in range(len(small)):
        for b in range(a + 1, len(small)):
            (path_a, texts_a), (path_b, texts_b) = small[a], small[b]
            combined = [
                None if x is None or y is None else f"[{x},{y}]"
                for x, y in zip(texts_a, texts_b, strict=True)
            ]
            table = _table(combined, keys, value_of, limit)
            if table is not None:
                yield Lookup(Pair(Get(path_a), Get(path_b)), table[0]), table[1]


def _values_of(node: Convert, column: list[Any]) -> list[Any]:
    """A conversion applied to a column's values (MISSING where it does not apply)."""
    on_value = Convert(node.fn, Get(()))
    out = []
    for v in column:
        ok, got = apply(on_value, v) if v is not MISSING else (False, None)
        out.append(got if ok else MISSING)
    return out


def _table(texts, keys, value_of, limit):
    """(table, credited) for a key column, or None when the domain is too large."""
    groups: dict[str, Counter] = defaultdict(Counter)
    for key_text, k in zip(texts, keys, strict=True):
        if key_text is not None:
            groups[key_text][k] += 1
    if not 2 <= len(groups) <= limit:
        return None
    table = []
    credited = 0
    for key in sorted(groups):
        label, hits = groups[key].most_common(1)[0]
        table.append((key, value_of[label]))
        if sum(groups[key].values()) >= 2:
            credited += hits
    return tuple(table), credited
