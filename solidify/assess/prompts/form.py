"""A step's prompt form: its templates (prompt versions) and how it writes its answers.

Learned from the training examples only. Inputs that are chat messages or prompt strings
become slot records; answers written as text (or messages, or tool calls) become values.
Steps logged as tidy JSON keep their input and output as they are.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from solidify.assess.prompts.formats import learn_format, structured
from solidify.assess.prompts.runtime import (
    _MESSAGE_MARK,
    _ROLE_MARK,
    match_template,
    parse_output,
    prompt_slots,
    text_slots,
)
from solidify.assess.prompts.runtime import prompt_text as _prompt_text
from solidify.assess.prompts.template import Template, infer

MAX_VERSIONS = 4
MIN_VERSION_SHARE = 0.1
# What reading a logged example may raise when it is not what the form expects.
UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


@dataclass
class Version:
    """One template of the step (one prompt version), with its answer format."""

    template: dict[str, Any] | None  # pieces and slots; None: the input is used as logged
    output: dict[str, Any] | None  # answer format; None: the output is used as logged
    text: str = ""  # the template with {slot} marks, for people
    examples: int = 0
    label: str = ""  # the prompt's name and version, as the trace logged them

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.text or None, "slots": (self.template or {}).get("slots", []),
                "output_format": self.output, "examples": self.examples, "label": self.label,
                "pieces": (self.template or {}).get("pieces")}  # fmt: skip


@dataclass
class PromptForm:
    versions: list[Version]
    notes: list[str] = field(default_factory=list)

    texts: list[str | None] | None = field(default=None, repr=False)  # of the training inputs

    def read(self, x: Any, y: Any, text: str | None = None) -> tuple[int, Any, Any] | None:
        """(version, slot record, answer value) of one logged example (`text`: its prompt
        text, when known); None when the input fits no template or the answer is not in
        the version's format."""
        for n, version in enumerate(self.versions):
            slots = x
            if version.template is not None:
                slots = (
                    text_slots(text, version.template)
                    if text is not None
                    else prompt_slots(x, version.template)
                )
                if slots is None:
                    continue
            value = y
            if version.output is not None:
                try:
                    value = parse_output(y, version.output)
                except UNREADABLE:
                    return None
            return n, slots, value
        return None


def prompt_text(x: Any) -> str | None:
    try:
        return _prompt_text(x)
    except UNREADABLE:
        return None


def _version_key(text: str) -> tuple[str, ...]:
    """Renderings of one template share their roles and their system message."""
    messages = text.split(_MESSAGE_MARK)
    roles = tuple(m.split(_ROLE_MARK, 1)[0] for m in messages if _ROLE_MARK in m)
    system = next((m for m in messages if m.startswith("system" + _ROLE_MARK)), "")
    return (*roles, system)


def worth_a_look(inputs: list[Any], outputs: list[Any]) -> bool:
    """Whether a few examples look prompt-form (messages, prompt text) or answer in a
    structured way: tidy steps skip decomposition at the cost of this look."""
    prompted = sum(prompt_text(x) is not None for x in inputs[:20])
    return prompted >= 0.9 * len(inputs[:20]) or structured(outputs)


def learn_form(
    inputs: list[Any], outputs: list[Any], logged: list[dict[str, Any]] | None = None
) -> PromptForm | None:
    """The prompt form of a step's training examples; None when the step is logged as
    tidy JSON (nothing to decompose). `logged`: the prompt fields the trace recorded for
    each example (prompt_name, prompt_version, prompt_variables), when it did."""
    if not inputs:
        return None
    if sum(prompt_text(x) is not None for x in inputs[:20]) < 0.9 * len(inputs[:20]):
        # Tidy input: only structured answers (JSON in text, messages, tool calls) are read.
        fmt = learn_format(outputs) if structured(outputs) else None
        if fmt is not None and (fmt.get("wrap") != "none" or fmt.get("body") == "json"):
            return PromptForm([Version(None, fmt, examples=len(inputs))])
        return None
    texts = [prompt_text(x) for x in inputs]
    if sum(t is not None for t in texts) < 0.9 * len(inputs):
        return None
    messages = any(not isinstance(x, str) for x in inputs[:20])
    groups, labels = _logged_versions(texts, logged)
    if not groups:
        groups, labels = _versions(texts), []
    found = _templates(texts, groups)
    if found is None and len(groups) == 1:
        # One prompt whose user message changed wording: its first lines tell them apart.
        groups = _versions(texts, key=_first_lines)
        found = _templates(texts, groups) if len(groups) > 1 else None
    if found is not None and len(found) < len(groups):
        kept = {id(p) for p, _ in found}
        labels = (
            [lb for g, lb in zip(groups, labels, strict=True) if id(g) in kept] if labels else []
        )
    if found is None:
        note = infer([t for t in texts if t is not None])[1]
        fmt = learn_format(outputs)
        if not messages:  # a bare text that follows no template: an ordinary input
            if fmt is None or fmt.get("body") == "text":
                return None
            return PromptForm([Version(None, fmt, examples=len(inputs))])
        # Free text: the step is searched on its messages as logged.
        return PromptForm([Version(None, fmt, examples=len(inputs))], [note])
    versions: list[Version] = []
    seen: dict[tuple[str, ...], Version] = {}
    for n, (positions, template) in enumerate(found):
        if logged:
            variables = [logged[i].get("prompt_variables") for i in positions]
            _name_from_variables(template, [texts[i] for i in positions], variables)
        same = seen.get(tuple(template.pieces))
        if same is not None:  # two logged versions of one text are one template
            same.examples += len(positions)
            continue
        version_fmt = learn_format([outputs[i] for i in positions])
        label = labels[n] if n < len(labels) else ""
        version = Version(template.to_dict(), version_fmt, template.text(), len(positions), label)
        seen[tuple(template.pieces)] = version
        versions.append(version)
    notes: list[str] = []
    if len(versions) > 1:
        how = "as logged" if labels else "told apart by their text"
        notes.append(
            f"{len(versions)} prompt versions (templates, {how}), each searched on its own"
        )
    return PromptForm(versions, notes, texts=texts)


