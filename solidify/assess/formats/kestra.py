"""Kestra executions: one record per task run attempt.

Both shapes are read: the older one with `outputs` on each task run, and the 2.0 one
without. Task types come from a flow definition given beside the executions (the
flow's YAML, or its flow graph JSON); a task whose type is an AI plugin is `llm`,
any other task `code`. Records carry `orchestrator: kestra`: the workflow is a
declared definition an orchestrator runs (stage 4 of the maturity model).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from solidify.assess.formats.common import decode, each, first, iso

AI_PLUGINS = ("openai", "anthropic", "gemini", "googleai", "vertexai", "mistral", "ollama",
              "langchain4j", ".ai.", "deepseek", "perplexity", "huggingface")  # fmt: skip
FAILED = {"FAILED", "KILLED", "WARNING", "CANCELLED", "RETRIED"}
STATUS = {"FAILED": "error", "WARNING": "error", "KILLED": "cancelled", "CANCELLED": "cancelled",
          "RETRIED": "error"}  # fmt: skip


def task_types(doc: Any) -> dict[str, str]:
    """taskId -> type, from a flow graph ({"nodes": [...]}) or a flow ({"tasks": [...]})."""
    types: dict[str, str] = {}

    def walk(tasks: Any) -> None:
        for task in tasks or []:
            if isinstance(task, dict) and "id" in task:
                types[str(task["id"])] = str(task.get("type") or "")
                for key in ("tasks", "then", "else", "errors", "finally"):
                    walk(task.get(key))

    if isinstance(doc, dict):
        for node in doc.get("nodes") or []:
            if isinstance(node, dict) and isinstance(node.get("task"), dict):
                walk([node["task"]])
        walk(doc.get("tasks"))
    return types


def kind_of(task_type: str | None) -> str:
    if task_type and any(p in task_type.lower() for p in AI_PLUGINS):
        return "llm"
    return "code"


def execution_records(doc: dict[str, Any], types: dict[str, str]) -> Iterator[dict[str, Any]]:
    workflow = ".".join(str(p) for p in (doc.get("namespace"), doc.get("flowId")) if p)
    runs = doc.get("taskRunList")
    yield from each(runs if isinstance(runs, list) else [],
                    lambda run: _task_run(doc, run, workflow, types), "task run")  # fmt: skip


def _task_run(
    doc: dict[str, Any], run: dict[str, Any], workflow: str, types: dict[str, str]
) -> Iterator[dict[str, Any]]:
    state = decode(run.get("state")) or {}
    attempts = decode(run.get("attempts")) or []
    base = {
        "workflow": workflow or "kestra",
        "run_id": str(doc.get("id") or run.get("executionId") or "unknown-execution"),
        "step": str(run.get("taskId") or "task"),
        "kind": kind_of(types.get(str(run.get("taskId")))),
        "step_id": run.get("id"),
        "parent_id": run.get("parentTaskRunId"),
        "input": {"value": run["value"]} if run.get("value") is not None else None,
        "orchestrator": "kestra",
        "task_type": types.get(str(run.get("taskId"))),
    }
    if not attempts:
        attempts = [{"state": state}]
    for number, attempt in enumerate(attempts, 1):
        attempt_state = decode(attempt.get("state")) if isinstance(attempt, dict) else {}
        attempt_state = attempt_state or state
        current = str(first(attempt_state, "current") or first(state, "current") or "")
        histories = attempt_state.get("histories") or []
        dates = [h.get("date") for h in histories if isinstance(h, dict) and h.get("date")]
        last = number == len(attempts)
        record = {
            **base,
            "attempt": number,
            "status": STATUS.get(current, "ok") if current in FAILED else "ok",
            "started_at": iso(dates[0]) if dates else None,
            "ended_at": iso(dates[-1]) if len(dates) > 1 else None,
            "output": run.get("outputs") if last and current not in FAILED else None,
        }
        if current in FAILED:
            record["error"] = f"task run {current.lower()}"
        yield {k: v for k, v in record.items() if v is not None}


def is_execution(doc: Any) -> bool:
    return isinstance(doc, dict) and "taskRunList" in doc


def is_flow(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    nodes = doc.get("nodes")
    graph = isinstance(nodes, list) and "edges" in doc
    return graph or ("tasks" in doc and "namespace" in doc and "id" in doc)
