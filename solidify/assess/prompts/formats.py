"""Learn how a step writes its answer: the wrapper (text, assistant message, tool call)
and the body (label, number as text, yes/no, JSON bare or fenced), with null sentinels.

A format is kept only if it gives the logged answers back exactly (render(parse(x)) == x);
formats are tried from the most structured to plain text, and the first one that most
answers come back through wins. The spec is a JSON-able dict that
solidify.assess.prompts.runtime reads and writes with.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from solidify.assess.prompts.runtime import _NULLS, parse_output

MIN_ROUND_TRIP = 0.9
CHOOSE_ON = 200  # answers a format is chosen on (every answer is read with it later)
_NUMBER = re.compile(r"(\D*?)(-?\d[\d,]*(?:\.(\d+))?)(\D*)")
_BOOLS = (("yes", "no"), ("Yes", "No"), ("YES", "NO"), ("true", "false"), ("True", "False"))


def learn_format(outputs: list[Any]) -> dict[str, Any] | None:
    """The format the outputs are written in; None when they are plain JSON values that
    need no reading (the step's output is used as it is)."""
    if not outputs:
        return None
    outputs = outputs[:CHOOSE_ON]
    for wrap in _wrappers(outputs):
        texts = [_text_of(o, wrap) for o in outputs]
        if wrap["wrap"] == "tool":
            fmt = {**wrap, **_json_order([_tool_args(o, wrap) for o in outputs])}
            if _share(outputs, fmt) >= MIN_ROUND_TRIP:
                return fmt
            fmt["any_id"] = True  # ids that change with every call
            if _share(outputs, fmt) >= MIN_ROUND_TRIP:
                return fmt
            continue
        strings = [t for t in texts if isinstance(t, str)]
        if len(strings) < MIN_ROUND_TRIP * len(outputs):
            continue
        for body in _bodies(strings):
            fmt = {**wrap, **body}
            if _share(outputs, fmt) >= MIN_ROUND_TRIP:
                return fmt
    return None


def structured(outputs: list[Any]) -> bool:
    """Whether answers look wrapped or written as JSON text (a cheap look at a few)."""
    for output in outputs[:20]:
        message = output[0] if isinstance(output, list) and len(output) == 1 else output
        if isinstance(message, dict) and (
            message.get("role") == "assistant" or message.get("type") == "text"
        ):
            return True
        if isinstance(output, str) and output.lstrip()[:1] in ("{", "[", "`"):
            return True
    return False


def _share(outputs: list[Any], fmt: dict[str, Any]) -> float:
    good = 0
    for output in outputs:
        try:
            parse_output(output, fmt)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
        good += 1
    return good / len(outputs)


_TEXT_KEYS = ("content", "text", "output", "completion", "answer")


def _wrappers(outputs: list[Any]) -> list[dict[str, Any]]:
    """Where the answer's text sits in the logged output: the output itself, a tool
    call's arguments, or one text inside a message whose other parts never change
    (OpenAI and Anthropic messages, OpenTelemetry's output messages and parts, …)."""
    first = next((o for o in outputs if o is not None), None)
    if isinstance(first, str):
        return [{"wrap": "none"}]
    if not isinstance(first, (dict, list)):
        return []
    message = first[0] if isinstance(first, list) and len(first) == 1 else first
    if isinstance(message, dict):
        calls = message.get("tool_calls")
        prefix: list[Any] = [0] if message is not first else []
        if isinstance(calls, list) and len(calls) == 1 and isinstance(calls[0], dict):
            arguments = (calls[0].get("function") or {}).get("arguments")
            path = [*prefix, "tool_calls", 0, "function", "arguments"]
            return [_tool_wrap(first, path, as_text=isinstance(arguments, str))]
        for key in ("content", "parts"):
            parts = message.get(key)
            part = parts[0] if isinstance(parts, list) and len(parts) == 1 else None
            if isinstance(part, dict) and part.get("type") in ("tool_use", "tool_call"):
                inner = "input" if "input" in part else "arguments"
                as_text = isinstance(part.get(inner), str)
                return [_tool_wrap(first, [*prefix, key, 0, inner], as_text=as_text)]
    found = []
    for path in _text_paths(first):
        shape = _tool_wrap(first, path, as_text=False)["shape"]
        if all(_blanked(o, path) == shape for o in outputs[:20]):
            found.append({"wrap": "path", "path": path, "shape": shape})
    return found


def _text_paths(value: Any, path: tuple[Any, ...] = (), depth: int = 0) -> list[list[Any]]:
    """Paths to the strings of an output, the likeliest answer keys first."""
    out: list[list[Any]] = []
    if isinstance(value, str) and path:
        out.append(list(path))
    elif isinstance(value, dict) and depth < 5:
        for k, v in value.items():
            out += _text_paths(v, (*path, k), depth + 1)
    elif isinstance(value, list) and depth < 5 and len(value) <= 4:
        for n, v in enumerate(value):
            out += _text_paths(v, (*path, n), depth + 1)
    return sorted(out, key=lambda p: (str(p[-1]) not in _TEXT_KEYS, len(p)))[:8]


def _blanked(output: Any, path: list[Any]) -> Any:
    try:
        copy = json.loads(json.dumps(output))
        where = copy
        for key in path[:-1]:
            where = where[key]
        if not isinstance(where[path[-1]], str):
            return None
        where[path[-1]] = None
        return copy
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _tool_wrap(first: Any, path: list[Any], *, as_text: bool) -> dict[str, Any]:
    shape = json.loads(json.dumps(first))
    where = shape
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = None
    return {"wrap": "tool", "shape": shape, "path": path, "as_text": as_text}


def _tool_args(output: Any, wrap: dict[str, Any]) -> Any:
    try:
        where = output
        for key in wrap["path"]:
            where = where[key]
        return json.loads(where) if wrap.get("as_text") else where
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _text_of(output: Any, wrap: dict[str, Any]) -> Any:
    if wrap["wrap"] == "none":
        return output
    try:
        where = output
        for key in wrap["path"]:
            where = where[key]
    except (KeyError, IndexError, TypeError):
        return None
    return where


def _bodies(texts: list[str]) -> list[dict[str, Any]]:
    """Candidate bodies, most structured first; plain text last (it always comes back)."""
    nulls = Counter(t for t in texts if t.strip() in _NULLS)
    null = nulls.most_common(1)[0][0] if nulls else None
    present = [t for t in texts if t.strip() not in _NULLS]
    base: dict[str, Any] = {"null": null} if null is not None else {}
    out: list[dict[str, Any]] = []
    if not present:
        return [{"body": "text", **base}]
    sample = present[0].strip()
    if sample[:1] in "{[" or sample.startswith("```"):
        out += _json_bodies(present, base)
    for number in _number_bodies(present):
        out.append({**base, **number})
    for words in _BOOLS:
        if all(t in words for t in present):
            out.append({**base, "body": "bool", "words": list(words)})
    out.append({"body": "text", **base})
    return out


def _json_bodies(texts: list[str], base: dict[str, Any]) -> list[dict[str, Any]]:
    first = texts[0]
    fence = None
    before, after = "", ""
    found = re.match(r"(\s*)(```[\w-]*)\n", first)
    inner = first
    if found:
        before, fence = found.group(1), found.group(2)
        end = first.rfind("\n```")
        if end < 0:
            return []
        after = first[end + 4 :]
        inner = first[found.end() : end]
    indent: int | None = None
    compact = False
    lines = inner.split("\n")
    if len(lines) > 1:
        second = lines[1]
        indent = len(second) - len(second.lstrip(" ")) or None
    elif inner.startswith(("{", "[")) and (", " not in inner and ": " not in inner):
        compact = True
    values = []
    for text in texts:
        value = _loose_json(text)
        if value is not None:
            values.append(value)
    body = {**base, "body": "json", "indent": indent, "compact": compact, "fence": fence,
            "before": before, "after": after, **_json_order(values)}  # fmt: skip
    ascii_body = {**body, "ascii": True}
    return [body, ascii_body]


def _loose_json(text: str) -> Any:
    inner = re.sub(r"^\s*```[\w-]*\n|\n```\s*$", "", text)
    try:
        return json.loads(inner)
    except ValueError:
        return None


def _json_order(values: list[Any]) -> dict[str, Any]:
    """The order object keys were written in, per path (first seen wins)."""
    order: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            keys = order.setdefault(path, [])
            for k, v in value.items():
                if k not in keys:
                    keys.append(k)
                walk(v, path + "." + k)
        elif isinstance(value, list):
            for v in value:
                walk(v, path + "[]")

    for value in values[:200]:
        walk(value, "")
    return {"order": order} if order else {}


def _unit_like(prefix: str, suffix: str) -> bool:
    """A unit around a number (`$`, `EUR `, ` kg`, `%`), not an identifier (`PO-123`)."""
    ok_prefix = not prefix or (not prefix[-1].isalnum() and not prefix.endswith("-")) \
        or prefix.endswith(" ")  # fmt: skip
    ok_suffix = not suffix or (not suffix[0].isalnum() and suffix[0] not in "-_/") \
        or suffix.startswith(" ")  # fmt: skip
    return (ok_prefix or prefix.endswith(" ")) and ok_suffix


def _number_bodies(texts: list[str]) -> list[dict[str, Any]]:
    """Numbers as text: a fixed number of decimals when the answers show one, else as
    few digits as the value needs; the unit around them; thousands separators."""
    parts = [_NUMBER.fullmatch(t) for t in texts]
    if not all(parts) or not all(_unit_like(p.group(1), p.group(4)) for p in parts if p):
        return []
    prefixes = Counter(p.group(1) for p in parts if p)
    suffixes = Counter(p.group(4) for p in parts if p)
    places = Counter(len(p.group(3) or "") for p in parts if p)
    body: dict[str, Any] = {"body": "number"}
    if prefixes.most_common(1)[0][0]:
        body["prefix"] = prefixes.most_common(1)[0][0]
    if suffixes.most_common(1)[0][0]:
        body["suffix"] = suffixes.most_common(1)[0][0]
    if any("," in (p.group(2) if p else "") for p in parts):
        body["thousands"] = True
    common = places.most_common(1)[0][0]
    fixed = {**body, "decimals": common} if common else None
    return [b for b in (fixed, body) if b is not None]
