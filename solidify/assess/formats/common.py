"""Helpers every trace reader shares: times, JSON-in-strings, stable step names, tokens."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

from solidify.assess.records import Unreadable

# What a reader raises on data of another shape than it expects.
READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
               OSError, RecursionError)  # fmt: skip

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ID_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{12,}\b")
_COUNTER = re.compile(r"(?:[\s_\-#.:]*\d+|\s*\[\d+\]|\s*\(\d+\))$")


def stable_name(name: Any, default: str = "step") -> str:
    """A step key that stays the same across runs: ids and trailing counters stripped."""
    text = str(name or "").strip()
    text = _UUID.sub("", text)
    text = _ID_TOKEN.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _COUNTER.sub("", text).strip()
    text = re.sub(r"\s{2,}", " ", text).strip(" -_:#")
    return text or default


_WORKFLOW_ID = re.compile(r"[._:\-/ ]*(?:" + _UUID.pattern + r"|[0-9a-fA-F]{16,})")


def stable_workflow(name: Any) -> str | None:
    """A workflow name without the run-specific ids some tools add (`agent.f9f77d1a-…`)."""
    if name is None:
        return None
    text = _WORKFLOW_ID.sub("", str(name)).strip(" -_:#./")
    return text or None


# Span names frameworks give tool calls: OTel GenAI `execute_tool NAME`, pydantic-ai
# `running tool: NAME`, and the span that runs several (`running 3 tools`).
_TOOL_SPAN = re.compile(r"^(?:execute_tool|running tool:?|calling tool:?|tool:)\s*(\S.*)$", re.I)
_TOOLS_SPAN = re.compile(r"^running \d+ tools?$", re.I)
TOOL_ATTRIBUTES = ("gen_ai.tool.name", "tool.name", "tool_name", "ai.toolCall.name")


def tool_span(name: Any, attrs: Any = None) -> str | None:
    """The tool a span calls, from its attributes or its name; None for other spans."""
    tool = first(attrs, *TOOL_ATTRIBUTES)
    if tool:
        return str(tool)
    text = str(name or "").strip()
    match = _TOOL_SPAN.match(text)
    if match:
        return match.group(1).strip()
    if _TOOLS_SPAN.match(text):
        return "tools"
    return None


def iso(value: Any) -> str | None:
    """A timestamp in ISO 8601 from nanoseconds, milliseconds, seconds, [s, ns] or ISO text."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        seconds, nanos = number(value[0]), number(value[1])
        return None if seconds is None or nanos is None else _from_seconds(seconds + nanos / 1e9)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return iso(float(text))
        return text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        amount = float(value)
        if amount > 1e17:  # nanoseconds
            return _from_seconds(amount / 1e9)
        if amount > 1e14:  # microseconds
            return _from_seconds(amount / 1e6)
        if amount > 1e11:  # milliseconds
            return _from_seconds(amount / 1e3)
        return _from_seconds(amount)
    return None


def _from_seconds(seconds: float) -> str | None:
    """ISO text, or None for a time no clock gives (before 1900 or after 2200)."""
    if not math.isfinite(seconds) or not -2_208_988_800 <= seconds <= 7_258_118_400:
        return None
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return stamp.isoformat().replace("+00:00", "Z")


def decode(value: Any, depth: int = 3) -> Any:
    """Values that traces store as JSON text (sometimes twice over) become JSON values."""
    for _ in range(depth):
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text or (text[0] not in '{["' and text not in ("null", "true", "false")):
            return value
        try:
            value = json.loads(text)
        except ValueError:
            return value
    return value


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row's maps (lists of pairs) as dicts, its timestamps as ISO text."""
    out = {}
    for key, value in row.items():
        if (
            isinstance(value, list)
            and value
            and all(isinstance(p, tuple) and len(p) == 2 for p in value)
        ):
            value = dict(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    return out


def integer(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return int(number) if math.isfinite(number) and 0 <= number < 2**63 else None


def number(value: Any) -> float | None:
    """A float from a number or numeric text, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def first(mapping: Any, *keys: str) -> Any:
    """The first present, non-null value among keys (camelCase and snake_case alike)."""
    if not isinstance(mapping, dict):
        return None
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def provider_name(value: Any) -> str | None:
    """'openai.responses' or 'openai.chat' -> 'openai'; 'az.ai.inference' stays as it is."""
    if not value:
        return None
    text = str(value).lower()
    for known in ("openai", "anthropic", "google", "gemini", "vertex", "mistral", "cohere",
                  "bedrock", "groq", "deepseek", "xai", "azure"):  # fmt: skip
        if text.startswith(known):
            return {"gemini": "google", "vertex": "google"}.get(known, known)
    return text


def drop_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


def objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list that should hold only objects (anything else is left out)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def each(
    items: Iterable[Any], read: Callable[[dict[str, Any]], Iterable[Any]], what: str
) -> Iterator[Any]:
    """`read` applied to every item; an item it cannot map becomes one skipped record
    (`Unreadable`, counted and reported with its position) instead of ending the file."""
    for item in items:
        if isinstance(item, Unreadable):
            yield item  # a line that was not even JSON
            continue
        if not isinstance(item, dict):
            yield Unreadable(f"{what}: expected a JSON object, got {_type_name(item)}")
            continue
        try:
            found = list(read(item))
        except READ_ERRORS as exc:
            yield Unreadable(f"{what} cannot be read: {one_line(exc)}")
            continue
        yield from found


def one_line(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: Any) -> str:
    names = {str: "a string", int: "a number", float: "a number", bool: "a boolean",
             list: "an array", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


# Event-style frameworks (BeeAI) log one call as spans named after its events.
_EVENT = re.compile(r"^(?P<base>.+)\.(?:start|success|finish|error|end|new_token|partial_update)$")
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def fold_events(records: Iterable[Any]) -> Iterator[Any]:
    """Spans that are events of one call (`chat.start`, `chat.success`, `chat.finish` under
    the same parent, in the same run) become that one call: its first start, last end, the
    largest token counts any event carries, the last output, and an error if one failed."""
    calls: dict[tuple[Any, ...], dict[str, Any]] = {}
    order: list[Any] = []
    for record in records:
        match = _EVENT.match(str(record.get("step", ""))) if isinstance(record, dict) else None
        if match is None:
            order.append(record)
            continue
        key = (record.get("workflow"), record.get("run_id"), record.get("parent_id"),
               match.group("base"))  # fmt: skip
        call = calls.get(key)
        if call is None:
            call = calls[key] = {**record, "step": match.group("base")}
            order.append(call)
            continue
        for name in _TOKENS:
            if record.get(name) is not None:
                call[name] = max(call.get(name) or 0, record[name])
        if record.get("started_at") and (
            not call.get("started_at") or record["started_at"] < call["started_at"]
        ):
            call["started_at"] = record["started_at"]
        if record.get("ended_at") and (
            not call.get("ended_at") or record["ended_at"] > call["ended_at"]
        ):
            call["ended_at"] = record["ended_at"]
        for name in ("model", "provider", "input", "cost_usd"):
            if call.get(name) is None and record.get(name) is not None:
                call[name] = record[name]
        if record.get("output") is not None:
            call["output"] = record["output"]
        if record.get("kind") in ("llm", "agent", "tool") and call.get("kind") == "code":
            call["kind"] = record["kind"]
        if record.get("status") not in (None, "ok"):
            call["status"], call["error"] = record["status"], record.get("error")
            call.pop("output", None)
    yield from order
