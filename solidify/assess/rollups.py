"""Roll-ups: parent spans that report the usage of the calls under them.

The rule (docs/formats.md, "Roll-ups"): a parent whose token usage equals, or contains,
the sum of its direct children's is a roll-up: its tokens and cost are already counted on
the children and are not counted again. A parent whose usage is below its children's, or
that has no children with usage, made its own call. Readers also mark spans that their
format says are wrappers (an agent span that carries usage), and a canonical record may
say `"rollup": true` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

KEYS = ["workflow", "run_id", "step_id"]


@dataclass(frozen=True)
class RollupNote:
    """Why a step's executions are roll-ups, for the per-step output."""

    executions: int  # how many of the step's executions are roll-ups
    reason: str


def _children(table: pd.DataFrame) -> pd.DataFrame:
    """Per row: the number of direct children with usage and their summed tokens."""
    kids = table[table["parent_id"].notna()]
    used = kids["input_tokens"].fillna(0).gt(0) | kids["output_tokens"].fillna(0).gt(0)
    kids = kids.assign(used=used.astype("int64"))
    sums = kids.groupby(["workflow", "run_id", "parent_id"], observed=True)[
        ["input_tokens", "output_tokens", "used"]
    ].sum()
    sums.index = sums.index.set_names(KEYS)
    sums.columns = ["children_input", "children_output", "children"]
    return table[[*KEYS, "input_tokens", "output_tokens"]].join(sums, on=KEYS)


def _verdicts(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(equals, contains): per row, whether its usage equals or contains its children's."""
    if table["step_id"].isna().all() or table["parent_id"].isna().all():
        none = pd.Series(False, index=table.index)
        return none, none
    joined = _children(table)
    has = joined["children"].fillna(0).gt(0)
    own_in = joined["input_tokens"].astype("Float64").fillna(0)
    own_out = joined["output_tokens"].astype("Float64").fillna(0)
    kids_in = joined["children_input"].astype("Float64").fillna(0)
    kids_out = joined["children_output"].astype("Float64").fillna(0)
    usage = own_in.gt(0) | own_out.gt(0)
    equals = (has & usage & own_in.eq(kids_in) & own_out.eq(kids_out)).fillna(False)
    contains = (has & usage & own_in.ge(kids_in) & own_out.ge(kids_out)).fillna(False)
    return equals.astype(bool), (contains & ~equals).astype(bool)


def mark_rollups(table: pd.DataFrame) -> pd.DataFrame:
    """The table with `rollup` set on every parent whose usage equals or contains its
    children's (rows a reader or the log marked stay marked)."""
    equals, contains = _verdicts(table)
    found = equals | contains
    if not found.any():
        return table
    table = table.copy()
    table["rollup"] = table["rollup"].astype(bool) | found.to_numpy()
    return table


def step_notes(table: pd.DataFrame) -> dict[tuple[str, str], RollupNote]:
    """Per (workflow, step) that has roll-ups: how many, and the reason in words."""
    marked = table["rollup"].astype(bool)
    if not marked.any():
        return {}
    equals, contains = _verdicts(table)
    why = np.where(
        equals,
        "its tokens equal the sum of the calls under it",
        np.where(
            contains,
            "its tokens contain those of the calls under it",
            "the trace marks it as a span that reports the usage of the calls under it",
        ),
    )
    rows = pd.DataFrame({
        "workflow": table["workflow"].astype(str), "step": table["step"].astype(str),
        "why": why, "marked": marked.to_numpy(),
    })[marked.to_numpy()]  # fmt: skip
    notes: dict[tuple[str, str], RollupNote] = {}
    for (workflow, step), group in rows.groupby(["workflow", "step"], sort=False):
        reason = group["why"].value_counts().index[0]
        text = f"roll-up: {reason}; its cost is counted on those calls"
        notes[(str(workflow), str(step))] = RollupNote(len(group), text)
    return notes


def annotate(steps: Iterable[object], table: pd.DataFrame) -> None:
    """Set `rollup` and `rollup_reason` on step assessments that have roll-ups."""
    notes = step_notes(table)
    for step in steps:
        note = notes.get((step.workflow, step.step))  # type: ignore[attr-defined]
        if note is not None:
            step.rollup = True  # type: ignore[attr-defined]
            executions = step.executions  # type: ignore[attr-defined]
            share = "" if note.executions == executions else f" ({note.executions} of {executions})"
            step.rollup_reason = note.reason + share  # type: ignore[attr-defined]
