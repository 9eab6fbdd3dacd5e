"""Assessment as JSON (CONTRACT §2), CSV (one row per step) and Markdown."""

from __future__ import annotations

import csv
import html
import io

from solidify.assess.model import STAGE_NAMES, Assessment, StepAssessment, WorkflowAssessment
from solidify.assess.trends import Period
from solidify.reports import figures
from solidify.reports.jsonout import dumps
from solidify.reports.text import money, pct


def to_json(assessment: Assessment) -> str:
    return dumps(assessment.to_dict())


CSV_COLUMNS = [
    "workflow", "step", "kind", "model", "executions", "runs", "cost_usd", "cost_share",
    "cost_per_execution_usd", "cost_per_run_usd", "failure_rate", "attempt_error_rate",
    "run_failure_rate", "retry_rate", "timeouts", "soft_failures", "determinism",
    "repeat_agreement", "program_coverage", "p50_ms", "p95_ms", "recommendation", "priority",
    "strategy", "coverage", "savings_per_month_usd", "savings_per_1000_runs_usd", "reasons",
]  # fmt: skip


def to_csv(assessment: Assessment) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for w in assessment.workflows:
        for s in assessment.visible_steps(w):
            writer.writerow(_csv_row(w, s))
    return buffer.getvalue()


def _csv_row(w: WorkflowAssessment, s: StepAssessment) -> dict[str, object]:
    rec = s.recommendation
    syn = s.synthesis
    return {
        "workflow": w.workflow,
        "step": s.step,
        "kind": s.kind,
        "model": s.model or "",
        "executions": s.executions,
        "runs": s.runs,
        "cost_usd": "" if s.cost_usd is None else s.cost_usd,
        "cost_share": round(s.cost_share, 4),
        "cost_per_execution_usd": "" if s.cost_per_execution is None else s.cost_per_execution,
        "cost_per_run_usd": "" if s.cost_per_run is None else s.cost_per_run,
        "failure_rate": round(s.failure_rate, 4),
        "attempt_error_rate": s.failure["attempt_error_rate"],
        "run_failure_rate": s.failure["run_failure_rate"],
        "retry_rate": s.failure["retry_rate"],
        "timeouts": s.failure["timeouts"],
        "soft_failures": s.failure["soft_failures"],
        "determinism": round(s.determinism, 4),
        "repeat_agreement": _blank(s.determinism_parts.get("repeat_agreement")),
        "program_coverage": _blank(s.determinism_parts.get("program_coverage")),
        "p50_ms": _blank(s.latency["p50"]),
        "p95_ms": _blank(s.latency["p95"]),
        "recommendation": rec.action or "",
        "priority": s.priority or "",
        "strategy": syn.strategy if syn is not None and syn.strategy else "",
        "coverage": round(syn.heldout_coverage, 4) if syn is not None else "",
        "savings_per_month_usd": _blank(rec.savings.per_month_usd),
        "savings_per_1000_runs_usd": _blank(rec.savings.per_1000_runs_usd),
        "reasons": " | ".join(rec.reasons),
    }


def _blank(value: object) -> object:
    if value is None:
        return ""
    return round(value, 6) if isinstance(value, float) else value


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return (
        str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "\\`")
    )


def to_markdown(
    assessment: Assessment,
    *,
    charts: dict[str, list[str]] | None = None,
    periods: dict[str, list[Period]] | None = None,
    by: str = "month",
) -> str:
    """Markdown; `charts` maps a workflow to relative image paths placed under its heading,
    `periods` to its trend table."""
    lines = ["# solidify assessment", ""]
    if assessment.warnings:
        lines += [f"> warning: {md_escape(w)}" for w in assessment.warnings] + [""]
    for w in assessment.workflows:
        lines += workflow_markdown(
            w, assessment.visible_steps(w), (charts or {}).get(w.workflow, [])
        )
        lines += trends_markdown((periods or {}).get(w.workflow, []), by)
    if assessment.workflows:
        lines += ["## How each figure is counted", ""]
        lines += [f"- **{name}**: {meaning}" for name, meaning in figures.DEFINITIONS] + [""]
    return "\n".join(lines).rstrip() + "\n"


