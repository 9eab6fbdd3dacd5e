"""Decomposition in front of the search: logged pairs become (slot record, answer value)
pairs, each prompt version is searched on its own, and the result carries the templates
and answer formats so that `migrate` can write the adapter.

Held-out examples that fit no template, or whose answer is not written in the learned
format, count as misses: the adapter could not answer them either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from solidify.assess.prompts.form import UNREADABLE, PromptForm, learn_form, worth_a_look
from solidify.assess.synthesis.engine import (
    MIN_HELDOUT,
    MIN_TRAIN,
    TIME_LIMIT,
    Synthesis,
    fit_and_measure,
    split,
    wilson_lower,
)
from solidify.assess.synthesis.program import Node, describe, to_dict
from solidify.assess.synthesis.reuse import Kept
from solidify.assess.synthesis.search import output_key

_SORTED = orjson.OPT_SORT_KEYS


@dataclass
class PromptSynthesis(Synthesis):
    """A synthesis on a prompt-form step: one program per prompt version, on its slots."""

    form: PromptForm | None = None
    decompose_seconds: float = 0.0  # learning the form and reading every example with it
    programs: list[Node | None] = field(default_factory=list)  # one per version
    version_results: list[dict[str, Any]] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)  # each version's program, on its slots

    def keepable(self) -> list[Kept]:
        return self.kept

    @property
    def description(self) -> str:
        if self.program is None or self.form is None:
            return self.note
        slots = [s["name"] for v in self.form.versions for s in (v.template or {}).get("slots", [])]
        where = f"on the prompt's slots ({', '.join(dict.fromkeys(slots))}): " if slots else ""
        if len(self.programs) > 1:
            return where + "; ".join(
                f"version {n + 1}: {describe(p) if p is not None else 'no program'}"
                for n, p in enumerate(self.programs)
            )
        return where + describe(self.program)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.form is not None:
            out["prompt"] = {
                "versions": [
                    {**v.to_dict(), **r, "program": to_dict(p) if p is not None else None}
                    for v, r, p in zip(
                        self.form.versions, self.version_results, self.programs, strict=True
                    )
                ],
                "notes": self.form.notes,
                "decompose_seconds": round(self.decompose_seconds, 4),
            }
        return out


def _dump(value: Any) -> str:
    return orjson.dumps(value, option=_SORTED).decode()


def _read(
    form: PromptForm, x: Any, y: Any, text: str | None = None
) -> tuple[int, tuple[str, str]] | None:
    """(version, (slots, value) as JSON text), or None when the example cannot be read."""
    try:
        read = form.read(x, y, text)
        return None if read is None else (read[0], (_dump(read[1]), _dump(read[2])))
    except UNREADABLE:  # e.g. text that is not valid Unicode
        return None


def fit(
    train_text: list[tuple[str, str]],
    held_text: list[tuple[str, str]],
    *,
    time_limit: float = TIME_LIMIT,
    started: float | None = None,
    prompts: list[str | None] | None = None,
    failed: Sequence[tuple[str, str | None]] = (),
    routes: bool = True,
    known: Sequence[Kept] = (),
) -> Synthesis:
    """`fit_and_measure`, on slot records and answer values when the step is prompt-form.
    `prompts`: each training record's `extra` JSON text, where the trace named its prompt
    (prompt_name, prompt_version, prompt_variables)."""
    started = time.perf_counter() if started is None else started
    if len(train_text) < MIN_TRAIN or len(held_text) < MIN_HELDOUT:
        return fit_and_measure(train_text, held_text, time_limit=time_limit, started=started,
                               failed=failed, routes=routes, known=known)  # fmt: skip
    began = time.perf_counter()
    head = [(orjson.loads(i), orjson.loads(o)) for i, o in train_text[:20]]
    if not worth_a_look([x for x, _ in head], [y for _, y in head]):
        return fit_and_measure(train_text, held_text, time_limit=time_limit, started=started,
                               failed=failed, routes=routes, known=known)  # fmt: skip
    train = [(orjson.loads(i), orjson.loads(o)) for i, o in train_text]
    try:
        form = learn_form([x for x, _ in train], [y for _, y in train], _logged(prompts))
    except UNREADABLE as exc:  # a shape nobody foresaw: searched as logged, and said so
        found = fit_and_measure(train_text, held_text, time_limit=time_limit, started=started,
                               failed=failed, routes=routes, known=known)  # fmt: skip
        found.note = "; ".join(filter(None, [f"prompt not decomposed ({exc!r:.80})", found.note]))
        return found
    if form is None:
        return fit_and_measure(train_text, held_text, time_limit=time_limit, started=started,
                               failed=failed, routes=routes, known=known)  # fmt: skip
    return _fit_form(form, train, held_text, time_limit=time_limit, started=started, began=began,
                     routes=routes, known=known)  # fmt: skip


def _logged(prompts: list[str | None] | None) -> list[dict[str, Any]] | None:
    """The logged prompt fields of each training record (empty where there are none)."""
    if not prompts:
        return None
    out = []
    for text in prompts:
        try:
            extra = orjson.loads(text) if isinstance(text, str) and text else {}
        except orjson.JSONDecodeError:
            extra = {}
        if not isinstance(extra, dict):
            extra = {}
        logged = {k: v for k, v in extra.items() if k.startswith("prompt_")}
        if isinstance(logged.get("prompt_variables"), str):  # a CSV cell holds JSON text
            try:
                logged["prompt_variables"] = orjson.loads(logged["prompt_variables"])
            except orjson.JSONDecodeError:
                del logged["prompt_variables"]
        out.append(logged)
    return out if any(out) else None


def synthesize(pairs: list[tuple[str, str]], *, time_limit: float = TIME_LIMIT) -> Synthesis:
    """`engine.synthesize` with decomposition in front: sample, split, decompose, search."""
    started = time.perf_counter()
    train, held = split(pairs)
    return fit(train, held, time_limit=time_limit, started=started)


def _fit_form(
    form: PromptForm,
    train: list[tuple[Any, Any]],
    held_text: list[tuple[str, str]],
    *,
    time_limit: float,
    started: float,
    began: float,
    routes: bool = True,
    known: Sequence[Kept] = (),
) -> PromptSynthesis:
    n = len(form.versions)
    train_by: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    held_by: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    unread_train = unread_held = 0
    texts, form.texts = form.texts or [None] * len(train), None
    for (x, y), text in zip(train, texts, strict=True):
        read = _read(form, x, y, text)
        if read is None:
            unread_train += 1
        else:
            train_by[read[0]].append(read[1])
    unread_inputs: set[str] = set()
    read_inputs: set[str] = set()
    for i, o in held_text:
        read = _read(form, orjson.loads(i), orjson.loads(o))
        if read is None:
            unread_held += 1
            unread_inputs.add(i)
        else:
            held_by[read[0]].append(read[1])
            read_inputs.add(i)
    decomposed = time.perf_counter() - began
    results = [
        fit_and_measure(t, h, time_limit=time_limit / n, routes=routes, known=known)
        for t, h in zip(train_by, held_by, strict=True)
    ]
    # Held-out trials are distinct inputs (the engine collapses repeats per version); a
    # distinct input that no version could read is one more miss.
    distinct = sum(r.heldout_examples for r in results) + len(unread_inputs - read_inputs)
    hits = sum(round(r.heldout_coverage * r.heldout_examples) for r in results)
    baseline_hits = sum(r.baseline_coverage * r.heldout_examples for r in results)
    train_hits = sum(round(r.train_coverage * r.train_examples) for r in results)
    main = max(range(n), key=lambda k: (results[k].program is not None, len(train_by[k])))
    # The main version's result, with everything the engine measured on it (fields the
    # engine may add later included), then the step's own totals over all its versions.
    carried = {f.name: getattr(results[main], f.name) for f in fields(Synthesis) if f.init}
    carried.update(
        program=results[main].program,
        train_examples=len(train),
        heldout_examples=distinct,
        heldout_executions=len(held_text),
        train_coverage=train_hits / len(train) if train else 0.0,
        heldout_coverage=hits / distinct if distinct else 0.0,
        confidence=wilson_lower(hits, distinct),
        misses=distinct - hits,
        disagreeing_inputs=sum(r.disagreeing_inputs for r in results),
        baseline_coverage=baseline_hits / distinct if distinct else 0.0,
        always_same=all(r.always_same for r in results)
        and len({output_key(r.baseline_output) for r in results}) == 1,
        label_recall=_merged_recall([r.label_recall for r in results]),
        counterexamples=results[main].counterexamples,
        # A route is learned on one version's slots, not on the messages as logged: the
        # adapters cannot hand part of a prompt-form step back to the model yet.
        route=None,
    )
    out = PromptSynthesis(
        **carried,
        form=form,
        decompose_seconds=decomposed,
        programs=[r.program for r in results],
        version_results=[
            {
                "train_examples": r.train_examples,
                "heldout_examples": r.heldout_examples,
                "coverage": round(r.heldout_coverage, 4),
                "note": r.note,
                "input_shape": r.input_shape,
                "reused": r.reused,
            }
            for r in results
        ],
        kept=[k for r in results for k in r.keepable()],
    )
    notes = list(form.notes)
    if n > 1:
        notes.append(", ".join(
            f"version {k + 1}: {r.heldout_coverage:.0%} of {r.heldout_examples} held out"
            for k, r in enumerate(results)
        ))  # fmt: skip
    if unread_held:
        notes.append(f"{unread_held} held-out example(s) fit no template or answer format "
                     "(counted as misses)")  # fmt: skip
    if unread_train:
        notes.append(f"{unread_train} training example(s) fit no template or answer format")
    unparsed = sum(s.get("unparsed", 0) for v in form.versions
                   for s in (v.template or {}).get("slots", []))  # fmt: skip
    if unparsed:
        notes.append(f"{unparsed} JSON document(s) in the prompt do not parse (kept as text)")
    notes += [r.note for r in results if r.note and n == 1]
    out.note = "; ".join(notes)
    out.seconds = time.perf_counter() - started
    return out


def _merged_recall(
    per_version: list[dict[str, tuple[int, float]]],
) -> dict[str, tuple[int, float]]:
    """Per-label recall over every version: supports add up, recall is their weighted mean."""
    support: dict[str, int] = {}
    right: dict[str, float] = {}
    for recall in per_version:
        for label, (n, share) in recall.items():
            support[label] = support.get(label, 0) + n
            right[label] = right.get(label, 0.0) + n * share
    return {label: (n, right[label] / n if n else 0.0) for label, n in sorted(support.items())}
