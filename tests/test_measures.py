"""The per-step measures as engine queries: the same values as the numpy measures they
replace, on the samples and on generated step tables; SQL Spark can run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlglot
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from solidify.assess import measures, relays, rollups
from solidify.assess.ingest import read_logs
from solidify.assess.pricing import PRICE_GROUPS, PRICED, Pricer, register_rates
from solidify.assess.schema import STEP_TABLE_SCHEMA
from solidify.assess.steptable import StepTable
from tests.conftest import step_frame
from tests.reference.frames import mark_rollups, price
from tests.reference.metrics import Texts, step_metrics

SAMPLES = Path(__file__).parent.parent / "samples"


def _both(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(numpy measures, engine measures) of a step table. The engine finds the roll-ups
    itself; the numpy measures are given them by the pandas rule."""
    arrow = pa.Table.from_pandas(table[list(STEP_TABLE_SCHEMA.names)], preserve_index=False)
    table = mark_rollups(table)
    old = step_metrics(table, price(Pricer(), table), Texts.encode(table["input"]),
                       Texts.encode(table["output"]))  # fmt: skip
    with StepTable.of([arrow]) as engine:
        register_rates(engine, Pricer())
        new = measures.step_measures(engine)
    return old, new


def _assert_same(old: pd.DataFrame, new: pd.DataFrame, *, skip: tuple[str, ...] = ()) -> None:
    assert list(new.index) == list(old.index)
    for column in old.columns.difference(skip):
        for key, a, b in zip(old.index, old[column], new[column], strict=True):
            if isinstance(a, (dict, str)) or a is None or isinstance(b, str):
                assert a == b or (pd.isna(a) and pd.isna(b)), (column, key, a, b)
            else:
                same = float(a) == pytest.approx(float(b), rel=1e-9)
                assert same or (np.isnan(float(a)) and np.isnan(float(b))), (column, key, a, b)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["order-desk.jsonl.gz", "support-triage.jsonl.gz", "invoice-intake.csv",
             "release-cleanup"],
)  # fmt: skip
def test_measures_equal_the_numpy_measures_on_the_samples(name: str) -> None:
    with read_logs([str(SAMPLES / name)]) as read:
        frame = read.frame()
    old, new = _both(frame)
    assert len(new) > 0
    _assert_same(old, new)


START = datetime(2026, 1, 1, tzinfo=timezone.utc)
inputs = st.sampled_from(['"a"', '"a b"', "1", "null", '{"x":1}', None])
# A missing output reads as the text null (the numpy measures kept the two apart).
# Outputs belong to one step, and failed executions log none: equally frequent shapes
# are now told apart by their first successful execution in the step, the numpy
# measures took the text's first appearance anywhere in the log.
outputs = st.sampled_from(['"{s}"', '"{s} b"', '"b {s}"', "1{n}", '{{"{s}":1}}', '["{s}"]', None])


@st.composite
def step_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    rows = []
    # In time order, often at the same instant (then file order decides); the numpy
    # measures broke ties between equally frequent outputs by file position.
    seconds = sorted(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)))
    for line in range(n):
        model = draw(st.sampled_from([None, "gpt-4o-mini", "no-such-model"]))
        workflow = draw(st.sampled_from(["w", "v"]))
        step = draw(st.sampled_from(["a", "b", "c"]))
        status = draw(st.sampled_from(["ok", "ok", "error", "timeout"]))
        rows.append({
            "workflow": workflow,
            "run_id": draw(st.sampled_from(["r1", "r2", "r3"])),
            "step": step,
            "kind": draw(st.sampled_from(["llm", "tool", "code"])),
            "status": status,
            "attempt": draw(st.sampled_from([None, 1, 2, 3])),
            "started_at": START + timedelta(seconds=seconds[line]),
            "duration_ms": draw(st.one_of(st.none(), st.floats(0, 1e4, allow_nan=False))),
            "model": model,
            "provider": None,
            "input_tokens": draw(st.one_of(st.none(), st.integers(0, 5000))),
            "output_tokens": draw(st.one_of(st.none(), st.integers(0, 500))),
            "cost_usd": draw(st.one_of(st.none(), st.none(), st.floats(0, 1, allow_nan=False))),
            "input": draw(inputs),
            "output": None if status != "ok" else _of_step(draw(outputs), workflow + step),
            "rollup": draw(st.booleans()) and draw(st.booleans()),
            # Spans and their parents: usage equal to, or containing, the children's.
            "step_id": draw(st.sampled_from([None, "p", "q"])),
            "parent_id": draw(st.sampled_from([None, None, "p", "q"])),
            "source": "log.jsonl",
            "line": line + 1,
        })  # fmt: skip
    return step_frame(rows)


