"""Assemble the generated package: one module per workflow, tests, data, README, shadow wrapper."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from solidify.assess.config import Thresholds
from solidify.assess.model import Assessment, StepAssessment
from solidify.assess.recommend import program_problems
from solidify.assess.sampling import StepSample
from solidify.assess.synthesis import equality
from solidify.assess.synthesis.engine import Synthesis, split
from solidify.assess.synthesis.program import (
    Extract,
    Get,
    Lookup,
    MapList,
    Node,
    Rules,
    apply,
    strategy,
)
from solidify.assess.synthesis.route import Route, answer
from solidify.assess.synthesis.search import output_key
from solidify.errors import OutputError
from solidify.migrate.adapters import (
    is_prompt_step,
    prompt_expectation,
    prompt_function,
    reserve_runtime_names,
)
from solidify.migrate.literals import Names, comment, docstring, literal, string
from solidify.migrate.render import HELPERS, Access, Module, Renderer

MAX_PARAMS = 8
TEST_EXAMPLES = 200  # held-out examples kept per step for the generated tests
DOC_EXAMPLES = 3
DOC_COUNTEREXAMPLES = 10  # counterexamples a draft's docstring shows
LOOKS_DETERMINISTIC = 0.9


@dataclass
class StepCode:
    """One step to put in the package, solved by a program, by code from a model, or a stub."""

    step: StepAssessment
    examples: list[tuple[Any, Any]]  # held-out (input, output), for tests and docstrings
    inputs: list[Any]  # a sample of inputs, for the parameter schema
    program: Node | None = None
    train: list[tuple[Any, Any]] = field(default_factory=list)  # shown to a model (--llm)
    llm_code: str | None = None  # source of `def solve(data)`, accepted by `migrate --llm`
    llm_note: str = ""
    # A near miss: `program` is written as a draft, with its counterexamples, for review.
    draft: bool = False
    # Code for the inputs it is sure of; the others are handed back to the model.
    route: Route | None = None

    @property
    def solved(self) -> bool:
        return (
            (self.program is not None and not self.draft)
            or self.route is not None
            or (self.llm_code is not None)
        )

    @property
    def node(self) -> Node | None:
        """The program the function is rendered from, whole or partial."""
        return self.route.node if self.route is not None else self.program

    def expectation(self, x: Any, y: Any) -> str:
        """What a generated test expects of a logged example: the logged output ("same"),
        the input handed back to the model ("handed_back"), or a known counterexample."""
        if self.llm_code is not None:
            return "same"
        if self.program is not None and is_prompt_step(self.step.synthesis):
            return prompt_expectation(self.step.synthesis, x, y)
        if self.route is not None:
            ok, got = answer(self.route, x)
            if not ok:
                return "handed_back"
        elif self.draft and self.program is not None:
            ok, got = apply(self.program, x)
            if not ok:
                return "differs"
        else:
            return "same"
        return "same" if output_key(got) == output_key(y) else "differs"


@dataclass
class Plan:
    steps: dict[str, list[StepCode]] = field(default_factory=dict)  # workflow -> steps


def plan(
    assessment: Assessment,
    samples: Mapping[tuple[str, str], StepSample],
    *,
    min_coverage: float = 0.95,
    steps: tuple[str, ...] = (),
    thresholds: Thresholds | None = None,
) -> Plan:
    """Which steps to generate: AI steps a program reproduces (solved), and AI steps that
    look deterministic or were asked for by name (stubs). `samples` are the steps'
    samples (sampling.step_samples): the examples the assessment's search learnt from
    and was checked against, split the same way, so the tests hold its held-out cases."""
    from fnmatch import fnmatchcase

    out = Plan()
    for w in assessment.workflows:
        chosen: list[StepCode] = []
        for s in w.steps:
            asked = any(fnmatchcase(s.step, p) for p in steps)
            if steps and not asked:
                continue
            if not s.is_ai:
                continue
            syn = s.synthesis
            # The baseline checks hold whatever --min-coverage says: a program that only
            # says the most common output is never written as the step's code.
            solved = (
                syn is not None
                and syn.program is not None
                and (syn.heldout_coverage >= min_coverage)
                and not program_problems(syn, thresholds or Thresholds())
                and not (syn.constant and s.determinism_parts.get("distinct_outputs", 0) > 1)
            )
            routed = s.recommendation.action == "route" and syn is not None and syn.route
            draft = not solved and s.recommendation.draft is not None and not routed
            deterministic = s.determinism >= LOOKS_DETERMINISTIC
            if not (solved or routed or draft or deterministic or asked):
                continue
            sample = samples.get((w.workflow, s.step))
            train, held = split(sample.rows if sample else [])
            examples = [(orjson.loads(i), orjson.loads(o)) for i, o in held[:TEST_EXAMPLES]]
            inputs = [orjson.loads(i) for i, _ in (train + held)[:500]]
            train_examples = [(orjson.loads(i), orjson.loads(o)) for i, o in train[:60]]
            program = syn.program if solved or draft else None
            route = syn.route.route if routed else None
            chosen.append(
                StepCode(s, examples, inputs, program, train=train_examples, draft=draft,
                         route=route)
            )  # fmt: skip
        # Every workflow gets its module, even with nothing to replace yet (an empty STEPS).
        out.steps[w.workflow] = chosen
    return out


# ------------------------------------------------------------------ parameters


def _type_of(values: list[Any]) -> str:
    kinds = set()
    for v in values:
        if v is None:
            kinds.add("None")
        elif isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, int):
            kinds.add("int")
        elif isinstance(v, float):
            kinds.add("float")
        elif isinstance(v, str):
            kinds.add("str")
        elif isinstance(v, list):
            kinds.add("list[Any]")
        else:
            kinds.add("dict[str, Any]")
    if {"int", "float"} <= kinds:
        kinds -= {"int"}
    optional = "None" in kinds
    kinds.discard("None")
    if len(kinds) != 1:
        return "Any"
    name = kinds.pop()
    return f"{name} | None" if optional else name


def _uses_whole_input(node: Any) -> bool:
    """Whether a program reads the input other than through its top-level keys."""
    if isinstance(node, Get):
        return not node.path or not isinstance(node.path[0], str)
    if isinstance(node, MapList) or hasattr(node, "ELEMENT_FIELDS"):
        return _uses_whole_input(node.source)  # the item is read through its own root
    if isinstance(node, tuple):
        return any(_uses_whole_input(v) for v in node)
    if hasattr(node, "__dataclass_fields__"):
        return any(_uses_whole_input(getattr(node, f.name)) for f in fields(node))
    return False


@dataclass
class Signature:
    params: list[tuple[str, str, str, bool]]  # (input key, parameter, type, required)
    whole_type: str = "Any"

    @property
    def by_key(self) -> dict[str, str]:
        return {key: name for key, name, _, _ in self.params}


def signature(code: StepCode) -> Signature:
    """Named parameters from the inferred input schema when the input is an object."""
    inputs = code.inputs
    if not inputs or not all(isinstance(x, dict) for x in inputs) or code.llm_code:
        return Signature([], _type_of(inputs) if inputs else "Any")
    if _uses_whole_input(code.node):
        return Signature([], "dict[str, Any]")
    counts: Counter[str] = Counter(k for x in inputs for k in x)
    keys = sorted(counts, key=lambda k: (-counts[k], k))
    if not keys or len(keys) > MAX_PARAMS:
        return Signature([], "dict[str, Any]")
    names = Names({"data"})
    params = []
    for key in keys:
        name = names.get(key, fallback="field")
        values = [x.get(key) for x in inputs]
        required = counts[key] == len(inputs)
        kind = _type_of(values)
        if not required and "None" not in kind and kind != "Any":
            kind = f"{kind} | None"
        params.append((key, name, kind, required))
    params.sort(key=lambda p: not p[3])  # required first
    return Signature(params)


# ------------------------------------------------------------------ one module


def _evidence(code: StepCode, workflow: str) -> str:
    s = code.step
    syn: Synthesis | None = s.synthesis
    lines = [f"Replaces the {s.kind} step {s.step!r} of the workflow {workflow!r}.", ""]
    if code.route is not None and syn is not None and syn.route is not None:
        routed = syn.route
        lines.append(
            f"Routed by solidify from {s.executions} logged executions: {code.route.strategy} "
            f"code answers {routed.routed_share:.1%} of {routed.heldout} distinct held-out "
            f"inputs, {routed.purity:.1%} of them as logged."
        )
        lines.append(f"Code for: {code.route.describe()}")
        lines.append(
            "Every other input raises LookupError: the shadow wrapper (_shadow.py) hands it\n"
            "to the model."
        )
    elif code.program is not None and syn is not None:
        lines.append(
            f"Found by solidify from {s.executions} logged executions: {strategy(code.program)}, "
            f"reproducing {syn.heldout_coverage:.1%} of {syn.heldout_examples} held-out examples."
        )
        lines.append(f"Program: {syn.description}")
    elif code.llm_code is not None:
        lines.append(f"Written by a model from logged examples and checked on held-out ones: "
                     f"{code.llm_note}")  # fmt: skip
    saving = s.recommendation.savings.per_month_usd
    cost = f"${saving:,.2f} a month at the observed rate" if saving else "its model cost"
    if s.model:
        cost += f" (model: {s.model})"
    lines.append(f"Saves {cost}.")
    return "\n".join(lines)


def _examples_text(examples: list[tuple[Any, Any]]) -> str:
    shown = []
    for x, y in examples[:DOC_EXAMPLES]:
        shown.append("    " + _short_json(x) + "\n      -> " + _short_json(y))
    return "\n".join(shown) if shown else "    (no successful execution was logged)"


def _short_json(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _function(code: StepCode, workflow: str, name: str, module: Module) -> tuple[str, str]:
    """Source of the step's function and the expression that calls it from `data`."""
    if code.program is not None and is_prompt_step(code.step.synthesis):
        return prompt_function(code, workflow, name, module)  # slots in, adapter for STEPS
    sig = signature(code)
    renderer = Renderer(module, Access(sig.by_key), code.step.step)
    if sig.params:
        required = [f"{p}: {t}" for _, p, t, r in sig.params if r]
        optional = [f"{p}: {t} = None" for _, p, t, r in sig.params if not r]
        params = ", ".join(required + optional)
        call_args = ", ".join(
            f"{p}=data[{string(k)}]" if r else f"{p}=data.get({string(k)})"
            for k, p, _, r in sig.params
        )
        call = f"{name}({call_args})"
    else:
        params = f"data: {sig.whole_type}"
        call = f"{name}(data)"
    returns = _type_of([y for _, y in code.examples]) if code.examples else "Any"
    if (
        isinstance(code.node, Extract)
        and code.route is None
        and not returns.endswith("| None")
        and returns != "Any"
    ):
        returns += " | None"  # a pattern may find nothing
    head = f"def {name}({params}) -> {returns}:"
    if code.route is not None:
        doc = _evidence(code, workflow)
        body = _route_body(code.route, renderer, code.step.step)
    elif code.program is not None and not code.draft:
        doc = _evidence(code, workflow)
        body = renderer.body(code.program)
    elif code.llm_code is not None:
        doc = _evidence(code, workflow)
        solver = module.names.get(f"{code.step.step}_model_written")
        module.constants.append(("", _rename_solve(code.llm_code, solver)))
        body = [f"return {solver}({_rebuild_input(sig)})"]
    elif code.program is not None:
        doc = _draft_doc(code, workflow)
        body = renderer.body(code.program)
    else:
        syn = code.step.synthesis
        why = syn.note if syn is not None and syn.note else "no program reproduces it"
        if syn is not None and syn.program is not None:
            why = f"the closest program reproduces {syn.heldout_coverage:.0%} of held-out examples"
        doc = (
            f"Not solved yet: the {code.step.kind} step {code.step.step!r} of {workflow!r} "
            f"looks deterministic, but {why}.\n\n"
            "Write it from the logged examples below (and the generated tests), or run\n"
            "`solidify migrate --llm` to have a model write it.\n\n"
            f"Logged examples (input -> output):\n{_examples_text(code.examples)}"
        )
        message = string(f"{code.step.step}: not written yet (see the docstring)")
        body = [f"raise NotImplementedError({message})"]
    lines = [head, docstring(doc), *("    " + line for line in body)]
    return "\n".join(lines), call


