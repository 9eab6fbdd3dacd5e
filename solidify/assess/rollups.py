"""Roll-ups: parent spans that report the usage of the calls under them.

The rule (docs/formats.md, "Roll-ups"): a parent whose token usage equals, or contains,
the sum of its direct children's is a roll-up: its tokens and cost are already counted on
the children and are not counted again. A parent whose usage is below its children's, or
that has no children with usage, made its own call. Readers also mark spans that their
format says are wrappers (an agent span that carries usage), and a canonical record may
say `"rollup": true` itself.

The rule is written once as SQL over the step table (`found_rollups_sql`, and
`children_sql` with `VERDICT` for the measures' join); the pandas version below
(`mark_rollups`, `frame_notes`) is the reference it is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from solidify.assess.steptable import Engine

KEYS = ["workflow", "run_id", "step_id"]

EQUALS = "its tokens equal the sum of the calls under it"
CONTAINS = "its tokens contain those of the calls under it"
MARKED = "the trace marks it as a span that reports the usage of the calls under it"
WHY = {"equals": EQUALS, "contains": CONTAINS, "marked": MARKED}


def children_sql(source: str = "steps") -> str:
    """Per (workflow, run_id, parent_id) with at least one child with usage: the sums of
    its direct children's tokens (`children_input`, `children_output`)."""
    return f"""
SELECT workflow, run_id, parent_id,
       sum(coalesce(input_tokens, 0)) AS children_input,
       sum(coalesce(output_tokens, 0)) AS children_output
FROM {source}
WHERE parent_id IS NOT NULL
GROUP BY workflow, run_id, parent_id
HAVING sum(CASE WHEN coalesce(input_tokens, 0) > 0 OR coalesce(output_tokens, 0) > 0
                THEN 1 ELSE 0 END) > 0"""


# A row `p` LEFT JOINed to its `children` row `c` (on workflow, run_id and
# p.step_id = c.parent_id): 'equals', 'contains' or NULL (it made its own call).
VERDICT = """CASE
    WHEN c.parent_id IS NULL
      OR NOT (coalesce(p.input_tokens, 0) > 0 OR coalesce(p.output_tokens, 0) > 0) THEN NULL
    WHEN coalesce(p.input_tokens, 0) = c.children_input
     AND coalesce(p.output_tokens, 0) = c.children_output THEN 'equals'
    WHEN coalesce(p.input_tokens, 0) >= c.children_input
     AND coalesce(p.output_tokens, 0) >= c.children_output THEN 'contains'
END"""

CHILDREN_JOIN = "c ON p.workflow = c.workflow AND p.run_id = c.run_id AND p.step_id = c.parent_id"


def found_rollups_sql(source: str = "steps") -> str:
    """`workflow, run_id, step_id, why` of every row whose usage equals (`why =
    'equals'`) or contains (`'contains'`) the sum of its direct children's: the rows
    of the same workflow and run whose parent_id is its step_id, when one has usage."""
    return f"""
WITH children AS ({children_sql(source)}
)
SELECT workflow, run_id, step_id, why
FROM (
    SELECT p.workflow, p.run_id, p.step_id, {VERDICT} AS why
    FROM {source} AS p
    JOIN children AS {CHILDREN_JOIN}
) AS verdicts
WHERE why IS NOT NULL"""


def found_rowids_sql(source: str = "steps") -> str:
    """`rid` (the `rowid`) of every row of `source` found a roll-up by its usage: its
    cost is counted on its children, wherever costs are summed."""
    return f"""
SELECT p.rowid AS rid
FROM {source} AS p
JOIN ({children_sql(source)}
) AS {CHILDREN_JOIN}
WHERE ({VERDICT}) IS NOT NULL"""


def has_family_sql(source: str = "steps") -> str:
    """Whether any row names a step_id and any a parent_id: else nothing can be a
    roll-up by usage and the join is skipped."""
    return f"SELECT count(step_id) > 0 AND count(parent_id) > 0 AS family FROM {source}"


# Per (workflow, step) and reason: the roll-ups (found, or marked in column `rollup`),
# and where the first of them lies (`rowid`: the order rows were added).
NOTES = """
WITH children AS ({children}
),
marked AS (
    SELECT p.workflow, p.step, p.rowid AS rid, coalesce({verdict}, 'marked') AS why
    FROM {source} AS p
    LEFT JOIN children AS {join}
    WHERE coalesce(p.rollup, false) OR ({verdict}) IS NOT NULL
)
SELECT workflow, step, why, count(*) AS n, min(rid) AS first_row
FROM marked
GROUP BY workflow, step, why
"""


def notes_sql(source: str = "steps") -> str:
    return NOTES.format(children=children_sql(source), verdict=VERDICT, source=source,
                        join=CHILDREN_JOIN)  # fmt: skip


@dataclass(frozen=True)
class RollupNote:
    """Why a step's executions are roll-ups, for the per-step output."""

    executions: int  # how many of the step's executions are roll-ups
    reason: str


def step_notes(engine: Engine, source: str = "steps") -> dict[tuple[str, str], RollupNote]:
    """Per (workflow, step) that has roll-ups (found by the rule, or marked by the reader
    or the log): how many, and the most common reason in words (the first met among
    equally common ones)."""
    counts: dict[tuple[str, str], int] = {}
    best: dict[tuple[str, str], tuple[int, int, str]] = {}
    for row in engine.query(notes_sql(source)).to_pylist():
        key = (row["workflow"], row["step"])
        counts[key] = counts.get(key, 0) + int(row["n"])
        rank = (-int(row["n"]), int(row["first_row"]), row["why"])
        best[key] = min(best.get(key, rank), rank)
    return {key: _note(counts[key], WHY[best[key][2]]) for key in counts}


def _note(executions: int, reason: str) -> RollupNote:
    return RollupNote(executions, f"roll-up: {reason}; its cost is counted on those calls")


def annotate(steps: Iterable[object], notes: dict[tuple[str, str], RollupNote]) -> None:
    """Set `rollup` and `rollup_reason` on step assessments that have roll-ups (`notes`:
    from `step_notes`)."""
    for step in steps:
        note = notes.get((step.workflow, step.step))  # type: ignore[attr-defined]
        if note is not None:
            step.rollup = True  # type: ignore[attr-defined]
            executions = step.executions  # type: ignore[attr-defined]
            share = "" if note.executions == executions else f" ({note.executions} of {executions})"
            step.rollup_reason = note.reason + share  # type: ignore[attr-defined]
