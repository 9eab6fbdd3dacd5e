"""Workflow facts, maturity windows and trends as engine queries: the same values as the
pandas versions they replace, on the samples and on generated step tables; SQL that
SQLGlot carries to Spark."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pytest
import sqlglot
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from solidify.assess import maturity, trends
from solidify.assess.config import Config
from solidify.assess.model import Assessment
from solidify.assess.pricing import Pricer, register_rates
from solidify.assess.rates import Rates
from solidify.assess.schema import AI_KINDS, STEP_TABLE_SCHEMA, as_strings
from solidify.assess.steptable import StepTable
from solidify.assess.workflow_facts import WorkflowFacts, workflow_facts, workflow_facts_sql
from tests.conftest import step_frame
from tests.reference import frames
from tests.reference.frames import orchestrated

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


def _engine(frame: pd.DataFrame) -> StepTable:
    arrow = pa.Table.from_pandas(frame[list(STEP_TABLE_SCHEMA.names)], preserve_index=False)
    return StepTable.of([arrow.cast(STEP_TABLE_SCHEMA)])


def _groups(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    names = as_strings(frame["workflow"])
    return {str(name): rows for name, rows in frame.groupby(names, sort=True)}


def _pandas_workflow_facts(frame: pd.DataFrame) -> dict[str, dict]:
    """What assessment._workflow and assessment.orchestrated read from the frame."""
    marked = orchestrated(frame)
    out = {}
    for name, rows in _groups(frame).items():
        started = rows["started_at"].dropna()
        days, period = None, {"start": None, "end": None, "days": None}
        if len(started):
            span = (started.max() - started.min()).total_seconds() / 86400
            days = max(span, 1.0)
            period = {"start": started.min().isoformat(), "end": started.max().isoformat(),
                      "days": round(span, 2)}  # fmt: skip
        runs = int(rows["run_id"].nunique())
        out[name] = {
            "runs": runs,
            "executions": len(rows),
            "ai_executions": int(rows["kind"].isin(AI_KINDS).sum()),
            "period": period,
            "scale_days": days,
            "runs_per_month": runs / days * 30 if days else None,
            "orchestrated": name in marked,
        }
    return out


def _facts_dict(facts: WorkflowFacts) -> dict:
    return {
        "runs": facts.runs,
        "executions": facts.executions,
        "ai_executions": facts.ai_executions,
        "period": facts.period,
        "scale_days": facts.scale_days,
        "runs_per_month": facts.runs_per_month,
        "orchestrated": facts.orchestrated,
    }


def _pandas_window_facts(frame: pd.DataFrame, days: int, replace: set[str]) -> dict:
    return {
        name: frames.window_facts(frames.window(rows, days), replace, declared=False)
        for name, rows in _groups(frame).items()
    }


def _engine_window_facts(engine: StepTable, days: int, replace: set[str]) -> dict:
    counts = maturity.window_counts(engine, days)
    return {name: maturity.facts_of(c, replace, declared=False) for name, c in counts.items()}


EXTRAS = [None, None, '{"orchestrator":"kestra"}', '{"x":1}', '{"processing":"batch"}']


# Generated step tables: several workflows, runs with retries (attempts out of order
# too), failures, code wrappers (step_id/parent_id), missing timestamps and kinds,
# rows out of time order, orchestrator marks, over a few months.
@st.composite
def step_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    rows = []
    for line in range(n):
        # Hours on the window's edges (30 and 3 days before the latest), on both sides.
        hours = draw(st.sampled_from([None, 0, 1, 719, 720, 792, 1439, 1440, 1512, 1513]))
        status = draw(st.sampled_from(["ok", "ok", "error", "timeout"]))
        rows.append({
            "workflow": draw(st.sampled_from(["w", "v"])),
            "run_id": draw(st.sampled_from(["r1", "r2"])),
            "step": draw(st.sampled_from(["a", "validate", "check_x", "root"])),
            "kind": draw(st.sampled_from(["llm", "agent", "tool", "code", "code", None])),
            "status": status,
            "attempt": draw(st.sampled_from([None, 1, 2, 2, 3])),
            "started_at": None if hours is None else START + timedelta(hours=hours),
            "model": draw(st.sampled_from([None, "gpt-4o-mini"])),
            "input_tokens": draw(st.one_of(st.none(), st.integers(0, 5000))),
            "output_tokens": draw(st.one_of(st.none(), st.integers(0, 500))),
            "step_id": draw(st.sampled_from([None, "s1", "s2", "s3"])),
            "parent_id": draw(st.sampled_from([None, None, "s1", "s2"])),
            "cost_usd": draw(st.one_of(st.none(), st.floats(0, 1, allow_nan=False))),
            "rollup": draw(st.booleans()) and draw(st.booleans()),
            "extra": draw(st.sampled_from(EXTRAS)),
            "source": "log.jsonl",
            "line": line + 1,
        })  # fmt: skip
    return step_frame(rows)


# Each generated table is a DuckDB database and a dozen queries: about a second for
# a dozen tables, so these run with the slow tests.
FEW = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


def test_workflow_facts_equal_the_assessment_on_the_samples(samples_assessed) -> None:
    table, assessment = samples_assessed
    with _engine(table) as engine:
        facts = workflow_facts(engine)
    assert list(facts) == [w.workflow for w in assessment.workflows]
    for w in assessment.workflows:
        f = facts[w.workflow]
        assert (f.runs, f.executions, f.period) == (w.runs, w.executions, w.period)
        assert f.runs_per_month == w.runs_per_month
        assert f.ai_execution_share == w.ai_execution_share
    expected = _pandas_workflow_facts(table)
    assert {name: _facts_dict(f) for name, f in facts.items()} == expected


@pytest.mark.slow
@FEW
@given(step_tables())
def test_workflow_facts_equal_the_pandas_version_on_any_table(frame: pd.DataFrame) -> None:
    with _engine(frame) as engine:
        facts = workflow_facts(engine)
    assert {name: _facts_dict(f) for name, f in facts.items()} == _pandas_workflow_facts(frame)


def test_window_counts_equal_window_facts_on_the_samples(samples_assessed) -> None:
    table, _ = samples_assessed
    replace = {"classify_intent", "extract_order_id", "set_priority"}
    with _engine(table) as engine:
        for days in (30, 3, 0):
            found = _engine_window_facts(engine, days, replace)
            assert found == _pandas_window_facts(table, days, replace)
    assert any(f.validation_steps for f in found.values())


@pytest.mark.slow
@FEW
@given(step_tables(), st.sampled_from([0, 3, 30]))
def test_window_counts_equal_window_facts_on_any_table(frame: pd.DataFrame, days: int) -> None:
    replace = {"a", "validate"}
    with _engine(frame) as engine:
        assert _engine_window_facts(engine, days, replace) == _pandas_window_facts(
            frame, days, replace
        )


def test_window_counts_fold_retries_and_skip_wrappers() -> None:
    at = START
    rows = [
        # r1: a fails, its retry succeeds; the code root wraps the rest
        ("r1", "a", "llm", "error", 1, at, "x1", "root1"),
        ("r1", "a", "llm", "ok", 2, at + timedelta(seconds=1), "x2", "root1"),
        ("r1", "validate", "code", "ok", 1, at + timedelta(seconds=2), "x3", "root1"),
        ("r1", "root", "code", "ok", 1, at, "root1", None),
        # r2: a fails and is not retried: the run fails
        ("r2", "a", "llm", "error", 1, at + timedelta(days=1), None, None),
    ]
    frame = pd.DataFrame(
        [dict(zip(("run_id", "step", "kind", "status", "attempt", "started_at", "step_id",
                   "parent_id"), r, strict=True), workflow="w", line=i + 1)
         for i, r in enumerate(rows)]
    )  # fmt: skip
    frame = step_frame(frame)
    with _engine(frame) as engine:
        (counts,) = maturity.window_counts(engine, 30).values()
    assert (counts.executions, counts.code_executions, counts.ai_executions) == (5, 1, 3)
    assert (counts.ai_calls_first_failed, counts.ai_calls_retried_after_failure) == (2, 1)
    assert (counts.runs, counts.runs_failed, counts.run_shape_stability) == (2, 1, 0.5)
    assert counts.validation_steps == ("validate",)
    assert counts.ai_executions_by_step == {"a": 3}
    facts = maturity.facts_of(counts, {"a"}, declared=True)
    assert (facts.mechanical_ai_executions, facts.declared) == (3, True)


def _spark(sql: str) -> str:
    (spark,) = sqlglot.transpile(sql, read="duckdb", write="spark")
    sqlglot.parse_one(spark, read="spark")  # Spark's parser takes it back
    for construct in ("QUALIFY", "USING SAMPLE", "LIST(", "STRUCT_PACK", "EPOCH"):
        assert construct not in spark.upper()
    return spark


@pytest.mark.parametrize("days", [0, 30])
def test_the_queries_transpile_to_spark(days: int) -> None:
    assert "GROUP BY" in _spark(workflow_facts_sql("filtered"))
    rows = maturity.window_rows("filtered", days)
    assert "filtered" in _spark(maturity.STEP_COUNTS.format(rows=rows))
    _spark(maturity.UNPARENTED_STEP_COUNTS.format(rows=rows))
    _spark(maturity.UNFOLDED_GROUP_COUNTS.format(rows=rows))
    _spark(maturity.UNFOLDED_GROUP_COUNTS.format(rows=maturity.WHOLE_ROWS.format(source="f")))
    _spark(maturity.PROBE.format(source="filtered", mark="%x%"))
    assert "SUM(DISTINCT HASH(step))" in _spark(maturity.GROUP_COUNTS.format(rows=rows))


def _same_periods(old: list[trends.Period], new: list[trends.Period]) -> None:
    assert [p.to_dict() | {"cost_usd": 0, "cost_per_run_usd": 0} for p in new] == [
        p.to_dict() | {"cost_usd": 0, "cost_per_run_usd": 0} for p in old
    ]
    for a, b in zip(old, new, strict=True):
        assert b.cost_usd == pytest.approx(a.cost_usd, rel=1e-9, abs=1e-12)


# (By day, the pandas trends take seconds on the samples.)
@pytest.mark.parametrize("by", ["week", "month", pytest.param("day", marks=pytest.mark.slow)])
def test_trends_equal_the_pandas_trends_on_the_samples(samples_assessed, by: str) -> None:
    table, assessment = samples_assessed
    with _engine(table) as engine:
        new = trends.trends(engine, assessment, by=by)
        assert trends.auto_period(engine) == _pandas_auto_period(table)
    old = frames._frame_trends(table, assessment, by=by)
    assert len(new) > 3
    _same_periods(old, new)


def _pandas_auto_period(table: pd.DataFrame) -> str:
    """Months over two months or more, weeks over two weeks, else days (cli.auto_period
    before the engine)."""
    started = table["started_at"].dropna()
    if started.empty:
        return "month"
    days = (started.max() - started.min()).days
    return "month" if days >= 60 else "week" if days >= 14 else "day"


def _assessed_as(assessment: Assessment, names: tuple[str, ...]) -> Assessment:
    """A sample's workflow assessment standing for workflows with the generated steps:
    what its steps' recommendations say (replace, soft failures) decides the stage."""
    th = Config().thresholds
    base = next(w for w in assessment.workflows if maturity.reproducible_steps(w.steps, th))
    steps = [replace(s, step=name) for s, name in
             zip(base.steps, ["a", "validate", "check_x", "root"], strict=False)]  # fmt: skip
    return Assessment([replace(base, workflow=name, steps=steps) for name in names])


