"""The per-step samples and the search plan from the engine: today's jobs where a step
is under its cap (on the samples and on generated tables), a content-chosen sample of
`cap` executions above it, and SQL Spark can run."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess import sampling
from solidify.assess.canonical import canonical_json
from solidify.assess.ingest import Ingested, read_logs
from solidify.assess.sampling import SearchPlan, step_samples
from solidify.assess.schema import STEP_TABLE_SCHEMA
from solidify.assess.steptable import StepTable
from solidify.assess.synthesis.job import Job
from tests.reference import frames
from tests.reference.metrics import Texts

SAMPLES = Path(__file__).parent.parent / "samples"


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    base = {"workflow": "w", "run_id": "r", "kind": "tool", "status": "ok"}
    return pa.Table.from_pylist([{**base, **row} for row in rows], schema=STEP_TABLE_SCHEMA)


def _old_plan(engine: StepTable) -> frames.SearchPlan:
    """Today's plan, from the pandas frame the assessment reads today."""
    frame = Ingested(engine).frame()
    for name in ("input", "output", "extra"):  # the canonical form, as the new plan gives it
        frame[name] = [None if pd.isna(t) else canonical_json(json.loads(t)) for t in frame[name]]
    return frames.SearchPlan.of(frame, Texts.encode(frame["input"]),
                                    Texts.encode(frame["output"]))  # fmt: skip


def _today(job: Job) -> Job:
    """Today's job with missing values as None: the pandas frame gives pd.NA for a missing
    `extra` and the text "<NA>" for a missing error (str(pd.NA))."""
    prompts = None if job.prompts is None else [None if pd.isna(p) else p for p in job.prompts]
    failed = tuple((text, None if error == "<NA>" else error) for text, error in job.failed)
    return Job(job.train, job.held, job.time_limit, prompts, failed, job.routes, job.known)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _reference(pairs: list[tuple[str, str]], cap: int) -> list[tuple[str, str]]:
    """The sampling rule in plain Python: the `cap` executions with the lowest keys (md5
    of the pair, md5 of (that, n) for its n-th repeat), the first ones of each pair, in
    table order."""
    seen: Counter[str] = Counter()
    keyed = []
    for text_in, text_out in pairs:
        digest = _md5(f"{text_in}\n{text_out}")
        seen[digest] += 1
        n = seen[digest]
        keyed.append((digest if n == 1 else _md5(f"{digest}\n{n}"), digest))
    taken = Counter(digest for _, digest in sorted(keyed)[:cap])
    out = []
    for (text_in, text_out), (_, digest) in zip(pairs, keyed, strict=True):
        if taken[digest]:
            taken[digest] -= 1
            out.append((text_in, text_out))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["order-desk.jsonl.gz", "support-triage.jsonl.gz", "invoice-intake.csv",
             "release-cleanup"],
)  # fmt: skip
def test_every_job_on_the_samples_is_todays_under_the_cap(name: str) -> None:
    with read_logs([str(SAMPLES / name)]) as read:
        new = SearchPlan.of(read.table)
        old = _old_plan(read.table)
    assert new.keys == old.keys and new.keys
    for key in old.keys:
        sample = new.samples[key]
        before, after = _today(old.job(key)), new.job(key)
        if sample.successes <= sample.cap:
            assert after == before, key
            continue
        # Above the cap (steps of code and tools, in the samples): the same kind of job
        # on another `cap` of the step's executions.
        assert len(after.train) + len(after.held) == sample.cap == len(sample.rows)
        assert (after.time_limit, after.routes, after.prompts, after.failed) == (
            before.time_limit, before.routes, before.prompts, before.failed)  # fmt: skip


texts = st.sampled_from(['{"b":1,"a":2}', '"x"', "1", None, '{"a":[1,{"d":1,"c":2}]}', "[]"])


