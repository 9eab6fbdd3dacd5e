"""Agent traces told right: roll-ups, tools, tool-call turns, event spans, names and grouping."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from solidify.assess.assessment import assess
from solidify.assess.ingest import read_logs
from tests.conftest import CORPUS, record, write_jsonl

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="../shared/corpus is absent (real public trace files)"
)


def steps_of(*paths: Path) -> dict[str, dict]:
    return _steps_of(tuple(str(p) for p in paths))


@functools.lru_cache(maxsize=16)
def _steps_of(paths: tuple[str, ...]) -> dict[str, dict]:
    # The corpus files are read and assessed once for all the tests that look at them.
    result = read_logs(list(paths))
    assert result.problems.count == 0
    out = {}
    for w in assess(result.table).workflows:
        for s in w.steps:
            out[s.step] = {"workflow": w.workflow, **s.to_dict()}
    return out


# ---------------------------------------------------------------- roll-ups


def _family(parent_in: int, parent_out: int) -> list[dict]:
    return [
        record(run_id="r1", step="agent", kind="agent", model="gpt-4o", step_id="p",
               input_tokens=parent_in, output_tokens=parent_out, output="done"),
        record(run_id="r1", step="call", model="gpt-4o", step_id="c1", parent_id="p",
               input_tokens=100, output_tokens=10, output="a"),
        record(run_id="r1", step="call", model="gpt-4o", step_id="c2", parent_id="p",
               input_tokens=50, output_tokens=5, output="b"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("parent", "rollup", "reason"),
    [((150, 15), True, "equal"), ((170, 20), True, "contain"), ((120, 15), False, None)],
)
def test_a_parent_whose_usage_equals_or_contains_its_childrens_is_a_rollup(
    tmp_path: Path, parent, rollup, reason
) -> None:
    steps = steps_of(write_jsonl(tmp_path / "log.jsonl", _family(*parent)))
    agent, call = steps["agent"], steps["call"]
    assert agent["rollup"] is rollup and call["rollup"] is False
    if rollup:
        assert reason in agent["rollup_reason"]
        assert agent["cost_usd"] == 0.0  # counted once, on the calls
    else:
        assert agent["rollup_reason"] is None and agent["cost_usd"] > 0


def test_a_span_the_reader_marks_says_why(tmp_path: Path) -> None:
    steps = steps_of(write_jsonl(tmp_path / "log.jsonl", [
        record(step="wrapper", kind="agent", model="gpt-4o", input_tokens=9, output_tokens=9,
               rollup=True),
    ]))  # fmt: skip
    assert steps["wrapper"]["rollup"] is True
    assert "marks it" in steps["wrapper"]["rollup_reason"]


# ---------------------------------------------------------------- the real traces


@needs_corpus
def test_langfuse_agent_spans_that_repeat_their_calls_are_rollups(runner) -> None:
    from solidify.cli import cli

    path = CORPUS / "langfuse" / "pydantic-ai-tools-2025-12-04.trace.json"
    steps = steps_of(path)
    for name in ("joke_agent run", "evaluator_agent run"):
        assert steps[name]["rollup"] is True and "equal" in steps[name]["rollup_reason"]
        assert steps[name]["cost_usd"] == 0.0
    assert steps["chat gpt-4o-mini"]["rollup"] is False
    assert steps["chat gpt-4o-mini"]["cost_usd"] > 0
    table = runner.invoke(cli, ["assess", str(path)]).stdout
    rows = [line for line in table.splitlines() if "agent run " in line]
    assert len(rows) == 2 and all(" roll-up " in row for row in rows)


@needs_corpus
def test_langfuse_tools_are_tools_with_their_own_names() -> None:
    steps = steps_of(CORPUS / "langfuse" / "pydantic-ai-tools-2025-12-04.trace.json")
    for name in ("get_pun_suggestion", "get_dad_joke_suggestion", "get_one_liner_suggestion"):
        assert steps[name]["kind"] == "tool"
    assert steps["tools"]["kind"] == "tool"  # `running 3 tools`
    graph = steps_of(CORPUS / "langfuse" / "langgraph-js-2025-10-30.trace.json")
    assert graph["get_weather"]["kind"] == "tool"
    assert graph["ChannelWrite<...>"]["kind"] == "code"  # LangGraph's plumbing stays code


@needs_corpus
def test_assistants_with_tool_call_turns_do_not_fail() -> None:
    graph = steps_of(CORPUS / "langfuse" / "langgraph-js-2025-10-30.trace.json")
    assert graph["ChatOpenAI"]["failure_rate"] == 0.0
    assert all(s["failure_rate"] == 0.0 for s in graph.values())
    assert graph["ChatOpenAI"]["recommendation"] != "harden"
    claude = steps_of(CORPUS / "claude_code" / "cc_representative_messages.jsonl")
    assert claude["assistant"]["failure_rate"] == 0.0


@needs_corpus
def test_langsmith_files_without_a_project_are_grouped_by_their_trace() -> None:
    steps = steps_of(*sorted((CORPUS / "langsmith").glob("*.json")))
    assert steps["ChatOpenAI"]["workflow"] == "ChatOpenAI"  # not LangSmith's `default`
    assert steps["ChatOpenAI"]["failure_rate"] == 0.0


def test_an_explicit_langsmith_project_is_kept(tmp_path: Path) -> None:
    run = {"id": "1", "trace_id": "1", "name": "ChatOpenAI", "run_type": "llm",
           "session_name": "support-bot", "outputs": {"choices": [{"message": {
               "role": "assistant", "content": "hello"}}]}}  # fmt: skip
    path = tmp_path / "runs.json"
    path.write_text(json.dumps([run]), encoding="utf-8")
    table = read_logs([str(path)]).frame()
    assert table["workflow"].astype(str).tolist() == ["support-bot"]
    assert table["output"].tolist() == ['"hello"']  # the answer, not the API response


def test_langfuse_names_lose_ids_and_events_are_not_steps(tmp_path: Path) -> None:
    trace = {
        "trace": {"id": "t1", "name": "agent.f9f77d1a-3b2c-4d5e-8f90-1a2b3c4d5e6f"},
        "observations": [
            {"id": "a", "type": "GENERATION", "name": "chat", "model": "gpt-4o",
             "usageDetails": {"input": 5, "output": 2}, "output": "hi"},
            {"id": "b", "type": "EVENT", "name": "retry", "parentObservationId": "a"},
            {"id": "c", "type": "SPAN", "name": "execute_tool say_hello",
             "parentObservationId": "a", "output": "hello"},
        ],
    }  # fmt: skip
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(trace), encoding="utf-8")
    table = read_logs([str(path)]).frame()
    assert set(table["workflow"].astype(str)) == {"agent"}
    assert sorted(table["step"].astype(str)) == ["chat", "say_hello"]
    assert table.set_index(table["step"].astype(str)).loc["say_hello", "kind"] == "tool"


def test_event_spans_fold_into_their_call(tmp_path: Path) -> None:
    def span(name: str, span_id: str, start: int, attrs: dict) -> dict:
        return {"name": name, "spanContext": {"traceId": "t", "spanId": span_id},
                "parentSpanId": "root", "startTime": [start, 0], "endTime": [start + 1, 0],
                "attributes": attrs}  # fmt: skip

    spans = [
        span("chat.start", "1", 1_700_000_000, {"gen_ai.request.model": "gpt-4o"}),
        span("chat.success", "2", 1_700_000_001, {"gen_ai.usage.input_tokens": 40,
             "gen_ai.usage.output_tokens": 7, "gen_ai.completion": "ok"}),
        span("chat.finish", "3", 1_700_000_002, {}),
    ]  # fmt: skip
    path = tmp_path / "spans.json"
    path.write_text(json.dumps(spans), encoding="utf-8")
    table = read_logs([str(path)]).frame()
    assert table["step"].astype(str).tolist() == ["chat"]
    row = table.iloc[0]
    assert (row["input_tokens"], row["output_tokens"]) == (40, 7)
    assert row["duration_ms"] == 3000.0


@needs_corpus
@pytest.mark.parametrize(
    "name", ["claude-agent-2025-12-22.trace.json", "pydantic-ai-tools-2025-12-04.trace.json"]
)
def test_an_agent_under_a_root_span_is_not_lifted_by_its_wrapper(name: str) -> None:
    # The only code span is the root that wraps the agent: no code of its own, stage 1.
    result = read_logs([str(CORPUS / "langfuse" / name)])
    [w] = assess(result.table).workflows
    assert w.maturity.level == 1
    assert w.maturity.metrics["code_execution_share"] == 0.0
    assert any("out of the agent" in n.text for n in w.maturity.next_steps)
