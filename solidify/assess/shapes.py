"""The shape of a step's outputs: which JSON type (and object keys) it usually writes,
and the soft failures that depart from it. One definition for every measure path."""

from __future__ import annotations

from collections import Counter

import orjson

from solidify.assess.turns import is_tool_call_text

NULL = "null"


def shape_of(text: str) -> str:
    """Type of a JSON value, with the sorted keys of an object: its 'schema' in short."""
    first = text[:1]
    if first == "{":
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return "object"
        return "object:" + ",".join(sorted(value))
    if first == "[":
        return "list"
    if first == '"':
        return "string"
    if text in ("true", "false"):
        return "boolean"
    if text == NULL:
        return "null"
    return "number"


def shape_facts(texts: list[str], weights: list[int], n: int) -> tuple[str, float, int, int]:
    """(usual shape, structure stability, empty outputs, soft failures) from the most
    frequent distinct outputs of a step and how often each occurs (`n` executions)."""
    shapes: Counter[str] = Counter()
    for text, weight in zip(texts, weights, strict=True):
        shape = shape_of(text)
        if shape != "null" and not is_tool_call_text(text):  # tool-call turns are valid
            shapes[shape] += weight
    total = sum(shapes.values())
    usual, usual_count = shapes.most_common(1)[0] if shapes else ("", 0)
    stability = usual_count / total if total else 1.0
    text_counts = dict(zip(texts, weights, strict=True))
    empty = int(text_counts.get('""', 0))
    calls = sum(w for t, w in text_counts.items() if is_tool_call_text(t))
    non_null = n - int(text_counts.get(NULL, 0)) - calls
    soft = round(max(empty if usual == "string" else 0, (1 - stability) * non_null))
    return usual, stability, empty, soft