@st.composite
def step_tables(draw) -> list[dict[str, Any]]:
    rows = []
    for line in range(draw(st.integers(1, 30))):
        status = draw(st.sampled_from(["ok", "ok", "ok", "error", "timeout"]))
        rows.append({
            "workflow": draw(st.sampled_from(["w", "v"])),
            "step": draw(st.sampled_from(["a", "b", "c"])),
            "kind": draw(st.sampled_from(["llm", "agent", "tool", "code", None])),
            "status": status,
            "input": draw(texts),
            "output": draw(texts) if status == "ok" else None,
            "error": None if status == "ok" else draw(st.sampled_from([None, "boom"])),
            "extra": draw(st.sampled_from([None, '{"z":1,"prompt_name":"p"}', '{"y":2,"x":1}'])),
            "line": line,
        })  # fmt: skip
    return rows


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step_tables())
def test_every_job_equals_todays_on_generated_tables(rows: list[dict[str, Any]]) -> None:
    with StepTable.of([_table(rows)]) as engine:
        new = SearchPlan.of(engine)
        old = _old_plan(engine)
    assert new.keys == old.keys
    for key in old.keys:
        assert new.job(key) == _today(old.job(key)), key


def test_prompts_failures_and_canonical_texts_reach_the_job() -> None:
    rows = [
        {"step": "s", "kind": "llm", "input": '{"b":1,"a":2}', "output": '"x"',
         "extra": '{"z":1,"prompt_name":"p"}'},
        {"step": "s", "kind": "llm", "input": '{"a":1}', "output": None},
        {"step": "s", "kind": "llm", "status": "error", "input": None, "error": "boom"},
        {"step": "t", "status": "timeout", "input": '{"y":1,"x":2}'},
    ]  # fmt: skip
    with StepTable.of([_table(rows)]) as engine:
        samples = step_samples(engine)
    s, t = samples[("w", "s")], samples[("w", "t")]
    assert s.rows == [('{"a":2,"b":1}', '"x"'), ('{"a":1}', "null")]
    assert s.prompts == ['{"prompt_name":"p","z":1}', None]
    assert s.failed == (("null", "boom"),)
    assert (s.ran_on_ai, s.successes, t.ran_on_ai, t.successes) == (True, 2, False, 0)
    assert t.rows == [] and t.failed == (('{"x":2,"y":1}', None),)
    plan = SearchPlan.of(engine := StepTable.of([_table(rows)]), known={("w", "s"): ("k",)})
    engine.close()
    assert plan.keys == [("w", "s")]  # a step without successes has nothing to search
    job = plan.job(("w", "s"))
    assert job.known == ("k",) and job.routes and job.failed == s.failed
    assert sorted(job.train + job.held) == sorted(s.rows)


def _big_step(rng: random.Random) -> list[dict[str, Any]]:
    """A tool's step of 60 executions: 3 pairs repeated 10 to 15 times, and one-offs."""
    rows = []
    for n in range(60):
        if n % 2:
            value = rng.choice(["1", '"a"', "[1]"])
            rows.append({"step": "big", "input": value, "output": value})
        else:
            rows.append({"step": "big", "input": f'{{"n":{n}}}', "output": str(n)})
    rows.append({"step": "small", "input": "1", "output": "2"})
    return rows


def _pairs(rows: list[dict[str, Any]], step: str) -> list[tuple[str, str]]:
    return [(r["input"], r["output"]) for r in rows if r["step"] == step]


def test_above_the_cap_the_sample_is_cap_rows_by_content_and_repeats_stay(monkeypatch) -> None:
    monkeypatch.setattr(sampling, "LIGHT_EXAMPLES", 20)
    rows = _big_step(random.Random(3))
    with StepTable.of([_table(rows)]) as engine:
        samples = step_samples(engine)
        plan = SearchPlan.of(engine)
    big = samples[("w", "big")]
    assert big.successes == 60 and len(big.rows) == 20
    assert big.rows == _reference(_pairs(rows, "big"), 20)
    assert max(Counter(big.rows).values()) > 1  # repeated executions stay repeated
    assert samples[("w", "small")].rows == [("1", "2")]
    job = plan.job(("w", "big"))
    assert len(job.train) + len(job.held) == 20 and job.held
    # Shuffled, the table gives the same sample (in its own order) and the same job.
    shuffled = rows[:]
    random.Random(5).shuffle(shuffled)
    with StepTable.of([_table(shuffled)]) as engine:
        again = SearchPlan.of(engine)
    assert sorted(again.samples[("w", "big")].rows) == sorted(big.rows)
    assert again.samples[("w", "big")].rows == _reference(_pairs(shuffled, "big"), 20)
    assert again.job(("w", "big")) == job


