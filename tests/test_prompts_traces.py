"""The chat-form sample as other tools export it (a Langfuse blob export of the
observations table, Parquet and JSON Lines; OpenInference spans as Phoenix exports them):
the same steps, the same recommendations, and the logged prompt fields are read."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from solidify.assess.assessment import assess
from solidify.assess.ingest import read_logs
from tests.conftest import SAMPLES

ORDER_DESK = SAMPLES / "order-desk.jsonl.gz"
MECHANICAL = {"extract_po_number", "route_region", "parse_packing_list", "line_total",
              "is_priority", "format_delivery_date", "vendor_summary",
              "confirmation_line"}  # fmt: skip


def sample_records() -> list[dict[str, Any]]:
    with gzip.open(ORDER_DESK, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def prompt_version(r: dict[str, Any]) -> int | None:
    if r["step"] != "route_region":
        return 1 if r["kind"] == "llm" else None
    return 1 if "Country:" in json.dumps(r["input"]) else 2


def langfuse_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of Langfuse's `observations` table as its blob export writes them: a root
    span per trace named after the workflow, the steps under it."""
    rows = []
    for r in records:
        if r["step"] == "extract_po_number":  # the first step of each run
            rows.append({"id": f"root-{r['run_id']}", "trace_id": r["run_id"], "type": "SPAN",
                         "parent_observation_id": None, "name": "order-desk", "level": "DEFAULT",
                         "start_time": r["started_at"], "end_time": r["ended_at"]})  # fmt: skip
        usage = {"input": r.get("input_tokens", 0), "output": r.get("output_tokens", 0)}
        rows.append({
            "id": r["step_id"], "trace_id": r["run_id"],
            "type": "GENERATION" if r["kind"] == "llm" else "SPAN",
            "parent_observation_id": f"root-{r['run_id']}", "name": r["step"],
            "level": "ERROR" if r["status"] != "ok" else "DEFAULT",
            "status_message": r.get("error"),
            "start_time": r["started_at"], "end_time": r["ended_at"],
            "input": json.dumps(r["input"]), "output": json.dumps(r["output"]),
            "provided_model_name": r.get("model"),
            "usage_details": usage if r.get("model") else {},
            "cost_details": {},
            "prompt_name": r["step"] if r["kind"] == "llm" else None,
            "prompt_version": prompt_version(r),
        })  # fmt: skip
    return rows