def trends_markdown(periods: list[Period], by: str) -> list[str]:
    """The workflow's figures per period, counted as the headline counts them."""
    if not periods:
        return []
    lines = [f"### By {by}", "",
             "| period | runs | cost per run | failure rate | AI share | stage |",
             "|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for p in periods:
        lines.append(
            f"| {p.start} | {p.runs} | {money(p.cost_per_run_usd)} | {pct(p.failure_rate)} | "
            f"{pct(p.ai_execution_share)} | {p.stage} {STAGE_NAMES[p.stage]} |"
        )
    return [*lines, ""]


def md_text(text: str) -> str:
    """Prose for Markdown: `code spans` kept as code, the rest escaped."""
    import re

    parts = re.split(r"(`[^`]+`)", str(text))
    return "".join(p if i % 2 else md_escape(p) for i, p in enumerate(parts))


def workflow_markdown(
    w: WorkflowAssessment, steps: list[StepAssessment], images: list[str]
) -> list[str]:
    m = w.maturity
    lines = [
        f"## {md_escape(w.workflow)}",
        "",
        f"**Stage {m.level} of 4: {m.name}** · {w.runs} runs · {money(w.cost_usd)} "
        f"({money(w.cost_per_run)} per run) · failure rate {pct(figures.failed_share(w))}"
        f" · malformed outputs {pct(figures.malformed_share(w))}"
        f" · AI share {pct(w.ai_execution_share)}"
        + (f" · saves up to {money(w.savings_per_month)}/month" if w.savings_per_month else ""),
        "",
        f"_These figures cover {figures.all_logs(w)}; the stage is measured on "
        f"{figures.stage_window(w)}._",
        "",
    ]
    lines += [f"- {md_text(r)}" for r in m.reasons] + [""]
    if m.next_steps:
        lines.append(f"### To reach stage {m.level + 1}" if m.level < 4 else "### Further savings")
        lines.append("")
        for i, step in enumerate(m.next_steps, 1):
            saves = (
                f" — saves {money(step.savings_per_month_usd)}/month"
                if step.savings_per_month_usd
                else ""
            )
            lines.append(f"{i}. {md_text(step.text)}{saves}")
            if step.program:
                # The program one click away for engineers (GitHub and most viewers fold it).
                lines.append(f"   <details><summary>the code</summary>"
                             f"<code>{html.escape(step.program)}</code></details>")  # fmt: skip
        lines.append("")
    for image in images:
        lines += [f"![{md_escape(image)}]({image})", ""]
    lines += [
        "| step | kind | executions | cost | share | failed or malformed | determinism "
        "| recommendation "
        "| saves/month | evidence |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for s in steps:
        rec = s.recommendation
        action = (rec.action or "—") + (f" (#{s.priority})" if s.priority else "")
        saves = (
            money(rec.savings.per_month_usd, unknown="—")
            if rec.action not in (None, "keep")
            else ""
        )
        cost = "roll-up" if s.rollup else money(s.cost_usd)
        evidence = [s.rollup_reason] if s.rollup_reason else []
        lines.append(
            f"| {md_escape(s.step)} | {s.kind} | {s.executions} | {cost} | "
            f"{pct(s.cost_share)} | {pct(s.failure_rate)} | {s.determinism:.2f} | {action} | "
            f"{saves} | {md_escape('; '.join(evidence + rec.reasons))} |"
        )
    lines.append("")
    return lines


def rows_to_csv(rows: list[dict[str, object]]) -> str:
    """Any command's items as CSV, one row each (columns from the first item)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def rows_to_markdown(rows: list[dict[str, object]]) -> str:
    """Any command's items as a Markdown table."""
    if not rows:
        return "_nothing to show_\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(_cell(row.get(c))) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
