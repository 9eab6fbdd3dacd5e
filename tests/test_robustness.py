"""Input that used to stop a run: each is now one line and exit 3, or counted skipped records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from solidify.assess.ingest import read_logs
from solidify.cli import cli
from solidify.reports.jsonout import dumps
from tests.conftest import record, write_jsonl


def test_numpy_values_and_full_precision_reach_json() -> None:
    text = dumps({"cost": np.float64(0.0000103), "n": np.int64(3), "ok": np.bool_(True),
                  "nan": np.float64("nan"), "list": np.array([1.5, 2.0])})  # fmt: skip
    assert json.loads(text) == {"cost": 0.0000103, "n": 3, "ok": True, "nan": None,
                                "list": [1.5, 2.0]}  # fmt: skip


def test_assess_json_keeps_costs_below_a_hundred_thousandth(tmp_path: Path, runner) -> None:
    log = write_jsonl(tmp_path / "tiny.jsonl", [
        record(run_id=f"r{i}", step="calc", kind="llm", model="gpt-4o", cost_usd=0.0000103,
               input={"amount": float(i)}, output=i - 2.5)
        for i in range(8)
    ])  # fmt: skip
    result = runner.invoke(cli, ["assess", str(log), "--format", "json"])
    assert result.exit_code == 0, result.output
    step = json.loads(result.stdout)["workflows"][0]["steps"][0]
    assert abs(step["cost_usd"] - 8 * 0.0000103) < 1e-15  # rounded to 1e-6, it was 0.000082


def test_a_program_with_numpy_constants_reaches_json(tmp_path: Path, runner) -> None:
    # An arithmetic step (amount - 2.5): its program's constant was numpy.float64.
    log = write_jsonl(tmp_path / "pay.jsonl", [
        record(run_id=f"r{i}", step="net", model="gpt-4o", input={"amount": 7 * i + 0.5},
               output=7 * i - 2.0)
        for i in range(40)
    ])  # fmt: skip
    result = runner.invoke(cli, ["assess", str(log), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    [step] = json.loads(result.stdout)["workflows"][0]["steps"]
    assert "-2.5" in json.dumps(step["synthesis"]["program"])


def test_claude_code_line_of_another_shape_is_one_skipped_record(tmp_path: Path) -> None:
    lines = [
        {"type": "assistant", "sessionId": "s1", "uuid": "u1", "timestamp": "2025-01-01T00:00:00Z",
         "message": {"id": "m1", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 3,
                     "output_tokens": 4}, "content": [{"type": "text", "text": "hi"}]}},
        {"type": "assistant", "sessionId": "s1", "uuid": "u2", "message": "error"},
        {"type": "user", "sessionId": "s1", "uuid": "u3", "message": {"content": "ok"}},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "session.jsonl", lines)
    result = read_logs([str(path)])
    assert len(result.frame()) == 1
    assert result.problems.count == 1
    problem = str(result.problems.first[0])
    assert problem.startswith(f"{path}:") and "message: expected an object" in problem


def test_a_cut_line_in_a_trace_file_is_one_skipped_record(tmp_path: Path) -> None:
    line = {"type": "assistant", "sessionId": "s1", "uuid": "u1",
            "message": {"id": "m1", "model": "claude-sonnet-4-5", "content": "x"}}  # fmt: skip
    path = tmp_path / "session.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps(line)[:30] + "\n", encoding="utf-8")
    result = read_logs([str(path)])
    assert len(result.frame()) == 1 and result.problems.count == 1
    assert "line 2: not valid JSON" in str(result.problems.first[0])


def test_csv_without_run_id_is_one_error_naming_the_column(tmp_path: Path, runner) -> None:
    path = tmp_path / "log.csv"
    path.write_text("workflow,step,output\nw,s,1\n", encoding="utf-8")
    result = runner.invoke(cli, ["assess", str(path)])
    assert result.exit_code == 3
    assert "run_id" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_parquet_without_step_is_one_error_naming_the_column(tmp_path: Path, runner) -> None:
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"workflow": ["w"], "run_id": ["r"], "output": ["1"]}), path)
    result = runner.invoke(cli, ["migrate", str(path), "--out", str(tmp_path / "pkg")])
    assert result.exit_code == 3
    assert "'step' column" in result.stderr
    assert not (tmp_path / "pkg").exists()


def test_a_run_where_every_record_was_rejected_exits_3(tmp_path: Path, runner) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [record(kind="bogus"), record(status="maybe")])
    result = runner.invoke(cli, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 3
    assert "every record was rejected (2)" in result.stderr
    assert result.stdout == ""


def test_folders_are_scanned_only_for_logs(tmp_path: Path, runner) -> None:
    write_jsonl(tmp_path / "runs.jsonl", [record(output=1)])
    (tmp_path / "config.yaml").write_text("retries: 3\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a log\n", encoding="utf-8")
    flow = "id: f\nnamespace: n\ntasks:\n  - id: ask\n    type: io.kestra.plugin.openai.Chat\n"
    (tmp_path / "flow.yml").write_text(flow, encoding="utf-8")
    result = read_logs([str(tmp_path)])
    assert sorted(Path(f).name for f in result.files) == ["flow.yml", "runs.jsonl"]
    # Named on its own, a YAML file that is no flow is still refused in one line.
    refused = runner.invoke(cli, ["assess", str(tmp_path / "config.yaml")])
    assert refused.exit_code == 3 and "not a Kestra flow" in refused.stderr
