"""Programs stored in the history read back as the very same trees (every node type)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from solidify.assess.synthesis import stored
from solidify.assess.synthesis.program import REGISTRY, Const, Get, Object, apply
from solidify.assess.synthesis.search import output_key
from tests.test_program_agreement import SETTINGS, all_programs, inputs


def test_every_node_type_has_a_round_trip_strategy() -> None:
    assert set(REGISTRY) == set(all_programs())


@pytest.mark.parametrize("kind", sorted(all_programs(), key=lambda t: t.__name__),
                         ids=lambda t: t.__name__)  # fmt: skip
def test_stored_program_reads_back_as_the_same_tree(kind: type) -> None:
    @SETTINGS
    @given(node=all_programs()[kind], x=inputs)
    def check(node, x) -> None:
        back = stored.loads(stored.dumps(node))
        assert back == node
        assert type(back) is type(node)
        ok, got = apply(node, x)
        ok_back, got_back = apply(back, x)
        assert ok_back == ok
        if ok:
            assert output_key(got_back) == output_key(got)

    check()


def test_records_in_a_union_read_back_as_their_own_class() -> None:
    from solidify.assess.synthesis.objects import Has, OptionalObject, When
    from solidify.assess.synthesis.program import Cond

    node = OptionalObject((), (("a", Get(("x",)), Has(Get(()), "x", True)),
                               ("b", Get(("y",)), When(Cond("at_least", Get(("y",)), 3))),
                               ("c", Get(("z",)), None)))  # fmt: skip
    assert stored.loads(stored.dumps(node)) == node


def test_a_constant_that_looks_like_a_node_stays_a_value() -> None:
    node = Object((("a", Const({"node": "Get", "path": ["x"]})), ("b", Get(("x", 0)))))
    back = stored.loads(stored.dumps(node))
    assert back == node
    assert apply(back, {"x": [7]}) == (True, {"a": {"node": "Get", "path": ["x"]}, "b": 7})


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"format": stored.FORMAT + 1, "program": {"node": "Get", "path": []}}),
        json.dumps({"format": stored.FORMAT, "program": {"node": "Eval", "code": "1"}}),
        json.dumps({"format": stored.FORMAT, "program": {"node": "Get"}}),
        json.dumps({"format": stored.FORMAT, "program": {"node": "Object", "fields": [["a"]]}}),
        json.dumps([1, 2]),
    ],
)
def test_what_is_not_a_stored_program_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        stored.loads(text)