def _route_body(route: Route, renderer: Renderer, step: str) -> list[str]:
    """Statements that answer where the route is sure, and raise LookupError elsewhere."""
    handed_back = f"raise LookupError({string(f'{step}: left to the model')})"
    node = route.node
    if route.kind == "rules" and isinstance(node, Rules):
        lines = []
        for cond, value in node.rules:
            lines += [f"if {renderer.cond(cond)}:", f"    return {literal(value)}"]
        return [*lines, handed_back]
    if route.kind == "table" and isinstance(node, Lookup):
        # An unseen key raises KeyError, a LookupError.
        return [f"return {renderer.expr(node)}"]
    return [
        f"found = {renderer.expr(node)}",
        "if found is None:",
        f"    {handed_back}",
        "return found",
    ]


def _draft_doc(code: StepCode, workflow: str) -> str:
    s = code.step
    syn = s.synthesis
    assert syn is not None and code.program is not None
    wrong = [(x, y) for x, y in code.examples if code.expectation(x, y) == "differs"]
    shown = []
    for x, y in wrong[:DOC_COUNTEREXAMPLES]:
        ok, got = apply(code.program, x)
        shown.append(
            "    " + _short_json(x) + "\n      logged: " + _short_json(y)
            + "\n      draft:  " + (_short_json(got) if ok else "(does not apply)")
        )  # fmt: skip
    return (
        f"DRAFT, not a replacement yet: the {s.kind} step {s.step!r} of {workflow!r}.\n\n"
        f"Nearly there: a {strategy(code.program)} program found by solidify from "
        f"{s.executions} logged executions reproduces {syn.heldout_coverage:.1%} of "
        f"{syn.heldout_examples} distinct held-out inputs; {syn.misses} counterexamples to "
        f"review.\nProgram: {syn.description}\n\n"
        "Review the counterexamples: fix the code, or keep the model for them (raise\n"
        "LookupError for the inputs to hand back). Its generated tests are marked xfail\n"
        "where it differs from the logs.\n\n"
        f"Counterexamples (input, logged output, draft's output):\n"
        + ("\n".join(shown) if shown else "    (none among the examples kept for tests)")
    )