@pytest.mark.slow
@FEW
@given(step_tables(), st.sampled_from(["day", "week", "month"]), st.booleans())
def test_trends_equal_the_pandas_trends_on_any_table(
    samples_assessed, frame: pd.DataFrame, by: str, declared: bool
) -> None:
    # Only "w" is assessed (as after --workflow w): "v" has no trends.
    assessment = _assessed_as(samples_assessed[1], ("w",))
    config = Config(declared={"w": "flow.yaml"} if declared else {})
    with _engine(frame) as engine:
        new = trends.trends(engine, assessment, config, by=by)
        assert trends.auto_period(engine) == _pandas_auto_period(frame)
    _same_periods(frames._frame_trends(frame, assessment, config, by=by), new)


def test_the_stages_read_the_source_given(samples_assessed) -> None:
    rows = [{"workflow": "w", "run_id": f"r{i}", "step": "a", "kind": "llm", "status": "ok",
             "cost_usd": 0.5, "started_at": START + timedelta(days=i), "line": i + 1}
            for i in range(3)]  # fmt: skip
    frame = step_frame(rows)
    frame["rollup"] = False
    assessment = _assessed_as(samples_assessed[1], ("w",))
    with _engine(frame) as engine:
        engine.materialize("later", "SELECT * FROM steps WHERE line > 1")
        assert trends.auto_period(engine, "later") == "day"
        assert maturity.window_counts(engine, 30, "later")["w"].executions == 2
        assert workflow_facts(engine, "later")["w"].runs == 2
        periods = trends.trends(engine, assessment, by="day", source="later")
        # Nothing read: nothing counted, and no error.
        engine.materialize("none", "SELECT * FROM steps WHERE false")
        assert maturity.window_counts(engine, 30, "none") == {}
        assert workflow_facts(engine, "none") == {}
        assert trends.trends(engine, assessment, source="none") == []
        assert trends.auto_period(engine, "none") == "month"
    assert [(p.start, p.cost_usd) for p in periods] == [("2026-01-06", 0.5), ("2026-01-07", 0.5)]


