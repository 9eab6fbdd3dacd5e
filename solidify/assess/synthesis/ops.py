"""Operations added to the program space beyond the core nodes of program.py.

Each operation is a node type registered with its evaluation, size, description,
strategy and Python rendering (see `program.register`); each evaluates with the very
Python it renders. Text: initials, first letters, slugs, normalised keys, slices and
truncation with an ellipsis. Numbers: any `format` spec (fixed decimals, percent,
grouping, zero padding), min/max of two values. Dates: parse one written form, add
days, write another (month and weekday names included). Lists: aggregates (sum, min,
max over any element program), join, filter-and-map, to-dict. Conditionals whose
branches are programs.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from solidify.assess.synthesis import helpers as H
from solidify.assess.synthesis.program import (
    Cond,
    Get,
    Node,
    add_conversion,
    holds,
    register,
    run,
    size,
)

# ------------------------------------------------------------------ text conversions


def _slug(text: str) -> str:
    """Lowercase words joined by hyphens: "Hello, World!" -> "hello-world"."""
    return "-".join(re.findall(r"[^\W_]+", text.lower()))


H.register(_slug, {"re"})

add_conversion("initials", lambda v: "".join(w[0] for w in v.split()),
               '"".join(word[0] for word in {}.split())')  # fmt: skip
add_conversion("initials_dotted", lambda v: "".join(w[0] + "." for w in v.split()),
               '"".join(word[0] + "." for word in {}.split())')  # fmt: skip
add_conversion("first_letter", lambda v: v[0], "{}[0]")
add_conversion("slug", H.FUNCTIONS["_slug"], "_slug({})", ("_slug",))
add_conversion("normalized", lambda v: " ".join(v.lower().split()), '" ".join({}.lower().split())')
TEXT_CONVERSIONS = ("initials", "initials_dotted", "first_letter", "slug")


# ------------------------------------------------------------------ nodes


@dataclass(frozen=True)
class Format:
    """format(value, spec): fixed decimals, percent, grouping, zero padding."""

    arg: Node
    spec: str


@dataclass(frozen=True)
class Slice:
    """text[start:stop]: the first or last characters."""

    arg: Node
    start: int | None
    stop: int | None


@dataclass(frozen=True)
class Truncate:
    """The text cut to `width` characters, ending in `ellipsis` when it was longer."""

    arg: Node
    width: int
    ellipsis: str


@dataclass(frozen=True)
class MinMax:
    """min(a, b) or max(a, b)."""

    fn: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Aggregate:
    """sum / min / max of a program over the items of a list."""

    ELEMENT_FIELDS = ("item",)  # programs of one element, read through its own root

    fn: str
    source: Node
    item: Node


@dataclass(frozen=True)
class Join:
    """sep.join(item for item in source)."""

    ELEMENT_FIELDS = ("item",)  # programs of one element, read through its own root

    sep: str
    source: Node
    item: Node


@dataclass(frozen=True)
class FilterMap:
    """[item(e) for e in source if cond(e)]."""

    ELEMENT_FIELDS = ("cond", "item")  # programs of one element, read through its own root

    source: Node
    cond: Cond
    item: Node


@dataclass(frozen=True)
class ToDict:
    """{key(e): value(e) for e in source}."""

    ELEMENT_FIELDS = ("key", "value")  # programs of one element, read through its own root

    source: Node
    key: Node
    value: Node


@dataclass(frozen=True)
class DateFormat:
    """A date written one way, `days` later, written another way."""

    arg: Node
    parse: str
    write: str
    days: int = 0


@dataclass(frozen=True)
class IfElse:
    """then if cond else otherwise: a condition choosing between two programs."""

    cond: Cond
    then: Node
    otherwise: Node


# ------------------------------------------------------------------ plain words

_SPEC_WORDS = {
    ".0f": "with no decimals",
    ".1f": "with 1 decimal",
    ".2f": "with 2 decimals",
    ".3f": "with 3 decimals",
    ",.0f": "with thousands separators",
    ",d": "with thousands separators",
    ",.2f": "with thousands separators and 2 decimals",
    ",.1f": "with thousands separators and 1 decimal",
    ".0%": "as a percent",
    ".1%": "as a percent with 1 decimal",
    ".2%": "as a percent with 2 decimals",
}


def spec_words(spec: str) -> str:
    found = re.fullmatch(r"0(\d+)d", spec)
    if found:
        return f"padded with zeros to {found.group(1)} digits"
    return _SPEC_WORDS.get(spec, f"formatted as {spec!r}")


def _slice_words(node: Slice, d) -> str:
    if node.start is None and node.stop is not None and node.stop > 0:
        return f"the first {node.stop} characters of {d(node.arg)}"
    if node.start is not None and node.start < 0 and node.stop is None:
        return f"the last {-node.start} characters of {d(node.arg)}"
    return f"characters {node.start}:{node.stop} of {d(node.arg)}"


def _slice_text(start: int | None, stop: int | None) -> str:
    return f"[{'' if start is None else start}:{'' if stop is None else stop}]"


# ------------------------------------------------------------------ registration

register(
    Format,
    evaluate=lambda node, x: format(run(node.arg, x), node.spec),
    size=lambda node: 1 + size(node.arg),
    describe=lambda node, d, root: f"{d(node.arg)} {spec_words(node.spec)}",
    strategy=lambda node: "format",
    render=lambda node, r, root: f"format({r.expr(node.arg, root)}, {r.string(node.spec)})",
)
register(
    Slice,
    evaluate=lambda node, x: run(node.arg, x)[node.start : node.stop],
    size=lambda node: 2 + size(node.arg),
    describe=lambda node, d, root: _slice_words(node, d),
    strategy=lambda node: "text",
    render=lambda node, r, root: r.expr(node.arg, root) + _slice_text(node.start, node.stop),
)


@H.register
def _truncate(text: str, width: int, ellipsis: str) -> str:
    """The text as it is when it fits in `width` characters, else cut to end in `ellipsis`."""
    if len(text) <= width:
        return text
    return text[: width - len(ellipsis)].rstrip() + ellipsis


register(
    Truncate,
    evaluate=lambda node, x: H.FUNCTIONS["_truncate"](run(node.arg, x), node.width, node.ellipsis),
    size=lambda node: 2 + size(node.arg),
    describe=lambda node, d, root: (
        f"{d(node.arg)} cut to {node.width} characters ending in {node.ellipsis!r}"
    ),
    strategy=lambda node: "text",
    render=lambda node, r, root: (
        f"{r.helper('_truncate')}({r.expr(node.arg, root)}, {node.width}, "
        f"{r.string(node.ellipsis)})"
    ),
)
register(
    MinMax,
    evaluate=lambda node, x: (min if node.fn == "min" else max)(
        run(node.left, x), run(node.right, x)
    ),
    size=lambda node: 1 + size(node.left) + size(node.right),
    describe=lambda node, d, root: (
        f"the {'smaller' if node.fn == 'min' else 'larger'} of {d(node.left)} and {d(node.right)}"
    ),
    strategy=lambda node: "arithmetic",
    render=lambda node, r, root: (
        f"{node.fn}({r.expr(node.left, root)}, {r.expr(node.right, root)})"
    ),
)


def _each(node: Any, x: Any, item: Node) -> list[Any]:
    return [run(item, e) for e in run(node.source, x)]


def _gen(r, node: Any, root: str | None, item_node: Node) -> str:
    """`expr for item in source` (or just `source` when the item is the element itself)."""
    source = r.expr(node.source, root)
    if item_node == Get(()):
        return source
    item = r.loop_name("item")
    return f"{r.expr(item_node, item)} for {item} in {source}"


_AGGREGATE = {"sum": sum, "min": min, "max": max}
_AGGREGATE_WORDS = {"sum": "the sum", "min": "the smallest", "max": "the largest"}

register(
    Aggregate,
    evaluate=lambda node, x: _AGGREGATE[node.fn](_each(node, x, node.item)),
    size=lambda node: 1 + size(node.source) + size(node.item),
    describe=lambda node, d, root: (
        f"{_AGGREGATE_WORDS[node.fn]} over the items of {d(node.source)} "
        f"of {_describe_item(node.item)}"
    ),
    strategy=lambda node: "list-aggregate",
    render=lambda node, r, root: f"{node.fn}({_gen(r, node, root, node.item)})",
)
register(
    Join,
    evaluate=lambda node, x: node.sep.join(_each(node, x, node.item)),
    size=lambda node: 1 + size(node.source) + size(node.item),
    describe=lambda node, d, root: (
        f"the items of {d(node.source)} ({_describe_item(node.item)}) joined by {node.sep!r}"
    ),
    strategy=lambda node: "list-join",
    render=lambda node, r, root: f"{r.string(node.sep)}.join({_gen(r, node, root, node.item)})",
)


def _describe_item(item: Node) -> str:
    from solidify.assess.synthesis.program import describe

    return describe(item, "item")


def _render_filter(node: FilterMap, r, root: str | None) -> str:
    source = r.expr(node.source, root)
    item = r.loop_name("item")
    return f"[{r.expr(node.item, item)} for {item} in {source} if {r.cond(node.cond, item)}]"


register(
    FilterMap,
    evaluate=lambda node, x: [
        run(node.item, e) for e in run(node.source, x) if holds(node.cond, e)
    ],
    size=lambda node: 2 + size(node.source) + size(node.item) + size(node.cond.arg),
    describe=lambda node, d, root: (
        f"{_describe_item(node.item)} for each item of {d(node.source)} where "
        f"{_describe_item(node.cond.arg)} {node.cond.test.replace('_', ' ')} {node.cond.value}"
    ),
    strategy=lambda node: "list-filter",
    render=_render_filter,
)


def _render_to_dict(node: ToDict, r, root: str | None) -> str:
    source = r.expr(node.source, root)
    item = r.loop_name("item")
    return f"{{{r.expr(node.key, item)}: {r.expr(node.value, item)} for {item} in {source}}}"


register(
    ToDict,
    evaluate=lambda node, x: {run(node.key, e): run(node.value, e) for e in run(node.source, x)},
    size=lambda node: 1 + size(node.source) + size(node.key) + size(node.value),
    describe=lambda node, d, root: (
        f"a dict from the items of {d(node.source)}: {_describe_item(node.key)} -> "
        f"{_describe_item(node.value)}"
    ),
    strategy=lambda node: "list-to-dict",
    render=_render_to_dict,
)


def _date(node: DateFormat, x: Any) -> str:
    value = datetime.datetime.strptime(run(node.arg, x), node.parse)
    if node.days:
        value = value + datetime.timedelta(days=node.days)
    return value.strftime(node.write)


def _render_date(node: DateFormat, r, root: str | None) -> str:
    r.import_module("datetime")
    parsed = f"datetime.datetime.strptime({r.expr(node.arg, root)}, {r.string(node.parse)})"
    if node.days:
        parsed = f"({parsed} + datetime.timedelta(days={node.days}))"
    return f"{parsed}.strftime({r.string(node.write)})"


register(
    DateFormat,
    evaluate=_date,
    size=lambda node: 2 + size(node.arg) + (1 if node.days else 0),
    describe=lambda node, d, root: (
        f"the date {d(node.arg)} (read as {node.parse})"
        + (f" plus {node.days} days" if node.days else "")
        + f" written as {node.write}"
    ),
    strategy=lambda node: "date",
    render=_render_date,
)
register(
    IfElse,
    evaluate=lambda node, x: run(node.then, x) if holds(node.cond, x) else run(node.otherwise, x),
    size=lambda node: 1 + size(node.cond.arg) + size(node.then) + size(node.otherwise),
    describe=lambda node, d, root: (
        f"if {d(node.cond.arg)} {node.cond.test.replace('_', ' ')} {node.cond.value}: "
        f"{d(node.then)}, else {d(node.otherwise)}"
    ),
    strategy=lambda node: "conditional",
    render=lambda node, r, root: (
        f"({r.expr(node.then, root)} if {r.cond(node.cond, root)} "
        f"else {r.expr(node.otherwise, root)})"
    ),
)

# (".2f" and ",.2f" are the conversions fixed2 and grouped2)
NUMBER_SPECS = (".0f", ".1f", ".3f", ",.0f", ",.1f", ",d", ".0%", ".1%", ".2%")
PAD_SPECS = tuple(f"0{n}d" for n in range(2, 9))
# Dates as people write them; the first form that reads every value is used.
PARSE_DATES = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%B %d, %Y",
    "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y%m%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
)  # fmt: skip
WRITE_DATES = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%B %-d, %Y", "%b %-d, %Y", "%-d %B %Y",
    "%d %B %Y", "%-d %b %Y", "%A", "%a", "%B", "%b", "%A, %B %-d, %Y", "%a %d %b %Y",
    "%B %Y", "%Y", "%m/%Y", "%d %b", "%Y%m%d", "%A %-d %B",
)  # fmt: skip
