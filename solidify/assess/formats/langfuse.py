"""Langfuse: trace downloads ({"trace", "observations"}, camelCase) and blob exports
(observation rows in snake_case, JSON Lines).

Langfuse's `usageDetails` holds disjoint buckets (`input`, `input_cached_tokens`,
`input_cache_read`, …, `output`, …) that add up to `total`: the canonical input count
is the sum of the input buckets. Only `usageDetails` is read for usage, never the
framework attributes in `metadata`, where agent spans repeat their children's usage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from solidify.assess.formats.common import (
    decode,
    each,
    first,
    fold_events,
    integer,
    iso,
    number,
    plain_row,
    provider_name,
    stable_name,
    stable_workflow,
    tool_span,
)

KINDS = {
    "GENERATION": "llm", "EMBEDDING": "llm", "AGENT": "agent", "TOOL": "tool",
    "SPAN": "code", "CHAIN": "code", "RETRIEVER": "code", "EVALUATOR": "code",
    "GUARDRAIL": "code", "EVENT": "code",
}  # fmt: skip


def usage(details: Any) -> dict[str, int]:
    if not isinstance(details, dict):
        return {}
    out = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0}
    seen = False
    for key, value in details.items():
        count = integer(value)
        if count is None or key == "total":
            continue
        seen = True
        name = key.lower()
        if name.startswith(("input", "prompt")):
            out["input_tokens"] += count
            if "cache_read" in name or "cached" in name:
                out["cache_read_tokens"] += count
            elif "cache_creation" in name or "cache_write" in name:
                out["cache_write_tokens"] += count
        elif name.startswith(("output", "completion")):
            out["output_tokens"] += count
    return {k: v for k, v in out.items() if v} if seen else {}


# LangGraph's own plumbing inside a node: never the node's work itself.
_LANGGRAPH_PLUMBING = re.compile(r"^(?:ChannelWrite|ChannelRead|Branch|Runnable\w*)\b|^__\w+__$")


def _metadata(observation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, its OTel `attributes`), each {} when absent."""
    metadata = decode(observation.get("metadata"))
    metadata = metadata if isinstance(metadata, dict) else {}
    attributes = metadata.get("attributes")
    return metadata, attributes if isinstance(attributes, dict) else {}


def _kind(observation: dict[str, Any]) -> str:
    kind = KINDS.get(str(observation.get("type") or "SPAN").upper(), "code")
    if kind != "code":
        return kind
    metadata, attributes = _metadata(observation)
    name = str(observation.get("name") or "")
    span_kind = str(attributes.get("openinference.span.kind", "")).upper()
    operation = str(attributes.get("gen_ai.operation.name", ""))
    if span_kind == "TOOL" or operation == "execute_tool" or tool_span(name, attributes):
        return "tool"
    if metadata.get("langgraph_node") == "tools" and not _LANGGRAPH_PLUMBING.match(name):
        return "tool"  # LangGraph's ToolNode and the tools it runs
    if (
        span_kind == "AGENT"
        or operation in ("invoke_agent", "create_agent")
        or "gen_ai.agent.name" in attributes
        or "agent_name" in attributes
    ):
        return "agent"
    return kind


def _step(observation: dict[str, Any], kind: str) -> str:
    name = observation.get("name")
    if kind == "tool":
        _, attributes = _metadata(observation)
        tool = tool_span(name, attributes)
        if tool:
            return stable_name(tool, default="tool")
    return stable_name(name, default=str(observation.get("type") or "step").lower())


def observation_records(
    observations: Iterable[dict[str, Any]], workflow: str | None, run_id: str | None
) -> Iterator[dict[str, Any]]:
    yield from fold_events(each(observations, lambda o: _observation(o, workflow, run_id),
                                "observation"))  # fmt: skip


