"""LangSmith runs: read-API run objects, ingest payloads ({"post": [...], "patch": [...]},
merged by run id), and Parquet bulk exports (the same fields as columns).

Token usage comes from `outputs.usage_metadata` (LangChain: input includes cache reads),
`outputs.llm_output.token_usage` or `outputs.usage` (OpenAI shape), or the run's own
`prompt_tokens`/`completion_tokens` (read API).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from solidify.assess.formats.common import (
    decode,
    each,
    first,
    integer,
    iso,
    number,
    objects,
    provider_name,
    stable_name,
    stable_workflow,
)

KINDS = {"llm": "llm", "embedding": "llm", "tool": "tool", "chain": "code", "retriever": "code",
         "prompt": "code", "parser": "code"}  # fmt: skip


def merge_payload(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """post then patch, by run id: one run each (a patch completes its post)."""
    runs: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for part in ("post", "patch"):
        for run in objects(doc.get(part)):
            # JS patches carry no id: the dotted order names the run as well.
            key = str(run.get("dotted_order") or run.get("id") or len(order))
            if key not in runs:
                runs[key] = {}
                order.append(key)
            runs[key].update({k: v for k, v in run.items() if v is not None})
    return [runs[k] for k in order]


def _usage(run: dict[str, Any], outputs: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    meta = outputs.get("usage_metadata") if isinstance(outputs, dict) else None
    token_usage = None
    if isinstance(outputs, dict):
        llm_output = outputs.get("llm_output")
        token_usage = (
            (llm_output or {}).get("token_usage") if isinstance(llm_output, dict) else None
        )
        token_usage = token_usage or outputs.get("usage")
    if isinstance(meta, dict):
        out["input_tokens"] = integer(meta.get("input_tokens"))
        out["output_tokens"] = integer(meta.get("output_tokens"))
        details = meta.get("input_token_details") or {}
        out["cache_read_tokens"] = integer(details.get("cache_read"))
        out["cache_write_tokens"] = integer(details.get("cache_creation"))
    elif isinstance(token_usage, dict):
        out["input_tokens"] = integer(first(token_usage, "prompt_tokens", "input_tokens"))
        out["output_tokens"] = integer(first(token_usage, "completion_tokens", "output_tokens"))
        details = token_usage.get("prompt_tokens_details") or {}
        out["cache_read_tokens"] = integer(details.get("cached_tokens"))
    else:
        out["input_tokens"] = integer(run.get("prompt_tokens"))
        out["output_tokens"] = integer(run.get("completion_tokens"))
    return {k: v for k, v in out.items() if v}


def run_records(runs: Iterable[dict[str, Any]], default_workflow: str) -> Iterator[dict[str, Any]]:
    runs = list(runs)
    # Child runs often leave the project out: they belong to their trace's project.
    projects = {
        str(first(run, "trace_id", "id")): _project(run) for run in objects(runs) if _project(run)
    }
    # Without a project of its own, a trace is named after its root run (`default` is the
    # project LangSmith files every run under when none is set: no workflow name).
    for run in objects(runs):
        trace = str(first(run, "trace_id", "id"))
        if trace not in projects and not run.get("parent_run_id") and run.get("name"):
            projects[trace] = stable_workflow(stable_name(run.get("name"), default=""))
    # An LLM run under a chain (or a prompt run) was rendered from the chain's inputs:
    # those are the template's variables.
    by_id = {str(run.get("id")): run for run in objects(runs) if run.get("id")}
    seen: set[str] = set()

    def read(run: dict[str, Any]) -> list[dict[str, Any]]:
        run_id = str(run.get("id") or "")
        if run_id and run_id in seen:
            return []  # the same run twice (a post and its patch already merged, or a re-export)
        seen.add(run_id)
        return [_run_record(run, run_id, projects, default_workflow, by_id)]

    yield from each(runs, read, "run")


def _run_record(
    run: dict[str, Any],
    run_id: str,
    projects: dict[str, Any],
    default_workflow: str,
    by_id: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    outputs = decode(run.get("outputs"))
    extra = decode(run.get("extra")) or {}
    metadata = extra.get("metadata") if isinstance(extra, dict) else {}
    metadata = metadata if isinstance(metadata, dict) else {}
    error = run.get("error")
    kind = KINDS.get(str(run.get("run_type") or "chain"), "code")
    model = first(metadata, "ls_model_name") or (
        outputs.get("model") if isinstance(outputs, dict) else None
    )
    record = {
        "workflow": str(
            _project(run) or projects.get(str(first(run, "trace_id", "id"))) or default_workflow
        ),
        "run_id": str(first(run, "trace_id", "id") or "unknown-trace"),
        "step": stable_name(run.get("name"), default=str(run.get("run_type") or "run")),
        "kind": kind,
        "status": "error" if error else "ok",
        "started_at": iso(run.get("start_time")),
        "ended_at": iso(run.get("end_time")),
        "model": str(model) if model else None,
        "provider": provider_name(metadata.get("ls_provider")),
        "input": decode(run.get("inputs")),
        "output": None if error else (answer(outputs) if kind == "llm" else outputs),
        "error": str(error) if error else None,
        "step_id": run_id or None,
        "parent_id": run.get("parent_run_id"),
    }
    record.update(_usage(run, outputs))
    record["cost_usd"] = number(run.get("total_cost"))
    parent_id = run.get("parent_run_id")
    parent = by_id.get(str(parent_id)) if parent_id else None
    if run.get("run_type") == "llm" and parent and parent.get("run_type") in ("chain", "prompt"):
        variables = decode(parent.get("inputs"))
        if isinstance(variables, dict) and variables:
            record["prompt_variables"] = variables
    return {k: v for k, v in record.items() if v is not None}


def _project(run: dict[str, Any]) -> str | None:
    name = stable_workflow(first(run, "session_name", "project_name"))
    return None if name == "default" else name


def answer(outputs: Any) -> Any:
    """What the model answered, out of the API response a wrapper logs whole (OpenAI
    `choices`, LangChain `generations`): its text, or its message when it calls tools."""
    if not isinstance(outputs, dict):
        return outputs
    choices = outputs.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            text = message.get("content")
            return text if isinstance(text, str) and not message.get("tool_calls") else message
    generations = outputs.get("generations")
    if isinstance(generations, list) and generations:
        top = generations[0][0] if isinstance(generations[0], list) else generations[0]
        if isinstance(top, dict) and isinstance(top.get("text"), str) and top["text"]:
            return top["text"]
    return outputs


def is_run(record: Any) -> bool:
    return isinstance(record, dict) and "run_type" in record and "id" in record
