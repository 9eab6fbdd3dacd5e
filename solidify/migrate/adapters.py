"""Prompt-form steps in generated code: the function a developer calls instead of the
model (its parameters are the template's slots) and the adapter that `STEPS` maps to
(the messages as logged in, the answer as logged out).

The adapter reads messages and writes answers with solidify.assess.prompts.runtime,
copied verbatim into the module: the code that parses and renders is the code that was
measured.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from solidify.assess.prompts.fit import PromptSynthesis
from solidify.assess.prompts.form import UNREADABLE, Version
from solidify.assess.prompts.runtime import parse_output, prompt_slots
from solidify.assess.synthesis.program import apply
from solidify.assess.synthesis.search import output_key
from solidify.migrate.literals import Names, docstring, literal, string
from solidify.migrate.render import Access, Module, Renderer

RUNTIME_MARK = "# ---- reading prompts and writing answers (solidify.assess.prompts.runtime)"
RUNTIME_NAMES = frozenset({
    "prompt_text", "match_template", "parse_value", "prompt_slots", "render_body",
    "parse_body", "render_output", "parse_output",
})  # fmt: skip
_SLOT_TYPES = {"int": "int", "decimal": "float", "bool": "bool", "date": "str", "text": "str"}


def is_prompt_step(syn: Any) -> bool:
    """A step solved on a prompt's slots or on answers read in a format (a step whose
    prompt had no slots and whose answers are used as logged is written as before)."""
    return (
        isinstance(syn, PromptSynthesis)
        and syn.form is not None
        and syn.program is not None
        and any(v.template is not None or v.output is not None for v in syn.form.versions)
    )


def prompt_expectation(syn: Any, x: Any, y: Any) -> str:
    """What the adapter does with a logged example, as the generated tests expect it: the
    logged output ("same"), the input handed back to the model with LookupError (it fits no
    template, or its version has no program), or a known counterexample ("differs")."""
    try:
        read = syn.form.read(x, y)
    except UNREADABLE:
        read = None
    if read is None:
        # The adapter hands back inputs that fit no template; an answer outside the
        # learned format is one the adapter cannot write.
        return "handed_back" if _unread_input(syn, x) else "differs"
    version, slots, value = read
    program = syn.programs[version] if version < len(syn.programs) else None
    if program is None:
        return "handed_back"
    ok, got = apply(program, slots)
    return "same" if ok and output_key(got) == output_key(value) else "differs"


def _unread_input(syn: Any, x: Any) -> bool:
    """True when no version's template reads the input (whatever the answer)."""
    return all(
        v.template is not None and prompt_slots(x, v.template) is None for v in syn.form.versions
    )


def runtime_source() -> str:
    """The runtime's definitions, without its module docstring and imports."""
    text = resources.files("solidify.assess.prompts").joinpath("runtime.py").read_text("utf-8")
    start = text.index("\n_ROLES")
    return RUNTIME_MARK + "\n" + text[start:].strip("\n")


def _use_runtime(module: Module) -> None:
    if not any(source.startswith(RUNTIME_MARK) for _, source in module.constants):
        module.constants.insert(0, ("", runtime_source()))
        module.imports |= {"datetime", "decimal", "json", "re"}


def _slot_type(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "text")
    if kind == "lines":
        name = "list[dict[str, Any]]" if spec.get("fields") else "list[str]"
    elif kind == "json":
        name = "Any"
    else:
        name = _SLOT_TYPES.get(kind, "Any")
    return f"{name} | None" if spec.get("nullable") and name != "Any" else name


def _returns(values: list[Any]) -> str:
    from solidify.migrate.package import _type_of

    return _type_of(values) if values else "Any"


def _uses_whole(program: Any) -> bool:
    from solidify.migrate.package import _uses_whole_input

    return _uses_whole_input(program)


def _template_doc(version: Version) -> str:
    text = version.text.replace("\x1e", "\n\n").replace("\x1f", ": ")
    shown = "\n".join("    " + line for line in text.split("\n"))
    slots = (version.template or {}).get("slots", [])
    lines = [f"The model was asked (the template; {{name}} marks a slot):\n\n{shown}"]
    if slots:
        lines.append("")
        lines.append("Slots: " + ", ".join(f"{s['name']} ({_describe_slot(s)})" for s in slots))
    return "\n".join(lines)


def _describe_slot(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "text")
    if kind == "decimal" and "precision" in spec:
        kind += f", {spec['precision']} decimals"
    if spec.get("unit"):
        kind += f", in {spec['unit']}"
    if kind == "date":
        kind += f", written {spec['format']}"
    if kind == "lines" and spec.get("fields"):
        kind = "lines, each " + "".join(
            p + ("{" + f["name"] + "}" if i < len(spec["fields"]) else "")
            for i, (p, f) in enumerate(zip(spec["pieces"], [*spec["fields"], None], strict=True))
        )
    return kind + (", may be empty" if spec.get("nullable") else "")


