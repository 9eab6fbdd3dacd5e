"""The terminal report: one block per workflow, a table of steps, the next steps.

Colour is added by the caller only when writing to a terminal (click strips it otherwise).
"""

from __future__ import annotations

from typing import Any

import click

from solidify.assess.model import STAGE_NAMES, Assessment, StepAssessment, WorkflowAssessment

ACTION_COLOURS = {
    "replace": "green",
    "route": "green",
    "cache": "cyan",
    "downgrade": "blue",
    "harden": "yellow",
    "keep": None,
}
STAGE_COLOURS = {1: "red", 2: "yellow", 3: "green", 4: "bright_green"}


def money(value: float | None, *, unknown: str = "unknown") -> str:
    if value is None:
        return unknown
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.3f}" if value else "$0"


def pct(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def render(assessment: Assessment) -> str:
    blocks = [_workflow(w, assessment.visible_steps(w)) for w in assessment.workflows]
    if not blocks:
        return "No workflows in these logs.\n"
    return "\n".join(blocks)


def _workflow(w: WorkflowAssessment, steps: list[StepAssessment]) -> str:
    m = w.maturity
    stage = click.style(f"stage {m.level}/4 {m.name}", fg=STAGE_COLOURS[m.level], bold=True)
    cost = money(w.cost_usd)
    if w.cost_unknown_executions:
        cost += f" (+{w.cost_unknown_executions} executions of unknown cost)"
    per_run = money(w.cost_per_run)
    lines = [
        click.style(w.workflow, bold=True)
        + f"  {stage}  {w.runs} runs  {cost} ({per_run}/run)  failure {pct(w.failure_rate)}",
    ]
    for reason in m.reasons:
        lines.append(f"  {reason}")
    lines.append("")
    header = (
        f"  {'step':<28} {'kind':<6} {'execs':>6} {'cost':>9} {'share':>6} {'fail':>6} "
        f"{'determ':>7}  {'recommendation':<16} {'saves/month':>11}"
    )
    lines.append(click.style(header, dim=True))
    for s in steps:
        lines.append(_step(s))
        lines += [click.style(f"      {note}", dim=True) for note in _notes(s)]
    if any(s.rollup for s in steps):
        lines.append(click.style("  roll-up: the step reports the usage of the calls under it; "
                                 "its cost is counted once, on them", dim=True))  # fmt: skip
    reused = sorted((s.synthesis.found_at or "")[:10] for s in steps
                    if s.synthesis is not None and s.synthesis.reused)  # fmt: skip
    if reused:
        since = f" (found {reused[0]})" if reused[0] == reused[-1] else ""
        lines.append(click.style(f"  {len(reused)} step(s) reuse the program kept in the history"
                                 f"{since}: it still holds, so no search", dim=True))  # fmt: skip
    if m.next_steps:
        lines.append("")
        lines.append(
            click.style(f"  To reach stage {min(m.level + 1, 4)}:", bold=True)
            if m.level < 4
            else click.style("  Further savings:", bold=True)
        )
        for i, step in enumerate(m.next_steps, 1):
            saves = (
                f" (saves {money(step.savings_per_month_usd)}/month)"
                if step.savings_per_month_usd
                else ""
            )
            lines.append(f"  {i}. {step.text}{saves}")
    return "\n".join(lines) + "\n"


def _step(s: StepAssessment) -> str:
    rec = s.recommendation
    action = rec.action or "-"
    if rec.action and s.priority:
        action = f"{rec.action} #{s.priority}"
    label = click.style(f"{action:<16}", fg=ACTION_COLOURS.get(rec.action or "keep"))
    cost = "roll-up" if s.rollup else money(s.cost_usd, unknown="unknown")
    name = s.step if len(s.step) <= 28 else s.step[:27] + "…"
    saves = (
        money(rec.savings.per_month_usd, unknown="-") if rec.action not in (None, "keep") else ""
    )
    return (
        f"  {name:<28} {s.kind:<6} {s.executions:>6} {cost:>9} {pct(s.cost_share):>6} "
        f"{pct(s.failure_rate):>6} {s.determinism:>7.2f}  {label} {saves:>11}"
    )


def _notes(s: StepAssessment) -> list[str]:
    """Near misses and thin evidence, under the step's row."""
    rec = s.recommendation
    notes = []
    if rec.draft is not None:
        notes.append(f"nearly there: {rec.draft['counterexamples']} counterexamples to review")
    if rec.evidence is not None and not rec.evidence["sufficient"]:
        notes.append(
            f"not enough executions to judge ({s.executions} in {s.runs} runs; "
            f"{rec.evidence['min_executions']} over {rec.evidence['min_runs']} runs settle it)"
        )
    return notes


def render_trends(periods: list[Any], by: str) -> str:
    """A table of the periods per workflow: cost per run, failure rate, AI share, stage."""
    if not periods:
        return f"\nNo timestamps: no trend by {by}.\n"
    lines = ["", click.style(f"Trends by {by}", bold=True)]
    current = None
    for p in periods:
        if p.workflow != current:
            current = p.workflow
            lines.append(click.style(f"  {p.workflow}", bold=True))
            lines.append(click.style(
                f"    {'period':<12} {'runs':>6} {'cost/run':>9} {'failure':>8} {'AI share':>9}"
                "  stage", dim=True))  # fmt: skip
        lines.append(
            f"    {p.start:<12} {p.runs:>6} {money(p.cost_per_run_usd):>9} "
            f"{pct(p.failure_rate):>8} {pct(p.ai_execution_share):>9}  "
            f"{p.stage} {STAGE_NAMES[p.stage]}"
        )
    return "\n".join(lines) + "\n"