def _rebuild_input(sig: Signature) -> str:
    if not sig.params:
        return "data"
    return "{" + ", ".join(f"{string(k)}: {p}" for k, p, _, _ in sig.params) + "}"


def _rename_solve(source: str, name: str) -> str:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "solve":
            node.name = name
    return ast.unparse(tree)


def module_source(workflow: str, codes: list[StepCode]) -> str:
    module = Module()
    reserve_runtime_names(module.names)
    functions: list[str] = []
    registry: list[tuple[str, str]] = []
    for code in codes:
        name = module.names.get(code.step.step)
        source, call = _function(code, workflow, name, module)
        functions.append(source)
        registry.append((code.step.step, call))
    solved = sum(1 for c in codes if c.solved)
    drafts = [c.step.step for c in codes if c.draft and c.llm_code is None]
    stubs = (
        f"{solved} of {len(codes)} steps are written; the others are drafts, or stubs that\n"
        "raise NotImplementedError until they are written.\n"
        if solved < len(codes)
        else "No step of this workflow is a candidate yet: every AI step does judgment\n"
        "or writing that code cannot reproduce from the logs.\n"
        if not codes
        else ""
    )
    if drafts:
        stubs += (
            f"Drafts, near misses to review before use (listed in DRAFTS): {', '.join(drafts)}.\n"
        )
    header = docstring(
        f"Deterministic code for the workflow {workflow!r}, generated by solidify.\n\n"
        f"{stubs}STEPS maps each step's name, as logged, to a function of the step's input,\n"
        "as logged, that returns the step's output.",
        indent="",
    )
    parts = [header, "", "from __future__ import annotations", ""]
    for name in sorted(module.imports):
        parts.append(f"import {name}")
    parts += ["from collections.abc import Callable", "from typing import Any", ""]
    for name, source in module.constants:
        parts.append(source if not name else f"{name} = {source}")
        parts.append("")
    for name in sorted(module.helpers):
        parts += [HELPERS[name][0], "", ""]
    for source in functions:
        parts += [source, "", ""]
    parts.append("STEPS: dict[str, Callable[[Any], Any]] = {")
    for step, call in registry:
        parts.append(f"    {string(step)}: lambda data: {call},")
    parts.append("}")
    routed = [c.step.step for c in codes if c.route is not None]
    if routed:
        parts += ["", "# Routed steps: they raise LookupError for the inputs left to the model."]
        parts.append("ROUTED = frozenset({" + ", ".join(string(r) for r in routed) + "})")
    if drafts:
        parts += [
            "",
            "# Steps written as drafts: near misses to review before they replace a model.",
        ]
        parts.append("DRAFTS = frozenset({" + ", ".join(string(d) for d in drafts) + "})")
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------ tests and docs