def _of_step(template: str | None, step: str) -> str | None:
    return None if template is None else template.format(s=step, n=sum(map(ord, step)))


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking takes minutes
)
@given(step_tables())
def test_measures_equal_the_numpy_measures_on_any_table(table: pd.DataFrame) -> None:
    # (The numpy measures fail on a table without any successful execution.)
    assume((table["status"] == "ok").any())
    # Retries, missing attempts, unknown models, logged costs, roll-ups, missing texts
    # and equal timestamps (file order decides) all measured the same way.
    # Equally frequent shapes are told apart by first execution in the step now, not by
    # the text's first appearance in the log: the usual shape (and the soft failures it
    # decides) is compared on the samples only.
    _assert_same(*_both(table), skip=("usual_shape", "soft_failures"))


def test_measures_are_sql_that_sqlglot_carries_to_spark() -> None:
    queries = [*measures.QUERIES.values(), PRICE_GROUPS, "WITH " + PRICED + " SELECT * FROM priced",
               rollups.found_rollups_sql(), rollups.notes_sql(), rollups.has_family_sql(),
               measures.ordered_sql("filtered"), relays.relays_sql()]  # fmt: skip
    for sql in queries:
        (spark,) = sqlglot.transpile(sql, read="duckdb", write="spark")
        assert "SELECT" in spark
        # Nothing DuckDB-only survives: lists, structs, QUALIFY, sampling.
        for construct in ("QUALIFY", "USING SAMPLE", "LIST(", "STRUCT_PACK"):
            assert construct not in spark.upper()


def test_unknown_models_are_named_and_cost_unknown() -> None:
    rows = pa.Table.from_pylist(
        [{"workflow": "w", "run_id": "r", "step": "s", "kind": "llm", "status": "ok",
          "model": "no-such-model", "input_tokens": 10, "output_tokens": 1,
          "started_at": START, "source": "x", "line": 1}],
        schema=STEP_TABLE_SCHEMA,
    )  # fmt: skip
    pricer = Pricer()
    with StepTable.of([rows]) as engine:
        register_rates(engine, pricer)
        frame = measures.step_measures(engine)
    assert pricer.unknown_models == {"no-such-model"}
    assert frame.loc[("w", "s"), "cost_unknown_executions"] == 1


def test_a_log_where_every_execution_failed_is_assessed() -> None:
    # The numpy measures raised IndexError here (no successful execution to measure).
    from solidify.assess.assessment import assess

    rows = [{"workflow": "w", "run_id": f"r{i}", "step": "s", "kind": "llm", "status": "error",
             "started_at": START + timedelta(minutes=i), "source": "x", "line": i + 1}
            for i in range(3)]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=STEP_TABLE_SCHEMA).to_pandas()
    (workflow,) = assess(table, workers=1).workflows
    (step,) = workflow.steps
    assert step.executions == 3 and step.failure_rate == 1.0
    assert step.determinism_parts["distinct_outputs"] == 0


def test_every_stage_reads_the_relation_it_is_given() -> None:
    # The orchestrator may point the stages at a filtered table: the answers are those of
    # a step table holding only its rows.
    rows = []
    for k in range(6):
        run = {"workflow": "w", "run_id": f"r{k}", "status": "ok", "started_at": START,
               "input": '{"q":1}', "output": '"found"', "model": "gpt-4o-mini"}  # fmt: skip
        rows += [
            {**run, "step": "agent", "kind": "agent", "step_id": "p", "input_tokens": 30,
             "output_tokens": 3},
            {**run, "step": "lookup", "kind": "tool", "step_id": "t", "parent_id": "p",
             "model": None},
            {**run, "step": "call", "kind": "llm", "step_id": "c", "parent_id": "p",
             "input_tokens": 30, "output_tokens": 3, "attempt": 1 + k % 2, "output": "2"},
            {**run, "step": "dropped", "kind": "llm", "input_tokens": 5},
        ]  # fmt: skip
    table = pa.Table.from_pylist(
        [{**row, "source": "log.jsonl", "line": i + 1} for i, row in enumerate(rows)],
        schema=STEP_TABLE_SCHEMA,
    )
    with StepTable.of([table]) as whole:
        whole.materialize("chosen", "SELECT * FROM steps WHERE step <> 'dropped'")
        register_rates(whole, Pricer())
        got = measures.step_measures(whole, source="chosen")
        found = whole.query(rollups.found_rollups_sql("chosen")).num_rows
        notes = rollups.step_notes(whole, source="chosen")
        relayed = relays.tool_relays(whole, source="chosen")
    with StepTable.of([table.filter(pc.not_equal(table["step"], "dropped"))]) as alone:
        register_rates(alone, Pricer())
        _assert_same(measures.step_measures(alone), got)
        assert found == alone.query(rollups.found_rollups_sql()).num_rows == 6
        assert notes == rollups.step_notes(alone) and notes[("w", "agent")].executions == 6
        assert relayed == relays.tool_relays(alone) == {("w", "agent"): "lookup"}
    assert list(got.index) == [("w", "agent"), ("w", "lookup"), ("w", "call")]
    assert got.loc[("w", "agent"), "rollup_executions"] == 6
