"""The shadow-mode wrapper shipped in generated packages."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from solidify.assess.ingest import read_logs

SHADOW = Path(__file__).resolve().parent.parent / "solidify" / "migrate" / "templates" / "shadow.py"


@pytest.fixture
def shadow():
    spec = importlib.util.spec_from_file_location("generated_shadow", SHADOW)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code(data):
    if data["n"] == 3:
        raise KeyError("no rule for 3")
    return data["n"] * 2


def ai(data):
    return 99 if data["n"] == 2 else data["n"] * 2


def test_shadow_mode_answers_with_the_model_and_logs_disagreements(shadow, tmp_path) -> None:
    log = tmp_path / "shadow.jsonl"
    step = shadow.Shadow(code, ai, workflow="wf", step="double", log=log)
    assert [step({"n": n}) for n in range(5)] == [0, 2, 99, 6, 8]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["input"]["n"], r["status"]) for r in records] == [(2, "ok"), (3, "error")]
    assert records[0]["ai_output"] == 99 and records[0]["output"] == 4
    # The log is a canonical solidify log.
    table = read_logs([str(log)]).frame()
    assert list(table["step"]) == ["double", "double"]
    assert list(table["status"]) == ["ok", "error"]


def test_code_first_falls_back_to_the_model(shadow, tmp_path) -> None:
    log = tmp_path / "shadow.jsonl"
    step = shadow.Shadow(code, ai, workflow="wf", step="double", log=log, mode="code_first")
    assert step({"n": 2}) == 4  # the code answers
    assert step({"n": 3}) == 6  # the model answers where the code cannot
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["fell_back"] is True and "KeyError" in record["error"]


def test_code_only_raises(shadow, tmp_path) -> None:
    step = shadow.Shadow(code, workflow="wf", step="double", log=tmp_path / "x", mode="code_only")
    assert step({"n": 1}) == 2
    with pytest.raises(KeyError):
        step({"n": 3})
    with pytest.raises(ValueError):
        shadow.Shadow(code, workflow="wf", step="s", mode="shadow")


def test_code_only_hands_what_a_routed_step_leaves_to_the_model(shadow, tmp_path) -> None:
    log = tmp_path / "x"
    step = shadow.Shadow(code, ai, workflow="wf", step="double", log=log, mode="code_only")
    assert step({"n": 2}) == 4  # the code answers
    assert step({"n": 3}) == 6  # KeyError is a LookupError: the model answers
    assert not log.exists()

    def broken(data):
        raise ValueError("a bug, not a hand-back")

    with pytest.raises(ValueError):
        shadow.Shadow(broken, ai, workflow="wf", step="s", log=log, mode="code_only")({"n": 1})