TEST_TEMPLATE = '''"""Tests from held-out logged examples of {workflow_doc} (generated by solidify).

Each case replays one logged input through STEPS and expects the logged output.
Stubs are skipped until they are written. A routed step must hand the inputs it leaves
to the model back (LookupError); the known counterexamples of a draft or a route are
marked xfail.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
_SPEC = importlib.util.spec_from_file_location({module_id}, HERE.parent / {module_file})
module = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(module)
EXAMPLES = json.loads((HERE / "data" / {data_file}).read_text(encoding="utf-8"))
CASES = [(step, i) for step, cases in EXAMPLES.items() for i in range(len(cases))]


{equality}

def test_every_logged_step_is_registered() -> None:
    assert set(EXAMPLES) <= set(module.STEPS)


@pytest.mark.parametrize(("step", "index"), CASES, ids=[f"case{{i}}" for i in range(len(CASES))])
def test_logged_example(step: str, index: int) -> None:
    case = EXAMPLES[step][index]
    expect = case.get("expect", "same")
    try:
        got = module.STEPS[step](copy.deepcopy(case["input"]))
    except NotImplementedError:
        pytest.skip(f"{{step}} is a stub: write it, then this test checks it")
    except LookupError:
        if expect == "handed_back":
            return  # routed: the model answers this input
        raise
    assert expect != "handed_back", "a routed step answered an input it left to the model"
    if expect == "differs" and not same_output(got, case["output"]):
        pytest.xfail(f"{{step}}: a known counterexample, to review")
    assert same_output(got, case["output"]), (got, case["output"])
'''