@pytest.mark.parametrize("per_row", [False, True], ids=["by-group", "by-row"])
def test_a_rollup_found_by_usage_is_counted_once_in_trends(per_row: bool) -> None:
    """An agent span whose tokens equal its two calls' is not marked `rollup`: it is found
    by its usage, and its cost left to the calls, as in the step's cost."""
    usage = {"agent": (300, 30, None), "c1": (100, 10, "agent"), "c2": (200, 20, "agent")}
    rows = [{"workflow": "w", "run_id": "r1", "step": name, "kind": "llm", "status": "ok",
             "model": "gpt-4o", "input_tokens": tokens, "output_tokens": out, "step_id": name,
             "parent_id": parent, "started_at": START, "line": i + 1, "rollup": False}
            for i, (name, (tokens, out, parent)) in enumerate(usage.items())]  # fmt: skip
    frame = step_frame(rows)
    rate = Rates(input=1e-6, cache_read=1e-7, cache_write=1e-6, output=4e-6)
    with _engine(frame) as engine:
        register_rates(engine, Pricer(overrides={"gpt-4o": rate}))
        costs = trends.period_costs(engine, "steps", "day", per_row=per_row)
        calls = trends.period_costs(engine, "steps", "day", per_row=per_row, family=False)
    # Priced alone, the agent span doubles the cost; found, it is left out.
    ((key, cost),) = costs.items()
    assert calls[key] == pytest.approx(2 * cost)
    assert cost == pytest.approx(300 * rate.input + 30 * rate.output)


