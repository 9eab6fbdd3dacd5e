"""Programs as stored text: a versioned JSON form that reads back into the same tree.

`dumps` writes `{"format": FORMAT, "program": program.to_dict(node)}`; `loads` reads it
back, field by field, guided by each node class's type hints (a `Const` holding a dict
with a "node" key stays a dict). Every registered node type round-trips (a hypothesis
test draws programs of every type). A stored program in another format, or naming a
node this version does not know, is refused with ValueError: the reader then searches
afresh. Reading builds data only; nothing stored is executed.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any

from solidify.assess.synthesis.program import REGISTRY, Node, to_dict

FORMAT = 1  # bump when a node's fields change meaning; older stored programs are ignored


def dumps(node: Node) -> str:
    return json.dumps({"format": FORMAT, "program": to_dict(node)}, sort_keys=True,
                      ensure_ascii=False, allow_nan=False)  # fmt: skip


def loads(text: str) -> Node:
    """The program stored as `text` (ValueError when it is not one this version reads)."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a stored program: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("a stored program in another format")
    return from_dict(data.get("program"))


def from_dict(data: Any) -> Node:
    """The tree whose JSON form (`program.to_dict`) is `data`."""
    try:
        return _node(data)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"not a stored program: {exc!r}") from None


@cache
def _classes() -> dict[str, type]:
    return {cls.__name__: cls for cls in REGISTRY}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _node(data: Any) -> Node:
    if not isinstance(data, dict):
        raise TypeError(f"a node is an object, not {type(data).__name__}")
    cls = _classes().get(data.get("node"))
    if cls is None:
        raise ValueError(f"unknown node {data.get('node')!r}")
    return _instance(cls, data)


def _instance(cls: type, data: dict[str, Any]) -> Any:
    hints = _hints(cls)
    return cls(**{f.name: _value(hints[f.name], data[f.name]) for f in fields(cls) if f.init})


def _value(hint: Any, value: Any) -> Any:
    if hint == Node:
        return _node(value)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v) for v in value)
        if len(args) != len(value):
            raise TypeError(f"expected {len(args)} items, got {len(value)}")
        return tuple(_value(a, v) for a, v in zip(args, value, strict=True))
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        if any(a == Node for a in arms):
            return _node(value)
        # A union of records (Has | When): to_dict names the record's class.
        records = [a for a in arms if isinstance(a, type) and is_dataclass(a)]
        if records:
            name = value.get("node") if isinstance(value, dict) else None
            chosen = [a for a in records if a.__name__ == name] or records[:1]
            return _value(chosen[0], value)
        return value  # plain values (int | None, str | int)
    if isinstance(hint, type) and is_dataclass(hint):
        if not isinstance(value, dict):
            raise TypeError(f"{hint.__name__} is an object")
        return _instance(hint, value)
    return value  # Any, str, int, float: JSON values as they are
