"""Objects whose keys vary: a key written only when the input has a field, only when
that field is not null, or only when the key's own value is not null.

`OptionalObject` always writes its `fields` and writes each of its `optional` keys when
its condition holds: `Has(container, key)` (the input has the field: `"email" in data`),
`Has(container, key, given=True)` (has it and it is not null:
`data.get("note") is not None`), or no condition (the value itself is not null). At the
top of a function it renders as a person writes it: a dict, then one `if` per optional
key; inside an expression, as `**({...} if ... else {})`.

`learn_presence` chooses, for one optional key, the condition that tells the examples
having it from those without it; the search (search._object_candidates) learns each
key's value program on the examples that have the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solidify.assess.synthesis.program import (
    Cond,
    Const,
    Fail,
    Get,
    Node,
    Renders,
    apply,
    holds,
    register,
    run,
)
from solidify.assess.synthesis.program import size as size_of

MAX_CONTAINERS = 40  # objects in the input whose keys may decide an output key
PROBE = 200  # inputs walked for those objects


@dataclass(frozen=True)
class Has:
    """Whether the object `container` of the input has `key` (`given`: and not null)."""

    container: Node
    key: str
    given: bool = False


@dataclass(frozen=True)
class When:
    """Whether a condition on the input holds (a threshold, an equality, a word)."""

    cond: Cond


Presence = Has | When | None  # None: when the key's own value is not null


@dataclass(frozen=True)
class OptionalObject:
    fields: tuple[tuple[str, Node], ...]
    optional: tuple[tuple[str, Node, Has | When | None], ...]


def has(test: Has | When, x: Any) -> bool:
    if isinstance(test, When):
        return holds(test.cond, x)
    # The very expressions the rendered code writes (`in` and `.get`).
    container = run(test.container, x)
    return container.get(test.key) is not None if test.given else test.key in container


def _evaluate(node: OptionalObject, x: Any) -> dict[str, Any]:
    out = {name: run(sub, x) for name, sub in node.fields}
    for name, sub, test in node.optional:
        if test is None:
            value = run(sub, x)
            if value is not None:
                out[name] = value
        elif has(test, x):
            out[name] = run(sub, x)
    return out


def _test_text(test: Presence, value: str, r: Renders, root: str | None) -> str:
    if test is None:
        return f"{value} is not None"
    if isinstance(test, When):
        return r.cond(test.cond, root)
    container = r.expr(test.container, root)
    if test.given:
        return f"{container}.get({r.string(test.key)}) is not None"
    return f"{r.string(test.key)} in {container}"


def _fixed(sub: Node, test: Presence) -> bool:
    """A constant written when it is not null: always, or never (no test to write)."""
    return test is None and isinstance(sub, Const)


def _render(node: OptionalObject, r: Renders, root: str | None) -> str:
    parts = [f"{r.string(k)}: {r.expr(v, root)}" for k, v in node.fields]
    for name, sub, test in node.optional:
        value = r.expr(sub, root)
        if _fixed(sub, test):
            if sub.value is not None:
                parts.append(f"{r.string(name)}: {value}")
            continue
        parts.append(f"**({{{r.string(name)}: {value}}} if "
                     f"{_test_text(test, value, r, root)} else {{}})")  # fmt: skip
    return "{" + ", ".join(parts) + "}"


def _body(node: OptionalObject, r: Any) -> list[str]:
    """Statements that build the dict, then add each optional key under its `if`."""
    out = r.loop_name("out")
    lines = [f"{out} = {{"]
    lines += [f"    {r.string(k)}: {r.expr(v)}," for k, v in node.fields]
    lines.append("}")
    for name, sub, test in node.optional:
        value = r.expr(sub)
        if _fixed(sub, test):
            if sub.value is not None:
                lines.append(f"{out}[{r.string(name)}] = {value}")
            continue
        if test is None and not isinstance(sub, Get):
            # A computed value is computed once, named after its key.
            local = r.loop_name(name)
            lines.append(f"{local} = {value}")
            value = local
        lines.append(f"if {_test_text(test, value, r, None)}:")
        lines.append(f"    {out}[{r.string(name)}] = {value}")
    lines.append(f"return {out}")
    return lines


def _describe(node: OptionalObject, d) -> str:
    parts = [f"{k}: {d(v)}" for k, v in node.fields]
    for name, sub, test in node.optional:
        if test is None:
            when = "when not null"
        elif isinstance(test, When):
            cond = test.cond
            when = f"when {d(cond.arg)} {cond.test.replace('_', ' ')} {cond.value}"
        else:
            has = f"when {d(test.container)} has {test.key}"
            when = f"{has}, not null" if test.given else has
        parts.append(f"{name}: {d(sub)} ({when})")
    return "{" + ", ".join(parts) + "}"


register(
    OptionalObject,
    evaluate=_evaluate,
    size=lambda node: (
        sum(size_of(v) for _, v in node.fields) + sum(1 + size_of(v) for _, v, _ in node.optional)
    ),
    describe=lambda node, d, root: _describe(node, d),
    strategy=lambda node: "object",
    render=_render,
    body=_body,
)


# ------------------------------------------------------------------ learning


def containers(xs: Sequence[Any], depth: int = 3) -> list[tuple[Any, ...]]:
    """Paths of the objects in the inputs (the input itself first), most common first."""
    seen: dict[tuple[Any, ...], int] = {}

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            seen[path] = seen.get(path, 0) + 1
            if len(path) < depth:
                for key, sub in value.items():
                    walk(sub, (*path, key))

    for x in xs[:PROBE]:
        walk(x, ())
    return sorted(seen, key=lambda p: (-seen[p], len(p), [str(k) for k in p]))[:MAX_CONTAINERS]


def learn_presence(
    xs: Sequence[Any],
    present: Sequence[bool],
    value: Node,
    paths: Sequence[tuple[Any, ...]],
    conds: Sequence[Cond] = (),
) -> tuple[Presence, int]:
    """The condition that best tells the examples with the key (`present`) from those
    without it, and how many examples it tells right: the value not null, or a field of
    the input present (and not null), or one of `conds` (conditions on the input's
    values) holding."""
    best: tuple[Presence, int] = (None, _agreement(xs, present, None, value))
    keys_of: dict[tuple[Any, ...], set[str]] = {}
    for path in paths:
        keys: set[str] = set()
        for x in xs[:PROBE]:
            ok, container = apply(Get(path), x)
            if ok and isinstance(container, dict):
                keys.update(k for k in container if isinstance(k, str))
        keys_of[path] = keys
    for path in paths:
        for key in sorted(keys_of[path]):
            for given in (False, True):
                test = Has(Get(path), key, given)
                right = _agreement(xs, present, test, value)
                if right > best[1]:
                    best = (test, right)
                if best[1] == len(xs):
                    return best
    for cond in conds:
        right = _agreement(xs, present, When(cond), value)
        if right > best[1]:
            best = (When(cond), right)
    return best


def _agreement(xs: Sequence[Any], present: Sequence[bool], test: Presence, value: Node) -> int:
    """Examples on which the condition says what the log says (an input the condition
    cannot be checked on is a miss: the program does not apply to it)."""
    right = 0
    for x, wanted in zip(xs, present, strict=True):
        if test is None:
            ok, got = apply(value, x)
            right += ok and (got is not None) == wanted
        else:
            with contextlib.suppress(Fail, TypeError, AttributeError, KeyError, IndexError):
                right += has(test, x) == wanted
    return right
