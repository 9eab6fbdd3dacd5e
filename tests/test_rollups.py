"""Roll-ups found by the engine's SQL: the same rows, counts and reasons as the pandas rule
they replace, on the samples, the real traces and generated families of spans."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess import rollups
from solidify.assess.ingest import read_logs
from solidify.assess.schema import STEP_TABLE_SCHEMA
from solidify.assess.steptable import StepTable
from tests.conftest import CORPUS
from tests.reference import frames

SAMPLES = Path(__file__).parent.parent / "samples"


def _table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"source": "log.jsonl", "line": i + 1, **row} for i, row in enumerate(rows)],
        schema=STEP_TABLE_SCHEMA,
    )


def _found_by_pandas(frame: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    equals, contains = frames._verdicts(frame)
    out = set()
    for why, rows in (
        ("equals", frame[equals.to_numpy()]),
        ("contains", frame[contains.to_numpy()]),
    ):
        keys = zip(rows["workflow"], rows["run_id"], rows["step_id"], strict=True)
        out |= {(str(w), str(r), str(s), why) for w, r, s in keys}
    return out


def _same_as_pandas(engine: StepTable, frame: pd.DataFrame) -> None:
    found = engine.query(rollups.found_rollups_sql()).to_pylist()
    assert {
        (r["workflow"], r["run_id"], r["step_id"], r["why"]) for r in found
    } == _found_by_pandas(frame)
    assert rollups.step_notes(engine) == frames.frame_notes(frames.mark_rollups(frame))


FAMILY = [
    # (parent's input and output tokens, why)
    ((150, 15), "equals"),
    ((170, 20), "contains"),
    ((170, 14), None),  # below in one kind of token
    ((0, 0), None),  # no usage of its own
]


@pytest.mark.parametrize(("parent", "why"), FAMILY)
def test_a_parent_is_a_rollup_when_its_usage_equals_or_contains_its_childrens(parent, why) -> None:
    rows = [
        {"workflow": "w", "run_id": "r", "step": "agent", "step_id": "p",
         "input_tokens": parent[0], "output_tokens": parent[1]},
        {"workflow": "w", "run_id": "r", "step": "call", "step_id": "c1", "parent_id": "p",
         "input_tokens": 100, "output_tokens": 10},
        {"workflow": "w", "run_id": "r", "step": "call", "step_id": "c2", "parent_id": "p",
         "input_tokens": 50, "output_tokens": 5},
        # A child without usage adds nothing; a child in another run is not this one's.
        {"workflow": "w", "run_id": "r", "step": "tool", "step_id": "c3", "parent_id": "p"},
        {"workflow": "w", "run_id": "other", "step": "call", "step_id": "c4", "parent_id": "p",
         "input_tokens": 1, "output_tokens": 1},
    ]  # fmt: skip
    with StepTable.of([_table(rows)]) as engine:
        found = engine.query(rollups.found_rollups_sql()).to_pylist()
        notes = rollups.step_notes(engine)
    assert found == ([{"workflow": "w", "run_id": "r", "step_id": "p", "why": why}] if why else [])
    if why:
        words = {"equals": "equal the sum of", "contains": "contain those of"}[why]
        reason = (
            f"roll-up: its tokens {words} the calls under it; its cost is counted on those calls"
        )
        assert notes == {("w", "agent"): rollups.RollupNote(1, reason)}
    else:
        assert notes == {}


def test_children_without_usage_make_no_rollup_and_a_marked_row_says_the_trace_marks_it() -> None:
    rows = [
        {"workflow": "w", "run_id": "r", "step": "agent", "step_id": "p", "input_tokens": 5},
        {"workflow": "w", "run_id": "r", "step": "tool", "step_id": "c", "parent_id": "p"},
        {"workflow": "w", "run_id": "r", "step": "wrapper", "input_tokens": 9, "rollup": True},
        {"workflow": "w", "run_id": "s", "step": "wrapper", "input_tokens": 9, "rollup": False},
    ]  # fmt: skip
    with StepTable.of([_table(rows)]) as engine:
        assert engine.query(rollups.found_rollups_sql()).num_rows == 0
        notes = rollups.step_notes(engine)
    assert list(notes) == [("w", "wrapper")]
    assert notes[("w", "wrapper")].executions == 1
    assert rollups.MARKED in notes[("w", "wrapper")].reason


def test_the_most_common_reason_wins_and_the_first_met_breaks_a_tie() -> None:
    def family(run: str, parent: tuple[int, int], marked: bool = False) -> list[dict]:
        return [
            {"workflow": "w", "run_id": run, "step": "agent", "step_id": "p", "rollup": marked,
             "input_tokens": parent[0], "output_tokens": parent[1]},
            {"workflow": "w", "run_id": run, "step": "call", "step_id": "c", "parent_id": "p",
             "input_tokens": 10, "output_tokens": 1},
        ]  # fmt: skip

    tie = [*family("r1", (20, 2)), *family("r2", (10, 1)), *family("r3", (5, 5), marked=True)]
    with StepTable.of([_table(tie)]) as engine:
        note = rollups.step_notes(engine)[("w", "agent")]
        assert note.executions == 3 and rollups.CONTAINS in note.reason
        _same_as_pandas(engine, _table(tie).to_pandas())
    more = [*tie, *family("r4", (10, 1))]
    with StepTable.of([_table(more)]) as engine:
        note = rollups.step_notes(engine)[("w", "agent")]
        assert note.executions == 4 and rollups.EQUALS in note.reason


@pytest.mark.parametrize("name", ["release-cleanup", "support-triage.jsonl.gz"])
def test_rollups_equal_the_pandas_rule_on_the_samples(name: str) -> None:
    with read_logs([str(SAMPLES / name)]) as read:
        _same_as_pandas(read.table, read.frame())


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")
@pytest.mark.parametrize(
    "path", ["langfuse/pydantic-ai-tools-2025-12-04.trace.json",
             "langfuse/langgraph-js-2025-10-30.trace.json",
             "otel_genai/vercel_ai_sdk_v6_all_spans.json"],
)  # fmt: skip
def test_rollups_equal_the_pandas_rule_on_real_traces(path: str) -> None:
    with read_logs([str(CORPUS / path)]) as read:
        frame = read.frame()
        assert frame["rollup"].any() or frame["parent_id"].notna().any()
        _same_as_pandas(read.table, frame)


@st.composite
def families(draw) -> pa.Table:
    ids = ["a", "b", "c", None]
    tokens = st.one_of(st.none(), st.sampled_from([0, 1, 2, 3, 5]))
    rows = [
        {"workflow": draw(st.sampled_from(["w", "v"])), "run_id": draw(st.sampled_from(["r", "s"])),
         "step": draw(st.sampled_from(["x", "y"])), "step_id": draw(st.sampled_from(ids)),
         "parent_id": draw(st.sampled_from(ids)), "input_tokens": draw(tokens),
         "output_tokens": draw(tokens), "rollup": draw(st.sampled_from([None, False, True]))}
        for _ in range(draw(st.integers(1, 12)))
    ]  # fmt: skip
    return _table(rows)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families())
def test_rollups_equal_the_pandas_rule_on_any_family(table: pa.Table) -> None:
    frame = table.to_pandas()
    frame["rollup"] = frame["rollup"].fillna(False).astype(bool)
    with StepTable.of([table]) as engine:
        _same_as_pandas(engine, frame)
    # A view of the same rows (no rowid of its own) gives the same notes.
    with StepTable.viewing(table) as engine:
        assert rollups.step_notes(engine) == frames.frame_notes(frames.mark_rollups(frame))
