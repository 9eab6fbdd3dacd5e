"""HTML and Markdown reports: per workflow, the stage, the money, the steps, the trends.

HTML is one self-contained file: styles inline, charts as inline SVG, no script,
font or image loaded from anywhere. Markdown writes its charts as PNG files in a
folder next to it and links them relatively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solidify.assess.model import STAGE_NAMES, Assessment, WorkflowAssessment
from solidify.assess.trends import Period
from solidify.errors import OutputError
from solidify.io import atomic_write, check_writable
from solidify.reports import charts, figures
from solidify.reports.tables import to_markdown
from solidify.reports.text import money, pct

if TYPE_CHECKING:
    from markupsafe import Markup

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


@dataclass
class ReportData:
    assessment: Assessment
    periods: list[Period] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    by: str = "month"
    sources: list[str] = field(default_factory=list)
    generated_at: str = ""

    def __post_init__(self) -> None:
        if not self.generated_at:
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.generated_at = stamp.replace("+00:00", "Z")

    def periods_of(self, workflow: str) -> list[Period]:
        return [p for p in self.periods if p.workflow == workflow]

    def history_of(self, workflow: str) -> list[dict[str, Any]]:
        return [h for h in self.history if h["workflow"] == workflow]


def format_for(path: str | Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OutputError(
            f"{path}: cannot tell the format from the extension; use .html or .md, or --format"
        )
    return FORMATS[suffix]


def workflow_charts(data: ReportData, w: WorkflowAssessment) -> list[tuple[str, str, Any]]:
    """(key, title, Figure) for one workflow."""
    out = [
        ("cost", "Cost by step, largest first (Pareto)", charts.cost_pareto(w)),
        (
            "failure-determinism",
            "Failure rate against determinism: code can take the right-hand region",
            charts.failure_vs_determinism(w),
        ),
    ]
    periods = data.periods_of(w.workflow)
    if len(periods) >= 2:
        out += [
            ("cost-per-run", f"Cost per run by {data.by}",
             charts.over_time(periods, "cost_per_run_usd", "USD per run")),
            ("ai-share", f"AI share of executions by {data.by}",
             charts.over_time(periods, "ai_execution_share", "AI executions", percent=True)),
            ("stage", f"Stage by {data.by}",
             charts.stages_over_time([(p.start, p.stage) for p in periods])),
        ]  # fmt: skip
    history = data.history_of(w.workflow)
    if len(history) >= 2:
        points = [(h["recorded_at"][:16].replace("T", " "), h["maturity"]["level"])
                  for h in history]  # fmt: skip
        out.append(("history-stage", "Stage at each recorded assessment",
                    charts.stages_over_time(points, "recorded stage")))  # fmt: skip
    return out


def _context(data: ReportData, svgs: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    workflows = []
    for w in data.assessment.workflows:
        m = w.maturity
        steps = []
        for s in data.assessment.visible_steps(w):
            rec = s.recommendation
            action = rec.action or "none"
            steps.append({
                "name": s.step, "kind": s.kind, "executions": s.executions,
                "cost": "roll-up" if s.rollup else money(s.cost_usd),
                "share": pct(s.cost_share),
                "failure": pct(s.failure_rate), "determinism": f"{s.determinism:.2f}",
                "action": action,
                "action_label": (rec.action or "—") + (f" #{s.priority}" if s.priority else ""),
                "saves": money(rec.savings.per_month_usd, unknown="—")
                if rec.action not in (None, "keep") else "",
                "evidence": "; ".join(([s.rollup_reason] if s.rollup_reason else [])
                                      + rec.reasons),
            })  # fmt: skip
        workflows.append({
            "name": w.workflow, "level": m.level, "stage": m.name, "runs": w.runs,
            "cost": money(w.cost_usd), "cost_per_run": money(w.cost_per_run),
            "failure_rate": pct(figures.failed_share(w)),
            "malformed": pct(figures.malformed_share(w)),
            "ai_share": pct(w.ai_execution_share),
            "replaceable": pct(w.replaceable_cost_share),
            "savings": money(w.savings_per_month, unknown="—"),
            "window": figures.all_logs(w), "stage_window": figures.stage_window(w),
            "reasons": m.reasons,
            "next_title": f"To reach stage {m.level + 1}" if m.level < 4 else "Further savings",
            "next_steps": [
                {"text": n.text, "program": n.program, "saves": money(n.savings_per_month_usd)
                 if n.savings_per_month_usd else ""}
                for n in m.next_steps
            ],
            "charts": svgs.get(w.workflow, []),
            "steps": steps,
            "periods": [
                {"start": p.start, "runs": p.runs, "cost_per_run": money(p.cost_per_run_usd),
                 "failure_rate": pct(p.failure_rate), "ai_share": pct(p.ai_execution_share),
                 "stage": f"{p.stage} {STAGE_NAMES[p.stage]}"}
                for p in data.periods_of(w.workflow)
            ],
            "history": [
                {"recorded_at": h["recorded_at"], "runs": h["runs"],
                 "cost_per_run": money(h["cost_per_run_usd"]),
                 "ai_share": pct(h["ai_execution_share"]),
                 "replaceable": pct(h["replaceable_cost_share"]),
                 "stage": f"{h['maturity']['level']} {h['maturity']['name']}"}
                for h in data.history_of(w.workflow)
            ],
        })  # fmt: skip
    return {
        "workflows": workflows,
        "generated_at": data.generated_at,
        "sources": data.sources or ["the given logs"],
        "by": data.by,
        "warnings": data.assessment.warnings,
        "definitions": figures.DEFINITIONS,
    }


def render_html(data: ReportData) -> str:
    import jinja2

    svgs: dict[str, list[dict[str, str]]] = {}
    for i, w in enumerate(data.assessment.workflows):
        svgs[w.workflow] = [
            {"title": title, "svg": charts.to_svg(fig, salt=f"w{i}-{key}")}
            for key, title, fig in workflow_charts(data, w)
        ]
    template_text = (
        resources.files("solidify.reports").joinpath("templates/report.html.j2").read_text("utf-8")
    )
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["code_spans"] = code_spans
    return environment.from_string(template_text).render(**_context(data, svgs))


def code_spans(text: str) -> Markup:
    """Text with `backticked` parts as <code>, everything escaped: no literal backticks."""
    import re

    from markupsafe import Markup, escape

    parts = re.split(r"`([^`]+)`", str(text))
    return Markup("").join(
        Markup("<code>{}</code>").format(p) if i % 2 else escape(p) for i, p in enumerate(parts)
    )


def write_report(
    data: ReportData, out: str | Path, *, fmt: str | None = None, force: bool = False
) -> list[Path]:
    """Write the report (and, for Markdown, its chart files); returns the paths written."""
    path = Path(out)
    kind = format_for(path, fmt)
    if kind == "html":
        check_writable(path, force=force)
        html = render_html(data)
        return [atomic_write(path, lambda f: f.write(html), force=force)]
    folder_name = f"{path.stem}_charts"
    images: dict[str, list[str]] = {}
    files: list[tuple[Path, bytes]] = []
    for w in data.assessment.workflows:
        stem = _file_stem(w.workflow)
        for key, _, fig in workflow_charts(data, w):
            name = f"{folder_name}/{stem}-{key}.png"
            images.setdefault(w.workflow, []).append(name)
            files.append((path.parent / name, charts.to_png(fig)))
    periods = {w.workflow: data.periods_of(w.workflow) for w in data.assessment.workflows}
    text = to_markdown(data.assessment, charts=images, periods=periods, by=data.by)
    for target in [path, *(p for p, _ in files)]:
        check_writable(target, force=force)
    written = [atomic_write(p, lambda f, b=b: f.write(b), force=force, binary=True)
               for p, b in files]  # fmt: skip
    written.append(atomic_write(path, lambda f: f.write(text), force=force))
    return written


def _file_stem(name: str) -> str:
    """A file name part from a workflow name: ASCII letters, digits and dashes only."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "workflow"
