"""The interpreter and the rendered Python are the same program, node type by node type.

For every registered node type, hypothesis draws programs and inputs whose values are
of every JSON kind (integers beyond 2**53, floats, booleans, None, numeric text) and
checks that the Python `migrate` writes answers exactly what `run` answers, and raises
exactly where `run` does not apply. Inputs carry every field a program reads (the
generated function's signature names them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess.canonical import canonical_json
from solidify.assess.synthesis import equality
from solidify.assess.synthesis.program import (
    _CONVERT,
    REGISTRY,
    Arith,
    Concat,
    Cond,
    Const,
    Convert,
    Extract,
    ExtractAll,
    Get,
    Lookup,
    MapList,
    Object,
    Pair,
    Round,
    Rules,
    Token,
    apply,
)
from solidify.assess.synthesis.search import output_key
from solidify.migrate.render import HELPERS, Access, Module, Renderer

SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

# ------------------------------------------------------------------ values and inputs

numeric_text = st.sampled_from(["1", "1.0", "12", "1,234.50", "$1,234.50", "-3", "2e3", "x1"])
scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, 1.0, -2.5, 2.0**60, 1e16]),
    st.booleans(),
    st.none(),
    st.text("ab 1,.-", max_size=8),
    numeric_text,
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))
texts = st.one_of(
    st.text("abAB cd-_.,@12", max_size=16), st.sampled_from(["Ada Lovelace", "INV-42 x"])
)
records = st.fixed_dictionaries({"k": scalars, "v": scalars})
inputs = st.fixed_dictionaries(
    {
        "a": values,
        "b": values,
        "t": st.one_of(texts, scalars),
        "l": st.lists(scalars, max_size=3),
        "r": st.lists(st.one_of(records, scalars), max_size=3),
        "d": st.sampled_from(["2026-03-04", "04/03/2026", "March 4, 2026", "2026-02-30", "x"]),
    }
)

# ------------------------------------------------------------------ programs

gets = st.sampled_from([Get(("a",)), Get(("b",)), Get(("t",)), Get(("l", 0)), Get(("l", -1))])
consts = scalars.map(Const)
leaves = st.one_of(gets, consts)


def convert(arg) -> st.SearchStrategy:
    return st.builds(Convert, st.sampled_from(sorted(_CONVERT)), arg)


def table(key) -> st.SearchStrategy:
    rows = st.lists(st.tuples(scalars.map(lambda v: canonical_json(v) or "null"), scalars),
                    min_size=1, max_size=5)  # fmt: skip
    return st.builds(Lookup, key, rows.map(tuple))


def pair_table() -> st.SearchStrategy:
    key_text = st.sampled_from(["a", "b", "1", ""])
    rows = st.lists(
        st.tuples(st.tuples(key_text, key_text).map(lambda k: json.dumps(list(k))), scalars),
        min_size=1,
        max_size=4,
    )
    return st.builds(Lookup, st.just(Pair(Get(("a",)), Get(("b",)))), rows.map(tuple))


conds = st.one_of(
    st.builds(Cond, st.just("equals"), gets,
              st.sampled_from(["1", '"1"', "1.0", "true", "false", "null", '"x"', "[1]"])),
    st.builds(Cond, st.just("has_word"), gets, st.sampled_from(["ab", "1", "cd"])),
    st.builds(Cond, st.sampled_from(["at_least", "below"]), gets,
              st.sampled_from([0, 1, 2.5, -3, 2**60])),
)  # fmt: skip

PROGRAMS: dict[type, st.SearchStrategy] = {
    Const: consts,
    Get: gets,
    Convert: convert(gets),
    Token: st.builds(Token, gets, st.integers(-3, 3)),
    Concat: st.lists(
        st.one_of(st.text("ab {}\"'\\-", max_size=4).map(Const), gets, convert(gets)),
        min_size=1,
        max_size=4,
    ).map(lambda parts: Concat(tuple(parts))),
    Extract: st.builds(Extract, gets, st.sampled_from([r"\d+", r"(\w)\w*", r"[A-Z]+-\d+"])),
    ExtractAll: st.builds(ExtractAll, gets, st.sampled_from([r"\d+", r"(\w)\w*"])),
    Pair: st.builds(Pair, leaves, leaves),
    Lookup: st.one_of(table(gets), pair_table()),
    Arith: st.builds(Arith, st.sampled_from("+-*/"), leaves, leaves),
    Round: st.builds(
        Round,
        st.one_of(gets, st.builds(Arith, st.sampled_from("*/"), gets, consts)),
        st.integers(0, 3),
    ),
    Object: st.lists(
        st.tuples(st.sampled_from(["x", "y z", 'q"']), st.one_of(leaves, convert(gets))),
        min_size=1,
        max_size=3,
    ).map(lambda f: Object(tuple(dict(f).items()))),
    MapList: st.builds(
        MapList, st.just(Get(("l",))), st.one_of(st.just(Get(())), convert(st.just(Get(()))))
    ),
    Rules: st.builds(
        Rules, st.lists(st.tuples(conds, scalars), min_size=1, max_size=3).map(tuple), scalars
    ),
}


item_programs = st.one_of(
    st.just(Get(())), st.sampled_from([Get(("k",)), Get(("v",))]), convert(st.just(Get(())))
)
lists_of_records = st.just(Get(("r",)))


def extra_programs() -> dict[type, st.SearchStrategy]:
    """Strategies for the node types of ops.py."""
    from solidify.assess.synthesis import objects, ops

    return {
        ops.Format: st.builds(
            ops.Format, leaves, st.sampled_from([*ops.NUMBER_SPECS, *ops.PAD_SPECS, "s"])
        ),
        ops.Slice: st.builds(
            ops.Slice, gets, st.one_of(st.none(), st.integers(-4, 4)),
            st.one_of(st.none(), st.integers(-4, 4)),
        ),
        ops.Truncate: st.builds(
            ops.Truncate, gets, st.integers(1, 8), st.sampled_from(["…", "...", ""])
        ),
        ops.MinMax: st.builds(ops.MinMax, st.sampled_from(["min", "max"]), leaves, leaves),
        ops.Aggregate: st.builds(
            ops.Aggregate, st.sampled_from(["sum", "min", "max"]),
            st.sampled_from([Get(("l",)), Get(("r",))]), item_programs,
        ),
        ops.Join: st.builds(
            ops.Join, st.sampled_from([", ", "-", ""]), st.sampled_from([Get(("l",)), Get(("r",))]),
            item_programs,
        ),
        ops.FilterMap: st.builds(
            ops.FilterMap, lists_of_records, st.builds(
                Cond, st.sampled_from(["equals", "at_least"]), st.just(Get(("k",))),
                st.sampled_from(['"a"', "1", "2"]),
            ),
            item_programs,
        ),
        # JSON object keys are text: a key program gives text (or does not apply)
        ops.ToDict: st.builds(
            ops.ToDict, lists_of_records,
            st.builds(Convert, st.sampled_from(["str", "lower"]), st.just(Get(("k",)))),
            item_programs,
        ),
        ops.DateFormat: st.builds(
            ops.DateFormat, st.one_of(gets, st.just(Get(("d",)))),
            st.sampled_from(ops.PARSE_DATES[:7]),
            st.sampled_from(ops.WRITE_DATES), st.integers(-40, 40),
        ),
        ops.IfElse: st.builds(ops.IfElse, conds, leaves, st.one_of(leaves, convert(gets))),
        objects.OptionalObject: optional_objects(),
    }  # fmt: skip


def optional_objects() -> st.SearchStrategy:
    """Objects with optional keys, written at the top (statements) and nested in a field
    (one expression); presence by a field of the input or of a record, by a condition on
    the input, or by the value."""
    from solidify.assess.synthesis import objects

    presence = st.one_of(
        st.none(),
        st.builds(objects.Has, st.sampled_from([Get(()), Get(("r", 0)), Get(("t",))]),
                  st.sampled_from(["a", "k", "v", "zz", "b"]), st.booleans()),
        st.builds(objects.When, conds),
    )  # fmt: skip
    keys = st.sampled_from(["x", "y z", 'q"', "o"])
    values = st.one_of(leaves, convert(gets), st.sampled_from([Get(("r", 0, "k")), Get(("zz",))]))

    def build(inner: st.SearchStrategy) -> st.SearchStrategy:
        return st.builds(
            objects.OptionalObject,
            st.lists(st.tuples(keys, st.one_of(values, inner)), max_size=2).map(
                lambda f: tuple(dict(f).items())
            ),
            st.lists(st.tuples(keys, st.one_of(values, inner), presence), min_size=1,
                     max_size=3).map(lambda f: tuple({k: (k, v, p) for k, v, p in f}.values())),
        )  # fmt: skip

    return build(build(st.nothing()))


def all_programs() -> dict[type, st.SearchStrategy]:
    return {**PROGRAMS, **extra_programs()}


# ------------------------------------------------------------------ the rendered function


def compile_program(node) -> Any:
    """The function migrate would write for this program, compiled."""
    module = Module()
    renderer = Renderer(module, Access({}), "step")
    body = renderer.body(node)
    lines = ["from __future__ import annotations"]
    lines += [f"import {name}" for name in sorted(module.imports)]
    lines += ["from typing import Any", ""]
    lines += [f"{name} = {source}" for name, source in module.constants]
    lines += [HELPERS[name][0] + "\n" for name in sorted(module.helpers)]
    lines += ["def solve(data):"] + ["    " + line for line in body]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<generated>", "exec"), namespace)
    return namespace["solve"], "\n".join(lines)


def agree(node, x) -> None:
    ok, expected = apply(node, x)
    solve, source = compile_program(node)
    try:
        got, raised = solve(json.loads(json.dumps(x))), None
    except Exception as error:  # the rendered code may raise anything where run does not apply
        got, raised = None, error
    if ok:
        assert raised is None, (source, x, expected, raised)
        assert output_key(got) == output_key(expected), (source, x, got, expected)
        assert type(got) is type(expected) or (got is None and expected is None), (source, x)
    else:
        assert raised is not None, (source, x, got)


def test_every_node_type_has_an_agreement_strategy() -> None:
    assert set(REGISTRY) == set(all_programs())


KINDS = sorted(PROGRAMS, key=lambda t: t.__name__)


@pytest.mark.parametrize("kind", KINDS, ids=lambda t: t.__name__)
def test_interpreter_and_rendered_python_agree(kind: type) -> None:
    @SETTINGS
    @given(node=PROGRAMS[kind], x=inputs)
    def check(node, x) -> None:
        agree(node, x)

    check()


@pytest.mark.slow
def test_extra_node_types_agree() -> None:
    for kind, strategy in extra_programs().items():

        @SETTINGS
        @given(node=strategy, x=inputs)
        def check(node, x) -> None:
            agree(node, x)

        try:
            check()
        except AssertionError as error:
            raise AssertionError(f"{kind.__name__}: {error}") from error


@pytest.mark.parametrize(
    ("constant", "value", "holds"),
    [("1", 1.0, True), ("1", True, False), ('"1"', 1, False), ("true", 1, False),
     ("1", 2**60, False), (str(2**60), 2.0**60, True), ("null", None, True)],
)  # fmt: skip
def test_equals_one_means_the_number_one_in_both(constant: str, value: Any, holds: bool) -> None:
    rule = Rules(((Cond("equals", Get(("a",)), constant), "yes"),), "no")
    x = {"a": value, "b": 0, "t": "", "l": [], "r": [], "d": ""}
    assert apply(rule, x) == (True, "yes" if holds else "no")
    agree(rule, x)


# ------------------------------------------------------------------ one equality everywhere


@SETTINGS
@given(a=values, b=values)
def test_output_equality_is_json_value_equality(a: Any, b: Any) -> None:
    same = equality.same_output(a, b)
    assert same == (output_key(a) == output_key(b))
    # integral floats are their integers, booleans never numbers, at any size
    if isinstance(a, float) and a.is_integer() and type(b) is int:
        assert same == (int(a) == b)
    if isinstance(a, bool) != isinstance(b, bool):
        assert not same


def test_equality_copies_in_generated_code_are_the_one_definition() -> None:
    block = equality.source().strip()
    templates = Path(equality.__file__).parents[2] / "migrate" / "templates"
    shadow = (templates / "shadow.py").read_text(encoding="utf-8")
    found = re.search(r"# --- equality: begin[^\n]*\n(.*?)# --- equality: end ---", shadow, re.S)
    assert found is not None and found.group(1).strip() == block
    from solidify.migrate import package, verify

    assert block in verify.RUNNER
    assert block in package.test_source("wf", "wf")
