"""Prompt decomposition: message shapes, templates and slots, answer formats, the search
on slots, and the adapters `migrate` writes for prompt-form steps."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solidify.assess.prompts.fit import PromptSynthesis, fit
from solidify.assess.prompts.form import learn_form
from solidify.assess.prompts.formats import learn_format
from solidify.assess.prompts.runtime import (
    parse_output,
    prompt_slots,
    prompt_text,
    render_body,
    render_output,
)
from solidify.assess.prompts.slots import slot_spec
from solidify.assess.prompts.template import infer
from solidify.assess.synthesis.engine import split

SYSTEM = "You are an order clerk."
USER = "Quantity: 3\nVendor: Acme Corp"

# ---------------------------------------------------------------- message shapes


@pytest.mark.parametrize(
    "logged",
    [
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}],
        [{"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
         {"role": "user", "content": [{"type": "text", "text": USER}]}],
        {"system": SYSTEM, "model": "claude-sonnet-4-5", "max_tokens": 100,
         "messages": [{"role": "user", "content": [{"type": "text", "text": USER}]}]},
        [{"type": "system", "content": SYSTEM}, {"type": "human", "content": USER}],
        [{"lc": 1, "type": "constructor", "kwargs": {"content": SYSTEM},
          "id": ["langchain", "schema", "messages", "SystemMessage"]},
         {"lc": 1, "type": "constructor", "kwargs": {"content": USER},
          "id": ["langchain", "schema", "messages", "HumanMessage"]}],
        {"messages": [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]]},
    ],
    ids=["openai", "openai-parts", "anthropic", "langchain-dicts", "langchain-serialised",
         "langsmith-batch"],
)  # fmt: skip
def test_every_message_shape_reads_as_the_same_prompt(logged: Any) -> None:
    assert prompt_text(logged) == f"system\x1f{SYSTEM}\x1euser\x1f{USER}"


def test_bare_prompts_and_unexpected_shapes() -> None:
    assert prompt_text("Translate: hola") == "Translate: hola"
    assert prompt_text({"prompt": "Translate: hola"}) == "Translate: hola"
    assert prompt_text([1, 2, 3]) is None
    assert prompt_text({"country": "PL"}) is None
    assert prompt_text([{"role": "user"}]) is None  # a message without content
    responses = [{"role": "user", "content": "Weather in Tokyo?"},
                 {"type": "function_call", "name": "weather", "arguments": '{"city": "Tokyo"}'},
                 {"type": "function_call_output", "output": "sunny"}]  # fmt: skip
    assert prompt_text(responses) == (
        'user\x1fWeather in Tokyo?\x1eassistant\x1f{"city": "Tokyo"}\x1etool\x1fsunny'
    )


# ---------------------------------------------------------------- templates and slots


def renderings(values: list[dict[str, str]]) -> list[str]:
    return [
        prompt_text(
            [
                {"role": "system", "content": "Answer with one word."},
                {"role": "user", "content": f"Quantity: {v['q']}\nVendor: {v['v']}\n\nWhich desk?"},
            ]
        )
        for v in values
    ]


def test_template_names_slots_after_their_labels_and_types_them() -> None:
    rng = random.Random(3)
    vendors = ["Acme Corp", "Globex", "Initech SA"]
    values = [{"q": str(rng.randint(1, 500)), "v": rng.choice(vendors)} for _ in range(30)]
    template, note = infer(renderings(values))
    assert template is not None, note
    assert [s["name"] for s in template.slots] == ["quantity", "vendor"]
    assert [s["type"] for s in template.slots] == ["int", "text"]
    assert "Quantity: {quantity}" in template.text()
    first = [{"role": "system", "content": "Answer with one word."},
             {"role": "user", "content": f"Quantity: {values[0]['q']}\nVendor: {values[0]['v']}\n\n"
                                         "Which desk?"}]  # fmt: skip
    assert prompt_slots(first, template.to_dict()) == {"quantity": int(values[0]["q"]),
                                                       "vendor": values[0]["v"]}  # fmt: skip


def test_matching_a_template_takes_each_fixed_piece_at_its_first_place() -> None:
    from solidify.assess.prompts.runtime import match_template

    assert match_template("a: 1\nb: 2 3\n", ["a: ", "\nb: ", "\n"]) == ["1", "2 3"]
    assert match_template("a: 1\nb: 2", ["a: ", "\nb: ", "\n"]) is None
    # Separators that recur everywhere cost one pass, not one try per combination.
    many_lines = "\n".join(f"line {n}" for n in range(2000))
    assert match_template(many_lines, ["", "\n", "\n", "\n", "\n", "END"]) is None


def test_numbers_keep_the_unit_written_around_them() -> None:
    from solidify.assess.prompts.template import _unit

    assert _unit("Unit price: ", " EUR\n") == "EUR"
    assert _unit("Total: $", "\n") == "$"
    assert _unit("Weight: ", " kg") == "kg"
    assert _unit("Count: ", " and more") is None
    assert _unit("Count: ", "\nNext") is None


def test_slots_without_a_label_are_numbered() -> None:
    texts = [f"Write a reply to {name} about the order." for name in ["Ana", "Ben Okafor", "Eva"]]
    template, _ = infer(texts * 3)
    assert template is not None
    assert [s["name"] for s in template.slots] == ["slot_1"]


def test_long_documents_pasted_in_a_prompt_are_one_slot() -> None:
    """Long renderings are aligned line by line, then word by word inside short slots."""
    rng = random.Random(2)
    words = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(2, 7))) for _ in range(300)]
    texts = [
        prompt_text(
            [
                {"role": "system", "content": "Summarise documents."},
                {
                    "role": "user",
                    "content": f"Title: T-{n}\nPages: {rng.randint(1, 90)}\n\n"
                    "Document:\n"
                    + " ".join(rng.choice(words) for _ in range(2000))
                    + "\n\nAnswer briefly.",
                },
            ]
        )
        for n in range(30)
    ]
    template, note = infer(texts)
    assert template is not None, note
    assert [(s["name"], s["type"]) for s in template.slots] == [
        ("title", "int"), ("pages", "int"), ("document", "text")]  # fmt: skip


def test_free_text_prompts_have_no_slots() -> None:
    rng = random.Random(5)
    words = ["ship", "urgent", "bank", "account", "order", "please", "today", "refund", "late"]
    texts = [prompt_text([{"role": "system", "content": "Rate the risk."},
                          {"role": "user", "content": " ".join(rng.sample(words, 4))}])
             for _ in range(20)]  # fmt: skip
    template, note = infer(texts)
    assert template is None
    assert note.startswith("no slots found")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3", "12", "-7"], {"type": "int"}),
        (["1,234.50", "12.00", "7.25"], {"type": "decimal", "precision": 2, "thousands": True}),
        (["2.5", "3.75"], {"type": "decimal"}),
        (["yes", "no", "Yes"], {"type": "bool"}),
        (["true", "false"], {"type": "bool"}),
        (["2026-03-01", "2026-11-30"], {"type": "date", "format": "%Y-%m-%d"}),
        (["3 Nov 2026", "14 Mar 2026"], {"type": "date", "format": "%d %b %Y"}),
        (['{"a": 1}', "[1, 2]"], {"type": "json"}),
        (["- apples\n- pears", "- plums"], {"type": "lines"}),
        (["12", "NONE", "7"], {"type": "int", "nullable": True}),
        (["Acme", "3"], {"type": "text"}),
        (["007", "12"], {"type": "text"}),  # a leading zero is an identifier, not a number
    ],
)
def test_slot_types(values: list[str], expected: dict[str, Any]) -> None:
    assert slot_spec(values) == expected


def test_a_list_of_lines_of_one_shape_becomes_records() -> None:
    values = ["- 3 x X123\n- 1 x B-220", "- 12 x KT-9", "- 2 x Z77\n- 5 x X123\n- 1 x RW-5"]
    spec = slot_spec(values)
    assert spec["type"] == "lines" and [f["type"] for f in spec["fields"]] == ["int", "text"]
    from solidify.assess.prompts.runtime import parse_value

    assert parse_value(values[0], spec) == [{"field_1": 3, "field_2": "X123"},
                                            {"field_1": 1, "field_2": "B-220"}]  # fmt: skip


def test_a_json_slot_that_does_not_parse_stays_text() -> None:
    values = [json.dumps({"id": n}) for n in range(19)] + ['{"id": 19,']
    spec = slot_spec(values)
    assert spec == {"type": "json", "unparsed": 1}
    from solidify.assess.prompts.runtime import parse_value

    assert parse_value('{"id": 19,', spec) == '{"id": 19,'


# ---------------------------------------------------------------- answer formats


def fence(value: Any, indent: int = 2) -> str:
    return "```json\n" + json.dumps(value, indent=indent) + "\n```"


@pytest.mark.parametrize(
    ("outputs", "body", "values"),
    [
        (["EMEA", "APAC", "NONE"], "text", ["EMEA", "APAC", None]),
        (["1,234.50", "12.00", "N/A"], "number", [1234.5, 12.0, None]),
        (["$3.50", "$12.00"], "number", [3.5, 12.0]),
        (["yes", "no"], "bool", [True, False]),
        ([fence({"b": 1, "a": [1]}), fence({"b": 2, "a": []})], "json",
         [{"b": 1, "a": [1]}, {"b": 2, "a": []}]),
        (['{"x":1}', '{"x":2}'], "json", [{"x": 1}, {"x": 2}]),
        (["null", "[1, 2]"], "json", [None, [1, 2]]),
    ],
)  # fmt: skip
def test_text_answers_are_read_and_written_back_exactly(
    outputs: list[str], body: str, values: list[Any]
) -> None:
    fmt = learn_format(outputs)
    assert fmt is not None and fmt["body"] == body
    assert [parse_output(o, fmt) for o in outputs] == values
    assert [render_output(v, fmt) for v in values] == outputs


def test_identifiers_are_not_numbers() -> None:
    assert learn_format(["PO-31573", "PO-11111"])["body"] == "text"


@pytest.mark.parametrize(
    "outputs",
    [
        [{"role": "assistant", "content": "EMEA"}, {"role": "assistant", "content": "APAC"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "12"}]},
         {"role": "assistant", "content": [{"type": "text", "text": "7"}]}],
        [{"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
          "function": {"name": "route", "arguments": json.dumps({"desk": d})}}]}
         for d in ("EMEA", "APAC")],
        [{"role": "assistant", "content": [{"type": "tool_use", "id": "tu_1", "name": "route",
                                            "input": {"desk": d}}]} for d in ("EMEA", "APAC")],
        [[{"role": "assistant", "parts": [{"type": "text", "content": d}],
           "finish_reason": "stop"}] for d in ("EMEA", "APAC")],
        [{"finish_reason": "stop", "text": d} for d in ("EMEA", "APAC")],
    ],
    ids=["openai-message", "anthropic-message", "openai-tool-call", "anthropic-tool-use",
         "otel-output-messages", "text-object"],
)  # fmt: skip
def test_messages_and_tool_calls_round_trip(outputs: list[Any]) -> None:
    fmt = learn_format(outputs)
    assert fmt is not None
    values = [parse_output(o, fmt) for o in outputs]
    if fmt["wrap"] == "tool":
        assert values == [{"desk": "EMEA"}, {"desk": "APAC"}]
    assert [render_output(v, fmt) for v in values] == outputs


def test_tool_call_ids_that_change_are_not_compared() -> None:
    outputs = [{"role": "assistant", "content": None, "tool_calls": [{"id": f"call_{n}",
                "type": "function", "function": {"name": "route",
                                                 "arguments": json.dumps({"n": n})}}]}
               for n in range(5)]  # fmt: skip
    fmt = learn_format(outputs)
    assert fmt is not None and fmt["any_id"] is True
    assert [parse_output(o, fmt) for o in outputs] == [{"n": n} for n in range(5)]
    other = json.loads(json.dumps(outputs[0]))
    other["tool_calls"][0]["function"]["name"] = "escalate"
    with pytest.raises(ValueError):
        parse_output(other, fmt)


def test_tidy_json_outputs_need_no_format() -> None:
    assert learn_format([{"a": 1}, {"a": 2}]) is None
    assert learn_form([{"country": "PL"}] * 8, ["EMEA"] * 8) is None


def test_a_fenced_block_that_is_not_json_is_a_miss_not_a_crash() -> None:
    outputs = [fence({"n": n}) for n in range(19)] + ["```json\n{not json\n```"]
    fmt = learn_format(outputs)
    assert fmt is not None and fmt["body"] == "json"
    with pytest.raises(ValueError):
        parse_output(outputs[-1], fmt)


# ---------------------------------------------------------------- round trips

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(json_values, st.sampled_from([None, 2, 4]), st.sampled_from([None, "```json", "```"]))
def test_json_answers_round_trip(value: Any, indent: int | None, fence_mark: str | None) -> None:
    fmt = {"body": "json", "indent": indent, "fence": fence_mark}
    text = render_body(value, fmt)
    assert render_body(parse_output(text, fmt), fmt) == text


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(st.integers(-(10**9), 10**9), st.floats(-1e9, 1e9, allow_nan=False)),
    st.sampled_from([None, 0, 1, 2, 3]),
    st.booleans(),
    st.sampled_from(["", "$", "EUR "]),
)
def test_numbers_as_text_round_trip(value: float, decimals: int | None, grouped: bool,
                                    prefix: str) -> None:  # fmt: skip
    fmt = {"body": "number", "decimals": decimals, "thousands": grouped, "prefix": prefix}
    text = render_body(value, fmt)
    assert render_body(parse_output(text, fmt), fmt) == text


words = st.text(alphabet="abcdefghijXYZ", min_size=1, max_size=12)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), words),
        min_size=8,
        max_size=20,
        unique_by=(lambda r: r[0], lambda r: r[1]),
    )
)
def test_templates_round_trip(rows: list[tuple[int, str]]) -> None:
    """Render a template with values, infer it back, parse: the values come back, and
    writing them into the template gives the renderings again."""
    texts = [f"Count: {n}\nName: {w}\nReply with the total only." for n, w in rows]
    template, note = infer(texts)
    assert template is not None, note
    for text, (n, w) in zip(texts, rows, strict=True):
        slots = prompt_slots(text, template.to_dict())
        assert slots is not None
        assert slots["count"] == n and str(slots["name"]) == w
        again = template.pieces[0] + "".join(
            str(slots[s["name"]]) + piece
            for s, piece in zip(template.slots, template.pieces[1:], strict=True)
        )
        assert again == text


# ---------------------------------------------------------------- the search on slots


def step_pairs(n: int, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        qty, price = rng.randint(1, 300), round(rng.uniform(1, 50), 2)
        messages = [
            {"role": "system", "content": "Answer with the number only."},
            {"role": "user", "content": f"Quantity: {qty}\nUnit price: {price:.2f} EUR"},
        ]
        answer = f"{round(qty * price, 2):,.2f}"
        out.append((orjson.dumps(messages, option=orjson.OPT_SORT_KEYS).decode(),
                    orjson.dumps(answer).decode()))  # fmt: skip
    return out


def test_arithmetic_behind_a_chat_prompt_is_found() -> None:
    train, held = split(step_pairs(200))
    found = fit(train, held)
    assert isinstance(found, PromptSynthesis)
    assert found.strategy == "arithmetic" and found.heldout_coverage == 1.0
    prompt = found.to_dict()["prompt"]["versions"][0]
    assert [s["name"] for s in prompt["slots"]] == ["quantity", "unit_price"]
    assert prompt["output_format"]["body"] == "number"


def test_answers_outside_the_format_count_as_misses() -> None:
    train, held = split(step_pairs(200))
    broken = [(i, orjson.dumps("about " + orjson.loads(o)).decode()) for i, o in held[:10]]
    found = fit(train, broken + held[10:])
    assert found.heldout_examples == len(held)
    assert found.heldout_coverage == pytest.approx((len(held) - 10) / len(held))
    assert "counted as misses" in found.note


def test_versions_that_differ_only_in_the_user_message_are_split() -> None:
    rng = random.Random(9)
    inputs, outputs = [], []
    for n in range(120):
        code = rng.choice(["PL", "DE", "US", "JP"])
        user = f"Country: {code}\nWhich desk?" if n < 60 else f"Ship to (ISO code): {code}"
        inputs.append([{"role": "system", "content": "Route orders."},
                       {"role": "user", "content": user}])  # fmt: skip
        outputs.append({"PL": "EMEA", "DE": "EMEA", "US": "AMER", "JP": "APAC"}[code])
    form = learn_form(inputs, outputs)
    assert form is not None and len(form.versions) == 2
    assert sorted(v.template["slots"][0]["name"] for v in form.versions) == [
        "country", "ship_to_iso_code"]  # fmt: skip


def test_logged_versions_and_variables_are_used() -> None:
    inputs, outputs, logged = [], [], []
    for n in range(40):
        inputs.append([{"role": "user", "content": f"Count: {n}\nReply with the double."}])
        outputs.append(str(2 * n))
        logged.append({"prompt_name": "double", "prompt_version": 1 + n % 2,
                       "prompt_variables": {"how_many": n}})  # fmt: skip
    form = learn_form(inputs, outputs, logged)
    assert form is not None
    (version,) = form.versions  # two logged versions of one text are one template
    assert version.template["slots"][0]["name"] == "how_many"
    assert version.examples == 40


def test_logged_variables_as_json_text_from_a_csv_cell() -> None:
    from solidify.assess.prompts.fit import _logged

    cells = [json.dumps({"prompt_variables": json.dumps({"qty": 3}), "other": 1}), None,
             json.dumps({"prompt_variables": "{not json"})]  # fmt: skip
    assert _logged(cells) == [{"prompt_variables": {"qty": 3}}, {}, {}]


def test_bad_inputs_degrade_without_a_traceback() -> None:
    pairs = step_pairs(60)
    odd = [(orjson.dumps([{"role": "user", "content": 7}, 3]).decode(), o) for _, o in pairs[:5]]
    # Readers replace bytes that are not UTF-8 (U+FFFD): such text fits no template.
    surrogate = [(json.dumps([{"role": "user", "content": "Quantity: \ufffd\x00"}]), pairs[0][1])]
    train, held = split(pairs[5:] + odd + surrogate)
    found = fit(train, held)
    assert found.heldout_executions == len(held)
    assert found.heldout_examples <= len({i for i, _ in held})
    assert found.program is not None


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=6))
_keys = st.sampled_from(["role", "content", "text", "type", "parts", "id", "tool_calls",
                         "function", "arguments", "input"])  # fmt: skip
_any = st.recursive(
    _leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_messages = st.lists(
    st.fixed_dictionaries({
        "role": st.sampled_from(["user", "system", "assistant", "human", ""]),
        "content": st.one_of(st.text(max_size=30), st.integers(-99, 99), st.none(),
                             st.lists(st.fixed_dictionaries({"type": st.just("text"),
                                                             "text": st.text(max_size=10)}),
                                      max_size=2)),
    }),
    min_size=1, max_size=3,
)  # fmt: skip
_answers = st.one_of(st.text(max_size=20), _any,
                     st.sampled_from(["NONE", '```json\n{"a": 1}\n```', "```json\n{bad\n```",
                                      "1,234.50", "yes"]))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.one_of(_messages, st.text(max_size=40), _any), _answers),
                min_size=12, max_size=30))  # fmt: skip
def test_whatever_is_logged_the_search_answers_without_a_traceback(pairs: list[Any]) -> None:
    text = [(orjson.dumps(x, option=orjson.OPT_SORT_KEYS).decode(),
             orjson.dumps(y, option=orjson.OPT_SORT_KEYS).decode()) for x, y in pairs]  # fmt: skip
    cut = len(text) * 2 // 3
    found = fit(text[:cut], text[cut:], time_limit=0.2)
    assert found.heldout_executions == len(text) - cut
    assert found.heldout_examples <= len({i for i, _ in text[cut:]})
