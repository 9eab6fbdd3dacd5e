"""Programs are data: small immutable trees that map a step's input to its output.

`run` evaluates a tree on one input; `describe` says in one line what it does;
`size` measures it (the search prefers the smallest program that fits);
`to_dict` gives the JSON form. `solidify.migrate` renders the same trees as Python.
Nothing here executes text from a log: patterns are compiled by `re`, values are data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from solidify.assess.canonical import canonical_json

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
        # The first row wins for a key, as a scan of the table would have it.
        index: dict[str, Any] = {}
        for known, value in self.table:
            index.setdefault(known, value)
        object.__setattr__(self, "_index", index)

    def find(self, key: str) -> Any:
        try:
            return self._index[key]  # type: ignore[attr-defined]
        except KeyError:
            raise Fail("key not in the table") from None


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
    value: Any


@dataclass(frozen=True)
class Rules:
    """A decision list: the first rule whose condition holds gives the output."""

    rules: tuple[tuple[Cond, Any], ...]
    default: Any


Node = (
    Const | Get | Convert | Token | Concat | Extract | ExtractAll | Pair | Lookup | Arith
    | Round | Object | MapList | Rules
)  # fmt: skip

# ------------------------------------------------------------------ evaluation

WORD = re.compile(r"\w+")
ALNUM = re.compile(r"[^\W_]+")


@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def words(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(text.lower()))


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Fail("not a string")
    return value


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Fail("not a number")
    return value


def _to_number(value: Any) -> float | int:
    if isinstance(value, str):
        try:
            number = float(value.replace(",", "").strip())
        except ValueError:
            raise Fail("not numeric text") from None
        return int(number) if number.is_integer() and "." not in value else number
    return _number(value)


CONVERSIONS: dict[str, Any] = {
    "str": lambda v: v if isinstance(v, str) else _json_text(v),
    "int": lambda v: int(_to_number(v)),
    "float": lambda v: float(_to_number(v)),
    "lower": lambda v: _string(v).lower(),
    "upper": lambda v: _string(v).upper(),
    "strip": lambda v: _string(v).strip(),
    "title": lambda v: _string(v).title(),
    "capitalize": lambda v: _string(v).capitalize(),
    "first_word": lambda v: _word(v, 0),
    "last_word": lambda v: _word(v, -1),
    "len": lambda v: len(v) if isinstance(v, (str, list, dict)) else _fail("no length"),
    # Numbers as people write them in messages: "1234.50", "1,234.50".
    "fixed2": lambda v: f"{_number(v):.2f}",
    "grouped2": lambda v: f"{_number(v):,.2f}",
}
NUMBER_TEXT_CONVERSIONS = ("str", "fixed2", "grouped2")
STRING_CONVERSIONS = ("lower", "upper", "strip", "title", "capitalize", "first_word", "last_word")


def _fail(message: str) -> Any:
    raise Fail(message)


def _word(value: Any, index: int) -> str:
    parts = _string(value).split()
    if not parts:
        raise Fail("no words")
    return parts[index]


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        raise Fail("null")
    if isinstance(value, (int, float)):
        return repr(value)
    raise Fail("not a scalar")


def get_path(value: Any, path: Path) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                raise Fail("no such index")
            value = value[key]
        else:
            if not isinstance(value, dict) or key not in value:
                raise Fail("no such key")
            value = value[key]
    return value


def canonical(value: Any) -> str:
    """The key used by lookups and by equality of outputs."""
    return canonical_json(value) or "null"


def run(node: Node, x: Any) -> Any:
    """Evaluate a program on one input. Raises Fail when it does not apply."""
    try:
        evaluate = _EVALUATE[type(node)]
    except KeyError:
        raise TypeError(f"unknown node {node!r}") from None
    return evaluate(node, x)


def _token(node: Token, x: Any) -> str:
    tokens = ALNUM.findall(_string(run(node.arg, x)))
    if not -len(tokens) <= node.index < len(tokens):
        raise Fail("no such token")
    return tokens[node.index]


def _extract(node: Extract, x: Any) -> str | None:
    found = compiled(node.pattern).search(_string(run(node.arg, x)))
    if found is None:
        return None
    return found.group(1) if found.re.groups else found.group(0)


def _round(node: Round, x: Any) -> float | int:
    value = _number(run(node.arg, x))
    return round(value, node.digits) if node.digits > 0 else round(value)


def _map_list(node: MapList, x: Any) -> list[Any]:
    items = run(node.source, x)
    if not isinstance(items, list):
        raise Fail("not a list")
    return [run(node.item, item) for item in items]


def _rules(node: Rules, x: Any) -> Any:
    for cond, value in node.rules:
        if holds(cond, x):
            return value
    return node.default


# One function per node type: a dictionary lookup instead of a chain of isinstance
# checks, in the loop that runs every candidate on every example.
_EVALUATE: dict[type, Callable[[Any, Any], Any]] = {
    Const: lambda node, x: node.value,
    Get: lambda node, x: get_path(x, node.path),
    Convert: lambda node, x: CONVERSIONS[node.fn](run(node.arg, x)),
    Token: _token,
    Concat: lambda node, x: "".join([_string(run(part, x)) for part in node.parts]),
    Extract: _extract,
    ExtractAll: lambda node, x: compiled(node.pattern).findall(_string(run(node.arg, x))),
    Pair: lambda node, x: [run(node.first, x), run(node.second, x)],
    Lookup: lambda node, x: node.find(canonical(run(node.key, x))),
    Arith: lambda node, x: arith(node.op, _number(run(node.left, x)), _number(run(node.right, x))),
    Round: _round,
    Object: lambda node, x: {name: run(sub, x) for name, sub in node.fields},
    MapList: _map_list,
    Rules: _rules,
}


def arith(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            raise Fail("division by zero")
        return a / b
    raise ValueError(op)


def holds(cond: Cond, x: Any) -> bool:
    try:
        value = run(cond.arg, x)
    except Fail:
        return False
    if cond.test == "equals":
        return canonical(value) == cond.value
    if cond.test == "has_word":
        return isinstance(value, str) and cond.value in words(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if cond.test == "at_least":
        return value >= cond.value
    if cond.test == "below":
        return value < cond.value
    raise ValueError(cond.test)


def apply(node: Node, x: Any) -> tuple[bool, Any]:
    """(True, output) or (False, None) when the program does not apply."""
    try:
        return True, run(node, x)
    except (Fail, RecursionError, ArithmeticError, ValueError, TypeError):
        return False, None


# ------------------------------------------------------------------ size, names, descriptions


def size(node: Node) -> int:
    if isinstance(node, (Const, Get)):
        return 1
    if isinstance(node, Pair):
        return 1 + size(node.first) + size(node.second)
    if isinstance(node, (Convert, Round)):
        return 1 + size(node.arg)
    if isinstance(node, Token):
        return 2 + size(node.arg)
    if isinstance(node, Concat):
        return sum(size(p) for p in node.parts)
    if isinstance(node, (Extract, ExtractAll)):
        return 2 + size(node.arg) + node.pattern.count("|")
    if isinstance(node, Lookup):
        return 2 + size(node.key) + math.ceil(len(node.table) / 4)
    if isinstance(node, Arith):
        return 1 + size(node.left) + size(node.right)
    if isinstance(node, Object):
        return sum(size(n) for _, n in node.fields)
    if isinstance(node, MapList):
        return 1 + size(node.source) + size(node.item)
    if isinstance(node, Rules):
        return 1 + sum(1 + size(c.arg) for c, _ in node.rules)
    raise TypeError(node)


def strategy(node: Node) -> str:
    """The short name of how the program works (CONTRACT §2 `replacement.strategy`)."""
    if isinstance(node, Const):
        return "constant"
    if isinstance(node, (Get, Convert)):
        return "field"
    if isinstance(node, Concat):
        if any(isinstance(p, Token) for p in node.parts):
            return "flashfill"
        return "template"
    if isinstance(node, Token):
        return "flashfill"
    if isinstance(node, (Extract, ExtractAll)):
        return "regex"
    if isinstance(node, (Lookup, Pair)):
        return "lookup"
    if isinstance(node, (Arith, Round)):
        return "arithmetic"
    if isinstance(node, Object):
        return "object"
    if isinstance(node, MapList):
        return "list-map"
    if isinstance(node, Rules):
        return "rules"
    raise TypeError(node)


def path_text(path: Path, root: str = "input") -> str:
    text = root
    for key in path:
        text += (
            f"[{key}]"
            if isinstance(key, int)
            else (f".{key}" if str(key).isidentifier() else f"[{key!r}]")
        )
    return text


def describe(node: Node, root: str = "input") -> str:
    """One line a person can read."""
    d = lambda n: describe(n, root)  # noqa: E731
    if isinstance(node, Const):
        return f"always {canonical(node.value)}"
    if isinstance(node, Get):
        return path_text(node.path, root)
    if isinstance(node, Convert):
        return f"{node.fn}({d(node.arg)})"
    if isinstance(node, Token):
        return f"token {node.index} of {d(node.arg)}"
    if isinstance(node, Concat):
        return "text " + " + ".join(
            canonical(p.value) if isinstance(p, Const) else d(p) for p in node.parts
        )
    if isinstance(node, Extract):
        return f"first match of /{node.pattern}/ in {d(node.arg)}, else null"
    if isinstance(node, ExtractAll):
        return f"all matches of /{node.pattern}/ in {d(node.arg)}"
    if isinstance(node, Pair):
        return f"{d(node.first)} and {d(node.second)}"
    if isinstance(node, Lookup):
        return f"table of {len(node.table)} entries keyed by {d(node.key)}"
    if isinstance(node, Arith):
        return f"({d(node.left)} {node.op} {d(node.right)})"
    if isinstance(node, Round):
        return f"round({d(node.arg)}, {node.digits})"
    if isinstance(node, Object):
        return "{" + ", ".join(f"{k}: {d(v)}" for k, v in node.fields) + "}"
    if isinstance(node, MapList):
        return f"for each item of {d(node.source)}: {describe(node.item, 'item')}"
    if isinstance(node, Rules):
        return f"{len(node.rules)} rule(s) on {_rule_fields(node)}, else {canonical(node.default)}"
    raise TypeError(node)


def _rule_fields(node: Rules) -> str:
    names = sorted({describe(c.arg) for c, _ in node.rules})
    return ", ".join(names) or "nothing"


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