def _templates(
    texts: list[str | None], groups: list[list[int]]
) -> list[tuple[list[int], Template]] | None:
    """The groups of renderings that follow a template, with it; None if none does. (A
    version logged too few times to show its template is left out: its examples fit no
    template, and count as misses.)"""
    out = []
    for positions in groups:
        template, _ = infer([texts[i] for i in positions if texts[i] is not None])
        if template is not None:
            out.append((positions, template))
    return out or None


def _logged_versions(
    texts: list[str | None], logged: list[dict[str, Any]] | None
) -> tuple[list[list[int]], list[str]]:
    """Groups by the prompt name and version the trace logged (Langfuse, OpenInference)."""
    if not logged:
        return [], []
    keys = [
        (str(m.get("prompt_name") or ""), str(m.get("prompt_version") or ""))
        if m.get("prompt_name") or m.get("prompt_version")
        else None
        for m in logged
    ]
    counts = Counter(k for k, t in zip(keys, texts, strict=True) if k is not None and t)
    if sum(counts.values()) < 0.9 * len(texts) or len(counts) > 2 * MAX_VERSIONS:
        return [], []
    order = sorted(counts, key=lambda k: (-counts[k], k))
    groups = [[i for i, k in enumerate(keys) if k == key and texts[i]] for key in order]
    labels = [" ".join(filter(None, (name, f"v{v}" if v.isdigit() else v))) for name, v in order]
    return groups, labels


def _name_from_variables(template: Template, texts: list[str | None], variables: list[Any]) -> None:
    """Slots take the names of the variables the application logged with their values."""
    pairs = [(t, v) for t, v in zip(texts, variables, strict=True)
             if t is not None and isinstance(v, dict) and v]  # fmt: skip
    if not pairs:
        return
    columns = [match_template(t, template.pieces) for t, _ in pairs]
    taken: set[str] = set()
    for n, slot in enumerate(template.slots):
        votes: Counter[str] = Counter()
        for parts, (_, variables_) in zip(columns, pairs, strict=True):
            if parts is None:
                continue
            for key, value in variables_.items():
                shown = value if isinstance(value, str) else json.dumps(value)
                if shown.strip() == parts[n].strip():
                    votes[key] += 1
        if not votes:
            continue
        key, count = votes.most_common(1)[0]
        name = re.sub(r"\W+", "_", str(key)).strip("_").lower()
        if count >= 0.9 * len(pairs) and name and not name[0].isdigit() and name not in taken:
            slot["name"] = name
            taken.add(name)


def _first_lines(text: str) -> tuple[str, ...]:
    """The opening words of each message, up to a label's colon (values come after)."""
    heads = []
    for message in text.split(_MESSAGE_MARK):
        line = message.split(_ROLE_MARK, 1)[-1].split("\n", 1)[0].split(":", 1)[0]
        heads.append(" ".join(line.split()[:3]))
    return tuple(heads)


def _versions(texts: list[str | None], key=None) -> list[list[int]]:
    """Positions of the renderings of each template (several when the prompt changed)."""
    key = key or _version_key
    keys = [key(t) if t is not None else None for t in texts]
    counts = Counter(k for k in keys if k is not None)
    total = sum(counts.values())
    if 1 < len(counts) <= MAX_VERSIONS and min(counts.values()) >= MIN_VERSION_SHARE * total:
        order = [k for k, _ in counts.most_common()]
        return [[i for i, k in enumerate(keys) if k == key] for key in order]
    return [[i for i, t in enumerate(texts) if t is not None]]
