"""Claude Code session transcripts (JSON Lines under ~/.claude/projects/).

Claude Code writes one model response over several lines that share a message id:
they are merged into one `assistant` execution. Each tool call becomes a `tool`
execution whose output is the matching tool result. Anthropic's `input_tokens`
excludes cache reads and writes; they are added to get the canonical input count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from solidify.assess.formats.common import integer, iso


def session_records(lines: Iterable[dict[str, Any]], workflow: str) -> Iterator[dict[str, Any]]:
    responses: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    tools: dict[str, dict[str, Any]] = {}
    results: dict[str, Any] = {}
    for line in lines:
        kind = line.get("type")
        message = line.get("message") if isinstance(line.get("message"), dict) else {}
        session = str(line.get("sessionId") or "session")
        if kind == "assistant":
            key = str(message.get("id") or line.get("uuid"))
            if key not in responses:
                order.append(key)
                responses[key] = {"session": session, "timestamp": line.get("timestamp"),
                                  "model": message.get("model"), "content": [], "usage": {},
                                  "uuid": line.get("uuid"), "parent": line.get("parentUuid"),
                                  "error": line.get("isApiErrorMessage")}  # fmt: skip
            entry = responses[key]
            entry["content"].extend(message.get("content") or [])
            entry["usage"] = message.get("usage") or entry["usage"]  # the last line has the total
            for part in message.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "tool_use":
                    tools[str(part.get("id"))] = {"part": part, "session": session,
                                                  "timestamp": line.get("timestamp"),
                                                  "parent": entry["uuid"]}  # fmt: skip
        elif kind == "user":
            content = message.get("content")
            for part in content if isinstance(content, list) else []:
                if isinstance(part, dict) and part.get("type") == "tool_result":
                    results[str(part.get("tool_use_id"))] = {
                        "content": part.get("content"), "error": bool(part.get("is_error")),
                        "timestamp": line.get("timestamp"),
                    }  # fmt: skip
    for key in order:
        entry = responses[key]
        usage = entry["usage"] or {}
        read = integer(usage.get("cache_read_input_tokens")) or 0
        write = integer(usage.get("cache_creation_input_tokens")) or 0
        text = "".join(p.get("text", "") for p in entry["content"]
                       if isinstance(p, dict) and p.get("type") == "text")  # fmt: skip
        calls = [p.get("name") for p in entry["content"]
                 if isinstance(p, dict) and p.get("type") == "tool_use"]  # fmt: skip
        record = {
            "workflow": workflow, "run_id": entry["session"], "step": "assistant",
            "kind": "llm", "provider": "anthropic", "model": entry["model"],
            "status": "error" if entry["error"] else "ok",
            "ended_at": iso(entry["timestamp"]),
            "input_tokens": (integer(usage.get("input_tokens")) or 0) + read + write,
            "output_tokens": integer(usage.get("output_tokens")),
            "cache_read_tokens": read or None, "cache_write_tokens": write or None,
            "output": {"text": text, "tool_calls": calls} if calls else text,
            "step_id": key, "parent_id": entry["parent"],
        }  # fmt: skip
        yield {k: v for k, v in record.items() if v is not None}
    for tool_id, call in tools.items():
        part = call["part"]
        result = results.get(tool_id)
        record = {
            "workflow": workflow, "run_id": call["session"], "step": f"tool:{part.get('name')}",
            "kind": "tool", "started_at": iso(call["timestamp"]),
            "ended_at": iso(result["timestamp"]) if result else None,
            "input": part.get("input"),
            "status": "error" if result and result["error"] else "ok",
            "output": None if result is None or result["error"] else result["content"],
            "error": str(result["content"])[:500] if result and result["error"] else None,
            "step_id": tool_id, "parent_id": call["parent"],
        }  # fmt: skip
        yield {k: v for k, v in record.items() if v is not None}


def is_session_line(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and record.get("type") in ("user", "assistant", "summary", "system")
        and ("sessionId" in record or "uuid" in record or "leafUuid" in record)
    )
