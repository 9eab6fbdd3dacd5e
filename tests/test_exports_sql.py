"""Langfuse blob exports (Parquet) read by DuckDB (exports_sql) give the step table and
the problems the Python reader gives: on the corpus traces written as exports, on the
order-desk sample, and on generated exports."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess import exports_sql, langsmith_sql
from solidify.assess.ingest import read_logs
from solidify.errors import InputError

CORPUS = Path("/work/shared/corpus/langfuse")
TRACES = sorted(CORPUS.glob("*.trace.json")) if CORPUS.exists() else []

SCHEMA = pa.schema([
    ("id", pa.string()), ("trace_id", pa.string()), ("trace_name", pa.string()),
    ("type", pa.string()), ("parent_observation_id", pa.string()), ("name", pa.string()),
    ("level", pa.string()), ("status_message", pa.string()),
    ("start_time", pa.timestamp("ms", tz="UTC")), ("end_time", pa.timestamp("ms", tz="UTC")),
    ("input", pa.string()), ("output", pa.string()), ("metadata", pa.string()),
    ("model", pa.string()), ("provided_model_name", pa.string()),
    ("usage_details", pa.map_(pa.string(), pa.int64())),
    ("cost_details", pa.map_(pa.string(), pa.float64())), ("total_cost", pa.float64()),
    ("prompt_name", pa.string()), ("prompt_version", pa.int64()),
])  # fmt: skip


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def export_rows(doc: dict[str, Any], trace_name: bool) -> list[dict[str, Any]]:
    """A trace download's observations as the blob export's rows (snake_case)."""
    rows = []
    for o in doc["observations"]:
        rows.append({
            "id": o.get("id"), "trace_id": o.get("traceId"),
            "trace_name": doc["trace"].get("name") if trace_name else None,
            "type": o.get("type"), "parent_observation_id": o.get("parentObservationId"),
            "name": o.get("name"), "level": o.get("level"),
            "status_message": o.get("statusMessage"),
            "start_time": _time(o.get("startTime")), "end_time": _time(o.get("endTime")),
            "input": _text(o.get("input")), "output": _text(o.get("output")),
            "metadata": _text(o.get("metadata")), "model": o.get("model"),
            "usage_details": list((o.get("usageDetails") or {}).items()),
            "cost_details": list((o.get("costDetails") or {}).items()),
            "total_cost": o.get("totalCost"), "prompt_name": o.get("promptName"),
            "prompt_version": o.get("promptVersion"),
        })  # fmt: skip
    return rows


def write(rows: list[dict[str, Any]], path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch, *, strict: bool = False):
    """(by DuckDB, by Python, whether DuckDB took the file) for one export."""
    taken: list[bool] = []

    def spy(real: Any) -> Any:
        def read(*args: Any, **kwargs: Any) -> bool:
            taken.append(real(*args, **kwargs))
            return taken[-1]

        return read

    with monkeypatch.context() as m:
        m.setattr(exports_sql, "SMALL_EXPORT_BYTES", 0)
        m.setattr(exports_sql, "read_langfuse", spy(exports_sql.read_langfuse))
        m.setattr(langsmith_sql, "read_langsmith", spy(langsmith_sql.read_langsmith))
        by_sql = read_logs([str(path)], strict=strict)
    with monkeypatch.context() as m:
        m.setattr(exports_sql, "SMALL_EXPORT_BYTES", 2**62)
        by_python = read_logs([str(path)], strict=strict)
    return by_sql, by_python, taken == [True]


def assert_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    by_sql, by_python, taken = both_ways(path, monkeypatch)
    with by_sql, by_python:
        query = "SELECT * FROM steps ORDER BY rowid"
        got = by_sql.table.con.sql(query).to_arrow_table()
        want = by_python.table.con.sql(query).to_arrow_table()
        assert got.column_names == want.column_names
        for name in want.column_names:
            assert got[name].to_pylist() == want[name].to_pylist(), name
        assert by_sql.problems.count == by_python.problems.count
        assert [str(p) for p in by_sql.problems.first] == [str(p) for p in by_python.problems.first]
    return taken


@pytest.mark.skipif(not TRACES, reason="no corpus")
@pytest.mark.parametrize("trace_name", [True, False])
def test_corpus_traces_as_exports_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trace_name: bool
) -> None:
    rows = []
    for trace in TRACES:
        rows += export_rows(json.loads(trace.read_text(encoding="utf-8")), trace_name)
    path = write(rows, tmp_path / "observations.parquet")
    assert assert_same(path, monkeypatch)  # and DuckDB took the file


def test_order_desk_export_reads_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_prompts_traces import langfuse_rows, sample_records, write_langfuse_parquet

    path = tmp_path / "observations.parquet"
    write_langfuse_parquet(langfuse_rows(sample_records())[:600], path)
    assert assert_same(path, monkeypatch)


def row(**fields: Any) -> dict[str, Any]:
    base = {"id": "o1", "trace_id": "t1", "type": "GENERATION", "name": "classify",
            "start_time": datetime(2026, 1, 1, tzinfo=timezone.utc), "input": '"hi"',
            "output": '"billing"', "usage_details": [("input", 10), ("output", 2)]}  # fmt: skip
    return {**base, **fields}


def test_bad_rows_are_named_counted_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row(), row(id="o2", trace_id="  "), row(id="o3", total_cost=-1.0), row(id="o4")]
    path = write(rows, tmp_path / "bad.parquet")
    assert assert_same(path, monkeypatch)
    by_sql, _, _ = both_ways(path, monkeypatch)
    with by_sql:
        assert [str(p) for p in by_sql.problems.first] == [
            f"{path}:2: run_id: must not be empty",
            f"{path}:3: cost_usd: must not be negative, got -1.0",
        ]
        assert list(by_sql.table.con.sql("SELECT line FROM steps ORDER BY rowid").fetchall()) == [
            (1,),
            (4,),
        ]
    with pytest.raises(InputError, match=r"bad.parquet:2: run_id"):
        both_ways(path, monkeypatch, strict=True)


def test_a_usage_map_with_a_key_twice_goes_to_the_python_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet lets a map hold a key twice; DuckDB's MAP does not (its cast once closed
    the step table's connection): the file is read by Python, the last value winning."""
    twice = [("input", 10), ("input", 3), ("output", 2)]
    path = write([row(), row(id="o2", usage_details=twice)], tmp_path / "twice.parquet")
    by_sql, by_python, taken = both_ways(path, monkeypatch)
    assert not taken
    with by_sql, by_python:
        query = "SELECT input_tokens, output_tokens FROM steps ORDER BY rowid"
        assert by_sql.table.con.sql(query).fetchall() == [(10, 2), (3, 2)]
        assert by_python.table.con.sql(query).fetchall() == [(10, 2), (3, 2)]