def test_a_period_in_json_keeps_a_small_cost_and_shares_as_the_workflow_does() -> None:
    period = trends.Period("w", "2026-01-05", runs=3, executions=7, cost_usd=3.3e-7,
                           cost_per_run_usd=1.1e-7, failure_rate=1 / 7,
                           ai_execution_share=2 / 7, stage=1)  # fmt: skip
    out = period.to_dict()
    assert (out["cost_usd"], out["cost_per_run_usd"]) == (3.3e-7, 1.1e-7)  # not 0.0
    assert out["failure_rate"] == pytest.approx(1 / 7, rel=1e-11)


def test_trends_queries_transpile_to_spark() -> None:
    for by in trends.PERIODS:
        for per_row in (True, False):
            spark = _spark(trends.period_costs_sql("f", by, per_row=per_row, batch=per_row))
            assert " f AS s" in spark or "FROM f" in spark
            assert f"DATE_TRUNC('{by.upper()}'" in spark.upper()
        for query in (maturity.GROUP_COUNTS, maturity.UNFOLDED_GROUP_COUNTS):
            _spark(query.format(rows=trends.period_rows("f", by)))
    _spark(trends.TIME_SPAN.format(source="f"))
    _spark(trends.RATE_KINDS)


@pytest.mark.slow
@FEW
@given(step_tables(), st.sampled_from(["day", "month"]))
def test_period_costs_by_group_equal_costs_by_row(frame: pd.DataFrame, by: str) -> None:
    with _engine(frame) as engine:
        register_rates(engine, Pricer())
        by_row = trends.period_costs(engine, "steps", by, per_row=True)
        by_group = trends.period_costs(engine, "steps", by, per_row=False)
    assert by_group.keys() <= by_row.keys()
    for key, cost in by_row.items():
        assert by_group.get(key, 0.0) == pytest.approx(cost, rel=1e-9, abs=1e-12)


@pytest.mark.slow
@FEW
@given(step_tables(), st.sampled_from([0, 3]))
def test_the_simpler_queries_equal_the_general_ones(frame: pd.DataFrame, days: int) -> None:
    # Without retries and parents, the queries the probe chooses are the simpler ones.
    frame = frame.assign(attempt=None, parent_id=None)
    with _engine(frame) as engine:
        found = maturity.probe(engine)
        assert not found.retries and not found.parents
        assert maturity.counting_queries(found) == (
            maturity.UNPARENTED_STEP_COUNTS,
            maturity.UNFOLDED_GROUP_COUNTS,
        )
        rows = maturity.window_rows("steps", days)
        assert maturity.group_counts(engine, rows, maturity.counting_queries(found)) == (
            maturity.group_counts(engine, rows)
        )
