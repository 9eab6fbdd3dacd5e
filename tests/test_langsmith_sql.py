"""LangSmith bulk exports (Parquet runs) read by DuckDB (langsmith_sql) give the step
table and the problems the Python reader gives."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess.formats import langsmith
from tests.test_exports_sql import JSON_VALUES, TEXTS, assert_same, both_ways

CORPUS = Path("/work/shared/corpus/langsmith")
PAYLOADS = sorted(CORPUS.glob("*.json")) if CORPUS.exists() else []
START = datetime(2026, 1, 1, tzinfo=timezone.utc)

SCHEMA = pa.schema([
    ("id", pa.string()), ("trace_id", pa.string()), ("parent_run_id", pa.string()),
    ("name", pa.string()), ("run_type", pa.string()), ("session_name", pa.string()),
    ("start_time", pa.timestamp("us", tz="UTC")), ("end_time", pa.timestamp("us", tz="UTC")),
    ("inputs", pa.string()), ("outputs", pa.string()), ("extra", pa.string()),
    ("error", pa.string()), ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()),
    ("total_cost", pa.float64()),
])  # fmt: skip


def _time(value: Any) -> datetime | None:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def export_row(run: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: run.get(k) for k in ("id", "trace_id", "parent_run_id", "name", "run_type",
                                   "session_name", "error", "prompt_tokens",
                                   "completion_tokens", "total_cost")},
        "start_time": _time(run.get("start_time")), "end_time": _time(run.get("end_time")),
        "inputs": _text(run.get("inputs")), "outputs": _text(run.get("outputs")),
        "extra": _text(run.get("extra")),
    }  # fmt: skip


def write(rows: list[dict[str, Any]], path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


def chain_and_calls() -> list[dict[str, Any]]:
    """A chain run with its LLM calls (OpenAI and LangChain shapes), a tool run, a
    failed call and a run exported twice."""
    chain = {
        "id": "c1",
        "trace_id": "c1",
        "name": "Triage 2",
        "run_type": "chain",
        "inputs": {"ticket": "refund please"},
        "outputs": {"label": "billing"},
    }
    openai = {
        "id": "l1",
        "trace_id": "c1",
        "parent_run_id": "c1",
        "name": "ChatOpenAI",
        "run_type": "llm",
        "extra": {"metadata": {"ls_provider": "openai", "ls_model_name": "gpt-4o-mini"}},
        "inputs": {"messages": [{"role": "user", "content": "refund please"}]},
        "outputs": {
            "choices": [{"message": {"role": "assistant", "content": "billing"}}],
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 2,
                "prompt_tokens_details": {"cached_tokens": 10},
            },
        },
    }
    tools = {
        **openai,
        "id": "l2",
        "outputs": {
            "choices": [
                {"message": {"role": "assistant", "content": None, "tool_calls": [{"id": "x"}]}}
            ]
        },
    }
    chat = {
        "id": "l3",
        "trace_id": "c1",
        "parent_run_id": "c1",
        "name": "ChatAnthropic",
        "run_type": "llm",
        "outputs": {
            "generations": [[{"text": "billing"}]],
            "llm_output": {"token_usage": {"input_tokens": 5}},
        },
        "extra": {"metadata": {"ls_provider": "anthropic"}},
    }
    meta = {
        **chat,
        "id": "l4",
        "outputs": {
            "usage_metadata": {
                "input_tokens": 40,
                "output_tokens": 4,
                "input_token_details": {"cache_read": 8},
            },
            "model": "claude-haiku-4-5",
        },
    }
    tool = {
        "id": "t1",
        "trace_id": "c1",
        "parent_run_id": "c1",
        "name": "lookup",
        "run_type": "tool",
        "inputs": {"q": "x"},
        "outputs": {"out": 1},
        "total_cost": 0.5,
    }
    failed = {**openai, "id": "l5", "error": "RateLimitError", "prompt_tokens": 3}
    other = {
        "id": "r9",
        "trace_id": "r9",
        "name": "solo",
        "run_type": "llm",
        "session_name": "intake",
        "outputs": '"plain text"',
        "prompt_tokens": 7,
    }
    runs = [chain, openai, tools, chat, meta, tool, failed, openai, other]
    for i, run in enumerate(runs):
        run.setdefault("start_time", (START + timedelta(seconds=i)).isoformat())
        run.setdefault("end_time", (START + timedelta(seconds=i + 1)).isoformat())
    return runs


def test_chains_calls_and_duplicates_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write([export_row(r) for r in chain_and_calls()], tmp_path / "runs.parquet")
    assert assert_same(path, monkeypatch)
    by_sql, _, _ = both_ways(path, monkeypatch)
    with by_sql:
        rows = by_sql.table.con.sql(
            "SELECT step, workflow, output, input_tokens, cache_read_tokens, extra, line "
            "FROM steps ORDER BY rowid"
        ).fetchall()
    assert len(rows) == 8  # the run exported twice counts once
    assert rows[1] == ("ChatOpenAI", "Triage", '"billing"', 30, 10,
                       '{"prompt_variables":{"ticket":"refund please"}}', 2)  # fmt: skip
    assert json.loads(rows[2][2])["tool_calls"] == [{"id": "x"}]  # the message, not its text
    assert rows[3][2] == '"billing"' and rows[4][3:5] == (40, 8)
    assert rows[-1][1] == "intake" and rows[-1][-1] == 8  # lines follow the records


def test_a_run_without_parent_takes_no_variables_from_a_run_named_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python reader once looked the missing parent up as the text "None"."""
    chain = {"id": "None", "trace_id": "t", "name": "Triage", "run_type": "chain",
             "inputs": {"ticket": "x"}}  # fmt: skip
    call = {"id": "l1", "trace_id": "t", "name": "Chat", "run_type": "llm",
            "outputs": '"billing"'}  # fmt: skip
    path = write([export_row(r) for r in (chain, call)], tmp_path / "runs.parquet")
    assert assert_same(path, monkeypatch)
    by_sql, _, _ = both_ways(path, monkeypatch)
    with by_sql:
        assert by_sql.table.con.sql("SELECT extra FROM steps WHERE step = 'Chat'").fetchall() == [
            (None,)
        ]


