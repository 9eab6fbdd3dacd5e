"""Claude Code session transcripts (JSON Lines under ~/.claude/projects/).

Claude Code writes one model response over several lines that share a message id:
they are merged into one `assistant` execution. Each tool call becomes a `tool`
execution whose output is the matching tool result. Anthropic's `input_tokens`
excludes cache reads and writes; they are added to get the canonical input count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from solidify.assess.formats.common import each, integer, iso, objects


def session_records(lines: Iterable[Any], workflow: str) -> Iterator[Any]:
    responses: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    tools: dict[str, dict[str, Any]] = {}
    results: dict[str, Any] = {}

    def take(line: dict[str, Any]) -> list[Any]:
        """Remember what one line says; a line of another shape is one skipped record."""
        kind = line.get("type")
        message = line.get("message")
        if kind in ("assistant", "user") and not isinstance(message, dict):
            raise TypeError(f"message: expected an object, got {message!r:.40}")
        content = message.get("content") if isinstance(message, dict) else None
        parts = objects(content)
        session = str(line.get("sessionId") or "session")
        if kind == "assistant":
            key = str(message.get("id") or line.get("uuid"))
            if key not in responses:
                order.append(key)
                responses[key] = {"key": key, "session": session,
                                  "timestamp": line.get("timestamp"), "model": message.get("model"),
                                  "content": [], "usage": {},
                                  "uuid": line.get("uuid"), "parent": line.get("parentUuid"),
                                  "error": line.get("isApiErrorMessage")}  # fmt: skip
            entry = responses[key]
            entry["content"].extend(parts)
            usage = message.get("usage")
            if isinstance(usage, dict):
                entry["usage"] = usage  # the last line has the total
            for part in parts:
                if part.get("type") == "tool_use":
                    tools[str(part.get("id"))] = {"part": part, "session": session,
                                                  "timestamp": line.get("timestamp"),
                                                  "parent": entry["uuid"]}  # fmt: skip
        elif kind == "user":
            for part in parts:
                if part.get("type") == "tool_result":
                    results[str(part.get("tool_use_id"))] = {
                        "content": part.get("content"), "error": bool(part.get("is_error")),
                        "timestamp": line.get("timestamp"),
                    }  # fmt: skip
        return []

    yield from each(lines, take, "line")
    yield from each([responses[key] for key in order],
                    lambda entry: [_response(entry, workflow)], "response")  # fmt: skip
    yield from each([{"id": k, **v} for k, v in tools.items()],
                    lambda call: [_tool_call(call, results, workflow)], "tool call")  # fmt: skip


def _response(entry: dict[str, Any], workflow: str) -> dict[str, Any]:
    usage = entry["usage"] or {}
    read = integer(usage.get("cache_read_input_tokens")) or 0
    write = integer(usage.get("cache_creation_input_tokens")) or 0
    text = "".join(str(p.get("text") or "") for p in entry["content"] if p.get("type") == "text")
    calls = [p.get("name") for p in entry["content"] if p.get("type") == "tool_use"]
    model = entry["model"]
    record = {
        "workflow": workflow, "run_id": entry["session"], "step": "assistant",
        "kind": "llm", "provider": "anthropic", "model": str(model) if model else None,
        "status": "error" if entry["error"] else "ok",
        "ended_at": iso(entry["timestamp"]),
        "input_tokens": (integer(usage.get("input_tokens")) or 0) + read + write,
        "output_tokens": integer(usage.get("output_tokens")),
        "cache_read_tokens": read or None, "cache_write_tokens": write or None,
        "output": {"text": text, "tool_calls": calls} if calls else text,
        "step_id": entry["key"], "parent_id": entry["parent"],
    }  # fmt: skip
    return {k: v for k, v in record.items() if v is not None}


def _tool_call(call: dict[str, Any], results: dict[str, Any], workflow: str) -> dict[str, Any]:
    part = call["part"]
    result = results.get(call["id"])
    record = {
        "workflow": workflow, "run_id": call["session"], "step": f"tool:{part.get('name')}",
        "kind": "tool", "started_at": iso(call["timestamp"]),
        "ended_at": iso(result["timestamp"]) if result else None,
        "input": part.get("input"),
        "status": "error" if result and result["error"] else "ok",
        "output": None if result is None or result["error"] else result["content"],
        "error": str(result["content"])[:500] if result and result["error"] else None,
        "step_id": call["id"], "parent_id": call["parent"],
    }  # fmt: skip
    return {k: v for k, v in record.items() if v is not None}


def is_session_line(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and record.get("type") in ("user", "assistant", "summary", "system")
        and ("sessionId" in record or "uuid" in record or "leafUuid" in record)
    )
