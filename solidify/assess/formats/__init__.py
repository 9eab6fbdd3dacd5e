"""Trace formats people already export, mapped onto the canonical record.

`detect` looks at a file's first record (or its whole document, for JSON) and names
the format; `to_records` turns a format's payload into canonical records, which are
then validated like any log. docs/formats.md describes each mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from solidify.assess.formats import batches, claude_code, kestra, langfuse, langsmith, spans
from solidify.assess.formats.common import READ_ERRORS, each, one_line
from solidify.assess.records import Unreadable

__all__ = ["READ_ERRORS", "one_line"]

FORMATS: dict[str, str] = {
    "canonical": "solidify's canonical step records",
    "otlp": "OpenTelemetry OTLP/JSON, and the collector's file exporter (JSON Lines)",
    "spans": "span dumps: JS ReadableSpan (Vercel AI SDK), Python ConsoleSpanExporter, "
    "Phoenix/OpenInference span exports",
    "attributes": "one span's attributes (OpenTelemetry GenAI or OpenInference)",
    "langfuse": "Langfuse trace download ({trace, observations}) or blob export rows",
    "langsmith": "LangSmith runs, ingest payloads ({post, patch}) or Parquet bulk export",
    "kestra": "Kestra execution (with or without task outputs)",
    "kestra-flow": "Kestra flow YAML or flow graph: supplies task types to executions",
    "openai-batch": "OpenAI Batch API output",
    "anthropic-batch": "Anthropic Message Batches results",
    "claude-code": "Claude Code session transcript",
}
CANONICAL_KEYS = ("workflow", "run_id", "step")


class FormatMismatch(ValueError):
    """The data is not of the format it is read as."""


@dataclass
class Context:
    """What one file tells the readers of others (Kestra task types)."""

    task_types: dict[str, str] = field(default_factory=dict)


def known() -> str:
    return ", ".join(FORMATS)


def detect(sample: Any) -> str | None:
    """The format of a record or document, or None."""
    if isinstance(sample, list):
        items = [x for x in sample[:20] if isinstance(x, dict)]
        if not items:
            return None
        if all(all(k in x for k in CANONICAL_KEYS) for x in items):
            return "canonical"
        if all("spanContext" in x or ("context" in x and "name" in x) for x in items):
            return "spans"
        if all(langsmith.is_run(x) or ("id" in x and "trace_id" in x) for x in items):
            return "langsmith"
        return detect(items[0]) if len(items) == 1 else None
    if not isinstance(sample, dict):
        return None
    if all(k in sample for k in CANONICAL_KEYS):
        return "canonical"
    if "resourceSpans" in sample or "resource_spans" in sample:
        return "otlp"
    if "trace" in sample and "observations" in sample:
        return "langfuse"
    if langfuse.is_blob_row(sample):
        return "langfuse"
    if isinstance(sample.get("post"), list) or isinstance(sample.get("patch"), list):
        return "langsmith"
    if langsmith.is_run(sample):
        return "langsmith"
    if kestra.is_execution(sample):
        return "kestra"
    if kestra.is_flow(sample):
        return "kestra-flow"
    if batches.is_anthropic(sample):
        return "anthropic-batch"
    if batches.is_openai(sample):
        return "openai-batch"
    if claude_code.is_session_line(sample):
        return "claude-code"
    if "spanContext" in sample or ("context" in sample and "name" in sample):
        return "spans"
    if spans.is_attribute_set(sample):
        return "attributes"
    return None


def to_records(
    name: str, items: Iterable[Any], default_workflow: str, context: Context
) -> Iterator[dict[str, Any]]:
    """Canonical records from the parsed items of one file (JSON Lines rows, or the single
    document of a JSON file)."""
    items = list(items)
    if name == "canonical":
        for item in items:
            yield from item if isinstance(item, list) else [item]
    elif name == "otlp":
        yield from each(items, lambda doc: spans.otlp_records(doc, default_workflow), "document")
    elif name == "spans":
        flat = [s for doc in items for s in (doc if isinstance(doc, list) else [doc])]
        yield from spans.dump_records(flat, default_workflow)
    elif name == "attributes":
        yield from each(items, lambda doc: [spans.attribute_set_record(doc, default_workflow)],
                        "attribute set")  # fmt: skip
    elif name == "langfuse":
        rows: list[Any] = []
        for doc in items:
            if isinstance(doc, dict) and "observations" in doc and "trace" in doc:
                yield from langfuse.trace_records(doc)
            else:
                rows.append(doc)
        yield from langfuse.export_records(rows, default_workflow)
    elif name == "langsmith":
        runs: list[dict[str, Any]] = []
        for doc in items:
            if isinstance(doc, dict) and ("post" in doc or "patch" in doc):
                runs.extend(langsmith.merge_payload(doc))
            elif isinstance(doc, list):
                runs.extend(doc)
            else:
                runs.append(doc)
        yield from langsmith.run_records(runs, default_workflow)
    elif name == "kestra":
        for doc in items:
            if isinstance(doc, Unreadable):
                yield doc
                continue
            if not kestra.is_execution(doc):
                raise FormatMismatch("not a Kestra execution (no taskRunList)")
            yield from kestra.execution_records(doc, context.task_types)
    elif name == "kestra-flow":
        for doc in items:
            if not isinstance(doc, Unreadable):
                context.task_types.update(kestra.task_types(doc))
    elif name == "openai-batch":
        yield from each(items, lambda line: [batches.openai_record(line, default_workflow)],
                        "batch result")  # fmt: skip
    elif name == "anthropic-batch":
        yield from each(items, lambda line: [batches.anthropic_record(line, default_workflow)],
                        "batch result")  # fmt: skip
    elif name == "claude-code":
        yield from claude_code.session_records(items, default_workflow)
    else:
        raise ValueError(f"unknown format {name!r}")
