"""The one definition of "the same output", for search, verify, generated tests and shadow.

Standard library only, and everything between the markers below is copied verbatim
into generated code (tests, the shadow wrapper, the verify runner), so that the
output equality measured by `assess` is the one the generated package checks.
"""

from __future__ import annotations

import json
from typing import Any

# --- equality: begin (copied verbatim into generated code, which imports json and Any) ---


def _normal(value: Any) -> Any:
    """Integral floats as integers, at any depth: 119.0 and 119 are the same output
    (as they are for Python's ==); True stays apart from 1."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def output_key(value: Any) -> str:
    """Compact JSON with sorted keys of the normalised value: equal keys, same output."""
    kind = type(value)
    if kind is str or kind is int:
        return json.dumps(value, ensure_ascii=False)
    if kind is float and value - value == 0:  # finite: what json.dumps writes, faster
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(_normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_output(a: Any, b: Any) -> bool:
    """True when two outputs are the same JSON value (119.0 == 119, True != 1)."""
    return output_key(a) == output_key(b)


# --- equality: end ---


def source() -> str:
    """The code between the markers, for generated modules (which import json and Any)."""
    from pathlib import Path

    text = Path(__file__).read_text(encoding="utf-8")
    begin = text.index("# --- equality: begin")
    end = text.index("# --- equality: end ---")
    return text[text.index("\n", begin) + 1 : end].strip() + "\n"