def test_an_event_under_a_call_gives_no_record_and_lines_follow_the_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row(), row(id="e", type="EVENT", parent_observation_id="o1"), row(id="o3", trace_id="")]
    path = write(rows, tmp_path / "events.parquet")
    assert assert_same(path, monkeypatch)


# --- generated exports -------------------------------------------------------------------

NAMES = ["classify", "classify 3", "execute_tool get_weather", "running tool: search",
         "ChannelWrite<x>", "agent.f9f77d1a-1234-4abc-8def-123456789abc", "", None,
         "run 0a1b2c3d4e5f6a7b", "__start__"]  # fmt: skip
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TYPES = ["GENERATION", "SPAN", "AGENT", "TOOL", "EVENT", "generation", "chain", None, "odd"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**20) | st.text(max_size=6)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                               max_size=3),
    max_leaves=6,
)  # fmt: skip
TEXTS = st.one_of(
    st.none(),
    JSON_VALUES.map(json.dumps),
    JSON_VALUES.map(lambda v: json.dumps(json.dumps(v))),  # JSON inside a JSON string
    st.text(max_size=8),
    st.sampled_from(["null", "true", ' {"a": 1}', '{"a": NaN}', "[1,]", "{bad", "12"]),
)
ATTRIBUTE_SETS = st.dictionaries(
    st.sampled_from(["openinference.span.kind", "gen_ai.operation.name", "gen_ai.tool.name",
                     "gen_ai.agent.name", "gen_ai.system", "gen_ai.usage.input_tokens",
                     "llm.token_count.completion", "gen_ai.request.model"]),
    st.sampled_from(["TOOL", "AGENT", "chat", "execute_tool", "invoke_agent", "openai.chat",
                     "lookup", 12, 0, "7", None, True, 2.5]),
    max_size=4,
)  # fmt: skip
METADATA = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"attributes": ATTRIBUTE_SETS,
                                        "langgraph_node": st.sampled_from(["tools", "agent"])})
    .map(json.dumps),
    st.sampled_from(["", "not json", "[1]", '"{}"']),
)  # fmt: skip
USAGE = st.lists(
    st.tuples(st.sampled_from(["input", "output", "total", "input_cached_tokens",
                               "input_cache_creation", "prompt_tokens", "completion", "other",
                               "Input_Cache_Read"]),
              st.integers(-3, 10**6)),
    max_size=4, unique_by=lambda p: p[0],
)  # fmt: skip


