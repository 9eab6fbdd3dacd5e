"""Tool relays found by the engine: the same steps and tools as the numpy rule they
replace, on the samples and on generated runs of tools and AI steps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess.ingest import read_logs
from solidify.assess.relays import tool_relays
from solidify.assess.schema import STEP_TABLE_SCHEMA
from solidify.assess.steptable import StepTable
from tests.reference import frames
from tests.reference.metrics import Texts

SAMPLES = Path(__file__).parent.parent / "samples"


def _numpy_relays(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    return frames.tool_relays(frame, Texts.encode(frame["input"]), Texts.encode(frame["output"]))


def _table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"source": "log.jsonl", "line": i + 1, **row} for i, row in enumerate(rows)],
        schema=STEP_TABLE_SCHEMA,
    )


def _run(run: str, fetched: str, *, relay: str = "fetch", tool: str = "lookup") -> list[dict]:
    """A tool fetches, then the agent answers with the same input and output (or not)."""
    return [
        {"workflow": "w", "run_id": run, "step": tool, "kind": "tool", "status": "ok",
         "input": '{"q":1}', "output": '"found"'},
        {"workflow": "w", "run_id": run, "step": relay, "kind": "agent", "status": "ok",
         "input": '{"q":1}', "output": fetched},
    ]  # fmt: skip


def test_an_agent_that_repeats_a_tools_output_is_a_relay() -> None:
    rows = [row for k in range(9) for row in _run(f"r{k}", '"found"')]
    rows += _run("r9", '"something else"')  # 9 of 10: still a relay
    with StepTable.of([_table(rows)]) as engine:
        assert tool_relays(engine) == {("w", "fetch"): "lookup"}
    rows += _run("r10", '"something else"')  # 9 of 11: below the share
    with StepTable.of([_table(rows)]) as engine:
        assert tool_relays(engine) == {}


def test_a_relay_needs_the_same_run_and_enough_executions() -> None:
    # The same pair, but the tool ran in another run: not relayed.
    moved = [{**row, "run_id": "elsewhere"} if row["kind"] == "tool" else row
             for k in range(6) for row in _run(f"r{k}", '"found"')]  # fmt: skip
    few = [row for k in range(4) for row in _run(f"r{k}", '"found"')]
    for rows in (moved, few):
        with StepTable.of([_table(rows)]) as engine:
            assert tool_relays(engine) == {}


def test_tools_are_named_most_frequent_first_and_the_first_met_breaks_a_tie() -> None:
    rows = [row for k in range(3) for row in _run(f"a{k}", '"found"', tool="second")]
    rows = [*_run("z", '"found"', tool="first"), *rows]
    rows += [row for k in range(3) for row in _run(f"b{k}", '"found"', tool="first")]
    with StepTable.of([_table(rows)]) as engine:
        assert tool_relays(engine) == {("w", "fetch"): "first, second"}
    assert _numpy_relays(_table(rows).to_pandas()) == {("w", "fetch"): "first, second"}


@pytest.mark.parametrize("name", ["support-triage.jsonl.gz", "release-cleanup"])
def test_relays_equal_the_numpy_rule_on_the_samples(name: str) -> None:
    with read_logs([str(SAMPLES / name)]) as read:
        assert tool_relays(read.table) == _numpy_relays(read.frame())


@st.composite
def runs(draw) -> pa.Table:
    """Runs where an AI step mostly answers as a tool just did, sometimes not."""
    texts = st.sampled_from(['"a"', '"b"', "1", None])
    rows = []
    for _ in range(draw(st.integers(3, 16))):
        run = draw(st.sampled_from(["r1", "r2", "r3", "r4"]))
        tool = {"workflow": "w", "run_id": run, "step": draw(st.sampled_from(["t", "u"])),
                "kind": "tool", "status": "ok", "input": draw(st.sampled_from(['"x"', '"y"'])),
                "output": draw(texts)}  # fmt: skip
        ai = {**tool, "step": draw(st.sampled_from(["a", "a", "b"])),
              "kind": draw(st.sampled_from(["llm", "agent", "agent", "code"])),
              "status": draw(st.sampled_from(["ok", "ok", "ok", "error"]))}  # fmt: skip
        if draw(st.integers(0, 9)) == 0:
            ai.update(input=draw(st.sampled_from(['"x"', None])), output=draw(texts))
        if draw(st.integers(0, 7)) == 0:
            ai["run_id"] = draw(st.sampled_from(["r1", "r2", "r3", "r4"]))
        rows += [tool, ai] if draw(st.booleans()) else [ai, tool]
    return _table(rows)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_relays_equal_the_numpy_rule_on_any_runs(table: pa.Table) -> None:
    with StepTable.of([table]) as engine:
        assert tool_relays(engine) == _numpy_relays(table.to_pandas())
