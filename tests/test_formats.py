"""Trace formats: every file of the public corpus, and fixtures built from each format's docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solidify.assess.assessment import assess
from solidify.assess.formats import detect
from solidify.assess.formats.common import iso, stable_name
from solidify.assess.ingest import read_logs
from solidify.cli import cli
from solidify.errors import InputError
from tests.conftest import CORPUS

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="../shared/corpus is absent (real public trace files)"
)


def read(*paths: Path | str, **kw):
    result = read_logs([str(p) for p in paths], **kw)
    assert result.problems.count == 0, [str(p) for p in result.problems.first]
    return result.frame()


def rows(table, **where):
    out = table
    for key, value in where.items():
        out = out[out[key].astype(str) == value]
    return out


# ---------------------------------------------------------------- the public corpus


@pytest.mark.slow
@needs_corpus
def test_every_corpus_file_is_read_and_assessed() -> None:
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".json", ".jsonl"))
    assert len(files) == 14
    for path in files:
        table = read(path)
        if "flowgraph" in path.name:
            assert table.empty  # a flow graph only tells task types
            continue
        assert len(table) >= 1, path
        assert assess(table).workflows, path


@needs_corpus
def test_claude_code_merges_lines_of_one_response() -> None:
    table = read(CORPUS / "claude_code" / "cc_representative_messages.jsonl")
    assistant = rows(table, step="assistant")
    assert len(assistant) == 5
    assert assistant["step_id"].is_unique
    assert int(assistant["input_tokens"].sum()) == 25 + 45 + 78 + 25 + 45
    tools = table[table["kind"] == "tool"]
    assert set(tools["step"].astype(str)) == {"tool:Edit", "tool:Bash"}


@needs_corpus
def test_kestra_execution_with_its_flow_graph_is_a_declared_workflow() -> None:
    table = read(CORPUS / "kestra")
    assert len(table) == 8
    assert set(table["step"].astype(str)) == {"1_each", "1-1", "1-2", "2_end"}
    assert set(table["run_id"]) == {"20CzMipsC3DZvcDOWqkST"}
    extra = json.loads(table["extra"].iloc[0])
    assert extra["orchestrator"] == "kestra"
    assert assess(table).workflows[0].maturity.level == 4


@needs_corpus
def test_langfuse_counts_generation_usage_once() -> None:
    table = read(CORPUS / "langfuse" / "pydantic-ai-tools-2025-12-04.trace.json")
    chats = rows(table, kind="llm")
    assert len(chats) == 4
    assert int(chats["input_tokens"].sum()) == 417 + 131 + 502 + 265
    # The agent spans repeat their model calls' usage (read from their attributes)...
    agents = rows(table, kind="agent")
    assert len(agents) == 3
    assert int(agents["input_tokens"].sum()) == 417 + 131 + 502 + 265
    w = assess(table).workflows[0]
    # ... and are roll-ups: the usage is priced once, on the calls.
    assert w.cost_usd == pytest.approx(float(chats["cost_usd"].sum()))
    assert all(s.rollup for s in w.steps if s.kind == "agent")
    assert set(table["run_id"]) == {"7a38edd8123db47ad8dcb8aa4c5e3926"}


@needs_corpus
@pytest.mark.parametrize(
    ("name", "tokens"),
    [("langsmith_py_wrap_openai_reasoning.json", (43, 2497)),
     ("langsmith_js_wrap_openai_default.json", (9, 9))],
)  # fmt: skip
def test_langsmith_post_and_patch_make_one_run(name: str, tokens: tuple[int, int]) -> None:
    table = read(CORPUS / "langsmith" / name)
    assert len(table) == 1
    run = table.iloc[0]
    assert (run["input_tokens"], run["output_tokens"]) == tokens
    assert run["kind"] == "llm" and run["status"] == "ok"
    assert run["started_at"] < run["ended_at"]


@needs_corpus
def test_openai_batch_output() -> None:
    table = read(CORPUS / "openai_batch" / "navirag_gpt4o_chat_batch_output.jsonl")
    assert len(table) == 65
    assert set(table["model"].astype(str)) == {"gpt-4o-2024-08-06"}
    assert set(table["step"].astype(str)) == {"request"}  # "request-17" -> "request"
    assert (table["input_tokens"] > 0).all()


@needs_corpus
def test_attribute_sets_of_both_conventions_map_alike() -> None:
    otel = read(CORPUS / "otel_genai" / "otel_genai_attrs_client_span_tool_calls.json").iloc[0]
    oi = read(CORPUS / "openinference_phoenix" / "oi_attrs_client_span_tool_calls.json").iloc[0]
    for row in (otel, oi):
        assert row["kind"] == "llm"
        assert (row["input_tokens"], row["output_tokens"]) == (97, 52)
        assert row["provider"] == "openai"
        assert json.loads(row["input"])["model"] == "gpt-4"
    tool = read(CORPUS / "otel_genai" / "otel_genai_attrs_execute_tool.json").iloc[0]
    assert tool["kind"] == "tool" and tool["step"] == "tool:get_weather"
    assert json.loads(tool["input"]) == {"city": "New York"}


@needs_corpus
def test_vercel_wrapper_spans_are_roll_ups() -> None:
    table = read(CORPUS / "otel_genai" / "vercel_ai_sdk_v6_all_spans.json")
    wrappers = rows(table, step="ai.streamText")
    assert wrappers["rollup"].all() and wrappers["kind"].astype(str).eq("agent").all()
    calls = rows(table, step="ai.streamText.doStream")
    assert calls["kind"].astype(str).eq("llm").all() and not calls["rollup"].any()
    w = next(w for w in assess(table).workflows if w.workflow == "test-stream-text")
    by_step = {s.step: s for s in w.steps}
    assert by_step["ai.streamText"].cost_usd == 0
    assert w.cost_usd == pytest.approx(by_step["ai.streamText.doStream"].cost_usd)


# ---------------------------------------------------------------- fixtures from the docs


def write(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    if isinstance(content, (dict, list)):
        path.write_text(json.dumps(content))
    else:
        path.write_text(content)
    return path


def otlp_span(name, span_id, parent, attrs, *, status=None, start=1_700_000_000_000_000_000):
    return {
        "traceId": "t1", "spanId": span_id, "parentSpanId": parent, "name": name,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 1_500_000_000),
        "attributes": [{"key": k, "value": {"intValue" if isinstance(v, int) else "stringValue":
                                            str(v) if isinstance(v, int) else v}}
                       for k, v in attrs.items()],
        "status": status or {},
    }  # fmt: skip


def test_otlp_json_with_both_conventions_and_errors(tmp_path: Path) -> None:
    doc = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "triage"}}]},
        "scopeSpans": [{"spans": [
            otlp_span("invoke_agent triage", "a", None, {"gen_ai.operation.name": "invoke_agent",
                      "gen_ai.usage.input_tokens": 300, "gen_ai.usage.output_tokens": 30}),
            otlp_span("chat gpt-4o", "b", "a", {"gen_ai.operation.name": "chat",
                      "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
                      "gen_ai.usage.prompt_tokens": 100, "gen_ai.usage.completion_tokens": 10}),
            otlp_span("chat gpt-4o", "c", "a", {"gen_ai.operation.name": "chat",
                      "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                      "gen_ai.usage.input_tokens": 200, "gen_ai.usage.output_tokens": 20,
                      "gen_ai.usage.cache_read.input_tokens": 150}),
            otlp_span("execute_tool lookup", "d", "a", {"gen_ai.operation.name": "execute_tool",
                      "gen_ai.tool.name": "lookup"}, status={"code": 2, "message": "boom"}),
        ]}],
    }]}  # fmt: skip
    table = read(write(tmp_path, "trace.json", doc))
    assert set(table["workflow"].astype(str)) == {"triage"}
    chats = rows(table, step="chat gpt-4o")
    assert list(chats["input_tokens"]) == [100, 200]
    assert list(chats["provider"].astype(str)) == ["openai", "openai"]
    assert chats["cache_read_tokens"].iloc[1] == 150
    tool = rows(table, step="tool:lookup").iloc[0]
    assert tool["status"] == "error" and tool["error"] == "boom"
    assert table["duration_ms"].iloc[0] == pytest.approx(1500)
    w = assess(table).workflows[0]
    agent = next(s for s in w.steps if s.kind == "agent")
    assert agent.cost_usd == 0  # its usage is its children's
    # The collector's file exporter writes one such document per line.
    lines = write(tmp_path, "export.jsonl", json.dumps(doc) + "\n" + json.dumps(doc) + "\n")
    assert len(read(lines)) == 8


def test_langfuse_blob_rows_add_disjoint_usage_buckets(tmp_path: Path) -> None:
    rows_ = [
        {"id": "o1", "trace_id": "t1", "trace_name": "intake", "type": "GENERATION",
         "name": "extract 3", "start_time": "2026-01-01T00:00:00Z", "model": "gpt-4o",
         "usage_details": {"input": 100, "input_cached_tokens": 50, "output": 20, "total": 170},
         "input": '"{\\"text\\": \\"hi\\"}"', "output": '"ok"'},
        {"id": "o2", "trace_id": "t1", "trace_name": "intake", "type": "GENERATION",
         "name": "extract 4", "start_time": "2026-01-01T00:00:01Z", "level": "ERROR",
         "status_message": "rate limited", "usage_details": {}},
    ]  # fmt: skip
    table = read(write(tmp_path, "blob.jsonl", "\n".join(json.dumps(r) for r in rows_)))
    first, second = table.iloc[0], table.iloc[1]
    assert (first["input_tokens"], first["cache_read_tokens"], first["output_tokens"]) == (
        150,
        50,
        20,
    )
    assert first["step"] == "extract" and second["step"] == "extract"
    assert json.loads(first["input"]) == {"text": "hi"}
    assert second["status"] == "error" and second["error"] == "rate limited"


def test_langsmith_runs_with_parents_and_errors(tmp_path: Path) -> None:
    runs = [
        {"id": "r1", "trace_id": "r1", "name": "Agent", "run_type": "chain",
         "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:02Z",
         "session_name": "support", "inputs": {"q": "hi"}, "outputs": {"a": "x"}},
        {"id": "r2", "trace_id": "r1", "parent_run_id": "r1", "name": "ChatAnthropic",
         "run_type": "llm", "start_time": 1767225600000, "end_time": 1767225601000,
         "extra": {"metadata": {"ls_model_name": "claude-haiku-4-5", "ls_provider": "anthropic"}},
         "outputs": {"usage_metadata": {"input_tokens": 40, "output_tokens": 4,
                                        "input_token_details": {"cache_read": 30}}}},
        {"id": "r3", "trace_id": "r1", "parent_run_id": "r1", "name": "search", "run_type": "tool",
         "error": "Timeout", "start_time": "2026-01-01T00:00:01Z"},
    ]  # fmt: skip
    table = read(write(tmp_path, "runs.json", runs))
    assert list(table["kind"].astype(str)) == ["code", "llm", "tool"]
    llm = rows(table, step="ChatAnthropic").iloc[0]
    assert (llm["input_tokens"], llm["cache_read_tokens"], llm["model"]) == (
        40,
        30,
        "claude-haiku-4-5",
    )
    assert rows(table, step="search").iloc[0]["status"] == "error"
    assert set(table["workflow"].astype(str)) == {"support"}


def test_kestra_retries_and_task_types_from_the_flow_yaml(tmp_path: Path) -> None:
    flow = ("id: intake\nnamespace: company.ap\ntasks:\n  - id: classify\n"
            "    type: io.kestra.plugin.openai.ChatCompletion\n  - id: store\n"
            "    type: io.kestra.plugin.jdbc.postgresql.Query\n")  # fmt: skip
    execution = {"id": "e1", "namespace": "company.ap", "flowId": "intake", "taskRunList": [
        {"id": "tr1", "taskId": "classify", "state": {"current": "SUCCESS"}, "attempts": [
            {"state": {"current": "FAILED", "histories": [
                {"state": "RUNNING", "date": "2026-01-01T00:00:00Z"},
                {"state": "FAILED", "date": "2026-01-01T00:00:02Z"}]}},
            {"state": {"current": "SUCCESS", "histories": [
                {"state": "RUNNING", "date": "2026-01-01T00:00:03Z"},
                {"state": "SUCCESS", "date": "2026-01-01T00:00:04Z"}]}}],
         "outputs": {"label": "invoice"}},
        {"id": "tr2", "taskId": "store", "state": {"current": "SUCCESS", "histories": [
            {"state": "RUNNING", "date": "2026-01-01T00:00:05Z"},
            {"state": "SUCCESS", "date": "2026-01-01T00:00:06Z"}]}},
    ]}  # fmt: skip
    write(tmp_path, "flow.yml", flow)
    write(tmp_path, "execution.json", execution)
    table = read(tmp_path)
    classify = rows(table, step="classify")
    assert list(classify["attempt"]) == [1, 2]
    assert list(classify["status"]) == ["error", "ok"]
    assert set(classify["kind"].astype(str)) == {"llm"}
    assert rows(table, step="store").iloc[0]["kind"] == "code"
    assert json.loads(classify["output"].iloc[1]) == {"label": "invoice"}


def test_openai_batch_errors_and_responses_bodies(tmp_path: Path) -> None:
    lines = [
        {"id": "b1", "custom_id": "task-1", "response": {"status_code": 200, "body": {
            "object": "response", "created_at": 1767225600, "model": "gpt-4o-mini",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "yes"}]}],
            "usage": {"input_tokens": 50, "output_tokens": 2,
                      "input_tokens_details": {"cached_tokens": 20}}}}, "error": None},
        {"id": "b2", "custom_id": "task-2", "response": {"status_code": 400, "body": {
            "error": {"message": "Invalid model", "type": "invalid_request_error"}}}},
        {"id": "b3", "custom_id": "task-3", "response": None,
         "error": {"code": "batch_expired", "message": "This request could not be executed"}},
    ]  # fmt: skip
    table = read(write(tmp_path, "out.jsonl", "\n".join(json.dumps(x) for x in lines)))
    ok = table.iloc[0]
    assert (ok["output"], ok["input_tokens"], ok["cache_read_tokens"]) == ('"yes"', 50, 20)
    assert list(table["status"]) == ["ok", "error", "error"]
    assert list(table["error"].iloc[1:]) == ["Invalid model", "This request could not be executed"]


def test_anthropic_batch_adds_cache_tokens_to_input(tmp_path: Path) -> None:
    lines = [
        {"custom_id": "doc-1", "result": {"type": "succeeded", "message": {
            "id": "msg_1", "model": "claude-haiku-4-5", "content": [{"type": "text", "text": "A"}],
            "usage": {"input_tokens": 10, "output_tokens": 3, "cache_read_input_tokens": 500,
                      "cache_creation_input_tokens": 40}}}},
        {"custom_id": "doc-2", "result": {"type": "errored", "error": {
            "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}}},
        {"custom_id": "doc-3", "result": {"type": "expired"}},
    ]  # fmt: skip
    table = read(write(tmp_path, "results.jsonl", "\n".join(json.dumps(x) for x in lines)))
    first = table.iloc[0]
    assert (first["input_tokens"], first["cache_read_tokens"], first["cache_write_tokens"]) == (
        550,
        500,
        40,
    )
    assert list(table["status"]) == ["ok", "error", "timeout"]
    assert table["error"].iloc[1] == "Overloaded"


def test_claude_code_duplicate_lines_and_failed_tools(tmp_path: Path) -> None:
    base = {"sessionId": "s1", "cwd": "/x"}
    lines = [
        {**base, "type": "assistant", "uuid": "u1", "timestamp": "2026-01-01T00:00:00Z",
         "message": {"id": "m1", "model": "claude-sonnet-4-5", "content": [
             {"type": "text", "text": "Let me look."}], "usage": {"input_tokens": 5,
             "cache_read_input_tokens": 100, "output_tokens": 1}}},
        {**base, "type": "assistant", "uuid": "u2", "timestamp": "2026-01-01T00:00:01Z",
         "message": {"id": "m1", "model": "claude-sonnet-4-5", "content": [
             {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "ls"}}],
             "usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 30}}},
        {**base, "type": "user", "uuid": "u3", "timestamp": "2026-01-01T00:00:02Z",
         "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
                                                  "content": "permission denied",
                                                  "is_error": True}]}},
    ]  # fmt: skip
    table = read(write(tmp_path, "session.jsonl", "\n".join(json.dumps(x) for x in lines)))
    assistant = rows(table, step="assistant")
    assert len(assistant) == 1
    assert (assistant.iloc[0]["input_tokens"], assistant.iloc[0]["output_tokens"]) == (105, 30)
    tool = rows(table, step="tool:Bash").iloc[0]
    assert tool["status"] == "error" and tool["error"] == "permission denied"
    assert json.loads(tool["input"]) == {"command": "ls"}


def test_unknown_formats_name_the_known_ones(tmp_path: Path, runner) -> None:
    path = write(tmp_path, "mystery.json", {"hello": "world"})
    result = runner.invoke(cli, ["assess", str(path)])
    assert result.exit_code == 3
    assert "langfuse" in result.stderr and "claude-code" in result.stderr
    lines = write(tmp_path, "mystery.jsonl", '{"a": 1}\n{"a": 2}\n')
    result = runner.invoke(cli, ["assess", str(lines)])
    assert result.exit_code == 3 and "--input-format" in result.stderr


def test_input_format_forces_a_reader(tmp_path: Path) -> None:
    span = {
        "name": "chat",
        "context": {"trace_id": "t", "span_id": "s"},
        "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"},
    }
    path = write(tmp_path, "spans.jsonl", json.dumps(span) + "\n")
    assert read(path).iloc[0]["kind"] == "llm"
    with pytest.raises(InputError):
        read_logs([str(path)], input_format="kestra")


@pytest.mark.parametrize(
    ("name", "stable"),
    [("chat gpt-4o-mini", "chat gpt-4o-mini"), ("request-17", "request"),
     ("Task 3", "Task"), ("fetch item [12]", "fetch item"),
     ("run 0f8fad5b-d9cb-469f-a165-70867728950e", "run"),
     ("call_X0OSgjUukT5inyEQvuZQ tool", "tool"),
     ("extract_refs", "extract_refs"), ("", "step")],
)  # fmt: skip
def test_stable_step_names(name: str, stable: str) -> None:
    assert stable_name(name) == stable


@pytest.mark.parametrize(
    "value",
    [1767225600, 1767225600000, 1767225600000000, 1767225600000000000, "1767225600000",
     [1767225600, 0], "2026-01-01T00:00:00Z"],
)  # fmt: skip
def test_times_in_every_unit(value) -> None:
    assert iso(value).startswith("2026-01-01T00:00:00")


def test_detection() -> None:
    assert detect({"workflow": "w", "run_id": "r", "step": "s"}) == "canonical"
    assert detect({"resourceSpans": []}) == "otlp"
    assert detect({"custom_id": "x", "result": {}}) == "anthropic-batch"
    assert detect({"custom_id": "x", "response": {}}) == "openai-batch"
    assert detect({"taskRunList": []}) == "kestra"
    assert detect({"type": "assistant", "sessionId": "s"}) == "claude-code"
    assert detect({"nothing": 1}) is None


def test_phoenix_export_with_nested_attributes(tmp_path: Path) -> None:
    spans = [
        {"name": "ChatCompletion", "span_kind": "LLM", "parent_id": "p1",
         "context": {"trace_id": "t9", "span_id": "s2"},
         "start_time": "2026-01-01T00:00:00+00:00", "end_time": "2026-01-01T00:00:01+00:00",
         "status_code": "OK",
         "attributes": {"openinference": {"span": {"kind": "LLM"}},
                        "llm": {"model_name": "gpt-4o-mini", "provider": "openai",
                                "token_count": {"prompt": 12, "completion": 3}},
                        "input": {"value": '{"q": "hi"}'}, "output": {"value": "hello"}}},
        {"name": "retrieve", "span_kind": "RETRIEVER", "parent_id": "p1",
         "context": {"trace_id": "t9", "span_id": "s3"}, "status_code": "ERROR",
         "status_message": "index offline",
         "attributes": {"openinference": {"span": {"kind": "RETRIEVER"}}}},
    ]  # fmt: skip
    table = read(write(tmp_path, "phoenix.jsonl", "\n".join(json.dumps(s) for s in spans)))
    llm = table.iloc[0]
    assert (llm["kind"], llm["model"], llm["input_tokens"], llm["output_tokens"]) == (
        "llm",
        "gpt-4o-mini",
        12,
        3,
    )
    assert json.loads(llm["input"]) == {"q": "hi"} and llm["parent_id"] == "p1"
    retriever = table.iloc[1]
    assert (retriever["kind"], retriever["status"], retriever["error"]) == (
        "code",
        "error",
        "index offline",
    )


def test_langsmith_parquet_bulk_export(tmp_path: Path) -> None:
    import pandas as pd

    runs = pd.DataFrame([
        {"id": "r1", "trace_id": "r1", "name": "classify 2", "run_type": "llm",
         "session_name": "triage", "start_time": "2026-01-01T00:00:00Z",
         "end_time": "2026-01-01T00:00:01Z", "prompt_tokens": 20, "completion_tokens": 2,
         "inputs": '{"text": "refund"}', "outputs": '{"label": "billing"}', "error": None},
        {"id": "r2", "trace_id": "r2", "name": "classify 3", "run_type": "llm",
         "session_name": "triage", "start_time": "2026-01-01T00:01:00Z",
         "end_time": "2026-01-01T00:01:01Z", "prompt_tokens": 21, "completion_tokens": 2,
         "inputs": '{"text": "login"}', "outputs": None, "error": "RateLimitError"},
    ])  # fmt: skip
    path = tmp_path / "runs.parquet"
    runs.to_parquet(path)
    table = read(path)
    assert list(table["step"].astype(str)) == ["classify", "classify"]
    assert list(table["status"]) == ["ok", "error"]
    assert list(table["input_tokens"]) == [20, 21]
    assert json.loads(table["output"].iloc[0]) == {"label": "billing"}


def test_batch_results_are_priced_at_batch_rates(tmp_path: Path) -> None:
    line = {"custom_id": "doc-1", "result": {"type": "succeeded", "message": {
        "id": "m", "model": "claude-haiku-4-5", "content": [{"type": "text", "text": "A"}],
        "usage": {"input_tokens": 1_000_000, "output_tokens": 0}}}}  # fmt: skip
    batch = read(write(tmp_path, "results.jsonl", json.dumps(line) + "\n"))
    plain = batch.drop(columns=["extra"]).assign(extra=None)
    batch_cost = assess(batch).workflows[0].cost_usd
    plain_cost = assess(plain).workflows[0].cost_usd
    assert plain_cost == pytest.approx(1.0)  # $1 per million input tokens
    assert batch_cost == pytest.approx(0.5)


def test_older_conventions_put_content_in_span_events(tmp_path: Path) -> None:
    span = otlp_span("chat gpt-4o", "e", None, {"gen_ai.operation.name": "chat",
                     "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"})  # fmt: skip
    prompt = '[{"role": "user", "content": "hi"}]'
    span["events"] = [
        {"name": "gen_ai.content.prompt", "attributes": [
            {"key": "gen_ai.prompt", "value": {"stringValue": prompt}}]},
        {"name": "gen_ai.content.completion", "attributes": [
            {"key": "gen_ai.completion", "value": {"stringValue": '"hello"'}}]},
    ]  # fmt: skip
    doc = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]}
    row = read(write(tmp_path, "old.json", doc)).iloc[0]
    assert json.loads(row["input"]) == [{"role": "user", "content": "hi"}]
    assert json.loads(row["output"]) == "hello"
    # The per-message events of the next conventions become message lists.
    span["events"] = [
        {"name": "gen_ai.user.message", "attributes": [
            {"key": "content", "value": {"stringValue": "hi"}}]},
        {"name": "gen_ai.choice", "attributes": [
            {"key": "index", "value": {"intValue": "0"}}]},
    ]  # fmt: skip
    row = read(write(tmp_path, "mid.json", doc)).iloc[0]
    assert json.loads(row["input"]) == [{"role": "user", "content": "hi"}]
    assert json.loads(row["output"]) == [{"index": 0}]


@needs_corpus
def test_a_trace_download_can_come_on_stdin(runner) -> None:
    data = (CORPUS / "langfuse" / "pydantic-ai-tools-2025-12-04.trace.json").read_text()
    result = runner.invoke(cli, ["assess", "-", "--format", "json"], input=data)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["workflows"][0]["workflow"] == "joke-generator"
