"""Programs are data: small immutable trees that map a step's input to its output.

Each node type is registered once (`REGISTRY`) with everything about it: how it is
evaluated, its size, its description in plain words, its strategy name and the
Python a person would write for it. `run` evaluates a tree on one input; `describe`
says in one line what it does; `size` measures it (the search prefers the smallest
program that fits); `to_dict` gives the JSON form; `render` gives its Python
(`solidify.migrate` supplies the code generator). The interpreter evaluates each node
with the very expression it renders, so the measured program is the written one.
Nothing here executes text from a log: patterns are compiled by `re`, values are data.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Protocol

from solidify.assess.canonical import canonical_json
from solidify.assess.synthesis import helpers as H

Path = tuple[str | int, ...]


class Fail(Exception):
    """The program does not apply to this input (missing field, wrong type, no match)."""


# ------------------------------------------------------------------ nodes


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Get:
    """A value taken from the input at a path of keys and list indexes; () is the input."""

    path: Path


@dataclass(frozen=True)
class Convert:
    fn: str
    arg: Node


@dataclass(frozen=True)
class Token:
    """The index-th run of letters and digits in a string (negative counts from the end)."""

    arg: Node
    index: int


@dataclass(frozen=True)
class Concat:
    """Strings joined: literal text around values taken from the input."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Extract:
    """The first match of a pattern in a string (a group when the pattern has one), else None."""

    arg: Node
    pattern: str


@dataclass(frozen=True)
class ExtractAll:
    """Every match of a pattern in a string, as a list."""

    arg: Node
    pattern: str


@dataclass(frozen=True)
class Pair:
    """Two values side by side: the key of a table over a combination of fields."""

    first: Node
    second: Node


@dataclass(frozen=True)
class Lookup:
    """A table from a key (canonical JSON of a field) to the output; unseen keys fail."""

    key: Node
    table: tuple[tuple[str, Any], ...]

    def __post_init__(self) -> None:
        # The table as the rendered code holds it: a dict keyed by the value itself when
        # every key is text or every key an integer (Python's dict semantics then decide,
        # in the interpreter as in the generated code), by (first, second) for a pair of
        # text fields, else by the key's canonical JSON text. The first row wins for a key.
        keys = [json.loads(k) for k, _ in self.table]
        if (
            isinstance(self.key, Pair)
            and keys
            and all(
                isinstance(k, list) and len(k) == 2 and all(isinstance(p, str) for p in k)
                for k in keys
            )
        ):
            mode, python_keys = "pair", [tuple(k) for k in keys]
        elif all(isinstance(k, str) for k in keys) or all(
            isinstance(k, int) and not isinstance(k, bool) for k in keys
        ):
            mode, python_keys = "plain", keys
        else:
            mode, python_keys = "canonical", [H._canonical(k) for k in keys]
        table: dict[Any, Any] = {}
        for key, (_, value) in zip(python_keys, self.table, strict=True):
            table.setdefault(key, value)
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "python_table", table)

    def find(self, key: str) -> Any:
        """The output for a key given as canonical JSON text."""
        return _lookup(Lookup(Const(json.loads(key)), self.table), None)


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Round:
    arg: Node
    digits: int


@dataclass(frozen=True)
class Object:
    fields: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class MapList:
    """[item(element) for element in source]."""

    source: Node
    item: Node


@dataclass(frozen=True)
class Cond:
    """A test on an input value: has_word, equals, at_least or below."""

    test: str
    arg: Node
    value: Any  # equals: the constant as canonical JSON text; has_word: a word; else a number

    @property
    def constant(self) -> Any:
        return json.loads(self.value) if self.test == "equals" else self.value


@dataclass(frozen=True)
class Rules:
    """A decision list: the first rule whose condition holds gives the output."""

    rules: tuple[tuple[Cond, Any], ...]
    default: Any


Node = (
    Const | Get | Convert | Token | Concat | Extract | ExtractAll | Pair | Lookup | Arith
    | Round | Object | MapList | Rules
)  # fmt: skip

# ------------------------------------------------------------------ the registry