def test_source(workflow: str, module_name: str) -> str:
    return TEST_TEMPLATE.format(
        workflow_doc=comment(workflow, 60),
        module_id=string(f"solidify_generated_{module_name}"),
        module_file=string(f"{module_name}.py"),
        data_file=string(f"{module_name}.json"),
        equality=equality.source(),
    )


def examples_json(codes: list[StepCode]) -> str:
    data = {c.step.step: [_case(c, x, y) for x, y in c.examples] for c in codes}
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def _case(code: StepCode, x: Any, y: Any) -> dict[str, Any]:
    case = {"input": x, "output": y}
    expect = code.expectation(x, y)
    if expect != "same":
        case["expect"] = expect
    return case


def readme(modules: dict[str, tuple[str, list[StepCode]]]) -> str:
    lines = [
        "# Generated by solidify",
        "",
        "Deterministic code for the workflow steps that do not need a model, written from",
        "their run logs and checked on logged examples the search never saw.",
        "",
        "| module | step | status | held-out coverage |",
        "|---|---|---|---:|",
    ]
    for module_name, (_, codes) in modules.items():
        for c in codes:
            syn = c.step.synthesis
            status = (
                "routed" if c.route is not None
                else "written by a model" if c.llm_code is not None
                else "draft" if c.draft
                else "solved" if c.program is not None
                else "stub"
            )  # fmt: skip
            coverage = (
                f"{syn.route.coverage:.1%} (answers {syn.route.routed_share:.1%})"
                if syn is not None and c.route is not None and syn.route is not None
                else f"{syn.heldout_coverage:.1%}"
                if syn is not None and c.program
                else "—"
            )
            step = c.step.step.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{module_name}.py` | {step} | {status} | {coverage} |")
    lines += [
        "",
        "## Wiring it in",
        "",
        "Each module exposes `STEPS`, mapping a step's name (as logged) to a function of the",
        "step's input (as logged) that returns its output. Call the function where the",
        "workflow called the model:",
        "",
        "```python",
        "from generated import invoice_intake",
        "",
        'entry = invoice_intake.STEPS["to_ledger_entry"](record)',
        "```",
        "",
        "The modules use only the standard library. The tests replay held-out logged",
        "examples: `python -m pytest tests` from this folder.",
        "",
        "## Rolling out",
        "",
        "`_shadow.py` wraps a function and the model call it replaces. Roll out in three steps:",
        "",
        '1. **Shadow** (`mode="shadow"`): the model still answers; the code runs beside it and',
        "   every disagreement is appended to a log in solidify's format. Watch it with",
        "   `solidify assess shadow.jsonl`, or replay logs with `solidify verify`.",
        '2. **Code first** (`mode="code_first"`): the code answers; inputs it has no rule for',
        "   (an unseen key raises `KeyError`) fall back to the model, and each fallback is logged.",
        '3. **Code only** (`mode="code_only"`): remove the model call.',
        "",
        "Stubs raise `NotImplementedError`: their docstrings carry logged examples, and",
        "`solidify migrate --llm` can ask a model to write them.",
        "",
        "Drafts (listed in a module's `DRAFTS`) are near misses: code that reproduces most",
        "but not enough held-out examples. Their docstrings list the counterexamples to",
        "review, and their tests are marked xfail where they differ from the logs.",
        "Routed steps answer the inputs they are sure of and raise `LookupError` for the",
        "others, which `_shadow.py` hands to the model in every mode.",
    ]
    return "\n".join(lines) + "\n"


