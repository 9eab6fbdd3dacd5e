"""Programs drawn at random from the space generate examples; the engine must find
a program that agrees with the original on fresh inputs it never saw."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidify.assess.synthesis.engine import synthesize
from solidify.assess.synthesis.program import apply

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
field_names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)


def recovered(
    make_input: Callable[[random.Random], Any], truth: Callable[[Any], Any], seed: int
) -> float:
    """Fit on 300 generated examples; return agreement with the truth on 200 fresh inputs."""
    rng = random.Random(seed)
    train = [make_input(rng) for _ in range(300)]
    pairs = [(json.dumps(x, sort_keys=True), json.dumps(truth(x), sort_keys=True)) for x in train]
    found = synthesize(pairs)
    assert found.program is not None
    fresh = [make_input(rng) for _ in range(200)]
    agree = 0
    for x in fresh:
        ok, got = apply(found.program, x)
        agree += ok and json.dumps(got, sort_keys=True) == json.dumps(truth(x), sort_keys=True)
    return agree / len(fresh)


def words(rng: random.Random, n: int = 2) -> str:
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 7))).title()
        for _ in range(n)
    )


@SETTINGS
@given(
    name=field_names,
    other=field_names,
    fn=st.sampled_from(["id", "lower", "upper", "first_word", "last_word"]),
    seed=st.integers(0, 10**6),
)
def test_field_with_conversion(name: str, other: str, fn: str, seed: int) -> None:
    if name == other:
        other += "x"
    convert = {
        "id": lambda v: v,
        "lower": str.lower,
        "upper": str.upper,
        "first_word": lambda v: v.split()[0],
        "last_word": lambda v: v.split()[-1],
    }[fn]
    share = recovered(
        lambda r: {name: words(r), other: r.randint(0, 10**6)}, lambda x: convert(x[name]), seed
    )
    assert share >= 0.99


literal = st.text(string.ascii_letters + " ,.:!-", min_size=0, max_size=12)


@SETTINGS
@given(
    parts=st.lists(literal, min_size=3, max_size=3),
    seed=st.integers(0, 10**6),
)
def test_templates(parts: list[str], seed: int) -> None:
    def truth(x: dict[str, str]) -> str:
        return f"{parts[0]}{x['name']}{parts[1]}{x['code']}{parts[2]}"

    def make(r: random.Random) -> dict[str, str]:
        return {"name": words(r), "code": f"K{r.randint(1000, 9999)}"}

    assert recovered(make, truth, seed) >= 0.99


@SETTINGS
@given(
    op=st.sampled_from(["+", "-", "*"]),
    digits=st.integers(0, 3),
    seed=st.integers(0, 10**6),
)
def test_arithmetic(op: str, digits: int, seed: int) -> None:
    def truth(x: dict[str, float]) -> float:
        a, b = x["a"], x["b"]
        value = a + b if op == "+" else a - b if op == "-" else a * b
        return round(value, digits) if digits else round(value)

    def make(r: random.Random) -> dict[str, float]:
        return {"a": round(r.uniform(1, 1000), 2), "b": round(r.uniform(1, 50), 2)}

    assert recovered(make, truth, seed) >= 0.98


@SETTINGS
@given(
    domain=st.integers(2, 8),
    labels=st.lists(st.sampled_from(["low", "mid", "high", "x", "y"]), min_size=8, max_size=8),
    seed=st.integers(0, 10**6),
)
def test_lookup_tables(domain: int, labels: list[str], seed: int) -> None:
    keys = [f"key-{i}" for i in range(domain)]
    table = dict(zip(keys, labels, strict=False))

    def make(r: random.Random) -> dict[str, Any]:
        return {"k": r.choice(keys), "noise": r.random()}

    assert recovered(make, lambda x: table[x["k"]], seed) >= 0.99


@SETTINGS
@given(
    threshold=st.sampled_from([10, 50, 200, 1000, 2500]),
    labels=st.sampled_from([("small", "large"), ("auto", "review"), ("P3", "P1")]),
    seed=st.integers(0, 10**6),
)
def test_threshold_rules(threshold: int, labels: tuple[str, str], seed: int) -> None:
    def make(r: random.Random) -> dict[str, float]:
        return {"amount": round(r.uniform(0, threshold * 3), 2)}

    share = recovered(make, lambda x: labels[x["amount"] >= threshold], seed)
    assert share >= 0.97


@SETTINGS
@given(
    sep_in=st.sampled_from(["/", ".", "-"]),
    sep_out=st.sampled_from(["-", "/", "", "."]),
    order=st.permutations([0, 1, 2]),
    seed=st.integers(0, 10**6),
)
def test_flashfill_reordering(sep_in: str, sep_out: str, order: list[int], seed: int) -> None:
    def make(r: random.Random) -> dict[str, str]:
        return {
            "d": sep_in.join(
                [f"{r.randint(1, 28):02d}", f"{r.randint(1, 12):02d}", str(r.randint(1990, 2030))]
            )
        }

    def truth(x: dict[str, str]) -> str:
        parts = x["d"].split(sep_in)
        return sep_out.join(parts[i] for i in order)

    assert recovered(make, truth, seed) >= 0.99


@SETTINGS
@given(prefix=st.sampled_from(["#", "INV-", "A-", "TICKET "]), seed=st.integers(0, 10**6))
def test_extraction(prefix: str, seed: int) -> None:
    def make(r: random.Random) -> dict[str, str]:
        return {"text": f"{words(r)} {prefix}{r.randint(100, 99999)} {words(r)}"}

    def truth(x: dict[str, str]) -> str:
        import re

        return re.search(re.escape(prefix) + r"\d+", x["text"]).group(0)

    assert recovered(make, truth, seed) >= 0.99
