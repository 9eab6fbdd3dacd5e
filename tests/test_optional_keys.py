"""Objects whose keys vary: each key is found with the condition under which it is
written, and the Python written for it builds the dict the way a person would."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from solidify.assess.synthesis.engine import synthesize
from solidify.assess.synthesis.objects import Has, OptionalObject, When, learn_presence
from solidify.assess.synthesis.program import Cond, Get, Object
from solidify.cli import cli
from tests.conftest import record, write_jsonl
from tests.test_migrate import run_pytest
from tests.test_program_agreement import compile_program


def pairs(make, n: int = 400, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = [make(rng, i) for i in range(n)]
    return [(json.dumps(x), json.dumps(y)) for x, y in rows]


def _optional_of(program) -> dict[str, Has | None]:
    assert isinstance(program, OptionalObject), program
    return {name: test for name, _, test in program.optional}


def test_a_key_written_when_the_input_has_a_field() -> None:
    def make(rng, i):
        x = {"id": i} | ({"phone": f"+49 {rng.randint(1000, 9999)}"} if rng.random() < 0.3 else {})
        return x, {"ref": i} | ({"tel": x["phone"]} if "phone" in x else {})

    found = synthesize(pairs(make))
    assert found.heldout_coverage == 1.0
    assert _optional_of(found.program) == {"tel": Has(Get(()), "phone")}
    body = compile_program(found.program)[1]
    assert 'if "phone" in data:\n        out["tel"] = data["phone"]' in body


def test_a_field_sometimes_missing_and_sometimes_null_is_tested_with_get() -> None:
    def make(rng, i):
        x = {"id": i}
        roll = rng.random()
        if roll < 0.3:
            x["vat_id"] = f"DE{rng.randint(10**8, 10**9)}"
        elif roll < 0.6:
            x["vat_id"] = None
        return x, {"id": i} | ({"vat": x["vat_id"]} if x.get("vat_id") is not None else {})

    found = synthesize(pairs(make))
    assert found.heldout_coverage == 1.0
    assert _optional_of(found.program) == {"vat": Has(Get(()), "vat_id", given=True)}
    assert 'if data.get("vat_id") is not None:' in compile_program(found.program)[1]


def test_a_key_written_under_a_condition_on_the_input() -> None:
    def make(rng, i):
        tier = rng.choice(["free", "pro", "team"])
        return {"n": i, "tier": tier}, {"n": i} | ({"sla": "24h"} if tier == "pro" else {})

    found = synthesize(pairs(make))
    assert found.heldout_coverage == 1.0
    (test,) = _optional_of(found.program).values()
    assert isinstance(test, When) and test.cond == Cond("equals", Get(("tier",)), '"pro"')
    assert (
        'if data["tier"] == "pro":\n        out["sla"] = "24h"' in compile_program(found.program)[1]
    )


def test_the_same_keys_every_time_stay_a_plain_object() -> None:
    found = synthesize(pairs(lambda rng, i: ({"a": i, "b": "x"}, {"n": i, "b": "x"})))
    assert isinstance(found.program, Object)


def test_a_key_seen_once_is_not_written() -> None:
    def make(rng, i):
        return {"a": i}, {"n": i} | ({"odd": True} if i == 7 else {})

    found = synthesize(pairs(make))
    assert isinstance(found.program, Object) and found.heldout_coverage >= 0.99


def test_keys_that_are_data_are_not_taken_for_optional_fields() -> None:
    # an object keyed by ids: hundreds of distinct keys, none of them a field
    found = synthesize(pairs(lambda rng, i: ({"id": f"k{i}", "v": i}, {f"k{i}": i})))
    assert not isinstance(found.program, OptionalObject)


def test_presence_is_read_off_the_examples() -> None:
    xs = [{"a": 1, "b": None}, {"a": 2}, {"a": 3, "b": 4}, {"a": None, "b": 5}]
    # written when the input has b: 3 of 4 right with `in`, 4 of 4 once null counts as absent
    present = [False, False, True, True]
    assert learn_presence(xs, present, Get(("b",)), [()]) == (Has(Get(()), "b", True), 4)
    # written when the value (a) is not null: no field of the input tells it better
    present = [True, True, True, False]
    assert learn_presence(xs, present, Get(("a",)), [()]) == (None, 4)


def test_optional_keys_inside_the_items_of_a_list() -> None:
    def make(rng, i):
        items = [{"sku": f"s{rng.randint(1, 99)}"} | ({"gift": True} if rng.random() < 0.3 else {})
                 for _ in range(rng.randint(1, 3))]  # fmt: skip
        out = [{"code": it["sku"].upper()} | ({"gift": True} if "gift" in it else {})
               for it in items]  # fmt: skip
        return {"items": items}, out

    found = synthesize(pairs(make))
    assert found.heldout_coverage == 1.0 and found.strategy == "list-map"
    assert "**({" in compile_program(found.program)[1]  # one expression inside the list


@pytest.mark.slow
def test_migrate_writes_optional_keys_and_its_tests_pass(tmp_path: Path, runner) -> None:
    rng = random.Random(4)
    rows = []
    for n in range(200):
        x = {"order": f"A{n}", "total": n * 3}
        if rng.random() < 0.4:
            x["coupon"] = rng.choice(["SPRING", "VIP"])
        y = {"id": x["order"], "amount": x["total"]}
        if "coupon" in x:
            y["code"] = x["coupon"]
        rows.append(record(run_id=f"r{n}", step="normalise order", model="gpt-4o-mini",
                           input_tokens=30, output_tokens=20, input=x, output=y))  # fmt: skip
    log = write_jsonl(tmp_path / "log.jsonl", rows)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["migrate", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    source = (out / "wf.py").read_text()
    assert 'if "coupon" in data:' in source
    assert run_pytest(out).returncode == 0
    assert runner.invoke(cli, ["verify", str(out), str(log)]).exit_code == 0
