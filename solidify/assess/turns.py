"""Agent turns that call tools: a valid output of a model step, not a malformed one.

An assistant that alternates text and tool calls writes turns of two shapes: its text, and
a message whose content is empty and whose tool calls carry the work. The second is not a
broken text: measures leave such turns out of the step's usual shape and of its empty
outputs. Shapes recognised: OpenAI chat messages (`tool_calls`), Responses output items
(`function_call`), Anthropic content parts (`tool_use`), OpenTelemetry GenAI / pydantic-ai
parts (`tool_call`), LangChain messages (`kwargs.tool_calls`), and the Claude Code reader's
`{"text", "tool_calls"}`.
"""

from __future__ import annotations

from typing import Any

import orjson

_PART_TYPES = frozenset({"tool_use", "tool_call", "function_call", "server_tool_use"})


def is_tool_call_text(text: str) -> bool:
    """Whether the canonical JSON text of an output is a turn that calls tools."""
    if text[:1] not in ("{", "[") or ("tool" not in text and "function_call" not in text):
        return False
    try:
        return is_tool_call(orjson.loads(text))
    except orjson.JSONDecodeError:
        return False


def is_tool_call(value: Any, depth: int = 0) -> bool:
    if depth > 4:
        return False
    if isinstance(value, list):
        return any(is_tool_call(item, depth + 1) for item in value[:20])
    if not isinstance(value, dict):
        return False
    if value.get("type") in _PART_TYPES:
        return True
    calls = value.get("tool_calls")
    if isinstance(calls, list) and calls:
        return True
    for key in ("content", "parts", "output", "kwargs", "message", "choices"):
        inner = value.get(key)
        if isinstance(inner, (list, dict)) and is_tool_call(inner, depth + 1):
            return True
    return False
