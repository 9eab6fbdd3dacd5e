"""The chat-form sample (order-desk): logged as an SDK with a tracer logs it, assessed and
migrated like the tidy samples."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from solidify.cli import cli
from tests.conftest import SAMPLES

ORDER_DESK = SAMPLES / "order-desk.jsonl.gz"
MECHANICAL = ["extract_po_number", "route_region", "parse_packing_list", "line_total",
              "is_priority", "format_delivery_date", "vendor_summary",
              "confirmation_line"]  # fmt: skip
JUDGMENT = ["assess_risk", "reply_to_customer"]


@pytest.fixture(scope="module")
def steps() -> dict[str, dict]:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["assess", str(ORDER_DESK), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (workflow,) = json.loads(result.stdout)["workflows"]
    return {s["step"]: s for s in workflow["steps"]}


@pytest.mark.parametrize("name", MECHANICAL)
def test_every_mechanical_step_is_replaced(steps: dict[str, dict], name: str) -> None:
    s = steps[name]
    assert s["recommendation"] == "replace", s["reasons"]
    assert s["replacement"]["coverage"] >= 0.95
    assert s["synthesis"]["prompt"]["versions"][0]["slots"], "searched on the prompt's slots"


@pytest.mark.parametrize("name", JUDGMENT)
def test_judgment_steps_are_not_replaced(steps: dict[str, dict], name: str) -> None:
    assert steps[name]["recommendation"] != "replace"


def test_a_step_with_two_prompt_versions_is_reported_per_version(steps: dict[str, dict]) -> None:
    synthesis = steps["route_region"]["synthesis"]
    versions = synthesis["prompt"]["versions"]
    assert len(versions) == 2
    assert all(v["coverage"] >= 0.95 and v["heldout_examples"] > 0 for v in versions)
    assert {s["name"] for v in versions for s in v["slots"]} == {
        "country",
        "shipping_country_iso_code",
    }
    assert "2 prompt versions" in synthesis["note"]


def test_a_free_text_prompt_says_no_slots_were_found(steps: dict[str, dict]) -> None:
    assert "no slots found" in steps["assess_risk"]["synthesis"]["note"]


def test_answer_formats_are_learned(steps: dict[str, dict]) -> None:
    def fmt(step: str) -> dict:
        return steps[step]["synthesis"]["prompt"]["versions"][0]["output_format"]

    assert fmt("extract_po_number")["null"] == "NONE"
    (line_total,) = steps["line_total"]["synthesis"]["prompt"]["versions"]
    assert line_total["slots"][1] == {"name": "unit_price", "type": "decimal", "precision": 2,
                                      "unit": "EUR"}  # fmt: skip
    assert fmt("line_total") == {"wrap": "none", "body": "number", "decimals": 2,
                                 "thousands": True}  # fmt: skip
    assert fmt("is_priority")["words"] == ["yes", "no"]
    assert fmt("vendor_summary")["fence"] == "```json" and fmt("vendor_summary")["indent"] == 2
    packing = fmt("parse_packing_list")
    assert (packing["wrap"], packing["path"]) == ("path", ["content", 0, "text"])


@pytest.mark.slow
def test_migrate_writes_slot_functions_and_adapters_that_verify(tmp_path: Path, runner) -> None:
    out = tmp_path / "generated"
    result = runner.invoke(cli, ["migrate", str(ORDER_DESK), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    source = (out / "order_desk.py").read_text()
    assert "def line_total(quantity: int, unit_price: float) -> float:" in source
    assert "Quantity: {quantity}" in source  # the template, in the docstring
    assert re.search(r'"line_total": lambda data: line_total_from_messages\(data\)', source)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=out, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    checked = runner.invoke(cli, ["verify", str(out), str(ORDER_DESK), "--format", "json"])
    assert checked.exit_code == 0, checked.stderr
    report = json.loads(checked.stdout)
    written = {s["step"]: s for s in report["steps"] if not s["stub"]}
    assert set(MECHANICAL) <= set(written)
    assert all(written[name]["agreement"] >= 0.95 for name in MECHANICAL)


@pytest.mark.slow
def test_hostile_prompts_give_safe_working_adapters(tmp_path: Path, runner) -> None:
    """Prompt text reaches the generated code only as escaped literals, slot names become
    safe parameters (`class` is a keyword), and the adapter still answers as logged."""
    system = 'Say """hi""" \\ {x} \u202e\u200b ${{ }} \'\'\' # not code\r\nEnd.'
    records = []
    for n in range(80):
        user = f"Class: {n % 7}\nFrom: {['a', 'b', 'c'][n % 3]}\n\nDouble the class."
        records.append({"workflow": "evil\"wf", "run_id": f"r{n}", "step": "dou'ble",
                        "kind": "llm", "model": "gpt-4o-mini",
                        "input": [{"role": "system", "content": system},
                                  {"role": "user", "content": user}],
                        "output": f"{2 * (n % 7)}"})  # fmt: skip
    log = tmp_path / "evil.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "generated"
    result = runner.invoke(cli, ["migrate", str(log), "--out", str(out), "--step", "*"])
    assert result.exit_code == 0, result.stderr
    (module,) = [p for p in out.glob("*.py") if p.name not in ("__init__.py", "_shadow.py")]
    source = module.read_text()
    assert "\u202e" not in source and "\u200b" not in source  # escaped, never raw
    assert re.search(r"def dou_ble\(class_: int, from_: str\)", source), source[-3000:]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=out, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]


def test_a_prompt_version_without_a_program_is_left_to_the_model(tmp_path: Path, runner) -> None:
    records = []
    for n in range(200):
        old = n < 194  # the new wording has only a few executions so far
        user = f"Country: {n % 13}" if old else f"Shipping country code: {n % 13}"
        records.append({"workflow": "desk", "run_id": f"r{n}", "step": "route", "kind": "llm",
                        "model": "gpt-4o-mini", "prompt_name": "route",
                        "prompt_version": 1 if old else 2,
                        "input": [{"role": "user", "content": user}],
                        "output": "EMEA" if n % 13 < 7 else "APAC"})  # fmt: skip
    log = tmp_path / "desk.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    data = json.loads(runner.invoke(cli, ["assess", str(log), "--format", "json"]).stdout)
    (step,) = [s for s in data["workflows"][0]["steps"] if s["step"] == "route"]
    versions = step["synthesis"]["prompt"]["versions"]
    assert [v["program"] is None for v in versions] == [False, True]
    out = tmp_path / "generated"
    assert runner.invoke(cli, ["migrate", str(log), "--out", str(out)]).exit_code == 0
    assert (
        'raise LookupError("route: no program for prompt version 2' in (out / "desk.py").read_text()
    )
    checked = json.loads(
        runner.invoke(cli, ["verify", str(out), str(log), "--format", "json"]).stdout
    )
    (route,) = checked["steps"]
    assert not route["stub"] and route["errors"] == 6 and route["agreed"] == 194


def test_tidy_inputs_with_fenced_json_answers(tmp_path: Path, runner) -> None:
    records = [{"workflow": "wf", "run_id": f"r{n}", "step": "to_json", "kind": "llm",
                "model": "gpt-4o-mini", "input": {"sku": f"X{n}", "qty": n % 9},
                "output": "```json\n" + json.dumps({"item": f"X{n}", "count": n % 9}, indent=2)
                + "\n```"} for n in range(80)]  # fmt: skip
    log = tmp_path / "wf.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    data = json.loads(runner.invoke(cli, ["assess", str(log), "--format", "json"]).stdout)
    (step,) = data["workflows"][0]["steps"]
    assert step["recommendation"] == "replace" and step["replacement"]["strategy"] == "object"
    out = tmp_path / "generated"
    assert runner.invoke(cli, ["migrate", str(log), "--out", str(out)]).exit_code == 0
    checked = json.loads(
        runner.invoke(cli, ["verify", str(out), str(log), "--format", "json"]).stdout
    )
    assert [(s["step"], s["agreement"]) for s in checked["steps"]] == [("to_json", 1.0)]