def write_langfuse_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    for row in rows:
        for key in ("start_time", "end_time"):
            row[key] = datetime.fromisoformat(row[key].replace("Z", "+00:00"))
        for key in ("usage_details", "cost_details"):
            row[key] = list(row.get(key, {}).items())
    schema = pa.schema([
        ("id", pa.string()), ("trace_id", pa.string()), ("type", pa.string()),
        ("parent_observation_id", pa.string()), ("name", pa.string()), ("level", pa.string()),
        ("status_message", pa.string()), ("start_time", pa.timestamp("ms", tz="UTC")),
        ("end_time", pa.timestamp("ms", tz="UTC")), ("input", pa.string()),
        ("output", pa.string()), ("provided_model_name", pa.string()),
        ("usage_details", pa.map_(pa.string(), pa.int64())),
        ("cost_details", pa.map_(pa.string(), pa.float64())),
        ("prompt_name", pa.string()), ("prompt_version", pa.int64()),
    ])  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def openinference_spans(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans as Phoenix exports them, with OpenInference attributes."""
    spans = []
    for r in records:
        attrs: dict[str, Any] = {
            "openinference.span.kind": "LLM" if r["kind"] == "llm" else "CHAIN",
            "input.value": json.dumps(r["input"]), "input.mime_type": "application/json",
        }  # fmt: skip
        if r.get("output") is not None:
            out = r["output"]
            attrs["output.value"] = out if isinstance(out, str) else json.dumps(out)
        if r.get("model"):
            attrs.update({"llm.model_name": r["model"],
                          "llm.token_count.prompt": r.get("input_tokens", 0),
                          "llm.token_count.completion": r.get("output_tokens", 0)})  # fmt: skip
        if r["step"] == "line_total":
            text = r["input"][1]["content"]
            attrs["llm.prompt_template.template"] = (
                "Quantity: {quantity}\nUnit price: {price} EUR\n\nWhat is the line total in EUR?"
            )
            attrs["llm.prompt_template.variables"] = json.dumps({
                "quantity": text.split("\n")[0].split(": ")[1],
                "price": text.split("\n")[1].split(": ")[1].split()[0],
            })  # fmt: skip
            attrs["llm.prompt_template.version"] = "v1"
        spans.append({
            "name": r["step"], "context": {"trace_id": r["run_id"], "span_id": r["step_id"]},
            "parent_id": None, "start_time": r["started_at"], "end_time": r["ended_at"],
            "status_code": "ERROR" if r["status"] != "ok" else "OK",
            "status_message": r.get("error") or "", "attributes": attrs,
        })  # fmt: skip
    return spans


@pytest.fixture(scope="module")
def canonical() -> dict[str, Any]:
    (w,) = assess(read_logs([str(ORDER_DESK)]).table).workflows
    return {s.step: s for s in w.steps}


def recommendations(path: Path) -> tuple[str, dict[str, Any]]:
    result = read_logs([str(path)])
    assert not result.problems.first, result.problems.first
    (w,) = assess(result.table).workflows
    return w.workflow, {s.step: s for s in w.steps}


def same_recommendations(canonical: dict[str, Any], other: dict[str, Any]) -> None:
    for name in MECHANICAL:
        assert other[name].recommendation.action == "replace", name
        assert other[name].synthesis.heldout_coverage >= 0.95, name
    # The same steps are replaced (a Langfuse export names no provider, so which model
    # a judgment step could move to may differ).
    for name, step in canonical.items():
        replaced = step.recommendation.action == "replace"
        assert (other[name].recommendation.action == "replace") == replaced, name


@pytest.mark.slow  # end to end
def test_a_langfuse_parquet_export_gives_the_same_recommendations(
    tmp_path: Path, canonical: dict[str, Any]
) -> None:
    rows = langfuse_rows(sample_records())
    path = tmp_path / "observations.parquet"
    write_langfuse_parquet(rows, path)
    workflow, steps = recommendations(path)  # recognised without --input-format
    assert workflow == "order-desk"  # the root observation's name
    same_recommendations(canonical, {k: v for k, v in steps.items() if k != "order-desk"})
    table = read_logs([str(path)]).frame()
    extra = table.loc[table["step"] == "route_region", "extra"].map(json.loads)
    assert {e["prompt_version"] for e in extra} == {1, 2}
    assert {e["prompt_name"] for e in extra} == {"route_region"}
    # The versions are the ones Langfuse logged, and named after them.
    versions = steps["route_region"].synthesis.to_dict()["prompt"]["versions"]
    assert sorted(v["label"] for v in versions) == ["route_region v1", "route_region v2"]
    assert "as logged" in steps["route_region"].synthesis.note


@pytest.mark.slow  # end to end; CI runs the slow tests
def test_a_langfuse_jsonl_export_is_read_too(tmp_path: Path, canonical: dict[str, Any]) -> None:
    rows = langfuse_rows(sample_records())
    for row in rows:
        row["trace_name"] = "order-desk"  # the enriched export names the trace
        for key in ("usage_details", "cost_details"):
            row[key] = json.dumps(row.get(key, {}))
    path = tmp_path / "observations.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    workflow, steps = recommendations(path)
    assert workflow == "order-desk"
    same_recommendations(canonical, {k: v for k, v in steps.items() if k != "order-desk"})


@pytest.mark.slow  # end to end
def test_openinference_spans_give_the_same_recommendations(
    tmp_path: Path, canonical: dict[str, Any]
) -> None:
    path = tmp_path / "order-desk.jsonl"
    spans = openinference_spans(sample_records())
    path.write_text("".join(json.dumps(s) + "\n" for s in spans), encoding="utf-8")
    workflow, steps = recommendations(path)
    assert workflow == "order-desk"
    same_recommendations(canonical, steps)
    table = read_logs([str(path)]).frame()
    extra = json.loads(table.loc[table["step"] == "line_total", "extra"].iloc[0])
    assert set(extra["prompt_variables"]) == {"quantity", "price"}
    assert extra["prompt_template"].startswith("Quantity: {quantity}")
    # The logged variables name the slots ("price", where the label says "Unit price").
    (version,) = steps["line_total"].synthesis.to_dict()["prompt"]["versions"]
    assert [s["name"] for s in version["slots"]] == ["quantity", "price"]


def test_phoenix_nested_prompt_template_attributes() -> None:
    from solidify.assess.formats.spans import dump_records

    span = {"name": "llm", "context": {"trace_id": "t1", "span_id": "s1"},
            "attributes": {"openinference": {"span": {"kind": "LLM"}},
                           "llm": {"prompt_template": {"template": "Country: {country}",
                                                       "variables": {"country": "PL"},
                                                       "version": "v2"}}}}  # fmt: skip
    (record,) = dump_records([span], "wf")
    assert record["prompt_variables"] == {"country": "PL"}
    assert (record["prompt_version"], record["prompt_template"]) == ("v2", "Country: {country}")


def test_langsmith_chain_inputs_are_the_llm_runs_variables() -> None:
    from solidify.assess.formats.langsmith import run_records

    chain = {
        "id": "c1",
        "trace_id": "t1",
        "run_type": "chain",
        "name": "route",
        "inputs": {"country": "PL"},
        "outputs": {"desk": "EMEA"},
    }
    llm = {"id": "l1", "trace_id": "t1", "parent_run_id": "c1", "run_type": "llm",
           "name": "ChatOpenAI", "inputs": {"messages": [[{"role": "user",
                                                            "content": "Country: PL"}]]},
           "outputs": {"generations": []}}  # fmt: skip
    records = {r["step"]: r for r in run_records([chain, llm], "wf")}
    assert records["ChatOpenAI"]["prompt_variables"] == {"country": "PL"}
    assert "prompt_variables" not in records["route"]


def test_langfuse_trace_downloads_name_their_prompt() -> None:
    from solidify.assess.formats.langfuse import trace_records

    doc = {"trace": {"id": "t1", "name": "desk"},
           "observations": [{"id": "o1", "type": "GENERATION", "name": "route",
                             "promptName": "router", "promptVersion": 3,
                             "input": [{"role": "user", "content": "Country: PL"}],
                             "output": "EMEA"}]}  # fmt: skip
    (record,) = trace_records(doc)
    assert (record["prompt_name"], record["prompt_version"]) == ("router", 3)
