"""Batch results: OpenAI Batch API output files and Anthropic Message Batches results.

OpenAI: one line per request, `response.body` a chat completion or a Responses object;
errors either on the line (`error`) or as a non-2xx `response.status_code`. OpenAI's
prompt tokens include cached ones. Anthropic: `result.type` succeeded, errored, canceled
or expired; Anthropic's `input_tokens` excludes cache reads and writes, so they are
added to get the canonical input count.

Records carry `processing: batch`, so that they are priced at each model's batch prices
(about half the usual rates, from genai-prices).
"""

from __future__ import annotations

from typing import Any

from solidify.assess.formats.common import first, integer, iso, stable_name


def _text_of_chat(body: dict[str, Any]) -> Any:
    choices = body.get("choices") or []
    if choices and isinstance(choices[0], dict):
        message = choices[0].get("message") or {}
        return message.get("content") if message.get("content") is not None else message
    return None


def _text_of_response(body: dict[str, Any]) -> Any:
    texts = []
    for item in body.get("output") or []:
        for part in (item or {}).get("content") or []:
            if isinstance(part, dict) and part.get("type") in ("output_text", "text"):
                texts.append(part.get("text", ""))
    return "".join(texts) if texts else body.get("output_text")


def openai_record(line: dict[str, Any], workflow: str) -> dict[str, Any]:
    custom = str(line.get("custom_id") or line.get("id") or "request")
    response = line.get("response") or {}
    body = response.get("body") or {}
    status_code = integer(response.get("status_code")) or 0
    failure = line.get("error") or (body.get("error") if status_code >= 400 else None)
    record: dict[str, Any] = {
        "workflow": workflow,
        "run_id": custom,
        "step": stable_name(custom, default="request"),
        "kind": "llm",
        "provider": "openai",
        "model": body.get("model"),
        "started_at": iso(first(body, "created", "created_at")),
        "step_id": line.get("id"),
        "status": "error" if failure or status_code >= 400 else "ok",
        "processing": "batch",
    }
    if record["status"] == "error":
        message = failure.get("message") if isinstance(failure, dict) else failure
        record["error"] = str(message or f"HTTP {status_code}")
        return {k: v for k, v in record.items() if v is not None}
    usage = body.get("usage") or {}
    record["input_tokens"] = integer(first(usage, "prompt_tokens", "input_tokens"))
    record["output_tokens"] = integer(first(usage, "completion_tokens", "output_tokens"))
    details = first(usage, "prompt_tokens_details", "input_tokens_details") or {}
    record["cache_read_tokens"] = integer(details.get("cached_tokens")) or None
    is_response = body.get("object") == "response"
    record["output"] = _text_of_response(body) if is_response else _text_of_chat(body)
    return {k: v for k, v in record.items() if v is not None}


def anthropic_record(line: dict[str, Any], workflow: str) -> dict[str, Any]:
    custom = str(line.get("custom_id") or "request")
    result = line.get("result") or {}
    kind = result.get("type")
    record: dict[str, Any] = {
        "workflow": workflow,
        "run_id": custom,
        "step": stable_name(custom, default="request"),
        "kind": "llm",
        "provider": "anthropic",
        "processing": "batch",
    }
    if kind != "succeeded":
        error = result.get("error") or {}
        inner = error.get("error") if isinstance(error.get("error"), dict) else error
        record["status"] = {"canceled": "cancelled", "expired": "timeout"}.get(kind, "error")
        record["error"] = str((inner or {}).get("message") or kind or "error")
        return record
    message = result.get("message") or {}
    usage = message.get("usage") or {}
    read = integer(usage.get("cache_read_input_tokens")) or 0
    write = integer(usage.get("cache_creation_input_tokens")) or 0
    record.update(
        status="ok",
        model=message.get("model"),
        step_id=message.get("id"),
        input_tokens=(integer(usage.get("input_tokens")) or 0) + read + write,
        output_tokens=integer(usage.get("output_tokens")),
        cache_read_tokens=read or None,
        cache_write_tokens=write or None,
        output="".join(
            part.get("text", "") for part in message.get("content") or []
            if isinstance(part, dict) and part.get("type") == "text"
        ),
    )  # fmt: skip
    return {k: v for k, v in record.items() if v is not None}


def is_openai(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and "custom_id" in record
        and ("response" in record or ("error" in record and "result" not in record))
    )


def is_anthropic(record: Any) -> bool:
    return isinstance(record, dict) and "custom_id" in record and "result" in record
