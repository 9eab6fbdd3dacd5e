"""A step's prompt form: its templates (prompt versions) and how it writes its answers.

Learned from the training examples only. Inputs that are chat messages or prompt strings
become slot records; answers written as text (or messages, or tool calls) become values.
Steps logged as tidy JSON keep their input and output as they are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from solidify.assess.prompts.formats import learn_format, structured
from solidify.assess.prompts.runtime import (
    _MESSAGE_MARK,
    _ROLE_MARK,
    parse_output,
    prompt_slots,
    text_slots,
)
from solidify.assess.prompts.runtime import prompt_text as _prompt_text
from solidify.assess.prompts.template import infer

MAX_VERSIONS = 4
MIN_VERSION_SHARE = 0.1
_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


@dataclass
class Version:
    """One template of the step (one prompt version), with its answer format."""

    template: dict[str, Any] | None  # pieces and slots; None: the input is used as logged
    output: dict[str, Any] | None  # answer format; None: the output is used as logged
    text: str = ""  # the template with {slot} marks, for people
    examples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.text or None, "slots": (self.template or {}).get("slots", []),
                "output_format": self.output, "examples": self.examples,
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
                except _ERRORS:
                    return None
            return n, slots, value
        return None


def prompt_text(x: Any) -> str | None:
    try:
        return _prompt_text(x)
    except _ERRORS:
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


def learn_form(inputs: list[Any], outputs: list[Any]) -> PromptForm | None:
    """The prompt form of a step's training examples; None when the step is logged as
    tidy JSON (nothing to decompose)."""
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
    versions: list[Version] = []
    notes: list[str] = []
    for positions in _versions(texts):
        template, note = infer([texts[i] for i in positions if texts[i] is not None])
        if template is None:
            fmt = learn_format(outputs)
            if not messages:  # a bare text that follows no template: an ordinary input
                if fmt is None or fmt.get("body") == "text":
                    return None
                return PromptForm([Version(None, fmt, examples=len(inputs))])
            # Free text: the step is searched on its messages as logged.
            return PromptForm([Version(None, fmt, examples=len(inputs))], [note])
        version_fmt = learn_format([outputs[i] for i in positions])
        versions.append(Version(template.to_dict(), version_fmt, template.text(), len(positions)))
    if len(versions) > 1:
        notes.append(f"{len(versions)} prompt versions (templates), each searched on its own")
    return PromptForm(versions, notes, texts=texts)


def _versions(texts: list[str | None]) -> list[list[int]]:
    """Positions of the renderings of each template (several when the prompt changed)."""
    keys = [_version_key(t) if t is not None else None for t in texts]
    counts = Counter(k for k in keys if k is not None)
    total = sum(counts.values())
    if 1 < len(counts) <= MAX_VERSIONS and min(counts.values()) >= MIN_VERSION_SHARE * total:
        order = [k for k, _ in counts.most_common()]
        return [[i for i, k in enumerate(keys) if k == key] for key in order]
    return [[i for i, t in enumerate(texts) if t is not None]]