def _answer_doc(fmt: dict[str, Any] | None) -> str:
    if fmt is None:
        return "The answer is returned as the step logged it."
    body = fmt.get("body", "text")
    fence = " in a fenced block" if fmt.get("fence") else ""
    how = {"text": "as text", "number": "as a number written as text", "bool": "as yes/no",
           "json": "as JSON" + fence}.get(body, body)  # fmt: skip
    wrap = {"message": " in an assistant message", "parts": " in an assistant message",
            "tool": " as a tool call's arguments", "part_list": " as content parts"}  # fmt: skip
    null = f"; nothing is written {fmt['null']!r}" if fmt.get("null") is not None else ""
    return f"The model wrote its answer {how}{wrap.get(fmt.get('wrap', 'none'), '')}{null}."


def prompt_function(code: Any, workflow: str, name: str, module: Module) -> tuple[str, str]:
    """Source of the slot functions and the adapter of one prompt-form step, and the
    expression that calls the adapter from `data`."""
    syn: PromptSynthesis = code.step.synthesis
    assert syn.form is not None
    _use_runtime(module)
    sources: list[str] = []
    branches: list[str] = []
    for n, (version, program) in enumerate(zip(syn.form.versions, syn.programs, strict=True)):
        suffix = "" if n == 0 else f"_v{n + 1}"
        fn = name if n == 0 else module.names.get(f"{name}{suffix}")
        tpl = fmt = None
        if version.template is not None:
            tpl = module.constant(f"{name}{suffix}_template", literal(version.template))
        if version.output is not None:
            fmt = module.constant(f"{name}{suffix}_answer", literal(version.output))
        source, args = _version_function(code, workflow, module, fn, n, version, program)
        sources.append(source)
        result = f"{fn}({args})"
        rendered = f"render_output({result}, {fmt})" if fmt else result
        if tpl is not None:
            branches += [f"slots = prompt_slots(data, {tpl})", "if slots is not None:",
                         f"    return {rendered}"]  # fmt: skip
        else:
            branches.append(f"return {rendered}")
    if branches[-1].startswith("    return"):
        message = string(f"{code.step.step}: the input does not follow the step's template")
        branches.append(f"raise LookupError({message})")
    adapter = module.names.get(f"{name}_from_messages")
    doc = (
        f"The step {code.step.step!r} as it was logged: the input as logged in (the messages),\n"
        "the output as logged out (the answer as the model wrote it)."
    )
    head = f"def {adapter}(data: Any) -> Any:"
    sources.append("\n".join([head, docstring(doc), *("    " + line for line in branches)]))
    return "\n\n\n".join(sources), f"{adapter}(data)"


def _version_function(
    code: Any, workflow: str, module: Module, fn: str, n: int, version: Version, program: Any
) -> tuple[str, str]:
    """One prompt version's function (slots in, the answer's value out) and the arguments
    the adapter calls it with."""
    from solidify.migrate.package import _evidence

    slots = (version.template or {}).get("slots", [])
    whole_arg = "slots" if version.template is not None else "data"
    values = []
    for _, y in code.examples:
        try:
            values.append(parse_output(y, version.output) if version.output else y)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
    returns = _returns(values)
    if program is None:
        # Too few examples of this version to learn from: the model keeps answering it.
        message = string(f"{code.step.step}: no program for prompt version {n + 1}: ask the model")
        head, body, args = (
            f"def {fn}(data: Any) -> Any:",
            [f"raise LookupError({message})"],
            whole_arg,
        )
    elif version.template is None or _uses_whole(program):
        kind = "dict[str, Any]" if version.template is not None else "Any"
        head, args = f"def {fn}(data: {kind}) -> {returns}:", whole_arg
        body = Renderer(module, Access({}), code.step.step).body(program)
    else:
        names = Names({"data", "slots"})
        params = {s["name"]: names.get(s["name"], fallback="slot") for s in slots}
        typed = ", ".join(f"{params[s['name']]}: {_slot_type(s)}" for s in slots)
        head = f"def {fn}({typed}) -> {returns}:"
        args = ", ".join(f"{params[s['name']]}=slots[{string(s['name'])}]" for s in slots)
        body = Renderer(module, Access(params), code.step.step).body(program)
    doc = _evidence(code, workflow)
    if code.draft and program is not None:
        syn = code.step.synthesis
        doc = (
            f"DRAFT, not a replacement yet: reproduces {syn.heldout_coverage:.1%} of "
            f"{syn.heldout_examples} distinct held-out inputs; {syn.misses} counterexamples to "
            "review (its generated tests are marked xfail where it differs from the logs).\n\n"
            + doc
        )
    if n or len(code.step.synthesis.programs) > 1:
        doc += f"\n\nPrompt version {n + 1} of {len(code.step.synthesis.programs)}."
    if version.template is not None:
        doc += "\n\n" + _template_doc(version)
    doc += "\n\n" + _answer_doc(version.output)
    return "\n".join([head, docstring(doc), *("    " + line for line in body)]), args


def reserve_runtime_names(names: Names) -> None:
    """Keep step functions from taking the runtime's names."""
    names.taken |= RUNTIME_NAMES | {"datetime", "decimal", "json", "re"}
