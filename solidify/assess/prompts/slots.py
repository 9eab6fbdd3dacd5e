"""Type a slot from the texts it took: integer, decimal, boolean, date, JSON, lines, text.

A type is chosen only when every non-empty value parses under it (empty values and
sentinels such as `NONE` make it nullable); otherwise the slot stays plain text. The
spec is a JSON-able dict that solidify.assess.prompts.runtime.parse_value reads.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from solidify.assess.prompts.runtime import _BULLET, _NULLS, parse_value

DATE_FORMATS = ("%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d.%m.%Y",
                "%Y/%m/%d")  # fmt: skip
JSON_SHARE = 0.9  # documents that must parse for a slot to be read as JSON
_INT = re.compile(r"-?(?:0|[1-9]\d*)")
_DECIMAL = re.compile(r"-?\d+\.(\d+)")
_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.(\d+))?")


def slot_spec(values: list[str]) -> dict[str, Any]:
    """The type (and its parameters) that every value of a slot parses under."""
    present = [v for v in values if v.strip() not in _NULLS]
    nullable = len(present) < len(values)
    if not present:
        return {"type": "text"}
    spec = _typed(present)
    if spec["type"] != "text" and nullable:
        spec["nullable"] = True
    return spec


def _typed(values: list[str]) -> dict[str, Any]:
    stripped = [v.strip() for v in values]
    if all(_INT.fullmatch(v) for v in stripped):
        return {"type": "int"}
    decimals = [_DECIMAL.fullmatch(v) or _GROUPED.fullmatch(v) or _INT.fullmatch(v)
                for v in stripped]  # fmt: skip
    if all(decimals) and any("." in v or "," in v for v in stripped):
        places = {len(m.group(1) or "") if m.groups() else 0 for m in decimals if m}
        spec: dict[str, Any] = {"type": "decimal"}
        if len(places) == 1:
            spec["precision"] = places.pop()
        if any("," in v for v in stripped):
            spec["thousands"] = True
        return spec
    words = {v.lower() for v in stripped}
    if words <= {"yes", "no"} or words <= {"true", "false"}:
        return {"type": "bool"}
    for fmt in DATE_FORMATS:
        if all(_is_date(v, fmt) for v in stripped):
            return {"type": "date", "format": fmt}
    if all(v[:1] in "{[" for v in stripped):
        parsed = sum(_is_json(v) for v in values)
        if parsed >= JSON_SHARE * len(values):
            spec = {"type": "json"}
            if parsed < len(values):
                spec["unparsed"] = len(values) - parsed  # kept as text; said in the note
            return spec
    lines = _lines_spec(values)
    if lines is not None:
        return lines
    return {"type": "text"}


def _is_date(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _is_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), (dict, list))
    except ValueError:
        return False


def _lines_spec(values: list[str]) -> dict[str, Any] | None:
    """Bulleted or numbered lines: a list of records when every item has one shape
    (`3 x X123`), else a list of texts."""
    items: list[str] = []
    for value in values:
        lines = [line for line in value.strip("\n").split("\n") if line.strip()]
        if not lines or not all(_BULLET.match(line) for line in lines):
            return None
        items += [_BULLET.sub("", line) for line in lines]
    spec: dict[str, Any] = {"type": "lines"}
    shape = _item_shape(items)
    if shape is not None:
        spec.update(shape)
    return spec


def _item_shape(items: list[str]) -> dict[str, Any] | None:
    from solidify.assess.prompts.template import fixed_pieces, label_name

    distinct = list(dict.fromkeys(items))
    if len(distinct) < 3:
        return None
    pieces = fixed_pieces(distinct, merge_weak=False)
    if pieces is None or not any(p.strip() for p in pieces):
        return None
    parts = [match_parts(item, pieces) for item in items]
    if any(p is None for p in parts):
        return None
    fields = []
    names: set[str] = set()
    for n, before in enumerate(pieces[:-1]):
        name = label_name(before) or f"field_{n + 1}"
        while name in names:
            name += "_"
        names.add(name)
        column = [p[n] for p in parts]  # type: ignore[index]
        spec = slot_spec(column)
        if spec["type"] in ("lines", "json"):
            spec = {"type": "text"}
        fields.append({"name": name, **spec})
    result = {"pieces": pieces, "fields": fields}
    try:
        for item in items:
            parse_value(item, {"type": "lines", **result})
    except ValueError:
        return None
    return result


def match_parts(item: str, pieces: list[str]) -> list[str] | None:
    from solidify.assess.prompts.runtime import match_template

    return match_template(item, pieces)