@pytest.mark.skipif(not PAYLOADS, reason="no corpus")
def test_corpus_runs_as_an_export_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in PAYLOADS]
    runs = [r for doc in docs for r in langsmith.merge_payload(doc)]
    rows = [export_row(r) for r in runs + chain_and_calls()]
    assert assert_same(write(rows, tmp_path / "runs.parquet"), monkeypatch)


def test_typed_times_are_kept_by_both_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write([export_row(r) for r in chain_and_calls()], tmp_path / "runs.parquet")
    _, by_python, _ = both_ways(path, monkeypatch)
    with by_python:
        ((started,),) = by_python.table.con.sql("SELECT started_at FROM steps LIMIT 1").fetchall()
    assert started == START


OUTPUTS = st.one_of(
    TEXTS,
    st.fixed_dictionaries({}, optional={
        "choices": st.sampled_from([[], [{"message": {"content": "A"}}],
                                    [{"message": {"content": "B", "tool_calls": []}}],
                                    [{"message": {"content": None, "tool_calls": [1]}}],
                                    [{"message": "text"}], ["x"]]),
        "generations": st.sampled_from([[], [[]], [[{"text": "G"}]], [{"text": ""}], ["g"]]),
        "usage_metadata": st.sampled_from([{"input_tokens": 4, "output_tokens": 1},
                                           {"input_tokens": "4"}, [], None,
                                           {"input_token_details": {"cache_read": 2}}]),
        "llm_output": st.sampled_from([{"token_usage": {"prompt_tokens": 9}},
                                       {"token_usage": {}}, None, "x"]),
        "usage": st.sampled_from([{"completion_tokens": 3}, {}, None]),
        "model": st.sampled_from(["gpt-4o", "", None, 3]),
        "other": JSON_VALUES,
    }).map(json.dumps),
)  # fmt: skip
EXTRA = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"metadata": st.fixed_dictionaries({}, optional={
        "ls_provider": st.sampled_from(["openai.chat", "anthropic", None, 5]),
        "ls_model_name": st.sampled_from(["gpt-4o-mini", "", None]),
    })}).map(json.dumps),
    st.sampled_from(["[]", "bad"]),
)  # fmt: skip


PROJECTS = [None, "default", "intake", "", "x-1234567890abcdef"]


@st.composite
def exports(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 8))
    ids = [f"r{i}" for i in range(count)]
    return [
        {
            "id": draw(st.sampled_from([ids[i], ids[i], ids[0], None, ""])),
            "trace_id": draw(st.sampled_from(["t1", "t2", None, "", " "])),
            "parent_run_id": draw(st.sampled_from([None, "", *ids[:i]])),
            "name": draw(st.sampled_from(["Triage 2", "ChatOpenAI", "", None, "run-0a1b2c3d4e5f"])),
            "run_type": draw(st.sampled_from(["llm", "chain", "prompt", "tool", "", None, "odd"])),
            "session_name": draw(st.sampled_from(PROJECTS)),
            "start_time": draw(st.sampled_from([None, START])),
            "end_time": draw(st.sampled_from([None, START + timedelta(seconds=1)])),
            "inputs": draw(TEXTS), "outputs": draw(OUTPUTS), "extra": draw(EXTRA),
            "error": draw(st.sampled_from([None, None, "", "boom"])),
            "prompt_tokens": draw(st.sampled_from([None, 0, 5, -2])),
            "completion_tokens": draw(st.sampled_from([None, 3])),
            "total_cost": draw(st.sampled_from([None, 0.1, -1.0])),
        }
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.slow  # two reads of each of 25 files: several seconds
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=exports())
def test_generated_exports_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]
) -> None:
    assert_same(write(rows, tmp_path / "generated.parquet"), monkeypatch)
