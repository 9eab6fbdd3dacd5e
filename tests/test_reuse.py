"""A program kept by `assess --record` is re-checked first by the next assessment, and
reused only when it still holds on the new sample."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import orjson
import pytest

from solidify.assess import kept
from solidify.assess.synthesis import stored
from solidify.assess.synthesis.engine import fit_and_measure, split
from solidify.assess.synthesis.program import Arith, Const, Get, Round
from solidify.assess.synthesis.reuse import Kept, input_shape
from solidify.cli import cli
from tests.conftest import write_jsonl


def pairs(rate: float, n: int = 300) -> list[tuple[str, str]]:
    rows = []
    for i in range(n):
        net = round(10 + i * 1.37, 2)
        rows.append((orjson.dumps({"net": net, "note": f"n{i}"}).decode(),
                     orjson.dumps(round(net * rate, 2)).decode()))  # fmt: skip
    return rows


VAT = Round(Arith("*", Get(("net",)), Const(1.19)), 2)
SHAPE = "object{net:number,note:string}"


def test_input_shape_is_the_type_and_the_keys_most_inputs_have() -> None:
    assert input_shape([{"b": 1, "a": "x"}, {"a": "y", "b": 2.5, "rare": None}]) == (
        "object{a:string,b:number}"
    )
    assert input_shape(["x", "y", 3]) == "string"
    assert input_shape([]) == "nothing"


def test_a_kept_program_that_holds_is_reused_without_a_search() -> None:
    train, held = split(pairs(1.19))
    found = Kept(VAT, SHAPE, 1.0, 1.0, "2026-11-01T00:00:00Z")
    result = fit_and_measure(train, held, known=[found])
    assert result.reused and result.found_at == "2026-11-01T00:00:00Z"
    assert result.program == VAT and result.heldout_coverage == 1.0
    assert result.to_dict()["reused"] is True
    fresh = fit_and_measure(train, held)
    assert not fresh.reused and fresh.found_at is None and fresh.input_shape == SHAPE
    assert fresh.heldout_coverage == 1.0
    # what the history keeps of each: found now, or when it was first found
    assert fresh.keepable()[0].found_at is None
    assert result.keepable()[0].found_at == "2026-11-01T00:00:00Z"


def test_a_kept_program_that_no_longer_holds_leads_to_a_full_search() -> None:
    train, held = split(pairs(1.21))  # the rate changed
    result = fit_and_measure(train, held, known=[Kept(VAT, SHAPE, 1.0, 1.0, "2026-11-01")])
    assert not result.reused and result.found_at is None
    assert result.heldout_coverage == 1.0 and "1.21" in result.description


def test_a_kept_program_for_other_inputs_is_not_tried() -> None:
    train, held = split(pairs(1.19))
    other = Kept(VAT, "object{net:number}", 1.0, 1.0, "2026-11-01")
    assert not fit_and_measure(train, held, known=[other]).reused


def test_a_kept_program_must_do_as_well_as_when_it_was_found() -> None:
    # Half of the outputs now use another rate: kept at 100 %, the program is far below.
    rows = pairs(1.19)[:150] + pairs(1.5)[150:]
    train, held = split(rows)
    assert not fit_and_measure(train, held, known=[Kept(VAT, SHAPE, 1.0, 1.0)]).reused
    assert not Kept(VAT, SHAPE, 1.0, 1.0).holds(0.999, 0.97)
    assert Kept(VAT, SHAPE, 0.97, 0.97).holds(0.97, 0.965)
    assert not Kept(VAT, SHAPE, 0.9, 0.9).holds(0.94, 1.0)


# ------------------------------------------------------------------ the database


def test_no_database_an_old_one_or_not_a_database_keeps_nothing(tmp_path: Path) -> None:
    assert kept.load(tmp_path / "missing.db") == {}
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE snapshots (id INTEGER)")
    assert kept.load(old) == {}
    junk = tmp_path / "junk.db"
    junk.write_text("not a database", encoding="utf-8")
    assert kept.load(junk) == {}


def _log(tmp_path: Path, rate: float, name: str = "log.jsonl") -> str:
    records = []
    for run, (i, o) in enumerate(pairs(rate, 200)):
        records.append({"workflow": "billing", "run_id": f"r{run}", "step": "vat",
                        "model": "claude-haiku-4-5", "input": json.loads(i),
                        "output": json.loads(o)})  # fmt: skip
    return str(write_jsonl(tmp_path / name, records))


def _vat(runner, args: list[str], env: dict[str, str]) -> dict:
    result = runner.invoke(cli, ["assess", *args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.stderr
    step = json.loads(result.stdout)["workflows"][0]["steps"][0]
    return step["synthesis"]


@pytest.mark.slow  # end to end
def test_record_then_assess_again_reuses_the_program(tmp_path: Path, runner) -> None:
    env = {"SOLIDIFY_HOME": str(tmp_path / "home")}
    log = _log(tmp_path, 1.19)
    first = _vat(runner, [log, "--record"], env)
    assert not first["reused"]
    with sqlite3.connect(tmp_path / "home" / "history.db") as conn:
        (shape, text, found_at), = conn.execute(
            "SELECT input_shape, program, found_at FROM programs").fetchall()  # fmt: skip
    assert shape == SHAPE and stored.loads(text) == VAT
    again = _vat(runner, [log, "--record"], env)
    assert again["reused"] and again["found_at"] == found_at
    assert again["program"] == first["program"] and again["coverage"] == first["coverage"]
    # found_at stays that of the find; the text report says it in a few words
    with sqlite3.connect(tmp_path / "home" / "history.db") as conn:
        assert conn.execute("SELECT found_at FROM programs").fetchall() == [(found_at,)]
    text = runner.invoke(cli, ["assess", log], env=env)
    assert "1 step(s) reuse the program kept in the history" in text.stdout
    assert not _vat(runner, [log, "--fresh"], env)["reused"]
    # the step changed: the kept program does not hold, the search finds the new one
    changed = _vat(runner, [_log(tmp_path, 1.21, "new.jsonl")], env)
    assert not changed["reused"] and changed["coverage"] == 1.0
    assert "1.21" in changed["description"]


def test_reuse_reads_the_named_database_only(tmp_path: Path, runner) -> None:
    env = {"SOLIDIFY_HOME": str(tmp_path / "home")}
    log = _log(tmp_path, 1.19)
    db = str(tmp_path / "elsewhere.db")
    _vat(runner, [log, "--record", "--db", db], env)
    assert not _vat(runner, [log], env)["reused"]
    assert _vat(runner, [log, "--db", db], env)["reused"]


@pytest.mark.parametrize("program", ["{}", '{"format": 1, "program": {"node": "Nope"}}'])
def test_a_stored_program_that_does_not_read_back_is_skipped(tmp_path: Path, runner,
                                                              program: str) -> None:  # fmt: skip
    env = {"SOLIDIFY_HOME": str(tmp_path / "home")}
    log = _log(tmp_path, 1.19)
    _vat(runner, [log, "--record"], env)
    db = tmp_path / "home" / "history.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE programs SET program = ?", (program,))
    assert kept.load(db) == {}
    assert not _vat(runner, [log], env)["reused"]


def test_a_prompt_form_step_keeps_and_reuses_its_program_on_the_slots() -> None:
    from solidify.assess.prompts.fit import PromptSynthesis, fit
    from tests.test_prompts import step_pairs

    train, held = split(step_pairs(200))
    first = fit(train, held)
    assert isinstance(first, PromptSynthesis) and not first.reused
    (kept_program,) = first.keepable()
    # the shape is the slots', not the chat messages'
    assert kept_program.input_shape == "object{quantity:number,unit_price:number}"
    train, held = split(step_pairs(200, seed=2))  # next week's executions
    again = fit(train, held, known=[kept_program])
    assert again.reused and again.heldout_coverage == 1.0
    assert again.to_dict()["prompt"]["versions"][0]["reused"] is True
    assert again.program == first.program