class Renders(Protocol):
    """What a node's Python rendering may ask of the code generator (solidify.migrate.render)."""

    def expr(self, node: Node, root: str | None = None) -> str: ...
    def get(self, path: Path, root: str | None) -> str: ...
    def helper(self, name: str) -> str: ...
    def pattern(self, pattern: str) -> str: ...
    def constant(self, wanted: str, source: str) -> str: ...
    def loop_name(self, wanted: str = "item") -> str: ...
    def import_module(self, name: str) -> None: ...
    def literal(self, value: Any) -> str: ...
    def string(self, text: str) -> str: ...
    def fstring_text(self, text: str) -> str: ...
    def cond(self, cond: Cond, root: str | None = None) -> str: ...


@dataclass(frozen=True)
class Kind:
    """Everything about one node type, in one place.

    evaluate(node, x)          the output on one input (raises on inputs it does not apply to)
    size(node)                 how big it is (the search prefers smaller programs)
    describe(node, d, root)    plain words (`d` describes a sub-node)
    strategy(node)             the short name of how it works (CONTRACT §2 `replacement.strategy`)
    render(node, r, root)      the Python expression a person would write (`r`: the code generator)
    body(node, r)              optional: the statements of a function that returns it, where a
                               person writes statements rather than one expression
    """

    evaluate: Callable[[Any, Any], Any]
    size: Callable[[Any], int]
    describe: Callable[[Any, Callable[[Any], str], str], str]
    strategy: Callable[[Any], str]
    render: Callable[[Any, Renders, str | None], str]
    body: Callable[[Any, Any], list[str]] | None = None


REGISTRY: dict[type, Kind] = {}


def register(cls: type, **parts: Any) -> type:
    REGISTRY[cls] = Kind(**parts)
    return cls


# ------------------------------------------------------------------ evaluation

WORD = re.compile(r"\w+")
ALNUM = re.compile(r"[^\W_]+")


@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def words(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(text.lower()))


# Conversions: (the function the interpreter calls, the Python written for it, helpers it uses).
# Each function is the very expression that is rendered, so the two cannot disagree.
_CONVERT: dict[str, tuple[Callable[[Any], Any], str, tuple[str, ...]]] = {
    "str": (H._as_text, "_as_text({})", ("_as_text",)),
    "int": (lambda v: int(H._as_number(v)), "int(_as_number({}))", ("_as_number",)),
    "float": (lambda v: float(H._as_number(v)), "float(_as_number({}))", ("_as_number",)),
    "lower": (lambda v: v.lower(), "{}.lower()", ()),
    "upper": (lambda v: v.upper(), "{}.upper()", ()),
    "strip": (lambda v: v.strip(), "{}.strip()", ()),
    "title": (lambda v: v.title(), "{}.title()", ()),
    "capitalize": (lambda v: v.capitalize(), "{}.capitalize()", ()),
    "first_word": (lambda v: v.split()[0], "{}.split()[0]", ()),
    "last_word": (lambda v: v.split()[-1], "{}.split()[-1]", ()),
    "len": (len, "len({})", ()),
    # Numbers as people write them in messages: "1234.50", "1,234.50".
    "fixed2": (lambda v: format(v, ".2f"), 'format({}, ".2f")', ()),
    "grouped2": (lambda v: format(v, ",.2f"), 'format({}, ",.2f")', ()),
}
CONVERSIONS: dict[str, Callable[[Any], Any]] = {k: v[0] for k, v in _CONVERT.items()}
NUMBER_TEXT_CONVERSIONS = ("str", "fixed2", "grouped2")
STRING_CONVERSIONS = ("lower", "upper", "strip", "title", "capitalize", "first_word", "last_word")


def add_conversion(
    name: str, function: Callable[[Any], Any], python: str, helpers: tuple[str, ...] = ()
) -> None:
    """A new conversion: `python` is its rendering with {} for the argument."""
    _CONVERT[name] = (function, python, helpers)
    CONVERSIONS[name] = function


def get_path(value: Any, path: Path) -> Any:
    """value[k1][k2]... exactly as Python indexes (a missing key or index fails)."""
    try:
        for key in path:
            value = value[key]
    except (KeyError, IndexError, TypeError):
        raise Fail("no such key or index") from None
    return value


def canonical(value: Any) -> str:
    """The key used by lookups and by equality of outputs."""
    return canonical_json(value) or "null"


def run(node: Node, x: Any) -> Any:
    """Evaluate a program on one input. Raises Fail (or a Python error) when it does not apply."""
    try:
        kind = REGISTRY[type(node)]
    except KeyError:
        raise TypeError(f"unknown node {node!r}") from None
    return kind.evaluate(node, x)


