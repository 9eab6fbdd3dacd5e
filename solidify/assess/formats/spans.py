"""Spans: OTLP/JSON and the collector's file exporter, SDK span dumps (Python's
ConsoleSpanExporter, JS ReadableSpan), Phoenix/OpenInference exports, and bare attribute sets.

Attributes follow one of three conventions, mapped here onto the canonical record:
OpenTelemetry GenAI (older `gen_ai.system`, `gen_ai.prompt`, `…prompt_tokens` and the
current `gen_ai.provider.name`, `gen_ai.input.messages`, `…input_tokens`), OpenInference
(`openinference.span.kind`, `llm.*`, `input.value`), and the Vercel AI SDK (`ai.*`).
In all three the input token count includes cached tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from solidify.assess.formats.common import (
    decode,
    each,
    first,
    fold_events,
    integer,
    iso,
    number,
    objects,
    provider_name,
    stable_name,
    stable_workflow,
    tool_span,
)

OI_KINDS = {
    "LLM": "llm", "EMBEDDING": "llm", "AGENT": "agent", "TOOL": "tool", "CHAIN": "code",
    "RETRIEVER": "code", "RERANKER": "code", "GUARDRAIL": "code", "EVALUATOR": "code",
}  # fmt: skip
GENAI_OPERATIONS = {
    "chat": "llm", "text_completion": "llm", "generate_content": "llm", "embeddings": "llm",
    "execute_tool": "tool", "invoke_agent": "agent", "create_agent": "agent",
}  # fmt: skip


def flatten_otlp_attributes(items: Any) -> dict[str, Any]:
    """OTLP's [{"key": k, "value": {"stringValue": v}}], or nested attribute objects as
    Phoenix exports them ({"llm": {"model_name": …}}), as one flat dict of dotted keys."""
    if isinstance(items, dict):
        return _dotted(items)
    out: dict[str, Any] = {}
    for item in items or []:
        if isinstance(item, dict) and "key" in item:
            out[item["key"]] = _any_value(item.get("value"))
    return out


def _dotted(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        # Message lists stay whole; only nested objects of attributes are flattened.
        if isinstance(value, dict) and value and not name.endswith((".value", "messages")):
            out.update(_dotted(value, f"{name}."))
        else:
            out[name] = value
    return out


def _any_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return integer(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return flatten_otlp_attributes((value["kvlistValue"] or {}).get("values", []))
    return None


EVENT_CONTENT = {
    # Older GenAI conventions log content as span events rather than attributes.
    "gen_ai.content.prompt": ("gen_ai.prompt", "gen_ai.prompt"),
    "gen_ai.content.completion": ("gen_ai.completion", "gen_ai.completion"),
}


def with_events(attrs: dict[str, Any], events: Any) -> dict[str, Any]:
    """Span attributes, completed with the content older conventions put in events
    (`gen_ai.content.prompt` / `.completion`, and `gen_ai.user.message` / `gen_ai.choice`)."""
    if not isinstance(events, list) or not events:
        return attrs
    merged = dict(attrs)
    messages, choices = [], []
    for event in events:
        if not isinstance(event, dict):
            continue
        name = event.get("name")
        fields = flatten_otlp_attributes(event.get("attributes"))
        if name in EVENT_CONTENT:
            source, target = EVENT_CONTENT[name]
            if source in fields and target not in merged:
                merged[target] = fields[source]
        elif name in (
            "gen_ai.system.message",
            "gen_ai.user.message",
            "gen_ai.assistant.message",
            "gen_ai.tool.message",
        ):
            messages.append({"role": name.split(".")[1], **fields})
        elif name == "gen_ai.choice":
            choices.append(fields)
    if messages and "gen_ai.prompt" not in merged and "gen_ai.input.messages" not in merged:
        merged["gen_ai.input.messages"] = messages
    if choices and "gen_ai.completion" not in merged and "gen_ai.output.messages" not in merged:
        merged["gen_ai.output.messages"] = choices
    return merged


def map_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """The canonical fields these span attributes carry (kind, model, tokens, content)."""
    out: dict[str, Any] = {}
    oi_kind = attrs.get("openinference.span.kind")
    operation = attrs.get("gen_ai.operation.name")
    operation_id = str(attrs.get("ai.operationId") or "")
    if oi_kind:
        out["kind"] = OI_KINDS.get(str(oi_kind).upper(), "code")
    elif operation:
        out["kind"] = GENAI_OPERATIONS.get(str(operation), "code")
    elif operation_id:
        if operation_id.startswith("ai.toolCall"):
            out["kind"] = "tool"
        elif ".do" in operation_id or operation_id.startswith("ai.embed"):
            out["kind"] = "llm"
        else:
            out["kind"] = "agent"  # ai.generateText and friends wrap model and tool calls
    model = first(attrs, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name",
                  "ai.response.model", "ai.model.id")  # fmt: skip
    if model:
        out["model"] = str(model)
    provider = first(attrs, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system",
                     "ai.model.provider")  # fmt: skip
    if provider:
        out["provider"] = provider_name(provider)
    tokens_in = first(
        attrs,
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "ai.usage.inputTokens",
        "ai.usage.promptTokens",
    )
    tokens_out = first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                       "llm.token_count.completion", "ai.usage.outputTokens",
                       "ai.usage.completionTokens")  # fmt: skip
    cache_read = first(
        attrs,
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
        "ai.usage.cachedInputTokens",
    )
    cache_write = first(attrs, "gen_ai.usage.cache_creation.input_tokens",
                        "gen_ai.usage.cache_creation_input_tokens",
                        "llm.token_count.prompt_details.cache_write")  # fmt: skip
    for key, value in (
        ("input_tokens", tokens_in),
        ("output_tokens", tokens_out),
        ("cache_read_tokens", cache_read),
        ("cache_write_tokens", cache_write),
    ):
        if integer(value) is not None:
            out[key] = integer(value)
    cost = number(first(attrs, "gen_ai.usage.cost", "llm.cost.total"))
    if cost is not None:
        out["cost_usd"] = cost
    if out.get("kind") == "agent" and ("input_tokens" in out or "output_tokens" in out):
        # Agent and wrapper spans report the usage of the model calls under them.
        out["rollup"] = True
    inp = first(attrs, "input", "input.value", "gen_ai.input.messages", "gen_ai.prompt",
                "gen_ai.tool.call.arguments", "ai.prompt.messages", "ai.prompt",
                "ai.toolCall.args")  # fmt: skip
    outp = first(attrs, "output", "output.value", "gen_ai.output.messages", "gen_ai.completion",
                 "gen_ai.tool.call.result", "ai.response.object", "ai.response.text",
                 "ai.toolCall.result")  # fmt: skip
    if inp is not None:
        out["input"] = decode(inp)
    if outp is not None:
        out["output"] = decode(outp)
    # OpenInference's prompt template: the application's own variables (and template).
    variables = decode(attrs.get("llm.prompt_template.variables"))
    nested = "llm.prompt_template.variables."  # Phoenix's nested objects, flattened
    if variables is None and any(k.startswith(nested) for k in attrs):
        variables = {k[len(nested) :]: v for k, v in attrs.items() if k.startswith(nested)}
    if isinstance(variables, dict):
        out["prompt_variables"] = variables
    for key, field in (("llm.prompt_template.version", "prompt_version"),
                       ("llm.prompt_template.template", "prompt_template")):  # fmt: skip
        if isinstance(attrs.get(key), (str, int)):
            out[field] = attrs[key]
    return out


def step_of(name: Any, attrs: dict[str, Any]) -> str:
    tool = tool_span(name, attrs)
    if tool:
        return f"tool:{tool}"
    return stable_name(first(attrs, "ai.operationId") or name)


def span_record(
    *,
    workflow: str,
    trace_id: Any,
    span_id: Any,
    parent_id: Any,
    name: Any,
    start: Any,
    end: Any,
    error: bool,
    message: Any,
    attrs: dict[str, Any],
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "workflow": workflow,
        "run_id": str(trace_id or "unknown-trace"),
        "step": step_of(name, attrs),
        "kind": "code",
        "status": "error" if error else "ok",
        "started_at": iso(start),
        "ended_at": iso(end),
        "step_id": str(span_id) if span_id else None,
        "parent_id": str(parent_id) if parent_id else None,
    }
    record.update(map_attributes(attrs))
    if record["kind"] == "code" and tool_span(name, attrs):
        record["kind"] = "tool"  # named as frameworks name tool spans (`execute_tool NAME`)
    if error:
        record["error"] = str(message or "error")
        record["output"] = None
    return {k: v for k, v in record.items() if v is not None}


def _workflow(resource: dict[str, Any], attrs: dict[str, Any], default: str) -> str:
    return (
        stable_workflow(
            first(attrs, "ai.telemetry.functionId", "resource.name", "gen_ai.agent.name")
            or first(resource, "service.name")
        )
        or default
    )


def _error(status: Any) -> tuple[bool, Any]:
    if not isinstance(status, dict):
        return False, None
    code = first(status, "code", "status_code", "statusCode")
    failed = code in (2, "2", "ERROR", "STATUS_CODE_ERROR")
    return failed, first(status, "message", "description")


def otlp_records(doc: dict[str, Any], default_workflow: str) -> Iterator[dict[str, Any]]:
    """OTLP/JSON: resourceSpans -> scopeSpans -> spans."""
    for resource_spans in objects(doc.get("resourceSpans") or doc.get("resource_spans")):
        resource = resource_spans.get("resource")
        resource = flatten_otlp_attributes(
            resource.get("attributes") if isinstance(resource, dict) else None
        )
        scopes = resource_spans.get("scopeSpans") or resource_spans.get(
            "instrumentationLibrarySpans"
        )
        for scope in objects(scopes):
            spans = scope.get("spans")
            yield from fold_events(each(
                spans if isinstance(spans, list) else [],
                lambda span, r=resource: [_otlp_span(span, r, default_workflow)], "span",
            ))  # fmt: skip


def _otlp_span(span: dict[str, Any], resource: dict[str, Any], default: str) -> dict[str, Any]:
    attrs = with_events(flatten_otlp_attributes(span.get("attributes")), span.get("events"))
    failed, message = _error(span.get("status"))
    return span_record(
        workflow=_workflow(resource, attrs, default),
        trace_id=span.get("traceId"), span_id=span.get("spanId"),
        parent_id=span.get("parentSpanId"), name=span.get("name"),
        start=integer(span.get("startTimeUnixNano")),
        end=integer(span.get("endTimeUnixNano")),
        error=failed, message=message, attrs=attrs,
    )  # fmt: skip


def dump_records(spans: list[dict[str, Any]], default_workflow: str) -> Iterator[dict[str, Any]]:
    """SDK span dumps: JS ReadableSpan (spanContext, [s, ns] times), Python's
    ConsoleSpanExporter and Phoenix/OpenInference exports (context, parent_id, ISO times)."""
    yield from fold_events(each(spans, lambda span: [_dumped_span(span, default_workflow)], "span"))


def _dumped_span(span: dict[str, Any], default_workflow: str) -> dict[str, Any]:
    context = first(span, "spanContext", "context") or {}
    attrs = with_events(flatten_otlp_attributes(span.get("attributes")), span.get("events"))
    resource = flatten_otlp_attributes(
        (span.get("resource") or {}).get("attributes")
        if isinstance(span.get("resource"), dict)
        else {}
    )
    failed, message = _error(span.get("status"))
    if not failed and str(span.get("status_code", "")).upper() == "ERROR":
        failed, message = True, span.get("status_message")
    return span_record(
        workflow=_workflow(resource, attrs, default_workflow),
        trace_id=first(context, "traceId", "trace_id"),
        span_id=first(context, "spanId", "span_id"),
        parent_id=first(span, "parentSpanId", "parent_id", "parentId"),
        name=span.get("name"),
        start=first(span, "startTime", "start_time"),
        end=first(span, "endTime", "end_time"),
        error=failed, message=message, attrs=attrs,
    )  # fmt: skip


def attribute_set_record(attrs: dict[str, Any], default_workflow: str) -> dict[str, Any]:
    """A file that holds one span's attributes only (no name, ids or times)."""
    return span_record(
        workflow=default_workflow, trace_id=default_workflow, span_id=None, parent_id=None,
        name=first(attrs, "gen_ai.operation.name", "openinference.span.kind") or "span",
        start=None, end=None, error=False, message=None, attrs=attrs,
    )  # fmt: skip


def is_attribute_set(doc: Any) -> bool:
    return isinstance(doc, dict) and any(
        key.startswith(("gen_ai.", "llm.", "openinference.")) for key in doc
    )