@st.composite
def exports(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 8))
    ids = [f"o{i}" for i in range(count)]
    rows = []
    for i in range(count):
        rows.append({
            "id": draw(st.sampled_from([ids[i], ids[i], None, ""])),
            "trace_id": draw(st.sampled_from(["t1", "t2", None, "", " "])),
            "trace_name": draw(st.sampled_from([None, "", "intake", "agent.1234567890abcdef"])),
            "type": draw(st.sampled_from(TYPES)),
            "parent_observation_id": draw(st.sampled_from([None, "", *ids[:i]])),
            "name": draw(st.sampled_from(NAMES)),
            "level": draw(st.sampled_from([None, "DEFAULT", "ERROR", "error", ""])),
            "status_message": draw(st.sampled_from([None, "", "rate limited"])),
            "start_time": draw(st.sampled_from([None, START])),
            "end_time": draw(st.sampled_from([None, START + timedelta(seconds=2)])),
            "input": draw(TEXTS), "output": draw(TEXTS), "metadata": draw(METADATA),
            "model": draw(st.sampled_from([None, "", "gpt-4o"])),
            "provided_model_name": draw(st.sampled_from([None, "claude-haiku-4-5"])),
            "usage_details": draw(USAGE),
            "cost_details": draw(st.sampled_from([[], [("total", 0.5)], [("input", 0.1)]])),
            "total_cost": draw(st.sampled_from([None, 0.25, -1.0])),
            "prompt_name": draw(st.sampled_from([None, "triage", "tab\there"])),
            "prompt_version": draw(st.sampled_from([None, 1, 2])),
        })  # fmt: skip
    return rows


@pytest.mark.slow  # two reads of each of 25 files: several seconds
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=exports())
def test_generated_exports_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]
) -> None:
    assert_same(write(rows, tmp_path / "generated.parquet"), monkeypatch)


OTHER_TYPES = pa.schema([
    ("id", pa.string()), ("trace_id", pa.string()), ("type", pa.string()),
    ("name", pa.string()), ("start_time", pa.string()), ("end_time", pa.string()),
    ("output", pa.string()), ("metadata", pa.map_(pa.string(), pa.string())),
    ("usage_details", pa.map_(pa.string(), pa.uint64())),
    ("cost_details", pa.map_(pa.string(), pa.decimal128(18, 12))),
    ("total_cost", pa.decimal128(18, 12)), ("prompt_version", pa.string()),
])  # fmt: skip
TIMES = ["2026-01-01T00:00:00Z", "2026-01-01 00:00:01.5", "", " 2026-01-01T00:00:00Z",
         "1767225600", "2026-01-01", "yesterday", None]  # fmt: skip


@pytest.mark.slow  # two reads of each of 20 files
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.fixed_dictionaries({
    "id": st.sampled_from(["o1", "o2"]), "trace_id": st.sampled_from(["t1", "t2"]),
    "type": st.sampled_from(["GENERATION", "SPAN", "AGENT"]),
    "name": st.sampled_from(["classify 2", "agent run"]),
    "start_time": st.sampled_from(TIMES), "end_time": st.sampled_from(TIMES),
    "output": TEXTS,
    "metadata": st.sampled_from([None, [], [("langgraph_node", "tools")],
                                 [("attributes", '{"gen_ai.system": "openai"}')]]),
    "usage_details": st.lists(st.tuples(st.sampled_from(["input", "output", "total"]),
                                        st.sampled_from([0, 7, 2**53 + 1, 2**63 + 5])),
                              max_size=3, unique_by=lambda p: p[0]),
    "cost_details": st.sampled_from([[], [("total", Decimal("0.000123456789"))]]),
    "total_cost": st.sampled_from([None, Decimal("0.1"), Decimal("0.000000333333")]),
    "prompt_version": st.sampled_from([None, "v2"]),
}), min_size=1, max_size=6))  # fmt: skip
def test_exports_of_other_column_types_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]
) -> None:
    """Text times, unsigned and decimal maps, metadata as a map: read as Python does."""
    path = tmp_path / "other.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=OTHER_TYPES), path)
    assert assert_same(path, monkeypatch)