def test_too_few_keys_below_the_threshold_falls_back_to_ranking_all(monkeypatch) -> None:
    monkeypatch.setattr(sampling, "LIGHT_EXAMPLES", 20)
    rows = _big_step(random.Random(4))
    with StepTable.of([_table(rows)]) as engine:
        expected = step_samples(engine)
        # A threshold that lets through far fewer than the cap: the step is ranked whole.
        monkeypatch.setattr(sampling, "MARGIN", -7.5)
        queries: list[str] = []
        query = engine.query
        monkeypatch.setattr(engine, "query", lambda sql, *a: queries.append(sql) or query(sql, *a))
        assert step_samples(engine) == expected
    assert len(queries) == 3  # the step facts, the sample, the sample again


def test_the_threshold_lets_through_more_than_the_cap() -> None:
    assert sampling.threshold(1000, 1000) == sampling.ALL
    prefixes = {sampling.threshold(300, n) for n in range(301, 700)}
    assert sampling.ALL in prefixes and all(len(p) == 8 for p in prefixes - {sampling.ALL})
    below = sampling.threshold(1000, 100_000)
    share = int(below, 16) / 16**8
    assert 1000 < share * 100_000 < 1300
    assert sampling.ALL > "f" * 32 > below


def test_an_empty_table_has_no_samples() -> None:
    with StepTable() as engine:
        assert step_samples(engine) == {}
        assert SearchPlan.of(engine).keys == []


def test_the_queries_are_sql_that_sqlglot_carries_to_spark() -> None:
    for sql in sampling.sample_queries("steps"):
        (spark,) = sqlglot.transpile(sql, read="duckdb", write="spark")
        assert "SELECT" in spark
        for construct in ("QUALIFY", "USING SAMPLE", "LIST(", "STRUCT_PACK", "GENERATE_SERIES"):
            assert construct not in spark.upper()


def test_the_plan_searches_the_same_in_forked_workers_as_here() -> None:
    from solidify.assess.searches import Searches

    rows = [{"step": step, "input": f'{{"n":{n}}}', "output": str(n * k)}
            for k, step in enumerate(["double", "triple"], 2) for n in range(40)]  # fmt: skip
    with StepTable.of([_table(rows)]) as engine:
        plan = SearchPlan.of(engine)
    # The workers inherit the plan (samples only: no engine, no connection to fork).
    with Searches(plan, plan.keys, workers=2) as pool:
        forked = pool.results()
    with Searches(plan, plan.keys, workers=0) as here:
        done = here.results()
    untimed = {key: replace(found, seconds=0.0) for key, found in forked.items()}
    assert {key: replace(found, seconds=0.0) for key, found in done.items()} == untimed
    assert all(found.heldout_coverage == 1.0 for found in forked.values())


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step_tables(), st.integers(1, 6))
def test_above_the_cap_every_step_follows_the_rule(rows: list[dict[str, Any]], cap: int) -> None:
    def text(value: str | None) -> str:
        return sampling._canonical(pa.chunked_array([[value or "null"]], pa.string()))[0]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sampling, "LIGHT_EXAMPLES", cap)
        patch.setattr(sampling, "MAX_EXAMPLES", cap + 1)
        with StepTable.of([_table(rows)]) as engine:
            samples = step_samples(engine)
        caps = {key: sample.cap for key, sample in samples.items()}
    for (workflow, step), sample in samples.items():
        done = [(r["input"] or "null", r["output"] or "null") for r in rows
                if (r["workflow"], r["step"], r["status"]) == (workflow, step, "ok")]  # fmt: skip
        expected = _reference(done, caps[workflow, step])
        assert sample.rows == [(text(i), text(o)) for i, o in expected]
        assert len(sample.rows) == min(sample.successes, caps[workflow, step])