def apply(node: Node, x: Any) -> tuple[bool, Any]:
    """(True, output) or (False, None) when the program does not apply (the rendered
    Python raises on exactly those inputs)."""
    try:
        return True, run(node, x)
    except (
        Fail, RecursionError, ArithmeticError, ValueError, TypeError, AttributeError,
        KeyError, IndexError,
    ):  # fmt: skip
        return False, None


def size(node: Node) -> int:
    return REGISTRY[type(node)].size(node)


def strategy(node: Node) -> str:
    """The short name of how the program works (CONTRACT §2 `replacement.strategy`)."""
    return REGISTRY[type(node)].strategy(node)


def describe(node: Node, root: str = "input") -> str:
    """One line a person can read."""
    return REGISTRY[type(node)].describe(node, lambda n: describe(n, root), root)


def render(node: Node, r: Renders, root: str | None = None) -> str:
    """The Python expression for a node."""
    return REGISTRY[type(node)].render(node, r, root)


def path_text(path: Path, root: str = "input") -> str:
    text = root
    for key in path:
        text += (
            f"[{key}]"
            if isinstance(key, int)
            else (f".{key}" if str(key).isidentifier() else f"[{key!r}]")
        )
    return text


def _const_text(value: Any) -> str:
    return canonical(value)


def _operand(node: Node, d: Callable[[Node], str]) -> str:
    """A number inside a formula is written as the number, not as "always 1.2"."""
    return _const_text(node.value) if isinstance(node, Const) else d(node)


# ------------------------------------------------------------------ the node types

register(
    Const,
    evaluate=lambda node, x: node.value,
    size=lambda node: 1,
    describe=lambda node, d, root: f"always {_const_text(node.value)}",
    strategy=lambda node: "constant",
    render=lambda node, r, root: r.literal(node.value),
)
register(
    Get,
    evaluate=lambda node, x: get_path(x, node.path),
    size=lambda node: 1,
    describe=lambda node, d, root: path_text(node.path, root),
    strategy=lambda node: "field",
    render=lambda node, r, root: r.get(node.path, root),
)


def _render_convert(node: Convert, r: Renders, root: str | None) -> str:
    _, python, helpers = _CONVERT[node.fn]
    for name in helpers:
        r.helper(name)
    return python.format(r.expr(node.arg, root))


register(
    Convert,
    evaluate=lambda node, x: _CONVERT[node.fn][0](run(node.arg, x)),
    size=lambda node: 1 + size(node.arg),
    describe=lambda node, d, root: f"{node.fn}({d(node.arg)})",
    strategy=lambda node: "field",
    render=_render_convert,
)
register(
    Token,
    evaluate=lambda node, x: H._tokens(run(node.arg, x))[node.index],
    size=lambda node: 2 + size(node.arg),
    describe=lambda node, d, root: f"word {node.index} of {d(node.arg)}",
    strategy=lambda node: "flashfill",
    render=lambda node, r, root: f"{r.helper('_tokens')}({r.expr(node.arg, root)})[{node.index}]",
)


def _render_concat(node: Concat, r: Renders, root: str | None) -> str:
    pieces: list[str] = []
    for part in node.parts:
        if isinstance(part, Const) and isinstance(part.value, str):
            pieces.append(r.fstring_text(part.value))
            continue
        inner = r.expr(part, root)
        # Before Python 3.12 an f-string expression cannot hold quotes or backslashes.
        if '"' in inner or "\\" in inner or "'" in inner:
            return "(" + " + ".join(_text_part(p, r, root) for p in node.parts) + ")"
        pieces.append("{" + inner + "}")
    return 'f"' + "".join(pieces) + '"'


def _text_part(part: Node, r: Renders, root: str | None) -> str:
    if isinstance(part, Const) and isinstance(part.value, str):
        return r.literal(part.value)
    # str() is what an f-string does with a value.
    return f"str({r.expr(part, root)})"


