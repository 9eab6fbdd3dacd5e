"""The one JSON encoder of every command's output: full precision, numpy values as plain
numbers, so that no value computed with numpy can stop the output half-way."""

from __future__ import annotations

import math
from typing import Any

import orjson

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _plain(value: Any) -> Any:
    """What orjson does not know: numpy scalars, sets, tuples of odd types, anything else."""
    item = getattr(value, "item", None)
    if callable(item):  # numpy and pandas scalars
        value = item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def dumps(value: Any) -> str:
    """Indented JSON text with a final newline."""
    return orjson.dumps(value, default=_plain, option=_OPTIONS).decode() + "\n"
