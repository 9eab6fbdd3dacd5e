"""One definition of each figure a report shows, and the window of logs it covers: the
headline, the cards and the table by period count the same things the same way."""

from __future__ import annotations

from solidify.assess.model import WorkflowAssessment

DEFINITIONS = (
    ("runs", "executions of the whole workflow (distinct run ids)"),
    ("cost per run", "priced cost of all model calls (roll-ups counted once) divided by runs"),
    ("failure rate", "share of step executions that ended in an error, a timeout or a "
     "cancellation; each period of the trend table counts the same way"),
    ("malformed outputs", "share of step executions of model steps that succeeded but "
     "returned an empty or broken answer (tool-call turns are not malformed)"),
    ("AI share", "share of step executions that are LLM or agent calls"),
    ("replaceable cost", "share of the cost spent in steps that code can take over"),
)  # fmt: skip


def failed_share(w: WorkflowAssessment) -> float:
    """Executions whose status is not ok, over all executions: the trend table's rate."""
    executions = sum(s.executions for s in w.steps)
    errors = sum(int(s.failure.get("errors", 0)) for s in w.steps)
    return errors / executions if executions else 0.0


def malformed_share(w: WorkflowAssessment) -> float:
    executions = sum(s.executions for s in w.steps)
    soft = sum(int(s.failure.get("soft_failures", 0)) for s in w.steps)
    return soft / executions if executions else 0.0


def _span(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    return start[:10] if start[:10] == end[:10] else f"{start[:10]} to {end[:10]}"


def all_logs(w: WorkflowAssessment) -> str:
    """'all logs, 2026-07-01 to 2026-09-30'."""
    span = _span(w.period.get("start"), w.period.get("end"))
    return f"all logs, {span}" if span else "all logs"


def stage_window(w: WorkflowAssessment) -> str:
    """The logs the stage is measured on: the latest window."""
    metrics = w.maturity.metrics
    span = _span(metrics.get("window_start"), metrics.get("window_end"))
    return f"the latest logs, {span}" if span else "all logs"