def _observation(
    o: dict[str, Any], workflow: str | None, run_id: str | None
) -> list[dict[str, Any]]:
    if str(o.get("type") or "").upper() == "EVENT" and first(
        o, "parentObservationId", "parent_observation_id"
    ):
        return []  # a point in time of its parent's call, not a step of its own
    kind = _kind(o)
    level = str(first(o, "level") or "DEFAULT").upper()
    failed = level == "ERROR"
    cost = first(o, "costDetails", "cost_details")
    total_cost = first(o, "totalCost", "total_cost")
    if total_cost is None and isinstance(cost, dict):
        total_cost = cost.get("total")
    model = first(o, "model", "providedModelName", "provided_model_name")
    record = {
        "workflow": stable_workflow(workflow or first(o, "traceName", "trace_name")) or "langfuse",
        "run_id": str(run_id or first(o, "traceId", "trace_id") or "unknown-trace"),
        "step": _step(o, kind),
        "kind": kind,
        "status": "error" if failed else "ok",
        "started_at": iso(first(o, "startTime", "start_time")),
        "ended_at": iso(first(o, "endTime", "end_time")),
        "model": str(model) if model else None,
        "provider": provider_name(_provider(o)),
        "input": decode(o.get("input")),
        "output": None if failed else decode(o.get("output")),
        "error": str(first(o, "statusMessage", "status_message") or "error") if failed else None,
        "step_id": first(o, "id"),
        "parent_id": first(o, "parentObservationId", "parent_observation_id"),
        "prompt_name": first(o, "promptName", "prompt_name"),
        "prompt_version": first(o, "promptVersion", "prompt_version"),
    }
    record.update(usage(first(o, "usageDetails", "usage_details")))
    if record.get("input_tokens") or record.get("output_tokens"):
        record["cost_usd"] = number(total_cost)
    elif kind in ("agent", "code"):
        # Agent and wrapper spans carry usage only in their framework attributes: read it,
        # so the roll-up rule (assess/rollups.py) can tell a wrapper from a call of its own.
        record.update(_attribute_usage(o, record))
    return [{k: v for k, v in record.items() if v is not None}]


def _attribute_usage(o: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    _, attributes = _metadata(o)
    tokens_in = integer(first(attributes, "gen_ai.usage.input_tokens", "llm.token_count.prompt"))
    tokens_out = integer(
        first(attributes, "gen_ai.usage.output_tokens", "llm.token_count.completion")
    )
    if not tokens_in and not tokens_out:
        return {}
    out: dict[str, Any] = {"input_tokens": tokens_in, "output_tokens": tokens_out}
    model = first(attributes, "gen_ai.response.model", "gen_ai.request.model", "model_name")
    if model and not record.get("model"):
        out["model"] = str(model)
    return {k: v for k, v in out.items() if v is not None}


def _message(o: dict[str, Any]) -> str:
    return str(first(o, "statusMessage", "status_message") or "error")


def _provider(o: dict[str, Any]) -> Any:
    metadata = decode(o.get("metadata"))
    attributes = metadata.get("attributes") if isinstance(metadata, dict) else None
    if isinstance(attributes, dict):
        return first(attributes, "gen_ai.system", "gen_ai.provider.name", "llm.provider")
    return None


def trace_records(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    trace = doc.get("trace") if isinstance(doc.get("trace"), dict) else {}
    observations = doc.get("observations")
    yield from observation_records(
        observations if isinstance(observations, list) else [], trace.get("name"), trace.get("id")
    )


def export_records(
    rows: Iterable[dict[str, Any]], default_workflow: str
) -> Iterator[dict[str, Any]]:
    """Rows of the `observations` table as the blob export writes them (Parquet or JSON
    Lines). The workflow is the trace's name (`trace_name`, in the enriched export), else
    the name of the trace's root observation (the one the others hang from)."""
    rows = [plain_row(r) for r in rows]
    parents = {r.get("parent_observation_id") for r in rows}
    roots = {
        r.get("trace_id"): r.get("name")
        for r in rows
        if not r.get("parent_observation_id") and r.get("id") in parents and r.get("name")
    }
    for row in rows:
        trace = row.get("trace_id")
        workflow = first(row, "trace_name", "traceName") or roots.get(trace) or default_workflow
        yield from observation_records([row], str(workflow), None)


_plain = plain_row  # the old name


def is_blob_columns(names: Iterable[str]) -> bool:
    """Columns of the observations table's export (snake_case)."""
    return is_blob_row(dict.fromkeys(names))


def is_blob_row(record: dict[str, Any]) -> bool:
    return (
        "trace_id" in record
        and "type" in record
        and ("start_time" in record or "usage_details" in record)
    )