register(
    Concat,
    # f"{value}" formats any value as str() does; the interpreter does the same.
    evaluate=lambda node, x: "".join([str(run(part, x)) for part in node.parts]),
    size=lambda node: sum(size(p) for p in node.parts),
    describe=lambda node, d, root: (
        "text "
        + " + ".join(_const_text(p.value) if isinstance(p, Const) else d(p) for p in node.parts)
    ),
    strategy=lambda node: (
        "flashfill" if any(isinstance(p, Token) for p in node.parts) else "template"
    ),
    render=_render_concat,
)
register(
    Extract,
    evaluate=lambda node, x: H._first_match(compiled(node.pattern), run(node.arg, x)),
    size=lambda node: 2 + size(node.arg) + node.pattern.count("|"),
    describe=lambda node, d, root: f"first match of /{node.pattern}/ in {d(node.arg)}, else null",
    strategy=lambda node: "regex",
    render=lambda node, r, root: (
        f"{r.helper('_first_match')}({r.pattern(node.pattern)}, {r.expr(node.arg, root)})"
    ),
)
register(
    ExtractAll,
    evaluate=lambda node, x: compiled(node.pattern).findall(run(node.arg, x)),
    size=lambda node: 2 + size(node.arg) + node.pattern.count("|"),
    describe=lambda node, d, root: f"all matches of /{node.pattern}/ in {d(node.arg)}",
    strategy=lambda node: "regex",
    render=lambda node, r, root: f"{r.pattern(node.pattern)}.findall({r.expr(node.arg, root)})",
)
register(
    Pair,
    evaluate=lambda node, x: [run(node.first, x), run(node.second, x)],
    size=lambda node: 1 + size(node.first) + size(node.second),
    describe=lambda node, d, root: f"{d(node.first)} and {d(node.second)}",
    strategy=lambda node: "lookup",
    render=lambda node, r, root: f"[{r.expr(node.first, root)}, {r.expr(node.second, root)}]",
)


def _lookup(node: Lookup, x: Any) -> Any:
    mode = node.mode
    if mode == "plain":
        return node.python_table[run(node.key, x)]
    if mode == "pair":
        return node.python_table[tuple(run(node.key, x))]
    return node.python_table[H._canonical(run(node.key, x))]


def _render_lookup(node: Lookup, r: Renders, root: str | None) -> str:
    mode = node.mode
    if mode == "pair":
        assert isinstance(node.key, Pair)
        entries = [(f"({r.literal(k[0])}, {r.literal(k[1])})", r.literal(v))
                   for k, v in node.python_table.items()]  # fmt: skip
        key = f"({r.expr(node.key.first, root)}, {r.expr(node.key.second, root)})"
    elif mode == "plain":
        entries = [(r.literal(k), r.literal(v)) for k, v in node.python_table.items()]
        key = r.expr(node.key, root)
    else:
        entries = [(r.string(k), r.literal(v)) for k, v in node.python_table.items()]
        key = f"{r.helper('_canonical')}({r.expr(node.key, root)})"
    body = "{\n" + "".join(f"    {k}: {v},\n" for k, v in entries) + "}"
    return f"{r.constant('table', body)}[{key}]"


register(
    Lookup,
    evaluate=_lookup,
    size=lambda node: 2 + size(node.key) + math.ceil(len(node.table) / 4),
    describe=lambda node, d, root: f"table of {len(node.table)} entries keyed by {d(node.key)}",
    strategy=lambda node: "lookup",
    render=_render_lookup,
)

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}  # fmt: skip


def arith(op: str, a: Any, b: Any) -> Any:
    """a op b, as Python computes it (division by zero raises ZeroDivisionError)."""
    return _OPS[op](a, b)


register(
    Arith,
    evaluate=lambda node, x: _OPS[node.op](run(node.left, x), run(node.right, x)),
    size=lambda node: 1 + size(node.left) + size(node.right),
    describe=lambda node, d, root: (
        f"({_operand(node.left, d)} {node.op} {_operand(node.right, d)})"
    ),
    strategy=lambda node: "arithmetic",
    render=lambda node, r, root: (
        f"({r.expr(node.left, root)} {node.op} {r.expr(node.right, root)})"
    ),
)
register(
    Round,
    evaluate=lambda node, x: (
        round(run(node.arg, x), node.digits) if node.digits > 0 else round(run(node.arg, x))
    ),
    size=lambda node: 1 + size(node.arg),
    describe=lambda node, d, root: f"round({d(node.arg)}, {node.digits})",
    strategy=lambda node: "arithmetic",
    render=lambda node, r, root: (
        f"round({r.expr(node.arg, root)}, {node.digits})"
        if node.digits > 0
        else f"round({r.expr(node.arg, root)})"
    ),
)
register(
    Object,
    evaluate=lambda node, x: {name: run(sub, x) for name, sub in node.fields},
    size=lambda node: sum(size(n) for _, n in node.fields),
    describe=lambda node, d, root: "{" + ", ".join(f"{k}: {d(v)}" for k, v in node.fields) + "}",
    strategy=lambda node: "object",
    render=lambda node, r, root: (
        "{" + ", ".join(f"{r.string(k)}: {r.expr(v, root)}" for k, v in node.fields) + "}"
    ),
)