def shadow_source() -> str:
    return (
        resources.files("solidify.migrate")
        .joinpath("templates/shadow.py")
        .read_text(encoding="utf-8")
    )


# ------------------------------------------------------------------ files


def build_files(the_plan: Plan) -> dict[str, str]:
    """Relative path -> content of every file of the package (nothing written yet)."""
    names = Names({"tests", "_shadow"})
    modules: dict[str, tuple[str, list[StepCode]]] = {}
    for workflow, codes in the_plan.steps.items():
        modules[names.get(workflow, fallback="workflow")] = (workflow, codes)
    files: dict[str, str] = {}
    for module_name, (workflow, codes) in modules.items():
        files[f"{module_name}.py"] = module_source(workflow, codes)
        files[f"tests/test_{module_name}.py"] = test_source(workflow, module_name)
        files[f"tests/data/{module_name}.json"] = examples_json(codes)
    listing = ", ".join(string(m) for m in modules)
    files["__init__.py"] = (
        f'"""Deterministic workflow steps generated by solidify."""\n\n__all__ = [{listing}]\n'
    )
    files["tests/__init__.py"] = ""
    files["_shadow.py"] = shadow_source()
    files["README.md"] = readme(modules)
    for path, text in files.items():
        if path.endswith(".py"):
            try:
                ast.parse(text, filename=path)
            except SyntaxError as exc:  # a bug in the generator, never in the logs
                raise OutputError(f"{path}: generated code does not parse: {exc}") from None
            files[path] = format_source(text)
    return files


def format_source(text: str) -> str:
    """Format with ruff when it is installed; the code is valid either way."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--line-length", "100", "-"],
            input=text, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return text
    return done.stdout if done.returncode == 0 and done.stdout else text


def write_package(out: str | Path, files: dict[str, str], *, force: bool = False) -> list[Path]:
    """Write every file atomically; refuse before writing anything if one exists."""
    from solidify.io import write_text

    root = Path(out)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: exists and is not a folder")
    if not force:
        for path in files:
            if (root / path).exists():
                raise OutputError(f"{root / path}: exists; pass --force to overwrite it")
    return [write_text(root / path, text, force=force) for path, text in files.items()]
