"""Costs, failures, determinism, recommendations and stages, on fixtures and on the samples."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from solidify.assess.assessment import assess
from solidify.assess.config import load_config
from solidify.assess.ingest import read_logs
from solidify.cli import cli
from solidify.errors import ConfigError
from tests.conftest import SAMPLES, record, write_jsonl


def run(tmp_path: Path, records: list[dict], **kw):
    path = write_jsonl(tmp_path / "log.jsonl", records)
    return assess(read_logs([str(path)]).table, **kw)


def step(assessment, name: str):
    for w in assessment.workflows:
        for s in w.steps:
            if s.step == name:
                return s
    raise KeyError(name)


# ---------------------------------------------------------------- cost


def test_cache_tokens_are_priced_as_genai_prices_does(tmp_path: Path) -> None:
    a = run(
        tmp_path,
        [
            record(
                model="claude-sonnet-4-5",
                provider="anthropic",
                input_tokens=1000,
                cache_read_tokens=600,
                cache_write_tokens=100,
                output_tokens=50,
                started_at="2026-10-01T00:00:00Z",
            )
        ],
    )
    expected = calc_price(
        Usage(input_tokens=1000, cache_read_tokens=600, cache_write_tokens=100, output_tokens=50),
        model_ref="claude-sonnet-4-5",
        provider_id="anthropic",
        genai_request_timestamp=datetime(2026, 10, 1, tzinfo=timezone.utc),
    ).total_price
    assert step(a, "s").cost_usd == pytest.approx(float(expected), rel=1e-9)
    # Cache reads are cheaper than fresh input: the same tokens uncached cost more.
    b = run(tmp_path, [record(model="claude-sonnet-4-5", input_tokens=1000, output_tokens=50)])
    assert step(b, "s").cost_usd > step(a, "s").cost_usd


def test_old_runs_are_priced_at_the_rates_of_their_day(tmp_path: Path) -> None:
    # claude-opus-4-6 had a long-context tier until 2026-03-13, and flat prices after.
    rows = [
        record(
            run_id="old",
            model="claude-opus-4-6",
            input_tokens=300_000,
            output_tokens=0,
            started_at="2026-01-10T00:00:00Z",
        ),
        record(
            run_id="new",
            step="t",
            model="claude-opus-4-6",
            input_tokens=300_000,
            output_tokens=0,
            started_at="2026-06-10T00:00:00Z",
        ),
    ]
    a = run(tmp_path, rows)
    assert step(a, "s").cost_usd == pytest.approx(3.0)
    assert step(a, "t").cost_usd == pytest.approx(1.5)


def test_unknown_model_is_unknown_not_free(tmp_path: Path, runner) -> None:
    path = write_jsonl(
        tmp_path / "log.jsonl",
        [
            record(model="acme-internal-7b", input_tokens=100, output_tokens=10),
            record(run_id="r2", model="acme-internal-7b", input_tokens=100, output_tokens=10),
            record(run_id="r2", step="t", model="gpt-4o", input_tokens=100, output_tokens=10),
        ],
    )
    result = runner.invoke(cli, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("acme-internal-7b") == 1  # warned once per model
    data = json.loads(result.stdout)
    steps = {s["step"]: s for s in data["workflows"][0]["steps"]}
    assert steps["s"]["cost_usd"] is None
    assert steps["s"]["cost_unknown_executions"] == 2
    assert steps["t"]["cost_usd"] > 0
    assert data["workflows"][0]["cost_unknown_executions"] == 2


def test_price_overrides_from_solidify_yaml(tmp_path: Path, runner, monkeypatch) -> None:
    path = write_jsonl(
        tmp_path / "log.jsonl",
        [
            record(model="acme-internal-7b", input_tokens=1_000_000, output_tokens=500_000),
        ],
    )
    (tmp_path / "solidify.yaml").write_text(
        "prices:\n  acme-internal-7b:\n    input_mtok: 0.5\n    output_mtok: 2\n"
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert "acme-internal-7b" not in result.stderr
    assert json.loads(result.stdout)["workflows"][0]["steps"][0]["cost_usd"] == pytest.approx(1.5)


def test_logged_cost_wins(tmp_path: Path) -> None:
    a = run(tmp_path, [record(model="gpt-4o", input_tokens=10**6, output_tokens=0, cost_usd=0.25)])
    assert step(a, "s").cost_usd == pytest.approx(0.25)


def test_parent_spans_that_repeat_their_children_are_not_counted_twice(tmp_path: Path) -> None:
    rows = [
        record(
            step="agent",
            kind="agent",
            model="gpt-4o",
            input_tokens=300,
            output_tokens=30,
            step_id="p",
        ),
        record(
            step="call_a",
            model="gpt-4o",
            input_tokens=100,
            output_tokens=10,
            step_id="a",
            parent_id="p",
        ),
        record(
            step="call_b",
            model="gpt-4o",
            input_tokens=200,
            output_tokens=20,
            step_id="b",
            parent_id="p",
        ),
        record(step="flagged", model="gpt-4o", input_tokens=999, output_tokens=9, rollup=True),
    ]
    a = run(tmp_path, rows)
    w = a.workflows[0]
    children = step(a, "call_a").cost_usd + step(a, "call_b").cost_usd
    assert step(a, "agent").cost_usd == 0
    assert step(a, "flagged").cost_usd == 0
    assert w.cost_usd == pytest.approx(children)


def test_cost_roll_ups_per_execution_run_and_share(tmp_path: Path) -> None:
    rows = [
        record(run_id=f"r{i}", model="gpt-4o", input_tokens=1000, output_tokens=100, cost_usd=0.01)
        for i in range(4)
    ]
    rows += [record(run_id=f"r{i}", step="t", cost_usd=0.03) for i in range(4)]
    s = step(run(tmp_path, rows), "s")
    assert s.cost_usd == pytest.approx(0.04)
    assert s.cost_per_execution == pytest.approx(0.01)
    assert s.cost_per_run == pytest.approx(0.01)
    assert s.cost_share == pytest.approx(0.25)


# ---------------------------------------------------------------- failures


def test_retries_fold_into_calls(tmp_path: Path) -> None:
    t = "2026-01-01T00:00:0{}Z"
    rows = [
        record(status="error", attempt=1, started_at=t.format(1), output=None),
        record(status="ok", attempt=2, started_at=t.format(2), output="x"),
        record(status="ok", attempt=1, started_at=t.format(3), output="x"),
        record(status="timeout", attempt=1, started_at=t.format(4), output=None),
        record(status="timeout", attempt=2, started_at=t.format(5), output=None),
    ]
    s = step(run(tmp_path, rows), "s")
    assert s.executions == 5
    assert s.failure["calls"] == 3
    assert s.failure["attempt_error_rate"] == pytest.approx(0.6)
    assert s.failure["run_failure_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert s.failure["retry_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert s.failure["timeouts"] == 2


def test_soft_failures_are_empty_text_or_broken_shape(tmp_path: Path) -> None:
    rows = [record(run_id=f"r{i}", input=i, output={"label": "a", "score": 1}) for i in range(16)]
    rows += [record(run_id="x1", input=100, output={"label": "a"})]  # a key went missing
    rows += [record(run_id="x2", input=101, output="")]  # text where an object belongs
    rows += [record(run_id="x3", input=102, output=None)]  # null: "nothing", not a failure
    # A tool-call turn is a valid output of a model step, whatever its shape.
    rows += [record(run_id="x4", input=103, output={"text": "", "tool_calls": ["search"]})]
    llm = [{**r, "kind": "llm"} for r in rows]
    s = step(run(tmp_path, llm), "s")
    assert s.failure["soft_failures"] == 2
    assert s.failure_rate == pytest.approx(2 / 20)
    # Code changes shape by design: the same outputs are no failure of a code step.
    assert step(run(tmp_path, rows), "s").failure_rate == 0.0


# ---------------------------------------------------------------- determinism


def test_determinism_parts(tmp_path: Path) -> None:
    rows = []
    for i in range(40):
        q = f"q{i % 8}"  # 8 inputs, each seen 5 times
        rows.append(record(run_id=f"r{i}", step="stable", input={"q": q}, output=f"answer {q}!"))
        rows.append(
            record(run_id=f"r{i}", step="noisy", input={"q": q}, output=f"answer {q} v{i % 3}")
        )
    a = run(tmp_path, rows)
    stable, noisy = step(a, "stable"), step(a, "noisy")
    assert stable.determinism_parts["repeat_agreement"] == 1.0
    assert stable.determinism_parts["repeated_inputs"] == 8
    assert stable.determinism == 1.0
    assert noisy.determinism_parts["repeat_agreement"] < 0.6
    assert 0.3 < noisy.determinism_parts["repeat_similarity"] < 1.0
    assert noisy.determinism < 0.6
    assert stable.determinism_parts["structure_stability"] == 1.0
    assert noisy.determinism_parts["entropy"] > stable.determinism_parts["entropy"]


# ---------------------------------------------------------------- samples


@pytest.fixture(scope="module")
def samples(samples_assessed):
    return samples_assessed[1]


MECHANICAL = [
    "extract_order_id",
    "set_priority",
    "route_ticket",
    "acknowledge",
    "extract_invoice_number",
    "normalize_date",
    "compute_totals",
    "vendor_cost_center",
    "line_item_codes",
    "to_ledger_entry",
    "approval_route",
]
GENERATIVE = [
    "draft_reply",
    "summarize_invoice",
    "notify_reporter",
    "draft_release_notes",
    "classify_intent",
    "categorize_expense",
    "classify_item",
    "release_agent",
]


@pytest.mark.parametrize("name", MECHANICAL)
def test_mechanical_sample_steps_are_replaced(samples, name: str) -> None:
    s = step(samples, name)
    assert s.recommendation.action == "replace"
    assert s.synthesis.heldout_coverage >= 0.95
    assert s.recommendation.savings.per_month_usd > 0
    assert s.to_dict()["replacement"]["coverage"] >= 0.95


@pytest.mark.parametrize("name", GENERATIVE)
def test_generative_sample_steps_are_never_replaced(samples, name: str) -> None:
    assert step(samples, name).recommendation.action != "replace"


def test_other_recommendations_on_the_samples(samples) -> None:
    assert step(samples, "translate_subject").recommendation.action == "cache"
    assert step(samples, "translate_subject").recommendation.details["hit_rate"] > 0.2
    downgrade = step(samples, "classify_intent").recommendation
    assert downgrade.action == "downgrade"
    assert downgrade.details["cheaper_model"] == "claude-haiku-4-5"
    assert step(samples, "draft_reply").recommendation.action == "harden"
    assert step(samples, "ocr_invoice").recommendation.action is None


def test_priorities_follow_savings(samples) -> None:
    for w in samples.workflows:
        ranked = sorted((s for s in w.steps if s.priority), key=lambda s: s.priority)
        savings = [s.recommendation.savings.per_month_usd or 0 for s in ranked]
        assert savings == sorted(savings, reverse=True)


@pytest.mark.slow  # end to end; CI runs the slow tests
@pytest.mark.parametrize(("month", "level"), [(1, 1), (2, 2), (3, 3)])
def test_release_cleanup_months_climb_the_stages(month: int, level: int) -> None:
    table = read_logs([str(SAMPLES / "release-cleanup" / f"month{month}.jsonl")]).frame()
    w = assess(table).workflows[0]
    assert w.maturity.level == level
    assert w.maturity.reasons
    if level < 4:
        assert w.maturity.next_steps


def test_all_months_together_are_assessed_as_they_run_now(samples) -> None:
    release = next(w for w in samples.workflows if w.workflow == "release-cleanup")
    assert release.maturity.level == 3


def test_an_agent_fetching_through_its_tools_is_spotted() -> None:
    table = read_logs([str(SAMPLES / "release-cleanup" / "month1.jsonl")]).frame()
    result = assess(table)
    w = result.workflows[0]
    fetch = step(result, "fetch_commits")
    assert fetch.relays_tool == "github.compare"
    assert "only relays the result of the tool" in fetch.recommendation.reasons[0]
    items = step(result, "fetch_item").relays_tool.split(", ")
    assert set(items) == {"github.get_item", "canny.get_item", "todoist.get_item"}
    calls = [n for n in w.maturity.next_steps if n.action == "call-tool"]
    assert {n.step for n in calls} == {"fetch_commits", "fetch_item"}
    savings = [n.savings_per_month_usd or 0 for n in w.maturity.next_steps]
    assert savings == sorted(savings, reverse=True)
    # Judgment steps are not relays.
    assert step(result, "classify_item").relays_tool is None


def test_declared_workflow_reaches_stage_4(tmp_path: Path) -> None:
    (tmp_path / "solidify.yaml").write_text("declared:\n  release-cleanup: flows/release.yml\n")
    config = load_config(cwd=tmp_path)
    table = read_logs([str(SAMPLES / "release-cleanup" / "month3.jsonl")]).frame()
    assert assess(table, config).workflows[0].maturity.level == 4


def test_stage_1_next_steps_name_the_steps_to_replace_with_savings() -> None:
    table = read_logs([str(SAMPLES / "release-cleanup" / "month1.jsonl")]).frame()
    steps = assess(table).workflows[0].maturity.next_steps
    replaced = {s.step for s in steps if s.action == "replace"}
    assert {"extract_refs", "match_item", "close_item"} <= replaced
    assert all(s.savings_per_month_usd for s in steps if s.action == "replace")


# ---------------------------------------------------------------- the command


def test_json_output_follows_the_contract(runner) -> None:
    result = runner.invoke(cli, ["assess", str(SAMPLES), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {w["workflow"] for w in data["workflows"]} == {
        "release-cleanup",
        "support-triage",
        "invoice-intake",
        "order-desk",
    }
    for w in data["workflows"]:
        assert isinstance(w["runs"], int) and isinstance(w["executions"], int)
        assert isinstance(w["cost_usd"], float)
        assert w["maturity"]["level"] in (1, 2, 3, 4) and w["maturity"]["name"]
        for s in w["steps"]:
            for key in ("failure_rate", "determinism", "cost_share"):
                assert 0 <= s[key] <= 1
            assert s["kind"] in ("llm", "agent", "tool", "code", "human")
            if s["kind"] in ("llm", "agent"):
                assert s["recommendation"] in ("replace", "cache", "downgrade", "harden", "keep")
                assert s["reasons"]
            else:
                assert s["recommendation"] is None
            if s["recommendation"] == "replace":
                assert s["replacement"]["strategy"]
                assert 0 <= s["replacement"]["coverage"] <= 1
            else:
                assert "replacement" not in s


@pytest.mark.slow  # end to end; CI runs the slow tests
def test_csv_and_markdown(runner) -> None:
    path = str(SAMPLES / "invoice-intake.csv")
    csv_out = runner.invoke(cli, ["assess", path, "--format", "csv"])
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0].startswith("workflow,step,kind")
    assert len(lines) == 1 + 11
    md = runner.invoke(cli, ["assess", path, "--format", "markdown"]).stdout
    assert "## invoice-intake" in md and "| compute_totals | llm |" in md


@pytest.mark.slow  # end to end; CI runs the slow tests
def test_text_output_has_no_colour_when_not_a_terminal(runner) -> None:
    result = runner.invoke(cli, ["assess", str(SAMPLES / "invoice-intake.csv")])
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
    assert "stage 2/4 Hybrid" in result.stdout
    assert "replace #1" in result.stdout


def test_filters(runner) -> None:
    result = runner.invoke(
        cli,
        [
            "assess",
            str(SAMPLES),
            "--workflow",
            "support-*",
            "--step",
            "extract_*",
            "--format",
            "json",
        ],
    )
    data = json.loads(result.stdout)
    assert [w["workflow"] for w in data["workflows"]] == ["support-triage"]
    assert [s["step"] for s in data["workflows"][0]["steps"]] == ["extract_order_id"]
    missing = runner.invoke(cli, ["assess", str(SAMPLES), "--workflow", "nope"])
    assert missing.exit_code == 3
    assert "no workflow matches nope" in missing.stderr


@pytest.mark.slow  # end to end
def test_gates_exit_1_after_writing_the_output(runner) -> None:
    month1 = str(SAMPLES / "release-cleanup" / "month1.jsonl")
    result = runner.invoke(cli, ["assess", month1, "--fail-under-stage", "3", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["workflows"]
    assert "release-cleanup is at stage 1, below 3" in result.stderr
    ok = runner.invoke(cli, ["assess", month1, "--fail-under-stage", "1"])
    assert ok.exit_code == 0
    over = runner.invoke(cli, ["assess", month1, "--fail-over-replaceable", "0.1"])
    assert over.exit_code == 1
    assert "replaceable steps" in over.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prices: [1, 2", "not valid YAML"),
        ("colour: blue\n", "colour: unknown setting"),
        ("prices:\n  m:\n    input_mtok: cheap\n", "prices.m: give input_mtok"),
        ("thresholds:\n  replace_coverage: high\n", "thresholds.replace_coverage"),
    ],
)
def test_bad_config_is_a_one_line_error(tmp_path: Path, runner, text: str, message: str) -> None:
    config = tmp_path / "solidify.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError):
        load_config(str(config))
    result = runner.invoke(
        cli, ["assess", str(SAMPLES / "invoice-intake.csv"), "--config", str(config)]
    )
    assert result.exit_code == 3
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # end to end; CI runs the slow tests
def test_worker_processes_give_the_same_assessment() -> None:
    table = read_logs([str(SAMPLES / "invoice-intake.csv")]).frame()
    serial = assess(table, workers=1).to_dict()
    parallel = assess(table, workers=2).to_dict()
    for a, b in zip(
        serial["workflows"][0]["steps"], parallel["workflows"][0]["steps"], strict=True
    ):
        a.get("synthesis", {}).pop("seconds", None)
        b.get("synthesis", {}).pop("seconds", None)
        assert a == b


def test_a_program_on_too_few_examples_is_not_replaced_yet(tmp_path: Path) -> None:
    def rows(model: str) -> list[dict]:
        return [record(run_id=f"r{i}", model=model, input_tokens=50, output_tokens=3,
                       input={"n": i}, output=i * 2) for i in range(60)]  # fmt: skip

    s = step(run(tmp_path, rows("claude-haiku-4-5")), "s")
    assert s.synthesis.heldout_coverage == 1.0
    assert s.synthesis.confidence < 0.85  # enough executions, too few held out to be sure
    assert s.recommendation.action == "keep"
    assert "log more runs" in s.recommendation.reasons[0]
    # Whatever else is recommended, the thin evidence is said too.
    other = step(run(tmp_path, rows("gpt-4o")), "s")
    assert other.recommendation.action == "downgrade"
    assert "log more runs" in other.recommendation.reasons[-1]


def test_a_filter_warns_only_of_the_chosen_workflows_unknown_models(tmp_path: Path) -> None:
    rows = [
        record(workflow="kept", run_id=f"k{i}", model="gpt-4o", input_tokens=10, output_tokens=2)
        for i in range(3)
    ] + [
        record(workflow="other", run_id=f"o{i}", model="no-such-model", input_tokens=10)
        for i in range(3)
    ]
    assert any("no-such-model" in w for w in run(tmp_path, rows).warnings)
    chosen = run(tmp_path, rows, workflows=["kept"])
    assert [w.workflow for w in chosen.workflows] == ["kept"]
    assert chosen.warnings == []
    assert chosen.workflows[0].cost_usd > 0