def _render_map(node: MapList, r: Renders, root: str | None) -> str:
    item = r.loop_name("item")
    return f"[{r.expr(node.item, item)} for {item} in {r.expr(node.source, root)}]"


register(
    MapList,
    evaluate=lambda node, x: [run(node.item, item) for item in run(node.source, x)],
    size=lambda node: 1 + size(node.source) + size(node.item),
    describe=lambda node, d, root: (
        f"for each item of {d(node.source)}: {describe(node.item, 'item')}"
    ),
    strategy=lambda node: "list-map",
    render=_render_map,
)


def holds(cond: Cond, x: Any) -> bool:
    """Whether a rule's condition holds. A field the input lacks makes the program not
    apply, as the rendered `data["field"]` raises."""
    value = run(cond.arg, x)
    test = cond.test
    if test == "equals":
        return _equals(value, cond.constant)
    if test == "has_word":
        return cond.value in H._words(value)
    if test == "at_least":
        return H._is_number(value) and value >= cond.value
    if test == "below":
        return H._is_number(value) and value < cond.value
    raise ValueError(test)


def _equals(value: Any, constant: Any) -> bool:
    # The comparison the rendered code writes (see `render_cond`), type for type.
    if isinstance(constant, str):
        return value == constant
    if constant is None or isinstance(constant, bool):
        return value is constant
    if H._is_number(constant):
        return H._is_number(value) and value == constant
    return value == constant


def render_cond(cond: Cond, r: Renders, root: str | None = None) -> str:
    arg = r.expr(cond.arg, root)
    if cond.test == "equals":
        constant = cond.constant
        if isinstance(constant, str):
            return f"{arg} == {r.string(constant)}"
        if constant is None or isinstance(constant, bool):
            return f"{arg} is {constant!r}"
        if H._is_number(constant):
            return f"{r.helper('_is_number')}({arg}) and {arg} == {r.literal(constant)}"
        return f"{arg} == {r.literal(constant)}"
    if cond.test == "has_word":
        return f"{r.string(cond.value)} in {r.helper('_words')}({arg})"
    op = ">=" if cond.test == "at_least" else "<"
    return f"{r.helper('_is_number')}({arg}) and {arg} {op} {r.literal(cond.value)}"


def _rules(node: Rules, x: Any) -> Any:
    for cond, value in node.rules:
        if holds(cond, x):
            return value
    return node.default


def _render_rules(node: Rules, r: Renders, root: str | None) -> str:
    parts = [f"{r.literal(value)} if {r.cond(cond, root)}" for cond, value in node.rules]
    return "(" + " else ".join([*parts, r.literal(node.default)]) + ")"


def _rule_fields(node: Rules) -> str:
    names = sorted({describe(c.arg) for c, _ in node.rules})
    return ", ".join(names) or "nothing"


register(
    Rules,
    evaluate=_rules,
    size=lambda node: 1 + sum(1 + size(c.arg) for c, _ in node.rules),
    describe=lambda node, d, root: (
        f"{len(node.rules)} rule(s) on {_rule_fields(node)}, else {_const_text(node.default)}"
    ),
    strategy=lambda node: "rules",
    render=_render_rules,
)


# ------------------------------------------------------------------ JSON form


def to_dict(node: Node) -> dict[str, Any]:
    """JSON form of a program: {"node": name, ...fields}."""
    out: dict[str, Any] = {"node": type(node).__name__}
    for field in fields(node):
        out[field.name] = _plain(getattr(node, field.name))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (Cond,)):
        return {"test": value.test, "arg": to_dict(value.arg), "value": value.value}
    if hasattr(value, "__dataclass_fields__"):
        return to_dict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# New operations register themselves on import; importing them here makes the registry
# complete wherever programs are used.
from solidify.assess.synthesis import objects, ops  # noqa: E402, F401
